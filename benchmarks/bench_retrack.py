"""Time tracking again after one correction: what the GUI's Track does the second time.

A clip's object (true masks) has keyframes every ``--every`` frames and was tracked through all
frames; the user corrects frame ``--at`` (its true mask becomes a keyframe) and tracks again.
Only the stretches between the keyframes around the correction are tracked again
(``changed_spans``: each frame is tracked from its neighbouring keyframes, so the others would
come out the same); the comparison is tracking the whole clip again, as Track did before.
Median of ``--repeat`` runs each, one object of each clip, weight-free tracker.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_retrack.py [--clips schoolgirls tennis] [--every 20] [--at 50]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app.core.segment import GrabCutSegmenter, changed_spans, track  # noqa: E402
from bench_segment import load_frames, load_objects  # noqa: E402


def timed(frames, truth, keys, spans, repeat: int) -> float:
    """Median seconds to track ``spans`` ([(a, b)]) of ``frames`` from the true masks on ``keys``."""
    times = []
    for _ in range(repeat):
        cv2.setRNGSeed(0)
        t0 = time.perf_counter()
        for a, b in spans:
            track(lambda i: frames[a + i], b - a, {k - a: truth[k] for k in keys if a <= k < b},
                  GrabCutSegmenter(seed=0))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips-dir", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clips", nargs="+", default=["schoolgirls", "tennis"])
    ap.add_argument("--every", type=int, default=20, help="keyframes every N frames before the correction")
    ap.add_argument("--at", type=int, default=50, help="the corrected frame")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    for name in args.clips:
        frames = load_frames(args.clips_dir, name)
        truth = load_objects(args.clips_dir, name)[1]
        n = len(frames)
        keys = list(range(0, n, args.every))
        now = sorted(set(keys) | {args.at})
        spans = changed_spans(0, n, {k: 1 for k in now}, {k: 1 for k in keys}, lambda i: True)
        full = timed(frames, truth, now, [(0, n)], args.repeat)
        part = timed(frames, truth, now, spans, args.repeat)
        print(f"{name}: {n} frames, keyframes {keys}, correction at {args.at}: tracked again "
              f"{', '.join(f'{a}..{b - 1}' for a, b in spans)} in {part:.2f} s, the whole clip in {full:.2f} s "
              f"({full / part:.1f}x)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
