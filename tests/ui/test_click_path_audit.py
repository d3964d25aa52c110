"""Click, track, inpaint, export as a new user walks it, driven through the real window: the steps
a user meets in the wrong order: Inpaint, Preview or Export with the object still in cyan, Inpaint
before Track. Each docstring says what went wrong before the fix."""
import pytest
from PySide6.QtCore import Qt

from test_segment_tool import H, N, W, click, disc_centre, disc_mask, select_and_commit
from test_segment_tool import disc_clip  # noqa: F401 - the clip (a fixture)

CTRL = Qt.KeyboardModifier.ControlModifier


def asked(window, monkeypatch, answer: str) -> list:
    """Record the window's questions with buttons (``_ask``) and press ``answer``."""
    questions = []

    def ask(text, *choices):
        questions.append(text)
        return choices.index(answer)

    monkeypatch.setattr(window, "_ask", ask)
    return questions


def test_inpaint_or_preview_with_the_selection_still_in_cyan_says_to_keep_it(window, disc_clip, qtbot, dialogs):
    """A user who clicked the object and pressed Ctrl+Enter (or Ctrl+P) while it showed in cyan was told
    "No frame in the range has a mask; paint what should go first", looking at the object selected."""
    window.open_path(disc_clip)
    p = window.project
    window.tools.set_tool("segment")
    click(qtbot, window, *disc_centre(0))
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)
    assert window.notice.text() == ("The selection shown in cyan is not kept yet: press Enter to keep it (Esc "
                                    "drops it), then Inpaint.") and dialogs == []
    qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL)
    assert window.notice.text().endswith("then Preview this frame.") and dialogs == []
    assert not window.controller.engine.busy and p.masks.masked_frames() == []
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)  # kept: Preview runs
    with qtbot.waitSignal(window.controller.resultsReady, timeout=60_000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL)
    assert 0 in p.results


def test_export_with_the_selection_still_in_cyan_says_to_keep_it(window, disc_clip, qtbot, dialogs, tmp_path):
    """The export dialog said "No frame ... has a mask: the export is the video as it is" with the
    object selected in cyan, and Export wrote the video unchanged."""
    window.open_path(disc_clip)
    window.tools.set_tool("segment")
    click(qtbot, window, *disc_centre(0))
    d = window.export_dialog_show()
    assert d.summary.text().startswith("The selection shown in cyan is not kept yet: press Enter to keep it (Esc "
                                       "drops it), then Export.")
    out = tmp_path / "out.mp4"
    d.path_edit.setText(str(out))
    d.export_button.click()
    assert not d.running and not out.exists() and d.status.text().startswith("The selection shown in cyan")
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)  # dropped: the summary says so at once
    assert d.summary.text().startswith("No frame of 0..")
    d.close()


def test_inpaint_before_track_asks_to_track_first(window, disc_clip, qtbot, dialogs, monkeypatch):
    """An object clicked and kept on one frame, then Inpaint (the commit's "Track (Ctrl+T)" hint
    missed): the object went from that frame only and stayed on the others, and the status bar said
    "Inpainted frames 0..7" all the same."""
    window.open_path(disc_clip)
    p, seg = window.project, window.segment
    select_and_commit(qtbot, window, *disc_centre(0))
    questions = asked(window, monkeypatch, "Track first")
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)
    assert questions == [f"Only frame 0 has a mask in the in/out range (0..{N - 1}): the object selected there is not "
                         f"tracked, so Inpaint would leave it on the other {N - 1} frames. Track it through the "
                         "range first (Ctrl+T)?"]
    assert p.masks.masked_frames() == list(range(N)) and not p.results.made_in(0, N)
    # the message names the step the user was on the way to (it ended on the Grow hint)
    said = window.statusBar().currentMessage()
    assert said.startswith("Tracked ") and ". Next: Inpaint range (Ctrl+Enter)." in said, said
    # tracked: Inpaint runs without a question
    with qtbot.waitSignal(window.controller.resultsReady, timeout=120_000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)
    assert len(questions) == 1 and all(i in p.results for i in range(N))


@pytest.mark.parametrize("answer", ["Inpaint anyway", "Cancel"])
def test_inpaint_before_track_anyway_or_not_at_all(window, disc_clip, qtbot, dialogs, monkeypatch, answer):
    window.open_path(disc_clip)
    p = window.project
    p.set_range(0, 4)
    select_and_commit(qtbot, window, *disc_centre(0))
    questions = asked(window, monkeypatch, answer)
    if answer == "Cancel":
        assert window.inpaint() is None and not window.controller.engine.busy
    else:
        with qtbot.waitSignal(window.controller.resultsReady, timeout=60_000):
            assert window.inpaint() is not None
        assert p.masks.masked_frames() == [0] and 0 in p.results
    assert len(questions) == 1 and questions[0].startswith("Only frame 0 has a mask in the in/out range (0..3)")


def test_a_mask_painted_on_every_frame_or_a_single_frame_range_asks_nothing(window, disc_clip, qtbot, dialogs,
                                                                          monkeypatch):
    """The question is for an object kept on its keyframes only: a logo painted over the range, or a
    range of one frame, inpaints at once."""
    window.open_path(disc_clip)
    p = window.project
    questions = asked(window, monkeypatch, "Cancel")
    p.set_range(0, 3)
    window.tools.set_scope("range")
    select_and_commit(qtbot, window, *disc_centre(0))  # (kept on every frame of the range)
    with qtbot.waitSignal(window.controller.resultsReady, timeout=60_000):
        window.inpaint()
    p.set_range(5, 6)
    p.set_current(5)
    window.tools.set_scope("frame")
    select_and_commit(qtbot, window, *disc_centre(5))
    with qtbot.waitSignal(window.controller.resultsReady, timeout=60_000):
        window.inpaint()
    assert questions == []


def test_the_export_dialog_says_an_untracked_object_stays_on_the_other_frames(window, disc_clip, qtbot, dialogs):
    window.open_path(disc_clip)
    p = window.project
    p.set_range(0, 4)
    select_and_commit(qtbot, window, *disc_centre(0))
    d = window.export_dialog_show()
    assert d.summary.text().startswith("Only frame 0 has a mask in the in/out range (0..3): the object selected "
                                       "there is not tracked, so Export would leave it on the other 3 frames. ")
    for i in range(1, 4):  # (painted there too: nothing left out)
        p.set_current(i)
        p.edit_mask(disc_mask(i))
    assert d.summary.text().startswith("Frames 0..3 are inpainted")
    d.close()


def test_a_mask_tool_picked_in_split_view_shows_the_picture_to_edit(window, disc_clip, qtbot):
    """In Split view the picture to edit is hidden: picking Select (C) there and clicking the object
    moved the split line to the click and selected nothing, with no word why."""
    window.open_path(disc_clip)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.compare.set_mode("split")
    assert not window.canvas.isVisible()
    qtbot.keyClick(window.result_view, Qt.Key.Key_C)
    assert window.tools.tool.name == "segment" and window.compare.mode == "side" and window.canvas.isVisible()
    click(qtbot, window, *disc_centre(0))
    assert window.segment.tool.candidates
    window.compare.set_mode("split")  # chosen again with a tool picked: it stays, and says what a click does there
    assert window.compare.mode == "split"
    assert window.statusBar().currentMessage().startswith("Split slider: a click or drag moves the split;")
    window.tools.set_tool("brush")
    assert window.compare.mode == "side"


def test_the_only_flagged_frame_is_not_offered_a_next_one(window, disc_clip, qtbot):
    """The paraglider tracked with one frame flagged: G said "Frame 1 (1 of 1 to check): … correct it
    and track again, or G for the next.", and G again stayed there saying the same. With one frame
    to check there is no next: it says so, and G with more than one still offers the next."""
    from test_segment_tool import heard

    window.open_path(disc_clip)
    p, seg = window.project, window.segment
    p.flagged.update({3: "fallback"})
    p.trackingChanged.emit()
    said = heard(window)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_G)
    assert p.current == 3 and said[-1] == ("Frame 3 (the only frame to check): the new cut was refused and the "
                                           "flow-warped mask kept; correct it and track again."), said[-1]
    p.flagged.update({5: "lost"})
    p.trackingChanged.emit()
    qtbot.keyClick(window.canvas, Qt.Key.Key_G)
    assert p.current == 5 and said[-1].startswith("Frame 5 (2 of 2 to check): ")
    assert said[-1].endswith("; correct it and track again, or G for the next.")


def test_the_export_dialog_says_masked_frames_outside_the_range_keep_their_object(window, disc_clip, qtbot, dialogs):
    """The paraglider tracked through all 70 frames, inpainted over 0..7 to try it, then exported: the
    dialog said "Frames 0..7 are inpainted, the others copied." and the file had the paraglider gone
    for a quarter of a second, back for the rest. It says which masked frames lie outside the range
    and what to do."""
    from uihelpers import square_mask

    window.open_path(disc_clip)
    p = window.project
    p.edit_mask(square_mask(H, W), "range")  # (every frame: the range is all of them)
    d = window.export_dialog_show()
    assert "outside the in/out range" not in d.summary.text()
    d.close()
    p.set_range(0, 3)
    d = window.export_dialog_show()
    assert d.summary.text().startswith("Frames 0..2 are inpainted, the others copied.")
    assert (f"Frames 3..{N - 1}, outside the in/out range, have masks too: they are copied with what the masks "
            "cover still in them; widen the range (I and O set its ends) to inpaint them.") in d.summary.text()
    d.close()
