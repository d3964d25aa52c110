"""DeadlineTimer: a single-shot timer that fires once at or after its deadline, never before, where
a QTimer (precise or not) may fire some ms early (CI saw 9 ms). Real event loop; the asserts are on
the clock at the firing (never an upper bound: a loaded machine fires late)."""
from __future__ import annotations

import time

from app.ui.deadline import DeadlineTimer


def recorder(timer: DeadlineTimer) -> list[tuple[float, float]]:
    """(the reading ``due`` carried, time.monotonic() in the slot) for each firing of ``timer``."""
    fired = []
    timer.due.connect(lambda now: fired.append((now, time.monotonic())))
    return fired


def wait_for_a_later_timer(qtbot, seconds: float) -> None:
    """Let the event loop run until a timer started now for ``seconds`` has fired (not a sleep: it
    waits for that firing, however late)."""
    later = DeadlineTimer()
    seen = recorder(later)
    later.start_in(seconds)
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)


def test_it_fires_once_and_not_before_its_deadline(qtbot):
    timer = DeadlineTimer()
    fired = recorder(timer)
    deadline = time.monotonic() + 0.12
    timer.start_at(deadline)
    assert timer.isActive() and 0 < timer.remainingTime() <= 120
    qtbot.waitUntil(lambda: bool(fired), timeout=10_000)
    assert fired[0][0] >= deadline and fired[0][1] >= deadline
    assert not timer.isActive() and timer.remainingTime() == -1
    wait_for_a_later_timer(qtbot, 0.2)
    assert len(fired) == 1  # once


def test_a_firing_before_the_deadline_waits_out_the_rest(qtbot):
    """Its QTimer fired 9 ms early (the clock says so, scripted): no ``due`` then; it is armed again
    for the rest and fires at the clock's next reading past the deadline, reading it once a firing."""
    readings = []
    start = time.monotonic()
    script = iter([start, start + 0.041, start + 0.0505])  # (armed; 9 ms early; 0.5 ms late)

    def clock():
        readings.append(next(script, None) or time.monotonic())
        return readings[-1]

    timer = DeadlineTimer(clock=clock)
    fired = recorder(timer)
    timer.start_in(0.05)
    assert timer.deadline() == start + 0.05
    qtbot.waitUntil(lambda: bool(fired), timeout=10_000)
    assert readings == [start, start + 0.041, start + 0.0505]  # (two firings of the QTimer, one due)
    assert fired[0][0] == start + 0.0505 and not timer.isActive()


def test_stop_keeps_it_from_firing(qtbot):
    timer = DeadlineTimer()
    fired = recorder(timer)
    timer.start_in(0.05)
    timer.stop()
    assert not timer.isActive()
    wait_for_a_later_timer(qtbot, 0.2)
    assert fired == []


def test_a_start_while_it_runs_moves_the_deadline_later_or_sooner(qtbot):
    timer = DeadlineTimer()
    fired = recorder(timer)
    timer.start_in(0.05)
    later = time.monotonic() + 0.25
    timer.start_at(later)  # later: the first deadline passes without a firing
    qtbot.waitUntil(lambda: bool(fired), timeout=10_000)
    assert fired[0][0] >= later and fired[0][1] >= later
    timer.start_in(600)
    sooner = time.monotonic() + 0.05
    timer.start_at(sooner)  # sooner: it fires then, not in 10 minutes
    qtbot.waitUntil(lambda: len(fired) == 2, timeout=10_000)
    assert fired[1][0] >= sooner
    wait_for_a_later_timer(qtbot, 0.1)
    assert len(fired) == 2


def test_its_slot_may_start_it_again_and_start_counts_its_interval_as_a_qtimer_does(qtbot):
    timer = DeadlineTimer()
    fired = recorder(timer)
    timer.due.connect(lambda now: len(fired) < 3 and timer.start_at(now + 0.03))  # (as a clock's next second)
    timer.setInterval(40)
    begun = time.monotonic()
    timer.start()
    assert timer.interval() == 40
    qtbot.waitUntil(lambda: len(fired) == 3 and not timer.isActive(), timeout=10_000)
    assert fired[0][0] >= begun + 0.04
    assert all(b[0] >= a[0] + 0.03 for a, b in zip(fired, fired[1:]))
    timer.start(70)
    assert timer.interval() == 70 and 0 < timer.remainingTime() <= 70
    timer.stop()
