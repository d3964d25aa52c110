"""How good is the mask of one click, on many frames: the candidate shown first against the best
the click offers (what Tab cycles through), per object and frame, with the weight-free segmenter.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_first_click.py [--only dogs_jump] [--step 10]

On every ``--step``-th frame of each clip, each object (true mask of at least ``--min-area`` px)
gets one click at its centre (the deepest point of its true mask, as bench_segment.py clicks
frame 0), with the motion to frames 2, 4 and 6 away and the background plate of the frames 10
either side (``--click-plate``; 0: none) as the GUI gives them (``prepare_click``). Printed: IoU of the first
candidate / of the best candidate, per frame and object, and the means. A large gap says the
ranking loses the right answer; a small one with both low says no candidate is right.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app.core.segment import GrabCutSegmenter, mask_iou, prepare_click  # noqa: E402
from bench_segment import CLIPS, centre_click, load_frames, load_objects  # noqa: E402


def clip_clicks(clips: Path, name: str, step: int, min_area: int, plate: int = 10) -> list[dict]:
    frames = load_frames(clips, name)
    objects = load_objects(clips, name)
    seg = GrabCutSegmenter(seed=0)
    rows = []
    for f in range(0, len(frames), step):
        cv2.setRNGSeed(0)
        seg.set_image(frames[f], index=f)
        prepare_click(seg, lambda i: frames[i], f, len(frames), plate=plate)
        cells = []
        for k, masks in objects.items():
            gt = masks[f]
            if np.count_nonzero(gt) < min_area:
                cells.append("  -  ")
                continue
            x, y = centre_click(gt)
            ious = [mask_iou(c.mask, gt) for c in seg.predict([(x, y, 1)])]
            rows.append({"clip": name, "frame": f, "object": k, "first": ious[0], "tab": max(ious[:2]),
                         "best": max(ious), "candidates": len(ious)})
            cells.append(f"{ious[0]:.2f}/{max(ious):.2f}")
        print(f"{name} frame {f}: " + " ".join(cells), flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--only", nargs="*", default=list(CLIPS))
    ap.add_argument("--step", type=int, default=10)
    ap.add_argument("--min-area", type=int, default=200)
    ap.add_argument("--click-plate", type=int, default=10, metavar="N")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows = []
    print("IoU of the first candidate / of the best candidate, per object")
    for name in args.only:
        rows += clip_clicks(args.clips, name, args.step, args.min_area, args.click_plate)
    print("\n| clip | clicks | first candidate | the better of the first two (one Tab) | best candidate |\n"
          "| --- | ---: | ---: | ---: | ---: |")
    means = []
    for name in args.only:
        r = [x for x in rows if x["clip"] == name]
        if r:
            m = tuple(np.mean([x[k] for x in r]) for k in ("first", "tab", "best"))
            means.append(m)
            print(f"| {name} | {len(r)} | " + " | ".join(f"{v:.3f}" for v in m) + " |")
    if means:
        print(f"| **mean of clips** | {len(rows)} | " + " | ".join(f"**{v:.3f}**" for v in np.mean(means, axis=0)) + " |")
    if args.json:
        args.json.write_text(json.dumps({"step": args.step, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
