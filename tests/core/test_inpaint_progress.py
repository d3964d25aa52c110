"""Progress covers the frames copied through around --start/--end, not only the inpainted ones."""
import numpy as np

from app.core.config import EngineConfig
from app.core.engine import inpaint_video
from app.core.masks import MaskStore


def test_progress_counts_frames_copied_before_start_and_after_end(make_clip, tmp_path):
    src = make_clip(n=12, width=64, height=48)
    masks = MaskStore(12, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    masks.set_many(range(12), m)
    reports = []
    inpaint_video(src, masks, tmp_path / "o.mp4", config=EngineConfig(fill="telea"), start=6, end=9,
                  progress=reports.append)
    done = [p.done for p in reports]
    assert {1, 2, 3, 4, 5, 6} <= set(done)  # while frames 0..5 are copied, before the inpaint starts
    assert {10, 11} <= set(done)  # and after it
    assert done == sorted(done) and done[-1] == 12 and {p.total for p in reports} == {12}
