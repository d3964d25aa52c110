"""The watermark path a new user walks (running_car.mp4 in the GUI, h116): paint a logo on one frame,
set a short range, Inpaint, compare, export. Each docstring says what the user met before the fix."""
from uihelpers import square_mask, until_cancelled


def test_one_masked_frame_outside_the_range_is_named_as_one_in_the_export_dialog(window, clip):
    """A logo painted on frame 10 before the range was narrowed to 0..4: the export dialog said
    "Frames 10, outside the in/out range, have masks too: they are copied with what the masks cover
    still in them"."""
    window.open_path(clip)
    p = window.project
    p.set_current(10)
    p.edit_mask(square_mask(), "frame")
    p.set_range(0, 5)
    d = window.export_dialog_show()
    assert d.summary.text() == (
        "No frame of 0..4 has a mask: the export is the video as it is. Frame 10, outside the in/out range, has a "
        "mask: it is copied with what the mask covers still in it; widen the range (I and O set its ends) to inpaint it.")
    d.close()
    p.set_current(2)
    p.edit_mask(square_mask(), "frame")
    d = window.export_dialog_show()
    assert ("Frame 10, outside the in/out range, has a mask too: it is copied with what the mask covers still in "
            "it; widen the range (I and O set its ends) to inpaint it.") in d.summary.text()
    d.close()
    p.set_current(9)
    p.edit_mask(square_mask(), "frame")
    d = window.export_dialog_show()
    assert "Frames 9..10, outside the in/out range, have masks too: they are copied" in d.summary.text()
    d.close()


def test_inpaint_with_masks_only_outside_the_range_names_them_and_how_to_take_them_in(window, clip, qtbot, dialogs):
    """A logo painted on frame 10, then the range set to 0..4 to try a few frames: Inpaint said "No
    frame in the range has a mask; paint what should go (B), ...", to someone who had painted it."""
    from PySide6.QtCore import Qt

    window.open_path(clip)
    p = window.project
    p.set_current(10)
    p.edit_mask(square_mask(), "frame")
    p.set_range(0, 5)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.notice.text() == (
        "No frame of the in/out range (0..4) has a mask; frame 10, outside it, has one: widen the range (I and O set "
        "its ends at the current frame) to inpaint it, or paint what should go (B) on a frame inside it.")
    assert not window.controller.engine.busy and dialogs == []
    p.set_current(8)
    p.edit_mask(square_mask(), "frame")
    window.controller.inpaint()
    assert window.notice.text().startswith("No frame of the in/out range (0..4) has a mask; frames 8, 10, outside "
                                           "it, have masks: widen the range")
    p.undo.undo()
    p.undo.undo()
    window.controller.inpaint()  # (no mask anywhere: as before)
    assert window.notice.text().startswith("No frame in the range has a mask; paint what should go (B)")


def test_the_split_hint_goes_when_the_view_leaves_split(window, clip):
    """After a look in Split slider, Side by side (2) kept "Split slider: a click or drag moves the
    split; ..." in the status bar for its 8 s, over the two panes it no longer described."""
    window.open_path(clip)
    bar = window.statusBar()
    window.compare.set_mode("split")
    assert bar.currentMessage().startswith("Split slider: a click or drag moves the split;")
    window.compare.set_mode("side")
    assert bar.currentMessage() == ""
    window.compare.set_mode("split")
    window.messages.show("Inpainted frames 0..4.")  # (a message said since stays)
    window.compare.set_mode("original")
    assert bar.currentMessage() == "Inpainted frames 0..4."


def test_undoing_an_imported_mask_says_so_in_place_of_the_import_message(window, clip, tmp_path):
    """running_car_mask_square.png imported, then Ctrl+Z: the status bar went on saying "… is now the mask
    of every frame; Ctrl+Z undoes it." for its 8 s over a video with no mask left."""
    import cv2
    import numpy as np

    window.open_path(clip)
    png = tmp_path / "logo.png"
    cv2.imwrite(str(png), square_mask().astype(np.uint8) * 255)
    assert window._import(str(png))
    bar = window.statusBar()
    assert bar.currentMessage() == "logo.png is now the mask of every frame; Ctrl+Z undoes it."
    window.undo_action.trigger()
    assert window.project.masks.masked_frames() == []
    assert bar.currentMessage() == "Undone: Import masks from logo.png (Ctrl+Shift+Z redoes it)."
    window.redo_action.trigger()
    assert len(window.project.masks.masked_frames()) == window.project.n_frames
    window.messages.show("Opened something else.")  # (a message that names no step is left as it is)
    window.undo_action.trigger()
    assert bar.currentMessage() == "Opened something else."


TRACKED = ("Tracked 14 frames from keyframe 105, frames 100..114; check the 2 flagged frame(s) (G goes to the next), "
           "then Inpaint range (Ctrl+Enter). Grow 8 px (beside Track; now 4) takes a moving object's blurred edges "
           "and shadow too.")


def test_a_long_message_takes_the_fields_room_while_it_shows(window, clip, qtbot):
    """At 1440 px wide, Track first's message (running_car.mp4, the logo tracked through 100..114) ended
    "... then Inpaint range (Ctrl+Enter). Gro…" beside Device, Weights and Memory, and at 1280 px it
    lost "then Inpaint range (Ctrl+Enter)", the step to take next. The fields give it their room while
    it shows and come back with the next message that fits; a warning leaves them, a job's bar stays."""
    from app.ui.statusbar import message_rect

    window.open_path(clip)
    window.resize(1440, 800)
    qtbot.waitUntil(lambda: window.width() == 1440)
    bar, fields = window.statusBar(), window.status.fields
    width = bar.fontMetrics().horizontalAdvance
    window.messages.show(TRACKED)
    assert not any(f.isVisible() for f in fields)
    assert width(TRACKED) <= message_rect(bar).width()  # (whole: no "…")
    window.messages.show("Inpainted frames 100..114.")
    assert all(f.isVisible() for f in fields) and window.status.device.text().startswith("Device: ")
    window.messages.warn("Frames 120..135 are damaged. " * 8)  # (a warning's × is placed by the fields' room)
    assert all(f.isVisible() for f in fields)
    bar.dismiss()
    engine = window.controller.engine
    engine.submit("Inpaint", until_cancelled)
    qtbot.waitUntil(lambda: window.job_bar.isVisible())
    window.messages.show(TRACKED)
    assert window.job_bar.isVisible() and not any(f.isVisible() for f in fields)
    with qtbot.waitSignal(engine.busyChanged, timeout=10_000):
        window.controller.cancel()


def test_every_frame_then_inpaint_says_so_once_the_run_has_started(window, clip, qtbot, monkeypatch):
    """A logo painted on one frame of 0..11 alone, Inpaint, "Every frame, then Inpaint": the message
    "The mask of frame 5 is now on every frame of 0..11 as well as theirs; Ctrl+Z undoes it." was
    said and wiped at once, as the job bar cleared the bar when the run started."""
    window.open_path(clip)
    p = window.project
    p.set_engine_settings({**p.engine_settings, "fill": "telea"})
    p.set_current(5)
    p.edit_mask(square_mask(), "frame")
    monkeypatch.setattr(window, "_ask", lambda text, *choices: choices.index("Every frame, then Inpaint"))
    engine, bar = window.controller.engine, window.statusBar()
    said = "The mask of frame 5 is now on every frame of 0..11 as well as theirs; Ctrl+Z undoes it."
    seen = []  # (each message the bar shows from the run's start to its end)
    engine.started.connect(lambda _: bar.messageChanged.connect(seen.append))
    job = window.inpaint()
    assert job is not None and len(p.masks.masked_frames()) == p.n_frames
    qtbot.waitUntil(lambda: not engine.busy, timeout=60_000)
    assert said in seen, seen


def test_a_refusal_notice_goes_when_the_run_it_asked_for_starts(window, clip, qtbot):
    """Inpaint refused ("No frame of the in/out range (0..4) has a mask; frame 10, ..."), the logo
    painted on frame 2, Inpaint again: the refusal stayed over the picture for its reading time (13 s)
    while the run it had asked for went on. A notice shown while the run goes on stays."""
    window.open_path(clip)
    p = window.project
    p.set_engine_settings({**p.engine_settings, "fill": "telea"})
    p.set_current(10)
    p.edit_mask(square_mask(), "range")
    p.set_range(0, 5)
    p.clear_masks("range")
    window.inpaint()
    assert window.notice.text().startswith("No frame of the in/out range (0..4) has a mask")
    p.set_current(2)
    p.edit_mask(square_mask(), "range")
    engine = window.controller.engine
    engine.submit("Inpaint", until_cancelled)
    assert not window.notice.isVisible()
    assert not window.open_path(clip) and window.notice.text().startswith("Inpaint is still running")
    window.notice.show_last()  # (held by Ctrl+Shift+N: stays until Esc, × or a click)
    window.controller.cancel()
    qtbot.waitUntil(lambda: not engine.busy, timeout=10_000)
    assert window.controller.inpaint() is not None
    assert window.notice.text().startswith("Inpaint is still running")
    qtbot.waitUntil(lambda: not engine.busy, timeout=60_000)


def test_an_export_that_inpaints_as_it_writes_counts_what_it_encodes_as_encoding(window, qtbot, tmp_path):
    """running_car.mp4, the logo on 100..114, Export with no result yet: the job bar said "Export:
    Inpainting… 175/191", 191 being the frames the keyframes around the range hold, all encoded again,
    of which 15 were inpainted. It says "Encoding (inpainting 15 frames)… 175/191"."""
    from app.core.video import write_test_clip
    from test_audit_results import export, paint
    from test_export_copy import GOP10, panning

    window.open_path(write_test_clip(tmp_path / "clip.mp4", panning(40, 96, 64), codec_options=GOP10))
    window.settings.copy_unchanged = True
    paint(window, 12, 15)  # (3 frames of the GOP 10..19: its 10 frames are encoded again)
    label = window.job_bar.label
    words = []
    window.controller.engine.progress.connect(lambda *_: words.append(label.text()))
    export(window, qtbot, tmp_path / "out.mp4")
    writing = [w for w in words if w.startswith("Export: Encoding (inpainting 3 frames)… ")]
    assert writing and writing[-1].startswith("Export: Encoding (inpainting 3 frames)… 10/10"), words
    assert not any("Inpainting…" in w for w in words), words
