"""The status bar's job progress where the engine reports its work apart from the frames handed on."""
from types import SimpleNamespace

from PySide6.QtCore import QObject, Signal

from app.core.jobs import Progress
from app.ui.jobbar import JobBar


class Jobs(QObject):
    started = Signal(object)
    progress = Signal(object, object)
    busyChanged = Signal(bool)
    busy = True

    def cancel(self) -> None:
        pass


def test_the_bar_and_time_left_follow_the_work_before_any_frame_is_handed_on(qtbot):
    """Inpaint of the paraglider's 70 frames with the propagation fill: for 11 of its 18 s the engine
    reported its work (0.02 .. 0.71 of it) with no frame handed on yet, and the bar stood empty at
    "Inpaint (propagate): 0/70 · ETA –", then jumped. The bar follows the work reported (its percent),
    the count stays the frames done and says so ("written"), and the time left is worked out from the work."""
    jobs = Jobs()
    bar = JobBar(jobs)
    qtbot.addWidget(bar)
    job = SimpleNamespace(name="Inpaint")
    jobs.started.emit(job)
    jobs.progress.emit(job, Progress(0, 70, "propagate", 6.0, {}, 0.4))
    assert bar.bar.value() / bar.bar.maximum() == 0.4 and bar.bar.text() == "40%"
    # (6 s for 0.4: 9 s more)
    assert bar.label.text() == "Inpaint (propagate): 0/70 written · ETA 0:09", bar.label.text()
    jobs.progress.emit(job, Progress(50, 70, "propagate", 14.0, {}, 0.7))
    assert bar.bar.value() / bar.bar.maximum() == 0.7 and bar.bar.text() == "70%"
    assert bar.label.text() == "Inpaint (propagate): 50/70 written · ETA 0:06", bar.label.text()
    track = SimpleNamespace(name="Track")
    jobs.started.emit(track)
    jobs.progress.emit(track, Progress(3, 10, "tracking", 3.0))  # (a count alone: as before)
    assert (bar.bar.value(), bar.bar.maximum(), bar.bar.text()) == (3, 10, "3/10")
    assert bar.label.text() == "Track: 3/10 · ETA 0:07", bar.label.text()
