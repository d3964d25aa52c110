"""The fine-tune page's disk use: a finished run keeps its weights and log but not its checkpoint;
"Delete old runs…" says what the old runs take, names what goes, and never deletes the weights
in use, the run Continue carries on, or a run in progress; a folder it cannot delete is one line."""
import json
import os
import shutil
import time
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from app.core.cache import format_size
from app.ui.dialogs.finetune import unfinished_run
from app.ui.dialogs.finetune_runs import old_runs, runs_root

DAY = 24 * 3600


def _size(paths):
    return sum(p.stat().st_size for p in paths if p.is_file())


def _all_files(folder):
    return [p for p in folder.rglob("*") if p.is_file()]


def _run_to_stop(page, jobs, qtbot, steps_before_stop=1):
    """A real run of the page, stopped after a step: its folder (checkpoint, weights, log, run.json)."""
    page.steps.setValue(1000)

    def press_stop(job, p):
        if p.stage == "train" and p.done >= steps_before_stop and not job.cancel.cancelled:
            page.stop_button.click()

    jobs.progress.connect(press_stop)
    with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
        page.start_button.click()
    jobs.progress.disconnect(press_stop)
    return Path(blocker.args[1]["output"]).parent


def _age(folder: Path, seconds: float, run_json_only=False):
    then = time.time() - seconds
    for path in [folder / "run.json"] if run_json_only else [*folder.rglob("*"), folder]:
        os.utime(path, (then, then))


def _copy_run(source: Path, name: str, finished: bool, age: float) -> Path:
    folder = source.parent / name
    # (the checkpoint's first 2 MB only: the test needs a file of its own size, not 200 MB copies on a shared disk)
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("last.pt"))
    with open(source / "checkpoints" / "last.pt", "rb") as f:
        (folder / "checkpoints" / "last.pt").write_bytes(f.read(2 << 20))
    record = json.loads((folder / "run.json").read_text())
    record["config"]["workdir"] = str(folder)
    record["finished"] = finished
    (folder / "run.json").write_text(json.dumps(record))
    _age(folder, age)
    return folder


def test_a_finished_run_keeps_its_weights_and_log_but_not_its_checkpoint(window, make_clip, qtbot):
    page = window.finetune
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(2)
    with qtbot.waitSignal(window.controller.training.finished, timeout=240_000) as blocker:
        page.start_button.click()
    result = blocker.args[1]
    folder = result["output"].parent
    assert result["step"] == 2 and not result["stopped"]
    assert sorted(p.name for p in folder.iterdir()) == ["finetuned.pth", "metrics.jsonl", "run.json"]
    assert json.loads((folder / "run.json").read_text())["finished"] is True
    assert [json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()][-1] == 2
    assert not page.continue_button.isEnabled() and page.use_button.isEnabled()
    assert page.old_runs_label.text() == "Old runs: none" and not page.delete_runs_button.isEnabled()
    page.use_button.click()
    assert window.settings.weights == str(folder / "finetuned.pth")


def test_delete_old_runs_keeps_what_is_in_use_and_what_continue_needs(window, make_clip, qtbot, dialogs):
    page = window.finetune
    jobs = window.controller.training
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    newest = _run_to_stop(page, jobs, qtbot)  # unfinished: Continue's
    assert (newest / "checkpoints" / "last.pt").is_file()
    # (a finished run of an older version still has its checkpoint)
    finished_old = _copy_run(newest, "20200101-100000", finished=True, age=4 * DAY)
    in_use = _copy_run(newest, "20200102-100000", finished=True, age=3 * DAY)
    stopped_old = _copy_run(newest, "20200103-100000", finished=False, age=2 * DAY)  # can never be continued
    active = _copy_run(newest, "20200104-100000", finished=False, age=60)  # maybe training in another window
    _age(newest, 0, run_json_only=True)  # (the newest run.json: Continue's)
    notes = newest.parent / "my notes"
    notes.mkdir()
    (notes / "a.txt").write_text("mine")
    window.settings.weights = str(in_use / "finetuned.pth")
    page.hide()
    page.show()  # (the page looks again when shown: the General page may have changed the weights)

    goes = _all_files(finished_old) + _all_files(stopped_old) + _all_files(in_use / "checkpoints")
    assert page.old_runs_label.text() == f"Old runs: 3, {format_size(_size(goes))}"
    assert page.held_label.text() == ("20200102-100000 stays: its weights are in use (to delete them, choose other "
                                      "weights in Settings > General first).")  # (not the newest: kept anyway)
    assert _size(goes) > 3 * (2 << 20)
    assert page.delete_runs_button.isEnabled()

    dialogs.answer = QMessageBox.StandardButton.No
    page.delete_runs_button.click()
    assert all(p.exists() for p in goes)  # No deletes nothing

    dialogs.answer = QMessageBox.StandardButton.Yes
    freed = _size(goes)
    page.delete_runs_button.click()
    question = dialogs[-1][1]
    assert dialogs[-1][0] == "question" and format_size(freed) in question
    assert question.startswith(f"Delete {format_size(freed)} of 3 old fine-tune run(s) in ")
    assert "\n20200101-100000: the whole run with its weights" in question
    assert ("20200102-100000: its checkpoint" in question and "only; its weights are in use (to delete them, "
            "choose other weights in Settings > General first)" in question)
    assert "20200103-100000: the whole run" in question
    assert "20200104-100000" not in question and newest.name not in question and "my notes" not in question

    assert not finished_old.exists() and not stopped_old.exists()
    assert sorted(p.name for p in in_use.iterdir()) == ["finetuned.pth", "metrics.jsonl", "run.json"]
    assert (active / "checkpoints" / "last.pt").is_file() and (notes / "a.txt").read_text() == "mine"
    assert (newest / "checkpoints" / "last.pt").is_file() and (newest / "finetuned.pth").is_file()
    assert page.status.text().splitlines() == [f"Deleted 3 old run(s), {format_size(freed)} freed.",
                                               "20200102-100000 stays: its weights are in use (to delete them, "
                                               "choose other weights in Settings > General first)."]
    assert page.old_runs_label.text() == "Old runs: none" and not page.delete_runs_button.isEnabled()
    assert unfinished_run().workdir == str(newest) and page.continue_button.isEnabled()

    # the run in progress (Continue) is never offered; nor is anything while training runs
    _age(active, 2 * DAY)
    page.steps.setValue(1000)
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.continue_button.click()
        qtbot.waitUntil(lambda: len(page.plot.points["loss"]) >= 2, timeout=240_000)
        assert page.running == newest and not page.delete_runs_button.isEnabled()
        assert [r.folder for r in page.old_runs()] == [active]
        page.delete_old_runs()  # (were it clicked: nothing while training runs)
        assert active.exists()
        page.stop_button.click()
    assert (newest / "checkpoints" / "last.pt").is_file() and page.running is None
    assert page.old_runs_label.text() == f"Old runs: 1, {format_size(_size(_all_files(active)))}"


def test_the_run_in_progress_is_kept_even_when_its_files_look_old(tmp_path):
    """(Not the newest run.json, files unchanged for days: only being the run under way keeps it.)"""
    root = runs_root()
    for name, age in (("20200101-100000", 2 * DAY), ("20200102-100000", 0)):
        (root / name / "checkpoints").mkdir(parents=True)
        (root / name / "checkpoints" / "last.pt").write_bytes(b"x" * 1000)
        (root / name / "run.json").write_text(json.dumps({"config": {}, "finished": False}))
        _age(root / name, age)
    running = root / "20200101-100000"
    assert [r.folder for r in old_runs()] == [running]
    assert old_runs(running=running) == []


def test_a_run_that_cannot_be_deleted_is_one_line_and_the_others_go(window, qtbot, dialogs, monkeypatch):
    page = window.finetune
    root = runs_root()
    folders = []
    for i in range(3):
        folder = root / f"2020010{i + 1}-100000"
        (folder / "checkpoints").mkdir(parents=True)
        (folder / "checkpoints" / "last.pt").write_bytes(b"x" * 5000)
        (folder / "finetuned.pth").write_bytes(b"y" * 300)
        (folder / "run.json").write_text(json.dumps({"config": {}, "finished": True}))
        _age(folder, (3 - i) * DAY)
        folders.append(folder)
    held = folders[1] / "checkpoints" / "last.pt"  # as a file open in another program on Windows is
    unlink = Path.unlink

    def refuse(path, *args, **kwargs):
        if path == held:
            raise PermissionError(13, "Permission denied", str(path))
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", refuse)
    record = (folders[0] / "run.json").stat().st_size
    page.refresh_old_runs()
    assert page.old_runs_label.text() == f"Old runs: 3, {format_size(3 * (5300 + record))}"
    dialogs.answer = QMessageBox.StandardButton.Yes
    page.delete_runs_button.click()
    lines = page.status.text().splitlines()
    assert lines[0] == f"Deleted 2 old run(s), {format_size(2 * (5300 + record) + 300)} freed."
    assert len(lines) == 2 and lines[1].startswith(f"Could not delete {held} (Permission denied)")
    assert not folders[0].exists() and not folders[2].exists() and held.exists()
    # what is left of it is still an old run (its run.json, deleted last, says it finished)
    assert page.old_runs_label.text() == f"Old runs: 1, {format_size(5000 + record)}"
    monkeypatch.setattr(Path, "unlink", unlink)  # (closed in the other program)
    page.delete_runs_button.click()
    assert not folders[1].exists()
    assert page.status.text() == f"Deleted 1 old run(s), {format_size(5000 + record)} freed."


def test_weights_chosen_in_the_settings_dialog_before_ok_are_kept(window, dialogs, tiny_weights):
    root = runs_root()
    for name in ("20200101-100000", "20200102-100000"):
        (root / name / "checkpoints").mkdir(parents=True)
        (root / name / "checkpoints" / "last.pt").write_bytes(b"x" * 4000)
        (root / name / "finetuned.pth").write_bytes(b"y" * 100)
        (root / name / "run.json").write_text(json.dumps({"config": {}, "finished": True}))
    chosen = root / "20200101-100000" / "finetuned.pth"
    chosen.write_bytes(tiny_weights.read_bytes())  # (OK refuses a file that is no generator)
    d = window.show_settings()
    d.weights_edit.setText(str(chosen))  # (typed on the General page; OK not pressed yet)
    d.tabs.setCurrentWidget(window.finetune)
    runs = window.finetune.old_runs()
    assert [(r.folder.name, r.whole, r.size) for r in runs] == [("20200101-100000", False, 4000),
                                                                 ("20200102-100000", True, runs[1].size)]
    dialogs.answer = QMessageBox.StandardButton.Yes
    window.finetune.delete_runs_button.click()
    assert chosen.is_file() and not (root / "20200102-100000").exists()
    d.accept()
    assert window.settings.weights == str(chosen)
