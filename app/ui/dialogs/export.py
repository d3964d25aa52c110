"""Export dialog: where, what quality and encoder speed, audio, full-resolution detail; shows progress.

The dialog only collects options and shows progress; the Controller runs the export.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout)

from app.core.config import X264_PRESETS
from app.core.errors import OutputError
from app.core.fsutil import check_writable
from app.core.video import mp4_output

from ..controller import ExportOptions
from ..jobbar import bar_by_work, count_words, format_seconds, step_words, time_left

MP4_FILTER = "MP4 video (*.mp4)"
MOV_FILTER = "QuickTime movie, keeps uncompressed sound as it is (*.mov)"


def export_name(path: str, picked: str) -> str:
    """A name chosen in the file dialog, given the suffix of the type ``picked`` there unless it
    already ends as an export may (.mp4, .m4v, .mov)."""
    if Path(path).suffix.lower() in (".mp4", ".m4v", ".mov"):
        return path
    return path + (".mov" if picked == MOV_FILTER else ".mp4")


#: The encoder speeds offered (x264 presets, fastest first) and how the combo box names them.
ENCODER_SPEEDS = (("veryfast", "Fast (veryfast)"), ("faster", "Quicker (faster)"),
                  ("medium", "Balanced (medium, default)"), ("slow", "Thorough (slow)"))
ENCODER_SPEED_TIP = (
    "x264 preset: how hard the encoder works on each frame. At the same CRF, faster presets\n"
    "trade a little quality for speed; medium keeps the most detail and is the default.\n"
    "Measured at CRF 18 (PSNR of the file against its frames, 972x540 / 432x240 clips):\n"
    "  medium: 43.19 / 35.21 dB\n"
    "  faster: 42.99 / 34.64 dB, encodes about 1.8x faster\n"
    "  veryfast: 42.69 / 33.77 dB, encodes about 2.6x faster\n"
    "A whole export on an H100 GPU (inpaint + encode, 972x540) ran at 46 frames/s with\n"
    "medium and 63 frames/s with veryfast.")


class ExportDialog(QDialog):
    exportRequested = Signal(object)  # ExportOptions
    cancelRequested = Signal()

    def __init__(self, default_path: Path, crf: int, keep_audio: bool, has_audio: bool, summary: str, parent=None,
                 *, preset: str = "medium", full_res: bool = False, copy_unchanged: bool = True,
                 source: Path | None = None, summarize=None, can_copy: bool = True):
        super().__init__(parent)
        self.summarize = summarize  # full_res -> the summary line, said again when what it says changes
        self.source = source  # (refused as the output, never offered to replace)
        self.confirmed: Path | None = None  # a file Browse's dialog has already asked to replace
        self.setWindowTitle("Export video")
        self.setMinimumWidth(580)
        self.folder = Path(default_path).parent  # (not the folder the app was started from)
        self.path_edit = QLineEdit(str(default_path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.crf = QSpinBox()
        self.crf.setRange(0, 51)
        self.crf.setValue(crf)
        self.crf.setToolTip("x264 constant rate factor: 0 lossless, 18 looks untouched, 23 default, 28 small")
        self.preset = QComboBox()
        for name, label in ENCODER_SPEEDS:
            self.preset.addItem(label, name)
        preset = preset if preset in X264_PRESETS else "medium"
        if self.preset.findData(preset) < 0:
            self.preset.addItem(preset, preset)  # a preset this list leaves out (set in the ini file)
        self.preset.setCurrentIndex(self.preset.findData(preset))
        self.preset.setToolTip(ENCODER_SPEED_TIP)
        self.keep_audio = QCheckBox("Copy the audio track")
        self.keep_audio.setChecked(keep_audio and has_audio)
        self.keep_audio.setEnabled(has_audio)
        if not has_audio:
            self.keep_audio.setToolTip("This video has no audio")
        self.full_res = QCheckBox("Full-resolution paste-back (sharper for small masks)")
        self.full_res.setChecked(full_res)
        self.full_res.setToolTip("Inpaint a crop around the mask instead of the whole frame scaled down; "
                                 "only masked pixels are replaced either way")
        self.copy_unchanged = QCheckBox("Copy unchanged parts as they are (faster, no quality loss)")
        self.copy_unchanged.setChecked(copy_unchanged)
        self.copy_unchanged.setToolTip(
            "H.264 MP4/MOV files: only the stretches between keyframes that hold a change are encoded\n"
            "again; the rest is copied bit for bit, so a short removal in a long clip exports in\n"
            "seconds. Other files, and this box unticked, encode every frame at the chosen quality.")
        if not can_copy:  # (ticked, the export ended "every frame encoded: not a video file")
            self.copy_unchanged.setChecked(False)
            self.copy_unchanged.setEnabled(False)
            self.copy_unchanged.setToolTip("A frame folder has no video stream to copy parts of: every frame is encoded.")
        form = QFormLayout()
        form.addRow("File", row)
        form.addRow("Quality (CRF)", self.crf)
        form.addRow("Encoder speed", self.preset)
        form.addRow("", QLabel("Lower CRF is better: 18 looks untouched, 23 is smaller.\n"
                               "Faster encoding exports sooner and loses a little detail."))
        form.addRow("Audio", self.keep_audio)
        form.addRow("Detail", self.full_res)
        form.addRow("Unchanged", self.copy_unchanged)
        self.summary = QLabel(summary)
        self.summary.setWordWrap(True)
        self.summary.setObjectName("Hint")
        self.progress = QProgressBar()
        self.progress.hide()
        self.status = QLabel()
        # (one line, it was cut at the dialog's edge: 'Wrote /home/…/clip_inpainted.mp4 (259 of 292 frames copied
        # as they we'; the path can be selected and copied)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self._export)
        self.close_button.clicked.connect(self._close_or_cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.running = False
        self.for_video_before = False  # another video has been opened since

    def options(self) -> ExportOptions:
        path = Path(self.path_edit.text().strip()).expanduser()  # a bare name: beside the offered one
        if path.name and not path.suffix:  # (as a file dialog does: "film" is film.mp4)
            path = path.with_name(path.name + ".mp4")
        return ExportOptions(path if path.is_absolute() else self.folder / path, crf=self.crf.value(),
                             keep_audio=self.keep_audio.isChecked(), full_res=self.full_res.isChecked(),
                             preset=self.preset.currentData(), copy_unchanged=self.copy_unchanged.isChecked())

    def _browse(self) -> None:
        current = self.path_edit.text()
        chosen = MOV_FILTER if current.lower().endswith(".mov") else MP4_FILTER
        path, picked = QFileDialog.getSaveFileName(self, "Export to", current, f"{MP4_FILTER};;{MOV_FILTER}", chosen)
        if path:
            name = export_name(path, picked)
            self.confirmed = Path(name) if name == path else None  # (a suffix added: another file, not asked)
            self.path_edit.setText(name)

    def _export(self) -> None:
        options = self.options()
        try:  # said here at once, in the dialog's line; the export job would only say it after starting
            mp4_output(check_writable(options.path, inputs=(self.source,)))
        except OutputError as exc:
            self.status.setText(str(exc))
            return
        if self._replaces(options.path) and QMessageBox.question(
                self, "Export video", f"{options.path.name} already exists. Replace it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            return
        self.exportRequested.emit(options)

    def refresh_summary(self, *_) -> None:
        """Say again what Export will do (the range, masks, settings or result changed)."""
        if self.summarize is not None:
            self.summary.setText(self.summarize(self.full_res.isChecked()))
            self._fit_height()

    def _fit_height(self) -> None:
        """Grow to show every line: the summary wraps to more lines as it changes, and the progress bar
        and the status line appear on Export. (The dialog kept the height it opened with, and the
        form gave way: the two lines under Encoder speed were cut to one half-hidden line.)"""
        self.layout().activate()
        need = self.heightForWidth(self.width())
        if self.height() < max(need, self.minimumSizeHint().height()):
            self.resize(self.width(), max(need, self.minimumSizeHint().height()))

    def video_changed(self) -> None:
        """Another video was opened: an idle dialog, whose name and summary were for the one before, goes."""
        self.for_video_before = True  # (a running export ends here; Export stays off)
        if not self.running:
            self.close()

    def _replaces(self, path: Path) -> bool:
        """Whether exporting to ``path`` (checked: a writable name, not the source) replaces a file
        the user has not been asked about."""
        return path.is_file() and path != self.confirmed

    def _close_or_cancel(self) -> None:
        self.reject()

    def reject(self) -> None:
        """Close, or while an export runs cancel it (the Cancel button, Esc, the title bar's close
        button): the dialog stays to say when it has stopped and that nothing was written."""
        if self.running:
            self.cancelRequested.emit()
        else:
            super().reject()

    # --- driven by the job -------------------------------------------------------
    def follow(self, jobs) -> None:
        """Show the progress and outcome of export jobs run by ``jobs`` (a JobThread)."""
        jobs.progress.connect(self._on_progress)
        jobs.finished.connect(self._on_finished)
        jobs.failed.connect(self._on_failed)
        jobs.cancelled.connect(self._on_cancelled)

    def _on_progress(self, job, p) -> None:
        if job.data.get("kind") == "export":
            self.job_progress(p)

    def _on_finished(self, job, result) -> None:
        if job.data.get("kind") == "export":
            copied, why = result.get("copied") or 0, result.get("encoded_all")
            # (with the box ticked and nothing copied, it said no more than 'Wrote …': why is in the log alone)
            self.job_ended(f"Wrote {result['output']}" + (f" ({copied} of {result['frames']} frames copied as they were)"
                                                         if copied else f" (every frame encoded: {why})" if why
                                                         else ""), True)

    def _on_failed(self, job, message) -> None:
        if job.data.get("kind") == "export":
            self.job_ended(message, False)

    def _on_cancelled(self, job) -> None:
        if job.data.get("kind") == "export":
            self.job_ended("Cancelled; nothing was written.", False)

    def job_started(self) -> None:
        self.running = True
        self.export_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("Starting…")
        self._fit_height()

    def job_progress(self, p) -> None:
        """The bar by the share of the work done, the words by the count of frames written (the job
        bar's, ``app.ui.jobbar``), which stays put while a chunk or window is inpainted."""
        bar_by_work(self.progress, p)
        self.status.setText(f"{step_words(p) or count_words(p, 'frames')} · ETA {format_seconds(time_left(p))}")

    def job_ended(self, message: str, ok: bool) -> None:
        self.running = False
        self.export_button.setEnabled(not self.for_video_before)
        self.close_button.setText("Close")
        self.status.setText(message)
        if not ok:
            self.progress.hide()
        self._fit_height()
