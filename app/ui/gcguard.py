"""Python's cycle collector runs on the GUI thread only, from a timer.

CPython collects cyclic garbage on whichever thread happens to allocate past the threshold. In
this application that is most often a worker: the inpaint, track and training jobs allocate far
more than the GUI does. A cycle that holds a Qt object living on the GUI thread (a QTimer, a
widget, a QObject with a signal connected to a lambda that refers back to its owner) is then
destroyed on the worker, and Qt's objects must die on the thread they live on: "Timers cannot be
stopped from another thread", or a crash later when the GUI thread touches freed memory. (One
such path, an Autosaver dropped by its writing thread, was found and fixed on its own; this closes
the whole class.)

``GuiThreadCollector`` turns the automatic collector off and looks at the allocation counts every
``interval_ms`` on the GUI thread, collecting the oldest generation that is due by the
interpreter's own thresholds. Garbage without cycles is freed at once by reference counting, as
before; a cycle waits at most one interval. ``gc.freeze()`` after start-up moves what the imports
made (torch, Qt, numpy: about a million objects) out of the collector's sight, so that a full
collection does not walk them every time.
"""
from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    """Collect cyclic garbage on the thread that made this object (the GUI thread)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500):
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self.collections = [0, 0, 0]  # per generation, for tests and the log
        self.longest_s = 0.0
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def due(self) -> int:
        """The oldest generation whose count passed its threshold, -1 when none is due."""
        generation = -1
        for g, (count, threshold) in enumerate(zip(gc.get_count(), gc.get_threshold())):
            if threshold <= 0 or count <= threshold:
                break
            generation = g
        return generation

    def check(self) -> None:
        generation = self.due()
        if generation < 0:
            return
        start = time.perf_counter()
        gc.collect(generation)
        self.longest_s = max(self.longest_s, time.perf_counter() - start)
        self.collections[generation] += 1

    def stop(self) -> None:
        """Give collection back to the interpreter (as it was before)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()


def freeze_startup_objects() -> None:
    """Keep what start-up made out of every later collection (it lives as long as the process)."""
    gc.collect()
    gc.freeze()
