import math

import numpy as np
import pytest
import torch

from app.core.train.losses import (LossWeights, d_hinge_loss, g_adversarial_loss, generator_loss, hole_l1,
                                   valid_l1)
from app.core.metrics import psnr, ssim  # the metrics the trainer validates with


@pytest.fixture
def small():
    pred = torch.tensor([[[[0.5, -1.0], [0.0, 1.0]]]])  # (1, 1, 2, 2)
    gt = torch.tensor([[[[0.0, 0.0], [0.0, 0.0]]]])
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])  # one missing pixel
    return pred, gt, mask


def test_hole_and_valid_l1_by_hand(small):
    pred, gt, mask = small
    assert hole_l1(pred, gt, mask).item() == pytest.approx(0.5)  # |0.5| over 1 hole pixel
    assert valid_l1(pred, gt, mask).item() == pytest.approx((1.0 + 0.0 + 1.0) / 3)


def test_region_l1_with_broadcast_mask():
    pred = torch.zeros(2, 3, 2, 2)
    pred[0, :, 0, 0] = torch.tensor([0.3, 0.6, 0.9])
    gt = torch.zeros(2, 3, 2, 2)
    mask = torch.zeros(2, 1, 2, 2)
    mask[0, 0, 0, 0] = 1
    mask[1, 0, 1, 1] = 1
    # hole: sum |d| * m / (3 channels * 2 hole pixels)
    assert hole_l1(pred, gt, mask).item() == pytest.approx((0.3 + 0.6 + 0.9) / 6)
    assert valid_l1(pred, gt, mask).item() == pytest.approx(0.0)


def test_hinge_losses_by_hand():
    real = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - x) = 0, 0.5, 2 -> mean 5/6
    fake = torch.tensor([-2.0, 0.0, 1.0])  # relu(1 + x) = 0, 1, 2 -> mean 1
    assert d_hinge_loss(real, fake).item() == pytest.approx(5 / 6 + 1)
    assert g_adversarial_loss(fake).item() == pytest.approx(1 / 3 * -(-2.0 + 0.0 + 1.0))


def test_generator_loss_weights(small):
    pred, gt, mask = small
    fake = torch.tensor([1.0, 3.0])
    total, parts = generator_loss(pred, gt, mask, fake, LossWeights(hole=2.0, valid=1.0, adv=0.01))
    assert parts == pytest.approx({"hole": 0.5, "valid": 2 / 3, "adv": -2.0})
    assert total.item() == pytest.approx(2 * 0.5 + 2 / 3 + 0.01 * -2.0)
    total, parts = generator_loss(pred, gt, mask, None)
    assert "adv" not in parts and total.item() == pytest.approx(0.5 + 2 / 3)


def test_psnr_by_hand():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 10  # mse = 100 / 48
    assert psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / (100 / 48)))
    assert psnr(a, a) == math.inf


def _ssim_reference(x, y):
    """Direct SSIM: explicit 11x11 Gaussian window at every valid position, one channel."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    win = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            px, py = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            mx, my = (win * px).sum(), (win * py).sum()
            vx, vy = (win * (px - mx) ** 2).sum(), (win * (py - my) ** 2).sum()
            cxy = (win * (px - mx) * (py - my)).sum()
            vals.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def test_ssim_against_direct_computation():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (20, 24), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    assert ssim(a, b) == pytest.approx(_ssim_reference(a, b), abs=1e-9)
    assert ssim(a, a) == pytest.approx(1.0)
    rgb_a, rgb_b = np.stack([a, a, b], -1), np.stack([b, a, a], -1)
    assert ssim(rgb_a, rgb_b) == pytest.approx((2 * ssim(a, b) + 1) / 3)
