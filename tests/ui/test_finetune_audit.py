"""The fine-tune page as a user meets it: Stop says what happens and keeps a checkpoint that
Continue carries on from (also after the window was closed mid-run), a single video as footage,
bad footage and bad starting weights give one line on the page."""
import json

import torch
from PySide6.QtWidgets import QMessageBox

from app.ui.dialogs.finetune import FinetunePage, unfinished_run


def _checkpoint_step(page_config_workdir):
    return torch.load(page_config_workdir / "checkpoints" / "last.pt", weights_only=True)["step"]


def test_stop_keeps_a_checkpoint_and_continue_resumes_it(window, make_clip, qtbot):
    page = window.finetune
    page.footage.setText(str(make_clip(n=10, width=96, height=64, name="my clip ü.mp4")))  # one video
    page.steps.setValue(1000)
    jobs = window.controller.training
    said, shown = [], []

    def press_stop(job, p):
        shown.append(page.status.text())
        if p.stage == "train" and p.done >= 2 and not said:
            page.stop_button.click()
            said.append(page.status.text())

    jobs.progress.connect(press_stop)
    with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
        page.start_button.click()
        assert not page.continue_button.isEnabled()
    jobs.progress.disconnect(press_stop)
    assert said and said[0].startswith("Stopping")  # at once, not when the step ends
    assert shown[0].startswith("Reading training clips 1 of 1 (my clip ü.mp4)")  # before the model's first step
    assert any(" s/step · ETA " in text for text in shown)
    result = blocker.args[1]
    step = result["step"]
    assert result["stopped"] and 2 <= step < 1000 and result["output"].exists()
    workdir = result["output"].parent
    assert _checkpoint_step(workdir) == step
    assert f"Stopped at step {step}" in page.status.text() and "Continue" in page.status.text()
    assert page.continue_button.isEnabled() and page.start_button.isEnabled()

    page.steps.setValue(step + 2)
    with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
        page.continue_button.click()
        assert [s for s, _ in page.plot.points["loss"]] == list(range(1, step + 1))  # the curve so far
    result = blocker.args[1]
    assert result["step"] == step + 2 and not result["stopped"]
    assert result["output"].parent == workdir  # the same run, continued
    assert json.loads((workdir / "run.json").read_text())["finished"] is True
    assert not page.continue_button.isEnabled()  # nothing left to continue
    assert f"Finished at step {step + 2}" in page.status.text()


def test_closing_the_window_during_training_keeps_the_run_for_next_time(window, make_clip, qtbot, dialogs, settings):
    page = window.finetune
    page.footage.setText(str(make_clip(n=10, width=96, height=64, name="a.mp4").parent))
    page.steps.setValue(1000)
    window.show_settings().close()  # the settings dialog closed: training goes on
    page.start_button.click()
    qtbot.waitUntil(lambda: len(page.plot.points["loss"]) >= 2, timeout=240_000)
    assert window.controller.training.busy
    dialogs.answer = QMessageBox.StandardButton.Yes  # "Fine-tune is still running. Stop and close?"
    window.close()
    assert any("still running" in text for kind, text in dialogs if kind == "question")
    assert not window.controller.training._thread.isRunning()  # stopped within the close, not killed
    run = unfinished_run()
    assert run is not None and 1 <= _checkpoint_step(run.checkpoint_path.parents[1]) < 1000
    # the next session's page offers to continue it
    from app.ui.workers import JobThread

    jobs = JobThread("training")
    try:
        again = FinetunePage(jobs, settings)
        qtbot.addWidget(again)
        assert again.continue_button.isEnabled()
    finally:
        jobs.shutdown()


def test_bad_footage_and_weights_say_what_to_do_on_one_line(window, tmp_path, qtbot, settings):
    page = window.finetune
    jobs = window.controller.training
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("no video")
    (tmp_path / "weights.pth").write_text("not a model")
    cases = [(tmp_path / "empty", None, "No videos"),
             (tmp_path / "notes", None, "No videos"),
             (tmp_path / "notes", tmp_path / "weights.pth", "STTN generator")]
    for footage, weights, expected in cases:
        if weights is not None:
            settings.weights = str(weights)
        page.footage.setText(str(footage))
        with qtbot.waitSignal(jobs.failed, timeout=120_000):
            page.start_button.click()
        text = page.status.text()
        assert expected in text and "\n" not in text and "Traceback" not in text, text
        assert page.start_button.isEnabled() and not page.stop_button.isEnabled()
    assert unfinished_run() is None  # failed starts leave nothing to continue

