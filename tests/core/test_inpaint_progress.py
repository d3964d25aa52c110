"""Progress covers the frames copied through around --start/--end, not only the inpainted ones."""
import numpy as np

from app.core.config import EngineConfig
from app.core.engine import inpaint_video
from app.core.masks import MaskStore


def _clip_with_a_box(make_clip, n: int, masked):
    """A real n-frame 64x48 clip and a box mask on the frames ``masked``."""
    masks = MaskStore(n, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    masks.set_many(masked, m)
    return make_clip(n=n, width=64, height=48), masks


def test_progress_counts_frames_copied_before_start_and_after_end(make_clip, tmp_path):
    src, masks = _clip_with_a_box(make_clip, 12, range(12))
    reports = []
    inpaint_video(src, masks, tmp_path / "o.mp4", config=EngineConfig(fill="telea"), start=6, end=9,
                  progress=reports.append)
    done = [p.done for p in reports]
    assert {1, 2, 3, 4, 5, 6} <= set(done)  # while frames 0..5 are copied, before the inpaint starts
    assert {10, 11} <= set(done)  # and after it
    assert done == sorted(done) and done[-1] == 12 and {p.total for p in reports} == {12}


def test_a_few_frames_inpainted_in_a_long_clip_weigh_more_than_the_frames_copied_through(make_clip, tmp_path):
    """--start 0 --end 4 of 40 frames, every frame encoded again: the count runs over all 40 frames,
    but the bar and the ETA go by the work, a frame inpainted costing its fill besides the encode
    (WORK_PER_FRAME). By the count alone the ETA after the range was 36/4 = 9 times the time gone
    (about 10 times too long on a real clip: docs/LOAD.md)."""
    from app.core.engine import WORK_PER_FRAME

    src, masks = _clip_with_a_box(make_clip, 40, range(4))
    reports = []
    inpaint_video(src, masks, tmp_path / "o.mp4", config=EngineConfig(fill="telea"), start=0, end=4,
                  progress=reports.append, copy_unchanged=False)
    inpaint = [p for p in reports if p.stage == "inpaint"]
    assert [p.done for p in inpaint][-1] == 40 and {p.total for p in inpaint} == {40}  # (the count: frames)
    fractions = [p.fraction for p in inpaint]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    enc, fill = WORK_PER_FRAME["encode"], WORK_PER_FRAME["telea"]
    after_range = next(p for p in inpaint if p.done == 4)
    assert abs(after_range.fraction - 4 * (enc + fill) / (40 * enc + 4 * fill)) < 1e-9
    assert after_range.eta < 4 * after_range.elapsed  # (by the count: 9 times)
