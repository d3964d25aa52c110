"""The undo history is bounded: by the bytes only it keeps (each step's blobs replaced) and by a
number of steps. Past the bound the oldest steps go, never the newest nor the state shown, and a
saved state dropped with them leaves the project dirty until it is saved again."""
import numpy as np

from app.ui.project import Project
from uihelpers import square_mask


def stroke(p, k):
    """A stroke on frame 0 that makes its mask the k-th of a series, each unlike the others."""
    p.set_current(0)
    p.edit_mask(square_mask(box=(2 + 3 * (k % 25), 4 + k // 25, 30 + 2 * (k % 30), 50)), "frame")
    return p.masks.blob(0)


def history_only_bytes(p):
    """What the history holds that the project does not (counted afresh, not from the weights)."""
    shown = {id(p.masks.blob(i)) for i in p.masks.masked_frames()}
    shown |= {id(p.tracked.blob(i)) for i in p.tracked.masked_frames()}
    blobs = {}
    for k in range(p.undo.count()):
        cmd = p.undo.command(k)
        for kind in (cmd.changes, cmd.tracked):
            for pair in kind.values():
                blobs.update({id(b): b for b in pair if b is not None and id(b) not in shown})
    return sum(map(len, blobs.values()))


def test_past_the_budget_the_oldest_steps_go_and_undo_stops_at_the_oldest_kept(qtbot, clip):
    p = Project()
    p.open_video(clip)
    states = [p.masks.blob(0)]
    states.append(stroke(p, 0))
    one = p.undo.command(0).weight
    p.undo.budget = 5 * one  # (each stroke replaces one mask of about the same size)
    for k in range(1, 30):
        states.append(stroke(p, k))
        assert p.undo.held() <= p.undo.budget
        assert 0 < history_only_bytes(p) <= p.undo.held()  # the weights count at least what is held
    kept = p.undo.count()
    assert 3 <= kept < 30 and p.undo.index() == kept
    for _ in range(kept):
        assert p.undo.canUndo()
        p.undo.undo()
    assert not p.undo.canUndo()
    assert p.masks.blob(0) == states[30 - kept]  # the oldest state kept, exactly
    p.undo.undo()  # and no further
    assert p.masks.blob(0) == states[30 - kept]
    for _ in range(kept):
        p.undo.redo()
    assert p.masks.blob(0) == states[30] and not p.undo.canRedo()


def test_dropping_steps_changes_nothing_shown(qtbot, clip):
    """The stack is rebuilt from copies of the steps kept: pushing them again applies nothing."""
    p = Project()
    p.open_video(clip)
    for k in range(3):
        stroke(p, k)
    p.undo.budget = p.undo.held()  # the next stroke drops the oldest
    changed = []
    p.masksChanged.connect(changed.append)
    indexes = []
    p.undo.indexChanged.connect(indexes.append)
    stroke(p, 3)
    assert p.undo.count() < 4 and changed == [[0]]  # the new stroke's own, once
    assert indexes[-1] == p.undo.index() == p.undo.count()
    assert p.undo.undoText() == "Paint" and p.undo.canUndo() and not p.undo.canRedo()


def test_the_newest_step_is_kept_even_alone_past_the_budget(qtbot, clip):
    p = Project()
    p.open_video(clip)
    p.undo.budget = 0
    stroke(p, 0)
    p.set_range(2, 9)
    p.edit_mask(square_mask(box=(0, 0, 90, 60)), "range")
    assert p.undo.count() == 1 and p.undo.undoText() == "Paint"
    p.undo.undo()
    assert p.masks.masked_frames() == [0] and not p.undo.canUndo()


def test_the_saved_state_dropped_with_the_oldest_steps_leaves_the_project_dirty(qtbot, clip, tmp_path):
    p = Project()
    p.open_video(clip)
    stroke(p, 0)
    p.undo.budget = 4 * p.undo.command(0).weight
    stroke(p, 1)
    p.save(tmp_path / "work.sttnproj")
    saved = p.masks.blob(0)
    stroke(p, 2)
    stroke(p, 3)  # (the first step goes here or with the next: the saved state is still kept)
    assert p.undo.cleanIndex() >= 0 and p.dirty
    while p.masks.blob(0) is not saved:
        p.undo.undo()
    assert not p.dirty  # undone back to the saved state: clean again
    for _ in range(2):
        p.undo.redo()
    dirty = []
    p.dirtyChanged.connect(dirty.append)
    for k in range(4, 20):
        stroke(p, k)
    assert p.undo.cleanIndex() == -1 and p.dirty
    while p.undo.canUndo():
        p.undo.undo()
        assert p.dirty  # the saved state cannot be reached: dirty all the way down
    assert p.masks.blob(0) is not saved and p.dirty and dirty == []  # (never said clean meanwhile)
    p.save(tmp_path / "work.sttnproj")
    assert not p.dirty and p.undo.isClean()


def test_the_history_keeps_at_most_its_steps(qtbot, clip, monkeypatch):
    monkeypatch.setattr(Project, "UNDO_STEPS", 4)
    p = Project()
    p.open_video(clip)
    states = [stroke(p, k) for k in range(9)]
    assert p.undo.count() == 4
    while p.undo.canUndo():
        p.undo.undo()
    assert p.masks.blob(0) == states[4]


def test_a_tracking_step_is_weighed_by_what_it_replaced(qtbot, clip):
    """Masks, the tracker's record and label maps it replaced count; what it put in place does not
    (the project holds it until a later step replaces it, which counts it then)."""
    from app.ui.project import ENTRY_BYTES, MaskEditCommand

    p = Project()
    p.open_video(clip)
    a, b = square_mask(), square_mask(box=(5, 5, 30, 30))
    p.masks.set(1, a)
    p.tracked.set(1, a)
    old = (p.masks.blob(1), p.tracked.blob(1))
    p.masks.set(2, b)
    new = p.masks.blob(2)
    cmd = MaskEditCommand(p, {1: (old[0], new), 2: (None, new)}, "Track object", {1: (old[1], new)},
                          ({}, {1: "lost"}), labels={1: (b"label map", None)})
    assert cmd.weight == len(old[0]) + len(old[1]) + len(b"label map") + ENTRY_BYTES * 5
    assert np.array_equal(p.masks.get(2), b)
