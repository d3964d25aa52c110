"""A Track killed mid-run keeps what it had tracked up to the last autosave. Its frames landed in
the project only when the run ended, so a kill (SIGKILL, a power cut) lost every frame it had
tracked, minutes of work on a CPU. Now each autosave while it runs writes the frames tracked so far
as a stopped run (the project itself and its undo history stay as they are until the run ends):
the next start recovers them, and Track finishes the rest, as after Stop."""
from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.core.errors import SegmentError
from app.core.segment import mask_iou
from app.ui.project import mask_digest, project_masks
from test_autosave_crash import after, killed, masks_of, reopened  # noqa: F401 - after: a fixture
from test_segment_tool import N, disc_centre, disc_mask, select_and_commit
from test_segment_tool import disc_clip  # noqa: F401 - the clip (a fixture)


@pytest.fixture
def held_track(monkeypatch):
    """``held_track(steps, fail=False)``: Track's jobs wait on their worker once ``steps`` steps (the
    keyframe's among them) are reported, until ``go`` is set; ``fail``: the job then fails (a
    segmenter error) instead of going on. Returns (reached, go), two Events; each ``go`` is set when
    the test ends (one that failed leaves no worker waiting)."""
    from app.ui import segment_tool

    real, gates = segment_tool.track_job, []

    def hold(steps: int, fail: bool = False):
        reached, go = threading.Event(), threading.Event()
        gates.append(go)

        def holding(*a, **k):
            fn = real(*a, **k)

            def run(host, progress, cancel):
                def report(r):
                    progress(r)
                    if r.done == steps:
                        reached.set()
                        assert go.wait(30), "never let go"
                        if fail:
                            raise SegmentError("The segmenter failed.")
                return fn(host, report, cancel)
            return run

        monkeypatch.setattr(segment_tool, "track_job", holding)
        return reached, go

    yield hold
    for go in gates:
        go.set()


def state_of(p) -> dict:
    """What a save of ``p`` holds of the masks and the tracking, by digest."""
    return {"masks": masks_of(p), "tracked": {i: mask_digest(p.tracked.blob(i)) for i in p.tracked.masked_frames()},
            "keyframes": sorted(p.keyframes), "flagged": dict(p.flagged), "run": p.last_track,
            "labels": dict(p.tracked_objects)}


def test_an_autosave_mid_track_is_recovered_as_the_stopped_run_and_track_finishes_the_rest(
        restart, disc_clip, qtbot, dialogs, monkeypatch, tmp_path, held_track):
    """An autosave with 3 frames tracked (the job held there), files copied aside as a kill would
    leave them. The run is then stopped there: what the project holds then is what the autosave had
    held; recovered in a new window, Track tracks frames 4..7 only."""
    from app.ui import segment_tool

    real_job = segment_tool.track_job
    reached, go = held_track(4)  # (the keyframe's step, then frames 1..3)
    w = restart()
    w.open_path(disc_clip)
    p, seg, saver = w.project, w.segment, w.autosaver
    select_and_commit(qtbot, w, *disc_centre(0))
    p.save(tmp_path / "work.sttnproj")  # (a clean project: the run's frames alone are autosaved)
    assert not p.dirty and saver.save_now() is None
    steps = p.undo.count()
    seg.track_action.trigger()
    qtbot.waitUntil(reached.is_set, timeout=60_000)

    assert p.unfinished is not None and p.unfinished.count == 3
    assert saver.save_now() == saver.path and saver.wait(30)
    # the autosave is the only place the frames are yet: the project and its history are as before
    assert p.masks.masked_frames() == [0] and p.undo.count() == steps and not p.dirty
    crash = tmp_path / "crash"
    shutil.copytree(saver.path.parent, crash)
    assert saver.save_now() == saver.path and not saver.writing  # (nothing new: not written again)
    assert sorted(f.name for f in crash.iterdir() if f.suffix != ".lock") == sorted(
        f.name for f in saver.path.parent.iterdir() if f.suffix != ".lock")

    # stopped where it was held: the state a Stop leaves, to compare the recovered one with
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000) as blocker:
        w.controller.engine.current.cancel.cancel()
        go.set()
    assert blocker.args[0]["stopped"] and p.masks.masked_frames() == [0, 1, 2, 3]
    assert p.undo.count() == steps + 1 and p.unfinished is None  # (one step, as ever)
    stopped = state_of(p)
    assert stopped["run"]["pending"] == list(range(4, N))

    p.undo.setClean()
    p._dirty = False
    w.close()  # (its autosave deleted as at a clean exit: the copy taken mid-run is put back)
    for f in crash.iterdir():
        if f.suffix != ".lock":
            shutil.copy2(f, saver.path.parent / f.name)
    monkeypatch.setattr(segment_tool, "track_job", real_job)

    dialogs.answer = QMessageBox.StandardButton.Yes
    w2 = restart()
    assert w2.offer_recovery() and w2.autosaver.wait(30)
    q = w2.project
    assert state_of(q) == stopped  # masks, the tracker's record, keyframes, flags, the run's record
    assert q.load_notes == [f"Tracking over frames 0..{N - 1} stopped with {N - 4} of its frames not tracked yet "
                            f"(frames 4..{N - 1}): Track goes on from where it stopped."]
    with qtbot.waitSignal(w2.segment.trackFinished, timeout=60_000) as blocker:
        w2.segment.track_action.trigger()
    assert not blocker.args[0]["stopped"] and blocker.args[0]["frames"] == list(range(4, N))  # the rest only
    assert q.masks.masked_frames() == list(range(N))
    assert [q.masks.blob(i) for i in range(4)] == [p.masks.blob(i) for i in range(4)]
    for i in range(N):
        assert mask_iou(q.masks.get(i), disc_mask(i)) > 0.7, i


def test_a_run_that_fails_after_an_autosave_of_its_frames_leaves_nothing_to_recover(
        window, disc_clip, qtbot, tmp_path, held_track):
    """A clean project: the autosave written mid-run holds the run's frames alone; the run then fails
    (nothing lands), so that autosave would bring back frames the session never had: it goes."""
    reached, go = held_track(3, fail=True)
    window.open_path(disc_clip)
    p, saver = window.project, window.autosaver
    select_and_commit(qtbot, window, *disc_centre(0))
    p.save(tmp_path / "work.sttnproj")
    window.segment.track_action.trigger()
    qtbot.waitUntil(reached.is_set, timeout=60_000)
    assert saver.save_now() == saver.path and saver.wait(30) and saver.path.exists()
    with qtbot.waitSignal(window.controller.engine.failed, timeout=30_000):
        go.set()
    assert saver.wait(30) and not saver.path.exists() and p.unfinished is None
    assert p.masks.masked_frames() == [0] and not p.dirty


# --- killed for real ---------------------------------------------------------------------------------

def killed_mid_run(w, ready) -> None:
    """In a process of its own (``test_autosave_crash._child``): Track over the disc clip, slowed to
    0.3 s a frame result, while the window's timer autosaves every 0.4 s; READY once an autosave holds 3 or
    more of its frames and not all: what that autosave holds (the run goes on until the kill)."""
    from app.ui import segment_tool

    p, saver = w.project, w.autosaver
    real = segment_tool.track
    # (each frame's result slowed, not each read: the background plate reads frames ahead of the steps)
    segment_tool.track = lambda get, *a, on_mask, **k: real(
        get, *a, on_mask=lambda step: time.sleep(0.3) or on_mask(step), **k)
    p.edit_mask(disc_mask(0), "frame", keyframe=True, new_object=disc_mask(0))

    def written(path) -> None:
        data = json.loads(Path(path).read_text())
        run = data["tracking"].get("last_run") or {}
        masks = project_masks(path)
        if run.get("pending") and len(masks) >= 4:
            saver.timer.stop()  # (the autosave on disk stays this one until the kill)
            ready(autosaved={str(i): mask_digest(b) for i, b in sorted(masks.items())}, pending=run["pending"])

    saver.saved.connect(written)
    saver.timer.start(400)
    w.segment.track_action.trigger()


def test_killed_mid_track_the_frames_autosaved_are_recovered_and_track_finishes_the_rest(
        qtbot, settings, dialogs, disc_clip, tiny_weights, tmp_path, after):  # noqa: F811 - after: a fixture
    """The real window in a process of its own, SIGKILLed while Track runs, some of its frames
    autosaved: the next start recovers them, and Track tracks only the frames not autosaved."""
    t0 = time.monotonic()
    said = killed("test_track_crash:killed_mid_run", disc_clip, tiny_weights, tmp_path, tmp_path / "unused")
    assert list(said["masks"]) == ["0"] and len(said["autosaved"]) >= 4  # (the session's project: not landed yet)
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    p = w.project
    pending = [i for a, b in said["pending"] for i in range(a, b)]
    assert recovered and masks_of(p) == said["autosaved"] and sorted(p.keyframes) == [0]
    assert p.last_track["pending"] == pending and 1 <= len(pending) <= N - 4
    w.show()
    with qtbot.waitSignal(w.segment.trackFinished, timeout=60_000) as blocker:
        w.segment.track_action.trigger()
    assert blocker.args[0]["frames"] == pending and p.masks.masked_frames() == list(range(N))
    for i in range(N):
        assert mask_iou(p.masks.get(i), disc_mask(i)) > 0.7, i
    assert time.monotonic() - t0 < 60


def test_a_stroke_made_while_track_runs_is_in_the_autosave_with_the_frames_tracked(
        window, disc_clip, qtbot, tmp_path, held_track):
    """The user paints on frame 2, tracked by the run but not landed yet: the autosave holds the
    tracked mask with the stroke on it, as the project holds it once the run is stopped there."""
    from app.ui.project import Project
    from uihelpers import square_mask

    reached, go = held_track(4)
    window.open_path(disc_clip)
    p, saver = window.project, window.autosaver
    select_and_commit(qtbot, window, *disc_centre(0))
    window.segment.track_action.trigger()
    qtbot.waitUntil(reached.is_set, timeout=60_000)
    p.set_current(2)
    stroke = square_mask(96, 128, (90, 70, 110, 90))  # (away from the disc)
    p.edit_mask(p.masks.get(2) | stroke, "frame")
    assert saver.save_now() == saver.path and saver.wait(30)
    crash = tmp_path / "crash"
    shutil.copytree(saver.path.parent, crash)
    with qtbot.waitSignal(window.segment.trackFinished, timeout=60_000):
        window.controller.engine.current.cancel.cancel()
        go.set()
    assert p.masks.masked_frames() == [0, 1, 2, 3]
    assert (p.masks.get(2) & stroke).sum() == stroke.sum() and mask_iou(p.masks.get(2) & ~stroke, disc_mask(2)) > 0.7
    recovered = Project()
    recovered.load(crash / saver.path.name)
    assert state_of(recovered) == state_of(p)


def test_an_autosave_while_track_finishes_a_stopped_run_is_finished_in_turn(
        window, disc_clip, qtbot, tmp_path, held_track):
    """Stopped after frame 3; Track goes on from there and is autosaved with frame 4 tracked (then
    stopped there, for the state to compare with): recovered, Track tracks frames 5..7 only."""
    from app.ui.project import Project

    reached, go = held_track(4)
    window.open_path(disc_clip)
    p, seg, saver = window.project, window.segment, window.autosaver
    select_and_commit(qtbot, window, *disc_centre(0))
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000):
        seg.track_action.trigger()
        assert reached.wait(60)
        window.controller.engine.current.cancel.cancel()
        go.set()
    reached, go = held_track(2)  # (the keyframe's step, then frame 4)
    seg.track_action.trigger()
    qtbot.waitUntil(reached.is_set, timeout=60_000)
    assert saver.save_now() == saver.path and saver.wait(30)
    crash = tmp_path / "crash"
    shutil.copytree(saver.path.parent, crash)
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000):
        window.controller.engine.current.cancel.cancel()
        go.set()
    assert p.masks.masked_frames() == [0, 1, 2, 3, 4] and p.last_track["pending"] == [5, 6, 7]

    recovered = Project()
    recovered.load(crash / saver.path.name)
    assert state_of(recovered) == state_of(p)
    window.open_path(crash / saver.path.name)
    with qtbot.waitSignal(seg.trackFinished, timeout=60_000) as blocker:
        seg.track_action.trigger()
    assert blocker.args[0]["frames"] == [5, 6, 7] and p.masks.masked_frames() == list(range(N))
    for i in range(N):
        assert mask_iou(p.masks.get(i), disc_mask(i)) > 0.7, i
