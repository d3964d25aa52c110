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
