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


def _reports_of_a_fill(make_clip, fill: str, weights=None, **config):
    from app.core.engine import InpaintEngine, fill_range
    from app.core.video import open_video

    src, masks = _clip_with_a_box(make_clip, 20, range(20))
    cfg = EngineConfig(fill=fill, device="cpu", **config)
    engine = InpaintEngine(weights, cfg) if weights is not None else None
    reports = []
    with open_video(src) as reader:
        fill_range(reader, masks, lambda i, frame: None, 0, 20, cfg, engine, progress=reports.append)
    return [p for p in reports if p.done > 0]


def _first_report_counts_the_work_computed(reports):
    """Each frame is handed on after the window or chunk that computes it, with others: the first
    report's work is that window's (by the count one frame in 20: an ETA of 19 times the time gone,
    for as long as the frames go out), and the work never falls behind the count."""
    first = reports[0]
    assert first.done == 1 and first.fraction >= 0.25, (first.done, first.fraction)
    assert all(p.fraction >= p.done / p.total for p in reports)
    fractions = [p.fraction for p in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_propagation_reports_the_work_of_a_chunk_with_its_first_frame(make_clip):
    _first_report_counts_the_work_computed(_reports_of_a_fill(make_clip, "propagate+telea"))


def test_sttn_reports_the_work_of_a_window_with_its_first_frame(make_clip, fixture_weights):
    _first_report_counts_the_work_computed(_reports_of_a_fill(make_clip, "sttn", fixture_weights, neighbor_radius=3,
                                                              max_refs=0))
