"""Time tracking several objects at once: all of a clip's objects from their true first-frame
masks, given as a list (as the GUI passes the selections committed on a frame), through the first
``--frames`` frames; median of ``--repeat`` runs, with the objects followed side by side on one
thread per core (the default) and one after another (``--threads 1``).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_track_objects.py [--clip schoolgirls] [--frames 30]
        [--size 1280x720] [--repeat 3]
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

from app.core.segment import GrabCutSegmenter, TrackParams, mask_iou, track  # noqa: E402
from bench_segment import load_frames, load_objects  # noqa: E402


def run(frames, keys, truth, threads: int, repeat: int) -> tuple[float, float]:
    """(median seconds, mean union IoU over the tracked frames)."""
    times, res = [], None
    for _ in range(repeat):
        cv2.setRNGSeed(0)
        t0 = time.perf_counter()
        res = track(lambda i: frames[i], len(frames), {0: keys}, GrabCutSegmenter(seed=0),
                    params=TrackParams(threads=threads))
        times.append(time.perf_counter() - t0)
    iou = float(np.mean([mask_iou(res.mask(i), truth[i]) for i in range(1, len(frames))]))
    return float(np.median(times)), iou


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clip", nargs="+", default=["schoolgirls", "dogs_jump"])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=lambda t: tuple(int(v) for v in t.lower().split("x")), metavar="WxH",
                    help="upscale the clip and masks to this size first (e.g. 1280x720)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[0, 1],
                    help="TrackParams.threads values to compare (0: one per core)")
    args = ap.parse_args(argv)
    print("| clip | objects | frames | size | threads | median s | s a frame | union IoU |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for name in args.clip:
        frames = load_frames(args.clips, name)[:args.frames]
        objects = {k: v[:args.frames] for k, v in load_objects(args.clips, name).items()}
        truth = [np.any([v[i] for v in objects.values()], axis=0) for i in range(len(frames))]
        keys = [v[0] for v in objects.values()]
        if args.size:
            frames = [cv2.resize(f, args.size, interpolation=cv2.INTER_CUBIC) for f in frames]
            truth = [cv2.resize(m.astype(np.uint8), args.size, interpolation=cv2.INTER_NEAREST) > 0 for m in truth]
            keys = [cv2.resize(m.astype(np.uint8), args.size, interpolation=cv2.INTER_NEAREST) > 0 for m in keys]
        h, w = frames[0].shape[:2]
        for threads in args.threads:
            secs, iou = run(frames, keys, truth, threads, args.repeat)
            print(f"| {name} | {len(keys)} | {len(frames)} | {w}x{h} | {threads or 'per core'} | {secs:.2f} "
                  f"| {secs / len(frames):.3f} | {iou:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
