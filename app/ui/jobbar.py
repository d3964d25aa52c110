"""Status-bar widget for the running job: stage, frames done, ETA, Cancel.

The window adds it as a permanent widget: a message shown while the job runs leaves it visible."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from app.core.jobs import job_label

from .icons import icon


def format_seconds(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def step_words(p) -> str:
    """The words for a job of several steps (``app.core.jobs.Phases``: its bar runs once, in permille):
    the step under way and its own count, "Inpainting 11 changed frames… 4/11"; "" for another job."""
    if "step" not in p.info:
        return ""
    done, total = p.info["step"]
    return f"{p.stage} {done}/{total}"


class JobBar(QWidget):
    def __init__(self, jobs, parent=None):
        super().__init__(parent)
        self.jobs = jobs
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip("Cancel the running job")
        self.cancel_button.clicked.connect(jobs.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.label, self.bar, self.cancel_button):
            layout.addWidget(w)
        jobs.started.connect(self._started)
        jobs.progress.connect(self._progress)
        jobs.busyChanged.connect(lambda busy: None if busy else self.hide())
        self.hide()

    def _started(self, job) -> None:
        self.label.setText(f"{job.name}…")
        self.bar.setRange(0, 0)  # busy until the first report (e.g. while the model loads)
        if isinstance(self.parent(), QStatusBar):
            self.parent().clearMessage()  # a hint for the step before (Kept: ... Track) is out of date now
        self.show()

    def _progress(self, job, p) -> None:
        self.bar.setRange(0, max(1, p.total))
        self.bar.setValue(p.done)
        step = step_words(p)
        if step:  # (one bar over the steps: its percent; the step and its count beside it)
            self.bar.setFormat("%p%")
            self.label.setText(f"{job.name}: {step} · ETA {format_seconds(p.eta)}")
            return
        self.bar.setFormat(f"{p.done}/{p.total}")
        self.label.setText(f"{job_label(job.name, p.stage)}: {p.done}/{p.total} · ETA {format_seconds(p.eta)}")
