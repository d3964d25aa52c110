"""One progress/cancel protocol for every long job (inference, export, tracking, training).

Long work is written as a function that takes ``progress`` (a callable receiving
``Progress``) and ``cancel`` (a ``CancelToken``). The CLI renders progress with tqdm,
the GUI turns it into Qt signals, tests collect it in a list.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from .errors import Cancelled


@dataclass
class Progress:
    done: int
    total: int
    stage: str = ""
    elapsed: float = 0.0
    info: dict = field(default_factory=dict)
    #: the share of the work done (0..1) where the units counted cost unequal times: an export of a
    #: short range inside a long clip counts its frames, but a frame inpainted costs 5 to 40 times a
    #: frame copied through. The bar and the ETA follow it; ``done``/``total`` stay the count shown.
    work: Optional[float] = None

    @property
    def fraction(self) -> float:
        if self.work is not None:
            return min(1.0, max(0.0, self.work))
        return self.done / self.total if self.total else 0.0

    @property
    def eta(self) -> Optional[float]:
        """Seconds left, linearly extrapolated from the fraction done; None before any is done."""
        if self.done <= 0 or self.total <= 0 or self.fraction <= 0:
            return None
        return self.elapsed * (1.0 - self.fraction) / self.fraction


ProgressFn = Callable[[Progress], None]


def job_label(name: str, stage: str) -> str:
    """A job's name with the stage of its report: "Export (copy)", but "Track" for its stage
    "tracking" and "Inpaint" for "inpaint", where the stage only says the name again."""
    if not (name and stage):
        return name or stage
    a, b = name.lower(), stage.lower()
    return name if a.startswith(b) or b.startswith(a) else f"{name} ({stage})"


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

    def report(self, done: int, work: Optional[float] = None, **info) -> None:
        """``work``: the share of the work done, where units cost unequal times (``Progress.work``)."""
        self.progress(Progress(done, self.total, self.stage, time.monotonic() - self.start, info, work))


class Phases:
    """One progress for a job made of steps run one after another (inpaint the frames an edit
    reached, then encode the video): each step reports its own Progress from 0 to its own total, and
    the job's runs once from 0 to ``SCALE``, each step taking the share of the bar its expected cost
    (``steps``: (label, cost) in order, the costs in any one unit) has of all of them. So the bar never
    starts again at a step's start, and the ETA (the elapsed time over the fraction done) stays
    continuous where one step hands over to the next.

    Each report has the step's label as ``stage`` and the step's own count as ``info["step"]`` (done,
    total), for the words beside the bar. A step made of steps reports through ``Phases`` of its own
    into its share: the innermost label and count are passed on. The bar never goes back: a step
    whose count starts over (an encode done again after a failed check) holds it where it was."""

    SCALE = 1000

    def __init__(self, progress: Optional[ProgressFn], steps: Sequence[tuple[str, float]]):
        self.progress = progress or no_progress
        whole = sum(max(0.0, cost) for _, cost in steps) or 1.0
        self._share: dict[str, tuple[float, float]] = {}  # label -> (fraction before it, its fraction)
        before = 0.0
        for label, cost in steps:
            self._share[label] = (before, max(0.0, cost) / whole)
            before += max(0.0, cost) / whole
        self.start = time.monotonic()
        self.done = 0
        self._said: tuple[str, dict] = (steps[-1][0] if steps else "", {})  # the last report's stage and info

    def step(self, label: str) -> ProgressFn:
        """The ``progress`` to hand to step ``label`` (one not planned for holds the bar where it is)."""
        before, share = self._share.get(label, (self.done / self.SCALE, 0.0))

        def report(p: Progress) -> None:
            nested = "step" in p.info  # (from a step's own Phases: its label and count are the ones to show)
            fraction = min(1.0, max(0.0, p.fraction))
            self.done = max(self.done, min(self.SCALE, round((before + share * fraction) * self.SCALE)))
            self._said = (p.stage if nested else label, p.info if nested else {**p.info, "step": (p.done, p.total)})
            self._report()

        return report

    def finish(self) -> None:
        """Report the job done: the bar full, with the words of the last report."""
        self.done = self.SCALE
        self._report()

    def _report(self) -> None:
        stage, info = self._said
        self.progress(Progress(self.done, self.SCALE, stage, time.monotonic() - self.start, info))
