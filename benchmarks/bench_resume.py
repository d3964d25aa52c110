"""Finishing a tracking run that was stopped part-way (the GUI's Track after a Cancel).

For every object of the benchmark clips (true first mask, weight-free tracker): the unbroken run
through all frames; then, for each ``--stops`` frame s, the same run stopped after s and finished
two ways: going on from frame s with the keyframe's models (``iter_track(resume=)``, what Track
does now) and starting afresh from frame s's mask as if it were a keyframe (models fitted on a
tracked mask). Mean IoU against the truth over frames 1..n-1 (the first s frames are the
unbroken run's in all three), per clip and overall (mean of clips), and the frames the finishing
run tracks against the unbroken run's.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_resume.py [--stops 10 30] [--clips tennis]
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

from app.core.segment import GrabCutSegmenter, mask_iou, track  # noqa: E402
from bench_segment import CLIPS, load_frames, load_objects  # noqa: E402


def run(frames, key_mask, resume=None, start: int = 0):
    cv2.setRNGSeed(0)
    n = len(frames) - start
    res = track(lambda i: frames[start + i], n, {0: key_mask}, GrabCutSegmenter(seed=0), resume=resume)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips-dir", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clips", nargs="*", default=list(CLIPS))
    ap.add_argument("--stops", nargs="*", type=int, default=[10, 30])
    ap.add_argument("--min-area", type=int, default=200, help="skip objects smaller on frame 0 (px)")
    a = ap.parse_args(argv)
    names = ["unbroken"] + [f"{how} @{s}" for s in a.stops for how in ("resumed", "afresh")]
    per_clip: dict[str, dict[str, float]] = {}
    t0 = time.monotonic()
    for clip in a.clips:
        frames, objects = load_frames(a.clips_dir, clip), load_objects(a.clips_dir, clip)
        n = len(frames)
        scores: dict[str, list[float]] = {k: [] for k in names}
        for k, truth in objects.items():
            if np.count_nonzero(truth[0]) < a.min_area:
                continue
            whole = run(frames, truth[0])
            got = [whole.mask(i) for i in range(n)]
            iou = lambda masks: float(np.mean([mask_iou(masks[i], truth[i]) for i in range(1, n)]))  # noqa: E731
            row = {"unbroken": iou(got)}
            for s in a.stops:
                on = run(frames, truth[0], resume={0: (s, got[s])})
                row[f"resumed @{s}"] = iou(got[:s + 1] + [on.mask(i) for i in range(s + 1, n)])
                fresh = run(frames, got[s], start=s)
                row[f"afresh @{s}"] = iou(got[:s + 1] + [fresh.mask(i - s) for i in range(s + 1, n)])
            print(clip, k, " ".join(f"{name} {v:.3f}" for name, v in row.items()), flush=True)
            for name, v in row.items():
                scores[name].append(v)
        per_clip[clip] = {name: float(np.mean(v)) for name, v in scores.items() if v}
    print()
    print("| clip | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for clip, row in per_clip.items():
        print(f"| {clip} | " + " | ".join(f"{row[name]:.3f}" for name in names) + " |")
    overall = {name: float(np.mean([row[name] for row in per_clip.values()])) for name in names}
    print("| **overall** | " + " | ".join(f"**{overall[name]:.3f}**" for name in names) + " |")
    print(f"\n{time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
