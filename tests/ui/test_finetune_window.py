"""A fine-tune run as the main window shows it while Settings is closed: its step and time left in
the status bar, a click there opens the Fine-tune page, Stop there keeps the run, how it ended is a
message held there until seen (a failure too, with a warning sign, not a dialog), closing the window
says what is kept, at the step it is at while the question is open. The weights in the status bar
name their run, and a run kept from "Delete old runs" says why in one line."""
import json
import re
import shutil
import time
from pathlib import Path

import torch
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.jobs import Progress
from app.ui.dialogs.finetune import bar_words, unfinished_run
from app.ui.dialogs.finetune_runs import new_run_folder, run_title, runs_root


_QUESTION = QMessageBox.__dict__["question"]  # (before the dialogs fixture records questions in its place)


def _checkpoint_step(config):
    return torch.load(config.checkpoint_path, weights_only=True)["step"]


def test_a_run_shows_in_the_main_window_a_click_opens_its_page_and_its_end_is_said(window, make_clip, qtbot,
                                                                                     dialogs):
    page, jobs, bar = window.finetune, window.controller.training, window.finetune_bar
    page.footage.setText(str(make_clip(n=10, width=96, height=64, name="beach.mp4")))
    page.steps.setValue(1000)
    assert not bar.isVisible()
    page.start_button.click()
    qtbot.waitUntil(lambda: page.reached[0] >= 2, timeout=240_000)
    assert bar.isVisible() and window.settings_dialog is None  # (Settings never opened)
    # (~1 h 5 min when a loaded machine takes 4 s a step)
    assert re.fullmatch(r"Fine-tune: step \d+ of 1000, ~(\d+ (s|min)|\d+ h( \d+ min)?) left", bar.label.text()), \
        bar.label.text()
    assert bar.bar.maximum() == 1000 and bar.bar.value() >= 2
    # (a real-model run on a CPU: hours, said as such)
    assert bar_words(None, Progress(12, 500, "train", info={"eta": 4790.0})) == \
        "Fine-tune: step 12 of 500, ~1 h 20 min left"

    qtbot.mouseClick(bar.label, Qt.MouseButton.LeftButton)  # the words open Settings on the Fine-tune page
    dialog = window.settings_dialog
    assert dialog.isVisible() and dialog.tabs.currentWidget() is page
    dialog.close()

    with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
        bar.cancel_button.click()  # Stop, from the main window
        assert page.status.text().startswith("Stopping")
    step = blocker.args[1]["step"]
    said = window.statusBar().currentMessage()
    assert said.startswith(f"Fine-tune stopped at step {step}") and "Settings > Fine-tune > Continue" in said, said
    assert _checkpoint_step(unfinished_run()) == step
    # the message goes in seconds; the entry stays until it is seen (here: another run starts)
    window.statusBar().clearMessage()
    qtbot.wait(50)
    assert bar.isVisible() and bar.label.text() == f"Fine-tune stopped at step {step} – open"
    assert not bar.bar.isVisible() and not bar.cancel_button.isVisible() and said in bar.label.toolTip()
    assert not bar.warning.isVisible()  # (no warning sign: nothing went wrong)

    page.steps.setValue(step + 1)
    page.continue_button.click()
    assert bar.label.text() == "Fine-tune…" and bar.bar.isVisible() and bar.cancel_button.isVisible()
    qtbot.waitUntil(lambda: not jobs.busy, timeout=240_000)
    said = window.statusBar().currentMessage()
    assert said.startswith(f"Fine-tune finished at step {step + 1}") and "Use these weights" in said, said
    window.statusBar().clearMessage()
    assert bar.isVisible() and bar.label.text() == f"Fine-tune finished at step {step + 1} – open"
    qtbot.mouseClick(bar.label, Qt.MouseButton.LeftButton)  # looked at: Settings > Fine-tune says the rest
    assert window.settings_dialog.tabs.currentWidget() is page and page.status.text().startswith("Finished at step")
    assert not bar.isVisible()
    window.settings_dialog.close()
    assert not bar.isVisible()
    assert not any(kind == "critical" for kind, _ in dialogs)


def _answer_when(test, button):
    """Press ``button`` in the message box that is about to open once ``test(box)`` holds (checked
    every 50 ms, at most a minute); returns the texts it showed, in order."""
    texts = []
    waited = QElapsedTimer()
    waited.start()

    def look():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            return
        if not texts or texts[-1] != box.text():
            texts.append(box.text())
        try:
            done = test(box)
        except Exception:  # noqa: BLE001 - (other words: answered, and the test's asserts say what)
            done = True
        if done or waited.elapsed() > 60_000:
            timer.stop()
            box.button(button).click()

    timer = QTimer()
    timer.timeout.connect(look)
    timer.start(50)
    return texts


def _step_now(text):
    return int(re.search(r"at step (\d+) of 1000 now", text).group(1))


def test_closing_the_window_mid_run_says_what_is_kept_and_keeps_it(window, make_clip, qtbot, monkeypatch, restart):
    page = window.finetune
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(1000)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.reached[0] >= 2, timeout=240_000)
    asked = page.reached[0]
    texts = _answer_when(lambda box: _step_now(box.text()) >= asked + 2, QMessageBox.StandardButton.No)
    with monkeypatch.context() as m:
        m.setattr(QMessageBox, "question", _QUESTION)  # the real box: the run goes on while it is open
        window.close()  # No: the window and the run go on
    assert window.isVisible() and window.controller.training.busy
    steps = [_step_now(text) for text in texts]
    # the step it says is the step the run is at, not the one when it was asked
    assert steps[0] >= 2 and steps[-1] >= asked + 2 and steps == sorted(steps), texts
    question = texts[-1]
    assert "keeps its last whole step" in question and "Settings > Fine-tune > Continue" in question
    texts = _answer_when(lambda box: True, QMessageBox.StandardButton.Yes)
    with monkeypatch.context() as m:
        m.setattr(QMessageBox, "question", _QUESTION)
        window.close()
    assert texts and texts[0].startswith("Fine-tune is still running. ")
    assert not window.controller.training._thread.isRunning()
    run = unfinished_run()
    step = _checkpoint_step(run)
    assert step >= _step_now(texts[-1])

    # the next start says it can be continued, on the page and (once) in the status bar
    folder = Path(run.workdir)
    again = restart()
    bar, page = again.finetune_bar, again.finetune
    assert bar.isVisible() and bar.label.text() == f"Fine-tune stopped at step {step} of 1000 – open to continue"
    said = (f"The fine-tune of {run_title(folder)} on clip.mp4 stopped at step {step} of 1000 when the window was "
            "closed")
    assert bar.label.toolTip().startswith(f"{said}: Settings > Fine-tune > Continue carries it on.")
    assert page.status.text() == f"{said}: Continue carries it on up to Steps, Start begins a new one."
    assert page.continue_button.isEnabled() and page.steps.value() == 1000
    qtbot.mouseClick(bar.label, Qt.MouseButton.LeftButton)  # seen: Settings > Fine-tune
    assert again.settings_dialog.tabs.currentWidget() is page and not bar.isVisible()
    again.close()
    again = restart()  # said once: the page still says it, the status bar no more
    assert not again.finetune_bar.isVisible() and again.finetune.status.text().startswith(said)
    again.close()

    # a run the program's end cut short (killed: run.json says nothing of how) goes by its checkpoint
    record = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({"config": record["config"], "finished": False}))
    again = restart()
    assert again.finetune_bar.label.text() == f"Fine-tune stopped at step {step} of 1000 – open to continue"
    assert again.finetune.status.text().startswith(
        f"The fine-tune of {run_title(folder)} on clip.mp4 did not finish (the program ended during it); its last "
        f"checkpoint is of step {step} of 1000: Continue")
    again.close()


def test_a_run_that_ends_while_the_closing_question_is_open_is_not_said_to_be_running(window, make_clip, qtbot,
                                                                                      monkeypatch):
    page, jobs = window.finetune, window.controller.training
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(5)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.reached[0] >= 1, timeout=240_000)
    texts = _answer_when(lambda box: not box.text().startswith("Fine-tune"), QMessageBox.StandardButton.Yes)
    with monkeypatch.context() as m:
        m.setattr(QMessageBox, "question", _QUESTION)
        window.close()
    assert texts[0].startswith("Fine-tune is still running. ") and texts[-1] == \
        "Nothing is running any more. Close the window?", texts
    assert not window.isVisible() and not jobs.busy
    assert unfinished_run() is None  # (it finished: nothing was stopped)


def test_a_run_that_fails_while_settings_is_closed_is_held_in_the_status_bar_not_a_dialog(window, tmp_path, qtbot,
                                                                                          dialogs):
    page, jobs = window.finetune, window.controller.training
    (tmp_path / "empty").mkdir()  # (a path that does not exist is refused before a run starts)
    page.footage.setText(str(tmp_path / "empty"))
    with qtbot.waitSignal(jobs.failed, timeout=120_000):
        page.start_button.click()
    # as a run that finished or was stopped: said in the status bar and held there, no dialog over the work
    assert not [kind for kind, _ in dialogs if kind == "critical"]
    said = window.statusBar().currentMessage()
    assert said.startswith("Fine-tune failed: ") and "No videos" in said and "\n" not in said, said
    window.statusBar().clearMessage()
    bar = window.finetune_bar
    assert bar.isVisible() and bar.label.text() == "Fine-tune failed – open" and said in bar.label.toolTip()
    assert bar.warning.isVisible()  # (a failure, unlike a run that finished or was stopped)
    qtbot.mouseClick(bar.label, Qt.MouseButton.LeftButton)  # the page says it on its own line
    assert "No videos" in page.status.text() and not bar.isVisible()

    with qtbot.waitSignal(jobs.failed, timeout=120_000):  # the page in sight: its line and the status bar
        page.start_button.click()
    assert not bar.isVisible() and not [kind for kind, _ in dialogs if kind == "critical"]
    assert "No videos" in page.status.text() and "No videos" in window.statusBar().currentMessage()


def test_the_status_bar_names_the_run_of_fine_tuned_weights_and_a_kept_run_says_why(window, make_clip, qtbot, dialogs,
                                                                                     tiny_weights):
    page, jobs, status = window.finetune, window.controller.training, window.status
    window.resize(1100, 600)  # (the fields named: at 900 px the longest left the bar's messages 238 px)
    qtbot.waitUntil(lambda: window.width() == 1100)
    page.footage.setText(str(make_clip(n=10, width=96, height=64, name="beach.mp4")))
    page.steps.setValue(1)
    with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
        page.start_button.click()
    weights = blocker.args[1]["output"]
    folder = weights.parent
    # not used yet: kept from "Delete old runs" while Use these weights may take them, and it says so
    assert page.old_runs_label.text() == "Old runs: none" and not page.delete_runs_button.isEnabled()
    assert page.held_label.text() == (f"{folder.name} stays: its weights were just trained (kept for Use these "
                                      "weights until another run starts or the window closes).")
    page.use_button.click()
    title = run_title(folder)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", title)
    assert status.weights.text() == f"Weights: fine-tuned {title} on beach.mp4"
    tip = status.weights.toolTip()
    assert tip.startswith(f"{weights}\n") and "beach.mp4, 1 step, finished, from tiny.pth" in tip, tip
    assert page.source.text() == f"fine-tuned {title} on beach.mp4 (chosen on the General page)"

    # another run's weights read differently (another footage, another time)
    other = runs_root() / "20260101-093000"
    shutil.copytree(folder, other)
    record = json.loads((other / "run.json").read_text())
    record["config"]["data"] = ["/footage/night street, handheld camera.mov"]
    (other / "run.json").write_text(json.dumps(record))
    window.settings.weights = str(other / "finetuned.pth")
    status.refresh()
    assert status.weights.text() == "Weights: fine-tuned 2026-01-01 09:30 on night street, handheld came…"  # (28 long)

    # in use: one line says why it stays and what to do; once other weights are chosen it goes
    window.settings.weights = str(weights)
    page.refresh_old_runs()
    reason = (f"{folder.name} stays: its weights are in use (to delete them, choose other weights in "
              "Settings > General first).")
    assert page.old_runs_label.text().startswith("Old runs: 1, ") and page.held_label.text() == reason
    dialogs.answer = QMessageBox.StandardButton.Yes
    page.delete_runs_button.click()
    assert page.status.text().splitlines()[-1] == reason and weights.is_file() and not other.exists()
    window.settings.weights = str(tiny_weights)  # other weights chosen (no window restart needed)
    page.refresh_old_runs()
    assert page.old_runs_label.text().startswith("Old runs: 1, ") and page.held_label.text() == ""
    page.delete_runs_button.click()
    assert not folder.exists()
    page.use_button.click()  # (its weights are gone with the run: said, not used)
    assert "is gone" in page.status.text() and window.settings.weights == str(tiny_weights)


def test_two_runs_started_in_the_same_minute_have_weights_named_apart(window, make_clip, qtbot, monkeypatch):
    from app.ui.dialogs import finetune

    page, jobs, status = window.finetune, window.controller.training, window.status
    page.footage.setText(str(make_clip(n=10, width=96, height=64, name="beach.mp4")))
    page.steps.setValue(1)
    # the runs' folders are named as if Start were pressed at 0:10 and 0:17 of the minute before this one
    # (it waited for a time under 0:40 and ran on the clock: a first run took 13 s of the 20 under load)
    minute = (time.time() // 60 - 1) * 60
    starts, name = iter([minute + 10, minute + 17]), finetune.new_run_folder
    monkeypatch.setattr(finetune, "new_run_folder", lambda root: name(root, now=next(starts)))
    names = []
    for _ in range(2):
        with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
            page.start_button.click()
        names.append(blocker.args[1]["output"])
    first, second = names
    assert first.parent.name[:13] == second.parent.name[:13]  # (started in the same minute)
    shown = []
    for weights in (first, second):
        window.settings.weights = str(weights)
        status.refresh()
        shown.append(status.weights.text())
    assert shown[0] != shown[1], shown
    for text, weights in zip(shown, names):  # the seconds tell them apart, only where needed
        folder = weights.parent.name
        assert text == f"Weights: fine-tuned {run_title(weights.parent)} on beach.mp4"
        assert run_title(weights.parent).endswith(f" {folder[9:11]}:{folder[11:13]}:{folder[13:15]}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", run_title(runs_root() / "20260101-093000"))

    # a run started in the same second (Start again at once) gets a folder of its own, named "#2"
    again = new_run_folder(runs_root(), now=time.mktime(time.strptime(second.parent.name, "%Y%m%d-%H%M%S")))
    assert again.name == f"{second.parent.name}-2"
    shutil.copytree(second.parent, again)
    window.settings.weights = str(again / "finetuned.pth")
    status.refresh()
    assert status.weights.text() == f"Weights: fine-tuned {run_title(second.parent)} #2 on beach.mp4"
