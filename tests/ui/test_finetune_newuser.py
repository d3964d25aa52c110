"""The fine-tune page as a new user walks it: Use these weights then OK keeps the new weights,
the wait while validating says what is going on, short runs do not validate after every step,
a Continue with Steps below the run's step keeps the run, and weights gone or a data folder that
cannot be written are one line naming the window's settings, not the command line's options; the
page names its starting weights, after a restart shows the run Continue carries on, and a full
disk says whether Continue or Start goes on once there is room."""
from app.ui.dialogs.finetune import unfinished_run


def _stopped_run(page, jobs, qtbot, steps=1000):
    page.steps.setValue(steps)

    def press_stop(job, p):
        if p.stage == "train" and p.done >= 2 and not job.cancel.cancelled:
            page.stop_button.click()

    jobs.progress.connect(press_stop)
    with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
        page.start_button.click()
    jobs.progress.disconnect(press_stop)
    return blocker.args[1]


def test_use_these_weights_then_ok_keeps_the_new_weights(window, make_clip, qtbot, settings):
    page, jobs = window.finetune, window.controller.training
    dialog = window.show_settings()
    dialog.tabs.setCurrentWidget(page)
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(1)
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.start_button.click()
    page.use_button.click()
    assert dialog.weights_file.isChecked() and dialog.weights_edit.text() == str(page.output)  # the General page shows it
    dialog.accept()  # OK: the dialog's General page must not put the weights it showed before back
    assert settings.weights == str(page.output)
    assert window.status.weights.text().startswith("Weights: fine-tuned 20")  # (named by its run)


def test_validation_says_what_it_does_and_short_runs_do_not_validate_every_step(window, make_clip, qtbot):
    page, jobs = window.finetune, window.controller.training
    for i in range(3):
        make_clip(n=10, width=96, height=64, name=f"clip{i}.mp4")
    page.footage.setText(str(make_clip(n=10, width=96, height=64).parent))
    page.steps.setValue(12)
    assert page.make_config().val_every >= 10  # (each validation inpaints every clip: on a CPU, a minute)
    shown = []
    jobs.progress.connect(lambda job, p: shown.append(page.status.text()))
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.start_button.click()
    validating = [t for t in shown if t.startswith("Validating")]
    assert validating and not any("Reading" in t for t in validating)
    assert any("clip 4 of 4" in t and "step 0" in t for t in validating), validating
    assert not any(t.startswith("Reading") for t in shown[shown.index(validating[0]):])  # no stale "Reading…"


def test_continue_with_steps_below_the_run_keeps_the_run(window, make_clip, qtbot):
    page, jobs = window.finetune, window.controller.training
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    step = _stopped_run(page, jobs, qtbot)["step"]
    page.steps.setValue(1)
    page.continue_button.click()
    qtbot.waitUntil(lambda: not jobs.busy, timeout=240_000)
    text = page.status.text()
    assert f"step {step}" in text and "Steps" in text and "\n" not in text, text
    run = unfinished_run()
    assert run is not None and run.checkpoint_path.exists()  # still there to continue
    assert page.continue_button.isEnabled()


def test_missing_weights_and_an_unusable_data_folder_say_what_to_do_in_the_window(window, make_clip, settings, tmp_path,
                                                                                   monkeypatch):
    page = window.finetune
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    settings.weights = str(tmp_path / "gone.pth")
    page.start_button.click()
    text = page.status.text()
    assert "does not exist" in text and "Settings > General" in text and "--" not in text, text
    assert not window.controller.training.busy

    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("STTN_INPAINT_DATA", str(tmp_path / "afile" / "data"))
    settings.weights = ""
    page.start_button.click()
    text = page.status.text()
    assert "afile" in text and "--" not in text and "\n" not in text, text
    assert not window.controller.training.busy


def test_a_file_in_the_place_of_the_runs_folder_is_named_with_what_to_do(window, make_clip, monkeypatch, tmp_path):
    """A file where the data folder's finetune folder goes said "(File exists): free space there or
    make it writable", neither of which helps."""
    page = window.finetune
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    for data, file in ((tmp_path / "data", tmp_path / "data" / "finetune"), (tmp_path / "f" / "data", tmp_path / "f")):
        monkeypatch.setenv("STTN_INPAINT_DATA", str(data))
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("not a folder")
        page.start_button.click()
        text = page.status.text()
        assert f"{file} is a file, not a folder; move or rename it" in text and "free space" not in text, text
        assert not window.controller.training.busy


def test_the_page_names_the_weights_it_starts_from_and_says_a_cpu_step_is_slow(window, make_clip, qtbot, settings,
                                                                                 tiny_weights):
    page, jobs = window.finetune, window.controller.training
    dialog = window.show_settings()
    dialog.tabs.setCurrentWidget(page)
    assert page.source.text().startswith("tiny.pth (chosen on the General page")
    assert "CPU" in page.steps_hint.text() and page.steps_hint.isVisible()  # (settings.device is "cpu")
    # the placeholder is read whole at the dialog's smallest width
    dialog.resize(dialog.minimumSizeHint())
    qtbot.wait(10)
    fits = page.footage.fontMetrics().horizontalAdvance(page.footage.placeholderText()) + 16
    assert fits <= page.footage.width(), (fits, page.footage.width())
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(1)
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.start_button.click()
        # what a run started with cannot be changed under it
        assert not any(w.isEnabled() for w in (page.footage, page.steps, page.lr, *page.browse_buttons))
    assert all(w.isEnabled() for w in (page.footage, page.steps, page.lr, *page.browse_buttons))
    page.use_button.click()
    assert page.source.text().startswith("fine-tuned 20") and "(chosen" in page.source.text()
    dialog.weights_edit.setText(str(tiny_weights.parent / "moved.pth"))  # (what the General page shows counts)
    page.refresh_source()
    assert "missing" in page.source.text()


def test_after_a_restart_the_page_shows_the_run_continue_carries_on(window, make_clip, qtbot, settings):
    from app.ui.dialogs.finetune import FinetunePage
    from app.ui.workers import JobThread

    page, jobs = window.finetune, window.controller.training
    clip = make_clip(n=10, width=96, height=64)
    page.footage.setText(str(clip))
    page.lr.setValue(2e-5)
    step = _stopped_run(page, jobs, qtbot, steps=8)["step"]
    again_jobs = JobThread("training")
    try:
        again = FinetunePage(again_jobs, settings)  # the next start of the program
        qtbot.addWidget(again)
        assert again.continue_button.isEnabled()
        assert again.footage.text() == str(clip) and again.steps.value() == 8 and again.lr.value() == 2e-5
        assert "Continue" in again.status.text()
        with qtbot.waitSignal(again_jobs.finished, timeout=240_000) as blocker:
            again.continue_button.click()
        assert blocker.args[1]["step"] == 8 > step  # the run's own Steps, not the default 500
    finally:
        again_jobs.shutdown()


def test_a_full_disk_says_what_to_press(window, make_clip, qtbot, monkeypatch):
    import torch

    page, jobs = window.finetune, window.controller.training
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(2)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as disk:  # (its own context: the fixtures' user data folder stays in tmp)
        disk.setattr(torch, "save", full)  # (every checkpoint: nothing of the run is kept)
        with qtbot.waitSignal(jobs.failed, timeout=240_000):
            page.start_button.click()
    text = page.status.text()
    assert "No space left" in text and "press Start again" in text and "resume" not in text, text
    assert not page.continue_button.isEnabled()

    step = _stopped_run(page, jobs, qtbot)["step"]  # a run with a checkpoint: Continue carries it on
    monkeypatch.setattr(torch, "save", full)
    page.steps.setValue(step + 1)
    with qtbot.waitSignal(jobs.failed, timeout=240_000):
        page.continue_button.click()
    text = page.status.text()
    assert "No space left" in text and "then press Continue." in text and "resume" not in text, text
    assert page.continue_button.isEnabled()
