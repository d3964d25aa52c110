"""Exporting a short removal from a long clip: copying the unchanged GOPs against encoding every frame.

The source is a minute of 1280x720 H.264 at 25 fps (``--fps``) (bmx-trees' frames, scaled up and looped, with
a second of sound a second; x264's defaults as a camera or phone writes them: a keyframe every 250
frames, B-frames). A box is removed from two seconds in the middle (frames 700-749, Telea fill over
that range), and the clip is exported with ``inpaint_video`` at crf 18, preset medium:

* ``every frame``: ``copy_unchanged=False``, every frame encoded again (the export as it was);
* ``copied``: only the GOPs that hold a masked frame are encoded again, the rest copied.

``--codec hevc``: the source is HEVC instead (x265's defaults but closed GOPs, as phones write them:
IDR keyframes up to 250 frames apart, B-frames); the runs are encoded with x265, and ``every frame``
gives H.264 as before.

Figures: the export's seconds (median of ``--runs``), frames encoded, the PSNR against the source's
decoded frames of the frames more than 100 away from the removal, the frames (of all) identical to
the source's, and the file's size.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_smartrender.py [--clips ../shared/data/clips] [--runs 3]
        [--fps 30] [--only copied] [--codec hevc]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from app.core.engine import EngineConfig, inpaint_video  # noqa: E402
from app.core.masks import MaskStore  # noqa: E402
from app.core.video import VideoReader, open_video  # noqa: E402
from mediafiles import encode_audio  # noqa: E402

W, H = 1280, 720


def make_source(path: Path, clip: Path, seconds: int, fps: int = 25, codec: str = "h264") -> int:
    with open_video(clip) as r:
        frames = [cv2.resize(f, (W, H), interpolation=cv2.INTER_CUBIC) for f in r]
    n = seconds * fps
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx265" if codec == "hevc" else "libx264", rate=fps)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"crf": "20", "preset": "veryfast"}
        if codec == "hevc":  # (x265's GOPs are open by default, which the copy cannot keep)
            s.options["x265-params"] = "open-gop=0:log-level=error"
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        for i in range(n):
            k = i % (2 * len(frames) - 2)  # back and forth, no jump
            vf = av.VideoFrame.from_ndarray(frames[k if k < len(frames) else 2 * len(frames) - 2 - k], format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
        encode_audio(out, a, (np.sin(np.arange(48000 * seconds) / 9) * 0.2).astype(np.float32), "fltp", 48000)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--fps", type=int, default=25,
                    help="the source's rate (at 30, 24 or 12 the removal starts between two milliseconds)")
    ap.add_argument("--only", choices=("every frame", "copied"), help="run one of the two exports")
    ap.add_argument("--codec", choices=("h264", "hevc"), default="h264", help="the source's codec")
    args = ap.parse_args()
    first, last = 700, 750
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "minute.mp4"
        n = make_source(src, args.clips / "bmx-trees", args.seconds, args.fps, args.codec)
        masks = MaskStore(n, W, H)
        box = np.zeros((H, W), bool)
        box[300:420, 560:720] = True
        for i in range(first, last):
            masks.set(i, box)
        print(f"source: {n} frames {W}x{H} {args.codec} at {args.fps} fps, removal in frames {first}-{last - 1}")
        print("| export | seconds | frames encoded | PSNR away from the removal (dB) | frames identical | MB |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, copy in (("every frame", False), ("copied", True)):
            if args.only not in (None, name):
                continue
            out = tmp / f"out-{copy}.mp4"
            times, result = [], None
            for _ in range(args.runs):
                t = time.perf_counter()
                result = inpaint_video(src, masks, out, config=EngineConfig(fill="telea"), start=first, end=last,
                                       copy_unchanged=copy)
                times.append(time.perf_counter() - t)
            err, same, count = 0.0, 0, 0
            with VideoReader(src) as a, VideoReader(out) as b:
                for i, (x, y) in enumerate(zip(a, b)):
                    d = np.mean((x.astype(np.float64) - y) ** 2)
                    same += d == 0
                    if not first - 100 <= i < last + 100:
                        err, count = err + d, count + 1
            psnr = "identical" if err == 0 else f"{10 * np.log10(255 ** 2 / (err / count)):.1f}"
            print(f"| {name} | {statistics.median(times):.1f} | {n - result.copied} | {psnr} | {same} of {n} | "
                  f"{out.stat().st_size / 2 ** 20:.1f} |")


if __name__ == "__main__":
    main()
