"""Seam matching (app.core.blend.match_boundary) and its use by the engine."""
import numpy as np
import pytest
import torch

from app.core.blend import match_boundary, match_boundary_torch, membrane_fill_torch
from app.core.config import EngineConfig
from app.core.engine import InpaintEngine
from app.core.errors import InpaintError
from app.core.propagate import FrameList, MaskList
from app.core.sttn import GeneratorConfig, InpaintGenerator


def _texture(h, w, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(60, 190, (h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
    import cv2

    return cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)[:h, :w]


def _disc(h, w, r):
    yy, xx = np.mgrid[:h, :w]
    return (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < r * r


def test_constant_level_error_is_removed_and_detail_kept():
    h, w = 60, 80
    frame = _texture(h, w)
    hole = _disc(h, w, 18)
    detail = 12 * np.sin(np.arange(w) / 3.0)[None, :, None]
    fill = (frame + detail - 40.0).astype(np.float32)  # right detail, level 40 too dark
    out = match_boundary(fill, frame, hole)
    # Inside, the level is corrected; the detail (the fill's own gradients) stays.
    err_before = np.abs(fill[hole] - (frame + detail)[hole]).mean()
    err_after = np.abs(out[hole] - (frame + detail)[hole]).mean()
    assert err_before == pytest.approx(40.0, abs=0.5)
    assert err_after < 6.0  # the border's detail term is interpolated too; the 40-level error is gone
    assert abs(out[hole].mean() - (frame + detail)[hole].mean()) < 2.0
    # Outside the hole nothing changes.
    np.testing.assert_array_equal(out[~hole], fill[~hole])


def test_matching_fill_is_left_unchanged():
    h, w = 48, 64
    frame = _texture(h, w, 1)
    hole = _disc(h, w, 12)
    fill = frame.copy()
    fill[hole] = 0.5 * frame[hole] + 50  # wrong inside, exact on the border
    out = match_boundary(fill, frame, hole)
    np.testing.assert_allclose(out, fill, atol=1e-3)


def test_linear_offset_is_removed_exactly():
    # A plane is harmonic: the membrane reproduces it, so a fill off by a ramp is corrected exactly.
    h, w = 40, 56
    frame = _texture(h, w, 2)
    hole = np.zeros((h, w), bool)
    hole[10:30, 12:44] = True
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    ramp = (0.8 * xx - 0.5 * yy + 7)[..., None]
    out = match_boundary(frame - ramp, frame, hole)
    assert np.abs(out[hole] - frame[hole]).max() < 0.5


def test_frame_larger_than_fill_is_resized():
    h, w = 60, 80
    big = np.repeat(np.repeat(_texture(h, w, 3), 2, 0), 2, 1)  # the frame at twice the fill's size
    hole_big = np.repeat(np.repeat(_disc(h, w, 15), 2, 0), 2, 1)
    fill = _texture(h, w, 3) + 30
    out = match_boundary(fill, big.astype(np.uint8), hole_big)
    small_hole = _disc(h, w, 15)
    assert abs((out[small_hole] - _texture(h, w, 3)[small_hole]).mean()) < 3.0


def test_empty_or_full_hole_returns_fill():
    fill = _texture(20, 24)
    frame = fill + 10
    for hole in (np.zeros((20, 24), bool), np.ones((20, 24), bool)):
        np.testing.assert_array_equal(match_boundary(fill, frame, hole), fill)


def test_engine_config_rejects_unknown_seam():
    with pytest.raises(InpaintError, match="seam must be one of"):
        EngineConfig(seam="poisson")


def _run(seam, frames, masks, on_device=False):
    torch.manual_seed(0)
    cfg = GeneratorConfig(channels=16, blocks=1, patch_sizes=((8, 8), (4, 4)), width=32, height=32)
    engine = InpaintEngine(InpaintGenerator(cfg), EngineConfig(device="cpu", dilate=0, seam=seam, precision="fp32"))
    engine.seam_on_device = on_device  # the GPU's path (torch, per window), here on the CPU
    out = {}
    engine.run(FrameList(frames), MaskList(masks), lambda i, rgb: out.__setitem__(i, rgb))
    return [out[i] for i in range(len(frames))]


def test_engine_fill_meets_the_frame_with_seam_matching():
    # A flat bright clip: whatever an untrained generator paints (near mid-grey), with seam matching the filled
    # pixels next to the hole's border take the frame's level; without it they need not.
    n, h, w = 4, 64, 64
    frames = [np.full((h, w, 3), 200, np.uint8) for _ in range(n)]
    hole = _disc(h, w, 14)
    masks = [hole] * n
    import cv2

    inner_ring = hole & ~cv2.erode(hole.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2).astype(bool)
    plain = _run("none", frames, masks)
    matched = _run("match", frames, masks)
    err_plain = np.mean([np.abs(f[inner_ring].astype(float) - 200).mean() for f in plain])
    err_matched = np.mean([np.abs(f[inner_ring].astype(float) - 200).mean() for f in matched])
    assert err_plain > 5  # the untrained generator is far off the frame
    assert err_matched < err_plain / 3
    for f in matched:  # pixels outside the hole are the input's
        np.testing.assert_array_equal(f[~hole], frames[0][~hole])


def _batch(*arrays):
    return [torch.from_numpy(np.ascontiguousarray(np.stack(a))).permute(0, 3, 1, 2) if np.stack(a).ndim == 4
            else torch.from_numpy(np.stack(a))[:, None] for a in arrays]


def test_torch_membrane_agrees_with_numpy_and_with_the_exact_solution():
    # The GPU's solver (whole frames, batched) and the CPU's (cropped to the hole, one frame at a time)
    # approximate the same harmonic interpolation: both near the converged solution, and near each other.
    from app.core.propagate import membrane_fill

    rng = np.random.default_rng(4)
    h, w = 96, 160
    values = [(_texture(h, w, s) - 128 + rng.normal(0, 3, (h, w, 3))).astype(np.float32) for s in range(3)]
    holes = [_disc(h, w, 30), np.roll(_disc(h, w, 20), 40, axis=1), np.zeros((h, w), bool)]
    v, hole = _batch(values, holes)
    exact = membrane_fill_torch(v.double(), hole, 2000).permute(0, 2, 3, 1).numpy()
    fast = membrane_fill_torch(v, hole).permute(0, 2, 3, 1).numpy()
    ref = np.stack([membrane_fill(a, b) for a, b in zip(values, holes)])
    inside = np.stack(holes)
    scale = np.abs(exact[inside]).mean()
    err_fast = np.abs(fast[inside] - exact[inside]).mean() / scale
    err_cpu = np.abs(ref[inside] - exact[inside]).mean() / scale
    assert err_fast < 0.1 and err_cpu < 0.1  # both within 10% of the converged solution (30 sweeps a level)
    assert err_fast <= 1.25 * err_cpu  # the GPU's solver is no coarser than the CPU's
    assert np.abs(fast[inside] - ref[inside]).mean() / scale < 0.15
    np.testing.assert_array_equal(fast[~inside], np.stack(values)[~inside])  # outside: untouched


def test_torch_match_boundary_removes_a_level_error_per_frame():
    h, w = 60, 80
    frames = [_texture(h, w, s) for s in (5, 6, 7)]
    holes = [_disc(h, w, 18), np.zeros((h, w), bool), np.ones((h, w), bool)]
    fills = [f - 40.0 for f in frames]
    fill, frame, hole = _batch(fills, frames, holes)
    out = match_boundary_torch(fill, frame, hole).permute(0, 2, 3, 1).numpy()
    assert np.abs(out[0][holes[0]] - frames[0][holes[0]]).mean() < 1.0  # corrected
    np.testing.assert_array_equal(out[0][~holes[0]], fills[0][~holes[0]])
    np.testing.assert_array_equal(out[1], fills[1])  # no hole: unchanged
    np.testing.assert_array_equal(out[2], fills[2])  # all hole: nothing to match, unchanged


def test_engine_seam_matching_on_the_device_path_matches_the_cpu_path():
    n, h, w = 4, 64, 64
    frames = [(_texture(h, w, 8 + i)).astype(np.uint8) for i in range(n)]
    masks = [_disc(h, w, 14)] * n
    cpu = _run("match", frames, masks)
    device_path = _run("match", frames, masks, on_device=True)
    plain = _run("none", frames, masks)
    hole = masks[0]
    diff = np.mean([np.abs(a[hole].astype(float) - b[hole].astype(float)).mean() for a, b in zip(cpu, device_path)])
    corr = np.mean([np.abs(a[hole].astype(float) - b[hole].astype(float)).mean() for a, b in zip(cpu, plain)])
    assert corr > 5  # seam matching changes the fill a lot here ...
    assert diff < 0.1 * corr  # ... and both paths change it the same way
    for f, src in zip(device_path, frames):  # outside the hole: the input's pixels
        np.testing.assert_array_equal(f[~hole], src[~hole])
