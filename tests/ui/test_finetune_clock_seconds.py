"""The fine-tune page's "step N under way: 0:42" clock ticked from a coarse 1 s timer, which fires
some ms early or late: the clock showed one second twice (or skipped one) about every 10 s. It ticks
at each whole second since the step began, and a tick that comes early waits out the rest of it. The
clock the page reads is a fake here: each of its readings is the next of a script, so the ticks fall
where the script puts them (early, on time, late) whatever the machine's load."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel

from app.core.jobs import Progress
from app.ui.dialogs import finetune

START = 500.0
#: when each tick reads the clock, in seconds since the step began: early by 9 ms (as a coarse timer
#: fired in CI), on time, late by most of a second, by 0.6 s, early by half a ms, late by 0.7 ms
TICKS = [0.991, 1.0, 1.996, 2.998, 3.6, 3.995, 4.9995, 5.0007, 5.993, 6.9999, 7.0005]


def test_the_step_clock_shows_each_whole_second_once_where_its_timer_fires_early_or_late(window, qtbot, monkeypatch):
    page, jobs = window.finetune, window.controller.training
    readings = iter([START] + [START + t for t in TICKS])
    read = []

    def clock():
        read.append(next(readings, None))
        return START + TICKS[-1] if read[-1] is None else read[-1]

    monkeypatch.setattr(finetune, "monotonic", clock)
    shown = []
    monkeypatch.setattr(page.status, "setText", lambda text: (shown.append(text), QLabel.setText(page.status, text)))

    def one_step_under_way(host, progress, cancel):
        progress(Progress(0, 5, "train", info={"loss": 0.25}))  # (the first step's report: the clock starts)
        while True:
            cancel.check()
            time.sleep(0.01)

    with qtbot.waitSignal(jobs.cancelled, timeout=30_000):
        jobs.submit("Fine-tune", one_step_under_way, kind="finetune")
        qtbot.waitUntil(lambda: len(read) > len(TICKS), timeout=20_000)  # (every tick of the script read)
        jobs.cancel()
    clock_texts = [t.rpartition("step 1 under way: ")[2] for t in shown if "under way" in t]
    assert clock_texts == [f"0:0{s}" for s in range(1, 8)], shown
    assert all(t.startswith("Step 0/5 · loss 0.25 · ETA after the first step · step 1 under way: ")
               for t in shown if "under way" in t), shown
    assert not page.ticker.isActive()  # (no tick after the run)
