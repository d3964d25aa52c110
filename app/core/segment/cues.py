"""Weight-free cues for segmenting and tracking one object: camera motion, residual motion, colour.

* ``camera_motion(flow, exclude)``: the background's motion as a RANSAC homography fitted to a
  dense flow field (pans, zooms, small rotations), and the residual flow left after removing it.
* ``motion_logit(residual, obj_motion)``: per pixel, does it move like the object (> 0) or like
  the background (< 0)?
* ``ColourModel``: object and background colour histograms; ``logit(rgb)`` is the per-pixel
  log-likelihood ratio object : background.
* ``BackgroundPlate``: a frame's background as the per-pixel median of its neighbours aligned to
  it by the camera's homography; ``z(i)``, how far frame ``i`` differs from it (in units of the
  plate's own spread), is large on whatever moves against the background, all of it.
* ``StillTest``: does what a mask covers stay put in the picture (a logo, a caption burnt in, even
  translucent) while what is around it changes?

All work on numpy arrays; no Qt, no learned weights.
"""
from __future__ import annotations

import functools
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
    hom, t = _fit_camera(flow, exclude, step, thresh)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    if hom is None:
        return None, flow - t[None, None, :].astype(np.float32)
    pts = cv2.perspectiveTransform(np.stack([xx, yy], -1).reshape(1, -1, 2), hom).reshape(H, W, 2)
    bg = pts - np.stack([xx, yy], -1)
    return hom, (flow - bg).astype(np.float32)


def _fit_camera(flow, exclude, step, thresh):
    """(homography or None, median translation) of ``flow`` sampled every ``step`` px (``camera_motion``)."""
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
    return hom, np.median(dst - src, axis=0)


def camera_homography(flow: np.ndarray, step: int = 4, thresh: float = 1.0) -> np.ndarray:
    """The background's motion in ``flow`` (as ``camera_motion``) as a 3x3 homography from a pixel
    of the flow's frame to the other frame; the median translation when no homography fits."""
    hom, t = _fit_camera(flow, None, step, thresh)
    if hom is None or not np.isfinite(hom).all() or abs(hom[2, 2]) < 1e-9:
        return np.array([[1, 0, t[0]], [0, 1, t[1]], [0, 0, 1]], np.float64)
    return hom / hom[2, 2]


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


class StillTest:
    """Compares frames with a reference frame at the same place, inside a mask and in a ring around it.

    A still overlay keeps its pixels where the background around it changes (a translucent one
    changes by its transparency times the background's change). Per frame (``__call__``) two
    shares are read inside the mask and in the ring, over the pixels whose neighbourhood changed:

    * ``flat``: pixels that changed under ``low`` x the ring's median change;
    * ``rel``: pixels that changed under ``low`` x the most their 9x9 neighbourhood changed (the
      background's change there: a translucent overlay's pixels change by a fraction of it).

    Only a crop around the mask is kept (no whole frame). ``__call__`` returns None when the ring
    changed too little to tell (a still camera over a still background), else ``(flat_in,
    flat_ring, rel_in, rel_ring)``.
    """

    def __init__(self, rgb: np.ndarray, mask: np.ndarray, band: int, low: float = 0.35,
                 min_change: float = 12.0):
        H, W = mask.shape
        ys, xs = np.nonzero(mask)
        g = band + 6
        self.box = (slice(max(0, ys.min() - g), min(H, ys.max() + 1 + g)),
                    slice(max(0, xs.min() - g), min(W, xs.max() + 1 + g)))
        self.ref = rgb[self.box].astype(np.float32)
        self.inside = mask[self.box]
        self.around = ring(self.inside, 2, band)
        self.low, self.min_change = low, min_change

    def __call__(self, rgb: np.ndarray) -> Optional[tuple[float, float, float, float]]:
        d = np.abs(rgb[self.box].astype(np.float32) - self.ref).mean(axis=2)
        if not self.around.any():
            return None
        med = float(np.median(d[self.around]))
        near = cv2.dilate(d, np.ones((9, 9), np.uint8))
        moved = near >= self.min_change
        if med < self.min_change or np.count_nonzero(moved & self.around) < 0.5 * np.count_nonzero(self.around):
            return None
        flat = d < self.low * med
        rel = d < self.low * near

        def share(m, region):
            r = region & moved
            n = np.count_nonzero(r)
            return np.count_nonzero(m & r) / n if n else 0.0

        return share(flat, self.inside), share(flat, self.around), share(rel, self.inside), share(rel, self.around)


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


class FrameRing:
    """Frames read through ``get_frame(i)``, the latest ones kept: at most ``size``, those farthest
    from the frame read last go first. Walking a video frame by frame with a window of frames around
    each (``BackgroundPlate``), each frame is read once, and the memory held does not grow with the
    video. The same frame comes back as the same array (``track._Shared`` matches frames by identity)."""

    def __init__(self, get_frame, size: int):
        self.get_frame, self.size = get_frame, max(1, size)
        self._held: dict[int, np.ndarray] = {}

    def __call__(self, i: int) -> np.ndarray:
        if i not in self._held:
            self._held[i] = self.get_frame(i)
            while len(self._held) > self.size:
                del self._held[max(self._held, key=lambda k: abs(k - i))]
        return self._held[i]

    def held(self) -> int:
        """How many frames are held now (at most ``size``)."""
        return len(self._held)

    def index_of(self, rgb: np.ndarray) -> Optional[int]:
        """The index of a frame held, matched by identity; None when it is not held."""
        return next((i for i, f in self._held.items() if f is rgb), None)


@functools.lru_cache(maxsize=None)
def _sorting_network(n: int) -> tuple[tuple[int, int], ...]:
    """The compare-exchanges (i, j), i < j, of Batcher's odd-even merge sort of ``n`` items."""
    pairs, p = [], 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):  # (the same merge of two sorted runs)
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return tuple(pairs)


def sort_first_axis(values: np.ndarray) -> np.ndarray:
    """``values`` sorted along its first axis, in place (and returned). For the few frames of a
    plate's window over many pixels, a sorting network of whole-array minimum / maximum runs about
    ten times faster than numpy's sort or partition along a short axis."""
    lo = np.empty_like(values[0])
    for i, j in _sorting_network(len(values)):
        np.minimum(values[i], values[j], out=lo)
        np.maximum(values[i], values[j], out=values[j])
        values[i] = lo
    return values


def median_first_axis(values: np.ndarray, seen: Optional[np.ndarray] = None) -> np.ndarray:
    """float32: the median of ``values`` along its first axis (``values`` is left as it is). With
    ``seen`` (bool, broadcasting to ``values``), over the entries where it holds; 0 where none does."""
    n = len(values)
    if seen is None:
        ordered = sort_first_axis(values.copy())
        k = n // 2
        return ordered[k].astype(np.float32) if n % 2 else (ordered[k - 1].astype(np.float32) + ordered[k]) / 2
    top = np.iinfo(values.dtype).max if values.dtype.kind in "ui" else np.inf
    ordered = sort_first_axis(np.where(seen, values, values.dtype.type(top)))  # the entries not seen sort last
    count = seen.sum(0)
    c = np.maximum(count, 1)[None]
    lower = np.take_along_axis(ordered, ((c - 1) // 2).astype(np.intp), 0)[0]
    upper = np.take_along_axis(ordered, (c // 2).astype(np.intp), 0)[0]
    return np.where(count > 0, (lower.astype(np.float32) + upper) / 2, 0).astype(np.float32)


class BackgroundPlate:
    """What the background of frame ``i`` looks like without the objects moving over it, and how far
    the frame differs from that.

    The ``2 radius`` frames around ``i`` (``window``: slid inward near the clip's ends) are aligned
    to frame ``i`` with the camera's homography (chained from the consecutive frames' flows,
    ``camera_homography``) and their per-pixel median in Lab, over the frames that reach the pixel,
    is the plate: an object moving against the background covers each pixel in only a few of them
    and vanishes from it. ``z(i)`` is |frame - plate| (Lab) over the
    local spread of the aligned frames around the plate plus ``noise``: about 0.3-0.5 on the
    background, several units on the whole of an object that moves against it (head, legs, wheels:
    not only the parts moving like one point), about 0 on an object that stays put over the window.

    ``z(i, box)`` computes it only inside ``box`` (x0, y0, x1, y1): each aligned frame is warped
    into the box alone, so the cost follows the box's area, not the frame's (the tracker asks for
    the box of the band it cuts in).

    ``frames(i)``: RGB uint8, all of one size (a ``FrameRing`` of ``2 radius + 1`` frames or more
    reads each frame once); ``flow_fn(a, b)``: dense flow with ``a(x) ~ b(x + flow(x))``
    (``track.Flow``). The flows between consecutive frames of the window are kept (``flow``): the
    tracker walking the same frames takes them from here instead of computing them again. Holds the
    Lab copies, flows and homographies of at most ``2 radius + 1`` frames (the window around the
    latest ``z``), so memory does not grow with the video; going on frame by frame in either
    direction costs one flow and one new frame per step.
    """

    #: a pixel that fewer of the other frames reach (the camera moved it out of them) has no plate: z 0
    MIN_SEEN = 3

    def __init__(self, frames, n_frames: int, flow_fn, radius: int = 10, noise: float = 4.0):
        self.frames, self.n, self.flow_fn = frames, n_frames, flow_fn
        self.radius, self.noise = radius, noise
        self.forward = True  # the direction the tracker walks: the flows are computed the way it asks for them
        self._flows: dict[tuple[int, int], np.ndarray] = {}  # (a, b) -> flow_fn(frame a, frame b)
        self._lab: dict[int, np.ndarray] = {}   # frame index -> Lab uint8
        self._hom: dict[int, np.ndarray] = {}   # i -> homography from frame i to frame i + 1
        self._z: Optional[tuple[tuple, tuple[np.ndarray, np.ndarray]]] = None

    def _lab_of(self, i):
        if i not in self._lab:
            self._lab[i] = cv2.cvtColor(self.frames(i), cv2.COLOR_RGB2LAB)
        return self._lab[i]

    def flow(self, a: int, b: int) -> np.ndarray:
        """``flow_fn(frame a, frame b)``, computed once while it is in the window."""
        if (a, b) not in self._flows:
            flow = self._flows[a, b] = self.flow_fn(self.frames(a), self.frames(b))
            # (a tracker that asks for flows and no plate for a while, between two close keyframes,
            # must not pile them up: those farthest from this one go)
            while len(self._flows) > 2 * self.radius + 2:
                del self._flows[max(self._flows, key=lambda k: abs(min(k) - min(a, b)))]
            return flow
        return self._flows[a, b]

    def _step(self, i):
        """Homography from frame ``i`` to ``i + 1``, from the flow the tracker will ask for: from
        frame ``i + 1`` to ``i`` walking forward, from ``i`` to ``i + 1`` walking backward."""
        if i not in self._hom:
            if self.forward:
                self._hom[i] = np.linalg.inv(camera_homography(self.flow(i + 1, i)))
            else:
                self._hom[i] = camera_homography(self.flow(i, i + 1))
        return self._hom[i]

    def held(self) -> int:
        """How many frames' Lab copies the plate holds now (at most ``2 radius + 1``)."""
        return len(self._lab)

    def window(self, i: int) -> tuple[int, int]:
        """The first and last frame of frame ``i``'s window: ``i - radius .. i + radius``, slid
        inward near the clip's ends so that it still holds ``2 radius`` other frames (a one-sided
        window of ``radius`` frames keeps in the plate what an object covers in most of them)."""
        lo = max(0, min(i - self.radius, self.n - 1 - 2 * self.radius))
        return lo, min(self.n - 1, lo + 2 * self.radius)

    def z(self, i: int, box: Optional[tuple] = None) -> np.ndarray:
        """float32: how far frame ``i`` differs from its plate (see the class), over the whole
        frame or inside ``box`` (x0, y0, x1, y1; clipped to the frame)."""
        return self.compare(i, box)[0]

    def compare(self, i: int, box: Optional[tuple] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(z, plate)``: ``z(i, box)`` and the plate itself there (RGB uint8, frame ``i``'s own
        colours where too few other frames reach). The latest answer is kept."""
        lab = self._lab_of(i)
        H, W = lab.shape[:2]
        x0, y0, x1, y1 = (0, 0, W, H) if box is None else (
            max(0, int(box[0])), max(0, int(box[1])), min(W, int(box[2])), min(H, int(box[3])))
        key = (i, x0, y0, x1, y1)
        if self._z is not None and self._z[0] == key:
            return self._z[1]
        lo, hi = self.window(i)
        for d in (self._lab, self._hom):  # forget what left the window
            for k in [k for k in d if not lo <= k <= hi]:
                del d[k]
        for k in [k for k in self._flows if not lo <= min(k) <= hi]:
            del self._flows[k]
        w, h = max(0, x1 - x0), max(0, y1 - y0)
        own = lab[y0:y1, x0:x1]
        others = [s for s in range(lo, hi + 1) if s != i]
        if not others or not w or not h:
            self._z = (key, (np.zeros((h, w), np.float32), cv2.cvtColor(own, cv2.COLOR_LAB2RGB) if w and h
                             else np.zeros((h, w, 3), np.uint8)))
            return self._z[1]
        shift = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)  # box pixel -> frame i pixel
        corners = np.array([[[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]]], np.float32)
        full = None
        stack = np.empty((len(others), h, w, 3), np.uint8)  # the medians run along the first axis
        seen = None  # (len(others), h, w) bool: where frame s reaches; None while every frame reaches everywhere
        for side in (range(i + 1, hi + 1), range(i - 1, lo - 1, -1)):
            to = np.eye(3)  # frame i -> frame s, walking away from i on each side
            for s in side:
                to = (self._step(s - 1) if s > i else np.linalg.inv(self._step(s))) @ to
                m = to @ shift
                k = others.index(s)
                stack[k] = cv2.warpPerspective(
                    self._lab_of(s), m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
                c = cv2.perspectiveTransform(corners, m)[0]
                if c.min() >= 3 and (c[:, 0] <= W - 4).all() and (c[:, 1] <= H - 4).all():
                    continue  # the box lies well inside frame s
                if full is None:
                    full = np.full((H, W), 255, np.uint8)
                if seen is None:
                    seen = np.ones((len(others), h, w), bool)
                inside = cv2.warpPerspective(full, m, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
                seen[k] = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
        # where frame s does not reach, it says nothing: the medians are over the frames that do
        plate = median_first_axis(stack, None if seen is None else seen[..., None])
        d = stack - plate  # float32 (frames, h, w, 3)
        dist = np.sqrt(np.einsum("...c,...c->...", d, d))  # (faster than a sum over the short last axis)
        spread = median_first_axis(dist, seen)
        spread = cv2.blur(spread.astype(np.float32), (9, 9))
        z = (np.linalg.norm(own.astype(np.float32) - plate, axis=-1) / (spread + self.noise)).astype(np.float32)
        plate = np.clip(plate + 0.5, 0, 255).astype(np.uint8)
        if seen is not None:
            few = seen.sum(0) < self.MIN_SEEN  # too few frames reach there to tell what the background is
            z[few] = 0.0
            plate[few] = own[few]
        self._z = (key, (z, cv2.cvtColor(plate, cv2.COLOR_LAB2RGB)))
        return self._z[1]
