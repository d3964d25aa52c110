"""What the x264 preset costs: encode time, file size and fidelity (PSNR of the encoded file against
the source frames) at one CRF, per clip.

    PYTHONPATH=. python benchmarks/bench_presets.py [--clips running_car.mp4,schoolgirls.mp4,dogs_jump.mp4]
        [--presets medium,faster,veryfast,superfast] [--crf 18] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.core.video import VideoReader, VideoWriter, open_video  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clips", default="running_car.mp4,schoolgirls.mp4,dogs_jump.mp4")
    ap.add_argument("--presets", default="medium,faster,veryfast,superfast")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips.split(","):
            with VideoReader(args.data / clip) as r:
                frames = list(r.iter_frames())  # a short clip: held to time the encoder alone
                width, height, rate = r.width, r.height, r.rate
            for preset in args.presets.split(","):
                out = Path(tmp) / f"{preset}.mp4"
                t0 = time.perf_counter()
                with VideoWriter(out, width, height, fps=rate, crf=args.crf, preset=preset) as w:
                    for f in frames:
                        w.write(f)
                sec = time.perf_counter() - t0
                with open_video(out) as o:
                    mse = np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(frames, o.iter_frames())])
                res = {"ms_per_frame": 1000 * sec / len(frames), "bytes": os.path.getsize(out),
                       "psnr_vs_source": float(10 * np.log10(255.0 ** 2 / mse))}
                results[f"{clip}/{preset}"] = res
                print(f"{clip} {preset}: {res['ms_per_frame']:.1f} ms/frame, {res['bytes'] / 1e6:.2f} MB, "
                      f"PSNR vs source {res['psnr_vs_source']:.2f} dB", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
