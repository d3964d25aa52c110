"""Random free-form masks for training and evaluation.

* ``stationary_mask``: paper supplement Algorithm 1. Control points are placed around a
  circle (evenly spaced angles, random radii) centred at a random pixel, joined into a
  closed contour by cubic Bezier segments (tangents from the neighbouring points, so the
  contour is smooth at every control point), and the contour is filled. It simulates a
  mask drawn around a watermark; the same mask is used for every frame.
* ``moving_masks``: the same kind of shape, moving along a random, slowly turning path
  (bouncing off the frame borders) while it scales and rotates a little every frame; it
  simulates object masks.
* ``sample_masks``: one or the other with equal probability (the training mix).

Every function takes a ``numpy.random.Generator`` (or an int seed) and draws all its
randomness from it, so a seed gives the same masks on every machine. Masks are uint8
arrays with 1 = missing (to be filled) and 0 = known.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

_SEGMENT_SAMPLES = 24
_SUBPIXEL_SHIFT = 4  # cv2.fillPoly fixed-point bits


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def bezier_closed_contour(points: np.ndarray, samples: int = _SEGMENT_SAMPLES) -> np.ndarray:
    """Closed smooth curve through ``points`` ((N, 2) x, y), N >= 3, as an (N*samples, 2) polyline.

    Segment i is a cubic Bezier from P[i] to P[i+1] whose inner control points follow the
    Catmull-Rom tangents (P[i+1] - P[i-1]) / 2, which makes the contour C1-continuous.
    """
    p = np.asarray(points, dtype=np.float64)
    n = len(p)
    if n < 3:
        raise ValueError("a closed contour needs at least 3 control points")
    prev, nxt, nxt2 = np.roll(p, 1, 0), np.roll(p, -1, 0), np.roll(p, -2, 0)
    c1 = p + (nxt - prev) / 6.0
    c2 = nxt - (nxt2 - p) / 6.0
    s = np.linspace(0.0, 1.0, samples, endpoint=False)[None, :, None]  # (1, S, 1)
    a, b, c, d = p[:, None], c1[:, None], c2[:, None], nxt[:, None]
    curve = (1 - s) ** 3 * a + 3 * (1 - s) ** 2 * s * b + 3 * (1 - s) * s ** 2 * c + s ** 3 * d
    return curve.reshape(-1, 2)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep the biggest 8-connected region of a {0,1} uint8 mask."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 2:
        return mask
    keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == keep).astype(np.uint8)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill enclosed holes (from self-crossing contours); the corner pixel must be background."""
    flood = mask.copy()
    ff = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    cv2.floodFill(flood, ff, (0, 0), 2)
    return (flood != 2).astype(np.uint8)


def random_shape(rng, max_length: float, max_points: int = 10, min_points: int = 5,
                 min_radius: float = 0.3) -> np.ndarray:
    """Algorithm 1 shape on its own square canvas, centred: (S, S) uint8, S = 2 * ceil(1.5 * max_length) + 1.

    Draws, in order: the number of control points in [min_points, max_points], a rotation of
    the circle, and one radius per point, uniform in [min_radius, 1] * max_length.
    """
    rng = _rng(rng)
    n = int(rng.integers(min_points, max_points + 1))
    offset = rng.uniform(0.0, 2 * math.pi)
    angles = offset + np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    radii = rng.uniform(min_radius, 1.0, n) * max_length
    half = int(math.ceil(1.5 * max_length)) + 1  # Bezier segments can bulge past the control points
    size = 2 * half + 1
    pts = np.stack([half + np.sin(angles) * radii, half + np.cos(angles) * radii], axis=1)
    curve = bezier_closed_contour(pts)
    canvas = np.zeros((size, size), np.uint8)
    fixed = np.round(curve * (1 << _SUBPIXEL_SHIFT)).astype(np.int32)
    cv2.fillPoly(canvas, [fixed], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_SHIFT)
    return _largest_component(_fill_holes(canvas))


def _place(shape: np.ndarray, h: int, w: int, cx: float, cy: float, angle_deg: float = 0.0,
           scale: float = 1.0) -> np.ndarray:
    """Paste ``shape`` (S, S) rotated/scaled with its centre at (cx, cy) into an (h, w) mask."""
    c = (shape.shape[1] - 1) / 2.0
    m = cv2.getRotationMatrix2D((c, c), angle_deg, scale)
    m[0, 2] += cx - c
    m[1, 2] += cy - c
    out = cv2.warpAffine(shape, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return _largest_component((out > 0).astype(np.uint8))


def _default_length(h: int, w: int) -> float:
    return 0.45 * min(h, w)


def stationary_mask(h: int, w: int, rng, max_points: int = 10, max_length: float | None = None,
                    min_points: int = 5) -> np.ndarray:
    """One Algorithm 1 mask: (H, W) uint8, 1 = missing; a single filled connected region.

    The contour's centre is uniform over the frame; radii are at most ``max_length`` pixels
    (default 0.45 * min(H, W)). Deterministic given the generator's state.
    """
    rng = _rng(rng)
    max_length = _default_length(h, w) if max_length is None else float(max_length)
    shape = random_shape(rng, max_length, max_points, min_points)
    cx, cy = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
    return _place(shape, h, w, cx, cy)


def moving_masks(t: int, h: int, w: int, rng, max_points: int = 10, max_length: float | None = None,
                 speed: tuple[float, float] = (0.01, 0.05)) -> np.ndarray:
    """A shape moving and deforming over ``t`` frames: (T, H, W) uint8, 1 = missing.

    The shape (radii up to ``max_length``, default 0.3 * min(H, W)) starts at a random pixel and
    moves ``speed`` * W pixels per frame (uniform in that range) in a direction that turns
    randomly; it bounces off the frame borders. Each frame its scale does a random walk in
    [0.7, 1.3] and it rotates by a few degrees. Every frame holds one connected region.
    """
    rng = _rng(rng)
    max_length = 0.3 * min(h, w) if max_length is None else float(max_length)
    shape = random_shape(rng, max_length, max_points)
    cx, cy = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
    v = rng.uniform(*speed) * w
    heading = rng.uniform(0, 2 * math.pi)
    scale, angle = 1.0, 0.0
    out = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        out[i] = _place(shape, h, w, cx, cy, angle, scale)
        heading += rng.normal(0.0, 0.3)
        scale = float(np.clip(scale * math.exp(rng.normal(0.0, 0.08)), 0.7, 1.3))
        angle += rng.normal(0.0, 6.0)
        cx += v * math.cos(heading)
        cy += v * math.sin(heading)
        if not 0 <= cx <= w - 1:
            heading = math.pi - heading
            cx = float(np.clip(cx, 0, w - 1))
        if not 0 <= cy <= h - 1:
            heading = -heading
            cy = float(np.clip(cy, 0, h - 1))
    return out


def sample_masks(t: int, h: int, w: int, rng, p_moving: float = 0.5) -> np.ndarray:
    """Training masks for one sample: stationary (repeated) or moving, with probability ``p_moving``
    of moving. Returns (T, H, W) uint8, 1 = missing."""
    rng = _rng(rng)
    if rng.random() < p_moving:
        return moving_masks(t, h, w, rng)
    return np.repeat(stationary_mask(h, w, rng)[None], t, axis=0)
