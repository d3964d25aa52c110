"""How long the weight-free segmenter's first click on a frame takes, by frame size.

What the GUI's click worker does on a first click (``app/ui/segment_tool.segment_job``):
``set_image``, the motion to frames 2, 4 and 6 away (``prepare_click(plate=0)``), then ``predict``
with one positive click at the centre of a ground-truth object: the first answer. Then what the
GUI's plate job does after it (``segment_tool.plate_job``): the background plate of the 10 frames
either side (``click_plate``, ``--click-plate N``; 0: none) and its candidate (``plate_candidate``). The clip's first frames are scaled to each
size (the shared clips are 432x240; larger sizes are those frames upscaled). Median of ``--runs``
runs, each with a fresh segmenter (no cache). ``--cut-pixels 0 --threads 1`` is the segmenter as
it was before the click cuts were bounded and run side by side.

``--gui``: then the GUI's own two jobs (``segment_job``, then ``plate_job``) on a click on frame 10
(``--gui-at N``) of an H.264 MP4 of the clip's frames up to 10 after it (``write_test_clip``, CRF
20: one GOP), read through the ``VideoReader`` the click worker holds: the frames read (``reader[i]``
calls), the seconds each job spent in them and the two jobs' seconds, each job reading for itself
(as before the click's jobs shared a ``ClickFrames``) and through one ``ClickFrames`` (the plate's
frames the decoder passes on its way to the motion's taken then, the plate's read going on from
there). Runs alternate between the two.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_click_latency.py [--clip schoolgirls]
        [--sizes 432x240 1280x720 1920x1080] [--runs 5] [--cut-pixels N] [--threads N] [--gui [--gui-at N]]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.jobs import CancelToken  # noqa: E402
from app.core.segment import GrabCutSegmenter, click_plate, prepare_click  # noqa: E402
from app.core.video import open_video, write_test_clip  # noqa: E402
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
    ap.add_argument("--gui", action="store_true", help="also the GUI's click and plate jobs reading an MP4")
    ap.add_argument("--gui-at", type=int, default=10, metavar="N",
                    help="--gui: the frame clicked (the MP4 holds frames 0 .. N + 10, one GOP)")
    args = ap.parse_args(argv)
    if not (args.clips / f"{args.clip}_mask").is_dir():
        print(f"error: {args.clip}_mask/ not found in {args.clips}; pass --clips", file=sys.stderr)
        return 2
    whole = load_frames(args.clips, args.clip)
    frames = whole[:2 * max(3, args.click_plate) + 1]
    objects = load_objects(args.clips, args.clip)
    cx, cy = centre_click(max((ms[0] for ms in objects.values()), key=np.count_nonzero))  # the largest object
    kw = {k: v for k, v in (("cut_pixels", args.cut_pixels), ("threads", args.threads)) if v is not None}
    print(f"{args.clip}, click at ({cx:.0f}, {cy:.0f}) of {frames[0].shape[1]}x{frames[0].shape[0]}, "
          f"{args.runs} runs, GrabCutSegmenter({kw})")
    table_head("set_image + motion s", "predict s", "first answer s (median)", "min", "max", "plate's candidate s")
    for size in args.sizes:
        fr, sx, sy = scaled(frames, size)
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
    if args.gui:
        gui_path(whole[:args.gui_at + 11], objects, args)
    return 0


def table_head(*columns: str) -> None:
    """A Markdown table's head: the size, then ``columns`` (numbers, aligned right)."""
    print("| size | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))


def scaled(frames, size: str):
    """(``frames`` scaled to ``size`` ("WxH"), the x scale, the y scale)."""
    w, h = (int(v) for v in size.split("x"))
    fr = [cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in frames]
    return fr, w / frames[0].shape[1], h / frames[0].shape[0]


class CountingReader:
    """The reader the click worker holds, noting the frames read from it and the seconds spent."""

    def __init__(self, reader):
        self._r, self.reads, self.seconds = reader, [], 0.0

    def __getitem__(self, i):
        t = time.perf_counter()
        try:
            return self._r[i]
        finally:
            self.seconds += time.perf_counter() - t
            self.reads.append(i)

    def __len__(self):
        return len(self._r)

    @property
    def keyframes(self):
        return self._r.keyframes


def gui_path(frames, objects, args) -> None:
    """The GUI's first click on frame ``--gui-at`` and its plate job, on an MP4 of ``frames``."""
    from app.ui.segment_tool import ClickFrames, SegmenterProvider, plate_job, segment_job

    index = args.gui_at
    cx, cy = centre_click(max((ms[index] for ms in objects.values()), key=np.count_nonzero))
    print(f"\nGUI path: segment_job then plate_job on frame {index} of an H.264 MP4 (CRF 20) of "
          f"{len(frames)} frames, {args.runs} runs each way (median); separate -> shared ClickFrames")
    table_head("frames read", "click job's reads s", "plate job's reads s", "click job s", "plate job s")
    for size in args.sizes:
        fr, sx, sy = scaled(frames, size)
        points = [(cx * sx, cy * sy, 1)]
        with tempfile.TemporaryDirectory() as tmp:
            video = write_test_clip(Path(tmp) / "clip.mp4", fr, crf=20)
            with open_video(video) as opened:
                reader = CountingReader(opened)
                host = SimpleNamespace(reader=lambda _path: reader)
                rgb = opened[index]
                got = {False: [], True: []}
                for run in range(2 * args.runs):
                    shared = bool(run % 2)
                    provider, cancel = SegmenterProvider(), CancelToken()
                    frames_of = ClickFrames(index, rgb) if shared else None
                    reader.reads, reader.seconds = [], 0.0
                    t0 = time.perf_counter()
                    segment_job(provider, None, "cpu", video, index, rgb, points, None, frames=frames_of)(
                        host, None, cancel)
                    t1, read1 = time.perf_counter(), reader.seconds
                    plate_job(provider, "cpu", video, index, rgb, points, frames=frames_of)(host, None, cancel)
                    t2 = time.perf_counter()
                    got[shared].append((len(reader.reads), read1, reader.seconds - read1, t1 - t0, t2 - t1))
        cols = [[statistics.median(r[k] for r in got[m]) for m in (False, True)] for k in range(5)]
        print(f"| {size} | {cols[0][0]:.0f} -> {cols[0][1]:.0f} | "
              + " | ".join(f"{a:.2f} -> {b:.2f}" for a, b in cols[1:]) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
