"""Flow-guided pixel propagation in front of STTN (not in the paper; in the spirit of DFVI/FGVC).

Where the content behind a mask is visible in another frame (a moving camera, a moving
object), copying it along the optical flow reproduces it exactly, which no generator trained
or untrained does. Only what no frame of the chunk reveals is left for ``fill_remaining``
(STTN, or Telea when there are no weights).

Per chunk of frames (``propagate``):

1. Flow. Frames are converted to grey, shrunk so the longer side is at most
   ``flow_max_side``, the holes are pre-filled with Telea (so DIS does not chase the hole's
   edges), and DIS computes forward (t -> t+1) and backward (t+1 -> t) flow for every pair.
2. Flow completion. Flow within ``hole_dilate`` pixels of a hole describes made-up content,
   so it is discarded and replaced by a membrane (Laplace) interpolation of the flow around
   the hole, solved coarse-to-fine (camera and background motion are smooth across a hole).
3. Propagation. From each hole pixel a chain follows the completed flow forward frame by
   frame, and another backward, until it lands on a known pixel (all four bilinear
   neighbours known) of some frame. A step is taken only where the forward and backward flow
   agree (Sundaram et al.'s test); an inconsistent step or leaving the frame ends the chain.
   The value is sampled once from the source frame (no repeated resampling blur); if both
   directions find one they are averaged with weights 1 / temporal distance.
   Pass 2 (``passes``) lets pixels whose chains broke use the pixels filled in pass 1.

``propagate_video`` streams a long video through ``propagate`` in chunks of at most ``chunk``
frames (memory bounded), with ``overlap`` frames of already-written output in front of each
chunk (its propagated pixels count as known, so fills continue across chunk borders) and
``overlap`` frames of look-ahead behind it. ``fill_remaining`` fills what is left and is
feather-blended over a thin band of propagated pixels so the seam between the two is soft.
"""
from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Optional, Sequence

import cv2
import numpy as np

from .errors import InpaintError, MaskError
from .jobs import CancelToken, ProgressClock, ProgressFn
from .masks import shrink_mask

FillFn = Callable[[list, list], list]
"""fill_remaining(frames, masks) -> frames: frames are RGB uint8 (H, W, 3), masks bool (H, W)
(True = fill); returns a list of the same length of RGB uint8 (H, W, 3). Only the masked pixels
of the returned frames are used."""

_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
_ROW = 1024
_CROSS = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], np.float32)


@dataclass
class PropagateConfig:
    """Settings of flow-guided propagation (defaults tuned on 432x240 and 972x540 clips).

    flow_max_side: flows are computed on a copy whose longer side is at most this many pixels.
    flow_preset: DIS preset, 'ultrafast' | 'fast' | 'medium'.
    hole_dilate: flow within this many (flow-resolution) pixels of a hole is recomputed.
    fb_alpha, fb_beta: forward-backward test |f + b|^2 <= alpha (|f|^2 + |b|^2) + beta (beta in px^2).
    max_distance: longest chain in frames (None: the whole chunk).
    passes: propagation passes (>= 1); later passes may use pixels filled in earlier ones.
    mask_dilate: ``propagate_video`` grows the masks by this many 3x3-cross steps first.
    blend_band: width in pixels of the feathered seam between propagated and generated pixels.
    workers: threads for the per-frame and per-pair work (0: one per core). Every frame and frame
    pair is computed the same way on any thread, so the result does not depend on it.
    """

    flow_max_side: int = 512
    flow_preset: str = "medium"
    hole_dilate: int = 8
    fb_alpha: float = 0.01
    fb_beta: float = 0.5
    max_distance: Optional[int] = None
    passes: int = 2
    mask_dilate: int = 0
    blend_band: int = 4
    #: threads for the flows and the chain tracing (0: one per core); results do not depend on it
    workers: int = 0

    def __post_init__(self):
        if self.flow_preset not in _PRESETS:
            raise InpaintError(f"Unknown flow preset {self.flow_preset!r}; use one of {', '.join(_PRESETS)}.")
        if self.flow_max_side < 16 or self.passes < 1 or self.hole_dilate < 0 or self.blend_band < 0:
            raise InpaintError("flow_max_side must be >= 16, passes >= 1, hole_dilate and blend_band >= 0.")

    def to_dict(self) -> dict:
        return asdict(self)


# ---- helpers --------------------------------------------------------------------------------
HOLE_ONE = 65535  # a hole pixel in the 16-bit hole maps chains sample
HOLE_FREE = 7  # a bilinear hole value below this (1e-4 of a hole pixel) is outside every hole


def _sample(img: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Bilinear values of ``img`` (H, W[, C]) at float (x, y) positions ``pos`` (N, 2) -> (N[, C])."""
    n = len(pos)
    # remap's maps must be < 32767 on each side: lay the points out as rows of _ROW.
    rows = max(1, -(-n // _ROW))
    p = np.zeros((rows * _ROW, 2), np.float32)
    p[:n] = pos
    p = p.reshape(rows, _ROW, 2)
    out = cv2.remap(img, p[..., 0], p[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape((rows * _ROW,) + img.shape[2:])[:n]


def _pool(cfg: "PropagateConfig"):
    """Threads for per-frame work: OpenCV and NumPy's array loops release the interpreter lock.
    ``map`` keeps the order and raises the first error (a cancel among them)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=cfg.workers or os.cpu_count() or 1, thread_name_prefix="propagate")


def _grow(mask: np.ndarray, steps: int) -> np.ndarray:
    if steps <= 0:
        return mask.astype(bool)
    k = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    return cv2.dilate(mask.astype(np.uint8), k, iterations=int(steps)).astype(bool)


def membrane_fill(values: np.ndarray, hole: np.ndarray, iters: int = 30) -> np.ndarray:
    """Replace ``values`` (H, W, C) float32 inside ``hole`` (bool (H, W)) by the harmonic
    interpolation of the values around it (Laplace equation, Dirichlet border), coarse to fine.
    Returns a new float32 array; values outside the hole are unchanged."""
    values = np.asarray(values, np.float32)
    if values.ndim == 2:
        return membrane_fill(values[..., None], hole, iters)[..., 0]
    hole = hole.astype(bool)
    if not hole.any():
        return values.copy()
    if hole.all():
        return np.zeros_like(values)
    # Work on the hole's bounding box plus a margin: the solution depends on its border only.
    ys, xs = np.nonzero(hole)
    m = 2
    y0, y1 = max(ys.min() - m, 0), min(ys.max() + m + 1, hole.shape[0])
    x0, x1 = max(xs.min() - m, 0), min(xs.max() + m + 1, hole.shape[1])
    out = values.copy()
    out[y0:y1, x0:x1] = _membrane(values[y0:y1, x0:x1], hole[y0:y1, x0:x1], iters)
    return out


def _membrane(v: np.ndarray, hole: np.ndarray, iters: int) -> np.ndarray:
    out = v.copy()
    h, w = hole.shape
    known = (~hole).astype(np.float32)
    if min(h, w) <= 8 or hole.sum() <= 64:
        out[hole] = v[~hole].mean(0)
        n = 4 * max(h, w)  # plain Jacobi converges in O(size) sweeps on a small grid
    else:
        # Coarse level: known-weighted average pooling; cells with no known pixel are the coarse hole.
        size = ((w + 1) // 2, (h + 1) // 2)
        ks = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
        vs = cv2.resize(v * known[..., None], size, interpolation=cv2.INTER_AREA)
        vs = vs.reshape(ks.shape + (v.shape[2],))
        coarse_hole = ks < 1e-6
        vs = vs / np.maximum(ks, 1e-6)[..., None]
        coarse = _membrane(vs, coarse_hole, iters)
        up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR).reshape(v.shape)
        out[hole] = up[hole]
        n = iters
    where = hole[..., None]  # copyto with a broadcast mask: same values, no gather/scatter copies
    for _ in range(n):
        sm = cv2.filter2D(out, -1, _CROSS, borderType=cv2.BORDER_REPLICATE).reshape(out.shape)
        np.copyto(out, sm, where=where)
    return out


class _Flows:
    """Completed forward/backward flows of a chunk, stored at flow resolution (scale ``s``)."""

    def __init__(self, frames: Sequence[np.ndarray], holes: Sequence[np.ndarray], cfg: PropagateConfig,
                 cancel: CancelToken, pool, tick: Callable[[], None] = lambda: None):
        h, w = frames[0].shape[:2]
        self.s = min(1.0, cfg.flow_max_side / max(h, w))
        size = (max(int(round(w * self.s)), 8), max(int(round(h * self.s)), 8))
        self.sx, self.sy = size[0] / w, size[1] / h

        def prepare(k):
            g = cv2.cvtColor(frames[k], cv2.COLOR_RGB2GRAY)
            mh = shrink_mask(holes[k], size)
            if size != (w, h):
                g = cv2.resize(g, size, interpolation=cv2.INTER_AREA)
            if mh.any():
                g = cv2.inpaint(g, mh.astype(np.uint8), 3, cv2.INPAINT_TELEA)
            return g, _grow(mh, cfg.hole_dilate)

        def pair(k):
            cancel.check()
            dis = cv2.DISOpticalFlow_create(_PRESETS[cfg.flow_preset])  # one per task: not thread-safe
            f = dis.calc(grey[k], grey[k + 1], None)
            b = dis.calc(grey[k + 1], grey[k], None)
            # Either frame's hole spoils the match (the other side is made-up there), so the
            # union is replaced; this also lets chains cross from a holed frame into a filled one.
            bad = invalid[k] | invalid[k + 1]
            done = membrane_fill(f, bad), membrane_fill(b, bad)
            tick()
            return done

        grey, invalid = zip(*pool.map(prepare, range(len(frames))))
        pairs = list(pool.map(pair, range(len(frames) - 1)))
        self.fwd = [f for f, _ in pairs]
        self.bwd = [b for _, b in pairs]

    def at(self, flow: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Flow in full-resolution pixels at full-resolution positions ``pos`` (N, 2)."""
        p = np.empty_like(pos)
        p[:, 0] = (pos[:, 0] + 0.5) * self.sx - 0.5
        p[:, 1] = (pos[:, 1] + 0.5) * self.sy - 0.5
        d = _sample(flow, p)
        d[:, 0] /= self.sx
        d[:, 1] /= self.sy
        return d


def _trace(t: int, step: int, start: np.ndarray, flows: _Flows, holes_f: list, src: list,
           cfg: PropagateConfig):
    """Follow chains from positions ``start`` (N, 2) of frame ``t`` in direction ``step`` (+1/-1).

    Returns (values (N, 3) float32, distance (N,) int, 0 = not found)."""
    n_frames = len(src)
    h, w = holes_f[0].shape
    n = len(start)
    vals = np.zeros((n, 3), np.float32)
    dist = np.zeros(n, np.int32)
    pos = start.astype(np.float32).copy()
    active = np.arange(n)
    k = t
    limit = cfg.max_distance or n_frames
    while active.size and abs(k - t) < limit:
        if step > 0 and k >= n_frames - 1 or step < 0 and k <= 0:
            break
        f, b = (flows.fwd[k], flows.bwd[k]) if step > 0 else (flows.bwd[k - 1], flows.fwd[k - 1])
        p = pos[active]
        d = flows.at(f, p)
        q = p + d
        back = flows.at(b, q)
        s = d + back
        ok = ((s * s).sum(1) <= cfg.fb_alpha * ((d * d).sum(1) + (back * back).sum(1)) + cfg.fb_beta)
        ok &= (q[:, 0] >= 0) & (q[:, 0] <= w - 1) & (q[:, 1] >= 0) & (q[:, 1] <= h - 1)
        k += step
        hit = ok & (_sample(holes_f[k], q) < HOLE_FREE)
        if hit.any():
            idx = active[hit]
            vals[idx] = _sample(src[k], q[hit]) * np.float32(1 / 256)
            dist[idx] = abs(k - t)
        pos[active] = q
        active = active[ok & ~hit]
    return vals, dist


# ---- public API ---------------------------------------------------------------------------
def propagate(frames: Sequence[np.ndarray], masks: Sequence[np.ndarray], config: Optional[PropagateConfig] = None,
              cancel: Optional[CancelToken] = None,
              step: Optional[Callable[[float], None]] = None) -> tuple[list, list]:
    """Fill the masked pixels of a chunk of frames with pixels seen in other frames of it.

    frames: T RGB uint8 (H, W, 3) at original resolution; masks: T bool (H, W), True = missing.
    Returns (frames_out, remaining): T RGB uint8 frames in which every masked pixel that some
    frame reveals is filled (unmasked pixels are bit-identical to the input; unfilled masked
    pixels keep the input's values), and T bool (H, W) masks of the pixels still missing.
    ``step(fraction)``: called (from worker threads, under a lock) as flows and passes complete,
    with the share of this call's work done (the last pass may end it early, short of 1).
    """
    cfg = config or PropagateConfig()
    cancel = cancel or CancelToken()
    if len(frames) != len(masks):
        raise MaskError(f"{len(frames)} frames but {len(masks)} masks; give one mask per frame.")
    out = [np.array(f, np.uint8, copy=True) for f in frames]
    remaining = [np.asarray(m, bool).copy() for m in masks]
    if not frames:
        return out, remaining
    h, w = out[0].shape[:2]
    for m in remaining:
        if m.shape != (h, w):
            raise MaskError(f"A mask is {m.shape[1]}x{m.shape[0]} but the frames are {w}x{h}.")
    if len(frames) < 2 or not any(m.any() for m in remaining):
        return out, remaining
    units = (len(frames) - 1) + cfg.passes * len(frames)  # flow pairs, then a frame's fill a pass
    lock, count = threading.Lock(), [0]

    def tick():
        with lock:
            count[0] += 1
            if step is not None:
                step(min(1.0, count[0] / units))

    with _pool(cfg) as pool:
        flows = _Flows(out, remaining, cfg, cancel, pool, tick)
        _propagate_passes(out, remaining, flows, cfg, cancel, pool, tick)
    return out, remaining


def _propagate_passes(out: list, remaining: list, flows: _Flows, cfg: PropagateConfig, cancel: CancelToken,
                      pool, tick: Callable[[], None] = lambda: None) -> None:
    """``cfg.passes`` passes of chain tracing, filling ``out``/``remaining`` in place."""
    for _ in range(cfg.passes):
        # Sources are the state after the previous pass, so a pass is order-independent: each frame
        # reads only src/holes_f and writes only its own out[t]/remaining[t], on any thread. Kept in
        # 16 bits (x256, x65535), not float32: half the memory (4K frames: 8 bytes a pixel less),
        # the same bilinear values to 1/256 of a level.
        src = [f.astype(np.uint16) << 8 for f in out]
        holes_f = [m.astype(np.uint16) * np.uint16(HOLE_ONE) for m in remaining]

        def fill(t):
            changed = fill_one(t)
            tick()
            return changed

        def fill_one(t):
            cancel.check()
            if not remaining[t].any():
                return False
            ys, xs = np.nonzero(remaining[t])
            pos = np.stack([xs, ys], 1).astype(np.float32)
            vf, df = _trace(t, +1, pos, flows, holes_f, src, cfg)
            vb, db = _trace(t, -1, pos, flows, holes_f, src, cfg)
            wf = np.where(df > 0, 1.0 / np.maximum(df, 1), 0.0)[:, None]
            wb = np.where(db > 0, 1.0 / np.maximum(db, 1), 0.0)[:, None]
            got = (df > 0) | (db > 0)
            if not got.any():
                return False
            val = (vf * wf + vb * wb)[got] / (wf + wb)[got]
            out[t][ys[got], xs[got]] = np.clip(val + 0.5, 0, 255).astype(np.uint8)
            remaining[t][ys[got], xs[got]] = False
            return True

        if not any(list(pool.map(fill, range(len(out))))):
            break


def blend_fill(frames: Sequence[np.ndarray], masks: Sequence[np.ndarray], remaining: Sequence[np.ndarray],
               fill_remaining: FillFn, band: int = 4, keep: Optional[Sequence[bool]] = None,
               progress: Optional[ProgressFn] = None) -> list:
    """Fill ``remaining`` with ``fill_remaining`` and feather the seam with propagated pixels.

    frames: propagated RGB uint8 (H, W, 3); masks: the original holes; remaining: what
    propagation left (bool, subset of masks). The generator is asked for ``remaining`` grown by
    ``band`` pixels inside the original hole; in that band the result goes linearly from the
    generated value (at the remaining region) to the propagated one. keep[i] True: frame i is
    context only (its mask is emptied for the generator and it is returned unchanged).
    ``progress`` goes to a ``fill_remaining`` that reports (``fill_with_engine``'s).
    """
    n = len(frames)
    keep = keep or [False] * n
    need = [(not keep[i]) and remaining[i].any() for i in range(n)]
    if not any(need):
        return [np.asarray(f) for f in frames]
    ask = []
    for i in range(n):
        if need[i]:
            ask.append(remaining[i] | (_grow(remaining[i], band) & masks[i]))
        else:
            ask.append(np.zeros_like(remaining[i]))
    if getattr(fill_remaining, "reports", False):
        gen = fill_remaining([np.asarray(f) for f in frames], ask, progress=progress)
    else:
        gen = fill_remaining([np.asarray(f) for f in frames], ask)
    if len(gen) != n:
        raise InpaintError("fill_remaining returned a different number of frames than it was given.")
    out = []
    for i in range(n):
        if not need[i]:
            out.append(np.asarray(frames[i]))
            continue
        f = np.array(frames[i], copy=True)
        a = ask[i]
        if band > 0:
            d = cv2.distanceTransform((~remaining[i]).astype(np.uint8), cv2.DIST_L2, 3)
            alpha = np.clip(1.0 - d / (band + 1), 0.0, 1.0)[a][:, None]
        else:
            alpha = 1.0
        mixed = alpha * np.asarray(gen[i])[a].astype(np.float32) + (1 - alpha) * f[a].astype(np.float32)
        f[a] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        out.append(f)
    return out


class FrameList:
    """In-memory frames with the reader interface ``InpaintEngine.run`` uses
    (``len``, ``width``, ``height``, ``read(i)``, ``reopen()``, ``close()``)."""

    has_audio = False

    def __init__(self, frames: Sequence[np.ndarray], fps: float = 25.0):
        self.frames = list(frames)
        self.height, self.width = self.frames[0].shape[:2]
        self.fps = self.rate = fps

    def __len__(self):
        return len(self.frames)

    def read(self, i: int) -> np.ndarray:
        return self.frames[i]

    __getitem__ = read

    def iter_frames(self, start: int = 0, end: Optional[int] = None):
        yield from self.frames[start:end]

    def reopen(self):
        return self

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class MaskList:
    """In-memory bool (H, W) masks with the MaskSource interface."""

    def __init__(self, masks: Sequence[np.ndarray]):
        self.masks = [np.asarray(m, bool) for m in masks]
        self.height, self.width = self.masks[0].shape

    def __len__(self):
        return len(self.masks)

    def get(self, i: int) -> np.ndarray:
        return self.masks[i]

    def is_empty(self, i: int) -> bool:
        return not self.masks[i].any()


def fill_with_telea(radius: int = 3) -> FillFn:
    """fill_remaining using OpenCV's Telea inpainting frame by frame (no weights needed)."""

    def fill(frames, masks):
        return [cv2.inpaint(f, m.astype(np.uint8), radius, cv2.INPAINT_TELEA) if m.any() else f
                for f, m in zip(frames, masks)]

    return fill


def fill_with_engine(engine, cancel: Optional[CancelToken] = None) -> FillFn:
    """fill_remaining running an ``InpaintEngine`` (STTN) over the chunk. The engine dilates the
    masks by its own ``dilate`` setting; ``blend_fill`` only takes the pixels it asked for."""

    def fill(frames, masks, progress=None):
        out = [None] * len(frames)

        def sink(i, rgb):
            out[i] = rgb

        engine.run(FrameList(frames), MaskList(masks), sink, 0, len(frames), progress=progress, cancel=cancel)
        return out

    fill.reports = True  # (takes progress=: blend_fill passes it on)
    return fill


#: the share of a chunk's time spent propagating (flows and passes) where STTN fills what is left
#: (measured on schoolgirls.mp4, 432x240, 2 CPU cores: 4.0 s propagating, 39.5 s filling); the
#: rest of the chunk's share moves as STTN hands over frames. A Telea fill takes next to nothing.
PROPAGATE_SHARE_STTN = 0.1
CHUNK_BUDGET = 3 << 30  # bytes a chunk of propagate_video may hold (frames, copies, hole maps, fills)
CHUNK_BYTES_PER_PIXEL = 28  # a chunk frame's working set (measured at 4K: 240 MB a frame)
MIN_CHUNK = 8


def fit_chunk(chunk: int, overlap: int, pixels: int) -> tuple[int, int]:
    """(chunk, overlap) for frames of ``pixels``: ``chunk`` where its working set fits the budget,
    else as many frames as fit (at least ``MIN_CHUNK``), with the overlap a third of them at most.
    (The whole chunk was held whatever the frame size: 4K used 190 MB a frame, 11 GB a chunk.)"""
    fit = max(MIN_CHUNK, CHUNK_BUDGET // max(1, CHUNK_BYTES_PER_PIXEL * pixels))
    if fit >= chunk:
        return chunk, overlap
    return fit, min(overlap, (fit - 1) // 3)


#: frames per chunk of ``propagate_video`` (fewer where frames are large: ``fit_chunk``), and of them
#: the frames of context before the frames written and of look-ahead after them
CHUNK, OVERLAP = 60, 10


def chunk_plan(start: int, end: int, chunk: int = CHUNK, overlap: int = OVERLAP,
               pixels: Optional[int] = None) -> list[tuple[int, int, int, int]]:
    """``propagate_video``'s chunks over [start, end), in order: per chunk (its first frame of
    context, the first frame it writes, the end of those it writes, the end of those it reads).
    ``pixels``: the frames' size, which may make the chunks shorter (``fit_chunk``)."""
    if pixels is not None:
        chunk, overlap = fit_chunk(chunk, overlap, pixels)
    plan, first, ctx = [], start, 0
    while first < end:
        read_end = min(end, first + chunk - ctx)
        written = read_end if read_end == end else read_end - overlap
        plan.append((first - ctx, first, written, read_end))
        ctx = min(overlap, ctx + written - first)
        first = written
    return plan


def propagate_video(reader, masks, sink: Callable[[int, np.ndarray], None], start: int = 0,
                    end: Optional[int] = None, chunk: int = CHUNK, overlap: int = OVERLAP,
                    fill_remaining: Optional[FillFn] = None, config: Optional[PropagateConfig] = None,
                    progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
                    only: Optional[Iterable[int]] = None,
                    prior: Optional[Callable[[int], Optional[np.ndarray]]] = None) -> dict:
    """Propagate (and optionally fill the rest of) frames [start, end) of a video, streaming.

    reader: ``len``, ``width``, ``height``, ``read(i)`` -> RGB uint8 (H, W, 3) (a VideoReader,
    FrameFolderReader or FrameList); masks: a MaskSource (``get(i)`` bool (H, W), ``is_empty(i)``).
    ``sink(i, rgb)`` receives every frame of [start, end) in order. At most ``chunk`` frames (plus
    their flows, about 8 bytes per flow pixel) are held at once, fewer where frames are large: a
    chunk's working set (``CHUNK_BYTES_PER_PIXEL`` a pixel) stays within ``CHUNK_BUDGET`` (at 4K, 13
    frames and an overlap of 4; 1080p 55 and 10; 972x540 and smaller keep 60). Without
    ``fill_remaining`` the pixels no frame reveals keep the input's values.
    ``only``: the frames to hand to the sink (None: all); the chunks writing one of them run, laid
    out as over the whole [start, end) (``chunk_plan``). ``prior(i)``: frame ``i`` as an earlier
    run wrote it, or None; a chunk whose predecessor does not run starts from those.
    Returns stats: frames (handed to the sink), hole_pixels (their masked pixels), propagated_pixels.
    """
    cfg = config or PropagateConfig()
    cancel = cancel or CancelToken()
    n = len(reader)
    end = n if end is None else min(end, n)
    if not 0 <= start < end:
        raise InpaintError(f"The range {start}..{end} holds no frames of this {n}-frame video.")
    if overlap < 0 or chunk <= 2 * overlap:
        raise InpaintError(f"chunk ({chunk}) must be more than twice the overlap ({overlap}).")
    if (masks.width, masks.height) != (reader.width, reader.height):
        raise MaskError(f"Masks are {masks.width}x{masks.height} but the video is {reader.width}x{reader.height}.")
    chunk, overlap = fit_chunk(chunk, overlap, reader.width * reader.height)
    plan = chunk_plan(start, end, chunk, overlap)
    want = None if only is None else {i for i in only if start <= i < end}
    runs = set(range(len(plan))) if want is None else {
        k for k, (_, first, written, _) in enumerate(plan) if any(i in want for i in range(first, written))}
    # A chunk whose predecessor does not run starts from the frames ``prior`` kept of the predecessor's
    # output, their whole mask counted as still missing (their propagated pixels are not told apart);
    # where one is not kept, the predecessor runs too (without writing).
    seeds: dict[int, np.ndarray] = {}
    for k in sorted(runs):
        while k > 0 and k - 1 not in runs:
            context = range(plan[k][0], plan[k][1])
            kept = [prior(i) if prior is not None else None for i in context]
            if all(f is not None for f in kept):
                seeds.update(zip(context, kept))
                break
            k -= 1
            runs.add(k)
    total = end - start if want is None else len(want)
    clock = ProgressClock(progress, total, "propagate")
    clock.report(0)
    empty = np.zeros((reader.height, reader.width), bool)

    def mask_of(i):
        return empty if masks.is_empty(i) else _grow(masks.get(i), cfg.mask_dilate)

    ctx: list[tuple[np.ndarray, np.ndarray]] = []  # (output frame, still-generated mask) of emitted frames
    pending: dict[int, np.ndarray] = {}             # look-ahead frames read but not yet written
    stats = {"frames": total, "hole_pixels": 0, "propagated_pixels": 0}
    done, previous = 0, None
    for k in sorted(runs):
        cancel.check()
        ctx_from, next_out, emit_to, b = plan[k]
        if previous != k - 1:
            ctx = [(seeds.pop(i), mask_of(i)) for i in range(ctx_from, next_out)]
            pending = {}
        raw = [pending.pop(i) if i in pending else reader.read(i) for i in range(next_out, b)]
        hole = [mask_of(i) for i in range(next_out, b)]
        frames = [c[0] for c in ctx] + raw
        in_masks = [c[1] for c in ctx] + hole
        ahead = sum(want is None or i in want for i in range(next_out, emit_to)) / max(1, total)
        before = done / max(1, total)

        share = PROPAGATE_SHARE_STTN if getattr(fill_remaining, "reports", False) else 1.0

        def step(fraction, before=before, ahead=ahead, done=done, share=share):
            clock.report(done, work=before + ahead * share * fraction)

        def filled(p, before=before, ahead=ahead, done=done, share=share):
            clock.report(done, work=before + ahead * (share + (1 - share) * min(1.0, max(0.0, p.fraction))))

        prop, remaining = propagate(frames, in_masks, cfg, cancel, step)
        nc = len(ctx)
        if fill_remaining is not None:
            keep = [True] * nc + [False] * (b - next_out)
            final = blend_fill(prop, in_masks, remaining, fill_remaining, cfg.blend_band, keep, filled)
        else:
            final = prop
        # (the chunk is computed: the work reported goes by its frames, the count by those handed on)
        ready = (done + sum(want is None or i in want for i in range(next_out, emit_to))) / max(1, total)
        for j, i in enumerate(range(next_out, emit_to)):
            if want is not None and i not in want:
                continue
            cancel.check()
            sink(i, final[nc + j])
            stats["hole_pixels"] += int(hole[j].sum())
            stats["propagated_pixels"] += int(hole[j].sum() - remaining[nc + j].sum())
            done += 1
            clock.report(done, work=ready)
        for j, i in enumerate(range(emit_to, b)):
            pending[i] = raw[emit_to - next_out + j]
        emitted = [(final[nc + j], remaining[nc + j]) for j in range(emit_to - next_out)]
        ctx = (ctx + emitted)[-overlap:] if overlap else []
        previous = k
    return stats
