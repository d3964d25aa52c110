"""Ctrl+Z while Track runs. The run's frames land as one step on top of the stack when it ends,
computed from the masks it started with: an undo meanwhile came back (the undone selection tracked
onto every frame) and could not be redone (the landing step cleared the redo). Undo and Redo now
wait until Track ends and say so in the status bar; afterwards each step undoes and redoes in order."""
import pytest
from PySide6.QtCore import Qt

from test_segment_tool import disc_centre, select_and_commit, shown_part
from uihelpers import hold_jobs
from test_segment_tool import disc_clip  # noqa: F401 - the clip (a fixture)

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def held_track(monkeypatch):
    """The next Track runs for real once ``held_track.set()`` is called (so keys pressed before
    are surely pressed while it runs)."""
    gate = hold_jobs(monkeypatch, "track_job")
    yield gate
    gate.set()


def test_undo_and_redo_wait_while_track_runs_and_the_steps_stay_in_order(window, disc_clip, qtbot, held_track):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.open_path(disc_clip)
    p, seg = window.project, window.segment
    paint = shown_part(4, 16, 100, 124)
    p.set_current(3)
    p.edit_mask(paint, "frame")  # a step before the selection
    p.set_current(0)
    select_and_commit(qtbot, window, *disc_centre(0))
    steps, before = p.undo.index(), {i: p.masks.get(i).copy() for i in p.masks.masked_frames()}
    assert sorted(before) == [0, 3]
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000):
        seg.track_action.trigger()
        assert window.controller.engine.busy
        assert window.undo_action.isEnabled() and "waits until Track ends" in window.undo_action.toolTip()
        qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)  # the selection was wrong, the user thinks
        assert p.undo.index() == steps and not p.masks.is_empty(0)  # nothing undone under the run
        assert window.statusBar().currentMessage().startswith("Undo and Redo wait until Track ends: Esc stops it")
        window.redo_action.trigger()
        assert p.undo.index() == steps
        held_track.set()
    tracked = p.masks.masked_frames()
    assert len(tracked) > 4 and p.undo.index() == steps + 1 and p.undo.undoText() == "Track object"
    assert "waits" not in window.undo_action.toolTip() and window.undo_action.text() == "&Undo Track object"
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)  # the run
    assert p.masks.masked_frames() == [0, 3]
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)  # the selection
    assert p.masks.masked_frames() == [3] and (p.masks.get(3) == before[3]).all()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, CTRL)
    assert p.masks.masked_frames() == tracked and (p.masks.get(0) == before[0]).all()
    assert not window.redo_action.isEnabled() and p.undo.index() == steps + 1
