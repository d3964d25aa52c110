"""While a fine-tune step runs (a minute or two on a CPU) the page's line counts the time the step
has taken; it stood still from one step's report to the next, as if the run had hung, and after the
last step it said "ETA 0:00" while the weights were still being validated and written."""
import time

from app.core.train import trainer


def test_the_line_counts_the_step_under_way_and_says_when_the_weights_are_written(window, make_clip, qtbot,
                                                                                   monkeypatch):
    real = trainer.Trainer.train_step

    def slow_step(self, *a, **k):  # (a CPU's step: long enough to watch)
        time.sleep(2.5)
        return real(self, *a, **k)

    monkeypatch.setattr(trainer.Trainer, "train_step", slow_step)
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
