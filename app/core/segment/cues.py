"""Weight-free cues for segmenting and tracking one object: camera motion, residual motion, colour.

* ``camera_motion(flow, exclude)``: the background's motion as a RANSAC homography fitted to a
  dense flow field (pans, zooms, small rotations), and the residual flow left after removing it.
* ``motion_logit(residual, obj_motion)``: per pixel, does it move like the object (> 0) or like
  the background (< 0)?
* ``ColourModel``: object and background colour histograms; ``logit(rgb)`` is the per-pixel
  log-likelihood ratio object : background.

All work on numpy arrays; no Qt, no learned weights.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np


def camera_motion(flow: np.ndarray, exclude: Optional[np.ndarray] = None, step: int = 4,
                  thresh: float = 1.0) -> tuple[Optional[np.ndarray], np.ndarray]:
    """(homography, residual) for a flow field ``flow`` (H, W, 2) where ``img(x) ~ other(x + flow(x))``.

    The homography maps a pixel to where the background puts it in the other frame; ``residual``
    (H, W, 2) is the flow minus that background motion (about 0 on the background). Pixels in
    ``exclude`` (bool (H, W), e.g. the object) are left out of the fit. Falls back to the median
    translation when the fit fails.
    """
    H, W = flow.shape[:2]
    gy, gx = np.mgrid[step // 2:H:step, step // 2:W:step]
    gy, gx = gy.ravel(), gx.ravel()
    if exclude is not None:
        keep = ~exclude[gy, gx]
        if keep.sum() >= 32:
            gy, gx = gy[keep], gx[keep]
    src = np.stack([gx, gy], 1).astype(np.float32)
    dst = src + flow[gy, gx]
    hom = None
    if len(src) >= 8:
        hom, _ = cv2.findHomography(src, dst, cv2.RANSAC, thresh, maxIters=500)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    if hom is None:
        t = np.median(dst - src, axis=0)
        return None, flow - t[None, None, :].astype(np.float32)
    pts = cv2.perspectiveTransform(np.stack([xx, yy], -1).reshape(1, -1, 2), hom).reshape(H, W, 2)
    bg = pts - np.stack([xx, yy], -1)
    return hom, (flow - bg).astype(np.float32)


def motion_logit(residual: np.ndarray, obj_motion, min_speed: float = 0.8, gain: float = 2.0) -> Optional[np.ndarray]:
    """Per-pixel logit (float32 (H, W)) that a pixel moves with the object rather than the background.

    ``obj_motion``: the object's residual motion (dx, dy). Returns None when the object moves
    with the background (``|obj_motion| < min_speed``): no motion cue then. The logit is
    ``gain * (|r| - |r - m|) / |m|``, clipped to +-gain: +gain where the pixel moves exactly like
    the object, -gain where it moves exactly like the background.
    """
    m = np.asarray(obj_motion, np.float32)
    speed = float(np.hypot(*m))
    if speed < min_speed:
        return None
    r0 = np.hypot(residual[..., 0], residual[..., 1])
    r1 = np.hypot(residual[..., 0] - m[0], residual[..., 1] - m[1])
    return np.clip(gain * (r0 - r1) / speed, -gain, gain).astype(np.float32)


class ColourModel:
    """Object and background colour histograms (``bins`` per channel) with a slowly updated copy.

    ``fit`` sets the anchor (the keyframe); ``update`` blends a tracked frame in at ``rate`` while
    the anchor keeps weight ``anchor`` so the model cannot drift onto the background.
    """

    def __init__(self, bins: int = 16, anchor: float = 0.5):
        self.bins = bins
        self.anchor = anchor
        self._fg0 = self._bg0 = self._fg = self._bg = None

    def _hist(self, rgb, mask, index=None):
        idx = (self._index(rgb) if index is None else index)[mask]
        h = np.bincount(idx, minlength=self.bins ** 3).astype(np.float32)
        h = cv2.GaussianBlur(h.reshape(self.bins, self.bins * self.bins), (3, 3), 0).ravel()  # mild smoothing
        return (h + 0.5) / (h.sum() + 0.5 * h.size)

    def _index(self, rgb):
        return colour_bins(rgb, self.bins)

    @property
    def ready(self) -> bool:
        return self._fg is not None

    def fit(self, rgb: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> None:
        if not fg.any() or not bg.any():
            return
        self._fg0, self._bg0 = self._hist(rgb, fg), self._hist(rgb, bg)
        self._fg, self._bg = self._fg0.copy(), self._bg0.copy()

    def update(self, rgb: np.ndarray, fg: np.ndarray, bg: np.ndarray, rate: float = 0.2,
               index: Optional[np.ndarray] = None) -> None:
        """``index``: ``colour_bins(rgb, self.bins)`` when the caller has it already."""
        if not self.ready:
            self.fit(rgb, fg, bg)
            return
        if fg.sum() >= 16:
            self._fg = (1 - rate) * self._fg + rate * self._hist(rgb, fg, index)
        if bg.sum() >= 16:
            self._bg = (1 - rate) * self._bg + rate * self._hist(rgb, bg, index)

    def logit(self, rgb: np.ndarray, index: Optional[np.ndarray] = None) -> np.ndarray:
        """log p(colour | object) - log p(colour | background), float32 (H, W). ``index``:
        ``colour_bins(rgb, self.bins)`` when the caller has it already. All 0 (no colour evidence)
        before a fit, which an object covering the whole frame never gets: no background to learn."""
        if not self.ready:
            return np.zeros(rgb.shape[:2], np.float32)
        a = self.anchor
        fg = a * self._fg0 + (1 - a) * self._fg
        bg = a * self._bg0 + (1 - a) * self._bg
        table = np.log(fg / bg).astype(np.float32)
        return table[self._index(rgb) if index is None else index]


def colour_bins(rgb: np.ndarray, bins: int = 16) -> np.ndarray:
    """Each pixel's bin of a ``bins``^3 RGB histogram, int32 (H, W)."""
    q = (rgb.astype(np.int32) * bins) >> 8
    return (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]


def ring(mask: np.ndarray, inner: int, outer: int) -> np.ndarray:
    """Bool pixels between ``inner`` and ``outer`` pixels outside ``mask``."""
    m = mask.astype(np.uint8)
    d = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    return (d > inner) & (d <= outer)


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the mask's edge in pixels: positive inside, negative outside (float32 (H, W))."""
    m = mask.astype(np.uint8)
    return (cv2.distanceTransform(m, cv2.DIST_L2, 3) - cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)).astype(np.float32)


def texture_weight(rgb: np.ndarray, scale: float = 15.0, size: int = 9) -> np.ndarray:
    """How far to trust optical flow per pixel, in [0, 1]: local mean gradient magnitude / ``scale``.

    Flow in flat regions (a shadow on clay, the sky) is interpolated from the surroundings and
    says little about which way the pixel moves.
    """
    if scale <= 0:
        return np.ones(rgb.shape[:2], np.float32)
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 4
    return np.clip(cv2.blur(mag, (size, size)) / scale, 0, 1)


def superpixels(bgr: np.ndarray, step: int = 12) -> np.ndarray:
    """Label map int32 (H, W), labels 1..n: watershed on the image from a grid of seeds ``step`` apart.

    A cheap stand-in for SLIC (no opencv-contrib): regions follow colour edges and stay about
    ``step`` px across. Watershed lines are given to a neighbouring region.
    """
    H, W = bgr.shape[:2]
    markers = np.zeros((H, W), np.int32)
    ys, xs = np.mgrid[step // 2:H:step, step // 2:W:step]
    markers[ys.ravel(), xs.ravel()] = np.arange(1, ys.size + 1, dtype=np.int32)
    cv2.watershed(np.ascontiguousarray(cv2.GaussianBlur(bgr, (3, 3), 0)), markers)
    lines = markers < 0
    markers[lines] = 0
    grown = cv2.dilate(markers.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
    markers[lines] = grown[lines]
    markers[markers == 0] = 1  # isolated line pixels (never in practice)
    return markers
