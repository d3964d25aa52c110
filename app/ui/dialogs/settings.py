"""Settings dialog: device, weights, SAM checkpoint, engine settings, storage, and the fine-tune page.

Everything shown here is stored with QSettings (AppSettings); engine fields are built from
EngineConfig itself, so a new engine setting appears here without touching this file.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import (QApplication, QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QRadioButton,
                               QSpinBox, QTabWidget, QVBoxLayout, QWidget)

from app.core import cache
from app.core import engine as engine_module
from app.core.engine import EngineConfig, available_devices
from app.core.errors import InpaintError, WeightsError
from app.core import paths
from app.core.paths import user_cache_dir, user_data_dir, user_log_dir
from app.core.segment import download
from app.core.segment.sam import size_mismatch
from app.core.sttn.checkpoint import check_generator

from ..appsettings import MACHINE_FIELDS, AppSettings
from ..segment_tool import resolve_sam
from ..workers import require_weights_file
from .sam_download import SamDownloadDialog

ENGINE_LABELS = {
    "neighbor_radius": ("Neighbour radius", "Frames on each side inpainted together (paper: 5)"),
    "ref_stride": ("Reference stride", "Every n-th frame is a far-away reference (paper: 10)"),
    "max_refs": ("Max references", "How many reference frames each window uses (0: none)"),
    "dilate": ("Mask dilation", "Grow masks by this many pixels so edges and shadows go too"),
    "crop_to_mask": ("Crop around mask", "Inpaint a crop around the mask at full resolution"),
    "crop_margin": ("Crop margin", "Context pixels kept around the mask when cropping"),
    "attention": ("Attention", "How attention treats masked patches; 'from weights' keeps the file's mode"),
    "window_step": ("Window step", "Frames between window centres; Auto = 2n+1, each frame once (n = the paper's overlapping windows, ~2x slower)"),
    "precision": ("Precision", "auto: bfloat16 where the hardware computes it natively, else float32"),
    "fill": ("Fill", "sttn: the model fills holes; propagate+...: pixels seen in other frames are carried "
                     "along optical flow first; telea: classic per-frame fill, no weights needed; auto: "
                     "propagate+sttn, or propagate+telea on a CPU with the bundled weights or with none"),
    "attention_kernel": ("Attention kernel", "How the patch attention is computed (same result); auto = the one "
                                             "measured faster on this device"),
    "io_threads": ("Decode/encode threads", "Decode ahead and encode behind on threads, so the model never waits"),
    "seam": ("Seam", "match: shift the model's fill to the colours around the hole so no edge shows; "
                     "none: paste the model's output as it is"),
    "compile": ("Compile model (CUDA)", "torch.compile the model: about 9% faster on an H100, after a minute or "
                                        "two of compiling when a run starts; worth it for long clips"),
}


def fill_label(mode: str) -> str:
    """A fill mode as the Fill list names it: with its time per frame on a CPU beside telea's, the
    quickest (``engine.WORK_PER_FRAME``), so that the quick one is found without the docs."""
    work = getattr(engine_module, "WORK_PER_FRAME", {})
    if mode == "auto":
        return "auto (by weights and device)"
    if mode == "telea":
        return "telea (quickest, frame by frame)"
    if mode not in work or not work.get("telea"):
        return mode
    return f"{mode} (about {work[mode] / work['telea']:.0f}x telea's time on a CPU)"


#: Fields chosen from a list: (value, label) pairs; a new engine field with choices is added here.
CHOICES = {
    "attention": ((None, "From weights"), ("official", "Official"), ("masked", "Masked")),
    "precision": tuple((v, v) for v in getattr(engine_module, "PRECISIONS", ())),
    "fill": tuple((v, fill_label(v)) for v in getattr(engine_module, "FILL_MODES", ())),
    "seam": tuple((v, v) for v in getattr(engine_module, "SEAM_MODES", ())),
    "attention_kernel": tuple((v, v) for v in getattr(engine_module, "ATTENTION_KERNELS", ())),
}


def device_label(name: str) -> str:
    if name == "cuda":
        try:
            import torch

            return f"CUDA ({torch.cuda.get_device_name(0)})"
        except Exception:  # noqa: BLE001 - a label only
            return "CUDA"
    return {"cpu": "CPU", "mps": "Apple GPU (MPS)"}.get(name, name)


def path_row(edit: QLineEdit, caption: str, filters: str, parent) -> QHBoxLayout:
    button = QPushButton("Browse…")

    def browse():
        path, _ = QFileDialog.getOpenFileName(parent, caption, edit.text(), filters)
        if path:
            edit.setText(path)

    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class SettingsDialog(QDialog):
    engineChanged = Signal(dict)

    def __init__(self, settings: AppSettings, engine_values: dict, finetune_page: QWidget | None = None, parent=None,
                 controller=None):
        super().__init__(parent)
        self.settings = settings
        self.controller = controller
        self.setWindowTitle("Settings")
        self.setMinimumWidth(720)  # the weights and SAM fields share their row with two buttons
        self.tabs = QTabWidget()
        self.tabs.addTab(self._general_tab(), "General")
        self.tabs.addTab(self._engine_tab(engine_values), "Engine")
        self.tabs.addTab(self._storage_tab(), "Storage")
        if finetune_page is not None:
            self.tabs.addTab(finetune_page, "Fine-tune")
            if hasattr(finetune_page, "useWeights"):  # (else OK would store the weights shown before it)
                finetune_page.useWeights.connect(self.show_weights_file)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        restore = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.clicked.connect(self.restore_defaults)
        restore.setToolTip("Device, engine settings and cache limit as they come; the weights and SAM files "
                           "chosen stay. Nothing changes before OK.")
        # (on the Fine-tune page it changed nothing there, and the General, Engine and Storage values it
        # did change, out of sight, went in with the next OK)
        self.tabs.currentChanged.connect(
            lambda i: restore.setVisible(finetune_page is None or self.tabs.widget(i) is not finetune_page))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    # --- General -----------------------------------------------------------------
    def _general_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        found = available_devices()
        self.device = QComboBox()
        self.device.addItem(f"Automatic (uses {device_label(found[0])})", "auto")
        for name in found:
            self.device.addItem(device_label(name), name)
        self.found_devices = self.device.count()
        form.addRow("Device", self.device)
        form.addRow("", QLabel("Found: " + ", ".join(device_label(d) for d in found)))

        bundled = paths.default_weights()
        self.weights_bundled = QRadioButton("Bundled weights" if bundled else "Bundled weights (none installed)")
        self.weights_bundled.setEnabled(bundled is not None)
        self.weights_file = QRadioButton("Weights file")
        group = QButtonGroup(page)
        group.addButton(self.weights_bundled)
        group.addButton(self.weights_file)
        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("e.g. sttn.pth from the STTN authors, or a fine-tuned file")
        self.weights_edit.textEdited.connect(lambda _: self.weights_file.setChecked(True))
        form.addRow("Weights", self.weights_bundled)
        form.addRow("", self.weights_file)
        form.addRow("", path_row(self.weights_edit, "STTN weights", "PyTorch weights (*.pth *.pt)", self))
        self.sam_edit = QLineEdit()
        self.sam_edit.setPlaceholderText("SAM checkpoint for click-to-segment (optional)")
        sam_row = path_row(self.sam_edit, "SAM checkpoint", "Checkpoints (*.pth *.pt)", self)
        self.sam_download_button = QPushButton("Download…")
        self.sam_download_button.setToolTip("Download an official SAM checkpoint (ViT-B: 375 MB) into "
                                            f"{download.models_dir()}")
        self.sam_download_button.clicked.connect(lambda: self.download_sam())
        sam_row.addWidget(self.sam_download_button)
        form.addRow("SAM checkpoint", sam_row)
        self.sam_status = QLabel()
        self.sam_status.setWordWrap(True)
        self.sam_edit.textChanged.connect(lambda _: self.refresh_sam_status())
        form.addRow("", self.sam_status)
        self.sam_dialog: SamDownloadDialog | None = None
        self.load_general()
        return page

    def load_general(self) -> None:
        """Show the stored device, weights and SAM path (they may change while the dialog is closed)."""
        while self.device.count() > self.found_devices:  # (one not found here, shown at an earlier opening)
            self.device.removeItem(self.device.count() - 1)
        stored = self.settings.device
        if self.device.findData(stored) < 0 and stored:  # settings carried over from a computer with a GPU
            self.device.addItem(f"{device_label(stored)}: not available on this computer, choose another", stored)
        self.device.setCurrentIndex(max(0, self.device.findData(stored)))
        self.weights_edit.setText(self.settings.weights)
        use_file = bool(self.settings.weights) or not self.weights_bundled.isEnabled()
        (self.weights_file if use_file else self.weights_bundled).setChecked(True)
        self.sam_edit.setText(self.settings.sam_checkpoint)
        self.refresh_sam_status()  # (a file may have appeared in the models folder since)

    def show_weights_file(self, path: str) -> None:
        """Weights chosen elsewhere while the dialog is open (the fine-tune page's Use these weights)
        are what the General page shows, and so what OK keeps."""
        self.weights_edit.setText(path)
        self.weights_file.setChecked(True)

    def refresh_sam_status(self) -> None:
        """Say which segmenter the click tool will use with the SAM path as it is in the field."""
        text = self.sam_edit.text().strip()
        sam = resolve_sam(text)
        missing = bool(text) and not Path(text).expanduser().is_file()
        if sam is None:
            lead = "The file above does not exist and none was found" if missing else "None found"
            self.sam_status.setText(f"{lead}: the click tool uses the weight-free segmenter; Download… fetches SAM.")
        elif size_mismatch(sam):
            self.sam_status.setText(f"The click tool uses SAM: {sam.name}, but {size_mismatch(sam)}: if a click "
                                    "fails to read it, Download… fetches it again.")
        else:
            lead = "The file above does not exist; the click tool uses" if missing else "The click tool uses"
            self.sam_status.setText(f"{lead} SAM: {sam.name}.")
        self.sam_status.setToolTip(str(sam) if sam else f"Looked in {paths.models_dir()} and {download.models_dir()}")

    def download_sam(self, dest_dir=None, sha256: str | None = None) -> SamDownloadDialog:
        """Open the download dialog (modal); a downloaded file goes into the SAM field."""
        self.sam_dialog = SamDownloadDialog(dest_dir, sha256, self)
        self.sam_dialog.downloaded.connect(self.sam_edit.setText)
        self.sam_dialog.finished.connect(self.sam_dialog.deleteLater)
        self.sam_dialog.open()
        return self.sam_dialog

    # --- Storage -----------------------------------------------------------------
    def _storage_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        folders = (("Settings", self.settings.q.fileName(), "this file"),
                   ("Data", user_data_dir(), "autosaves, fine-tunes, downloaded models"),
                   ("Cache", user_cache_dir(), "can be deleted at any time"),
                   ("Logs", user_log_dir(), "the GUI's log, for bug reports"))
        for label, path, what in folders:
            link = QLabel(f'<a href="{QUrl.fromLocalFile(str(path)).toString()}">{path}</a> ({what})')
            link.setOpenExternalLinks(True)
            link.setWordWrap(True)
            form.addRow(label, link)
        self.cache_usage = QLabel()
        self.cache_usage.setWordWrap(True)
        form.addRow("Cache usage", self.cache_usage)
        self.cache_limit = QSpinBox()
        self.cache_limit.setRange(1, 100 << 20)  # 1 MB .. 100 TB
        self.cache_limit.setSingleStep(1024)
        self.cache_limit.setSuffix(" MB")
        self.cache_limit.setToolTip("Least recently used cache files are deleted beyond this size; "
                                    "the open project's results are kept")
        form.addRow("Cache limit", self.cache_limit)
        self.clear_cache_button = QPushButton("Clear cache…")
        self.clear_cache_button.clicked.connect(self.clear_cache)
        form.addRow("", self.clear_cache_button)
        if self.controller is not None:
            for jobs in (self.controller.engine, self.controller.training):
                jobs.busyChanged.connect(lambda _busy: self._cache_buttons())
        self.refresh_storage()
        return page

    def refresh_storage(self) -> None:
        usage = cache.cache_usage()
        parts = [f"{name} {cache.format_size(size)}" for name, size in usage.items()]
        self.cache_usage.setText(f"{cache.format_size(sum(usage.values()))}: " + ", ".join(parts))
        self._cache_buttons()

    def _cache_buttons(self) -> None:
        busy = self.controller is not None and self.controller.busy
        self.clear_cache_button.setEnabled(not busy)
        self.clear_cache_button.setToolTip("Wait for the running job to finish" if busy else
                                           "Delete decoded training clips and old results")

    def clear_cache(self) -> None:
        answer = QMessageBox.question(self, "Clear cache", "Delete everything in the cache folder? The open "
                                      "project's results are kept; the rest is rebuilt when needed.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        removed = self.controller.clear_cache() if self.controller is not None else cache.clear_cache()
        if removed.failed:
            QMessageBox.warning(self, "Clear cache", f"{len(removed.failed)} files could not be deleted "
                                f"(in use?), e.g. {removed.failed[0]}")
        self.refresh_storage()

    def showEvent(self, event) -> None:
        self.cache_limit.setValue(self.settings.cache_limit_mb)
        self.refresh_storage()
        super().showEvent(event)

    # --- Engine ------------------------------------------------------------------
    def _engine_tab(self, values: dict) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.engine_widgets: dict[str, QWidget] = {}
        defaults = EngineConfig()
        for f in fields(EngineConfig):
            if f.name in MACHINE_FIELDS:
                continue
            label, tip = ENGINE_LABELS.get(f.name, (f.name.replace("_", " ").capitalize(), ""))
            default = getattr(defaults, f.name)
            if CHOICES.get(f.name):
                w = QComboBox()
                for data, text in CHOICES[f.name]:
                    w.addItem(text, data)
            elif default is None:  # optional number: the lowest value means None ("Auto")
                w = QSpinBox()
                w.setRange(0, 4096)
                w.setSpecialValueText("Auto")
            elif isinstance(default, bool):
                w = QCheckBox()
            elif isinstance(default, int):
                w = QSpinBox()
                w.setRange(1 if f.name in ("neighbor_radius", "ref_stride") else 0, 4096)
            else:
                w = QLineEdit()
            w.setToolTip(tip)
            self.engine_widgets[f.name] = w
            form.addRow(label, w)
        self.set_engine_values({**defaults.to_dict(), **values})
        return page

    def set_engine_values(self, values: dict) -> None:
        for name, w in self.engine_widgets.items():
            v = values.get(name)
            if isinstance(w, QComboBox):
                w.setCurrentIndex(max(0, w.findData(v)))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            elif isinstance(w, QSpinBox):
                w.setValue(w.minimum() if v is None else int(v))
            else:
                w.setText("" if v is None else str(v))

    def engine_values(self) -> dict:
        out = {}
        for name, w in self.engine_widgets.items():
            if isinstance(w, QComboBox):
                out[name] = w.currentData()
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QSpinBox):
                out[name] = None if w.specialValueText() and w.value() == w.minimum() else w.value()
            else:
                out[name] = w.text() or None
        return out

    def restore_defaults(self) -> None:
        """Engine values, device and cache limit (the page showing it kept the user's limit); the
        weights and SAM files chosen stay."""
        self.set_engine_values(EngineConfig().to_dict())
        self.device.setCurrentIndex(0)
        self.cache_limit.setValue(cache.DEFAULT_LIMIT_BYTES >> 20)

    def chosen_weights(self) -> str:
        """The weights path to store ('' = the bundled file); raises ``WeightsError`` for a file that
        is not an STTN generator, so that the working choice stays."""
        text = self.weights_edit.text().strip() if self.weights_file.isChecked() else ""
        if not text and self.weights_file.isChecked() and self.weights_bundled.isEnabled():
            raise WeightsError("Choose a weights file with Browse…, or choose Bundled weights.")
        if text and text != self.settings.weights or text and not Path(text).expanduser().is_file():
            require_weights_file(Path(text))
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                check_generator(text)
            finally:
                QApplication.restoreOverrideCursor()
        return text

    def accept(self) -> None:
        values = self.engine_values()
        try:
            EngineConfig.from_dict(values)
            weights = self.chosen_weights()
        except InpaintError as exc:  # nothing is stored: the previous settings stay in force
            QMessageBox.warning(self, "Settings", str(exc))
            return
        self.settings.device = self.device.currentData()
        self.settings.weights = weights
        self.settings.sam_checkpoint = self.sam_edit.text().strip()
        self.settings.set_engine(values)
        self.settings.cache_limit_mb = self.cache_limit.value()
        if self.controller is not None:
            self.controller.trim_cache()
        self.engineChanged.emit(values)
        super().accept()
