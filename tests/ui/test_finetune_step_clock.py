"""While a fine-tune step runs (a minute or two on a CPU) the page's line counts the time the step
has taken; it stood still from one step's report to the next, as if the run had hung, and after the
last step it said "ETA 0:00" while the weights were still being validated and written; Stop is
taken at once; a run stopped before its first step leaves nothing to continue."""
import time

from app.core.train import trainer
from app.ui.dialogs.finetune import unfinished_run


def _slow_steps(monkeypatch, wait):
    """Each training step first runs ``wait(trainer)`` (a CPU's step: long enough to watch)."""
    real = trainer.Trainer.train_step

    def slow_step(self, *a, **k):
        wait(self)
        return real(self, *a, **k)

    monkeypatch.setattr(trainer.Trainer, "train_step", slow_step)


def test_the_line_counts_the_step_under_way_and_says_when_the_weights_are_written(window, make_clip, qtbot,
                                                                                   monkeypatch):
    _slow_steps(monkeypatch, lambda _: time.sleep(2.5))
    page, jobs = window.finetune, window.controller.training
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(2)
    reports = []
    jobs.progress.connect(lambda job, p: p.stage == "train" and reports.append(
        (p.done, page.status.text(), window.finetune_bar.label.text())))
    page.start_button.click()
    qtbot.waitUntil(lambda: "step 1 under way: 0:01" in page.status.text(), timeout=60_000)
    assert page.status.text().startswith("Step 0/2 · ")
    qtbot.waitUntil(lambda: "step 1 under way: 0:02" in page.status.text(), timeout=5_000)  # (it goes on)
    qtbot.waitUntil(lambda: "step 2 under way: 0:01" in page.status.text(), timeout=60_000)
    assert page.status.text().startswith("Step 1/2 · ")
    qtbot.waitUntil(lambda: not jobs.busy, timeout=60_000)
    last = [(text, bar) for done, text, bar in reports if done == 2]
    assert last and all(t.endswith("writing the weights…") and "ETA" not in t for t, _ in last), last
    assert all(bar == "Fine-tune: step 2 of 2, writing the weights…" for _, bar in last), last  # (the main window)
    assert page.status.text().startswith("Finished at step 2") and not page.ticker.isActive()
    qtbot.wait(1100)
    assert page.status.text().startswith("Finished at step 2")  # (no tick after the end)


def test_stop_is_taken_at_once_on_the_page_and_in_the_status_bar(window, make_clip, qtbot, monkeypatch):
    """Stop (the page's, or the status bar's) stayed pressable while the run stopped (seconds: the
    step under way is dropped, a checkpoint of the real model is 400 MB), and the status bar still
    said the step and the time left: as if the press had not been taken."""
    from app.ui.dialogs.finetune import STOPPING

    _slow_steps(monkeypatch, lambda _: time.sleep(1.5))
    page, jobs, bar = window.finetune, window.controller.training, window.finetune_bar
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(50)
    page.start_button.click()
    qtbot.waitUntil(lambda: bar.label.text().startswith("Fine-tune: step 1 of 50"), timeout=60_000)
    bar.cancel_button.click()  # Stop in the main window's status bar
    assert bar.label.text() == STOPPING and not bar.cancel_button.isEnabled()
    assert not page.stop_button.isEnabled() and page.status.text().startswith("Stopping: ")
    qtbot.waitUntil(lambda: not jobs.busy, timeout=60_000)
    assert page.status.text().startswith("Stopped at step ") and page.continue_button.isEnabled()
    page.start_button.click()  # the next run's Stop works again
    assert bar.cancel_button.isEnabled() and page.stop_button.isEnabled()
    page.stop()
    qtbot.waitUntil(lambda: not jobs.busy, timeout=60_000)


def test_a_run_stopped_before_its_first_step_leaves_nothing_to_continue(window, make_clip, qtbot, monkeypatch,
                                                                         restart):
    """Closing the window (or Stop) during the first step said "nothing of it is kept", and the next
    start offered a checkpoint of step 0 to Continue (138 MB for the bundled model), as a run "the
    program ended during"."""
    def until_stopped(step):  # (a CPU's first step: minutes)
        while not step.cancel.cancelled:
            time.sleep(0.02)

    _slow_steps(monkeypatch, until_stopped)
    page, jobs = window.finetune, window.controller.training
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(3)
    page.start_button.click()
    qtbot.waitUntil(lambda: "step 1 under way" in page.status.text(), timeout=120_000)
    run = page.running
    with qtbot.waitSignal(jobs.cancelled, timeout=60_000):
        page.stop_button.click()
    assert "nothing to keep" in page.status.text(), page.status.text()
    assert unfinished_run() is None and not (run / "checkpoints" / "last.pt").exists()
    again = restart().finetune  # (the next start)
    assert not again.continue_button.isEnabled() and "Continue" not in again.status.text(), again.status.text()
