"""Metrics against hand-computed values and direct formulas."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from app.core import metrics


def test_psnr_of_known_mse():
    a = np.full((16, 16, 3), 100, np.uint8)
    b = a.copy()
    b[..., 0] += 10  # squared error 100 on one channel of three -> MSE 100/3
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / (100 / 3)))
    assert metrics.psnr(a, a) == math.inf
    hole = np.zeros((16, 16), bool)
    hole[:4] = True
    c = a.copy()
    c[hole] = 90  # error only inside the hole: MSE 100 there
    assert metrics.psnr(a, c, mask=hole) == pytest.approx(10 * math.log10(255 ** 2 / 100))


def _gauss_window():
    g = cv2.getGaussianKernel(11, 1.5)
    return g @ g.T


def test_ssim_identical_is_one_and_matches_direct_formula():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (11, 11, 3), dtype=np.uint8)
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    b = np.clip(a.astype(int) + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    # On an 11x11 image only the centre pixel survives the 5-pixel crop, and its window is the
    # whole image: Wang et al.'s formula with Gaussian-weighted statistics, written out.
    w = _gauss_window()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    per_channel = []
    for ch in range(3):
        x, y = a[..., ch].astype(float), b[..., ch].astype(float)
        mx, my = (w * x).sum(), (w * y).sum()
        vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
        cxy = (w * (x - mx) * (y - my)).sum()
        per_channel.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))
    assert metrics.ssim(a, b) == pytest.approx(np.mean(per_channel), abs=1e-9)


def test_ssim_map_against_direct_formula_at_interior_pixels():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (32, 40), dtype=np.uint8)
    b = cv2.GaussianBlur(a, (5, 5), 1.0)
    smap = metrics.ssim_map(a, b)
    w = _gauss_window()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    for (i, j) in [(5, 5), (10, 20), (26, 34)]:
        x = a[i - 5:i + 6, j - 5:j + 6].astype(float)
        y = b[i - 5:i + 6, j - 5:j + 6].astype(float)
        mx, my = (w * x).sum(), (w * y).sum()
        vx, vy = (w * x * x).sum() - mx ** 2, (w * y * y).sum() - my ** 2
        cxy = (w * x * y).sum() - mx * my
        ref = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
        assert smap[i, j] == pytest.approx(ref, abs=1e-9)
    assert 0 < metrics.ssim(a, b) < 1


def _scene(n, shift=0, seed=0):
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 255, (12, 20 + n, 3), dtype=np.uint8)
    big = cv2.resize(big, (big.shape[1] * 8, 96), interpolation=cv2.INTER_CUBIC)
    return [np.ascontiguousarray(big[:, shift * i: shift * i + 128]) for i in range(n)]


def test_warp_error_zero_when_static_and_higher_with_flicker():
    static = _scene(6)
    frames = [static[0]] * 6
    assert metrics.warp_error(frames) == pytest.approx(0.0, abs=1e-12)
    moving = _scene(6, shift=2)
    smooth = metrics.warp_error(moving)
    flicker = [np.clip(f.astype(int) + (12 if i % 2 else -12), 0, 255).astype(np.uint8) for i, f in enumerate(moving)]
    ref = metrics.WarpReference(moving)
    # Brightness alternating by +-12 levels: squared step 24^2 / 255^2 ~ 8.9e-3 wherever not clipped.
    assert ref.error(flicker) > 5e-3
    assert smooth < 1e-3
    assert ref.error(moving) == pytest.approx(smooth)


def test_frechet_distance_of_gaussians():
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 2.0])
    s = np.diag([1.0, 2.0, 3.0])
    assert metrics.frechet_distance(mu1, s, mu1, s) == pytest.approx(0.0, abs=1e-9)
    assert metrics.frechet_distance(mu1, s, mu2, s) == pytest.approx(9.0)
    # Diagonal covariances: sum (sqrt(a) - sqrt(b))^2.
    s2 = np.diag([4.0, 2.0, 12.0])
    expect = (1 - 2) ** 2 + 0 + (math.sqrt(3) - math.sqrt(12)) ** 2
    assert metrics.frechet_distance(mu1, s, mu1, s2) == pytest.approx(expect)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 4))
    assert metrics.fid_from_features(x, x + 1.0) == pytest.approx(4.0, rel=1e-6)


def test_i3d_hook_needs_torchscript(tmp_path):
    import torch

    from app.core.errors import InpaintError

    with pytest.raises(InpaintError):
        metrics.I3DFeatures(tmp_path / "missing.pt")
    sd = tmp_path / "state_dict.pt"
    torch.save({"w": torch.zeros(2)}, sd)
    with pytest.raises(InpaintError, match="TorchScript"):
        metrics.I3DFeatures(sd)

    class Pool(torch.nn.Module):  # stand-in extractor: mean colour per clip, (N, 3)
        def forward(self, x):
            return x.mean(dim=(2, 3, 4))

    ts = tmp_path / "pool.pt"
    torch.jit.save(torch.jit.script(Pool()), str(ts))
    feats = metrics.I3DFeatures(ts, size=(32, 32))([np.full((20, 30, 3), 255, np.uint8)] * 4)
    assert feats.shape == (3,) and np.allclose(feats, 1.0)
