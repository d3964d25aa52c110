"""Mask propagation through a video from one or more keyframes (user-confirmed masks).

Every frame is computed once: frames before the first keyframe are propagated backward from
it, frames after the last forward from it, and frames between two keyframes take the result
propagated from the nearer one. One propagation step:

1. optical flow from the new frame to the previous one (DIS, or Farnebäck) warps the previous
   mask onto the new frame;
2. prompts come from the warped mask: its box (expanded), positive clicks deep inside it,
   negative clicks outside the expanded box; the segmenter re-segments the frame with them and
   with the warped mask as a prior;
3. the candidate agreeing best with the warped mask is accepted when its IoU with it is
   reasonable; otherwise the warped mask is kept and the frame is flagged ``fallback``;
4. frames where the object looks lost (area collapse or explosion, or the warped object's
   colours no longer match the previous frame) are flagged ``lost`` for the user to check.

With a weight-free segmenter (``GrabCutSegmenter``, ``weight_free = True``) and
``TrackParams.cues`` (the default), step 2-3 is replaced by a cue cut: per pixel a logit sums a
shape term (signed distance to the warped mask's edge, counted only where the warp is
photo-consistent), a colour term (object : background histograms fitted on the keyframe and
blended with each tracked frame) and a motion term (the pixel's flow, camera motion removed by a
RANSAC homography, moves like the object's median rather than like the background; weighted by
local texture, where flow means something). GrabCut then cuts a band around the warped mask with
|logit| > ``hard`` as definite labels and the sign elsewhere as probable labels; components that
do not overlap the warped mask are dropped. The same accept / fallback / lost rules apply.
With ``TrackParams.redetect`` (the default) an occlusion guard follows each cue step: a mask that
no longer looks like the keyframe's object (colour score against a whole-frame colour model, area,
or it stopped dead while the object moved on its own: stuck on the background) triggers a
whole-frame search for the object (keyframe colour + residual motion, near its predicted
position, about its size) that re-seeds the cut (a mask that only stopped is kept when what the
search finds lies inside it: the object paused there); when nothing is found the mask is
dropped (empty, ``lost``) rather than left on the occluder, and the search repeats each frame.

Only two frames and the current mask are held; masks are yielded (``iter_track``) or stored
bit-packed (``track``), 1 bit per pixel.
"""
from __future__ import annotations

import bisect
import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, field
from typing import Callable, Iterator, Optional

import cv2
import numpy as np

from ..errors import Cancelled
from ..jobs import CancelToken, ProgressClock, ProgressFn
from .base import Segmenter, mask_box, mask_iou
from .cues import (BackgroundPlate, ColourModel, FrameRing, StillTest, camera_motion, colour_bins, motion_logit,
                   ring, signed_distance, texture_weight)

FrameFn = Callable[[int], np.ndarray]

OK, KEYFRAME, FALLBACK, LOST = "", "keyframe", "fallback", "lost"
SHRUNK = "shrunk"  # the mask is under ``shrunk`` x its keyframe's size: the object partly hidden, or part of it lost
CHECK = (SHRUNK, FALLBACK, LOST)  # the flags that ask the user to look at a frame


@dataclass
class TrackParams:
    """Tunables of one propagation step (defaults chosen on the benchmark clips, see docs)."""

    accept_iou: float = 0.5      # re-segmentation accepted when IoU with the warped mask >= this
    box_expand: float = 0.15     # prompt box grows by this fraction of its size on each side
    n_positive: int = 3          # positive clicks placed deep inside the warped mask
    area_low: float = 0.4        # area / previous area below this: object collapsed (lost)
    area_high: float = 2.5       # ... above this: segmentation exploded (lost)
    photo_tol: float = 30.0      # mean |RGB| difference under which a warped pixel is consistent
    photo_min: float = 0.35      # fewer consistent pixels than this inside the mask: lost
    flow: str = "dis"            # "dis" (preset medium) or "farneback"
    flow_max_side: int = 640     # flow runs on frames downscaled to this long side
    cues: bool = True            # weight-free segmenters: cut with colour + motion + shape cues
    w_colour: float = 1.0        # weights of the three logit terms (colour clipped to +-4,
    w_shape: float = 1.0         # shape to +-3, motion to +-2 before weighting)
    w_motion: float = 2.0
    shape_scale: float = 0.08    # signed distance / (this * sqrt(area)) -> shape logit
    band: float = 0.25           # the cut may move the edge by this * sqrt(area) (min 6 px)
    hard: float = 2.0            # |logit| above this: definite label
    colour_rate: float = 0.2     # blend of each tracked frame into the colour model (keyframe keeps half)
    cut: str = "grabcut"         # or "threshold": the blurred logit's sign, no GrabCut (faster, a little worse)
    replicate: bool = True       # warped masks keep touching the frame edge (objects leaving the frame)
    photo_weight: bool = True    # shape term only where the warp is photo-consistent
    texture: float = 15.0        # motion cue counts fully where the local gradient exceeds this
    redetect: bool = True        # cue tracker: search the whole frame when the object looks lost
    guard: float = 0.6           # mask's keyframe-colour score below this * the keyframe's: suspect
    found: float = 0.8           # a re-detected region needs a colour score of this * the keyframe's
    switch: float = 0.5          # ... and replaces a plausible mask only when its colour score is this much higher
    keep_doubtful: bool = True   # a doubtful mask the cut agreed with (flag "") is kept, else dropped (empty, lost)
    min_contrast: float = 0.5    # no guard / re-detection when the keyframe's own colour score is under this
    redetect_min: float = 0.5    # a re-detected region needs at least this score (colour logit x size x nearness)
    probation: int = 0           # after a re-detection keep searching this many frames; switch to a clearly better region
    max_growth: float = 1.5      # a cut under 1/this x the warped mask's area, or over this x the larger of
    size_fade: float = 0.8       # it and the object's recent size (max area so far, x this per frame), is refused
    motion_guard: bool = True    # a mask that moves with the background while the object moved on its own is not trusted:
    stuck_speed: float = 2.0     # the object's residual motion was >= this (px per frame, well above flow noise)
    stuck_ratio: float = 0.25    # and the mask's is under this fraction of it (a stop within one frame)
    motion_vouch: float = 0.25   # a mask whose residual motion is within this fraction of the object's own (itself
                                 # >= stuck_speed) is trusted although its colour score sagged: nothing else moves
                                 # so (a small object's colour score drops with each background pixel; 0: off)
    stop_inside: float = 0.9     # a mask that stopped dead (motion_guard) is trusted all the same when the search's
                                 # region lies at least this share inside it: the object itself paused there (a
                                 # hand-held teddy shaken back and forth stops as it turns; 0: off)
    work_side: int = 640         # cue tracker: frames with a longer side are tracked scaled to this (0: own size)
    between_warp: int = 20       # between two keyframes at most this many frames apart, a textured object's
    warp_texture: float = 0.5    # mask is the flow warp alone (no cue cut): mean texture_weight inside the
                                 # keyframe mask >= this (flat objects give the flow nothing to hold: cut)
    warp_area_tol: float = 1.15  # ... while the warped area is within this factor of the area interpolated
                                 # between the two keyframes' (a warp that bloats or shrinks is cut)
    warp_colour: float = 3.0     # ... and colour does not already separate it (keyframe colour score s0 under
                                 # this, of at most 4: where colour alone finds the object, the cut is exact)
    object_gap: float = 0.02     # parts of a keyframe mask farther apart than this x the frame's short side are
                                 # separate objects, each followed on its own (0: the whole mask as one object)
    threads: int = 0             # several objects (cue tracker): followed side by side on this many threads
                                 # (0: one per core); 1: one after another
    cut_iters: int = 1           # GrabCut iterations of a tracking step's band cut (3 until the eleventh session:
                                 # same IoU over 3 seeds, 0.483 / 0.484 from true first masks, and 1.3-1.7x
                                 # faster for one object at 1280x720; docs/BENCHMARKS.md)
    shrunk: float = 0.5          # an object's mask under this x its keyframe's area (between two close
                                 # keyframes: the area expected there) is flagged SHRUNK (0: never)
    shrunk_scale: bool = True    # ... that area scaled by how much the flow says the object shrank since (an
                                 # object moving away is smaller, not lost; cue tracker after a lone keyframe)
    plate: int = 10              # cue tracker: background plate from the frames this many before and after
                                 # (0: none); its difference is a logit where the object moves against it
    w_plate: float = 5.0         # weight of the plate term (clipped to -1..+2 before weighting)
    plate_thr: float = 1.5       # plate difference (units of its spread) at which the term is 0
    plate_gate: float = 2.0      # the term counts only when the object's median difference is at least this
    plate_margin: int = 8        # the plate is computed in the box of the cut's band grown by this (px)
    plate_ghost: float = 1.0     # no plate term where the plate's colour is more the object's than the frame's by
                                 # this (colour logit): an object slow for its size stays in the plate where it
                                 # spent most of the window, and the frame differs there without it (inf: off)

    still: int = 2               # cue tracker: an object that stays put in the picture while what is around it
                                 # changes (a logo, a caption) on this many frames in a row keeps its keyframe
                                 # mask from there on (``StillTest``; 0: off)
    still_flat: tuple = (0.5, 0.25)  # a frame says "still" when at least this share of the mask's changed pixels
    still_rel: tuple = (0.6, 0.3)    # (first) stayed put, and this much more than of the ring's: by the ring's
                                     # median change (flat; with half the rel margin as well) or, for a translucent
                                     # overlay too, by its neighbourhood's (rel)
    still_camera: float = 0.5    # ... only once the camera has moved this x the root of the mask's area since the
                                 # keyframe (at least 3 px; the frame's median flow, summed): the background under it
                                 # has moved a good part of its size. Under a steadier camera the tracker keeps a still
                                 # object near enough, and refines a click's mask (dogs_jump's object 1 at rest, kept
                                 # as clicked with the camera 9.5 px on, 0.13 of its size: 0.879 -> 0.665)
    still_gone: float = 0.1      # a kept mask whose shares are within this of the ring's on a frame: the overlay
                                 # is not there (faded out, covered): flagged LOST, the mask kept

    def gap_px(self, shape) -> int:
        """``object_gap`` in pixels for frames of ``shape`` (H, W); 0: objects are not told apart."""
        return round(self.object_gap * min(shape[:2])) if self.object_gap > 0 else 0


@dataclass
class TrackStep:
    """One frame's result: ``mask`` bool (H, W); ``flag`` one of "", keyframe, fallback, lost."""

    index: int
    mask: np.ndarray
    flag: str
    source: int          # the keyframe this result was propagated from
    iou: float = 1.0     # IoU of the accepted re-segmentation with the warped mask
    objects: Optional[list] = None  # with several objects, each one's bool (H, W) mask (``mask`` is their union)


@dataclass
class TrackResult:
    """All frames' masks, bit-packed (np.packbits of the flattened bool mask), and flags."""

    shape: tuple[int, int]
    packed: list[Optional[np.ndarray]]
    flags: list[str]
    sources: list[int]
    ious: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.flags)

    def mask(self, i: int) -> np.ndarray:
        """Frame ``i``'s mask, bool (H, W)."""
        h, w = self.shape
        return np.unpackbits(self.packed[i], count=h * w).reshape(h, w).astype(bool)

    def flagged(self) -> list[int]:
        """Frames the user should look at (shrunk, fallback or lost)."""
        return [i for i, f in enumerate(self.flags) if f in CHECK]


def plan_runs(n_frames: int, keyframes) -> list[tuple[int, list[int]]]:
    """Propagation runs as (start keyframe, frames in processing order); each frame once."""
    keys = sorted(k for k in keyframes if 0 <= k < n_frames)
    if not keys:
        raise ValueError("tracking needs at least one keyframe inside the video")
    runs = [(keys[0], list(range(keys[0] - 1, -1, -1)))]
    for a, b in zip(keys, keys[1:]):
        mid = (a + b) // 2  # ties go to the earlier keyframe
        runs.append((a, list(range(a + 1, mid + 1))))
        runs.append((b, list(range(b - 1, mid, -1))))
    runs.append((keys[-1], list(range(keys[-1] + 1, n_frames))))
    return [(k, frames) for k, frames in runs if frames]


def changed_spans(start: int, end: int, keys: dict, before: dict,
                  unchanged: Callable[[int], bool], warp_gap: Optional[int] = None) -> list[tuple[int, int]]:
    """What to track again in [start, end) after a user's corrections: half-open spans [a, b).

    ``keys``: {keyframe: token} now, ``before``: the same for the last run over this range (a
    token is anything compared with ==, e.g. the keyframe mask's PNG blob), ``unchanged(i)``:
    whether non-key frame ``i`` still holds what that run gave it. Each frame is tracked from its
    neighbouring keyframes only (``plan_runs``), so the stretch between two neighbouring
    keyframes (or a keyframe and an end of the range) is tracked again, keyframes included, when
    a keyframe at its end is new or changed, a keyframe of the last run inside it has gone, or a
    frame inside it no longer holds the last run's result (an undo); every other stretch would
    come out as it is. Within a stretch whose keyframes are more than ``warp_gap`` frames apart
    (``TrackParams.between_warp``: closer ones are followed from both ends at once) the half
    nearer to a keyframe that is as it was, whose frames hold what its run gave them, is kept too:
    that run walks the same frames from the same mask as before (a keyframe added at 750 between
    0 and 1,500 leaves 1..375 as they are; for one object a new run would give them bit for bit). Neighbouring spans are merged. Empty when nothing
    changed."""
    gap = TrackParams.between_warp if warp_gap is None else warp_gap
    ks = sorted(k for k in keys if start <= k < end)
    gone = sorted(k for k in before if start <= k < end and k not in keys)
    spans: list[tuple[int, int]] = []

    def kept(k, frames) -> bool:  # the run from keyframe k over these frames would come out the same
        return k in before and before[k] == keys[k] and all(unchanged(i) for i in frames)

    for lo, hi in zip([None] + ks, ks + [None]):
        first = start if lo is None else lo + 1  # the frames between the two keyframes
        last = end - 1 if hi is None else hi - 1
        if first > last:
            continue
        stale = ((lo is not None and before.get(lo) != keys[lo]) or (hi is not None and before.get(hi) != keys[hi])
                 or any(first <= g <= last for g in gone) or not all(unchanged(i) for i in range(first, last + 1)))
        if not stale:
            continue
        a, b = (start if lo is None else lo), (end if hi is None else hi + 1)
        if lo is not None and hi is not None and hi - lo > gap and not any(lo < g < hi for g in gone):
            mid = (lo + hi) // 2  # (as plan_runs splits)
            if kept(lo, range(lo + 1, mid + 1)):
                a = mid + 1  # tracked back from hi only
            elif kept(hi, range(mid + 1, hi)):
                b = mid + 1  # tracked on from lo only
        if spans and spans[-1][1] >= a + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans


def resume_spans(start: int, end: int, keys, pending, warp_gap: Optional[int] = None,
                 seedable: Callable[[int], bool] = lambda i: True) -> list[tuple[int, int, Optional[int]]]:
    """How to finish a tracking run over [start, end) that was stopped part-way: ``(a, b, seed)``
    per piece, half-open, in frame order, each holding one keyframe's run (or a whole stretch).

    ``keys``: the run's keyframes; ``pending``: the frames it had not reached. ``plan_runs`` walks
    each stretch between neighbouring keyframes from both ends towards its middle, so what a
    stopped run left of a half is the far end of it: ``seed`` is the last frame it did there, and
    the piece is that keyframe's run going on from the seed (``iter_track(resume={keyframe: (seed,
    its mask)})``: the frames up to the seed are not tracked again). ``seed`` None: tracked from
    the keyframes as usual, for a half not begun, for a stretch whose keyframes are at most
    ``warp_gap`` frames apart (``TrackParams.between_warp``: followed from both ends at once) with
    anything in it pending, for a half whose pending frames are not its far end, and for one whose
    seed is not ``seedable`` (say its mask was not kept). Pending frames outside [start, end), and
    keyframes, are ignored."""
    gap = TrackParams.between_warp if warp_gap is None else warp_gap
    ks = sorted(k for k in keys if start <= k < end)
    todo = {i for i in pending if start <= i < end} - set(ks)
    if not todo:
        return []
    if not ks:
        raise ValueError("resuming a run needs its keyframes")
    out: list[tuple[int, int, Optional[int]]] = []

    def half(frames: list[int], key: int):  # one half in processing order from keyframe ``key``
        left = [i for i in frames if i in todo]
        if not left:
            return
        n_done = len(frames) - len(left)
        seed = frames[n_done - 1] if n_done and frames[n_done:] == left and seedable(frames[n_done - 1]) else None
        out.append((min(key, *frames), max(key, *frames) + 1, seed))

    for lo, hi in zip([None] + ks, ks + [None]):
        first = start if lo is None else lo + 1  # the frames between the two keyframes
        last = end - 1 if hi is None else hi - 1
        if first > last or not any(first <= i <= last for i in todo):
            continue
        if lo is not None and hi is not None and hi - lo <= gap:
            out.append((lo, hi + 1, None))
            continue
        mid = last if hi is None else first - 1 if lo is None else (lo + hi) // 2  # (as plan_runs splits)
        if lo is not None:
            half(list(range(first, mid + 1)), lo)
        if hi is not None:
            half(list(range(last, mid, -1)), hi)
    return sorted(out)


class Flow:
    """Dense flow ``flow(cur, prev)`` -> float32 (H, W, 2): where each pixel of ``cur`` was in ``prev``."""

    def __init__(self, method: str = "dis", max_side: int = 640):
        if method not in ("dis", "farneback"):
            raise ValueError(f"unknown flow method {method!r}; use 'dis' or 'farneback'")
        self.method = method
        self.max_side = max_side
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) if method == "dis" else None

    def __call__(self, cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
        h, w = cur.shape[:2]
        f = min(1.0, self.max_side / max(h, w))
        a, b = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (cur, prev))
        if f < 1.0:
            size = (round(w * f), round(h * f))
            a, b = (cv2.resize(x, size, interpolation=cv2.INTER_AREA) for x in (a, b))
        if self._dis is not None:
            flow = self._dis.calc(a, b, None)
        else:
            flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 21, 3, 5, 1.1, 0)
        if f < 1.0:
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) / f
        return flow


def warp(img: np.ndarray, flow: np.ndarray, interpolation=cv2.INTER_LINEAR, replicate: bool = False) -> np.ndarray:
    """Backward warp: out[y, x] = img[y + fy, x + fx]; pixels from outside the frame become 0
    (``replicate``: take the nearest edge pixel, so a mask touching the frame edge stays there)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow[..., 0], gy + flow[..., 1], interpolation,
                     borderMode=cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT, borderValue=0)


def warp_diff(prev: np.ndarray, flow: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Mean |RGB difference| per pixel between ``prev`` warped onto ``cur`` by ``flow`` and ``cur``."""
    return np.abs(warp(prev, flow).astype(np.int16) - cur.astype(np.int16)).mean(axis=2)


def prompts_from_mask(mask: np.ndarray, n_positive: int = 3, expand: float = 0.15):
    """Prompts derived from a bool (H, W) mask: (points [(x, y, label)], box (x0, y0, x1, y1)).

    Positive clicks are the points farthest from the mask edge, spread apart; negative clicks
    sit at the midpoints of the expanded box's sides when those are outside the mask.
    """
    h, w = mask.shape
    x0, y0, x1, y1 = mask_box(mask)
    ex, ey = expand * (x1 - x0) + 2, expand * (y1 - y0) + 2
    box = (max(0.0, x0 - ex), max(0.0, y0 - ey), min(float(w), x1 + ex), min(float(h), y1 + ey))
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    points = []
    suppress = max(3.0, 0.5 * float(dist.max()))
    for _ in range(n_positive):
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        if dist[y, x] <= 0 or (points and dist[y, x] < 0.3 * suppress):
            break
        points.append((float(x), float(y), 1))
        cv2.circle(dist, (int(x), int(y)), int(round(2 * suppress)), 0, -1)
    bx0, by0, bx1, by1 = box
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    for x, y in ((bx0, cy), (bx1 - 1, cy), (cx, by0), (cx, by1 - 1)):
        xi, yi = int(np.clip(x, 0, w - 1)), int(np.clip(y, 0, h - 1))
        inside_image = 0 < x < w - 1 and 0 < y < h - 1
        if inside_image and not mask[yi, xi]:
            points.append((float(xi), float(yi), 0))
    return points, box


class _Shared:
    """What the steps of the objects followed side by side compute alike on a frame: the flow to
    the previous frame (calling the object as ``flow_fn(cur, prev)``), the difference between the
    previous frame warped by it and the new one, the new frame's colour bins and texture weight. The
    first object that asks computes a value; it is kept for the arrays it came from, matched by
    identity (frames are not changed in place during a run), so seven objects cost one of each a
    frame instead of seven."""

    def __init__(self, flow_fn=None):
        self.flow_fn = flow_fn
        self._lock = threading.Lock()
        self._last = {}  # name -> (the arrays it was computed from, value)
        self.plate: Optional[BackgroundPlate] = None  # set by iter_track when TrackParams.plate > 0

    def plate_z(self, i: int, box: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``i``'s difference from its background plate inside ``box``, and the plate there
        (``BackgroundPlate.compare``)."""
        with self._lock:
            return self.plate.compare(i, box)

    def get(self, name, key: tuple, compute):
        with self._lock:  # objects followed side by side ask at once: one computes, the rest wait
            hit = self._last.get(name)
            if hit is None or any(a is not b for a, b in zip(hit[0], key)):
                hit = self._last[name] = (key, compute())
            return hit[1]

    def __call__(self, cur, prev):
        if self.plate is not None:  # consecutive frames of the plate's window: its flow
            with self._lock:
                a, b = self.plate.frames.index_of(cur), self.plate.frames.index_of(prev)
                if a is not None and b is not None and abs(a - b) == 1:
                    return self.plate.flow(a, b)
        return self.get("flow", (cur, prev), lambda: self.flow_fn(cur, prev))

    def diff(self, prev, flow, cur):
        return self.get("diff", (prev, flow, cur), lambda: warp_diff(prev, flow, cur))

    def bins(self, rgb, bins: int):
        return self.get(("bins", bins), (rgb,), lambda: colour_bins(rgb, bins))

    def texture(self, rgb, scale: float):
        return self.get(("texture", scale), (rgb,), lambda: texture_weight(rgb, scale))


class _CueState:
    """Per-run state of the cue tracker: the colour model fitted on the keyframe, and for
    re-detection a whole-frame colour model (object : everything else) with the object's last
    trusted position, size and motion. ``shared``: what the objects of a run compute alike."""

    def __init__(self, rgb, mask, p: TrackParams, shared: Optional[_Shared] = None):
        self.shared = shared or _Shared()
        self.colour = ColourModel()
        self.p = p
        b = _band(mask, p)
        self.colour.fit(rgb, _erode(mask, 1), ring(mask, 2, b))
        self.key = ColourModel(anchor=1.0)
        self.key.fit(rgb, _erode(mask, 1), ~_dilate(mask, b))
        self.s0 = self.appearance(rgb, mask)  # the keyframe's own score: how well colour separates it
        self.good = mask            # last trusted mask
        self.velocity = np.zeros(2)  # its centroid's motion per frame
        self.missed = 0             # frames since the last trusted one
        self.probation = 0          # frames left to keep searching after a re-detection
        self.size = float(np.count_nonzero(mask))  # the object's recent area (max, fading by size_fade a frame)
        self.motion = None          # object's residual motion on the last trusted frame
        self.flow = None            # the last step's flow (new frame -> previous)

    def appearance(self, rgb, mask):
        """Mean keyframe colour logit (object : whole background) inside ``mask``."""
        if not mask.any() or not self.key.ready:
            return 0.0
        return float(np.clip(self.key.logit(rgb, self.bins(rgb))[mask], -4, 4).mean())

    def trust(self, mask):
        c0, c1 = _centroid(self.good), _centroid(mask)
        if c0 is not None and c1 is not None:
            self.velocity = 0.5 * self.velocity + 0.5 * (c1 - c0) / max(1, self.missed + 1)
        self.good, self.missed = mask, 0

    def update(self, rgb, mask):
        b = _band(mask, self.p)
        self.colour.update(rgb, _erode(mask, 1), ring(mask, 2, b), self.p.colour_rate, self.bins(rgb))

    def bins(self, rgb):
        return self.shared.bins(rgb, self.colour.bins)

    def texture(self, rgb):
        return self.shared.texture(rgb, self.p.texture)


def _centroid(mask):
    ys, xs = np.nonzero(mask)
    return None if xs.size == 0 else np.array([xs.mean(), ys.mean()])


def _dilate(mask, r):
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), k) > 0


def _band(mask, p):
    return int(max(6, p.band * np.sqrt(max(1, np.count_nonzero(mask)))))


def _erode(mask, r):
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    e = cv2.erode(mask.astype(np.uint8), k) > 0
    return e if e.any() else mask


def _cue_logit(cur_rgb, sd, diff, area, state: _CueState, p: TrackParams):
    """Shape + colour logit per pixel (the motion term is added by the caller)."""
    logit = p.w_shape * np.clip(sd / max(2.0, p.shape_scale * np.sqrt(area)), -3, 3)
    if p.photo_weight:
        # where the warped frame does not match the new one (occluder, flow error) the warped
        # mask is no evidence: the shape prior counts only where the warp is photo-consistent
        d = cv2.GaussianBlur(diff.astype(np.float32), (5, 5), 0)
        c = np.clip(1.0 - (d - p.photo_tol) / p.photo_tol, 0, 1)
        logit = np.where(logit > 0, logit * c, logit)
    logit += p.w_colour * np.clip(state.colour.logit(cur_rgb, state.bins(cur_rgb)), -4, 4)
    return logit


def _plate_logit(z, sd, p: TrackParams, ghost=None):
    """The plate term (float32 (H, W)) from the frame's plate difference ``z``, or None when the
    object (``sd > 2``: inside the warped mask) differs too little from the plate: it stayed put
    over the window, so the plate holds it and says nothing about where it ends. ``ghost`` (bool
    (H, W)): where the difference is the object's trace in the plate, not the object; no term there."""
    inner = sd > 2
    if not inner.any() or float(np.median(z[inner])) < p.plate_gate:
        return None
    term = p.w_plate * np.clip(z / p.plate_thr - 1.0, -1.0, 2.0)
    if ghost is not None:
        term[ghost] = 0.0
    return term


def _step_cues(prev_rgb, prev_mask, cur_rgb, state: _CueState, flow_fn, p: TrackParams,
               expect: Optional[float] = None, plate: Optional[Callable[[tuple], np.ndarray]] = None):
    """Propagate with colour + motion + shape cues and a GrabCut on a band; returns (mask, flag, iou).

    ``expect``: the object's area expected on this frame (between two close keyframes, see
    ``_warp_between``). The warped mask is then the result (flag "" unless lost) when its area is
    within ``warp_area_tol`` of it; the residual motion the guard needs is still computed.
    ``plate(box)``: the frame's background-plate difference inside ``box`` and the plate there
    (``BackgroundPlate.compare``), asked for only when the frame is cut, in the box of the band the
    cut works on.
    """
    flow = flow_fn(cur_rgb, prev_rgb)
    state.flow, state.res = flow, None
    warped = warp(prev_mask.astype(np.float32), flow, replicate=p.replicate) > 0.5
    prev_area = max(1, np.count_nonzero(prev_mask))
    area = np.count_nonzero(warped)
    if area < max(4, 0.05 * prev_area):
        return warped, LOST, 0.0
    diff = state.shared.diff(prev_rgb, flow, cur_rgb)
    consistent = np.count_nonzero(diff[warped] < p.photo_tol) / area
    cut = expect is None or not (1 / p.warp_area_tol <= area / max(1.0, expect) <= p.warp_area_tol)
    band = _band(warped, p)
    sd = signed_distance(warped)
    logit = _cue_logit(cur_rgb, sd, diff, area, state, p) if cut else None
    if cut and plate is not None:
        ys, xs = np.nonzero(sd > -band)  # (the region _band_cut works on)
        g = p.plate_margin
        x0, y0, x1, y1 = max(0, xs.min() - g), max(0, ys.min() - g), xs.max() + 1 + g, ys.max() + 1 + g
        z, bg = plate((x0, y0, x1, y1))
        inbox = (slice(y0, y0 + z.shape[0]), slice(x0, x0 + z.shape[1]))
        ghost = None
        if np.isfinite(p.plate_ghost) and state.colour.ready:
            # the plate looks more like the object than the frame does: the object's trace (where it
            # spent most of the window), which the frame differs from without the object being there
            own = state.colour.logit(cur_rgb[inbox], state.bins(cur_rgb)[inbox])  # (the frame's bins, computed once)
            ghost = (state.colour.logit(bg) - own) > p.plate_ghost
        pl = _plate_logit(z, sd[inbox], p, ghost)
        if pl is not None:
            logit[inbox] += pl
    if p.w_motion or not cut:
        _, res = camera_motion(flow, exclude=sd > -band)
        inner = _erode(warped, 2)
        m_obj = np.median(res[inner], axis=0)
        ml = motion_logit(res, m_obj) if cut else None
        if ml is not None:
            logit += p.w_motion * ml * state.texture(cur_rgb)
        state.res, state.step_motion = res, m_obj
    if cut:
        mask = _keep_overlapping(_band_cut(cur_rgb, logit, sd, band, p), warped)
    else:
        mask = warped
    iou = mask_iou(mask, warped)
    flag = OK
    # objects change size slowly: a cut that swallows a look-alike neighbour, or loses half the
    # object, is refused. Growth is measured against the larger of the warped mask and the
    # object's recent size, so an object coming out from behind an occluder may grow back.
    n = np.count_nonzero(mask)
    too_big = n > p.max_growth * max(area, state.size)
    if not mask.any() or iou < p.accept_iou or too_big or n * p.max_growth < area:
        mask, flag = warped, FALLBACK
    state.size = max(float(np.count_nonzero(mask)), p.size_fade * state.size)
    ratio = np.count_nonzero(mask) / prev_area
    if consistent < p.photo_min or not (p.area_low <= ratio <= p.area_high):
        flag = LOST
        if ratio > p.area_high:
            mask = warped
    if flag != LOST:
        state.update(cur_rgb, mask)
    return mask, flag, iou


def _redetect(cur_rgb, state: _CueState, p: TrackParams):
    """Search the whole frame for the object; returns (mask or None, score, the region that seeded it).

    Evidence per pixel: the keyframe's colour logit (object : the whole background) blurred,
    plus the motion logit (the residual flow after the camera homography moves like the object
    did on its last trusted frame). Connected regions of positive evidence are scored by mean
    evidence x size agreement with the last trusted mask x nearness to its predicted position;
    the best one seeds a band cut like a tracking step.
    """
    H, W = cur_rgb.shape[:2]
    ref = state.good
    aref = max(16, np.count_nonzero(ref))
    ev = np.clip(state.key.logit(cur_rgb, state.bins(cur_rgb)), -4, 4)
    if state.motion is not None:
        if state.res is None and state.flow is not None:
            _, state.res = camera_motion(state.flow)
        ml = motion_logit(state.res, state.motion) if state.res is not None else None
        if ml is not None:
            ev = ev + p.w_motion * ml * state.texture(cur_rgb)
    k = int(max(3, 0.15 * np.sqrt(aref))) | 1
    ev = cv2.blur(ev, (k, k))
    n, lab, stats, cents = cv2.connectedComponentsWithStats((ev > 0).astype(np.uint8), connectivity=8)
    c0 = _centroid(ref)
    pred = c0 + state.velocity * min(state.missed + 1, 5)
    sigma = np.sqrt(aref) * (1.5 + 0.5 * state.missed)
    best, best_score = None, 0.0
    for j in range(1, n):
        a = stats[j, cv2.CC_STAT_AREA]
        if a < 0.15 * aref or a > 0.5 * H * W:
            continue
        sel = lab == j
        size = min(a, aref) / max(a, aref)
        d = np.hypot(*(cents[j] - pred)) / sigma
        score = float(ev[sel].mean()) * size ** 0.5 * np.exp(-0.5 * d * d)
        if score > best_score:
            best, best_score = sel, score
    if best is None or best_score < p.redetect_min:
        return None, best_score, None
    sd = signed_distance(best)
    area = np.count_nonzero(best)
    logit = p.w_shape * np.clip(sd / max(2.0, p.shape_scale * np.sqrt(area)), -3, 3)
    logit += p.w_colour * np.clip(state.colour.logit(cur_rgb, state.bins(cur_rgb)), -4, 4)
    mask = _keep_overlapping(_band_cut(cur_rgb, logit, sd, _band(best, p), p), best)
    return (mask if mask.any() else best), best_score, best


def _guarded(cur_rgb, mask, flag, state: _CueState, p: TrackParams):
    """Occlusion guard after a cue step; returns (mask, flag).

    A result is trusted when the step did not flag it lost, its area is within x3 of the last
    trusted mask and its keyframe colour score is at least ``guard`` x the keyframe's own. Else
    (or while the object is missing) the whole frame is searched (``_redetect``); a found region
    replaces the mask when it looks more like the object (for a doubtful or missing mask, by the
    higher of the cut's score and the found region's own where that is at least the keyframe's:
    mmaction_demo's bottle, in view again
    from frame 61, was refused on every frame as its paler label pulled the cut's score to 0.4-0.7
    against the 0.8 x 1.48 needed, the region itself scoring 1.6-1.8). A doubtful mask that nothing replaces
    is kept when the cut agreed with the warp (flag ""), otherwise dropped: an empty mask, ``lost``,
    and the search goes on in the next frames. A mask doubted only because it stopped dead is kept
    as it is when the region the search finds lies inside it (``stop_inside``): the object paused.
    """
    area = np.count_nonzero(mask)
    aref = max(1, np.count_nonzero(state.good))
    app = state.appearance(cur_rgb, mask)
    r = _residual(mask, state)
    plausible = (app >= p.guard * state.s0 or _moves_as_object(r, state, p)) and 0.33 <= area / aref <= 3.0
    stopped = p.motion_guard and not _moves_like_object(r, state, p)
    looks = plausible and not stopped
    if flag != LOST and looks and state.missed == 0:
        if state.probation > 0:
            # a re-detected mask may be a look-alike: keep searching for a while and switch
            # to a region that looks clearly more like the object
            state.probation -= 1
            found, _, _ = _redetect(cur_rgb, state, p)
            if found is not None and mask_iou(found, mask) < 0.5:
                fa = state.appearance(cur_rgb, found)
                if fa >= p.found * state.s0 and fa > app + p.switch:
                    state.trust(found)
                    return found, FALLBACK
        if r is not None:
            state.motion = r
        state.trust(mask)
        return mask, flag
    found, _, seed = _redetect(cur_rgb, state, p)
    if (found is not None and plausible and stopped and flag != LOST and state.missed == 0
            and _inside(found, mask) >= p.stop_inside > 0):
        # the mask stopped dead, yet the object the search finds lies in it: the object paused (a
        # shaken teddy as it turns back; a mask stuck on the background is left behind by the
        # object), and the search's region is only the part whose colour is the object's alone.
        # The object's motion is left as it was (a pause is not its own motion): while the mask stays
        # stopped each frame goes through this check again (learning the pause's motion let a dog at
        # rest in dogs_jump swell unchecked: 0.737 -> 0.725 from the true first mask)
        state.trust(mask)
        return mask, flag
    if found is not None:
        fa = state.appearance(cur_rgb, found)
        if not looks:
            # the region the search found may score as the object while the cut grown from it does
            # not: parts of the object whose colours the keyframe model gives to the background
            # (lit or blurred otherwise than on the keyframe) pull the cut's mean down. Only a region
            # that scores at least as the keyframe's object did: one just over the bar (bmx's rider
            # clicked on frame 5, searched for behind the trees: 1.17 against 1.42, its cut 0.99)
            # took a wrong region on frame 62 and lost the rider found again without it (0.241 -> 0.149)
            seed_score = state.appearance(cur_rgb, seed)
            if seed_score >= state.s0:
                fa = max(fa, seed_score)
        better = fa > app if not looks else (mask_iou(found, mask) < 0.5 and fa > app + p.switch)
        if fa >= p.found * state.s0 and better:
            state.trust(found)
            state.probation = p.probation
            return found, FALLBACK
    if looks:
        state.trust(mask)
        return mask, flag
    state.missed += 1
    if p.keep_doubtful and flag == OK:
        return mask, FALLBACK  # doubtful but not clearly wrong: keep it, keep searching
    return np.zeros_like(mask), LOST


def _motion_at(rgb, before, mask, flow_fn, p: TrackParams):
    """The residual motion (after the camera homography) of the object ``mask`` on frame ``rgb``
    against the frame ``before`` it, as the guard learns it on a trusted frame (``_residual``), and
    its motion in the frame (px a frame, the way ``_CueState.velocity`` counts it); (None, 0) without
    an interior."""
    inner = _erode(mask, 2)
    if not inner.any():
        return None, np.zeros(2)
    flow = flow_fn(rgb, before)  # (new frame -> previous, as a step's)
    _, res = camera_motion(flow, exclude=signed_distance(mask) > -_band(mask, p))
    return np.median(res[inner], axis=0), -np.median(flow[inner], axis=0)


def _inside(part, mask) -> float:
    """The share of ``part``'s pixels that lie in ``mask`` (0 for an empty ``part``)."""
    n = np.count_nonzero(part)
    return np.count_nonzero(part & mask) / n if n else 0.0


def _residual(mask, state: _CueState) -> Optional[np.ndarray]:
    """The median residual motion (after the camera homography) inside ``mask`` eroded by 2 px, or
    None without a flow or an interior."""
    inner = _erode(mask, 2)
    return None if state.res is None or not inner.any() else np.median(state.res[inner], axis=0)


def _moves_as_object(r, state: _CueState, p: TrackParams) -> bool:
    """True when the object moved on its own on its last trusted frame (at least ``stuck_speed`` px
    a frame against the background) and a mask whose residual motion is ``r`` (``_residual``) moves
    the same way, within ``motion_vouch`` x that motion: the object, whatever its colour score says.
    Measured: a paraglider's pilot (563 px of an 854x480 clip) flagged on 67 of 69 frames, each mask
    a cut a pixel or two wider than the pilot whose colour score fell under the guard's, replaced by
    a re-detected region; 1 with this (docs/SEGMENTATION.md)."""
    m = state.motion
    if not p.motion_vouch or m is None or np.hypot(*m) < p.stuck_speed:
        return False
    return r is not None and bool(np.hypot(*(r - m)) <= p.motion_vouch * np.hypot(*m))


def _moves_like_object(r, state: _CueState, p: TrackParams) -> bool:
    """False when a mask moves with the background (its median residual motion ``r`` after the
    camera homography, ``_residual``, under ``stuck_ratio`` x the object's on its last trusted frame)
    although the object moved on its own (at least ``stuck_speed`` px per frame). A moving object does not stop dead
    between two frames; a mask that slipped onto the background or an occluder does, and trusting
    it would teach the guard the background's position, size and (zero) motion, so the search
    would never look for the object again. True when there is no flow or no clear own motion."""
    m = state.motion
    if m is None or np.hypot(*m) < p.stuck_speed:
        return True
    return r is None or bool(np.hypot(*r) >= p.stuck_ratio * np.hypot(*m))


def _band_cut(cur_rgb, logit, sd, band, p: TrackParams):
    """GrabCut (or the logit's sign) inside the band ``sd > -band``: |logit| > hard definite."""
    H, W = sd.shape
    ys, xs = np.nonzero(sd > -band)
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    L = logit[y0:y1, x0:x1]
    inband = sd[y0:y1, x0:x1] > -band
    if p.cut == "threshold":
        fg = cv2.GaussianBlur(L, (5, 5), 0) > 0
    else:
        lab = np.where(L > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
        lab[L > p.hard] = cv2.GC_FGD
        lab[L < -p.hard] = cv2.GC_BGD
        lab[~inband] = cv2.GC_BGD
        fg = None
        if (lab == cv2.GC_BGD).any() and np.isin(lab, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
            bgm, fgm = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
            try:
                cv2.grabCut(np.ascontiguousarray(cur_rgb[y0:y1, x0:x1, ::-1]), lab, None, bgm, fgm, p.cut_iters,
                            cv2.GC_INIT_WITH_MASK)
                fg = np.isin(lab, (cv2.GC_FGD, cv2.GC_PR_FGD))
            except cv2.error:
                fg = None
        if fg is None:
            fg = L > 0
    fg &= inband
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = fg
    return mask


def _keep_overlapping(m, ref):
    n, lab = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
    if n <= 2:
        return m
    counts = np.bincount(lab[ref], minlength=n)
    sizes = np.bincount(lab.ravel(), minlength=n)
    keep = counts >= 0.3 * sizes
    keep[0] = False
    if not keep.any():
        return m
    return keep[lab]


def _step(prev_rgb, prev_mask, cur_rgb, index, segmenter, flow_fn, p: TrackParams, check=None):
    """Propagate ``prev_mask`` onto ``cur_rgb``; returns (mask, flag, iou). ``check``: called between
    the steps of the segmenter's image preparation (a cancelled run stops inside SAM's encoder)."""
    flow = flow_fn(cur_rgb, prev_rgb)
    # Per-pixel backward warp: on the benchmark clips it beats a RANSAC similarity fit of the
    # object's motion (one-step IoU 0.56-0.89 against 0.59-0.85), as objects deform.
    warped = warp(prev_mask.astype(np.float32), flow) > 0.5
    prev_area = max(1, np.count_nonzero(prev_mask))
    if np.count_nonzero(warped) < max(4, 0.05 * prev_area):
        return warped, LOST, 0.0  # moved out of the frame or vanished
    # Do the moved object's pixels still look like the object? (occlusion, disappearance)
    diff = warp_diff(prev_rgb, flow, cur_rgb)
    consistent = np.count_nonzero(diff[warped] < p.photo_tol) / np.count_nonzero(warped)

    points, box = prompts_from_mask(warped, p.n_positive, p.box_expand)
    segmenter.set_image(cur_rgb, index=index, check=check)
    cands = segmenter.predict(points, box, prior=warped)
    best, best_iou = None, -1.0
    for c in cands:
        iou = mask_iou(c.mask, warped)
        if iou > best_iou:
            best, best_iou = c.mask, iou
    if best is None or best_iou < p.accept_iou:
        mask, flag = warped, FALLBACK
    else:
        mask, flag = best, OK
    ratio = np.count_nonzero(mask) / prev_area
    if consistent < p.photo_min or not (p.area_low <= ratio <= p.area_high):
        flag = LOST
        if ratio > p.area_high:
            mask = warped  # an exploded cut is useless; the warped mask is the better guess
    return mask, flag, max(best_iou, 0.0)


def _warp_between(k, frames, keys, rgb, mask, s0: float, p: TrackParams) -> Optional[int]:
    """The keyframe a run from keyframe ``k`` ends at, when it is at most ``between_warp`` frames
    away, the object is textured and its colour score ``s0`` is under ``warp_colour`` (else
    None). Such a run follows the flow warp alone while the warp keeps the object's size
    (``_step_cues``' ``expect``): over a few frames it stays closer to the truth than the cue
    cut, each step of which costs some edge precision (measured in docs/SEGMENTATION.md)."""
    step = 1 if frames[0] > k else -1
    ahead = [j for j in keys if (j - k) * step > 0]
    if not ahead:
        return None
    other = min(ahead, key=lambda j: abs(j - k))
    if abs(other - k) > p.between_warp or s0 >= p.warp_colour:
        return None
    tex = texture_weight(rgb, p.texture)[_erode(mask, 2)]
    return other if tex.size and float(tex.mean()) >= p.warp_texture else None


def _work_size(shape, side: int) -> Optional[tuple[int, int]]:
    """(width, height) with the long side ``side`` for a frame of ``shape`` (H, W) larger than
    that, else None (the frame is tracked at its own size)."""
    h, w = shape
    if not side or max(h, w) <= side:
        return None
    f = side / max(h, w)
    return max(1, round(w * f)), max(1, round(h * f))


def _resize_mask(mask, size, upscale: bool = False):
    """Bool mask resized to ``size`` (width, height): area-weighted down (a small object keeps at
    least its best-covered pixels), bilinear up."""
    m = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR if upscale else cv2.INTER_AREA)
    out = m > 0.5
    if not upscale and not out.any() and mask.any():
        out = m >= m.max()
    return out


def split_objects(mask: np.ndarray, gap: int, min_share: float = 0.05, max_objects: int = 8) -> list[np.ndarray]:
    """The separate objects of a keyframe mask: bool (H, W) masks, one per group of parts at
    most ``gap`` px apart (a person whose arm the racket splits stays one object; two people
    apart are two). Parts under ``min_share`` of the largest group's area join the nearest group
    (specks are not objects of their own). More than ``max_objects`` groups, or none: the whole
    mask as one object, as before."""
    m = mask.astype(np.uint8)
    if not m.any():
        return [mask]
    r = max(0, int(gap) // 2)
    joined = _dilate(m, r).astype(np.uint8) if r else m
    n, lab = cv2.connectedComponents(joined, connectivity=8)
    if n <= 2:
        return [mask]
    lab = np.where(m > 0, lab, 0)
    areas = np.bincount(lab.ravel(), minlength=n)
    big = [j for j in range(1, n) if areas[j] >= min_share * areas[1:].max()]
    if len(big) > max_objects:
        return [mask]
    if len(big) == 1:
        return [mask.astype(bool)]
    # every part joins the group nearest to it (its own, for a group): per group one distance
    # transform, and each part's least distance to it over the mask's pixels
    inside = m > 0
    parts = lab[inside]
    nearest = np.full((len(big), n), np.inf)
    for g, j in enumerate(big):
        d = cv2.distanceTransform((lab != j).astype(np.uint8), cv2.DIST_L2, 3)
        np.minimum.at(nearest[g], parts, d[inside])
    owner = nearest.argmin(axis=0)[lab]
    return [inside & (owner == g) for g in range(len(big))]


def without_static(keyframes: dict, paint: Callable[[int], np.ndarray], frames, grid: int = 16,
                   near: int = 3) -> dict:
    """``keyframes`` ({frame: bool mask}) less the paint that stays put around them: a logo or
    subtitle painted for all frames, or from some frame onwards, is on those frames already and is
    not an object to follow. ``paint(i)``: the user's own paint on frame ``i`` (bool mask, what a
    tracker added there left out); ``frames``: the frames it may be compared on (the range less
    the keyframes).

    What a keyframe's mask shares with every one of ``grid`` frames spread over ``frames`` is
    static; so is what it shares with every compared frame on one side of it (the spread frames
    there and the ``near`` nearest), when that side has at least ``near`` frames: paint from frame
    40 onwards is on every frame after a keyframe at 50 but not before it. A moving object is not
    at the same place on all of them. Each frame's paint is read once. Returns {frame: bool mask},
    empty masks included; with no frames to compare with, nothing is taken away."""
    frames = sorted(frames)
    spread = (sorted({frames[round(j * (len(frames) - 1) / (grid - 1))] for j in range(grid)})
              if len(frames) > grid else frames)
    read: dict = {}

    def shared(m, group):  # the pixels of m painted on every frame of group
        out = m.copy()
        for i in group:
            if i not in read:
                read[i] = np.asarray(paint(i), bool)
            out &= read[i]
            if not out.any():
                break
        return out

    result = {}
    for k, m in keyframes.items():
        m = np.asarray(m, bool)
        static = shared(m, spread) if spread else np.zeros_like(m)
        at = bisect.bisect_left(frames, k)
        after = frames[at + 1:] if at < len(frames) and frames[at] == k else frames[at:]
        for side, nearest in ((frames[:at], frames[max(0, at - near):at]), (after, after[:near])):
            if len(side) >= near:
                lo, hi = side[0], side[-1]
                static |= shared(m, sorted(set(nearest) | {i for i in spread if lo <= i <= hi}))
        result[k] = m & ~static
    return result


def objects_in(mask: np.ndarray, known, gap: int) -> list[np.ndarray]:
    """The objects of ``mask`` when some are known (``known``: bool masks the user selected one by
    one, e.g. a woman and the dog at her feet): each known object's part of ``mask`` (a known
    object with under 5 % of it left there is dropped), then the rest grouped by
    ``split_objects``; a group of the rest within ``gap`` px of a known object belongs to it (a
    brush stroke that extended it), else it is an object of its own."""
    mask = np.asarray(mask, bool)
    objs, claimed = [], np.zeros_like(mask)
    for k in reversed(list(known)):  # the latest selection first: an older one it overlaps (one
        k = np.asarray(k, bool)          # selected again after an undo) keeps only what is left,
        own = k & mask & ~claimed        # and one mostly erased since is no object any more
        if np.count_nonzero(own) > 0.05 * np.count_nonzero(k):
            objs.insert(0, own)
            claimed |= own
    rest = mask & ~claimed
    if not rest.any():
        return objs or [mask]
    if not objs:
        return split_objects(mask, gap) if gap else [mask]
    for g in split_objects(rest, gap):
        near = _dilate(g, gap)
        touch = [np.count_nonzero(near & o) for o in objs]
        if max(touch) > 0:
            j = int(np.argmax(touch))
            objs[j] = objs[j] | g
        else:
            objs.append(g)
    return objs


def _key_objects(keyframes: dict) -> dict:
    """{frame: bool mask} or {frame: [bool mask per object]} -> {frame: (union, objects or None)}."""
    out = {}
    for k, v in keyframes.items():
        if isinstance(v, (list, tuple)):
            objs = [np.asarray(m, bool) for m in v]
            if not objs:
                raise ValueError(f"keyframe {k} has an empty list of objects")
            if len({o.shape for o in objs}) > 1:
                sizes = ", ".join(str(o.shape) for o in objs)
                raise ValueError(f"keyframe {k}: its object masks differ in size ({sizes})")
            union = np.logical_or.reduce(objs)
            # an empty object has nothing to follow (it would only flag every frame lost)
            out[int(k)] = (union, [o for o in objs if o.any()] or [union])
        else:
            out[int(k)] = (np.asarray(v, bool), None)
    return out


class _Follower:
    """One object followed through one run, frame by frame (``step``), from its keyframe mask."""

    def __init__(self, k, frames, rgb, mask, ends: dict, segmenter, flow_fn: _Shared, p: TrackParams,
                 use_cues: bool, check=None):
        self.k, self.segmenter, self.flow_fn, self.p, self.check = k, segmenter, flow_fn, p, check
        self.prev_rgb, self.prev_mask = rgb, mask
        self.area = float(np.count_nonzero(mask))  # the keyframe's
        self.scale = 1.0  # the object's size against the keyframe's by the flow inside its masks (``_flow_scale``)
        self.spread = _spread(mask)  # the keyframe mask's, for ``place``
        self.state = _CueState(rgb, mask, p, flow_fn) if use_cues and mask.any() else None
        self.guard = self.state is not None and p.redetect and self.state.s0 >= p.min_contrast
        self.target = None
        # a still overlay (``TrackParams.still``): the keyframe's pixels around the mask, compared each frame
        self.still = StillTest(rgb, mask, _band(mask, p)) if self.state is not None and p.still > 0 else None
        self.still_key, self.still_run, self.kept_still = mask, 0, False
        self.camera = np.zeros(2)  # the camera's shift since the keyframe (px, the frame's median flow summed)
        if self.state is not None:
            t = _warp_between(k, frames, sorted(ends), rgb, mask, self.state.s0, p)
            end = None if t is None else _matching(mask, ends[t], alone=len(ends[k]) == 1)
            if end is not None:  # object areas at both ends, interpolated for each frame between
                self.target = t
                self.a0, self.a1 = float(np.count_nonzero(mask)), float(np.count_nonzero(end))

    def place(self, rgb, mask, before=None) -> None:
        """Go on from a frame this run had already done (``rgb``, the ``mask`` it gave this object
        there): the models fitted on the keyframe stay, as an unbroken run's would (fitted afresh
        on a tracked mask instead, the IoU fell 0.487 -> 0.391 over the benchmark clips' objects
        when resumed after 10 frames; this way 0.487: docs/SEGMENTATION.md). ``before``: the frame
        the run did just before that one, from which the object's own motion there is measured, as an
        unbroken run knows it from its last trusted frame (without it, a small object whose colour
        score had sagged, vouched for by its motion, was flagged on every frame after a resume: the
        paraglider's pilot, 11 of 11). The running colour model takes that frame's mask as the
        unbroken run's did there (without it, bmx's rider resumed after frame 10 was not found again
        behind the tree: 0.164 against 0.517 unbroken; docs/SEGMENTATION.md)."""
        self.prev_rgb, self.prev_mask = rgb, mask
        if self.state is not None and mask.any():
            self.state.update(rgb, mask)
            if before is not None:
                self.state.motion, self.state.velocity = _motion_at(rgb, before, mask, self.flow_fn, self.p)
        if self.p.shrunk_scale and self.state is not None and mask.any() and self.spread > 0:
            # the flow's record of how much the object shrank did not outlive the stop: the spread
            # of the mask there against the keyframe's stands in for it (a part lost reads as shrinking
            # too; without the cue tracker's flow an unbroken run keeps 1 as well)
            self.scale = min(1.0, _spread(mask) / self.spread)
        if self.state is not None and mask.any():
            self.state.good = mask
            self.state.size = max(float(np.count_nonzero(mask)), self.state.size * self.p.size_fade)

    def park(self) -> None:
        """Let go of what a stopped run need not hold (``TrackMemo``): the frame, the last step's
        flows (each step computes its own before it reads them), the segmenter and the run's shared
        caches."""
        self.prev_rgb = self.segmenter = self.flow_fn = self.check = None
        if self.state is not None:
            self.state.flow = self.state.res = self.state.shared = None

    def rejoin(self, rgb, segmenter, flow_fn: _Shared, check=None) -> None:
        """Go on after ``park`` in a run going on: ``rgb`` is the frame it had done last, read again."""
        self.prev_rgb, self.segmenter, self.flow_fn, self.check = rgb, segmenter, flow_fn, check
        if self.state is not None:
            self.state.shared = flow_fn

    def _stays(self, cur) -> Optional[bool]:
        """Whether the object stays put on ``cur`` where it was on the keyframe while what is around
        it changed (True), moved or is gone (False), or None: too little changed around it to tell."""
        got = self.still(cur)
        if got is None:
            return None
        flat_in, flat_ring, rel_in, rel_ring = got
        (f0, f1), (r0, r1) = self.p.still_flat, self.p.still_rel
        rel = rel_in - rel_ring
        # (the flat share alone takes a flat object moving slowly for a still one: most of it looks the same
        # while its edge sweeps the ring; by its neighbourhood's change it does not stand out: rel <= 0)
        if (flat_in >= f0 and flat_in - flat_ring >= f1 and rel >= r1 / 2) or (rel_in >= r0 and rel >= r1):
            return True
        if self.kept_still and max(flat_in - flat_ring, rel_in - rel_ring) < self.p.still_gone:
            return False
        return None if self.kept_still else False

    def step(self, i, cur):
        """This object's (mask, flag, iou) on frame ``i`` (RGB ``cur``), after the previous one."""
        p, state = self.p, self.state
        stays = self._stays(cur) if self.still is not None else None
        if self.kept_still:
            # a still overlay: its keyframe mask, flagged where the overlay is no longer seen
            self.prev_rgb, self.prev_mask = cur, self.still_key
            return self.still_key, (LOST if stays is False else OK), 1.0
        expect = None if self.target is None else (
            self.a0 + (self.a1 - self.a0) * abs(i - self.k) / abs(self.target - self.k))
        if state is not None and self.prev_mask.any():
            plate = None if self.flow_fn.plate is None else (lambda box: self.flow_fn.plate_z(i, box))
            mask, flag, iou = _step_cues(self.prev_rgb, self.prev_mask, cur, state, self.flow_fn, p, expect, plate)
            if self.guard:
                mask, flag = _guarded(cur, mask, flag, state, p)
        elif self.guard:  # dropped on an earlier frame: search the whole frame again
            state.flow = self.flow_fn(cur, self.prev_rgb)
            state.res = None
            mask, flag = _guarded(cur, self.prev_mask, LOST, state, p)
            iou = 0.0
        else:
            mask, flag, iou = _step(self.prev_rgb, self.prev_mask, cur, i, self.segmenter, self.flow_fn, p, self.check)
        self.prev_rgb, self.prev_mask = cur, mask
        if p.shrunk_scale and state is not None and state.flow is not None and mask.any():
            self.scale *= _flow_scale(mask, state.flow)
        # measured on the benchmark clips: a mask under half its keyframe's size is mostly a wrong
        # one (a part lost, the object hidden and not grown back); flagging it finds 0.58 -> 0.69
        # of the bad frames from the true first masks at the same precision (docs/SEGMENTATION.md)
        ref = self.area * min(1.0, self.scale) ** 2 if expect is None else expect
        if flag == OK and np.count_nonzero(mask) < p.shrunk * ref:
            flag = SHRUNK
        if self.still is not None:
            if state is not None and state.flow is not None:
                self.camera += np.median(state.flow[::4, ::4].reshape(-1, 2), axis=0)
            self.still_run = self.still_run + 1 if stays else 0 if stays is False else self.still_run
            if self.still_run >= p.still and np.hypot(*self.camera) >= max(3.0, p.still_camera * np.sqrt(self.area)):
                # stayed put while what is around it changed, frame after frame: an overlay the flow would
                # drag along with the background under it; its keyframe mask from here on
                self.kept_still = True
                self.prev_mask = self.still_key
                return self.still_key, OK, mask_iou(self.still_key, mask)
        return mask, flag, iou


def _spread(mask) -> float:
    """How far the pixels of ``mask`` lie from their centre (the root of their variance), 0 when empty."""
    ys, xs = np.nonzero(mask)
    return float(np.sqrt(xs.var() + ys.var())) if xs.size else 0.0


def _flow_scale(mask, flow) -> float:
    """How much larger the pixels of ``mask`` spread than where the flow (new frame -> previous)
    says they were: about 0.98 for an object moving away, 1 for one that moves or loses a part
    (the same pixels on both frames)."""
    ys, xs = np.nonzero(mask)
    if xs.size < 20:
        return 1.0
    f = flow[ys, xs]
    now = np.sqrt(xs.var() + ys.var())
    before = np.sqrt((xs + f[:, 0]).var() + (ys + f[:, 1]).var())
    return float(now / before) if before > 0 else 1.0


def _matching(mask, objects: list[np.ndarray], alone: bool = True) -> Optional[np.ndarray]:
    """The object of another keyframe that is ``mask``'s: the other keyframe's only one when
    ``mask`` is its own keyframe's only one too, else the one whose centre is nearest to
    ``mask``'s, when its area is within x3; else None."""
    if alone and len(objects) == 1:
        return objects[0]
    c = _centroid(mask)
    best = min(objects, key=lambda o: np.inf if _centroid(o) is None else float(np.hypot(*(_centroid(o) - c))))
    ratio = (np.count_nonzero(best) + 1) / (np.count_nonzero(mask) + 1)
    return best if 1 / 3 <= ratio <= 3 else None


_WORST = {OK: 0, SHRUNK: 1, FALLBACK: 2, LOST: 3}

# OpenCV's generator (``cv::RNG``, one per thread) is a multiply-with-carry on 64 bits. Python can
# seed it (``cv2.setRNGSeed``, an int) and draw from it, not read or set its state: a stopped run
# counts the draws it took since the seed it was given, and the run going on takes as many again.
_RNG_COEFF = 4164903690
_RNG_MAX_DRAWS = 3_000_000  # (counting is a Python loop: about a second for as many; a run draws ~30 a frame)


def _rng_start(seed: int) -> int:
    state = seed % (1 << 64)  # (as cv2.setRNGSeed: the int taken as unsigned 64 bits, 0 as 0xffffffff)
    return state or 0xFFFFFFFF


def _rng_next(state: int) -> int:
    return ((state & 0xFFFFFFFF) * _RNG_COEFF + (state >> 32)) & 0xFFFFFFFFFFFFFFFF


def _rng_draw(n: int) -> np.ndarray:
    """``n`` draws of this thread's generator, each its state's low 32 bits (int64)."""
    out = np.empty((1, max(1, n)), np.int32)
    cv2.randu(out, -(1 << 31), 1 << 31)  # (one draw a value: the draw less 2^31, wrapped)
    return (out.ravel()[:n].astype(np.int64) + (1 << 31)) & 0xFFFFFFFF


def _rng_draws_since(seed: int) -> Optional[int]:
    """How many draws this thread's generator has made since ``cv2.setRNGSeed(seed)``, or None when
    not within ``_RNG_MAX_DRAWS`` (or the generator is not the one modelled here). Reads it: two
    draws more are made."""
    a, b = (int(v) for v in _rng_draw(2))
    now = (((b - a * _RNG_COEFF) & 0xFFFFFFFF) << 32) | a  # the state after the first of the two
    state = _rng_start(seed)
    for n in range(_RNG_MAX_DRAWS):
        state = _rng_next(state)
        if state == now:
            return n
    return None


def _rng_go_on(seed: int, draws: int) -> None:
    """Seed this thread's generator with ``seed`` and make ``draws`` draws: where a run that was
    seeded so had got to."""
    cv2.setRNGSeed(seed)
    if draws:
        _rng_draw(draws)


class TrackMemo:
    """What a stopped run knew (``iter_track``'s ``keep``), held in memory to go on from exactly.

    A run given ``keep=memo`` and stopped with ``Cancelled`` between two frames leaves in ``memo``
    its objects' state at the last frame it did: their masks, colour and guard models, the
    object's motion and size, the search's state, the plate's camera steps in the window and the
    draws made of OpenCV's generator (GrabCut's k-means) since ``rng_seed``; no frames (the
    frames the run goes on with are read again and must match). ``resume()`` says where it
    stopped. ``iter_track`` called again with the same arguments, ``keep=memo`` and that
    ``resume`` takes it and goes on as the unbroken run would have: the same masks and flags.
    Anything else given (another keyframe mask, frame count, parameter, segmenter, seed, or other
    masks at the seed) releases it and the run goes on as without it (``_Follower.place``). Held:
    one run, the masks and models of its objects at the work size (a few frames' worth)."""

    def __init__(self):
        self.run: Optional[_Kept] = None

    def __bool__(self) -> bool:
        return self.run is not None

    def resume(self) -> dict:
        """{keyframe: (seed, [mask per object])}: where the stopped run goes on (``iter_track``'s
        ``resume``); empty when nothing is held."""
        r = self.run
        return {} if r is None else {r.k: (r.seed, [_unpack(m, r.full) for m in r.masks])}


@dataclass
class _Kept:
    key: bytes          # what the run was given (``_run_key``)
    run: int            # its run (``plan_runs``' order) that was going on, and that run's
    k: int              # keyframe
    seed: int           # the last frame the run did
    masks: list         # each object's mask there as yielded, bit-packed
    full: tuple         # (H, W) of those masks
    frame: bytes        # digest of the seed frame as the run tracked it
    followers: list     # the objects' ``_Follower``s after that frame
    hom: dict           # the plate's camera steps in the window (``BackgroundPlate._hom``); {} without a plate
    base: int           # the seeds' base of the steps on threads
    draws: Optional[int]  # draws of the calling thread's OpenCV generator since rng_seed (None: not known)


def _unpack(packed, shape) -> np.ndarray:
    h, w = shape
    return np.unpackbits(packed, count=h * w).reshape(h, w).astype(bool)


def _digest(*arrays) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(repr((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.digest()


def _run_key(n_frames, given: dict, p: TrackParams, segmenter, use_cues: bool, rng_seed) -> bytes:
    """What a run's result depends on besides the frames: for ``TrackMemo`` to know it is the same run."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((n_frames, astuple(p), type(segmenter).__qualname__, use_cues, rng_seed)).encode())
    for k in sorted(given):
        union, objs = given[k]
        h.update(repr(k).encode() + _digest(union, *(objs or [])))
    return h.digest()


def iter_track(get_frame: FrameFn, n_frames: int, keyframes: dict, segmenter: Segmenter,
               cancel: Optional[CancelToken] = None, params: Optional[TrackParams] = None,
               resume: Optional[dict] = None, keep: Optional[TrackMemo] = None,
               rng_seed: Optional[int] = None) -> Iterator[TrackStep]:
    """Yield a ``TrackStep`` per frame (keyframes included), in processing order, not frame order.

    ``get_frame(i)`` returns frame ``i`` as RGB uint8 (H, W, 3). ``keyframes`` maps frame index
    to a bool (H, W) mask, or to a list of them, one per object. ``cancel.check()`` runs before
    each frame (raises ``Cancelled``), and with SAM between its image encoder's blocks too. Each
    object is followed on its own: those of a list as given, those of a mask as ``split_objects``
    separates them (``TrackParams.object_gap``); a frame's mask is their union and its flag the
    worst of theirs.

    ``resume``: {keyframe: (seed, mask or [mask per object])} goes on with a run stopped earlier
    (``resume_spans``): the keyframe's run starts at the frame after ``seed`` from the masks that
    run gave there (its objects in the order it followed them), with its models fitted on the
    keyframe as before; the frames up to the seed are not yielded.

    ``keep`` (``TrackMemo``): a run stopped between two frames leaves there what it knew; called
    again with the same arguments and ``resume=keep.resume()`` it goes on from that, as the run
    would have gone on unstopped: the same masks and flags (the runs of keyframes it had finished
    are not done again). ``rng_seed``: seeds this thread's OpenCV generator (GrabCut's k-means)
    first, as ``cv2.setRNGSeed`` just before the call would; with it a kept run takes up the
    generator where it was (without it the generator goes on from wherever it is).
    """
    p = params or TrackParams()
    if rng_seed is not None:
        cv2.setRNGSeed(rng_seed)
    given = _key_objects(keyframes)  # {frame: (union, objects or None)}
    runs = plan_runs(n_frames, given)
    for k, (seed, _) in (resume or {}).items():
        if not any(k == r and seed in frames for r, frames in runs):
            raise ValueError(f"frame {seed} is not on a run of keyframe {k}: nothing to resume there")
    use_cues = p.cues and getattr(segmenter, "weight_free", False)
    for k in sorted(given):
        if cancel is not None:
            cancel.check()
        yield TrackStep(k, given[k][0], KEYFRAME, k)
    kept, key = None, None
    if keep is not None:
        kept, keep.run = keep.run, None  # (gone on from once; released when it is not this run's)
        key = _run_key(n_frames, given, p, segmenter, use_cues, rng_seed)
        if kept is not None and not _kept_fits(kept, key, resume):
            kept = None
    full = next(iter(given.values()))[0].shape
    work = _work_size(full, p.work_side) if use_cues else None
    if work is not None:
        # the cue tracker runs at a working size: its pixel constants were tuned there, and the
        # band GrabCut's cost grows with the frame (3.3 s a frame at 1280x720, 0.22 s at 640: docs/SEGMENTATION.md)
        given = {k: (_resize_mask(m, work), None if objs is None else [_resize_mask(o, work) for o in objs])
                 for k, (m, objs) in given.items()}  # (the keyframe steps went out full size)
        get_full = get_frame

        def get_frame(i):
            rgb = get_full(i)
            if rgb.shape[:2] != full:
                raise ValueError(f"frame {i} is {rgb.shape[:2]}, masks are {full}")
            return cv2.resize(rgb, work, interpolation=cv2.INTER_AREA)
    shape = next(iter(given.values()))[0].shape
    gap = p.gap_px(shape)
    objects = {k: objs if objs is not None else split_objects(m, gap) if gap else [m]
               for k, (m, objs) in given.items()}
    flow_fn = _Shared(Flow(p.flow, p.flow_max_side))
    plate = None
    if use_cues and p.plate > 0:
        # the plate reads up to ``plate`` frames ahead: the tracker and it share one ring of frames,
        # so each frame is read (decoded, scaled) once, in order, and at most 2 plate + 1 are held
        if cancel is not None:
            read = get_frame

            def get_frame(i):  # (reading ahead, a cancelled run stops at the next read, not 2 plate frames on)
                cancel.check()
                return read(i)
        get_frame = FrameRing(get_frame, 2 * p.plate + 1)
        # its flows (computed under the shared lock) are the ones the steps ask for: each is computed once
        plate = flow_fn.plate = BackgroundPlate(get_frame, n_frames, flow_fn.flow_fn, p.plate)
    if kept is not None:
        try:
            if _digest(get_frame(kept.seed)) != kept.frame:
                kept = None  # (another video, or frames read otherwise: gone on from as without it)
        except Cancelled:
            keep.run = kept  # (stopped before it went on: still there to go on from)
            raise
    most = max(len(o) for o in objects.values())
    workers = min(most, p.threads or os.cpu_count() or 1) if use_cues else 1  # (SAM's predictor is not shareable)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="track") if workers > 1 else None
    base = _thread_seed_base() if pool is not None else 0
    if kept is not None:
        base = kept.base
    check = None if cancel is None else cancel.check
    try:
        for r, (k, frames) in enumerate(runs):
            if kept is not None and r < kept.run:
                continue  # (finished before the run was stopped)
            if plate is not None:
                plate.forward = not frames or frames[-1] > k
            done, last = None, None  # the last frame of this run done, and its masks (for ``keep``)
            if kept is not None and r == kept.run:  # the stopped run goes on from what it knew
                followers, done, last = kept.followers, kept.seed, [_unpack(m, kept.full) for m in kept.masks]
                try:
                    rgb = get_frame(done)
                except Cancelled:
                    keep.run = kept  # (stopped before it went on: still there to go on from)
                    raise
                for f in followers:
                    f.rejoin(rgb, segmenter, flow_fn, check)
                if plate is not None:
                    plate._hom.update(kept.hom)  # (its camera steps, each computed the way its run walked)
                if kept.draws is not None:
                    _rng_go_on(rng_seed, kept.draws)
                frames, kept = frames[frames.index(done) + 1:], None
            else:
                rgb = get_frame(k)
                followers = [_Follower(k, frames, rgb, m, objects, segmenter, flow_fn, p, use_cues, check)
                             for m in objects[k]]
            if resume and k in resume and resume[k][0] in frames:  # (the run of k that the seed is on)
                seed, got = resume[k]
                got = list(got) if isinstance(got, (list, tuple)) else [got]
                at = frames.index(seed)  # (the frame the run did before the seed: the object's motion there)
                before = get_frame(frames[at - 1] if at > 0 else k)
                seed_rgb = get_frame(seed)
                last = [np.asarray(got[j], bool) if j < len(got) else np.zeros(full, bool)
                        for j in range(len(followers))]  # (an object the run had no mask for there: lost)
                for f, m in zip(followers, last):
                    f.place(seed_rgb, m if work is None else _resize_mask(m, work), before)
                frames, done = frames[at + 1:], seed
            for i in frames:
                try:  # (up to the steps nothing has changed: a stop here leaves a run to go on from)
                    if cancel is not None:
                        cancel.check()
                    cur = get_frame(i)
                    if plate is not None:  # the frames its plate reads, read now: a step does not stop half-way
                        lo, hi = plate.window(i)
                        for j in (range(lo, hi + 1) if plate.forward else range(hi, lo - 1, -1)):
                            get_frame(j)
                except Cancelled:
                    if keep is not None and done is not None:
                        keep.run = _kept(key, r, k, done, last, full, followers, plate, base, rng_seed)
                    raise
                if cur.shape[:2] != shape:
                    raise ValueError(f"frame {i} is {cur.shape[:2]}, masks are {shape}")
                if pool is None or len(followers) == 1:
                    results = [f.step(i, cur) for f in followers]
                else:  # each object's step on a thread of its own, seeded by frame and object
                    seeds = [(base + (i << 8) + j) % 0x7FFFFFFF for j in range(len(followers))]
                    results = list(pool.map(_seeded_step, followers, [i] * len(followers), [cur] * len(followers),
                                            seeds))
                masks = [r_[0] if work is None else _resize_mask(r_[0], (full[1], full[0]), upscale=True)
                         for r_ in results]
                mask = masks[0] if len(masks) == 1 else np.logical_or.reduce(masks)
                flag = max((r_[1] for r_ in results), key=_WORST.__getitem__)
                done, last = i, masks
                yield TrackStep(i, mask, flag, k, min(r_[2] for r_ in results), None if len(masks) == 1 else masks)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _kept_fits(kept: _Kept, key: bytes, resume: Optional[dict]) -> bool:
    """Whether a run given ``key`` and ``resume`` is the one ``kept`` was stopped from, going on where it stopped."""
    if kept.key != key or not resume or resume.get(kept.k, (None,))[0] != kept.seed:
        return False
    got = resume[kept.k][1]
    got = [np.asarray(g, bool) for g in (got if isinstance(got, (list, tuple)) else [got])]
    if any(g.shape != kept.full for g in got):
        return False
    mine = kept.masks
    if len(got) == 1 and len(mine) > 1:  # the frame's mask, its objects together (a keyframe's mask split)
        mine = [np.bitwise_or.reduce(mine)]
    return len(got) == len(mine) and all(np.array_equal(np.packbits(g.ravel()), m) for g, m in zip(got, mine))


def _kept(key, r, k, seed, masks, full, followers, plate, base, rng_seed) -> _Kept:
    """A ``TrackMemo``'s run: ``followers`` after frame ``seed`` of run ``r`` (keyframe ``k``), where
    they gave ``masks`` (full size); reads the calling thread's OpenCV generator (the run is over)."""
    frame = _digest(followers[0].prev_rgb)
    for f in followers:
        f.park()
    return _Kept(key=key, run=r, k=k, seed=seed, masks=[np.packbits(np.asarray(m, bool).ravel()) for m in masks],
                 full=tuple(full), frame=frame, followers=followers, hom=dict(plate._hom) if plate is not None else {},
                 base=base, draws=None if rng_seed is None else _rng_draws_since(rng_seed))


def _seeded_step(follower, i, cur, seed):
    cv2.setRNGSeed(seed)  # this thread's generator (GrabCut's k-means): the same run gives the same masks
    return follower.step(i, cur)


def _thread_seed_base() -> int:
    """A base for the threads' seeds drawn from the calling thread's OpenCV generator, so that
    seeding it (``cv2.setRNGSeed``) decides a run on threads as it decides one without."""
    return int(cv2.randu(np.zeros((1, 1), np.int32), 0, 1 << 20)[0, 0]) << 10


def track(get_frame: FrameFn, n_frames: int, keyframes: dict, segmenter: Segmenter,
          progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
          on_mask: Optional[Callable[[TrackStep], None]] = None, keep_masks: bool = True,
          params: Optional[TrackParams] = None, resume: Optional[dict] = None, keep: Optional[TrackMemo] = None,
          rng_seed: Optional[int] = None) -> TrackResult:
    """Track the object(s) through all ``n_frames`` frames; see ``iter_track`` for the arguments.

    ``on_mask(step)`` receives each frame's result as soon as it exists (e.g. to write it to
    disk); with ``keep_masks=False`` the result holds flags only, so memory stays flat.
    Progress reports count frames done, with ``info={"flagged": n}``.
    """
    if not keyframes:
        raise ValueError("tracking needs at least one keyframe")
    result = None
    skipped = sum(abs(seed - k) for k, (seed, _) in (resume or {}).items())  # (up to each seed: not tracked again)
    clock = ProgressClock(progress, n_frames - skipped, "tracking")
    flagged = 0
    for done, step in enumerate(iter_track(get_frame, n_frames, keyframes, segmenter, cancel, params, resume, keep,
                                           rng_seed), 1):
        if result is None:  # the first step is a keyframe's, at the frames' size
            result = TrackResult(step.mask.shape, [None] * n_frames, [OK] * n_frames, [-1] * n_frames,
                                 [1.0] * n_frames)
        if keep_masks:
            result.packed[step.index] = np.packbits(step.mask.ravel())
        result.flags[step.index] = step.flag
        result.sources[step.index] = step.source
        result.ious[step.index] = step.iou
        flagged += step.flag in CHECK
        if on_mask is not None:
            on_mask(step)
        clock.report(done, flagged=flagged)
    return result


def click_motion(get_frame: FrameFn, index: int, n_frames: int, step: Optional[int] = None,
                 flow: Optional[Flow] = None, steps=(2, 4, 6)):
    """Flows from frame ``index`` to frames a few ``steps`` away (forward, else backward).

    Returns a list of float32 (H, W, 2) flows (one per distinct other frame; empty for a
    one-frame video), or with ``step`` given a single flow (None for a one-frame video). Pass it
    to ``GrabCutSegmenter.set_motion`` before a click so the click grows along the object's
    motion; several steps let slowly moving objects show their motion too.
    """
    flow = flow or Flow()
    out = [flow(get_frame(index), get_frame(other))  # frame(index)(x) ~ frame(other)(x + f(x))
           for other in motion_frames(index, n_frames, [step] if step is not None else steps)]
    if step is not None:
        return out[0] if out else None
    return out


def motion_frames(index: int, n_frames: int, steps=(2, 4, 6)) -> list[int]:
    """The frames ``click_motion`` reads besides ``index``, in its order: each step forward, else
    back where forward runs past the end; each frame once."""
    out = []
    for st in steps:
        other = int(np.clip(index + st if index + st < n_frames else index - st, 0, n_frames - 1))
        if other != index and other not in out:
            out.append(other)
    return out


#: the long side (px) of the frame copies ``click_plate`` works on
PLATE_SIDE = 320


def plate_copy(rgb: np.ndarray, max_side: int = PLATE_SIDE) -> np.ndarray:
    """``rgb`` as ``click_plate`` works on it: scaled (area) to ``max_side`` on its long side, or
    itself where it is no larger. A copy made beforehand (``ClickFrames`` keeps the plate's frames
    this way) is taken by ``click_plate`` as it is, so the plate is the same to the bit."""
    h, w = rgb.shape[:2]
    f = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return rgb if size == (w, h) else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)



def click_plate(get_frame: FrameFn, index: int, n_frames: int, radius: int = 10, max_side: int = PLATE_SIDE,
                flow: Optional[Flow] = None) -> Optional[np.ndarray]:
    """Frame ``index``'s difference from its background plate (``BackgroundPlate.z``: float32, about
    0.3-0.5 on the background, several units on an object moving against it), computed on copies of
    the frames scaled to ``max_side`` (long side), for ``GrabCutSegmenter.set_plate`` (the cut from it
    runs at the segmenter's own size: over 91 clicks on the benchmark clips 320 px gave the same
    candidates' best IoU as 640, 0.548 against 0.547, in about half the time). Reads the
    ``2 radius`` frames around ``index`` once each, in order (a video read backwards seeks for each
    frame). ``get_frame`` may give the other frames as ``plate_copy`` made them (taken as they are).
    None for a clip of fewer than 4 frames."""
    if n_frames < 4:
        return None
    flow = flow or Flow()
    first = plate_copy(get_frame(index), max_side)
    size = first.shape[1], first.shape[0]

    def small(i):
        if i == index:
            return first
        rgb = get_frame(i)
        return rgb if rgb.shape[:2] == first.shape[:2] else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)

    ring = FrameRing(small, 2 * radius + 1)
    plate = BackgroundPlate(ring, n_frames, flow, radius)
    lo, hi = plate.window(index)
    for i in range(lo, hi + 1):
        ring(i)
    return plate.z(index)


def prepare_click(segmenter: Segmenter, get_frame: FrameFn, index: int, n_frames: int, plate: int = 10) -> None:
    """Give a weight-free segmenter what a click on frame ``index`` grows along besides colour: the
    motion to frames 2, 4 and 6 away (``click_motion``) and the difference from the background plate
    of the ``plate`` frames either side (``click_plate``; 0: none). Nothing for other segmenters (SAM
    needs neither). ``get_frame`` may raise to stop it (a cancelled click)."""
    if not getattr(segmenter, "weight_free", False):
        return
    segmenter.set_motion(click_motion(get_frame, index, n_frames))
    segmenter.set_plate(click_plate(get_frame, index, n_frames, plate) if plate > 0 else None)
