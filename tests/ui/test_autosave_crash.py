"""Nothing lost on a crash: what the autosave keeps, and what a session killed hard (SIGKILL, in a
process of its own running the real window offscreen) leaves for the next start."""
from __future__ import annotations

from app.ui.project import Autosaver, Project
from uihelpers import square_mask


def test_the_last_tracking_run_past_the_end_lives_in_the_autosave_until_a_save(qtbot, clip, make_clip, tmp_path):
    """A stopped tracking run over frames 2..10, opened with a 6-frame video: its record (what it
    tracked, the frames it had still to reach) reaches past the end. It was dropped at once, so the
    autosave had none and, recovered with the longer video, Track ran over the whole range again
    instead of finishing where the run had stopped. Now it is kept as the masks past the end are."""
    p = Project()
    p.open_video(clip)
    p.set_range(2, 10)
    p.edit_mask(square_mask(), "range")
    for i in range(2, 6):
        p.tracked.set(i, square_mask(box=(20, 16, 30, 40)))
    p.record_track((2, 10), None, {2: "d2"}, pending=range(6, 10))
    path = p.save(tmp_path / "work.sttnproj")
    run = dict(p.last_track)

    short = make_clip(n=6, width=96, height=64, fps=12, name="short.mp4")
    q = Project()
    q.load(path, video=short)
    saver = Autosaver(q, tmp_path / "auto", interval_ms=3_600_000)
    assert saver.save_now() is not None and saver.wait(30)
    r = Project()  # recovered after a crash, with the original video located again
    r.load(saver.path, video=clip)
    assert r.last_track == run
    assert r.last_track["pending"] == [6, 7, 8, 9]  # Track finishes the stopped run

    q.save(path)  # an explicit save drops it, with the masks past the end
    s = Project()
    s.load(path, video=clip)
    assert s.last_track is None
    saver.discard()
