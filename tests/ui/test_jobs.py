"""Worker jobs through the GUI: inpaint, preview, cancel, export, settings, fine-tune."""
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.core.masks import dilate
from app.core.video import open_video, probe
from uihelpers import square_mask, wait_exact


def paint_range(window, start, end):
    window.project.set_range(start, end)
    window.project.set_current(start)
    window.project.edit_mask(square_mask(), "range")


def inpainted(window, qtbot, clip, end: int):
    """``clip`` open, the square painted on frames 0..end-1 and inpainted there with the quick
    Telea fill: (project, controller)."""
    window.open_path(clip)
    paint_range(window, 0, end)
    p, c = window.project, window.controller
    p.set_engine_settings({**p.engine_settings, "fill": "telea"})
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.inpaint()
    return p, c


def test_inpaint_range_changes_only_masked_pixels(window, clip, qtbot):
    window.open_path(clip)
    paint_range(window, 2, 8)
    assert window.compare.mode == "original"
    jobs = window.controller.engine
    with qtbot.waitSignal(jobs.finished, timeout=120_000) as blocker:
        job = window.controller.inpaint()
        assert job is not None and jobs.busy
        assert not window.inpaint_action.isEnabled()  # one job at a time
    assert blocker.args[1] == {"start": 2, "end": 8, "fill": "propagate+sttn"}
    assert window.compare.mode == "side"  # the result is shown beside the original by itself
    assert window.project.results.indices() == list(range(2, 8))
    assert window.inpaint_action.isEnabled()
    window.project.set_current(5)
    shown = wait_exact(window, qtbot)
    original = window.project.reader[5]
    assert shown is not None and shown.shape == original.shape
    changed = np.any(shown != original, axis=2)
    allowed = dilate(square_mask(), window.controller.engine_config().dilate)
    assert changed.any()
    assert not (changed & ~allowed).any()
    # a frame outside the range has no result, and Inpaint would not give it one: the view says so
    window.project.set_current(0)
    assert window.result_view.result_rgb is None
    assert window.result_view.note == "Frame 0 is outside the in/out range (2..7): Export copies it unchanged."
    window.project.set_range(0, 8)  # in range now: no result yet
    assert "No result" in window.result_view.note
    window.project.set_range(2, 8)
    # painting again marks the result out of date; undoing the stroke makes it current again
    p, c = window.project, window.controller
    p.set_current(3)
    p.edit_mask(square_mask(box=(0, 0, 4, 4)) | square_mask(), "frame")
    assert p.result_outdated(3) and "changed" in window.result_view.note
    assert not c.result_is_current(c.engine_config())
    p.undo.undo()
    assert not p.result_outdated(3) and window.result_view.note == ""
    assert c.result_is_current(c.engine_config())


def test_preview_this_frame(window, clip, qtbot):
    window.open_path(clip)
    paint_range(window, 0, 12)
    window.project.set_current(6)
    window.compare.set_mode("split")
    with qtbot.waitSignal(window.controller.engine.finished, timeout=120_000):
        window.preview_action.trigger()
    assert window.project.results.indices() == [6]
    assert window.result_view.result_rgb is not None and window.result_view.split


def test_cancel_running_inpaint(window, make_clip, qtbot):
    window.open_path(make_clip(n=80, width=96, height=64, name="long.mp4"))
    paint_range(window, 0, 80)
    jobs = window.controller.engine
    seen = []
    jobs.progress.connect(lambda job, p: (seen.append(window.job_bar.label.text()), window.cancel_action.trigger()))
    with qtbot.waitSignal(jobs.cancelled, timeout=120_000):
        window.controller.inpaint()
        assert window.job_bar.isVisible() and window.cancel_action.isEnabled()
    assert seen and seen[0].startswith("Inpaint") and "/80" in seen[0] and "ETA" in seen[0]
    assert not jobs.busy and not window.job_bar.isVisible()
    assert len(window.project.results) < 80
    assert "cancelled" in window.statusBar().currentMessage()


def test_grow_set_back_makes_the_result_current_again_and_a_preview_updates_its_frame(window, clip, qtbot):
    """Out of date is worked out from what each frame was made from: setting Grow back, or Preview
    frame after a correction, makes that result current again (before, the note stayed for good
    and Export inpainted again)."""
    p, c = inpainted(window, qtbot, clip, 6)
    spin = window.segment.dilate_spin
    grow = spin.value()
    spin.setValue(grow + 4)
    assert p.results_outdated(0, 6) and "changed" in window.result_view.note
    spin.setValue(grow)
    assert not p.results_outdated(0, 6) and window.result_view.note == ""
    assert "re-encoded" in window.export_summary(False)
    p.set_current(2)
    p.edit_mask(square_mask(box=(70, 40, 90, 60)) | square_mask(), "frame")
    # (Telea fills each frame alone: frame 0's result read no other mask; app.core.reach)
    assert p.result_outdated(2) and not p.result_outdated(0)
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.preview()
    assert not p.result_outdated(2) and window.result_view.note == ""
    assert not p.result_outdated(0) and not c.result_is_current(c.engine_config())  # (frame 2: a preview)


def test_an_sttn_preview_is_out_of_date_when_a_reference_frames_mask_changes(window, make_clip, qtbot):
    """With fill 'sttn' Preview frame reads reference frames beyond the neighbours too (frames 20
    and 30 for frame 5: InpaintEngine.preview_frame), whose masks hide what they show: a
    correction there changes the preview (max 10 levels with the bundled weights), so the view
    must say it is out of date (before, it said nothing and Export re-encoded it)."""
    window.open_path(make_clip(n=40, width=96, height=64, name="long.mp4"))
    paint_range(window, 0, 40)
    p, c = window.project, window.controller
    p.set_engine_settings({**p.engine_settings, "fill": "sttn"})
    p.set_current(5)
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.preview()
    assert not p.result_outdated(5)
    p.set_current(20)
    p.edit_mask(square_mask(box=(50, 10, 90, 60)) | square_mask(), "frame")
    p.set_current(5)
    assert p.result_outdated(5) and "changed" in window.result_view.note
    p.undo.undo()
    assert not p.result_outdated(5)


def test_export_re_encodes_only_a_result_one_inpaint_made_over_the_whole_range(window, clip, qtbot):
    """Results are kept frame by frame now, so a range may hold frames from Preview frame (fewer
    reference frames) or from Inpaint runs over parts of it (blind to each other's frames): Export
    inpaints again then, and says why; one Inpaint over the range is re-encoded."""
    p, c = inpainted(window, qtbot, clip, 6)
    assert c.result_is_current(c.engine_config())
    p.set_current(3)
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.preview()
    assert not p.result_outdated(3) and not c.result_is_current(c.engine_config())
    assert window.export_summary(False).endswith(
        "Inpainting runs during the export for 1 of the 6 frames (part of the result shown comes from Preview frame, "
        "or from an Inpaint over another range); the others are taken from the computed result.")
    p.results.clear()  # (else Inpaint over a part keeps the frames the run over 0..5 gave it: still current)
    for a, b in ((0, 3), (3, 6)):
        p.set_range(a, b)
        with qtbot.waitSignal(c.engine.finished, timeout=60_000):
            c.inpaint()
    p.set_range(0, 6)
    assert p.results.covers(0, 6) and not p.results_outdated(0, 6) and not c.result_is_current(c.engine_config())
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.inpaint()
    assert c.result_is_current(c.engine_config()) and "re-encoded" in window.export_summary(False)


def test_a_cancelled_inpaint_keeps_the_earlier_result_where_it_did_not_reach(window, make_clip, qtbot):
    """Inpaint again and cancel: the frames done are new, the others keep the earlier result (out
    of date where the masks changed) instead of losing it; the status bar says how many are new."""
    p, c = inpainted(window, qtbot, make_clip(n=40, width=96, height=64, name="long.mp4"), 40)
    first = {i: p.results.get(i) for i in range(40)}
    p.set_current(0)
    p.edit_mask(square_mask(box=(60, 30, 80, 50)) | square_mask(), "range")
    c.engine.progress.connect(lambda job, pr: pr.done >= 5 and c.cancel())
    with qtbot.waitSignal(c.engine.cancelled, timeout=60_000):
        c.inpaint()
    assert p.results.covers(0, 40)  # nothing lost
    new = [i for i in range(40) if not np.array_equal(p.results.get(i), first[i])]
    assert new and new == list(range(len(new))) and len(new) < 40
    assert all(not p.result_outdated(i) for i in new) and all(p.result_outdated(i) for i in range(len(new), 40))
    msg = window.statusBar().currentMessage()
    assert msg.startswith(f"Inpaint cancelled after {len(new)} of 40 frames"), msg


def test_a_change_made_before_the_first_inpainted_frame_lands_marks_the_result_out_of_date(
        window, clip, qtbot, monkeypatch):
    """Inpaint works on a copy of the masks: a correction made (or Grow changed) while the job is
    still loading, before any frame came back, leaves the result out of date; the view says so and
    Export inpaints again instead of re-encoding a result without the correction."""
    from app.ui import workers

    fill_range = workers.fill_range

    def slow_start(*args, **kw):
        time.sleep(0.5)
        return fill_range(*args, **kw)

    monkeypatch.setattr(workers, "fill_range", slow_start)
    window.open_path(clip)
    paint_range(window, 0, 4)
    p, c = window.project, window.controller
    p.set_engine_settings({**p.engine_settings, "fill": "telea"})
    for change in ("mask", "grow"):
        with qtbot.waitSignal(c.engine.finished, timeout=60_000):
            job = c.inpaint()
            assert not any(p.results.made(i) is job.data["made"] for i in range(4))  # none of its frames yet
            if change == "mask":
                p.edit_mask(square_mask(box=(60, 30, 90, 60)) | square_mask(), "frame")
            else:
                window.segment.dilate_spin.setValue(window.segment.dilate_spin.value() + 4)
        assert p.results.covers(0, 4) and p.results_outdated(0, 4), change
        assert "changed" in window.result_view.note
        assert not c.result_is_current(c.engine_config())
        assert "Inpainting runs during the export" in window.export_summary(False)
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.inpaint()  # nothing changed meanwhile: up to date
    assert not p.results_outdated(0, 4) and c.result_is_current(c.engine_config())


def test_export_copies_the_frames_outside_the_range_even_where_a_result_was_computed(window, clip, qtbot, tmp_path):
    """A frame previewed outside the in/out range, or left from a wider range, is not exported: the
    export re-encodes the result of the range and copies the other frames, as its summary says."""
    window.open_path(clip)
    paint_range(window, 0, 12)
    p, c = window.project, window.controller
    p.set_engine_settings({**p.engine_settings, "fill": "telea"})
    p.set_range(0, 8)
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.inpaint()
    p.set_current(10)
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.preview()
    assert p.results.indices() == [*range(8), 10]
    p.set_range(0, 4)
    dialog = window.export_dialog_show()
    assert dialog.summary.text().startswith("Frames 0..3 are inpainted, the others copied. The computed result")
    out = tmp_path / "out.mp4"
    dialog.path_edit.setText(str(out))
    with qtbot.waitSignal(c.exportFinished, timeout=60_000):
        dialog.export_button.click()
    dialog.close()
    with open_video(out) as r, open_video(clip) as src:
        inside = [np.abs(r[i].astype(int) - src[i].astype(int))[square_mask()].mean() for i in range(12)]
    assert min(inside[:4]) > 10 and max(inside[4:]) < 4, inside


def test_export_dialog_starts_from_the_projects_crop_setting_and_says_what_export_does(window, clip, qtbot):
    """With Settings > Engine > Crop around mask on, the result is computed that way: the dialog's
    full-resolution box starts ticked, so Export re-encodes it as the summary says; unticking it
    says that Export inpaints again, and why."""
    window.open_path(clip)
    paint_range(window, 0, 6)
    p, c = window.project, window.controller
    p.set_engine_settings({**p.engine_settings, "fill": "telea", "crop_to_mask": True})
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.inpaint()
    dialog = window.export_dialog_show()
    assert dialog.full_res.isChecked() and "re-encoded" in dialog.summary.text()
    assert c.result_is_current(c.engine_config(crop_to_mask=dialog.options().full_res))
    dialog.full_res.setChecked(False)
    assert dialog.summary.text().endswith(
        "Inpainting runs during the export (the result shown was computed with the other paste-back setting).")
    dialog.close()


def test_errors_from_jobs_reach_a_dialog(window, clip, qtbot, dialogs, tmp_path):
    window.open_path(clip)
    paint_range(window, 0, 4)
    window.settings.weights = str(tmp_path / "missing.pth")
    with qtbot.waitSignal(window.controller.engine.failed, timeout=30_000):
        window.controller.inpaint()
    assert dialogs[-1][0] == "critical" and "missing.pth" in dialogs[-1][1]
    dialogs.clear()
    window.project.clear_masks("range")
    assert window.controller.inpaint() is None and "mask" in window.notice.text() and dialogs == []


def test_without_weights_the_classic_fill_runs(window, clip, qtbot, no_bundled_weights):
    window.settings.weights = ""  # nothing bundled in the tree: fill 'auto' falls back to propagation + Telea
    window.open_path(clip)
    paint_range(window, 0, 6)
    with qtbot.waitSignal(window.controller.engine.finished, timeout=120_000) as blocker:
        window.controller.inpaint()
    assert blocker.args[1]["fill"] == "propagate+telea"
    assert window.project.results.indices() == list(range(6))


def test_fill_mode_from_settings_reaches_the_engine(window, clip, qtbot):
    window.open_path(clip)
    paint_range(window, 0, 4)
    window.project.set_engine_settings({**window.project.engine_settings, "fill": "sttn"})
    with qtbot.waitSignal(window.controller.engine.finished, timeout=120_000) as blocker:
        window.controller.inpaint()
    assert blocker.args[1]["fill"] == "sttn"


@pytest.mark.parametrize("computed", [True, False], ids=["re-encode-result", "inpaint-while-exporting"])
def test_export_keeps_frames_size_and_audio(window, clip, qtbot, tmp_path, computed):
    window.open_path(clip)
    paint_range(window, 3, 9)
    jobs = window.controller.engine
    if computed:
        with qtbot.waitSignal(jobs.finished, timeout=120_000):
            window.controller.inpaint()
        assert window.controller.result_is_current(window.controller.engine_config())
    dialog = window.export_dialog_show()
    assert ("re-encoded" in dialog.summary.text()) == computed
    out = tmp_path / "out.mp4"
    dialog.path_edit.setText(str(out))
    dialog.crf.setValue(20)
    with qtbot.waitSignal(window.controller.exportFinished, timeout=120_000):
        dialog.export_button.click()
        assert dialog.running
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    info = probe(out)
    assert (info["frames"], info["width"], info["height"], info["has_audio"]) == (12, 96, 64, True)
    assert "Wrote" in dialog.status.text()
    with open_video(out) as r, open_video(clip) as src:
        outside = np.abs(r[0].astype(int) - src[0].astype(int)).mean()
        inside = np.abs(r[5].astype(int) - src[5].astype(int))[square_mask()].mean()
    assert outside < 4 and inside > outside  # untouched frames stay, masked pixels changed
    assert window.settings.crf == 20
    dialog.close()


def test_settings_persist_across_restart(qtbot, window, settings, dialogs):
    from app.ui.appsettings import AppSettings
    from app.ui.main_window import MainWindow

    d = window.show_settings()
    d.device.setCurrentIndex(d.device.findData("cpu"))
    d.engine_widgets["neighbor_radius"].setValue(3)
    d.engine_widgets["crop_to_mask"].setChecked(True)
    d.sam_edit.setText("/models/sam_vit_b.pth")
    d.accept()
    assert window.project.engine_settings["neighbor_radius"] == 3
    window.close()

    QSettings().sync()
    again = MainWindow(AppSettings())  # a fresh QSettings reads the ini file back
    qtbot.addWidget(again)
    assert again.settings.device == "cpu"
    assert again.settings.sam_checkpoint == "/models/sam_vit_b.pth"
    assert again.settings.engine()["neighbor_radius"] == 3
    assert again.settings.engine()["crop_to_mask"] is True
    d2 = again.show_settings()
    assert d2.engine_widgets["neighbor_radius"].value() == 3
    assert "Device: CPU" in again.status.device.text()
    d2.close()
    again.close()


@pytest.fixture
def finetune_page(window, make_clip, tmp_path):
    """The fine-tune page with a one-clip footage folder chosen."""
    footage = tmp_path / "footage"
    footage.mkdir()
    make_clip(n=10, width=96, height=64, name="footage/a.mp4")
    window.finetune.footage.setText(str(footage))
    return window.finetune


def test_finetune_page_trains_plots_and_uses_weights(window, finetune_page, qtbot):
    page = finetune_page
    page.steps.setValue(2)
    jobs = window.controller.training
    with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
        page.start_button.click()
        assert not page.start_button.isEnabled() and page.stop_button.isEnabled()
    result = blocker.args[1]
    assert result["step"] == 2 and result["output"].exists()
    assert page.plot.points["loss"] and page.plot.points["val_psnr"]
    assert page.use_button.isEnabled()
    page.use_button.click()
    assert window.settings.weights == str(result["output"])
    assert window.status.weights.text().startswith("Weights: fine-tuned 20")  # (named by its run)
    assert not page.use_button.isEnabled()  # (in use: a second press did nothing)
    window.settings.weights = ""  # (the General page back to the bundled weights)
    page.refresh_source()
    assert page.use_button.isEnabled()
    page.plot.grab()  # paints without error


def test_settings_dialog_shows_weights_chosen_elsewhere(window, tmp_path):
    d = window.show_settings()
    d.close()
    window.settings.weights = str(tmp_path / "finetuned.pth")  # e.g. 'Use these weights'
    d = window.show_settings()
    assert d.weights_edit.text().endswith("finetuned.pth") and d.weights_file.isChecked()
    d.close()


def test_engine_settings_form_round_trips_every_field(window, dialogs):
    from app.core.engine import EngineConfig

    d = window.show_settings()
    d.engine_widgets["window_step"].setValue(3)
    d.engine_widgets["fill"].setCurrentIndex(d.engine_widgets["fill"].findData("telea"))
    values = d.engine_values()
    assert values["window_step"] == 3 and values["fill"] == "telea"
    EngineConfig.from_dict(values)  # what the form produces is a valid config
    d.engine_widgets["window_step"].setValue(0)
    assert d.engine_values()["window_step"] is None  # "Auto"
    d.engine_widgets["window_step"].setValue(99)  # invalid: a warning, the dialog stays open
    d.accept()
    assert dialogs[-1][0] == "warning" and d.isVisible()
    d.close()


def test_finetune_stop_keeps_what_was_learned(window, finetune_page, qtbot):
    page = finetune_page
    page.steps.setValue(1000)
    jobs = window.controller.training
    jobs.progress.connect(lambda job, p: page.stop_button.click() if p.done >= 1 else None)
    with qtbot.waitSignal(jobs.finished, timeout=240_000) as blocker:
        page.start_button.click()
    result = blocker.args[1]
    assert result["stopped"] and 1 <= result["step"] < 1000 and result["output"].exists()
    assert "Stopped at step" in page.status.text() and page.use_button.isEnabled()


def wait_for_cancel(host, progress, cancel):
    """A job that runs until it is cancelled."""
    while True:
        cancel.check()
        time.sleep(0.01)


def test_a_job_bar_is_not_drawn_over_a_status_message(window, clip, qtbot):
    """A status line shown just before a job starts ("Kept: ... Track through range") was painted
    across the job bar's label and progress; it is out of date once the job runs: the job's bar
    replaces it."""
    window.open_path(clip)
    jobs = window.controller.engine
    window.statusBar().showMessage("Kept: Shift+click another object to add it, or Track through range", 8000)
    with qtbot.waitSignal(jobs.cancelled, timeout=10_000):
        jobs.submit("Track", wait_for_cancel)
        assert window.job_bar.isVisible() and window.statusBar().currentMessage() == ""
        window.cancel_action.trigger()


def test_a_job_ends_on_the_gui_thread(qtbot):
    """``busy`` turns False on the GUI thread, with the finished signal: it ended on the worker
    (a lambda connected to the worker's signal runs there), so for a moment the job was over for
    ``busy`` (a new one could start) while its result had not arrived."""
    import threading
    import time

    from app.ui.workers import JobThread

    jobs = JobThread("test")
    ran = threading.Event()
    with qtbot.waitSignal(jobs.finished, timeout=10_000):
        jobs.submit("Quick", lambda host, progress, cancel: ran.set())
        assert ran.wait(10)
        time.sleep(0.1)  # the worker has long returned
        ended_early = not jobs.busy
    assert jobs.shutdown()
    assert not ended_early and not jobs.busy


def test_a_status_message_during_a_job_leaves_its_bar_and_cancel_visible(window, clip, qtbot):
    """A message shown while a job runs (a click answered during tracking, "Segmenting…") hid
    the job bar and its Cancel button for the message's 8 s: the bar stays, beside the message."""
    window.open_path(clip)
    jobs = window.controller.engine
    with qtbot.waitSignal(jobs.cancelled, timeout=10_000):
        jobs.submit("Track", wait_for_cancel)
        qtbot.waitUntil(window.job_bar.isVisible, timeout=5_000)
        window.controller.message.emit("Segmenting…")
        assert window.statusBar().currentMessage() == "Segmenting…"
        assert window.job_bar.isVisible() and window.job_bar.cancel_button.isVisible()
        window.statusBar().showMessage("Opening cancelled.", 5000)
        assert window.job_bar.cancel_button.isVisible()
        window.job_bar.cancel_button.click()
    assert not window.job_bar.isVisible()


def test_closing_the_window_while_a_job_runs_asks_first(window, clip, qtbot, dialogs):
    """Closing stopped a running export or track without a word (with nothing unsaved): now it
    asks; No keeps the window and the job, Yes stops the job and closes."""
    window.open_path(clip)
    jobs = window.controller.engine
    jobs.submit("Export", wait_for_cancel)
    dialogs.answer = QMessageBox.StandardButton.No
    assert not window.close()
    assert dialogs[-1] == ("question", "Export is still running. Stop and close the window?")
    assert jobs.busy and window.isVisible()
    dialogs.answer = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(jobs.cancelled, timeout=10_000):
        assert window.close()
    assert not jobs.busy
    dialogs.answer = QMessageBox.StandardButton.Discard


def test_a_silent_clip_does_not_turn_the_audio_setting_off(window, make_clip, qtbot, tmp_path, monkeypatch):
    """The audio box is greyed out for a clip without sound; exporting one saved its unticked
    state, so the next clip with sound was exported silent."""
    window.settings.keep_audio = True
    monkeypatch.setattr(window.controller, "export", lambda options: None)
    window.open_path(make_clip(n=4, audio=False, name="silent.mp4"))
    dialog = window.export_dialog_show()
    assert not dialog.keep_audio.isEnabled()
    dialog.export_button.click()
    dialog.close()
    assert window.settings.keep_audio
    window.open_path(make_clip(n=4, audio=True, name="loud.mp4"))
    dialog = window.export_dialog_show()
    assert dialog.keep_audio.isEnabled() and dialog.keep_audio.isChecked()
    dialog.keep_audio.setChecked(False)  # a choice made where it applies is kept
    dialog.export_button.click()
    dialog.close()
    assert not window.settings.keep_audio


def test_the_job_bar_does_not_say_a_jobs_name_twice(window):
    """Track reports its stage as "tracking": the bar said "Track (tracking): 3/10"."""
    from app.core.jobs import Progress
    from app.ui.workers import Job

    jobs = window.controller.engine
    for name, stage, words in (("Track", "tracking", "Track: 3/10"), ("Inpaint", "inpaint", "Inpaint: 3/10"),
                               ("Export", "copy", "Export (copy): 3/10")):
        jobs.progress.emit(Job(name, lambda *_: None), Progress(3, 10, stage, 1.0))
        assert window.job_bar.label.text().startswith(words + " · ETA"), window.job_bar.label.text()


def test_an_inpaint_cancelled_before_its_first_frame_says_nothing_changed(window, make_clip, qtbot):
    """The paraglider's 70 frames with the propagation fill, cancelled while it computed its first
    chunk: "Inpaint cancelled after 0 of 70 frames: those are kept; the other frames keep what an
    earlier Inpaint gave them, if anything." There were none to keep: it says nothing changed."""
    p, c = inpainted(window, qtbot, make_clip(n=12, width=96, height=64, name="short.mp4"), 12)
    first = {i: p.results.get(i) for i in range(12)}
    p.edit_mask(square_mask(box=(60, 30, 80, 50)) | square_mask(), "range")
    c.engine.started.connect(lambda job: c.cancel())  # (before any frame is done)
    with qtbot.waitSignal(c.engine.cancelled, timeout=60_000):
        c.inpaint()
    assert all(np.array_equal(p.results.get(i), first[i]) for i in range(12))
    msg = window.statusBar().currentMessage()
    assert msg == "Inpaint cancelled before any of its 12 frames was done: nothing changed.", msg

