"""After a mask edit inside an inpainted range, Inpaint and Export compute again only the frames
whose fill read the edited mask (app.core.reach); the others keep their files and stay current."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.engine import InpaintEngine
from app.core.video import open_video, probe
from uihelpers import square_mask


@pytest.fixture
def counted(monkeypatch):
    """The STTN windows run (their first target frame) on any thread."""
    windows = []
    real = InpaintEngine._predict_start

    def count(self, feats, masks, n_targets, *a, **k):
        windows.append(n_targets)
        return real(self, feats, masks, n_targets, *a, **k)

    monkeypatch.setattr(InpaintEngine, "_predict_start", count)
    return windows


def written(project):
    """Frames put into the project's results from now on (``ResultCache.put`` of this instance)."""
    frames = []
    real = project.results.put

    def put(i, rgb, made=None):
        frames.append(i)
        return real(i, rgb, made)

    project.results.put = put
    return frames


def files(project, frames):
    """Each frame's result file: (bytes, mtime), to tell a kept file from one written again."""
    out = {}
    for i in frames:
        path = project.results._path(i)
        out[i] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


def open_painted(window, path, n, fill):
    window.open_path(path)
    p = window.project
    p.set_range(0, n)
    p.set_current(0)
    p.edit_mask(square_mask(), "range")
    p.set_engine_settings({**p.engine_settings, "fill": fill})
    return p, window.controller


def test_an_edit_re_inpaints_only_the_sttn_window_that_read_it(window, make_clip, qtbot, counted):
    """STTN, 40 frames: windows of 11 (centres 5, 16, 27, 38), references every 10th frame. An edit on
    frame 17 is read by the window 11..21 only: those 11 frames go out of date (undo: current again),
    Inpaint runs that one window and writes those 11 frames; the other 29 files are not touched."""
    p, c = open_painted(window, make_clip(n=40, width=96, height=64, name="long.mp4"), 40, "sttn")
    with qtbot.waitSignal(c.engine.finished, timeout=120_000):
        c.inpaint()
    assert len(counted) == 4 and not p.outdated_results(0, 40)
    before = files(p, range(40))
    p.set_current(17)
    p.edit_mask(square_mask(box=(50, 10, 90, 60)) | square_mask(), "frame")
    assert p.outdated_results(0, 40) == list(range(11, 22))
    assert p.result_outdated(17) and not p.result_outdated(10) and not p.result_outdated(22)
    assert "changed" in window.result_view.note and not c.result_is_current(c.engine_config())
    p.undo.undo()
    assert not p.outdated_results(0, 40) and c.result_is_current(c.engine_config())
    p.undo.redo()
    assert p.outdated_results(0, 40) == list(range(11, 22))
    counted.clear()
    puts = written(p)
    with qtbot.waitSignal(c.engine.finished, timeout=120_000):
        job = c.inpaint()
    assert job.data["todo"] == list(range(11, 22))
    assert len(counted) == 1 and sorted(puts) == list(range(11, 22))
    assert window.statusBar().currentMessage() == (
        "Inpainted 11 frames again (frames 11..21); the other 29 of 0..39 were up to date.")
    after = files(p, range(40))
    assert all(after[i] == before[i] for i in range(40) if not 11 <= i < 22)
    assert after[17][0] != before[17][0]  # (its fill saw the new mask)
    assert not p.outdated_results(0, 40) and c.result_is_current(c.engine_config())
    # undone now, the window's new frames are the ones out of date; the rest stays current
    p.undo.undo()
    assert p.outdated_results(0, 40) == list(range(11, 22))
    # nothing out of date: Inpaint has nothing to do and says so
    p.undo.redo()
    assert c.inpaint() is None and "up to date" in window.statusBar().currentMessage()


def test_a_reference_frames_edit_reaches_the_windows_that_read_it(window, make_clip, qtbot):
    """Frame 20 is a reference frame of every window of 0..39 (the 10 nearest multiples of 10): its
    mask is read by all of them, so an edit there puts the whole run out of date."""
    p, c = open_painted(window, make_clip(n=40, width=96, height=64, name="long.mp4"), 40, "sttn")
    with qtbot.waitSignal(c.engine.finished, timeout=120_000):
        c.inpaint()
    p.set_current(20)
    p.edit_mask(square_mask(box=(50, 10, 90, 60)) | square_mask(), "frame")
    assert p.outdated_results(0, 40) == list(range(40))


def test_a_cancelled_re_inpaint_keeps_every_current_result(window, make_clip, qtbot, counted):
    """Cancel the run after an edit: the frames it wrote are current, the ones it did not reach keep
    their older (out of date) result, and every frame outside the edit's reach stays current."""
    p, c = open_painted(window, make_clip(n=40, width=96, height=64, name="long.mp4"), 40, "sttn")
    with qtbot.waitSignal(c.engine.finished, timeout=120_000):
        c.inpaint()
    for i in (13, 25):  # (read by the windows 11..21 and 22..32)
        p.set_current(i)
        p.edit_mask(square_mask(box=(50, 10, 90, 60)) | square_mask(), "frame")
    assert p.outdated_results(0, 40) == list(range(11, 33))
    c.engine.progress.connect(lambda job, pr: pr.done >= 3 and c.cancel())
    with qtbot.waitSignal(c.engine.cancelled, timeout=120_000):
        job = c.inpaint()
    made = job.data["made"]
    done = [i for i in range(40) if p.results.made(i) is made]
    assert done and done == list(range(11, 11 + len(done))) and len(done) < 22
    assert p.results.covers(0, 40)
    assert p.outdated_results(0, 40) == list(range(11 + len(done), 33))
    assert window.statusBar().currentMessage().startswith(f"Inpaint cancelled after {len(done)} of 22 frames")


def test_export_after_an_edit_re_inpaints_the_chunk_that_read_it(window, make_clip, qtbot, tmp_path):
    """Propagation + Telea over 120 frames: chunks write 0..49, 50..89 and 90..119, each reading 10
    frames beyond. An edit on frame 100 is read by the last chunk only: Export inpaints those 30
    frames into the result (starting from the kept frames 80..89), keeps the other 90 files and writes
    a video with all 120 frames, the new fill at frame 100."""
    clip = make_clip(n=120, width=96, height=64, name="long.mp4")
    p, c = open_painted(window, clip, 120, "propagate+telea")
    with qtbot.waitSignal(c.engine.finished, timeout=120_000):
        c.inpaint()
    before = files(p, range(120))
    p.set_current(100)
    bigger = square_mask(box=(10, 8, 60, 50))
    p.edit_mask(bigger, "frame")
    assert p.outdated_results(0, 120) == list(range(90, 120))
    assert "for 30 of the 120 frames" in window.export_summary(False)
    puts = written(p)
    out = tmp_path / "out.mp4"
    dialog = window.export_dialog_show()
    dialog.path_edit.setText(str(out))
    with qtbot.waitSignal(c.exportFinished, timeout=120_000):
        dialog.export_button.click()
    dialog.close()
    assert sorted(puts) == list(range(90, 120))
    after = files(p, range(120))
    assert all(after[i] == before[i] for i in range(90))
    assert not p.outdated_results(0, 120) and c.result_is_current(c.engine_config())
    assert probe(out)["frames"] == 120
    with open_video(out) as r:  # (every frame of the range is the result's, the new one at frame 100)
        worst = max(np.abs(r[i].astype(int) - p.results.get(i).astype(int)).mean() for i in (0, 40, 89, 100, 119))
    assert worst < 5, worst  # (x264 at crf 18 on a noise texture)
