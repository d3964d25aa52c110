"""Where the benchmark clips' ground-truth masks put the object's edge: the mean image gradient
along each true mask's edge shrunk or grown by -5..+5 px (upper 60 % of each mask only: no cast
shadow, no ground contact), every 5th frame. A mask drawn on the object's outline peaks at 0; a
mask grown by a margin peaks that many px inside. Also the IoU of the true masks shrunk by 2-4 px
against themselves: what a mask that follows the outline exactly would score where the truth has a
margin.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_gt_margin.py [--clips DIR] [--only tennis ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_segment import CLIPS, load_frames, load_objects  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def moved(mask: np.ndarray, px: int) -> np.ndarray:
    """``mask`` (uint8) grown by ``px`` steps (shrunk where negative)."""
    if px > 0:
        return cv2.dilate(mask, KERNEL, iterations=px)
    return cv2.erode(mask, KERNEL, iterations=-px) if px < 0 else mask


def edge_profile(frames, objects, offsets=range(-5, 6), step: int = 5, min_area: int = 400) -> dict[int, float]:
    """{offset: mean gradient magnitude along the true masks' edge moved by offset px}."""
    sums = {o: [] for o in offsets}
    for i in range(0, len(frames), step):
        g = cv2.cvtColor(frames[i], cv2.COLOR_RGB2GRAY).astype(np.float32)
        mag = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
        for masks in objects.values():
            m = masks[i].astype(np.uint8)
            if m.sum() < min_area:
                continue
            ys = np.nonzero(m)[0]
            cut = ys.min() + int(0.6 * (ys.max() - ys.min()))
            for o in offsets:
                mm = moved(m, o)
                edge = (mm - cv2.erode(mm, KERNEL)) > 0
                edge[cut:] = False
                if edge.any():
                    sums[o].append(float(mag[edge].mean()))
    return {o: float(np.mean(v)) if v else float("nan") for o, v in sums.items()}


def shrunk_iou(objects, px: int) -> float:
    """Mean IoU of every true mask shrunk by ``px`` against itself."""
    ious = []
    for masks in objects.values():
        for m in masks:
            if m.any():
                e = moved(m.astype(np.uint8), -px) > 0
                ious.append((e & m).sum() / (e | m).sum())
    return float(np.mean(ious))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--only", nargs="*", default=list(CLIPS))
    args = ap.parse_args(argv)
    print("| clip | gradient along the edge moved -5..+5 px | peak at | true masks shrunk 2 / 3 / 4 px, IoU |")
    print("| --- | --- | ---: | --- |")
    for name in args.only:
        frames, objects = load_frames(args.clips, name), load_objects(args.clips, name)
        prof = edge_profile(frames, objects)
        peak = max(prof, key=lambda o: -1 if np.isnan(prof[o]) else prof[o])
        row = " ".join(f"{v:.0f}" for v in prof.values())
        ious = " / ".join(f"{shrunk_iou(objects, px):.2f}" for px in (2, 3, 4))
        print(f"| {name} | {row} | {peak:+d} px | {ious} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
