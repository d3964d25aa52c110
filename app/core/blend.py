"""Seam matching: make generated pixels meet the frame around the hole without an edge.

A generator's fill can be right in structure and wrong in level: a barely trained model, or
any model on footage unlike its training data, fills a hole a little too dark or too flat, and
the error shows as a visible patch with a sharp border. ``match_boundary`` keeps the fill's
detail (its gradients) and replaces its level by the frame's: the difference between the frame
and the fill on the pixels around the hole is interpolated smoothly across the hole (a membrane,
i.e. the harmonic function with those border values) and added to the fill. That is Poisson
image editing (Perez et al. 2003) with the fill as the guidance field, solved as a correction
so that a fill that already matches is left unchanged.
"""
from __future__ import annotations

import cv2
import numpy as np

from .masks import shrink_mask
from .propagate import membrane_fill


def match_boundary(fill: np.ndarray, frame: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Return ``fill`` corrected inside ``hole`` so that it agrees with ``frame`` at the hole's border.

    fill: float32 (h, w, 3) RGB in [0, 255], the generator's output at its own size;
    frame: uint8 or float (H, W, 3), the frame the fill goes into (any size: it is resized to
    the fill's); hole: bool (H, W) in the frame's size, True where the fill is used.
    Pixels outside the hole are returned unchanged. The correction is computed at the fill's
    size (it is smooth, so nothing is lost by that) and is zero where the fill already matches.
    """
    fill = np.asarray(fill, np.float32)
    h, w = fill.shape[:2]
    if frame.shape[:2] != (h, w):
        small = cv2.resize(np.asarray(frame), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    else:
        small = np.asarray(frame, np.float32)
    # Any coverage of a small pixel marks it as hole: its value mixes in what is being removed.
    small_hole = shrink_mask(hole, (w, h))
    if not small_hole.any() or small_hole.all():
        return fill
    offset = membrane_fill(small - fill, small_hole)
    out = fill.copy()
    out[small_hole] += offset[small_hole]
    return out


def membrane_fill_torch(values, hole, iters: int = 30):
    """``membrane_fill`` for a batch of tensors, on whatever device they are on (the engine's GPU).

    values: float (N, C, h, w); hole: bool (N, 1, h, w). Returns values with the hole replaced by
    the harmonic interpolation of the values around it, the same coarse-to-fine Jacobi scheme as
    the NumPy version but over whole frames (no cropping to the hole), so every frame of a window
    is solved in the same few hundred kernel launches instead of one CPU pass per frame.
    """
    import torch
    import torch.nn.functional as F

    h, w = hole.shape[-2:]
    known = (~hole).to(values.dtype)
    if min(h, w) <= 8:
        total = (values * known).sum((2, 3), keepdim=True)
        count = known.sum((2, 3), keepdim=True).clamp_min(1)
        out = torch.where(hole, total / count, values)
        sweeps = 4 * max(h, w)  # plain Jacobi converges in O(size) sweeps on a small grid
    else:
        # Coarse level: known-weighted 2x2 averages; cells without a known pixel are the coarse hole.
        ks = F.avg_pool2d(known, 2, ceil_mode=True)
        vs = F.avg_pool2d(values * known, 2, ceil_mode=True) / ks.clamp_min(1e-6)
        coarse = membrane_fill_torch(vs, ks < 1e-6, iters)
        up = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
        out = torch.where(hole, up, values)
        sweeps = iters
    for _ in range(sweeps):
        p = F.pad(out, (1, 1, 1, 1), mode="replicate")
        mean4 = (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]) * 0.25
        out = torch.where(hole, mean4, out)
    return out


def match_boundary_torch(fill, frame, hole):
    """``match_boundary`` for a batch at the fill's own size, on the fill's device.

    fill: float (N, 3, h, w) in [0, 255]; frame: (N, 3, h, w) (any dtype) the frames at the same
    size; hole: (N, 1, h, w) bool or 0/1, True where the fill is used. Returns the corrected fill
    (float32); outside the hole it is unchanged, and frames whose hole is empty or total are too.
    """
    import torch

    fill = fill.float()
    hole = hole.bool()
    if hole.device.type == "cpu" and not bool(hole.any()):  # (on a GPU the test would wait for the queue)
        return fill
    offset = membrane_fill_torch(frame.float() - fill, hole)
    whole = hole.flatten(1).all(1).view(-1, 1, 1, 1)  # nothing around the hole to match
    return torch.where(hole & ~whole, fill + offset, fill)
