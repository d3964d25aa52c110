"""What tracking knows of each frame (the record of what the tracker added, flags, keyframes,
selections) stays true through clearing, importing, painting over every frame, corrections made
while a run goes on, and a save and reopen. Found by walking these sequences as a user."""
import cv2
import numpy as np
import pytest

from test_segment_tool import N, H, W, disc_centre, disc_mask, pair_centre, select_and_commit, shown_part
from test_segment_tool import disc_clip, pair_clip  # noqa: F401 - the clips (fixtures)


def track_now(qtbot, window):
    with qtbot.waitSignal(window.segment.trackFinished, timeout=60_000) as blocker:
        window.segment.track_action.trigger()
    return blocker.args[0]


@pytest.fixture
def flag_first_run(monkeypatch):
    """The first tracking run also flags the frames given (the tracker flags nothing on the disc)."""
    from app.ui import segment_tool

    real, runs = segment_tool.track_job, []

    def install(flags):
        def flagging(*a, **k):
            fn = real(*a, **k)
            runs.append(1)
            return fn if len(runs) > 1 else lambda host, progress, cancel: {**fn(host, progress, cancel),
                                                                             "flags": dict(flags)}
        monkeypatch.setattr(segment_tool, "track_job", flagging)
    return install


@pytest.fixture
def spans(monkeypatch):
    """(frames, keyframes) of each core tracking call."""
    from app.ui import segment_tool

    calls, real = [], segment_tool.track
    monkeypatch.setattr(segment_tool, "track",
                        lambda g, n, keys, *a, **k: calls.append((n, sorted(keys))) or real(g, n, keys, *a, **k))
    return calls


def keys_0_and_4_tracked(window, qtbot, clip):
    p = window.project
    window.open_path(clip)
    for key in (0, 4):
        p.set_current(key)
        select_and_commit(qtbot, window, *disc_centre(key))
    p.set_current(0)
    track_now(qtbot, window)


def stale(window):
    """Flags, tracker record, keyframes or selections on frames without a mask."""
    p = window.project
    empty = set(range(p.n_frames)) - set(p.masks.masked_frames())
    return {"flags": sorted(set(p.flagged) & empty), "tracked": sorted(set(p.tracked.masked_frames()) & empty),
            "teal": sorted(set(window.timeline.bar.tracked) & empty), "keys": sorted(p.keyframes & empty),
            "objects": sorted(i for i in empty if p.objects_on(i))}


def test_clearing_takes_what_tracking_knew_of_the_frames_and_undo_brings_it_back(window, disc_clip, qtbot,
                                                                                flag_first_run, tmp_path):
    """Mask > Clear left amber and teal marks, keyframes and selections on empty frames (G went to
    a frame with nothing on it), and saved them with the project."""
    flag_first_run({5: "lost", 6: "shrunk"})
    keys_0_and_4_tracked(window, qtbot, disc_clip)
    p = window.project
    p.set_current(5)
    window.tools.set_scope("frame")
    window.tools.clear_action.trigger()
    assert not any(stale(window).values()) and p.flagged == {6: "shrunk"}
    window.tools.set_scope("range")
    window.tools.clear_action.trigger()
    assert p.masks.masked_frames() == [] and not any(stale(window).values())
    assert p.keyframes == set() and p.flagged == {} and not window.segment.next_flag_action.isEnabled()
    path = p.save(tmp_path / "cleared")
    assert not (tmp_path / "cleared.tracked.npz").exists() and not (tmp_path / "cleared.objects.npz").exists()
    window.undo_action.trigger()  # the range clear, all of it
    assert p.masks.masked_frames() == [0, 1, 2, 3, 4, 6, 7] and p.keyframes == {0, 4}
    assert p.flagged == {6: "shrunk"} and len(p.objects_on(0)) == 1 and 6 in window.timeline.bar.tracked
    assert window.open_path(path) and not any(stale(window).values())


def test_a_keyframe_cleared_and_filled_by_the_next_run_is_the_trackers(window, disc_clip, qtbot, spans):
    """It stayed a keyframe: its tracker-made mask had a diamond, and the next Track followed it
    as the user's (and never replaced it)."""
    keys_0_and_4_tracked(window, qtbot, disc_clip)
    p = window.project
    p.set_current(4)
    window.tools.set_scope("frame")
    window.tools.clear_action.trigger()
    p.set_current(0)
    track_now(qtbot, window)
    assert not p.tracked.is_empty(4) and 4 not in p.keyframes and 4 not in window.timeline.bar.keys
    track_now(qtbot, window)  # nothing changed: the whole range from keyframe 0 alone
    assert spans[-1] == (N, [0])


def test_a_selection_cleared_away_is_not_an_object_of_the_frame(window, pair_clip, qtbot):
    window.open_path(pair_clip)
    p = window.project
    select_and_commit(qtbot, window, *pair_centre(0, 0))
    window.tools.set_scope("frame")
    window.tools.clear_action.trigger()
    select_and_commit(qtbot, window, *pair_centre(0, 1))
    assert len(p.objects_on(0)) == 1 and not (p.objects_on(0)[0] & ~p.masks.get(0)).any()


def test_paint_over_every_frame_survives_tracking_again(window, disc_clip, qtbot):
    """A subtitle band painted with Apply to 'Every frame in range' across the tracked disc got
    holes where the disc had been when Track ran again (those pixels counted as the tracker's)."""
    keys_0_and_4_tracked(window, qtbot, disc_clip)
    p = window.project
    as_tracked = [(p.masks.blob(i), p.tracked.blob(i)) for i in range(N)]
    band = shown_part(50, 64, 0, W)
    p.apply_delta(range(N), band, None, "Brush")  # what a stroke with Apply to 'Every frame in range' does
    assert all(p.masks.get(i)[band].all() for i in range(N))
    track_now(qtbot, window)
    assert all(p.masks.get(i)[band].all() for i in range(N))
    window.undo_action.trigger()
    window.undo_action.trigger()  # and the band's step: masks and the tracker's record as the run left them
    assert [(p.masks.blob(i), p.tracked.blob(i)) for i in range(N)] == as_tracked


def test_imported_masks_are_the_users_and_tracking_again_keeps_them(window, disc_clip, qtbot, flag_first_run,
                                                                     tmp_path):
    """Import over tracked frames kept the old flags and tracker record; the next Track took
    imported pixels away."""
    flag_first_run({5: "lost", 7: "shrunk"})
    keys_0_and_4_tracked(window, qtbot, disc_clip)
    p = window.project
    folder = tmp_path / "masks"
    folder.mkdir()
    imported = []
    for i in range(N):
        m = disc_mask(i).copy() if i < 7 else p.masks.get(7)  # frame 7 as it is: its mark goes all the same
        cx, cy = disc_centre(i)
        m[cy - 20:cy + 20, cx - 20:cx + 20] = i < 7
        imported.append(m)
        cv2.imwrite(str(folder / f"{i:04d}.png"), m.astype(np.uint8) * 255)
    p.import_masks(folder)
    assert p.flagged == {} and p.tracked.masked_frames() == [] and p.keyframes == set()
    p.set_current(0)
    track_now(qtbot, window)
    assert all(not (imported[i] & ~p.masks.get(i)).any() for i in range(N))


def test_a_frame_corrected_while_a_run_goes_on_stays_corrected(window, disc_clip, qtbot, monkeypatch):
    """When the run landed, the corrected frame got its amber mark and tracker record back."""
    from app.ui import segment_tool

    real = segment_tool.track_job
    monkeypatch.setattr(segment_tool, "track_job", lambda *a, **k: (lambda fn: lambda h, pr, c: {
        **fn(h, pr, c), "flags": {5: "lost"}})(real(*a, **k)))
    window.open_path(disc_clip)
    p = window.project
    select_and_commit(qtbot, window, *disc_centre(0))
    track_now(qtbot, window)
    cut = shown_part(0, H, 0, disc_centre(5)[0])
    p.set_current(0)
    with qtbot.waitSignal(window.segment.trackFinished, timeout=60_000):
        window.segment.track_action.trigger()
        p.set_current(5)
        p.edit_mask(p.masks.get(5) & ~cut, "frame", "Eraser")
        corrected = p.masks.blob(5)
    assert 5 in p.keyframes and 5 not in p.flagged and p.tracked.is_empty(5)
    assert p.masks.blob(5) == corrected


def test_a_reopened_project_tracks_again_only_around_a_correction_made_before_saving(window, disc_clip, qtbot,
                                                                                   spans, tmp_path):
    """The saved record of the last run was one digest of its tracked masks, which a correction
    changes: reopened, Track ran over the whole range."""
    keys_0_and_4_tracked(window, qtbot, disc_clip)
    p = window.project
    p.set_current(6)
    p.edit_mask(p.masks.get(6) | shown_part(40, 44, 60, 64), "frame")
    path = p.save(tmp_path / "proj")
    assert window.open_path(disc_clip) and window.open_path(path)
    track_now(qtbot, window)
    assert spans[-1] == (4, [0, 2])  # frames 4..7 (keyframes 4 and 6) only
