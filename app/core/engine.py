"""The inference engine: STTN's schedule over a streamed video, with paste-back.

Schedule (paper Eq. 1 and the authors' test procedure): target windows are centred every
``neighbor_radius`` frames; each holds the neighbours within ``neighbor_radius`` of its
centre plus reference frames, the frames whose index is a multiple of ``ref_stride``.
Unlike the authors' procedure, which takes every such frame of the whole video, the engine
keeps the ``max_refs`` reference frames nearest to the window, so the cost per frame does
not grow with the video, and it streams: only the frames of the current neighbourhood and
the features of nearby references are in memory. Predictions of overlapping windows are
averaged. Frames are resized to the model's size (432x240) for inference; in the
original-resolution frame only the (dilated) masked pixels are replaced.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import cv2
import numpy as np
import torch

from . import paths
from .config import ATTENTION_KERNELS, FILL_MODES, PRECISIONS, SEAM_MODES, EngineConfig  # noqa: F401 - re-exported
from .blend import match_boundary, match_boundary_torch
from .errors import InpaintError, MaskError, OutputError, WeightsError
from .iothreads import BackgroundSink, OrderedWork, ReadAhead, ReadStretches
from .jobs import CancelToken, ProgressClock, ProgressFn
from .masks import MaskSource, dilate, load_masks, mask_box, shrink_mask
from .sttn import InpaintGenerator, load_generator

log = logging.getLogger(__name__)

Sink = Callable[[int, np.ndarray], None]


#: What ``fill=auto`` runs when the only weights are the bundled ones, on a GPU and on a CPU.
#: The bundled generator is a short bootstrap training (models/MODEL_CARD.md). On the quality
#: benchmark (docs/QUALITY.md, three mask seeds) propagation + that model, with seam matching,
#: beats propagation + Telea (27.74 vs 27.28 dB, E_warp 0.077 vs 0.104), so a GPU runs it. On a
#: CPU the model costs about ten times the classical fill per frame, so ``auto`` keeps the
#: classical fill there and says so. Weights the user chooses (the authors' sttn.pth, a
#: fine-tune) always run STTN under ``auto``.
BUNDLED_AUTO_FILL = "propagate+sttn"
BUNDLED_AUTO_FILL_CPU = "propagate+telea"

#: the reference frames (at most) that ``InpaintEngine.preview_frame`` reads beside the neighbours
PREVIEW_REFS = 4

#: What one frame of each kind of work costs, in frames encoded (x264, preset medium): inpainting a
#: frame with each fill mode, and copying one unchanged (smart render's merge, audio and check, per
#: frame of the video). A job of several steps weighs its progress bar with them (``jobs.Phases``: the
#: GUI's Export after an edit inpaints some frames, then encodes). Medians of 6 runs on the 2-core
#: CPU, running_car.mp4 (972x540), the bundled weights, an edit's reach inpainted again (11 to 60
#: frames), 224 frames encoded, 292 copied: benchmarks/bench_export_phases.py, docs/LOAD.md ("Export
#: after an edit"); single runs spread by up to +-50 %. STTN works at its model's size (432x240)
#: whatever the frame's, so on larger frames, and on a GPU, its share is smaller than this: the bar
#: then runs slower than the clock while inpainting and catches up while encoding, never going back.
WORK_PER_FRAME = {"encode": 1.0, "copy": 0.14, "telea": 1.7, "propagate+telea": 3.7, "sttn": 25.0,
                  "propagate+sttn": 36.0}


#: The share of a window's time on a CPU in the transformer's blocks, which report progress as they
#: end (``InpaintEngine._predict_start``); the rest is mostly the decoder's. Measured with the bundled
#: weights on the 2-core CPU, one window timed stage by stage: 13 frames, 11 of them targets: encoder
#: 1.4 s, eight blocks 52.0 s (6.0 to 7.1 s each), decoder 4.4 s; 21 frames: 2.3 s, 65.5 s (4.9 to
#: 10.7 s each, the machine shared), 4.5 s.
WINDOW_TRANSFORM_SHARE = 0.9


def resolve_fill(fill: str, have_weights: bool, bundled: bool = False, device=None) -> str:
    """The fill mode that runs for ``fill`` (see FILL_MODES). ``device``: where the model would run
    (a torch.device or its name; None counts as a CPU) - it matters only for ``auto`` with the
    bundled weights."""
    if fill == "auto":
        if have_weights and bundled:
            on_gpu = device is not None and torch.device(device).type in ("cuda", "mps")
            return BUNDLED_AUTO_FILL if on_gpu else BUNDLED_AUTO_FILL_CPU
        return "propagate+sttn" if have_weights else "propagate+telea"
    if fill.endswith("sttn") and not have_weights:
        raise WeightsError(
            "No weights given and none are bundled; pass --weights PATH (e.g. the authors' sttn.pth), "
            "or use --fill propagate+telea, which needs none."
        )
    return fill


def cpu_has_fast_bf16() -> bool:
    """True where the CPU computes bfloat16 natively (AMX or AVX512-BF16): there bf16 is faster."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype for a device, or None for plain float32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16 if device.type != "cpu" else torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_fast_bf16():
        return torch.bfloat16
    return None


def resolve_attention_kernel(kernel: str, device: torch.device) -> str:
    """The patch-attention kernel for a device: ``auto`` picks the one measured faster there."""
    if kernel != "auto":
        return kernel
    return AUTO_ATTENTION_KERNEL.get(device.type, "matmul")


#: Which kernel ``auto`` picks per device type, from benchmarks/bench_gpu.py and bench_inference.py.
AUTO_ATTENTION_KERNEL = {"cpu": "matmul", "cuda": "matmul"}


def available_devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found.insert(0, "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.insert(0, "mps")
    return found


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an unavailable explicit device is an error."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InpaintError("CUDA was asked for but no CUDA GPU is available; use --device cpu or auto (in the "
                           "window: Settings > General > Device).")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InpaintError("MPS was asked for but is not available; use --device cpu or auto (in the window: "
                           "Settings > General > Device).")
    try:
        return torch.device(name)
    except RuntimeError:
        raise InpaintError(f"Unknown device {name!r}; use auto, cpu or cuda.") from None


def window_schedule(start: int, end: int, radius: int, step: Optional[int] = None) -> list[int]:
    """Window centres. ``step`` None or <= radius: every ``step`` frames from ``start``, as the
    authors' test procedure (step = radius). Larger steps: windows tile the range from
    ``start + radius`` so that every frame lies within ``radius`` of exactly one centre when
    step = 2*radius+1."""
    step = step or radius
    if step <= radius:
        return list(range(start, end, step))
    centres, c = [], start + radius
    while c - radius < end:
        centres.append(c)
        c += step
    return centres


def neighbours(centre: int, start: int, end: int, radius: int) -> list[int]:
    return list(range(max(start, centre - radius), min(end, centre + radius + 1)))


def reference_ids(centre: int, start: int, end: int, stride: int, max_refs: Optional[int], exclude) -> list[int]:
    """Frames at multiples of ``stride`` in [start, end), not in ``exclude``.

    With ``max_refs`` the nearest ``max_refs`` of them to ``centre`` are kept (ties to the
    earlier frame), so the window size stops growing with the video. Sorted ascending.
    """
    first = -(-start // stride) * stride
    candidates = [i for i in range(first, end, stride) if i not in set(exclude)]
    if max_refs is not None and len(candidates) > max_refs:
        candidates = sorted(candidates, key=lambda i: (abs(i - centre), i))[:max_refs]
    return sorted(candidates)


@dataclass
class _Crop:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self):
        return self.x1 - self.x0

    @property
    def h(self):
        return self.y1 - self.y0


def crop_around(bbox, frame_w: int, frame_h: int, model_w: int, model_h: int, margin: int) -> _Crop:
    """A box holding ``bbox`` plus ``margin``, with the model's aspect ratio, no smaller than
    the model's size where the frame allows, shifted to lie inside the frame."""
    x0, y0, x1, y1 = bbox
    x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
    w, h = max(x1 - x0, model_w), max(y1 - y0, model_h)
    aspect = model_w / model_h
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    w, h = min(int(round(w)), frame_w), min(int(round(h)), frame_h)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(min(max(cx - w / 2, 0), frame_w - w)))
    top = int(round(min(max(cy - h / 2, 0), frame_h - h)))
    return _Crop(left, top, left + w, top + h)


def _same(frame: np.ndarray) -> np.ndarray:
    return frame


def paste_workers() -> int:
    """Threads for paste-back: a quarter of the cores, 1 to 4, leaving the rest to the model, the
    decoder and the encoder."""
    return max(1, min(4, (os.cpu_count() or 2) // 4))


def compile_transform(model: InpaintGenerator, wanted: bool, device: torch.device) -> bool:
    """``torch.compile`` the model's transformer stage (most of its time) where asked and on CUDA;
    once per model, so engines sharing a model do not compile it again. Returns whether the model's
    transform is compiled. ``dynamic=True``: window sizes vary (fewer references near the ends)."""
    if getattr(model, "_compiled_transform", False):
        return True
    if not wanted:
        return False
    if device.type != "cuda":
        log.info("compile is used on CUDA only (here: %s); running eagerly", device.type)
        return False
    model.transform = torch.compile(model.transform, dynamic=True)
    model._compiled_transform = True
    return True


class InpaintEngine:
    """Runs an STTN generator over videos. Load once, run many jobs (the GUI keeps one)."""

    def __init__(self, model, config: Optional[EngineConfig] = None):
        self.config = config or EngineConfig()
        self.device = resolve_device(self.config.device)
        #: the weights are the generator shipped in models/ (see BUNDLED_AUTO_FILL)
        self.bundled = isinstance(model, (str, Path)) and paths.is_bundled(model)
        if isinstance(model, (str, Path)):
            model = load_generator(model, attention=self.config.attention, device=self.device)
        elif not isinstance(model, InpaintGenerator):
            raise WeightsError("The engine needs an STTN generator or the path of its weights file.")
        else:
            model = model.eval().to(self.device)
            if self.config.attention:
                model.set_attention_mode(self.config.attention)
        model.set_attention_kernel(resolve_attention_kernel(self.config.attention_kernel, self.device))
        self.autocast_dtype = resolve_precision(self.config.precision, self.device)
        if self.autocast_dtype is not None or self.device.type == "cpu":
            # Channels-last lets oneDNN/cuDNN use their fastest reduced-precision convolutions; on a
            # CPU oneDNN's float32 convolutions gain too (one window 1.15x, docs/BENCHMARKS.md).
            model = model.to(memory_format=torch.channels_last)
        compile_transform(model, self.config.compile, self.device)
        self.model: InpaintGenerator = model
        self.model_w, self.model_h = model.config.width, model.config.height
        # Seam matching at the model's size runs on the accelerator, a window at a time (a few hundred
        # small kernels), instead of 10-20 ms of CPU per frame on the paste-back threads, which
        # bounded the GPU's frame rate. On a CPU the NumPy solver per frame is the faster of the two.
        self.seam_on_device = self.config.seam == "match" and self.device.type != "cpu"

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    # ---- per-frame preparation -------------------------------------------------------
    def _prepare(self, frame: np.ndarray, mask: np.ndarray, crop: Optional[_Crop]):
        """Full-res RGB frame + dilated bool mask -> model-size uint8 tensors (3, h, w) and (1, h, w).

        They stay uint8 until they reach the device: a quarter of the bytes to transfer, and the
        conversion to float runs there (``_encode``)."""
        if crop is not None:
            frame = frame[crop.y0:crop.y1, crop.x0:crop.x1]
            mask = mask[crop.y0:crop.y1, crop.x0:crop.x1]
        h, w = frame.shape[:2]
        size = (self.model_w, self.model_h)
        interp = cv2.INTER_AREA if (w > self.model_w or h > self.model_h) else cv2.INTER_LINEAR
        small = cv2.resize(frame, size, interpolation=interp) if (w, h) != size else frame
        m = shrink_mask(mask, size)  # any coverage of a model pixel marks it missing
        t = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1)
        mt = torch.from_numpy(np.ascontiguousarray(m, dtype=np.uint8))[None]
        return t, mt

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda":
            # Page-locked staging lets the copy run asynchronously to the host thread.
            return t.pin_memory().to(self.device, non_blocking=True)
        return t.to(self.device)

    @torch.inference_mode()
    def _encode(self, frames: torch.Tensor, masks: torch.Tensor):
        """uint8 frames (N,3,h,w) and masks (N,1,h,w) from ``_prepare`` -> (features (N,C,h/4,w/4),
        float masks (N,1,h,w), 1 = missing, uint8 frames), all on the device; the masks and frames
        are kept for ``_predict`` (the frames for seam matching there)."""
        frames_u8 = self._to_device(frames)
        frames = frames_u8.float().div_(127.5).sub_(1)
        masks = self._to_device(masks).float()
        with self._autocast():
            return self.model.encode(frames * (1 - masks)), masks, frames_u8

    @torch.inference_mode()
    def _predict_start(self, feats: torch.Tensor, masks: torch.Tensor, n_targets: int,
                       frames: Optional[torch.Tensor] = None, cancel: Optional[CancelToken] = None,
                       window: Optional[Callable[[float], None]] = None):
        """Queue a window's prediction on the device and its copy back to the host; returns a handle
        for ``_predict_finish``. On CUDA nothing waits here, so the host prepares the next window
        while the GPU computes this one. Seam matching runs here when ``seam_on_device``
        (``frames``: the uint8 model-size frames from ``_encode``, targets first). ``cancel`` is
        checked between the transformer's blocks where a window takes seconds (not on CUDA, where it
        takes milliseconds and a compiled transform keeps one graph). On a CPU ``window(share)`` is
        told the share of the window computed after each block and when it is done
        (``WINDOW_TRANSFORM_SHARE``)."""
        window = window if self.device.type == "cpu" else None
        with self._autocast():
            if (cancel is not None or window is not None) and self.device.type != "cuda":
                out = self.model.transform(feats, masks, 1, between=self._between(cancel, window))
            else:
                out = self.model.transform(feats, masks, 1)
            img = self.model.decode(out[:n_targets])
        img = (img.float().clamp_(-1, 1) + 1) * 127.5
        if self.seam_on_device and frames is not None:
            img = match_boundary_torch(img, frames[:n_targets], masks[:n_targets] > 0.5)
        img = img.permute(0, 2, 3, 1)
        if self.device.type == "cuda":
            host = torch.empty(img.shape, dtype=img.dtype, pin_memory=True)
            host.copy_(img, non_blocking=True)
            done = torch.cuda.Event()
            done.record()
            return host, done
        if window is not None:
            window(1.0)
        return img.cpu(), None

    def _between(self, cancel: Optional[CancelToken], window: Optional[Callable[[float], None]]):
        """The ``between`` of ``InpaintGenerator.transform``: ``window`` told the share of the window
        computed (``WINDOW_TRANSFORM_SHARE`` times the blocks done), then a cancel check (so a cancel
        asked while the report is handled stops the window there too)."""
        if window is None:
            return cancel.check
        count, ran = max(1, len(self.model.transformer)), [0]

        def between():
            ran[0] += 1
            window(WINDOW_TRANSFORM_SHARE * min(1.0, ran[0] / count))
            if cancel is not None:
                cancel.check()

        return between

    @staticmethod
    def _predict_finish(handle) -> np.ndarray:
        """The targets' predictions of a ``_predict_start`` handle: float32 (n, h, w, 3) in [0, 255]."""
        host, done = handle
        if done is not None:
            done.synchronize()
        return host.numpy()

    def _predict(self, feats: torch.Tensor, masks: torch.Tensor, n_targets: int,
                 frames: Optional[torch.Tensor] = None, cancel: Optional[CancelToken] = None) -> np.ndarray:
        """Features and device masks of [targets + refs] -> targets' predictions (waits for them)."""
        return self._predict_finish(self._predict_start(feats, masks, n_targets, frames, cancel))

    def _paste(self, original: np.ndarray, pred: np.ndarray, mask: np.ndarray, crop: Optional[_Crop]) -> np.ndarray:
        """Replace the masked pixels of the original frame with the (resized) prediction.

        Only the mask's bounding box is resized and written: a watermark covers a few percent of a
        frame, and a cubic resize of the whole prediction to 972x540 cost more than the rest of
        the paste together."""
        out = original.copy()
        region = out if crop is None else out[crop.y0:crop.y1, crop.x0:crop.x1]
        m = mask if crop is None else mask[crop.y0:crop.y1, crop.x0:crop.x1]
        h, w = region.shape[:2]
        if self.config.seam == "match" and not self.seam_on_device:
            pred = match_boundary(pred, region, m)
        box = mask_box(m)
        if box is None:
            return out
        x0, y0, x1, y1 = box
        pred = np.clip(pred + 0.5, 0, 255).astype(np.uint8)
        if (w, h) != (self.model_w, self.model_h):
            # The box of cv2.resize(pred, (w, h), INTER_CUBIC): the same pixel-centre mapping.
            sx, sy = self.model_w / w, self.model_h / h
            affine = np.array([[sx, 0, (x0 + 0.5) * sx - 0.5], [0, sy, (y0 + 0.5) * sy - 0.5]], np.float64)
            part = cv2.warpAffine(pred, affine, (x1 - x0, y1 - y0), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REPLICATE)
        else:
            part = pred[y0:y1, x0:x1]
        np.copyto(region[y0:y1, x0:x1], part, where=m[y0:y1, x0:x1, None])
        return out

    def _crop_for(self, masks: MaskSource, start: int, end: int, width: int, height: int) -> Optional[_Crop]:
        if not self.config.crop_to_mask:
            return None
        box = None
        for i in range(start, end):
            if masks.is_empty(i):
                continue
            b = mask_box(dilate(masks.get(i), self.config.dilate))
            if b is None:
                continue
            box = b if box is None else (min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3]))
        if box is None:
            return None
        crop = crop_around(box, width, height, self.model_w, self.model_h, self.config.crop_margin)
        return None if (crop.w, crop.h) == (width, height) else crop

    # ---- the job ---------------------------------------------------------------------
    def run(self, reader, masks: MaskSource, sink: Sink, start: int = 0, end: Optional[int] = None,
            progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
            only: Optional[Iterable[int]] = None) -> int:
        """Inpaint frames [start, end) of ``reader`` and hand each result to ``sink(index, rgb)``
        in frame order. Returns the number of frames that were inpainted (non-empty masks).
        ``only``: hand these frames only (None: all); the windows holding one of them run, with the
        windows and reference frames of the whole [start, end) (the crop too), so each frame comes
        out as a run over all of it gives it (``app.core.reach``)."""
        n_total = len(reader)
        end = n_total if end is None else min(end, n_total)
        if not 0 <= start < end:
            raise InpaintError(f"The range {start}..{end} holds no frames of this {n_total}-frame video.")
        if (masks.width, masks.height) != (reader.width, reader.height):
            raise MaskError(
                f"Masks are {masks.width}x{masks.height} but the video is {reader.width}x{reader.height}."
            )
        cfg = self.config
        cancel = cancel or CancelToken()
        radius, stride = cfg.neighbor_radius, cfg.ref_stride
        centres = window_schedule(start, end, radius, cfg.window_step or 2 * radius + 1)
        want = needed = None  # (a partial run: the frames handed on, and the neighbours read in order)
        if only is not None:
            want = {i for i in only if start <= i < end}
            centres = [c for c in centres if any(i in want for i in neighbours(c, start, end, radius))]
            stretches = []
            for c in centres:
                a, b = max(start, c - radius), min(end, c + radius + 1)
                if stretches and a <= stretches[-1][1]:
                    stretches[-1] = (stretches[-1][0], max(b, stretches[-1][1]))
                else:
                    stretches.append((a, b))
            needed = {i for a, b in stretches for i in range(a, b)}
        clock = ProgressClock(progress, end - start if want is None else len(want), "inpaint")
        clock.report(0)
        crop = self._crop_for(masks, start, end, reader.width, reader.height)

        from .video import VideoReader

        ref_reader = reader.reopen()
        # The main pass reads strictly in order: decode it ahead on a thread, with a cursor of its own
        # whose decoder uses FFmpeg's frame threads (VideoReader.reopen).
        seq_reader = reader.reopen(sequential=True) if cfg.io_threads and isinstance(reader, VideoReader) else reader
        if not cfg.io_threads:
            main_reader = reader
        else:
            main_reader = ReadAhead(seq_reader, start, end) if want is None else ReadStretches(seq_reader, stretches)
        full: dict[int, np.ndarray] = {}       # full-res originals awaiting output
        full_masks: dict[int, np.ndarray] = {}  # their dilated masks
        feats: dict[int, tuple] = {}           # index -> (features, model-size mask)
        acc: dict[int, np.ndarray] = {}
        count: dict[int, int] = {}
        next_read = start
        next_out = start
        inpainted = emitted = 0

        def full_frame(i):
            nonlocal next_read
            while next_read <= i:
                if needed is None or next_read in needed:
                    full[next_read] = main_reader.read(next_read)
                    m = masks.get(next_read) if not masks.is_empty(next_read) else None
                    full_masks[next_read] = dilate(m, cfg.dilate) if m is not None else None
                next_read += 1
            return full[i], full_masks[i]

        def features(ids):
            todo = [i for i in ids if i not in feats]
            batch_f, batch_m = [], []
            for i in todo:
                if i in full:
                    frame, m = full[i], full_masks[i]
                else:
                    frame = ref_reader.read(i)
                    raw = masks.get(i) if not masks.is_empty(i) else None
                    m = dilate(raw, cfg.dilate) if raw is not None else None
                if m is None:
                    m = np.zeros(frame.shape[:2], bool)
                t, mt = self._prepare(frame, m, crop)
                batch_f.append(t)
                batch_m.append(mt)
            for k in range(0, len(todo), 8):
                cancel.check()
                enc, dev_m, dev_f = self._encode(torch.stack(batch_f[k:k + 8]), torch.stack(batch_m[k:k + 8]))
                for j, i in enumerate(todo[k:k + 8]):
                    feats[i] = (enc[j], dev_m[j], dev_f[j])
            return tuple(torch.stack([feats[i][n] for i in ids]) for n in range(3))

        # Paste-back (resize, seam matching: ~15 ms a frame on one core) runs behind the model on a
        # few threads; the sink still gets the frames in order, on this thread.
        paste_behind = OrderedWork(sink, workers=paste_workers()) if cfg.io_threads else None

        def reach(limit):
            """The share of the frames to hand on that lie below ``limit``."""
            return ((limit - start) / max(1, end - start) if want is None else
                    sum(i < limit for i in want) / max(1, len(want)))

        worked = 0.0  # the share of the work reported (it never goes back)

        def report_work(share):
            nonlocal worked
            worked = max(worked, share)
            clock.report(emitted, work=worked)

        def window_work(upto):
            """``_predict_start``'s ``window`` for a window after which the frames below ``upto`` are
            computed: on a CPU a window takes tens of seconds to minutes, so the work reported rises
            with its transformer's blocks, from where the windows before it left it to ``reach(upto)``
            when it is done, while the count stays at the frames handed on."""
            before, after = worked, reach(upto)
            return lambda share: report_work(before + (after - before) * share)

        def emit_until(limit):
            nonlocal next_out, inpainted, emitted
            # The frames below ``limit`` are computed (their windows are done): the work reported goes by
            # them, the count by the frames handed on, so the ETA after the first window of a short range
            # is not that of one frame in ten. (A window's blocks may have reported more already: the
            # work stays there.)
            ready = reach(limit)
            while next_out < limit:
                i = next_out
                if want is None or i in want:
                    frame, m = full_frame(i)
                    if m is not None and i in acc:
                        job = functools.partial(self._paste, frame, acc.pop(i) / count.pop(i), m, crop)
                        inpainted += 1
                    else:
                        job = functools.partial(_same, frame)
                    if paste_behind is not None:
                        paste_behind(i, job)
                    else:
                        sink(i, job())
                    emitted += 1
                    report_work(ready)
                acc.pop(i, None)  # (a frame not handed on in a partial run)
                count.pop(i, None)
                full.pop(i, None)
                full_masks.pop(i, None)
                next_out += 1

        def finish(window):
            """Take a window's predictions off the device, then emit what no later window changes."""
            targets, handle, first_needed = window
            if handle is not None:
                pred = self._predict_finish(handle)
                for j, i in enumerate(targets):
                    if i in acc:
                        acc[i] += pred[j]
                        count[i] += 1
                    else:
                        acc[i], count[i] = pred[j], 1
            emit_until(first_needed)

        try:
            pending = None  # the window whose prediction is still on the device
            for k, c in enumerate(centres):
                cancel.check()
                nbrs = neighbours(c, start, end, radius)
                for i in nbrs:
                    full_frame(i)
                targets = [i for i in nbrs if full_masks[i] is not None]
                handle = None
                # Everything before the next window's first neighbour is final after this window.
                nxt = centres[k + 1] if k + 1 < len(centres) else end
                first_needed = max(start, nxt - radius) if k + 1 < len(centres) else end
                if targets:
                    refs = reference_ids(c, start, end, stride, cfg.max_refs, nbrs)
                    # Targets first so that the decoder only sees the frames that need it.
                    order = targets + [i for i in nbrs if i not in targets] + refs
                    f, m, fr = features(order)
                    handle = self._predict_start(f, m, len(targets), fr, cancel, window_work(first_needed))
                # The previous window is collected only now that this one is queued: the GPU works on
                # this window while its predecessor is pasted back.
                if pending is not None:
                    finish(pending)
                pending = (targets, handle, first_needed)
                if handle is None or handle[1] is None:
                    # computed already (not queued on a GPU): its frames go on now, not after the next
                    # window's tens of seconds on a CPU
                    finish(pending)
                    pending = None
                if k + 1 < len(centres):
                    nn_ = neighbours(nxt, start, end, radius)
                    keep = set(nn_) | set(reference_ids(nxt, start, end, stride, cfg.max_refs, nn_))
                    lowest = min(keep)
                    for i in [i for i in feats if i < lowest or (i not in keep and i < nxt)]:
                        del feats[i]
            cancel.check()
            if pending is not None:
                finish(pending)
            emit_until(end)
            if paste_behind is not None:
                behind, paste_behind = paste_behind, None
                behind.close()  # every frame pasted and handed to the sink; raises their errors
        finally:
            if paste_behind is not None:
                # An error or a cancel: frames already computed still reach the sink (a cancelled
                # preview keeps them); a second error is not raised over the first one.
                with contextlib.suppress(BaseException):
                    paste_behind.close()
            if main_reader is not reader:
                main_reader.close()
            if seq_reader is not reader:
                seq_reader.close()
            ref_reader.close()
        return inpainted

    def preview_frame(self, reader, masks: MaskSource, index: int, max_refs: int = PREVIEW_REFS,
                      cancel: Optional[CancelToken] = None) -> np.ndarray:
        """Inpaint frame ``index`` alone, for a quick look: its neighbours plus a few references;
        ``cancel`` stops it between the transformer's blocks."""
        cfg = self.config
        n = len(reader)
        if masks.is_empty(index):
            return reader.read(index)
        nbrs = neighbours(index, 0, n, cfg.neighbor_radius)
        refs = reference_ids(index, 0, n, cfg.ref_stride, min(max_refs, cfg.max_refs), nbrs)
        crop = self._crop_for(masks, index, index + 1, reader.width, reader.height)
        order = [index] + [i for i in nbrs if i != index] + refs
        ts, ms = [], []
        target_frame, target_mask = None, None
        for i in order:
            frame = reader.read(i)
            m = dilate(masks.get(i), cfg.dilate) if not masks.is_empty(i) else np.zeros(frame.shape[:2], bool)
            if i == index:
                target_frame, target_mask = frame, m
            t, mt = self._prepare(frame, m, crop)
            ts.append(t)
            ms.append(mt)
        f, mdev, fdev = self._encode(torch.stack(ts), torch.stack(ms))
        if cancel is not None:
            cancel.check()
        pred = self._predict(f, mdev, 1, fdev, cancel)
        return self._paste(target_frame, pred[0], target_mask, crop)


def fill_range(reader, masks: MaskSource, sink: Sink, start: int = 0, end: Optional[int] = None,
               config: Optional[EngineConfig] = None, engine: Optional[InpaintEngine] = None,
               progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
               only: Optional[Iterable[int]] = None,
               prior: Optional[Callable[[int], Optional[np.ndarray]]] = None) -> str:
    """Fill frames [start, end) with ``config.fill`` and hand them to ``sink(i, rgb)`` in order.

    ``engine`` is needed for the modes that use STTN. Returns the fill mode that ran.
    ``only``: compute and hand on these frames of the range only, each with the context a run over
    the whole range gives it (``app.core.reach`` says which frames an edit reaches); ``prior(i)``:
    frame ``i`` as an earlier run over the range made it (or None), where propagation continues from
    it (``propagate_video``).
    """
    from . import propagate as prop

    config = config or (engine.config if engine is not None else EngineConfig())
    cancel = cancel or CancelToken()
    mode = resolve_fill(config.fill, engine is not None, engine is not None and engine.bundled,
                        engine.device if engine is not None else None)
    if mode == "sttn":
        engine.run(reader, masks, sink, start, end, progress=progress, cancel=cancel, only=only)
        return mode
    if mode == "telea":
        n = len(reader)
        end = n if end is None else min(end, n)
        frames = range(start, end) if only is None else sorted({i for i in only if start <= i < end})
        clock = ProgressClock(progress, len(frames), "telea")
        fill = prop.fill_with_telea()
        for k, i in enumerate(frames):
            cancel.check()
            frame = reader.read(i)
            if not masks.is_empty(i):
                frame = fill([frame], [dilate(masks.get(i), config.dilate)])[0]
            sink(i, frame)
            clock.report(k + 1)
        return mode
    remaining = prop.fill_with_engine(engine, cancel) if mode == "propagate+sttn" else prop.fill_with_telea()
    prop.propagate_video(reader, masks, sink, start, end, fill_remaining=remaining,
                         config=prop.PropagateConfig(mask_dilate=config.dilate), progress=progress, cancel=cancel,
                         only=only, prior=prior)
    return mode


@dataclass
class InpaintResult:
    output: Path
    frames: int
    inpainted: int
    seconds: float
    warnings: list
    fill: str = ""
    #: frames copied from the source as they were (not encoded again; ``copy_unchanged``)
    copied: int = 0
    #: why ``copy_unchanged`` copied nothing and every frame was encoded ("" where it copied, or was off)
    encoded_all: str = ""


def inpaint_video(input_path, masks, output_path, weights=None, config: Optional[EngineConfig] = None,
                  start: int = 0, end: Optional[int] = None, crf: int = 18, keep_audio: bool = True,
                  engine: Optional[InpaintEngine] = None, progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelToken] = None, preset: str = "medium",
                  copy_unchanged: bool = True, fps: Optional[float] = None,
                  opened: Optional[Callable[[object], None]] = None) -> InpaintResult:
    """Inpaint ``input_path`` into an H.264 mp4 at ``output_path`` (atomic; audio kept).

    masks: a path (image, folder, mask video) or a MaskSource/MaskStore of the video's size.
    Frames outside [start, end) are copied through unchanged, so audio stays in sync.
    ``preset`` is x264's speed/size trade-off (ultrafast ... veryslow); encoding is the largest
    cost around the model (docs/BENCHMARKS.md), so a faster preset speeds up GPU runs.
    ``copy_unchanged``: where the file allows (``smartrender.plan``), only the GOPs holding a masked
    frame are encoded again and the others are copied bit for bit; False re-encodes every frame.
    ``fps``: the rate a frame folder given as ``input_path`` is written at (None: ``DEFAULT_FPS``);
    a video file keeps its own.
    ``opened(reader)``: called once the input is open and checked against the masks and the range,
    before any frame is worked on, for what a caller says of the input (its frame count, its format)
    without opening and indexing it a second time.
    """
    from .fsutil import check_writable
    from .smartrender import SmartWriter, plan
    from .video import DEFAULT_FPS, VideoReader, VideoWriter, frame_range, mp4_output, open_video, remux

    t0 = time.monotonic()
    cancel = cancel or CancelToken()
    mp4_output(check_writable(output_path, inputs=(input_path,)))  # (before an hour of inpainting)
    warnings = []
    with open_video(input_path, fps=fps or DEFAULT_FPS) as reader:
        n = len(reader)
        notice = getattr(reader, "notice", None)
        if notice:
            warnings.append(notice)
        try:  # (a cut-off file is said with what it made wrong: the masks' count, a --start past its end)
            end = frame_range(start, end, n)
            if isinstance(masks, (str, Path)):
                masks = load_masks(masks, n, reader.width, reader.height)
                if masks.scaled_from:  # (a mask drawn on a scaled copy or at another size: say so, it may be a mistake)
                    w0, h0 = masks.scaled_from
                    warnings.append(f"The mask is {w0}x{h0} and was scaled to the video's {reader.width}x"
                                    f"{reader.height}; if it was drawn for another video, give this video's mask.")
            elif (masks.width, masks.height) != (reader.width, reader.height):
                raise MaskError(f"Masks are {masks.width}x{masks.height} but the video is {reader.width}x"
                                f"{reader.height}.")
            if len(masks) < end:
                raise MaskError(f"There are masks for {len(masks)} frames but the video has {n}; give one per frame.")
        except InpaintError as exc:
            if not notice:
                raise
            raise type(exc)(f"{exc} Note: {notice}") from None
        if opened is not None:
            opened(reader)
        empty = all(masks.is_empty(i) for i in range(start, end))
        if empty:
            # (a range of a mask that is not empty elsewhere is said as such: "the mask is empty" read as
            # a wrong file, and the user of --end 5 went looking for the fault in the mask)
            where = "" if (start, end) == (0, n) else f" in frames {start} to {end - 1}, the range given"
            warnings.append(f"The mask is empty{where}: nothing to remove, the video was copied through unchanged; "
                            "white (non-zero) pixels mark what to remove.")
            if isinstance(reader, VideoReader):
                try:
                    out = remux(input_path, output_path, keep_audio=keep_audio)
                    return InpaintResult(out, n, 0, time.monotonic() - t0, warnings)
                except OutputError:
                    pass  # a codec mp4 cannot hold: re-encode below
        config = config or (engine.config if engine is not None else EngineConfig())
        if not empty:
            mode = resolve_fill(config.fill, engine is not None or weights is not None,
                                engine.bundled if engine is not None else paths.is_bundled(weights),
                                engine.device if engine is not None else resolve_device(config.device))
            if engine is None and mode.endswith("sttn"):
                engine = InpaintEngine(weights, config)
        audio = input_path if keep_audio and reader.has_audio else None
        smart, why = None, ""
        if not empty and copy_unchanged:
            smart, why = plan(reader, (i for i in range(start, end) if not masks.is_empty(i)))
            if smart is None:
                log.info("Encoding every frame again: %s.", why)
            else:
                why = ""
        writer = sink = None
        inpainted = 0
        try:  # (from here a Ctrl-C or kill removes the temporary files, whenever it comes)
            if smart is not None:  # only the GOPs with a masked frame are encoded; the rest is copied
                writer = SmartWriter(reader, smart, output_path, crf=crf, preset=preset, audio_from=audio,
                                     inputs=(input_path,))
                wanted = writer.wants
                put = lambda i, frame: writer.write(i, frame) if wanted(i) else None  # noqa: E731
            else:
                # the export keeps what the source is besides its pixels: each frame's time (phones record
                # VFR), its colour encoding, its pixel shape, its fields and its tags (when and where it was
                # shot)
                writer = VideoWriter(
                    output_path, reader.width, reader.height, fps=reader.rate, crf=crf, preset=preset,
                    audio_from=audio, inputs=(input_path,), source=reader)
                wanted = lambda i: True  # noqa: E731
                put = lambda i, frame: writer.write(frame)  # noqa: E731
            # Encoding happens behind the model on a thread (frames still reach the file in order).
            sink = BackgroundSink(put) if config.io_threads else put
            before = [i for i in range(0, start) if wanted(i)]
            after = [i for i in range(end, n) if wanted(i)]
            total = len(before) + (end - start) + len(after)
            # The count is of frames, the bar and the ETA of work: a frame copied through costs an
            # encode, one inpainted its fill besides (WORK_PER_FRAME), so that ten frames inpainted at
            # the start of a long clip do not make the ETA ten times the time the job takes.
            masked = 0 if empty else sum(not masks.is_empty(i) for i in range(start, end))
            fill_cost = 0.0 if empty else masked * WORK_PER_FRAME[mode]
            work = total * WORK_PER_FRAME["encode"] + fill_cost
            clock = ProgressClock(progress, total, "inpaint")
            done = 0

            def report(frames: int, filled: float = 0.0) -> None:
                clock.report(frames, work=(frames * WORK_PER_FRAME["encode"] + filled) / work)

            report(0)  # (before the first frame: a caller's notes on the run come before its work)
            for i in before:  # copied through, with progress: from the middle of an hour this is long
                cancel.check()
                sink(i, reader.read(i))
                done += 1
                report(done)
            if empty:
                for i in range(start, end):
                    cancel.check()
                    sink(i, reader.read(i))
                    done += 1
                    report(done)
            else:
                def relay(p):
                    report(len(before) + p.done, fill_cost * p.fraction)

                mode = fill_range(reader, masks, sink, start, end, config, engine, progress=relay, cancel=cancel)
                inpainted = masked
                done += end - start
            for i in after:
                cancel.check()
                sink(i, reader.read(i))
                done += 1
                report(done, fill_cost)
            if isinstance(sink, BackgroundSink):
                sink.close()
            report(total, fill_cost)
            out = writer.close(progress, cancel) if smart is not None else writer.close()
        except BaseException:
            if isinstance(sink, BackgroundSink):
                sink.abort()
            if writer is not None:
                writer.abort()
            raise
    copied = n - smart.frames if smart is not None and not writer.reencoded_all else 0
    # (damage met while the frames were read, each stretch's: exported as players show it)
    for late in [*(d.notice for d in getattr(reader, "damages", ())), getattr(reader, "notice", None)]:
        if late and late not in warnings:
            warnings.append(late)
    if smart is not None and writer.fallback:
        warnings.append(writer.fallback)
    return InpaintResult(out, n, inpainted, time.monotonic() - t0, warnings, "" if empty else mode, copied, why)
