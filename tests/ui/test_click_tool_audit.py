"""Faults of the click tool found by an audit, each driven through the real window: Undo from the
menu, the tool bar or a shortcut pressed elsewhere with a selection held; Track with the current
frame outside the in/out range; a click answered after Track filled its frame; and the frames
named after finishing a stopped run."""
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QToolBar

from app.core.segment import mask_iou
from test_segment_tool import (N, click, disc_centre, disc_mask, heard, pair_centre, select_and_commit, shown_part,
                               stopping_track_jobs)
from test_segment_tool import disc_clip, pair_clip  # noqa: F401 - the clips (fixtures)
from test_undo_during_track import held_track  # noqa: F401 - a fixture
from uihelpers import hold_jobs

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def test_every_way_of_undoing_takes_back_the_latest_click_while_a_selection_is_held(window, pair_clip, qtbot):
    """Edit > Undo and the tool bar's Undo undid the last mask edit (the first object's commit)
    with a selection held, and the Enter that followed made that loss final; Ctrl+Z did so too
    when the focus was not on the picture. Each takes back the latest click now, as Ctrl+Z on the
    picture does; Redo brings back no click and redoes no mask edit under the selection."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.open_path(pair_clip)
    p, seg = window.project, window.segment
    undo_button = window.findChild(QToolBar, "MainToolbar").widgetForAction(window.undo_action)
    said = heard(window)

    # a fresh project, nothing to undo on the stack: the first click is taken back all the same
    window.tools.set_tool("segment")
    click(qtbot, window, *pair_centre(0, 0))
    assert window.undo_action.isEnabled() and window.undo_action.text() == "&Undo click"
    undo_button.click()
    assert not seg.tool.points and not seg.tool.candidates and said[-1].startswith("Took back the click")
    assert not window.undo_action.isEnabled()

    select_and_commit(qtbot, window, *pair_centre(0, 0))  # the orange disc kept
    orange = p.masks.get(0).copy()
    p.set_current(3)
    p.edit_mask(shown_part(4, 16, 100, 124), "frame")  # a step to redo
    window.undo_action.trigger()
    assert p.masks.is_empty(3) and window.redo_action.isEnabled()
    p.set_current(0)
    steps = p.undo.index()

    click(qtbot, window, *pair_centre(0, 1), modifier=SHIFT)  # the blue one
    first = seg.tool.candidate.copy()
    click(qtbot, window, *pair_centre(0, 1), Qt.MouseButton.RightButton)  # a wrong right click on it
    click(qtbot, window, 110, 80, Qt.MouseButton.RightButton)  # and another
    assert len(seg.tool.points) == 3

    window.undo_action.trigger()  # Edit > Undo
    assert len(seg.tool.points) == 2 and said[-1].startswith("Took back the latest click")
    undo_button.click()  # the tool bar's Undo
    assert len(seg.tool.points) == 1 and (seg.tool.candidate == first).all()
    assert (p.masks.get(0) == orange).all() and p.undo.index() == steps

    window.redo_action.trigger()  # no click comes back, and no mask edit lands under the selection
    assert len(seg.tool.points) == 1 and p.masks.is_empty(3) and p.undo.index() == steps
    assert said[-1].startswith("Redo waits while a selection is held")

    click(qtbot, window, *pair_centre(0, 1), Qt.MouseButton.RightButton)
    slider = window.timeline.range_slider
    slider.setFocus()  # Ctrl+Z with the focus elsewhere in the window (not in a text field: it undoes the typing)
    assert slider.hasFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Z, CTRL)
    assert len(seg.tool.points) == 1 and (seg.tool.candidate == first).all()
    assert (p.masks.get(0) == orange).all() and p.undo.index() == steps

    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert (p.masks.get(0) == (orange | first)).all() and len(p.objects[0]) == 2
    assert window.undo_action.text() == f"&Undo {p.undo.undoText()}" != "&Undo click"


def test_track_with_the_current_frame_outside_the_range_tracks_the_keyframes_inside(window, disc_clip, qtbot,
                                                                                    dialogs):
    """Track refused ("Frame 6 is outside the in/out range") though a keyframe inside the range
    could be tracked."""
    window.open_path(disc_clip)
    p, seg = window.project, window.segment
    said = heard(window)
    p.set_current(1)
    select_and_commit(qtbot, window, *disc_centre(1))
    p.set_range(0, 5)
    p.set_current(6)
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000):
        assert seg.track() is not None, dialogs
    assert not dialogs and p.masks.masked_frames() == [0, 1, 2, 3, 4]
    for i in range(5):
        assert mask_iou(p.masks.get(i), disc_mask(i)) > 0.6, i
    assert said[-1].startswith("Tracked 4 frames from keyframe 1, frames 0..4") and "6" not in said[-1]

    # nothing inside the range: it says so, and where the keyframes are, without the current frame
    p.set_range(3, 5)
    p.undo.undo()
    assert seg.track() is None
    assert window.notice.text() == ("Nothing to track in the in/out range (frames 3..4): click the object on a frame "
                                    "inside it and press Enter first. Keyframes outside the in/out range (3..4): "
                                    "frame 1; widen the range (I and O set the in and out points at the current "
                                    "frame) to track from them.") and not dialogs


@pytest.fixture
def held_answers(monkeypatch):
    """After ``held_answers.clear()``, clicks are answered once ``held_answers.set()`` is called."""
    gate = hold_jobs(monkeypatch, "segment_job")
    gate.set()
    yield gate
    gate.set()


def test_a_click_answered_after_track_filled_its_frame_corrects_the_tracked_mask(window, disc_clip, qtbot,
                                                                                held_track, held_answers):
    """A click on an empty frame while Track ran, answered after the run had filled that frame,
    became a new selection that Enter added on top of the tracked mask (a second object over the
    first). It is answered as a click on the tracked mask now: a correction of it, as the same
    click made after the run is."""
    window.open_path(disc_clip)
    p, seg, canvas = window.project, window.segment, window.canvas
    select_and_commit(qtbot, window, *disc_centre(0))
    p.set_current(4)
    x, y = disc_centre(4)
    held_answers.clear()
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000):
        seg.track_action.trigger()
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.to_widget(QPointF(x + 4, y)).toPoint())
        assert seg.tool.points and p.masks.is_empty(4)
        held_track.set()
    assert not p.masks.is_empty(4) and 4 not in seg.keyframes
    tracked = p.masks.get(4).copy()
    with qtbot.waitSignal(seg.candidatesChanged, timeout=30_000):
        held_answers.set()
    assert seg.tool.edits_frame and len(seg.tool.points) == 1
    late = seg.tool.candidate.copy()
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    click(qtbot, window, x + 4, y)  # the same click made now
    assert seg.tool.edits_frame and mask_iou(seg.tool.candidate, late) > 0.95
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert (p.masks.get(4) == tracked).all()

    # Enter pressed before the late answer keeps it as the correction it now is
    held_answers.clear()
    p.set_current(0)
    p.undo.undo()  # the run: frame 4 empty again
    p.set_current(4)
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000):
        seg.track_action.trigger()
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.to_widget(QPointF(x + 4, y)).toPoint())
        qtbot.keyClick(canvas, Qt.Key.Key_Return)
    steps = p.undo.index()
    held_answers.set()
    qtbot.waitUntil(lambda: p.undo.index() == steps + 1, timeout=30_000)
    assert 4 in seg.keyframes and not p.objects.get(4) and mask_iou(p.masks.get(4), disc_mask(4)) > 0.7


def test_finishing_a_stopped_run_names_the_frames_it_tracked(window, disc_clip, qtbot, monkeypatch):
    """Stopped while tracking back from keyframe 2, the run left the half on from it unbegun;
    finishing it said "Tracked frames 2..7 again", naming keyframe 2, which it did not track."""
    from app.ui import segment_tool

    real = stopping_track_jobs(monkeypatch, 3)
    window.open_path(disc_clip)
    p, seg = window.project, window.segment
    p.set_current(2)
    select_and_commit(qtbot, window, *disc_centre(2))
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000) as blocker:
        seg.track_action.trigger()
    monkeypatch.setattr(segment_tool, "track_job", real)
    assert blocker.args[0]["stopped"] and p.masks.masked_frames() == [0, 1, 2]
    said = heard(window)
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000) as blocker:
        seg.track_action.trigger()
    assert blocker.args[0]["frames"] == list(range(3, N))
    assert said[-1].startswith(f"Tracked {N - 3} frames from keyframe 2, frames 3..{N - 1} (on from where the stopped run had got to")


def test_undoing_a_click_shows_the_candidate_that_was_shown_before_it(window, disc_clip, qtbot):
    """The paraglider's wing: Tab to candidate 2 (the wing with the hill behind it), a right click on
    the hill, Ctrl+Z: "the selection is as it was before it", but candidate 1 showed, framed in the
    strip, not the candidate 2 the user had picked and clicked on. The candidate picked comes back."""
    window.open_path(disc_clip)
    seg = window.segment
    window.tools.set_tool("segment")
    click(qtbot, window, *disc_centre(0))
    qtbot.waitUntil(lambda: len(seg.tool.candidates) > 1, timeout=30_000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Tab)
    picked, index = seg.tool.candidate.copy(), seg.tool.index
    assert index == 1
    click(qtbot, window, 110, 80, Qt.MouseButton.RightButton)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)
    assert len(seg.tool.points) == 1 and seg.tool.index == index and (seg.tool.candidate == picked).all()
    assert seg.strip.current == index  # (framed in the strip too)
