"""One progress/cancel protocol for every long job (inference, export, tracking, training).

Long work is written as a function that takes ``progress`` (a callable receiving
``Progress``) and ``cancel`` (a ``CancelToken``). The CLI renders progress with tqdm,
the GUI turns it into Qt signals, tests collect it in a list.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from .errors import Cancelled


@dataclass
class Progress:
    done: int
    total: int
    stage: str = ""
    elapsed: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def eta(self) -> Optional[float]:
        """Seconds left, linearly extrapolated; None before the first unit is done."""
        if self.done <= 0 or self.total <= 0:
            return None
        return self.elapsed * (self.total - self.done) / self.done


ProgressFn = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    pass


class CancelToken:
    """Thread-safe cancel flag; long jobs call ``check()`` between units of work."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("Cancelled by the user; nothing was written.")


class ProgressClock:
    """Helper that stamps elapsed time onto Progress reports."""

    def __init__(self, progress: Optional[ProgressFn], total: int, stage: str = ""):
        self.progress = progress or no_progress
        self.total = total
        self.stage = stage
        self.start = time.monotonic()

    def report(self, done: int, **info) -> None:
        self.progress(Progress(done, self.total, self.stage, time.monotonic() - self.start, info))
