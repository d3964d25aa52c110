"""Peak memory and time per frame against video length: they must not grow with the video.

Makes clips of each length by looping ../shared/data/clips/schoolgirls.mp4 (432x240), masks
them with the stationary square of running_car_mask_square.png, and runs
`python main.py inpaint` in a fresh process per length, reading the child's own peak RSS.

    .venv/bin/python benchmarks/bench_memory.py --lengths 100,1000 --model tiny --fill sttn
    .venv/bin/python benchmarks/bench_memory.py --lengths 100,300 --model fixture --fill sttn
    .venv/bin/python benchmarks/bench_memory.py --lengths 24,64 --size 3840x2160 --fill propagate+telea
    .venv/bin/python benchmarks/bench_memory.py --lengths 100,1000 --job track

`--job track` runs `python main.py track` instead: one click on the first girl (the deepest point
of her true mask on frame 0), followed through the whole clip, each mask written as it comes.

`--model fixture` is the full-size STTN (the authors' layout, random weights); `tiny` is a
small generator with the same engine path, for long clips on a slow CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))


def make_clip(path: Path, length: int, size=None) -> None:
    import cv2

    from app.core.video import VideoWriter, open_video

    with open_video(SHARED / "data" / "clips" / "schoolgirls.mp4") as r:
        frames = list(r)  # 80 small frames, only to build the test clip
        if size:  # (scaled up: a 4K clip's memory)
            frames = [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in frames]
        w_, h_ = size or (r.width, r.height)
        with VideoWriter(path, w_, h_, fps=r.rate, preset="ultrafast") as w:
            for i in range(length):
                k = i % (2 * len(frames) - 2)  # ping-pong loop: no jump cut
                w.write(frames[k if k < len(frames) else 2 * len(frames) - 2 - k])


def tiny_weights(path: Path) -> None:
    import torch

    from app.core.sttn import GeneratorConfig, InpaintGenerator, save_generator

    torch.manual_seed(0)
    save_generator(InpaintGenerator(GeneratorConfig(channels=32, blocks=2)), path)


def measure(clip: Path, weights: Path, fill: str, out: Path) -> dict:
    mask = SHARED / "data" / "clips" / "running_car_mask_square.png"
    cmd = [sys.executable, str(ROOT / "main.py"), "inpaint", str(clip), "--mask", str(mask), "-o", str(out),
           "--weights", str(weights), "--fill", fill, "--device", "cpu"]
    return run_child(cmd)


def first_girl_click() -> str:
    """``X,Y`` of the deepest point of schoolgirls' object 1 on frame 0 (its true mask)."""
    from bench_segment import centre_click, load_objects

    x, y = centre_click(load_objects(SHARED / "data" / "clips", "schoolgirls")[1][0])
    return f"{x},{y}"


def run_child(cmd: list) -> dict:
    """Run ``cmd``; its wall seconds and its own peak RSS."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(proc.stderr.read().decode()[-2000:])
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="100,1000")
    ap.add_argument("--model", choices=["tiny", "fixture"], default="tiny")
    ap.add_argument("--fill", default="sttn")
    ap.add_argument("--size", help="scale the clip to WxH, e.g. 3840x2160 (default: 432x240 as it is)")
    ap.add_argument("--job", choices=["inpaint", "track"], default="inpaint")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = SHARED / "fixtures" / "sttn_reference" / "sttn_ref_seed7.pth"
        if args.model == "tiny" and args.job == "inpaint":
            weights = tmp / "tiny.pth"
            tiny_weights(weights)
        for length in (int(x) for x in args.lengths.split(",")):
            clip = tmp / f"loop{length}.mp4"
            make_clip(clip, length, tuple(int(v) for v in args.size.lower().split("x")) if args.size else None)
            if args.job == "track":
                masks = tmp / f"masks{length}"
                r = run_child([sys.executable, str(ROOT / "main.py"), "track", str(clip), "--click", first_girl_click(),
                               "-o", str(masks)])
                written = len(list(masks.glob("*.png")))
                if written != length:
                    raise SystemExit(f"track wrote {written} masks for {length} frames")
            else:
                r = measure(clip, weights, args.fill, tmp / f"out{length}.mp4")
            r.update(frames=length, seconds_per_frame=r["seconds"] / length)
            print(f"{length} frames: {r['seconds']:.1f} s ({r['seconds_per_frame']:.3f} s/frame), "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
            rows.append(r)
    result = {"job": args.job, **({"model": args.model, "fill": args.fill} if args.job == "inpaint" else {}), "rows": rows,
              "peak_ratio_longest_vs_shortest": rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
