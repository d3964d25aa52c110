"""Which results read which masks (app.core.reach), and runs over part of a range that give the
frames a run over all of it gives (``InpaintEngine.run(only=)``, ``propagate_video(only=, prior=)``)."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.engine import (EngineConfig, InpaintEngine, fill_range, neighbours, reference_ids,
                             window_schedule)
from app.core.masks import MaskStore
from app.core.propagate import (FrameList, MaskList, chunk_plan, fill_with_telea, fit_chunk, propagate_video)
from app.core.reach import Chunks, EachFrame, MaskReach, Windows, mask_reach
from app.core.video import VideoReader
from conftest import make_frames
from test_engine import box_mask as box, tiny_weights  # noqa: F401 - a fixture


def windows_by_hand(start, end, cfg):
    """Per window of the engine's schedule: (the frames it writes, the frames whose masks it reads)."""
    r = cfg.neighbor_radius
    out = []
    for c in window_schedule(start, end, r, cfg.window_step or 2 * r + 1):
        nb = neighbours(c, start, end, r)
        out.append((set(nb), set(nb) | set(reference_ids(c, start, end, cfg.ref_stride, cfg.max_refs, nb))))
    return out


@pytest.mark.parametrize("start,end,cfg", [
    (0, 80, EngineConfig()),
    (7, 433, EngineConfig()),
    (3, 200, EngineConfig(window_step=5, max_refs=3)),
    (0, 120, EngineConfig(neighbor_radius=3, ref_stride=7, max_refs=40)),
    (0, 50, EngineConfig(max_refs=0)),
])
def test_the_windows_reach_is_what_the_engines_schedule_reads(start, end, cfg):
    """Every frame's writers, looked up near it, are exactly the windows that read it as a neighbour
    or a reference in the whole range (brute force with the engine's own functions)."""
    reach = Windows(start, end, cfg)
    by_hand = windows_by_hand(start, end, cfg)
    for e in range(start, end):
        expected = set().union(*[w for w, reads in by_hand if e in reads])
        assert reach.affected([e]) == expected, e
    assert reach.affected([start - 1, end]) == set()
    # a frame that is no reference is read by its own window only: 11 frames of 2,000
    assert len(Windows(0, 2000, EngineConfig()).affected([1234])) == 11


def test_a_reference_frame_reaches_the_windows_that_read_it_and_no_more():
    reach = Windows(0, 1000, EngineConfig())  # radius 5, references every 10th frame, 10 of them
    hit = reach.affected([500])
    assert 500 in hit and len(hit) > 11
    assert max(hit) - min(hit) < 130 and min(hit) > 380  # the windows whose 10 nearest references hold it


def test_chunk_plan_is_the_chunks_propagate_video_runs(monkeypatch):
    from app.core import propagate as prop

    seen = []
    real = prop.propagate

    def record(frames, masks, *a, **k):
        seen.append(len(frames))
        return real(frames, masks, *a, **k)

    monkeypatch.setattr(prop, "propagate", record)
    frames = make_frames(47, 32, 24)
    m = box(24, 32, 8, 16, 8, 16)
    got = {}
    propagate_video(FrameList(frames), MaskList([m] * 47), got.__setitem__, 3, 47, chunk=16, overlap=4)
    plan = chunk_plan(3, 47, 16, 4)
    assert seen == [b - ctx for ctx, _, _, b in plan]
    assert [(a, w) for _, a, w, _ in plan] == [(3, 15), (15, 23), (23, 31), (31, 39), (39, 47)]
    assert plan[0][0] == 3 and all(ctx == a - 4 for ctx, a, _, _ in plan[1:])
    assert chunk_plan(0, 200, pixels=3840 * 2160) == chunk_plan(0, 200, *fit_chunk(60, 10, 3840 * 2160))


def test_a_chunks_reach_is_the_chunks_that_read_the_frame():
    reach = Chunks(0, 200, 432 * 240)  # chunks write 0..49, 50..89, 90..129, ...; each reads 10 either side
    assert reach.affected([20]) == set(range(0, 50))
    assert reach.affected([55]) == set(range(0, 90))  # (the first chunk looks 10 frames ahead)
    assert reach.affected([85]) == set(range(50, 130))  # (and the third starts 10 frames back)
    assert reach.affected([199]) == set(range(170, 200))


def test_mask_reach_per_mode():
    cfg = EngineConfig()
    assert type(mask_reach("telea", cfg, 0, 10, 100)) is EachFrame
    assert mask_reach("telea", cfg, 0, 10, 100).affected([3, 4]) == {3, 4}
    assert type(mask_reach("sttn", cfg, 0, 10, 100)) is Windows
    crop = mask_reach("sttn", EngineConfig(crop_to_mask=True), 2, 10, 100)  # (the crop is every mask's box)
    assert type(crop) is MaskReach and crop.affected([5]) == set(range(2, 10))
    assert type(mask_reach("propagate+telea", cfg, 0, 10, 100)) is Chunks
    assert mask_reach(None, cfg, 0, 10, 100).affected([0]) == set(range(10))
    assert MaskReach((2, 9), (5, 6)).affected([2]) == {5} and not MaskReach((2, 9), (5, 6)).affected([9])


@pytest.mark.parametrize("step", [None, 5])
def test_an_sttn_run_over_part_of_a_range_gives_the_frames_a_whole_run_gives(make_clip, tiny_weights, step):
    """``only``: the windows holding those frames run (no other), with the whole range's windows and
    references, and only those frames reach the sink; they equal the whole run's (within float noise of
    other batch sizes in the encoder)."""
    reader = VideoReader(make_clip(n=40, width=108, height=60))
    masks = MaskStore(40, 108, 60)
    masks.set_many(range(2, 38), box(60, 108, 10, 30, 10, 40))
    cfg = EngineConfig(max_refs=3, ref_stride=7, window_step=step)
    engine = InpaintEngine(tiny_weights, cfg)
    whole = {}
    engine.run(reader, masks, whole.__setitem__, 1, 39)
    windows = []
    real = engine._predict_start
    engine._predict_start = lambda f, m, n, *a, **k: (windows.append(n), real(f, m, n, *a, **k))[1]
    only = [14, 15, 30]
    part, seen = {}, []
    n = engine.run(reader, masks, part.__setitem__, 1, 39, only=only, progress=seen.append)
    assert sorted(part) == only and n == 3
    expected = [c for c in window_schedule(1, 39, 5, step or 11) if set(only) & set(neighbours(c, 1, 39, 5))]
    assert len(windows) == len(expected) < len(window_schedule(1, 39, 5, step or 11))
    assert seen[-1].done == seen[-1].total == 3
    for i in only:
        assert np.abs(part[i].astype(int) - whole[i]).max() <= 1, i


def test_propagation_over_part_of_a_range():
    """Chunks writing none of ``only`` do not run; a chunk whose predecessor does not run starts from
    ``prior``'s frames, or, where there are none, its predecessors run too and the frames are the whole
    run's exactly."""
    n = 60
    frames = make_frames(n, 64, 48)
    m = box(48, 64, 14, 30, 20, 40)
    masks = MaskList([m] * n)
    whole = {}
    propagate_video(FrameList(frames), masks, whole.__setitem__, 0, n, chunk=16, overlap=4,
                    fill_remaining=fill_with_telea())
    plan = chunk_plan(0, n, 16, 4)  # writes 0..11, 12..19, 20..27, ...
    for prior in (None, lambda i: None):
        got = {}
        propagate_video(FrameList(frames), masks, got.__setitem__, 0, n, chunk=16, overlap=4,
                        fill_remaining=fill_with_telea(), only=[22, 23], prior=prior)
        assert sorted(got) == [22, 23] and all(np.array_equal(got[i], whole[i]) for i in got)
    asked, got = [], {}
    stats = propagate_video(FrameList(frames), masks, got.__setitem__, 0, n, chunk=16, overlap=4,
                            fill_remaining=fill_with_telea(), only=range(20, 28),
                            prior=lambda i: asked.append(i) or whole[i])
    assert asked == list(range(plan[2][0], 20)) and sorted(got) == list(range(20, 28)) and stats["frames"] == 8
    # (the context's propagated pixels count as missing: close to the whole run's, not equal)
    assert all(np.abs(got[i].astype(int) - whole[i]).mean() < 8 for i in got)


def test_fill_range_passes_only_on_in_every_mode(make_clip, tiny_weights):
    reader = VideoReader(make_clip(n=16, width=108, height=60))
    masks = MaskStore(16, 108, 60)
    masks.set_many(range(16), box(60, 108, 10, 30, 10, 40))
    engine = InpaintEngine(tiny_weights, EngineConfig(max_refs=2))
    for fill in ("telea", "sttn", "propagate+telea", "propagate+sttn"):
        whole, part = {}, {}
        cfg = EngineConfig(max_refs=2, fill=fill)
        fill_range(reader, masks, whole.__setitem__, 2, 14, cfg, engine)
        fill_range(reader, masks, part.__setitem__, 2, 14, cfg, engine, only=[0, 5, 6, 15])
        assert sorted(part) == [5, 6], fill
        assert all(np.abs(part[i].astype(int) - whole[i]).max() <= 1 for i in part), fill
