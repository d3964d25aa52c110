"""How long the weight-free segmenter's first click on a frame takes, by frame size.

What the GUI's click worker does on a first click (``app/ui/segment_tool.segment_job``):
``set_image``, the motion to frames 2, 4 and 6 away (``prepare_click(plate=0)``), then ``predict``
with one positive click at the centre of a ground-truth object: the first answer. Then what the
GUI's plate job does after it (``segment_tool.plate_job``): the background plate of the 10 frames
either side (``click_plate``, ``--click-plate N``; 0: none) and its candidate (``plate_candidate``). The clip's first frames are scaled to each
size (the shared clips are 432x240; larger sizes are those frames upscaled). Median of ``--runs``
runs, each with a fresh segmenter (no cache). ``--cut-pixels 0 --threads 1`` is the segmenter as
it was before the click cuts were bounded and run side by side.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_click_latency.py [--clip schoolgirls]
        [--sizes 432x240 1280x720 1920x1080] [--runs 5] [--cut-pixels N] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.segment import GrabCutSegmenter, click_plate, prepare_click  # noqa: E402
from bench_segment import centre_click, load_frames, load_objects  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clip", default="schoolgirls")
    ap.add_argument("--sizes", nargs="+", default=["432x240", "1280x720", "1920x1080"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cut-pixels", type=int, default=None, help="GrabCutSegmenter(cut_pixels=); default its own")
    ap.add_argument("--threads", type=int, default=None, help="GrabCutSegmenter(threads=); default its own")
    ap.add_argument("--click-plate", type=int, default=10, metavar="N",
                    help="frames either side of the click's background plate (0: none)")
    args = ap.parse_args(argv)
    if not (args.clips / f"{args.clip}_mask").is_dir():
        print(f"error: {args.clip}_mask/ not found in {args.clips}; pass --clips", file=sys.stderr)
        return 2
    frames = load_frames(args.clips, args.clip)[:2 * max(3, args.click_plate) + 1]
    objects = load_objects(args.clips, args.clip)
    cx, cy = centre_click(max((ms[0] for ms in objects.values()), key=np.count_nonzero))  # the largest object
    kw = {k: v for k, v in (("cut_pixels", args.cut_pixels), ("threads", args.threads)) if v is not None}
    print(f"{args.clip}, click at ({cx:.0f}, {cy:.0f}) of {frames[0].shape[1]}x{frames[0].shape[0]}, "
          f"{args.runs} runs, GrabCutSegmenter({kw})")
    print("| size | set_image + motion s | predict s | first answer s (median) | min | max | plate's candidate s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        fr = [cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in frames]
        sx, sy = w / frames[0].shape[1], h / frames[0].shape[0]
        prep, pred, total, plate = [], [], [], []
        for _ in range(args.runs):
            seg = GrabCutSegmenter(**kw)
            t0 = time.perf_counter()
            seg.set_image(fr[0], index=0)
            prepare_click(seg, lambda i: fr[i], 0, len(fr), plate=0)
            t1 = time.perf_counter()
            seg.predict([(cx * sx, cy * sy, 1)])
            t2 = time.perf_counter()
            if args.click_plate > 0:
                seg.set_plate(click_plate(lambda i: fr[i], 0, len(fr), args.click_plate))
                seg.plate_candidate([(cx * sx, cy * sy, 1)])
            t3 = time.perf_counter()
            prep.append(t1 - t0)
            pred.append(t2 - t1)
            total.append(t2 - t0)
            plate.append(t3 - t2)
        print(f"| {size} | {statistics.median(prep):.2f} | {statistics.median(pred):.2f} | "
              f"{statistics.median(total):.2f} | {min(total):.2f} | {max(total):.2f} | "
              f"{statistics.median(plate):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
