"""Time a brush stroke applied to every frame of a tracked clip (Apply to: every frame in range).

After tracking, each frame holds a mask of its own, so a stroke over the range decodes, edits and
re-encodes every frame's mask, and where the stroke lands on what the tracker added, the tracker's
record of that frame too (``Project.apply_delta`` -> ``MaskStore.edit``), on the GUI thread. The
masks are a shared clip's true object masks scaled to ``--size`` (nearest), cycled to
``--frames`` frames; the stroke is a subtitle band across them. ``--compare`` also times the
earlier way: 8-bit PNG blobs, one frame after another. Median of ``--repeat`` runs.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_mask_edit.py [--frames 300] [--size 1920x1080] [--compare]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app.core import masks as masks_mod  # noqa: E402
from app.core.masks import MaskStore  # noqa: E402
from bench_segment import load_objects  # noqa: E402


def _old_encode(mask: np.ndarray) -> bytes:  # the blobs until the fourteenth session: 8-bit PNG
    ok, buf = cv2.imencode(".png", mask.astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return buf.tobytes()


def stores(truth: list[np.ndarray], n: int, w: int, h: int):
    """(masks, tracked record) as after tracking: frame i holds the clip's object mask i mod len."""
    masks, tracked = MaskStore(n, w, h), MaskStore(n, w, h)
    scaled = [cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0 for m in truth]
    for i in range(n):
        m = scaled[i % len(scaled)]
        masks.set(i, m)
        tracked.set(i, m)
    return masks, tracked


def stroke_once(truth, n, w, h, threads) -> float:
    masks, tracked = stores(truth, n, w, h)
    band = np.zeros((h, w), bool)
    band[int(0.55 * h):int(0.65 * h), :] = True  # across the people, where subtitles go
    t0 = time.perf_counter()
    over: list[int] = []
    masks.edit(range(n), band, None, threads=threads, overlapped=over)
    tracked.edit(over, removed=band, threads=threads)
    return time.perf_counter() - t0


def clip_options(ap: argparse.ArgumentParser, frames: int) -> None:
    """The options naming the masks a benchmark edits: --clips, --clip, --frames, --size."""
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clip", default="schoolgirls")
    ap.add_argument("--frames", type=int, default=frames)
    ap.add_argument("--size", default="1920x1080")


def clip_masks(args) -> tuple[dict, list[np.ndarray], int, int]:
    """(the clip's true masks {object: [mask per frame]}, each frame's union, width, height asked)."""
    w, h = (int(v) for v in args.size.lower().split("x"))
    objects = load_objects(args.clips, args.clip)
    return objects, [np.any(np.stack(per_frame), axis=0) for per_frame in zip(*objects.values())], w, h


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    clip_options(ap, 300)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--compare", action="store_true", help="also time 8-bit PNG blobs, one frame at a time")
    args = ap.parse_args(argv)
    _, truth, w, h = clip_masks(args)
    runs = [("now: 1-bit PNG, a thread per core", None, masks_mod._encode)]
    if args.compare:
        runs.append(("before: 8-bit PNG, one frame at a time", 1, _old_encode))
    new_encode = masks_mod._encode
    print(f"{args.frames} frames of {args.clip}'s masks at {w}x{h}, {os.cpu_count()} cores, median of {args.repeat}")
    try:
        for name, threads, enc in runs:
            masks_mod._encode = enc
            t = statistics.median(stroke_once(truth, args.frames, w, h, threads) for _ in range(args.repeat))
            print(f"{name}: {t:.2f} s, {1000 * t / args.frames:.1f} ms a frame")
    finally:
        masks_mod._encode = new_encode
    return 0


if __name__ == "__main__":
    sys.exit(main())
