"""Quantitative evaluation with stationary masks (paper Sec. 4.1-4.2, supplement B).

Each clip is read (at most ``max_frames`` frames), resized to 432x240 as in the paper, and
given one Algorithm 1 stationary mask (``maskgen.stationary_mask``) drawn from a generator
seeded by (seed, CRC32 of the clip's name): every method sees the same mask on a clip, and a
clip's mask does not depend on which other clips are evaluated. The masked pixels are set to
0 before a method sees the frames, so nothing leaks from the ground truth, which is the
original frames. Scores are PSNR / SSIM per frame averaged over the clip, PSNR inside the
hole, and E_warp (x100, the paper's "%" unit) with flow from the ground truth; the summary is
the mean over clips. See ``app.core.metrics`` for the exact definitions.

Methods: ``none`` (hole left at 0: the floor), ``telea`` (OpenCV cv2.inpaint per frame),
``propagate`` (flow-guided propagation only; unreached pixels stay 0), ``propagate+telea``,
``sttn`` and ``propagate+sttn`` (need STTN weights). STTN runs with mask dilation 0 so that
every method replaces exactly the test mask.
"""
from __future__ import annotations

import math
import time
import zlib
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from . import metrics
from .errors import InpaintError, MaskError, WeightsError
from .jobs import CancelToken, ProgressClock, ProgressFn
from .propagate import (FrameList, MaskList, PropagateConfig, fill_with_engine, fill_with_telea,
                        propagate_video)

METHODS = ("none", "telea", "propagate", "propagate+telea", "sttn", "propagate+sttn")
MASK_KINDS = ("stationary",)
PAPER_SIZE = (432, 240)
FIELDS = ("psnr", "ssim", "ewarp", "psnr_hole", "propagated", "sec_per_frame")


def clip_name(path) -> str:
    p = Path(path)
    return p.name if p.is_dir() else p.stem


def load_clip(path, max_frames: Optional[int] = None, size=PAPER_SIZE) -> list:
    """Frames of a video file or frame folder as RGB uint8 (h, w, 3) resized to size = (w, h)."""
    return read_clip(path, max_frames, size)[0]


def read_clip(path, max_frames: Optional[int] = None, size=PAPER_SIZE) -> tuple[list, Optional[str]]:
    """``load_clip``'s frames and a sentence on the damage met in the frames read (None: none).

    A damaged or cut-off clip is scored on what was read, as players show it: every method is
    compared with the same frames, so the methods' order holds, though the figures are not those of
    a whole copy. The sentence says so, for the user and the tables."""
    from .video import open_video

    path = Path(path).expanduser()
    if not path.exists():
        raise InpaintError(f"Clip {path} does not exist; give video files or frame folders.")
    frames = []
    with open_video(path) as reader:
        n = len(reader) if max_frames is None else min(len(reader), max_frames)
        for f in reader.iter_frames(0, n):
            if (f.shape[1], f.shape[0]) != tuple(size):
                shrink = f.shape[1] > size[0] or f.shape[0] > size[1]
                f = cv2.resize(f, tuple(size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            frames.append(np.ascontiguousarray(f))
        note = _damage_note(reader, len(frames), max_frames)
    if len(frames) < 2:
        raise InpaintError(f"Clip {path} has fewer than 2 frames; evaluation needs a video.")
    return frames, note


def _damage_note(reader, n: int, max_frames: Optional[int]) -> Optional[str]:
    """The damage of the first ``n`` frames a reader read, in one sentence, or None. (The reader's own
    notices speak of an export; a cut-off end past --max-frames changes nothing here.)"""
    damages = [d for d in getattr(reader, "damages", ()) if d.first < n]
    said = {d.notice for d in getattr(reader, "damages", ())}
    notice = getattr(reader, "notice", None)
    short_end = max_frames is None or max_frames > len(reader)
    if damages:
        at = [str(d.first) for d in damages]
        where = (f"frame {at[0]}" if len(at) == 1 else f"frames {', '.join(at[:-1])} and {at[-1]}")
        return (f"{Path(reader.path).name} is damaged near {where} (broken picture data up to the next keyframe): its "
                f"{n} frames are scored as read, as players show them, so its figures are not a whole copy's "
                "(every method is scored against the same frames).")
    if notice and notice not in said and short_end:
        return f"{notice.split(';')[0]}; its {n} frames are scored as read."
    return None


def stationary_test_mask(name: str, height: int, width: int, seed: int) -> np.ndarray:
    """The clip's Algorithm 1 mask, bool (height, width), from rng seeded by (seed, crc32(name))."""
    from .maskgen import stationary_mask

    rng = np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])
    return stationary_mask(height, width, rng).astype(bool)


def run_method(method: str, frames: Sequence[np.ndarray], masks: Sequence[np.ndarray], engine=None,
               config: Optional[PropagateConfig] = None, cancel: Optional[CancelToken] = None) -> tuple[list, dict]:
    """Inpaint ``frames`` (RGB uint8, hole pixels already blanked) for bool ``masks`` with ``method``.

    Returns (output frames RGB uint8, info) where info may hold ``propagated`` (fraction of hole
    pixels filled by propagation)."""
    cancel = cancel or CancelToken()
    if method == "none":
        return [f.copy() for f in frames], {}
    if method == "telea":
        return fill_with_telea()(list(frames), list(masks)), {}
    if method == "sttn":
        return fill_with_engine(engine, cancel)(list(frames), list(masks)), {}
    if method.startswith("propagate"):
        fill = {"propagate": None, "propagate+telea": fill_with_telea(),
                "propagate+sttn": fill_with_engine(engine, cancel) if engine is not None else None}[method]
        out = [None] * len(frames)

        def sink(i, rgb):
            out[i] = rgb

        stats = propagate_video(FrameList(frames), MaskList(masks), sink, fill_remaining=fill, config=config,
                                cancel=cancel)
        frac = stats["propagated_pixels"] / stats["hole_pixels"] if stats["hole_pixels"] else 1.0
        return out, {"propagated": frac}
    raise InpaintError(f"Unknown method {method!r}; use one of {', '.join(METHODS)}.")


def _mean(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    finite = [v for v in vals if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.inf


def sample_grid(tiles: dict) -> np.ndarray:
    """Label -> RGB uint8 frame (all the same size) as one RGB image, two tiles per row, each
    labelled in its top-left corner."""
    items = list(tiles.items())
    h, w = items[0][1].shape[:2]
    cols = 2
    rows = (len(items) + cols - 1) // cols
    grid = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for k, (label, img) in enumerate(items):
        tile = np.ascontiguousarray(img, dtype=np.uint8).copy()
        scale = max(h / 480, 0.4)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(tile, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), -1)
        cv2.putText(tile, label, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
        r, c = divmod(k, cols)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile
    return grid


def write_sample(path: Path, tiles: dict) -> None:
    """Write ``sample_grid(tiles)`` as a PNG, atomically."""
    from .fsutil import atomic_path

    ok, png = cv2.imencode(".png", cv2.cvtColor(sample_grid(tiles), cv2.COLOR_RGB2BGR))
    if not ok:
        raise InpaintError(f"Could not encode the sample image {path}.")
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(png.tobytes())


def evaluate(clips: Sequence, method="propagate+telea", masks: str = "stationary", seed: int = 0,
             max_frames: Optional[int] = None, size=PAPER_SIZE, weights=None, i3d=None,
             propagate_config: Optional[PropagateConfig] = None, progress: Optional[ProgressFn] = None,
             cancel: Optional[CancelToken] = None, samples_dir=None, seam: str = "match") -> dict:
    """Score one or several methods on ``clips`` (paths of videos or frame folders).

    method: a name from METHODS or a list of them. weights: STTN weights path (or an
    InpaintGenerator) for the sttn methods. i3d: TorchScript I3D path for VFID (else not computed).
    samples_dir: if given, one PNG per clip (``<clip>.png``) showing its middle frame: ground
    truth, masked input and every method's output. seam: the engine's seam mode for the sttn
    methods (``EngineConfig.seam``).
    Returns a JSON-ready dict: settings, methods -> {clips: [per-clip rows], mean: row}, vfid.
    Rows hold clip, frames, psnr (dB), ssim (0-1), ewarp (x100), psnr_hole (dB),
    propagated (fraction or None), sec_per_frame.
    """
    cancel = cancel or CancelToken()
    methods = [method] if isinstance(method, str) else list(method)
    if not methods:
        raise InpaintError("No method given; use one of " + ", ".join(METHODS) + ".")
    for m in methods:
        if m not in METHODS:
            raise InpaintError(f"Unknown method {m!r}; use one of {', '.join(METHODS)}.")
    if masks not in MASK_KINDS:
        raise MaskError(f"Unknown mask kind {masks!r}; evaluation supports: {', '.join(MASK_KINDS)}.")
    if not clips:
        raise InpaintError("No clips given; pass video files or frame folders.")
    engine = None
    if any("sttn" in m for m in methods):
        if weights is None:
            raise WeightsError("The sttn methods need STTN weights; pass --weights PATH.")
        from .engine import EngineConfig, InpaintEngine

        engine = InpaintEngine(weights, EngineConfig(dilate=0, seam=seam))
    extractor = metrics.I3DFeatures(i3d) if i3d else None

    result = {
        "settings": {"masks": masks, "seed": seed, "max_frames": max_frames, "size": list(size),
                     "ewarp_unit": "mean squared RGB difference in [0,1] x 100 (paper's %)",
                     "ssim": "Gaussian 11x11 sigma 1.5, RGB channels averaged",
                     "weights": str(weights) if weights is not None and not hasattr(weights, "state_dict") else None,
                     "seam": seam if engine is not None else None,
                     "propagate": (propagate_config or PropagateConfig()).to_dict()},
        "methods": {m: {"clips": [], "mean": {}} for m in methods},
        "warnings": [],  # (one sentence per damaged or cut-off clip: scored on what was read)
    }
    feats = {m: [] for m in methods}
    gt_feats = []
    short = []  # (clips too short for the I3D: left out of VFID)
    clock = ProgressClock(progress, len(clips) * len(methods), "evaluate")
    clock.report(0)
    done = 0
    for path in clips:
        cancel.check()
        name = clip_name(path)
        gt, note = read_clip(path, max_frames, size)
        if note:
            result["warnings"].append(note)
        h, w = gt[0].shape[:2]
        hole = stationary_test_mask(name, h, w, seed)
        mask_list = [hole] * len(gt)
        blanked = []
        for f in gt:
            b = f.copy()
            b[hole] = 0
            blanked.append(b)
        ref = metrics.WarpReference(gt)
        mid = len(gt) // 2
        tiles = {"ground truth": gt[mid], "masked input": blanked[mid]}
        scored = extractor is not None and _clip_features(extractor, gt, name, gt_feats, short)
        for m in methods:
            cancel.check()
            t0 = time.monotonic()
            out, info = run_method(m, blanked, mask_list, engine, propagate_config, cancel)
            secs = time.monotonic() - t0
            row = {
                "clip": name, "frames": len(gt), "mask_fraction": float(hole.mean()), "damaged": note is not None,
                "psnr": float(np.mean([metrics.psnr(o, g) for o, g in zip(out, gt)])),
                "ssim": float(np.mean([metrics.ssim(o, g) for o, g in zip(out, gt)])),
                "ewarp": ref.error(out) * metrics.EWARP_SCALE,
                "psnr_hole": float(np.mean([metrics.psnr(o, g, mask=hole) for o, g in zip(out, gt)])),
                "propagated": info.get("propagated"),
                "sec_per_frame": secs / len(gt),
            }
            result["methods"][m]["clips"].append(row)
            tiles[m] = out[mid]
            if scored:
                feats[m].append(extractor(out))
            done += 1
            clock.report(done, clip=name, method=m, psnr=row["psnr"])
        if samples_dir is not None:
            Path(samples_dir).mkdir(parents=True, exist_ok=True)
            write_sample(Path(samples_dir) / f"{name}.png", tiles)
    for m in methods:
        rows = result["methods"][m]["clips"]
        result["methods"][m]["mean"] = {k: _mean([r[k] for r in rows]) for k in FIELDS}
        result["methods"][m]["mean"]["frames"] = sum(r["frames"] for r in rows)
    left_out = ""
    if short:
        n = metrics.I3D_MIN_FRAMES
        left_out = ", ".join(short[:3]) + (f" and {len(short) - 3} more" if len(short) > 3 else "") \
            + f" (fewer than the {n} frames the I3D needs)"
        result["warnings"].append(f"VFID leaves out {left_out}; give clips of {n} frames or more to have "
                                  f"{'it' if len(short) == 1 else 'them'} counted.")
    if extractor is not None and len(gt_feats) >= 2:
        result["vfid"] = {m: metrics.fid_from_features(np.stack(feats[m]), np.stack(gt_feats)) for m in methods}
        result["vfid_note"] = (f"Frechet distance of I3D features over {len(gt_feats)} clips"
                               + (f"; left out: {left_out}" if left_out else ""))
    else:
        result["vfid"] = None
        result["vfid_note"] = (metrics.VFID_MISSING if extractor is None else "VFID: not computed (needs at least 2 "
                               f"clips{'; left out: ' + left_out if left_out else ''})")
    return result


def _clip_features(extractor, gt: list, name: str, gt_feats: list, short: list) -> bool:
    """Add the I3D features of a clip's ground truth to ``gt_feats`` (True), or, where the clip is too
    short for the I3D and it fails on it, its name to ``short`` (False): a real I3D on fewer than 16
    frames ended the run in a traceback after every method was scored."""
    try:
        gt_feats.append(extractor(gt))
    except Exception as exc:  # noqa: BLE001 - whatever the module raises on a short clip
        if len(gt) >= metrics.I3D_MIN_FRAMES:
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:160]
            raise InpaintError(f"The I3D extractor failed on clip {name} ({why}); check the --i3d file, or leave "
                               "it out.") from None
        short.append(name)
        return False
    return True


def _fmt(v, digits):
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return "inf"
    return f"{v:.{digits}f}"


def to_markdown(result: dict) -> str:
    """Per-clip tables (one per method) and a summary table of the means, as Markdown."""
    s = result["settings"]
    lines = [f"Stationary masks (Algorithm 1), seed {s['seed']}, frames resized to {s['size'][0]}x{s['size'][1]}"
             + (f", first {s['max_frames']} frames per clip" if s.get("max_frames") else "") + ".",
             "PSNR/SSIM: whole frame; PSNR hole: masked pixels only; E_warp x100 (paper's %), lower is better.",
             ""]
    head = "| {} | frames | hole % | PSNR | SSIM | E_warp (%) | PSNR hole | propagated % | s/frame |"
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"

    def row(label, r, frames, hole):
        prop = None if r.get("propagated") is None else 100 * r["propagated"]
        return (f"| {label} | {frames} | {hole} | {_fmt(r['psnr'], 2)} | {_fmt(r['ssim'], 4)} | "
                f"{_fmt(r['ewarp'], 4)} | {_fmt(r['psnr_hole'], 2)} | {_fmt(prop, 1)} | {_fmt(r['sec_per_frame'], 3)} |")

    lines += ["**Mean over clips**", "", head.format("method"), sep]
    for m, res in result["methods"].items():
        lines.append(row(m, res["mean"], res["mean"]["frames"], "-"))
    for m, res in result["methods"].items():
        lines += ["", f"**{m}**", "", head.format("clip"), sep]
        for r in res["clips"]:
            lines.append(row(r["clip"], r, r["frames"], _fmt(100 * r["mask_fraction"], 1)))
    if result.get("warnings"):  # (the tables' record of the clips scored on what could be read)
        lines += [""] + [f"Warning: {w}" for w in result["warnings"]]
    lines += ["", result["vfid_note"] if result.get("vfid") is None else
              "VFID: " + ", ".join(f"{m} {v:.4f}" for m, v in result["vfid"].items()) + f" ({result['vfid_note']})"]
    return "\n".join(lines) + "\n"
