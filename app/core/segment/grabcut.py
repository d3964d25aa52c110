"""Weight-free segmenter: OpenCV GrabCut seeded by clicks, a box, or a prior mask.

The offline default when no SAM checkpoint is present. Three modes:

* clicks/box (first frame): positive clicks are definite-object disks, negatives definite
  background; without a box, boxes of several sizes are tried around the clicks and each
  grows where the result touches its edge, so one click yields several candidates. The boxes
  are cut side by side on a thread pool, and a crop larger than ``cut_pixels`` is cut on a scaled
  copy (docs/BENCHMARKS.md, "first click on large frames").
* prior (tracking): the flow-warped mask of the previous frame seeds GrabCut. Its deep
  interior is definite object, the rest of it probable object, a band around it probable
  background and everything further away definite background, so the cut can only move the
  edge by about a band width per frame and cannot jump to a distant look-alike.
* previous (correcting): the mask on screen is edited by the latest click, locally: a negative
  click removes the piece it lands on, a positive one adds the piece around it, and the rest of
  the mask stays as it was (``_cut_edit``).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import cv2
import numpy as np

from .base import Box, Candidate, Point, Segmenter, mask_iou
from .cues import camera_motion, motion_logit, superpixels

_FG_LABELS = (cv2.GC_FGD, cv2.GC_PR_FGD)


class GrabCutSegmenter(Segmenter):
    """GrabCut segmenter. Works on a copy downscaled to ``max_side`` pixels (long side) for speed.

    ``scales``: half-sizes of the automatic boxes around clicks, as fractions of the image's
    short side. ``band``: (fraction of sqrt(prior area), min px, max px) for the prior band.
    ``cut_pixels``: a click's box cut whose crop holds more pixels than this runs on a copy of the
    crop scaled down to this many (GrabCut's time grows faster than the pixel count; 0: never).
    60,000 measured the same IoU as no scaling on the benchmark clips, at their own size and
    upscaled to 1280x720 (docs/BENCHMARKS.md, "First click on large frames"). ``seed``: the OpenCV
    random seed of the click cuts (GrabCut's k-means starts), so a click repeats exactly.
    ``threads``: how many of a click's cuts run at once (0: one per CPU core).
    Corrections (``predict(..., previous=mask)``): ``edit_reach`` x sqrt(mask area), at least
    ``edit_radius`` x the short side, is the radius a click may change.
    """

    weight_free = True  # the tracker may use its own colour/motion cues with it

    def __init__(self, max_side: int = 640, iterations: int = 4, cache_size: int = 4,
                 scales=(0.12, 0.2, 0.3, 0.45), band=(0.05, 2, 6), sp_step: int = 12,
                 sp_thresh: float = 0.3, min_speed: float = 0.6, agree: float = 0.4, edit_radius: float = 0.03,
                 edit_reach: float = 0.5, cut_pixels: int = 60_000, seed: int = 0, threads: int = 0):
        super().__init__(cache_size)
        self.threads = threads
        self.seed = seed
        self.cut_pixels = cut_pixels
        self.edit_radius, self.edit_reach = edit_radius, edit_reach
        self.sp_step = sp_step
        self.sp_thresh = sp_thresh
        self.min_speed = min_speed
        self.agree = agree
        self.max_side = max_side
        self.iterations = iterations
        self.scales = tuple(scales)
        self.band = band
        self._s = None

    # -- image state -------------------------------------------------------------------------
    def _embed(self, rgb):
        h, w = rgb.shape[:2]
        f = min(1.0, self.max_side / max(h, w))
        small = rgb if f == 1.0 else cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        bgr = np.ascontiguousarray(small[..., ::-1])
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
        grad = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        return {"bgr": bgr, "grad": grad, "f": f, "shape": (h, w)}

    def _restore(self, state):
        self._s = state

    def set_motion(self, flow) -> None:
        """Give the current image's optical flow to nearby frames: float32 (H, W, 2) in pixels, or
        a list of such flows (e.g. from ``click_motion``: frames 2, 4 and 6 away).

        With it, clicks on an object that moves against the background are grown along the
        pixels that share its motion (a motion proposal snapped to superpixels ranks first), and
        colour candidates agreeing with that region rank next. Stored with the cached image state;
        ``None`` (or an empty list) removes it.
        """
        if self._s is None:
            raise RuntimeError("call set_image before set_motion")
        flows = [] if flow is None else [flow] if isinstance(flow, np.ndarray) else [x for x in flow if x is not None]
        self._s.pop("motion", None)
        self._s.pop("motions", None)
        if not flows:
            return
        h, w = self._s["bgr"].shape[:2]
        f = self._s["f"]
        small = []
        for fl in flows:
            if fl.shape[:2] != tuple(self._s["shape"]):
                raise ValueError(f"flow {fl.shape[:2]} does not match the image {self._s['shape']}")
            small.append(cv2.resize(fl, (w, h), interpolation=cv2.INTER_AREA) * f if f < 1 else fl)
        self._s["motion"] = small[0]
        self._s["motions"] = [camera_motion(fl)[1] for fl in small]  # residual flows

    def set_plate(self, z) -> None:
        """Give the current image's difference from its background plate (``click_plate``: float32
        (H, W), at any size; ``None`` removes it). With it, a click on an object that moves against
        the background over the frames around also offers the region that differs from the plate,
        second (what Tab goes to first)."""
        if self._s is None:
            raise RuntimeError("call set_image before set_plate")
        self._s.pop("plate", None)
        if z is None:
            return
        h, w = self._s["bgr"].shape[:2]
        z = np.asarray(z, np.float32)
        self._s["plate"] = z if z.shape == (h, w) else cv2.resize(z, (w, h), interpolation=cv2.INTER_AREA)

    @property
    def has_plate(self) -> bool:
        """Whether the current image has its background plate's difference (``set_plate``)."""
        return self._s is not None and "plate" in self._s

    def plate_candidate(self, points: list[Point]) -> Optional[Candidate]:
        """The region of the current image that differs from its background plate around the
        positive ``points`` (full-size coordinates), as ``predict`` offers it second; None without a
        plate or where the clicked object does not differ from it. For a caller that shows the
        other candidates first and adds this one when it is ready (the GUI)."""
        if not self.has_plate:
            return None
        f = self._s["f"]
        pts = [(x * f, y * f, l) for x, y, l in points]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="grabcut") as pool:  # (its own generator)
            m = pool.submit(self._plate_cut, (self.seed << 8) + 255, pts).result()  # (as in predict)
        return None if m is None else Candidate(self._to_full(m), 0.0)

    # -- prediction --------------------------------------------------------------------------
    def _predict(self, points: list[Point], box: Optional[Box], prior: Optional[np.ndarray],
                 previous: Optional[np.ndarray] = None) -> list[Candidate]:
        s = self._s
        f = s["f"]
        pts = [(x * f, y * f, l) for x, y, l in points]
        sbox = None if box is None else tuple(v * f for v in box)
        if previous is not None:
            cands = [self._cut_edit(self._to_small(previous), pts, sbox)]
        elif prior is not None and prior.any():
            small_prior = self._to_small(prior)
            cands = [self._cut_prior(small_prior, pts)]
        else:
            cands = self._cut_clicks(pts, sbox)
        out: list[Candidate] = []
        kept: list[np.ndarray] = []
        for m, score in sorted(cands, key=lambda c: -c[1]):
            if any(mask_iou(m, k) > 0.92 for k in kept):
                continue  # near-duplicate of a better candidate: not worth cycling to
            kept.append(m)
            out.append(Candidate(self._to_full(m), float(score)))
        return out

    def _edit_window(self, h: int, w: int, area: int) -> float:
        """Radius a correcting click may change, for a mask of ``area`` px on an (h, w) image."""
        return max(self.edit_radius * min(h, w), self.edit_reach * np.sqrt(area))

    def reaches(self, mask: np.ndarray, x: float, y: float) -> bool:
        """True when (x, y) is inside a piece of ``mask`` (an 8-connected component) or within the
        window an edit of that piece may change (radius ``edit_reach`` x sqrt(the piece's area), at
        least ``edit_radius`` x the short side, as in ``_cut_edit``): the click then corrects that
        mask instead of selecting something new. Sizing the window per piece keeps a large painted
        logo elsewhere on the frame from widening the reach of a small tracked object."""
        mask = np.asarray(mask, bool)
        H, W = mask.shape
        n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        x0, y0 = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
        x1, y1 = x0 + stats[1:, cv2.CC_STAT_WIDTH] - 1, y0 + stats[1:, cv2.CC_STAT_HEIGHT] - 1
        reach = np.array([self._edit_window(H, W, int(a)) for a in stats[1:, cv2.CC_STAT_AREA]])
        # only the pieces whose bounding box comes within their reach of the click are looked at closely
        dx, dy = np.maximum(0, np.maximum(x0 - x, x - x1)), np.maximum(0, np.maximum(y0 - y, y - y1))
        for j in np.nonzero(dx * dx + dy * dy <= reach * reach)[0]:
            r = reach[j]
            bx0, by0 = max(0, int(np.floor(x - r))), max(0, int(np.floor(y - r)))
            ys, xs = np.nonzero(lab[by0:int(np.ceil(y + r)) + 1, bx0:int(np.ceil(x + r)) + 1] == j + 1)
            if xs.size and float(np.min((xs + bx0 - x) ** 2 + (ys + by0 - y) ** 2)) <= r * r:
                return True
        return False

    def _to_small(self, mask):
        h, w = self._s["bgr"].shape[:2]
        if mask.shape == (h, w):
            return mask
        return cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA if self._s["f"] < 1 else cv2.INTER_NEAREST) > 0

    def _to_full(self, mask):
        h, w = self._s["shape"]
        if mask.shape == (h, w):
            return mask
        return cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5

    def _disk_radius(self):
        return max(2, round(0.015 * min(self._s["bgr"].shape[:2])))

    def _paint_points(self, lab, pts, x0=0, y0=0, scale=1.0):
        r = max(2, round(self._disk_radius() * scale))
        for x, y, l in pts:
            cv2.circle(lab, (round((x - x0) * scale), round((y - y0) * scale)), r,
                       int(cv2.GC_FGD if l else cv2.GC_BGD), -1)

    def _run_bounded(self, lab, x0, y0, pts, budget=None):
        """GrabCut from label map ``lab`` on the image's crop at (``x0``, ``y0``) of its size, with
        the clicks ``pts`` painted on; a crop of more than ``budget`` pixels (default ``cut_pixels``;
        0: no bound) is cut on a scaled copy and the answer brought back to the crop's size. Returns
        bool FG or None."""
        budget = self.cut_pixels if budget is None else budget
        ch, cw = lab.shape
        crop = self._s["bgr"][y0:y0 + ch, x0:x0 + cw]
        f = min(1.0, float(np.sqrt(budget / (ch * cw)))) if budget > 0 else 1.0
        if f < 1.0:  # a large crop: cut a scaled copy, then bring the answer back to the crop's size
            size = (max(1, round(cw * f)), max(1, round(ch * f)))
            crop, lab = cv2.resize(crop, size, interpolation=cv2.INTER_AREA), cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST)
        self._paint_points(lab, pts, x0, y0, scale=lab.shape[1] / cw)
        fg = self._run(lab, crop)
        if fg is not None and f < 1.0:
            fg = cv2.resize(fg.astype(np.float32), (cw, ch), interpolation=cv2.INTER_LINEAR) > 0.5
        return fg

    def _run(self, lab, crop):
        """GrabCut on ``crop`` (BGR uint8) from label map ``lab``; returns bool FG or None."""
        if not ((lab == cv2.GC_BGD) | (lab == cv2.GC_PR_BGD)).any() or not ((lab == cv2.GC_FGD) | (lab == cv2.GC_PR_FGD)).any():
            return None
        bg, fg = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(crop, lab, None, bg, fg, self.iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error:
            return None  # GMM cannot be fitted (too few samples of a class)
        return np.isin(lab, _FG_LABELS)

    def _cut_clicks(self, pts, box):
        """Candidates (small-scale bool mask, score) from clicks and an optional box."""
        H, W = self._s["bgr"].shape[:2]
        pos = [(x, y) for x, y, l in pts if l]
        if box is not None:
            boxes = [box]
        elif pos:
            xs, ys = [p[0] for p in pos], [p[1] for p in pos]
            boxes = [(min(xs) - k, min(ys) - k, max(xs) + k, max(ys) + k)
                     for k in (sc * min(H, W) for sc in self.scales)]
        else:
            raise ValueError("GrabCut needs a positive click or a box")
        proposal = self._motion_proposal(pts) if box is None else None
        region = self._motion_region(pts) if box is None else None
        if proposal is not None:
            region = proposal
        jobs = []  # (box, region to seed it, grow the box where the cut touches it)
        if region is not None:
            ys, xs = np.nonzero(region)
            bw, bh = xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()
            jobs.append((_clip_box((xs.min() - 0.1 * bw, ys.min() - 0.1 * bh, xs.max() + 1 + 0.1 * bw,
                                    ys.max() + 1 + 0.1 * bh), W, H), region, False, False))
        jobs += [(b, None, box is None, False) for b in boxes]  # a user box is taken as drawn
        if box is not None:
            # ... and also cut against the whole image, as GrabCut's own rectangle mode does: with no
            # definite-object click inside, the narrow margin around the box can hold too little
            # background (dogs_jump frame 0: a box around the dog selected 0-9 px; against the whole
            # frame, the dog). The narrow cut is sharper on plain backgrounds; the score picks.
            jobs.append((box, None, False, True))
        # The cuts are independent, so they run side by side (OpenCV lets go of the GIL in GrabCut).
        # Each job seeds its own thread's OpenCV generator (GrabCut's k-means) from ``seed`` and its
        # place in the list, so the same click gives the same candidates every time, whichever
        # thread runs which job, and the caller's own OpenCV random state is left alone.
        base = self.seed << 8
        with ThreadPoolExecutor(max_workers=max(1, min(len(jobs) + 1, self.threads or os.cpu_count() or 1)),
                                thread_name_prefix="grabcut") as pool:
            # (the background plate's cut, where there is a plate, runs beside the others)
            plate_cut = pool.submit(self._plate_cut, base + 255, pts) if box is None else None
            done = list(pool.map(lambda a: self._cut_job(base + a[0], pts, *a[1]), enumerate(jobs)))
            plate = None if plate_cut is None else plate_cut.result()
        cands = [c for c in done if c is not None]
        # a cut that kept little more than the clicks' own disks (painted as definite object) beside
        # cuts over 100 times their size found nothing: it is no candidate to show or cycle to (a
        # click inside a large even region: a 54-px "candidate" beside the 31,000-px object). Beside
        # smaller cuts it stays: on a small object (a backpack, a dog half hidden) it can be the best
        # (bench_first_click.py: the best candidate 0.548 -> 0.546 when dropped always)
        disks = len(pos) * np.pi * self._disk_radius() ** 2
        found = [int(m.sum()) > 1.5 * disks for m, _ in cands]
        if not all(found) and min((int(m.sum()) for (m, _), f in zip(cands, found) if f), default=0) > 100 * disks:
            cands = [c for c, f in zip(cands, found) if f]
        if box is not None:
            # a speck (under 2% of the box) is a failed cut, not the object the box was drawn around
            area = max(1.0, (box[2] - box[0]) * (box[3] - box[1]))
            cands = [c for c in cands if c[0].sum() >= 0.02 * area] or cands
        if region is not None:
            # agreement with the co-moving region outweighs edge contrast (a colour part of the
            # object, e.g. a shirt, has strong edges too)
            cands = [(m, sc + 3.0 * mask_iou(m, region)) for m, sc in cands]
        if proposal is not None:
            # measured on the benchmark clips: the superpixel-snapped motion proposal beats every
            # colour cut as the first answer; a colour cut that agrees with it (IoU >= ``agree``)
            # has the sharper outline and goes first. ``agree`` 0.4 (was 0.6) was chosen on clicks
            # on frames 5, 15, 25, ... of the clips, not on the benchmark's frame 0 (see
            # docs/SEGMENTATION.md). The other cuts stay as alternatives to cycle through.
            agree = [(mask_iou(m, proposal), i) for i, (m, _) in enumerate(cands)]
            best = max(agree, default=(0.0, -1))
            cands.append((proposal, 100.0))
            if best[0] >= self.agree:
                cands[best[1]] = (cands[best[1]][0], 101.0)
        if plate is not None:
            # Second, not first: over 91 clicks on the benchmark clips it is the better first mask
            # (0.366 -> 0.463), but tracked from it the masks were no better (one click on frame 0:
            # 0.283 and 0.349 on two seeds against 0.329; on frames 5, 25, 45: 0.361 against 0.373),
            # it takes two touching objects that move as one, and an object slow for its size brings
            # its trace in the plate with it (docs/SEGMENTATION.md). Tab goes to it first.
            cands.append((plate, max((sc for _, sc in cands), default=1.0) - 1e-3))
        if not cands:
            # GrabCut found nothing usable: offer the click disks themselves rather than nothing
            lab = np.zeros((H, W), np.uint8)
            self._paint_points(lab, [p for p in pts if p[2]])
            cands.append((lab == cv2.GC_FGD, 0.0))
        return cands

    def _cut_job(self, seed, pts, b, region, grow, wide=False):
        """One click candidate (mask, score) from box ``b``, or None; runs on a pool thread.

        ``grow``: where the cut reaches a side of the box (not the image border), the box grows
        by half its size on that side and the cut runs again, at most three cuts in all.
        ``wide``: the background around the box is the whole image, not a margin."""
        cv2.setRNGSeed(seed)  # this thread's generator only
        H, W = self._s["bgr"].shape[:2]
        for _ in range(3 if grow else 1):
            b = _clip_box(b, W, H)
            m = self._cut_box(b, pts, region, wide)
            if m is None:
                return None
            touch = _touching_sides(m, b, W, H)
            if not grow or not touch:
                break
            bw, bh = b[2] - b[0], b[3] - b[1]
            b = (b[0] - 0.5 * bw * ("l" in touch), b[1] - 0.5 * bh * ("t" in touch),
                 b[2] + 0.5 * bw * ("r" in touch), b[3] + 0.5 * bh * ("b" in touch))
        return (m, self._score(m, b)) if m.any() else None

    def _superpixels(self):
        """Watershed superpixels on a regular grid of seeds (about ``sp_step`` px), cached."""
        if "sp" not in self._s:
            self._s["sp"] = superpixels(self._s["bgr"], max(4, round(self.sp_step * self._s["f"])))
        return self._s["sp"]

    def _motion_proposal(self, pts):
        """Bool mask of the superpixels that move like the positive clicks, or None.

        Each residual flow (camera motion removed by a RANSAC homography) gives a per-pixel logit
        of moving like the click rather than like the background; averaged over the flows and over
        each superpixel, the superpixels above ``sp_thresh`` connected to the click are the object.
        """
        res = self._s.get("motions")
        pos = [(x, y) for x, y, l in pts if l]
        if not res or not pos:
            return None
        H, W = res[0].shape[:2]
        r = max(2, self._disk_radius())
        total = np.zeros((H, W), np.float32)
        n = 0
        for rs in res:
            near = np.concatenate([rs[max(0, int(y) - r):int(y) + r + 1, max(0, int(x) - r):int(x) + r + 1].reshape(-1, 2)
                                   for x, y in pos])
            ml = motion_logit(rs, np.median(near, axis=0), min_speed=self.min_speed)
            if ml is not None:
                total += ml
                n += 1
        if n == 0:
            return None
        total /= n
        return self._superpixel_region(total, self.sp_thresh, pos)

    def _superpixel_region(self, value, thr, pos):
        """Bool mask of the superpixels whose mean ``value`` is over ``thr``, connected to the clicks
        ``pos`` (their own superpixels belong to it whatever their value), or None when that is
        nothing or most of the frame (over 40 %: not an object)."""
        H, W = value.shape
        sp = self._superpixels()
        count = np.bincount(sp.ravel(), minlength=sp.max() + 1)
        mean = np.bincount(sp.ravel(), value.ravel(), minlength=sp.max() + 1) / np.maximum(1, count)
        like = mean[sp] > thr
        seeds = [(int(np.clip(x, 0, W - 1)), int(np.clip(y, 0, H - 1))) for x, y in pos]
        for x, y in seeds:
            like |= sp == sp[y, x]  # the clicked superpixels belong to the object
        nlab, lab = cv2.connectedComponents(like.astype(np.uint8), connectivity=8)
        keep = np.zeros(nlab, bool)
        for x, y in seeds:
            keep[lab[y, x]] = True
        keep[0] = False
        m = keep[lab]
        if not m.any() or m.mean() > 0.4:
            return None
        return m

    def _plate_cut(self, seed, pts, thr=1.5, gate=2.0, lo=0.75, hi=3.0, grow=0.25):
        """The object as what differs from the background plate around the positive clicks, or None;
        runs on a pool thread (``seed``: its OpenCV generator's, as ``_cut_job``).

        The superpixels whose mean plate difference is over ``thr``, connected to a click, are the
        region; GrabCut in its box grown by ``grow`` cleans it (the region probable object, plate
        difference under ``lo`` definite background, over ``hi`` inside the region definite object).
        None unless the median difference around the clicks is at least ``gate`` (an object that
        stays put is in the plate: the difference says nothing about it)."""
        z = self._s.get("plate")
        pos = [(x, y) for x, y, l in pts if l]
        if z is None or not pos:
            return None
        H, W = z.shape
        r = max(2, self._disk_radius())
        near = np.concatenate([z[max(0, int(y) - r):int(y) + r + 1, max(0, int(x) - r):int(x) + r + 1].ravel()
                               for x, y in pos])
        if not near.size or float(np.median(near)) < gate:
            return None
        region = self._superpixel_region(z, thr, pos)
        if region is None:
            return None
        ys, xs = np.nonzero(region)
        bw, bh = xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()
        x0, y0 = max(0, int(xs.min() - grow * bw)), max(0, int(ys.min() - grow * bh))
        x1, y1 = min(W, int(xs.max() + 1 + grow * bw)), min(H, int(ys.max() + 1 + grow * bh))
        lab8 = np.full((y1 - y0, x1 - x0), cv2.GC_PR_BGD, np.uint8)
        zc, rc = z[y0:y1, x0:x1], region[y0:y1, x0:x1]
        lab8[rc] = cv2.GC_PR_FGD
        lab8[zc < lo] = cv2.GC_BGD
        lab8[rc & (zc > hi)] = cv2.GC_FGD
        cv2.setRNGSeed(seed)  # this thread's generator only
        # (at the working size, unbounded: it runs after the click's answer, and scaling it to
        # ``cut_pixels`` cost the largest object here, bmx's rider on frame 0, 0.76 -> 0.72)
        fg = self._run_bounded(lab8, x0, y0, pts, budget=0)
        if fg is None or not fg.any():
            return region
        full = np.zeros((H, W), bool)
        full[y0:y1, x0:x1] = fg
        return _keep_components(full, seeds=pos)

    def _motion_region(self, pts):
        """Bool mask of the pixels moving like the positive clicks and unlike the background, or None.

        The background's motion is a RANSAC affine fit to the whole flow field (camera pans and
        zooms); an object is what remains, grown as the connected region around the clicks.
        """
        flow = self._s.get("motion")
        pos = [(x, y) for x, y, l in pts if l]
        if flow is None or not pos:
            return None
        H, W = flow.shape[:2]
        gy, gx = np.mgrid[0:H:4, 0:W:4]
        src = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
        dst = src + flow[gy.ravel(), gx.ravel()]
        M, _ = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0)
        if M is None:
            return None
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        bg = np.stack([M[0, 0] * xx + M[0, 1] * yy + M[0, 2] - xx, M[1, 0] * xx + M[1, 1] * yy + M[1, 2] - yy], -1)
        res = flow - bg
        r = self._disk_radius() * 2
        near = np.concatenate([res[max(0, int(y) - r):int(y) + r + 1, max(0, int(x) - r):int(x) + r + 1].reshape(-1, 2)
                               for x, y in pos])
        rc = np.median(near, axis=0)
        speed = float(np.hypot(*rc))
        if speed < 1.0:
            return None  # the clicked object moves with the background: no motion cue
        d = np.hypot(res[..., 0] - rc[0], res[..., 1] - rc[1])
        like = ((d < max(1.0, 0.5 * speed)) & (np.hypot(res[..., 0], res[..., 1]) > 0.5 * speed)).astype(np.uint8)
        k = np.ones((5, 5), np.uint8)
        like = cv2.morphologyEx(cv2.morphologyEx(like, cv2.MORPH_OPEN, k), cv2.MORPH_CLOSE, k)
        region = _keep_components(like > 0, seeds=pos)
        if not region.any() or region.mean() > 0.5:
            return None  # nothing, or most of the frame: not an object
        for x, y in pos:  # the clicked object must be in it
            if not region[int(np.clip(y, 0, H - 1)), int(np.clip(x, 0, W - 1))]:
                return None
        return region

    def _cut_box(self, b, pts, region=None, wide=False):
        H, W = self._s["bgr"].shape[:2]
        x0, y0, x1, y1 = (int(round(v)) for v in _clip_box(b, W, H))
        if x1 <= x0 or y1 <= y0:
            return None  # the box lies outside the image
        mg = max(W, H) if wide else max(8, round(0.25 * max(x1 - x0, y1 - y0)))
        cx0, cy0, cx1, cy1 = max(0, x0 - mg), max(0, y0 - mg), min(W, x1 + mg), min(H, y1 + mg)
        lab = np.full((cy1 - cy0, cx1 - cx0), cv2.GC_BGD, np.uint8)
        if region is None:
            lab[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = cv2.GC_PR_FGD
        else:  # inside the box: the co-moving region is probable object, the rest probable background
            inner = region[y0:y1, x0:x1]
            lab[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = np.where(inner, cv2.GC_PR_FGD, cv2.GC_PR_BGD)
        fg = self._run_bounded(lab, cx0, cy0, pts)
        if fg is None:
            return None
        full = np.zeros((H, W), bool)
        full[cy0:cy1, cx0:cx1] = fg
        seeds = [(x, y) for x, y, l in pts if l]
        return _keep_components(full, seeds=seeds)

    def _cut_edit(self, prev, pts, box=None):
        """One (mask, score): ``prev`` (small scale) edited by the latest click.

        The edit is local: outside a disk around the latest click (radius ``edit_reach`` x the
        square root of the mask's area, at least ``edit_radius`` of the short side) the mask stays
        as it was (whether a first click edits a frame's mask at all is decided per piece, in
        ``reaches``; the window here stays the whole mask's: sizing it per piece cost the corrective
        clicks on tracked masks 0.512 -> 0.496 in bench_segment's edit run). Inside it GrabCut runs
        from the mask, except that the pixels that look more like the click than like what the click
        is against start on the click's side, and the click's superpixel (``_click_region``) is
        definite. Of what the cut changes, only the connected piece at the click is applied: a
        negative click removes the piece it lands on, a positive one adds the piece around it.
        Earlier clicks keep their side; components holding no positive click and lying in the window
        are dropped.
        """
        H, W = prev.shape
        x, y, label = pts[-1]
        area = np.count_nonzero(prev)
        r = self._edit_window(H, W, area)
        local = _disk(H, W, x, y, r)
        if box is not None:
            bx0, by0, bx1, by1 = (int(round(v)) for v in box)
            inbox = np.zeros((H, W), bool)
            inbox[max(0, by0):by1, max(0, bx0):bx1] = True
        else:
            inbox = np.ones((H, W), bool)
        lab = np.where(prev, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
        region = self._click_region(x, y)
        # GrabCut's first colour models come from this labelling: inside the window, the pixels on
        # the other side of the mask edge from what the click says that look more like the click
        # than like that side's keeper (the object's pixels away from the window for a negative
        # click, the background in the window for a positive one) start on the click's side
        flip = local & (~prev if label else prev)
        keeper = (~prev & local) if label else (prev & ~local)
        if not label and not keeper.any():
            keeper = prev.copy()
        seed = region & local if (region & local).any() else _disk(H, W, x, y, self._disk_radius())
        keeper &= ~seed
        if keeper.any():
            bgr = self._s["bgr"]
            pix = bgr[flip].astype(np.float32)  # only the pixels that may flip need a distance
            d_click = np.linalg.norm(pix - bgr[seed].astype(np.float32).mean(0), axis=-1)
            flip[flip] = d_click < _colour_distance(pix, bgr[keeper])
        else:
            flip &= seed
        side = prev ^ flip  # the starting mask inside the window
        lab[local & side] = cv2.GC_PR_FGD
        lab[local & ~side] = cv2.GC_PR_BGD
        lab[region & local] = cv2.GC_FGD if label else cv2.GC_BGD
        lab[~inbox] = cv2.GC_BGD
        self._paint_points(lab, pts)
        mg = int(np.ceil(r)) + 8
        x0, y0 = max(0, int(x) - mg), max(0, int(y) - mg)
        x1, y1 = min(W, int(x) + mg + 1), min(H, int(y) + mg + 1)
        fg = self._run(lab[y0:y1, x0:x1].copy(), self._s["bgr"][y0:y1, x0:x1])
        cut = np.isin(lab, _FG_LABELS)
        if fg is not None:
            cut[y0:y1, x0:x1] = fg
        # what changes is the part the click is on, and only that: the connected piece of the
        # cut's change (removed for a negative click, added for a positive one) at the click
        changed = (cut & ~prev) if label else (prev & ~cut)
        changed |= seed & (~prev if label else prev)  # the click's own region changes at least
        n, comp = cv2.connectedComponents(changed.astype(np.uint8), connectivity=8)
        ids = np.unique(comp[seed & changed])
        piece = np.isin(comp, ids[ids > 0])
        full = (prev | piece) if label else (prev & ~piece)
        for px, py, l in pts[:-1]:  # earlier clicks keep their side
            full[_disk(H, W, px, py, self._disk_radius())] = bool(l)
        seeds = [(px, py) for px, py, l in pts if l]
        # parts the edit did not touch stay, even when it cut them off from the clicked part
        full = _keep_components(full, seeds=seeds, overlap=prev & ~local)
        return full, self._score(full, (x0, y0, x1, y1))

    def _click_region(self, x, y):
        """Bool mask (small scale) of the clicked superpixel's connected piece at the click: the part
        of the object (or of the background) the click lands on, not just a disk. (Growing it by
        colour into neighbouring superpixels measured no better.)"""
        sp = self._superpixels()
        H, W = sp.shape
        xi, yi = int(np.clip(round(x), 0, W - 1)), int(np.clip(round(y), 0, H - 1))
        # a label can be split by watershed lines, which go to a neighbouring label
        _, comp = cv2.connectedComponents((sp == sp[yi, xi]).astype(np.uint8), connectivity=8)
        return comp == comp[yi, xi]

    def _cut_prior(self, prior, pts):
        """One (mask, score) from a prior mask (small scale)."""
        H, W = prior.shape
        area = np.count_nonzero(prior)
        frac, lo, hi = self.band
        r = float(np.clip(frac * np.sqrt(area), lo, hi))
        ys, xs = np.nonzero(prior)
        mg = int(np.ceil(2 * r)) + 6
        cx0, cy0 = max(0, xs.min() - mg), max(0, ys.min() - mg)
        cx1, cy1 = min(W, xs.max() + 1 + mg), min(H, ys.max() + 1 + mg)
        p = prior[cy0:cy1, cx0:cx1].astype(np.uint8)
        d_in = cv2.distanceTransform(p, cv2.DIST_L2, 3)
        d_out = cv2.distanceTransform(1 - p, cv2.DIST_L2, 3)
        lab = np.full(p.shape, cv2.GC_BGD, np.uint8)
        lab[d_out <= 2 * r] = cv2.GC_PR_BGD
        lab[p > 0] = cv2.GC_PR_FGD
        lab[d_in > r] = cv2.GC_FGD
        self._paint_points(lab, pts, cx0, cy0)
        fg = self._run(lab, self._s["bgr"][cy0:cy1, cx0:cx1])
        full = np.zeros((H, W), bool)
        if fg is None:
            full[:] = prior
            return full, 0.0
        full[cy0:cy1, cx0:cx1] = fg
        full = _keep_components(full, overlap=prior)
        return full, self._score(full, (cx0, cy0, cx1, cy1))

    def _score(self, m, b):
        """Edge contrast along the mask outline, discounted where the mask runs along the box edge.

        An object whose outline follows image edges, and which the box fully contains, scores high.
        """
        grad = self._s["grad"]
        m8 = m.astype(np.uint8)
        edge = (m8 - cv2.erode(m8, np.ones((3, 3), np.uint8))) > 0
        if not edge.any():
            return 0.0
        x0, y0, x1, y1 = (int(round(v)) for v in b)
        region = grad[max(0, y0):y1, max(0, x0):x1]
        contrast = float(grad[edge].mean() / (region.mean() + 1e-3)) if region.size else 0.0
        H, W = m.shape
        on_box = np.zeros_like(edge)
        on_box[max(0, y0):y1, max(0, x0):x1] = True
        inner = np.zeros_like(edge)
        inner[max(0, y0) + 2:y1 - 2, max(0, x0) + 2:x1 - 2] = True
        at_border = edge & on_box & ~inner
        # the image border is a legitimate object edge (objects leave the frame)
        at_border[:2, :] = at_border[-2:, :] = False
        at_border[:, :2] = at_border[:, -2:] = False
        touch = np.count_nonzero(at_border) / np.count_nonzero(edge)
        return contrast * (1.0 - touch)


def _clip_box(b, W, H):
    x0, y0, x1, y1 = b
    return (max(0.0, x0), max(0.0, y0), min(float(W), x1), min(float(H), y1))


def _touching_sides(m, b, W, H, tol=2):
    """Which sides ('l', 't', 'r', 'b') of box ``b`` the mask reaches, ignoring the image border."""
    x0, y0, x1, y1 = (int(round(v)) for v in b)
    sides = ""
    if x0 > 0 and m[y0:y1, x0:x0 + tol].any():
        sides += "l"
    if y0 > 0 and m[y0:y0 + tol, x0:x1].any():
        sides += "t"
    if x1 < W and m[y0:y1, x1 - tol:x1].any():
        sides += "r"
    if y1 < H and m[y1 - tol:y1, x0:x1].any():
        sides += "b"
    return sides


def _colour_distance(bgr, samples, k: int = 3, iters: int = 8):
    """Per-pixel distance (float32, ``bgr``'s shape without its last axis) from ``bgr`` (..., 3) to
    the nearest of ``k`` colour centres of
    ``samples`` (N, 3): a small k-means (at most 2,000 samples, farthest-point start, fixed seed, so
    an edit repeats exactly and OpenCV's global random state is left alone)."""
    samples = samples.astype(np.float32)
    if len(samples) > 2000:
        samples = samples[np.random.default_rng(0).choice(len(samples), 2000, replace=False)]
    centres = samples[:1]
    for _ in range(min(k, len(samples)) - 1):
        d = np.min(np.linalg.norm(samples[:, None] - centres[None], axis=2), axis=1)
        centres = np.concatenate([centres, samples[int(np.argmax(d))][None]])
    for _ in range(iters):
        near = np.argmin(np.linalg.norm(samples[:, None] - centres[None], axis=2), axis=1)
        centres = np.stack([samples[near == c].mean(0) if np.any(near == c) else centres[c]
                            for c in range(len(centres))])
    return np.min(np.stack([np.linalg.norm(bgr - c, axis=-1) for c in centres]), axis=0)


def _disk(H, W, x, y, r):
    yy, xx = np.ogrid[:H, :W]
    return (xx - x) ** 2 + (yy - y) ** 2 <= r * r


def _keep_components(m, seeds=(), overlap=None):
    """Keep the connected components that contain a seed point or overlap ``overlap``.

    Falls back to the largest component, so a result is never emptied by this step.
    """
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    if n <= 2:
        return m
    keep = np.zeros(n, bool)
    H, W = m.shape
    for x, y in seeds:
        xi, yi = int(np.clip(round(x), 0, W - 1)), int(np.clip(round(y), 0, H - 1))
        keep[lab[yi, xi]] = True
    if overlap is not None:
        counts = np.bincount(lab[overlap], minlength=n)
        # components mostly inside the prior are the object; stray blobs outside it are not
        keep |= counts >= 0.5 * stats[:, cv2.CC_STAT_AREA]
    keep[0] = False
    if not keep.any():
        keep[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))] = True
    return keep[lab]
