"""Flow propagation (app.core.propagate.propagate) on one thread against the default pool.

    PYTHONPATH=. python benchmarks/bench_propagate.py [--clip schoolgirls] [--frames 40] [--runs 2]

The clip's object masks (dilated 4 steps, as the engine does) on its first frames; runs alternate
workers=1 and workers=0 (one thread per core) and the outputs are compared for identity.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.core.masks import dilate, fit_mask, read_mask_image  # noqa: E402
from app.core.propagate import PropagateConfig, propagate  # noqa: E402
from app.core.video import open_video  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clip", default="schoolgirls")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    with open_video(args.data / f"{args.clip}.mp4") as r:
        frames = list(r.iter_frames(0, args.frames))
        width, height = r.width, r.height
    files = sorted((args.data / f"{args.clip}_mask").iterdir())[:len(frames)]
    masks = [dilate(fit_mask(read_mask_image(f), width, height) > 0, 4) for f in files]
    times = {1: [], 0: []}
    ref, same = None, True
    for _ in range(args.runs):
        for workers in (1, 0):
            t0 = time.perf_counter()
            out, rem = propagate(frames, masks, PropagateConfig(workers=workers))
            times[workers].append(time.perf_counter() - t0)
            if ref is None:
                ref = (out, rem)
            else:
                same &= all(np.array_equal(a, b) for a, b in zip(out + rem, ref[0] + ref[1]))
    one, pool = statistics.median(times[1]), statistics.median(times[0])
    print(f"{args.clip}, {len(frames)} frames: one thread {one:.2f} s {[round(t, 2) for t in times[1]]}, "
          f"pool {pool:.2f} s {[round(t, 2) for t in times[0]]}, {one / pool:.2f}x, identical: {same}")


if __name__ == "__main__":
    main()
