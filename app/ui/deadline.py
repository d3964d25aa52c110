"""A single-shot timer that fires at a moment on a clock, never before it. A QTimer, even a precise
one, may fire some ms early (CI saw 9 ms), and the interval of a coarse one 5 % early: a floor (the
time to read a message, the rest after an autosave write, a clock's next whole second) was then
broken. ``DeadlineTimer`` reads its clock when its QTimer fires and, early, arms it again for what is
left; ``due`` is emitted once, with the clock's reading, at or after the deadline."""
from __future__ import annotations

import math
import time
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal


def ms_until(deadline: float, now: float) -> int:
    """Whole ms from ``now`` to ``deadline`` (clock seconds), rounded up; 0 if it has passed."""
    return max(0, math.ceil((deadline - now) * 1000))


class DeadlineTimer(QObject):
    """Fires ``due(now)`` once, where ``now`` (its clock's reading then) is at or after the deadline.

    ``start_at(deadline)``: at a reading of the clock (``clock``, default ``time.monotonic``: pass a
    callable that looks the clock up where a test replaces it); ``start_in(seconds)``; a start while
    active moves the deadline. As a QTimer: ``start(ms)`` / ``start()`` (for ``interval()`` ms, set by
    ``setInterval`` or the last ``start(ms)``), ``stop``, ``isActive``, ``remainingTime`` (ms to the
    deadline, -1 when inactive). The clock is read once per firing of the QTimer, and by ``start_at``
    only where ``now`` is not given."""

    due = Signal(float)

    def __init__(self, parent: QObject | None = None, clock: Callable[[], float] | None = None):
        super().__init__(parent)
        self.clock = clock or (lambda: time.monotonic())  # (looked up at each reading, as a test may set it)
        self._deadline: float | None = None
        self._interval = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._fired)

    def start_at(self, deadline: float, now: float | None = None) -> None:
        """Fire at ``deadline`` (the clock's seconds); ``now``: the clock's reading, if just taken."""
        self._deadline = deadline
        self._timer.start(ms_until(deadline, self.clock() if now is None else now))

    def start_in(self, seconds: float) -> None:
        now = self.clock()
        self.start_at(now + seconds, now)

    def start(self, msec: int | None = None) -> None:
        if msec is not None:
            self._interval = msec
        self.start_in(self._interval / 1000)

    def setInterval(self, msec: int) -> None:
        self._interval = msec

    def interval(self) -> int:
        return self._interval

    def stop(self) -> None:
        self._timer.stop()
        self._deadline = None

    def isActive(self) -> bool:
        return self._deadline is not None

    def deadline(self) -> float | None:
        return self._deadline

    def remainingTime(self) -> int:
        return -1 if self._deadline is None else ms_until(self._deadline, self.clock())

    def _fired(self) -> None:
        if self._deadline is None:
            return
        now = self.clock()
        if now < self._deadline:  # (fired early: the rest, at least 1 ms)
            self._timer.start(ms_until(self._deadline, now))
            return
        self._deadline = None  # (before: a slot may start it again)
        self.due.emit(now)
