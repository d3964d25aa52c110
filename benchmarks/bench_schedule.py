"""The quality cost of faster window schedules, with the same weights.

For each clip (first ``--max-frames`` frames at 432x240, a seeded Algorithm-1 stationary
mask, ground truth = the original frames) STTN fills the hole with the authors' schedule
(windows every n=5 frames, overlapping results averaged) and with each faster schedule;
reports PSNR against the ground truth, PSNR against the authors' schedule's output, and
seconds per frame. The CPU target of docs/BENCHMARKS.md: within 0.3 dB of the authors'
schedule against ground truth.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_schedule.py --weights models/sttn_inpaint.pth \\
        --max-frames 40 --steps 8,11 --json /tmp/schedule.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.core import metrics  # noqa: E402
from app.core.engine import EngineConfig, InpaintEngine  # noqa: E402
from app.core.evaluate import clip_name, load_clip, run_method, stationary_test_mask  # noqa: E402

CLIPS = ("schoolgirls.mp4", "dogs_jump.mp4", "bmx-trees", "tennis")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, default=ROOT / "models" / "sttn_inpaint.pth")
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--max-frames", type=int, default=40)
    ap.add_argument("--steps", default="11", help="window steps to compare with the authors' (5)")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    steps = [5] + [int(s) for s in args.steps.split(",")]  # 5: the authors' overlapping schedule
    engines = {s: InpaintEngine(args.weights, EngineConfig(dilate=0, window_step=s, precision=args.precision))
               for s in steps}
    rows = []
    for name in CLIPS:
        path = args.clips / name
        gt = load_clip(path, args.max_frames)
        h, w = gt[0].shape[:2]
        hole = stationary_test_mask(clip_name(path), h, w, args.seed)
        blanked = []
        for f in gt:
            b = f.copy()
            b[hole] = 0
            blanked.append(b)
        outs = {}
        for s, engine in engines.items():
            t0 = time.monotonic()
            outs[s], _ = run_method("sttn", blanked, [hole] * len(gt), engine)
            secs = (time.monotonic() - t0) / len(gt)
            row = {"clip": clip_name(path), "window_step": s, "frames": len(gt), "sec_per_frame": secs,
                   "psnr_gt": float(np.mean([metrics.psnr(o, g) for o, g in zip(outs[s], gt)])),
                   "psnr_hole_gt": float(np.mean([metrics.psnr(o, g, mask=hole) for o, g in zip(outs[s], gt)])),
                   "psnr_vs_authors": float(np.mean([metrics.psnr(o, a) for o, a in zip(outs[s], outs[5])]))}
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    for s in steps:
        mine = [r for r in rows if r["window_step"] == s]
        summary[str(s)] = {k: float(np.mean([r[k] for r in mine]))
                                for k in ("psnr_gt", "psnr_hole_gt", "psnr_vs_authors", "sec_per_frame")}
    base = summary["5"]
    for s, v in summary.items():
        v["delta_psnr_gt_vs_authors"] = v["psnr_gt"] - base["psnr_gt"]
        v["speedup"] = base["sec_per_frame"] / v["sec_per_frame"]
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary, "weights": str(args.weights),
                                         "max_frames": args.max_frames, "seed": args.seed}, indent=1))


if __name__ == "__main__":
    main()
