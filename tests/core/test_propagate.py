"""Flow-guided propagation on synthetic clips whose hidden content is known."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.core.errors import Cancelled, InpaintError
from app.core.jobs import CancelToken
from app.core.metrics import psnr
from app.core.propagate import (FrameList, MaskList, PropagateConfig, blend_fill, fill_with_telea,
                                membrane_fill, propagate, propagate_video)

W, H = 160, 96


def panning(n, step=3, seed=0):
    """A smooth random texture translating left by ``step`` px per frame: RGB uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 255, (H // 8 + 2, (W + step * n) // 8 + 2, 3), dtype=np.uint8)
    big = cv2.resize(big, (big.shape[1] * 8, big.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    return [np.ascontiguousarray(big[:H, step * i: step * i + W]) for i in range(n)]


def hole():
    m = np.zeros((H, W), bool)
    m[30:70, 50:90] = True
    return m


def blank(frames, m):
    out = [f.copy() for f in frames]
    for f in out:
        f[m] = 0
    return out


def test_membrane_fill_reproduces_a_linear_field():
    y, x = np.mgrid[0:40, 0:50].astype(np.float32)
    field = np.stack([0.1 * x + 2, -0.05 * y], -1)
    m = np.zeros((40, 50), bool)
    m[10:30, 12:40] = True
    broken = field.copy()
    broken[m] = 99
    filled = membrane_fill(broken, m)
    assert np.abs(filled - field).max() < 0.05  # linear functions are harmonic
    assert np.array_equal(filled[~m], field[~m])


def test_panning_clip_hidden_pixels_recovered():
    gt = panning(20)
    m = hole()
    out, remaining = propagate(blank(gt, m), [m] * len(gt))
    for o, g, b in zip(out, gt, blank(gt, m)):
        assert psnr(o, g, mask=m) > 35  # the bar; the worst frame measures 40.2 dB
        assert np.array_equal(o[~m], b[~m])  # unmasked pixels untouched
    assert sum(int(r.sum()) for r in remaining) == 0


def test_threads_give_the_same_result_as_one():
    # Flows and chain tracing run per frame (pair) on a thread pool: the result must not depend on it.
    gt = panning(12, step=4, seed=3)
    masks = [np.roll(hole(), 3 * i, axis=1) for i in range(12)]  # a moving hole, partly revealed
    holed = [blank([f], m)[0] for f, m in zip(gt, masks)]
    one = propagate(holed, masks, PropagateConfig(workers=1))
    many = propagate(holed, masks, PropagateConfig(workers=4))
    for a, b in zip(one[0] + one[1], many[0] + many[1]):
        np.testing.assert_array_equal(a, b)
    assert sum(int(r.sum()) for r in one[1]) < sum(int(m.sum()) for m in masks)  # it did fill something


def test_never_revealed_region_stays_missing():
    # A static scene: nothing behind the mask is ever visible.
    still = [panning(1)[0]] * 6
    m = hole()
    inp = blank(still, m)
    out, remaining = propagate(inp, [m] * 6)
    for o, r, b in zip(out, remaining, inp):
        assert np.array_equal(r, m)
        assert np.array_equal(o, b)


def test_region_revealed_in_part_only():
    # Moving 1 px/frame for 6 frames: only about a 5-px band at the hole's edges can be revealed.
    gt = panning(6, step=1)
    m = hole()
    out, remaining = propagate(blank(gt, m), [m] * 6)
    for r in remaining:
        assert r[m].mean() > 0.5          # the middle of the hole stays missing
        assert not r[~m].any()            # remaining is a subset of the mask
    assert sum(int((m & ~r).sum()) for r in remaining) > 0


def test_streaming_chunks_match_and_fill_remaining(tmp_path):
    gt = panning(30)
    m = hole()
    inp = blank(gt, m)
    got = {}
    stats = propagate_video(FrameList(inp), MaskList([m] * 30), lambda i, f: got.__setitem__(i, f),
                            chunk=16, overlap=4, fill_remaining=fill_with_telea())
    assert sorted(got) == list(range(30))
    assert stats["hole_pixels"] == 30 * int(m.sum())
    assert stats["propagated_pixels"] == stats["hole_pixels"]  # chains cross chunk borders
    assert min(psnr(got[i], gt[i], mask=m) for i in range(30)) > 30
    for i in range(30):
        assert np.array_equal(got[i][~m], inp[i][~m])


def test_fill_remaining_gets_only_unrevealed_pixels_and_seam_is_feathered():
    still = [panning(1)[0]] * 4
    m = hole()
    calls = []

    def grey(frames, masks):
        calls.append([mm.copy() for mm in masks])
        out = []
        for f, mm in zip(frames, masks):
            f = f.copy()
            f[mm] = 128
            out.append(f)
        return out

    inp = blank(still, m)
    half = m.copy()
    half[:, :70] = False  # pretend propagation filled the left half of the hole with 255
    prop = [f.copy() for f in inp]
    for f in prop:
        f[m & ~half] = 255
    out = blend_fill(prop, [m] * 4, [half] * 4, grey, band=4, keep=[True, False, False, False])
    assert not calls[0][0].any()                        # context frame: nothing asked
    asked = calls[0][1]
    assert asked[half].all() and not asked[~m].any()    # remaining + a band inside the hole only
    assert asked.sum() > half.sum()
    row = out[1][50, 60:75, 0].astype(int)              # across the seam at x = 70
    assert row[0] == 255 and row[-1] == 128
    assert all(a >= b for a, b in zip(row, row[1:]))   # monotone ramp, no hard step
    assert len(set(row.tolist())) > 3
    assert np.array_equal(out[0], prop[0])


def test_cancel_and_bad_arguments():
    gt = panning(8)
    m = hole()
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        propagate(blank(gt, m), [m] * 8, cancel=token)
    with pytest.raises(InpaintError):
        propagate_video(FrameList(gt), MaskList([m] * 8), lambda i, f: None, chunk=10, overlap=5)
    with pytest.raises(InpaintError):
        PropagateConfig(flow_preset="slowest")


def test_fill_with_engine_runs_sttn_on_what_is_left(fixture_weights):
    from app.core.engine import EngineConfig, InpaintEngine
    from app.core.propagate import fill_with_engine

    engine = InpaintEngine(fixture_weights, EngineConfig(device="cpu", dilate=0))
    still = [panning(1)[0]] * 2  # static: propagation reveals nothing, STTN fills it all
    m = hole()
    inp = blank(still, m)
    got, works = {}, []
    stats = propagate_video(FrameList(inp), MaskList([m] * 2), lambda i, f: got.__setitem__(i, f),
                            chunk=4, overlap=1, fill_remaining=fill_with_engine(engine),
                            progress=lambda p: works.append((p.work, len(got))))
    assert stats["propagated_pixels"] == 0
    # the STTN fill of the chunk reports before its frames are handed on, past propagation's tenth, and
    # on a CPU it rises inside the window, with the transformer's blocks (a window takes minutes there)
    before = [w for w, handed in works if w and handed == 0]
    assert max(w for w in before if w <= 0.1) == pytest.approx(0.1) and max(before) > 0.1
    filling = [w for w in before if w > 0.1]
    assert filling == sorted(filling) and len(set(filling)) > len(engine.model.transformer)
    for i in range(2):
        assert got[i].shape == inp[i].shape and got[i].dtype == np.uint8
        assert np.array_equal(got[i][~m], inp[i][~m])
        assert not np.array_equal(got[i][m], inp[i][m])  # the generator wrote the hole


def test_sampling_many_points_beyond_opencv_map_limit():
    from app.core import metrics
    from app.core.propagate import _sample

    img = np.arange(200 * 300, dtype=np.float32).reshape(200, 300)
    rng = np.random.default_rng(0)
    pos = np.stack([rng.integers(0, 300, 40000), rng.integers(0, 200, 40000)], 1).astype(np.float32)
    expect = img[pos[:, 1].astype(int), pos[:, 0].astype(int)]
    assert np.array_equal(_sample(img, pos), expect)
    assert np.array_equal(metrics.sample(img, pos), expect)


def test_large_frames_are_propagated_in_chunks_that_fit_the_memory_budget(monkeypatch):
    """At 4K every frame of a 60-frame chunk was held with its copies (190 MB a frame, 18 GB for 64
    frames). The chunk now holds what fits the budget, and the result still covers every frame."""
    from app.core import propagate as prop

    assert prop.fit_chunk(60, 10, 972 * 540) == (60, 10)  # the sizes the defaults were tuned on
    assert prop.fit_chunk(60, 10, 3840 * 2160) == (13, 4)
    assert prop.fit_chunk(60, 10, 7680 * 4320) == (prop.MIN_CHUNK, 2)
    monkeypatch.setattr(prop, "CHUNK_BUDGET", 12 * prop.CHUNK_BYTES_PER_PIXEL * W * H)  # 12 frames of W x H
    gt = panning(30)
    m = hole()
    frames = FrameList(blank(gt, m))
    held, most = set(), 0
    real_read = frames.read

    def read(i):
        nonlocal most
        held.add(i)
        most = max(most, len(held))
        return real_read(i)

    def sink(i, f):
        held.discard(i)
        got[i] = f

    frames.read = read
    got = {}
    stats = propagate_video(frames, MaskList([m] * 30), sink, fill_remaining=fill_with_telea())
    assert most <= 12 and sorted(got) == list(range(30))
    # (the price: what only frames beyond a chunk reveal is left to the fill; later chunks reach
    # back into the frames kept from the one before)
    assert stats["propagated_pixels"] > 0.9 * stats["hole_pixels"]
    assert min(psnr(got[i], gt[i], mask=m) for i in range(12, 30)) > 30


def test_progress_moves_and_cancel_stops_while_a_chunk_is_propagated():
    """The first chunk's flows and passes report before any frame is handed on, and a cancel there
    stops the run before the sink gets a frame (it sat at 0 % for minutes on a real clip)."""
    gt = panning(20)
    m = hole()
    inp = blank(gt, m)
    seen, got = [], []

    def progress(p):
        seen.append((p.work, len(got)))

    propagate_video(FrameList(inp), MaskList([m] * 20), lambda i, f: got.append(i), chunk=20, overlap=4,
                    progress=progress)
    early = [w for w, handed in seen if handed == 0 and w]
    assert len(early) >= 10 and early == sorted(early) and 0 < early[-1] <= 1
    token, after = CancelToken(), []

    def cancel_midway(p):
        if p.work and token.cancelled:
            after.append(p.work)
        elif p.work:
            token.cancel()

    with pytest.raises(Cancelled):
        propagate_video(FrameList(inp), MaskList([m] * 20), lambda i, f: after.append(i), chunk=20,
                        overlap=4, progress=cancel_midway, cancel=token)
    assert len(after) <= 2  # no frame handed on; at most the pairs already being worked on report
