"""The ETA of an export of a few frames inside a long clip, against the time it then takes.

``inpaint_video`` (the CLI's ``inpaint``, the GUI's Export with no current result) counts every frame
of the clip: those inpainted in [--start, --end) and those copied through around them. A frame
inpainted costs its fill besides the encode (``app.core.engine.WORK_PER_FRAME``), so its reports carry
the share of the work done (``Progress.work``) and the ETA (the time gone over that share) follows
it. This runs the export, every frame encoded again (``--reencode-all``; smart render off), and
reads each report's ETA against the real time then left in the stage: when the range has been
inpainted, and each half second (what a bar on a terminal shows).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_export_eta.py \\
        [--clip ../shared/data/clips/running_car.mp4] [--mask ../shared/data/clips/running_car_mask_logo.png] \\
        [--start 0] [--end 10] [--fills propagate+telea,sttn] [--runs 3]

Figures go to docs/BENCHMARKS.md ("ETA of an export of a few frames in a long clip").
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import paths  # noqa: E402
from app.core.config import EngineConfig  # noqa: E402
from app.core.engine import inpaint_video  # noqa: E402


def one(clip: Path, mask: Path, fill: str, start: int, end: int, out: Path) -> dict:
    seen = []
    t0 = time.monotonic()
    inpaint_video(clip, mask, out, weights=paths.default_weights(), config=EngineConfig(fill=fill, device="cpu"),
                  start=start, end=end, copy_unchanged=False,
                  progress=lambda p: seen.append((time.monotonic() - t0, p)))
    reports = [(t, p) for t, p in seen if p.stage == "inpaint" and p.eta is not None]
    stage_end = reports[-1][0]
    t_range, p_range = next((t, p) for t, p in reports if p.done >= end)
    ratios, t = [], reports[0][0]
    while t < stage_end - 1.0:  # (the last second: a ratio of small numbers)
        p = [p for s, p in reports if s <= t][-1]
        ratios.append(p.eta / (stage_end - t))
        t += 0.5
    return {"seconds": stage_end, "range_done": t_range, "eta": p_range.eta, "left": stage_end - t_range,
            "first": ratios[0], "median": statistics.median(ratios)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=ROOT.parent / "shared/data/clips/running_car.mp4")
    ap.add_argument("--mask", type=Path, default=ROOT.parent / "shared/data/clips/running_car_mask_logo.png")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--end", type=int, default=10)
    ap.add_argument("--fills", default="propagate+telea,sttn")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    out = Path(tempfile.mkdtemp(prefix="bench-export-eta-")) / "out.mp4"
    for fill in a.fills.split(","):
        runs = [one(a.clip, a.mask, fill, a.start, a.end, out) for _ in range(a.runs)]
        for r in runs:
            print(f"  {fill:15} frames {a.start}..{a.end - 1}: stage {r['seconds']:5.1f} s; range inpainted at "
                  f"{r['range_done']:5.1f} s, ETA then {r['eta']:6.1f} s against {r['left']:5.1f} s "
                  f"({r['eta'] / r['left']:5.2f}x); ETA/time left each 0.5 s: first {r['first']:6.1f}x, "
                  f"median {r['median']:.2f}x", flush=True)
        print(f"{fill}: median ETA at the range's end {statistics.median(r['eta'] / r['left'] for r in runs):.2f}x "
              f"the time left, over the stage {statistics.median(r['median'] for r in runs):.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
