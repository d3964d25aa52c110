"""Finishing a tracking run that was stopped part-way (the GUI's Track after a Cancel).

For every object of the benchmark clips (true first mask, weight-free tracker): the unbroken run
through all frames; then, for each ``--stops`` frame s, the same run stopped after s and finished
three ways: going on from what the stopped run knew, kept in memory (``iter_track(keep=)``, what
Track does when nothing changed since the stop), going on from frame s's mask with the keyframe's
models (``iter_track(resume=)`` alone, what Track does without that: the project reopened, a mask
edited) and starting afresh from frame s's mask as if it were a keyframe (models fitted on a
tracked mask). Mean IoU against the truth over frames 1..n-1 (the first s frames are the
unbroken run's in all of them), per clip and overall (mean of clips), and how many of the frames
after s the finishing run gives another mask or flag than the unbroken run (``diff``, summed).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_resume.py [--stops 10 30] [--clips tennis]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app.core.errors import Cancelled  # noqa: E402
from app.core.jobs import CancelToken  # noqa: E402
from app.core.segment import GrabCutSegmenter, iter_track, mask_iou, track  # noqa: E402
from app.core.segment.track import TrackMemo  # noqa: E402
from bench_segment import CLIPS, load_frames, load_objects  # noqa: E402


def run(frames, key_mask, resume=None, start: int = 0, keep=None):
    n = len(frames) - start
    # (rng_seed=0: as cv2.setRNGSeed(0) just before, and a kept run takes the generator up where it was)
    return track(lambda i: frames[start + i], n, {0: key_mask}, GrabCutSegmenter(seed=0), resume=resume, keep=keep,
                 rng_seed=0)


def stop_after(frames, key_mask, s: int, keep: TrackMemo) -> None:
    """The run from frame 0 stopped (Cancel) once frame ``s`` is done, keeping what it knew in ``keep``."""
    cancel = CancelToken()
    try:
        for step in iter_track(lambda i: frames[i], len(frames), {0: key_mask}, GrabCutSegmenter(seed=0),
                               cancel=cancel, keep=keep, rng_seed=0):
            if step.index == s:
                cancel.cancel()
    except Cancelled:
        pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips-dir", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clips", nargs="*", default=list(CLIPS))
    ap.add_argument("--stops", nargs="*", type=int, default=[10, 30])
    ap.add_argument("--min-area", type=int, default=200, help="skip objects smaller on frame 0 (px)")
    a = ap.parse_args(argv)
    names = ["unbroken"] + [f"{how} @{s}" for s in a.stops for how in ("kept", "resumed", "afresh")]
    per_clip: dict[str, dict[str, float]] = {}
    diffs = {name: 0 for name in names if not name.startswith(("unbroken", "afresh"))}
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
            row, differ = {"unbroken": iou(got)}, {}
            for s in a.stops:
                memo = TrackMemo()
                stop_after(frames, truth[0], s, memo)
                if not memo:
                    raise SystemExit(f"{clip} {k}: the run stopped after frame {s} kept nothing")
                for how, keep in (("kept", memo), ("resumed", None)):
                    on = run(frames, truth[0], resume={0: (s, got[s])}, keep=keep)
                    row[f"{how} @{s}"] = iou(got[:s + 1] + [on.mask(i) for i in range(s + 1, n)])
                    differ[f"{how} @{s}"] = sum((on.mask(i) != got[i]).any() or on.flags[i] != whole.flags[i]
                                                for i in range(s + 1, n))
                fresh = run(frames, got[s], start=s)
                row[f"afresh @{s}"] = iou(got[:s + 1] + [fresh.mask(i - s) for i in range(s + 1, n)])
            print(clip, k, " ".join(f"{name} {v:.3f}" for name, v in row.items()),
                  "| diff " + " ".join(f"{name} {v}" for name, v in differ.items()), flush=True)
            for name, v in row.items():
                scores[name].append(v)
            for name, v in differ.items():
                diffs[name] += v
        per_clip[clip] = {name: float(np.mean(v)) for name, v in scores.items() if v}
    print()
    print("| clip | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for clip, row in per_clip.items():
        print(f"| {clip} | " + " | ".join(f"{row[name]:.3f}" for name in names) + " |")
    overall = {name: float(np.mean([row[name] for row in per_clip.values()])) for name in names}
    print("| **overall** | " + " | ".join(f"**{overall[name]:.3f}**" for name in names) + " |")
    print("\nframes after the stop with another mask or flag than the unbroken run (all objects): "
          + ", ".join(f"{name} {v}" for name, v in diffs.items()))
    print(f"\n{time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
