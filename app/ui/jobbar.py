"""Status-bar widget for the running job: stage, frames done, ETA, Cancel.

The window adds it as a permanent widget: a message shown while the job runs leaves it visible."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStatusBar, QStyle, QToolButton, QWidget

from app.core.jobs import job_label

from .icons import icon


def format_seconds(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_about(seconds: float) -> str:
    """A time left in words, as precise as it is worth: "~40 s", "~12 min", "~1 h 20 min"."""
    if seconds < 90:
        return f"~{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    h, m = divmod(minutes, 60)
    return f"~{minutes} min" if not h else f"~{h} h {m} min" if m else f"~{h} h"


WORK_SCALE = 1000  # the bar's steps where it follows the work reported (``Progress.work``)


def time_left(p) -> float | None:
    """Seconds left from the share of the work done, where the job reports it (``Progress.work``)
    before any frame is done (``Progress.eta`` says none until then); else ``Progress.eta``."""
    if p.eta is None and p.work is not None and p.fraction > 0:
        return p.elapsed * (1.0 - p.fraction) / p.fraction
    return p.eta


def step_words(p) -> str:
    """The words for a job of several steps (``app.core.jobs.Phases``: its bar runs once, in permille):
    the step under way and its own count, "Inpainting 11 changed frames… 4/11 written"; "" for another
    job. Each step of an export counts the frames it has written (to the result, or to the file), which
    the inpainting writes a batch at a time (a propagation chunk of up to 60, an STTN window): the
    words stood at "Encoding (inpainting 12 frames)… 30/80" for 40 s while the bar went from 6 to 86%."""
    if "step" not in p.info:
        return ""
    done, total = p.info["step"]
    return f"{p.stage} {done}/{total} written"


def count_words(p, unit: str = "") -> str:
    """A report's count, "0/12" (``unit``: "0/12 frames"), and, where the job reports its work apart
    from it (``Progress.work``: the bar follows that), that the count is of the frames written, "0/12
    written", as the command line says it: Inpaint with the propagation fill wrote its 12 frames at
    the end of its chunk, and the bar, 92% full, read "0/12"."""
    return f"{p.done}/{p.total}{unit and ' ' + unit}" + (" written" if p.work is not None else "")


def bar_by_work(bar, p) -> None:
    """Set ``bar`` (a QProgressBar) to the share of the work done where the job reports it, else to
    the count: an export's bar (``Phases``) is already the share of its steps' work, in permille."""
    if p.work is not None:
        bar.setRange(0, WORK_SCALE)
        bar.setValue(round(p.fraction * WORK_SCALE))
    else:
        bar.setRange(0, max(1, p.total))
        bar.setValue(p.done)


class JobBar(QWidget):
    """``words(job, p)``: the label for a report, in place of the stage and count; ``cancel`` and
    ``cancel_tip``: what the button does and says; ``open_tip``: a click on the bar (not its
    button) emits ``clicked``, and the bar says so in this tooltip. ``hold(text)`` keeps a job's end in
    sight after it ended, until the bar is clicked, ``release`` is called or another job starts."""

    clicked = Signal()

    def __init__(self, jobs, parent=None, words=None, bar_width=220, cancel=None, cancel_tip="Cancel the running job",
                 open_tip=None):
        super().__init__(parent)
        self.jobs, self.words, self.open_tip = jobs, words, open_tip
        self.held = False  # (showing how the last job ended, not a job under way)
        self.warning = QLabel()  # (a held end that is a failure)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self.warning.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size))
        self.warning.hide()
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(bar_width)
        self.bar.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.clicked.connect(cancel or jobs.cancel)
        if open_tip:
            for w in (self.label, self.bar):
                w.setToolTip(open_tip)
                w.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.warning, self.label, self.bar, self.cancel_button):
            layout.addWidget(w)
        jobs.started.connect(self._started)
        jobs.progress.connect(self._progress)
        jobs.busyChanged.connect(lambda busy: None if busy or self.held else self.hide())
        self.hide()

    def hold(self, text: str, tip: str = "", warn: bool = False) -> None:
        """Show ``text`` (how the job ended, "Fine-tune finished at step 500 – open") with no bar or
        Cancel, until it is clicked or another job starts; ``tip``: the whole of what was said;
        ``warn``: a warning sign before it (the job failed)."""
        self.held = True
        self.warning.setVisible(warn)
        self.label.setText(text)
        self.label.setToolTip("\n".join(t for t in (tip, self.open_tip) if t))
        self.bar.hide()
        self.cancel_button.hide()
        self.show()

    def release(self) -> None:
        """The end held has been seen: the bar goes (a job under way stays)."""
        if self.held:
            self.held = False
            self.warning.hide()
            self.label.setToolTip(self.open_tip or "")
            self.setVisible(self.jobs.busy)

    def _started(self, job) -> None:
        self.release()
        self.bar.show()
        self.cancel_button.show()
        self.label.setText(f"{job.name}…")
        self.bar.setRange(0, 0)  # busy until the first report (e.g. while the model loads)
        if isinstance(self.parent(), QStatusBar):
            self.parent().clearMessage()  # a hint for the step before (Kept: ... Track) is out of date now
        self.show()

    def mousePressEvent(self, event) -> None:  # (the label and the bar pass their clicks on to here)
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.release()
            self.clicked.emit()

    def _progress(self, job, p) -> None:
        bar_by_work(self.bar, p)  # (the engine's work inside a window or chunk, before the frames it hands
        #                           on: the bar stood at 0/70 for 11 of 18 s)
        if self.words is not None:  # (they say the count: the bar its percent)
            self.bar.setFormat("%p%")
            self.label.setText(self.words(job, p))
            return
        step = step_words(p)
        if step:  # (one bar over the steps: its percent; the step and its count beside it)
            self.bar.setFormat("%p%")
            self.label.setText(f"{job.name}: {step} · ETA {format_seconds(time_left(p))}")
            return
        # (a bar by the work shows its percent: "0/12" on a bar 92% full read as nothing done)
        self.bar.setFormat("%p%" if p.work is not None else f"{p.done}/{p.total}")
        self.label.setText(f"{job_label(job.name, p.stage)}: {count_words(p)} · ETA {format_seconds(time_left(p))}")
