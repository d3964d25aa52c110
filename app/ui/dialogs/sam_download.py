"""Download a SAM checkpoint: model, URL (a mirror may replace it), destination, progress, Cancel.

The download is ``app.core.segment.download`` on the dialog's own worker thread. The core
writes the file atomically, so Cancel, closing the dialog and every failure leave no file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QVBoxLayout)

from app.core.segment import download
from app.core.segment.sam import SAM_CHECKPOINTS

from ..jobbar import format_seconds
from ..workers import JobThread

#: model type: (name, download size, speed: the image embedding of each frame's first click)
MODELS = {
    "vit_b": ("ViT-B", "375 MB", "ViT-B is the one to use on a CPU (about 8 s per frame on 2 cores); "
                                 "0.05 s per frame on a GPU."),
    "vit_l": ("ViT-L", "1.25 GB", "ViT-L takes 0.11 s per frame on a GPU, 17 s on 2 CPU cores."),
    "vit_h": ("ViT-H", "2.56 GB", "ViT-H takes 0.20 s per frame on a GPU, 32 s on 2 CPU cores."),
}
GPU_NOTE = "GPU times measured on an H100."


def download_job(model_type: str, dest_dir: Path, url: str, sha256: Optional[str] = None):
    """Fetch the checkpoint into ``dest_dir`` (an existing complete file is reused); returns its path."""

    def fn(host, progress, cancel):
        return download.download_sam_checkpoint(model_type, dest_dir, url=url, sha256=sha256, progress=progress,
                                                cancel=cancel)

    return fn


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f}"


class SamDownloadDialog(QDialog):
    """Modal: pick a model, Download, watch the bytes come; ``downloaded`` gives the file's path."""

    downloaded = Signal(str)

    def __init__(self, dest_dir=None, sha256: Optional[str] = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Download a SAM checkpoint")
        self.setModal(True)
        self.setMinimumWidth(600)
        self.dest_dir = Path(dest_dir) if dest_dir is not None else download.models_dir()
        self.sha256 = sha256  # None: the official file's (app.core.segment.sam.SAM_CHECKPOINTS)
        self.path: Optional[Path] = None  # the downloaded (or found) file
        self.last_progress = None
        self._existed = False
        self.jobs = JobThread("sam-download", self)
        self.jobs.progress.connect(self._progress)
        self.jobs.finished.connect(self._finished)
        self.jobs.failed.connect(lambda job, message: self._ended(message))
        self.jobs.cancelled.connect(lambda job: self._ended("Cancelled; nothing was saved."))
        self.jobs.busyChanged.connect(self._busy)

        self.model = QComboBox()
        for model_type, (name, size, _) in MODELS.items():
            self.model.addItem(f"{name}: {SAM_CHECKPOINTS[model_type].filename} ({size})", model_type)
        self.speed = QLabel()
        self.speed.setWordWrap(True)
        self.url = QLineEdit()
        self.url.setToolTip("The official URL; replace it with a mirror's if that one cannot be reached")
        self.model.currentIndexChanged.connect(self._model_changed)
        self.folder = QLabel(f'<a href="{QUrl.fromLocalFile(str(self.dest_dir)).toString()}">{self.dest_dir}</a>')
        self.folder.setOpenExternalLinks(True)
        self.folder.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("", self.speed)
        form.addRow("URL", self.url)
        form.addRow("Save to", self.folder)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)  # per mille: a byte count overflows an int above 2 GB
        self.bar.setValue(0)
        self.bar.setFormat("")
        self.status = QLabel("No internet on this computer? Download the file on another one and put it in this folder.")
        self.status.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.jobs.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        self.bar.hide()  # (idle, it looked like an empty text field): shown once a download starts
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._model_changed()
        self._busy(False)

    @property
    def model_type(self) -> str:
        return self.model.currentData()

    @property
    def dest(self) -> Path:
        return self.dest_dir / SAM_CHECKPOINTS[self.model_type].filename

    def _model_changed(self) -> None:
        self.speed.setText(f"{MODELS[self.model_type][2]} {GPU_NOTE}")
        self.url.setText(SAM_CHECKPOINTS[self.model_type].url)

    def _busy(self, busy: bool) -> None:
        for w in (self.model, self.url, self.download_button):
            w.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def start(self) -> None:
        if self.jobs.busy:
            return
        url = self.url.text().strip()
        if not url:
            self.status.setText("Enter the URL to download from (the official one is filled in for each model).")
            return
        self._existed = self.dest.is_file()
        self.last_progress = None
        self.bar.setValue(0)
        self.bar.setFormat("")
        self.bar.show()
        self.status.setText(f"Checking {self.dest.name}…" if self._existed else f"Connecting to {url}…")
        self.jobs.submit("SAM download", download_job(self.model_type, self.dest_dir, url, self.sha256))

    def _progress(self, job, p) -> None:
        self.last_progress = p
        rate = f" at {megabytes(p.done / p.elapsed)} MB/s" if p.elapsed > 0 else ""
        if p.total:
            self.bar.setValue(round(1000 * p.done / p.total))
            self.bar.setFormat(f"{megabytes(p.done)} of {megabytes(p.total)} MB{rate}, "
                               f"{format_seconds(p.eta)} left")
        else:  # the server gave no size
            self.bar.setRange(0, 0)
            self.bar.setFormat(f"{megabytes(p.done)} MB{rate}")
        self.status.setText(f"Downloading {self.dest.name}…")

    def _finished(self, job, path) -> None:
        self.path = Path(path)
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000)
        if self._existed and self.last_progress is None:
            self.bar.setFormat("")
            self.status.setText(f"{self.path.name} is already in {self.path.parent}, complete: it is used as it is.")
        else:
            self.status.setText(f"Saved {self.path}; press OK in Settings to use it.")
        self.downloaded.emit(str(self.path))

    def _ended(self, message: str) -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setFormat("")
        self.status.setText(message)

    def done(self, result: int) -> None:
        """Closing cancels a running download (its part file goes) and ends the worker thread."""
        self.jobs.shutdown()
        super().done(result)
