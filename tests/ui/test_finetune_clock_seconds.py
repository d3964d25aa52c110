"""The fine-tune page's "step N under way: 0:42" clock ticked from a coarse 1 s timer, which fires
some ms early or late: the clock showed one second twice (or skipped one) about every 10 s. It ticks
at each whole second since the step began, and a tick that comes early waits out the rest of it; the
main window's status bar counts it too (it said "Fine-tune: step 1 of 2…" unchanged for the minutes a
CPU step takes, as if the run had hung). The clock the page reads is a fake here: each of its
readings is the next of a script, so the ticks fall where the script puts them (early, on time, late)
whatever the machine's load."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel

from app.core.jobs import Progress
from app.ui.dialogs import finetune

START = 500.0
#: when each tick reads the clock, in seconds since the step began: early by 9 ms (as a coarse timer
#: fired in CI), on time, late by most of a second, by 0.6 s, early by half a ms, late by 0.7 ms
TICKS = [0.991, 1.0, 1.996, 2.998, 3.6, 3.995, 4.9995, 5.0007, 5.993, 6.9999, 7.0005]


def _scripted_clock(monkeypatch, ticks):
    """The page's clock reads START, then START + each of ``ticks``, then the last again; returns the
    list of its readings (None once the script is spent)."""
    readings = iter([START] + [START + t for t in ticks])
    read = []

    def clock():
        read.append(next(readings, None))
        return START + ticks[-1] if read[-1] is None else read[-1]

    monkeypatch.setattr(finetune, "monotonic", clock)
    return read


def _step_under_way(report):
    """A worker job that sends ``report`` (a step's report: the clock starts) and runs until cancelled."""
    def job(host, progress, cancel):
        progress(report)
        while True:
            cancel.check()
            time.sleep(0.01)
    return job


def test_the_step_clock_shows_each_whole_second_once_where_its_timer_fires_early_or_late(window, qtbot, monkeypatch):
    page, jobs = window.finetune, window.controller.training
    read = _scripted_clock(monkeypatch, TICKS)
    shown = []
    monkeypatch.setattr(page.status, "setText", lambda text: (shown.append(text), QLabel.setText(page.status, text)))
    with qtbot.waitSignal(jobs.cancelled, timeout=30_000):
        jobs.submit("Fine-tune", _step_under_way(Progress(0, 5, "train", info={"loss": 0.25})), kind="finetune")
        qtbot.waitUntil(lambda: len(read) > len(TICKS), timeout=20_000)  # (every tick of the script read)
        jobs.cancel()
    clock_texts = [t.rpartition("step 1 under way: ")[2] for t in shown if "under way" in t]
    assert clock_texts == [f"0:0{s}" for s in range(1, 8)], shown
    assert all(t.startswith("Step 0/5 · loss 0.25 · ETA once step 1 is done · step 1 under way: ")
               for t in shown if "under way" in t), shown
    assert not page.ticker.isActive()  # (no tick after the run)


def test_a_continued_run_names_its_next_step_and_the_status_bar_counts_it(window, qtbot, monkeypatch):
    """A run continued at step 1 said "ETA after the first step", its first step long done."""
    page, jobs, bar = window.finetune, window.controller.training, window.finetune_bar
    _scripted_clock(monkeypatch, [1.0, 2.0, 3.0])
    continued = Progress(1, 2, "train", info={"val_psnr": 31.5})  # (a continued run's first report: no step time)
    with qtbot.waitSignal(jobs.cancelled, timeout=30_000):
        jobs.submit("Fine-tune", _step_under_way(continued), kind="finetune")
        qtbot.waitUntil(lambda: "step 2 under way: 0:03" in page.status.text(), timeout=20_000)
        text, words = page.status.text(), bar.label.text()
        jobs.cancel()
    assert "first step" not in text and "ETA once step 2 is done" in text, text
    assert words == "Fine-tune: step 1 of 2, step 2 under way: 0:03", words
