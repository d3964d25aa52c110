"""Training objectives of STTN (paper Eq. 6-10).

All functions take float tensors of equal shape (any layout, e.g. (B*T, 3, H, W)) with
``mask`` 1 = missing (broadcastable, e.g. (B*T, 1, H, W)), and return 0-d tensors.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

_EPS = 1e-8


def _region_l1(pred: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """mean(|pred - target| * region) / mean(region): L1 normalised by the region's size.

    Means run over the broadcast shape of the product, as in the authors' trainer; with a
    (N, 1, H, W) region and (N, 3, H, W) images this equals sum|.|*region / (3 * sum(region)).
    """
    diff = (pred - target).abs() * region
    return diff.mean() / region.expand_as(diff).mean().clamp_min(_EPS)


def hole_l1(pred, target, mask) -> torch.Tensor:
    """Eq. 6: L1 over missing pixels, normalised by the size of the hole."""
    return _region_l1(pred, target, mask)


def valid_l1(pred, target, mask) -> torch.Tensor:
    """Eq. 7: L1 over known pixels, normalised by the size of the known region."""
    return _region_l1(pred, target, 1.0 - mask)


def d_hinge_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Eq. 8: E[relu(1 - D(x))] + E[relu(1 + D(z))] for real x and generated z (scores of any shape)."""
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def g_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Eq. 9: -E[D(z)]."""
    return -fake_scores.mean()


@dataclass(frozen=True)
class LossWeights:
    """Eq. 10 weights (paper: hole 1, valid 1, adversarial 0.01)."""

    hole: float = 1.0
    valid: float = 1.0
    adv: float = 0.01


def generator_loss(pred, target, mask, fake_scores, weights: LossWeights = LossWeights()):
    """Eq. 10. Returns (total, {'hole': .., 'valid': .., 'adv': ..}) with unweighted parts as floats.

    ``fake_scores`` is D's output on the composited frames, or None to leave the adversarial term out.
    """
    hole = hole_l1(pred, target, mask)
    valid = valid_l1(pred, target, mask)
    total = weights.hole * hole + weights.valid * valid
    parts = {"hole": float(hole.detach()), "valid": float(valid.detach())}
    if fake_scores is not None and weights.adv:
        adv = g_adversarial_loss(fake_scores)
        total = total + weights.adv * adv
        parts["adv"] = float(adv.detach())
    return total, parts
