"""Inference speed and peak memory: the project's CLI against the authors' test procedure.

`authors` re-implements researchmm/STTN's test.py faithfully with this project's generator:
every frame of the clip resized to 432x240 and held in memory, masks dilated 4 times with a
3x3 cross, the encoder run on all frames at once, windows every 5 frames with neighbours
+-5 and every 10th frame of the video as references, the decoder on all neighbours, and
overlapping results blended 0.5/0.5 in order. `cli` runs `python main.py inpaint` as a user
would. Each run happens in a fresh process so that peak RSS (ru_maxrss) is its own.

    .venv/bin/python benchmarks/bench_inference.py --runs 3 --frames 80 --json out.json

Figures go to docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CLIP = SHARED / "data" / "clips" / "schoolgirls.mp4"
MASKS = SHARED / "data" / "clips" / "schoolgirls_mask"
WEIGHTS = SHARED / "fixtures" / "sttn_reference" / "sttn_ref_seed7.pth"


def authors_procedure(clip, mask_dir, weights, frames, out_path, device="cpu"):
    """The authors' test.py schedule, with their memory behaviour (whole clip in memory)."""
    sys.path.insert(0, str(ROOT))
    import cv2

    from app.core.masks import fit_mask, read_mask_image
    from app.core.sttn import load_generator
    from app.core.video import VideoWriter, open_video

    from authors_schedule import authors_inpaint

    w, h = 432, 240
    model = load_generator(weights, device=device)
    with open_video(clip) as r:
        fps = r.rate
        video = [cv2.resize(f, (w, h)) for f in r.iter_frames(0, frames)]
    mask_files = sorted(Path(mask_dir).iterdir())[:len(video)]
    comp = authors_inpaint(model, video, [fit_mask(read_mask_image(p), w, h) > 0 for p in mask_files], device)
    with VideoWriter(out_path, w, h, fps=fps) as writer:
        for img in comp:
            writer.write(img)
    return len(comp)


# CLI variants measured against the authors' procedure (all with the same weights, STTN only).
CLI_MODES = {
    "cli": ["--fill", "sttn"],                                  # defaults: window step 2n+1, auto precision
    "cli-step5": ["--fill", "sttn", "--window-step", "5"],      # the authors' overlapping schedule, bf16
    "cli-fp32": ["--fill", "sttn", "--precision", "fp32", "--window-step", "5"],  # authors' schedule, no bf16
    "cli-step11": ["--fill", "sttn", "--window-step", "11"],    # each frame in one window (the default)
}


def run_child(mode, frames, device) -> dict:
    """Run one measurement in a fresh process; returns seconds, frames/s and peak RSS (MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        if mode in CLI_MODES:
            extra = CLI_MODES[mode]
            # The CLI inpaints a range; --end limits it to the same frames as the authors' run.
            cmd = [sys.executable, str(ROOT / "main.py"), "inpaint", str(CLIP), "--mask", str(MASKS), "-o", str(out),
                   "--weights", str(WEIGHTS), "--device", device, "--end", str(frames), *extra]
        else:
            cmd = [sys.executable, __file__, "--child-authors", "--frames", str(frames), "--out", str(out),
                   "--device", device]
        t0 = time.monotonic()
        err = Path(tmp) / "stderr.txt"
        with open(err, "w") as errf:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf)
            # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix earlier runs in).
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{mode} run failed:\n{err.read_text()[-2000:]}")
        return {"mode": mode, "seconds": seconds, "fps": frames / seconds,
                "peak_rss_mb": usage.ru_maxrss / 1024.0, "frames": frames}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", type=int, default=80)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--modes", default="authors,cli,cli-step5,cli-fp32",
                    help=f"comma-separated: authors, {', '.join(CLI_MODES)}")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child-authors", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_authors:
        authors_procedure(CLIP, MASKS, WEIGHTS, args.frames, args.out, args.device)
        return
    for p in (CLIP, MASKS, WEIGHTS):
        if not p.exists():
            raise SystemExit(f"{p} is missing: the benchmark reads ../shared beside the repository.")
    modes = args.modes.split(",")
    runs = {m: [] for m in modes}
    # Interleaved, so that a change in machine load affects every mode alike.
    for k in range(args.runs):
        for mode in modes:
            r = run_child(mode, args.frames, args.device)
            print(f"{mode} run {k + 1}: {r['seconds']:.1f} s, {r['fps']:.3f} frames/s, peak {r['peak_rss_mb']:.0f} MB",
                  flush=True)
            runs[mode].append(r)
    results = {}
    for mode in modes:
        results[mode] = {
            "median_seconds": statistics.median(r["seconds"] for r in runs[mode]),
            "median_fps": statistics.median(r["fps"] for r in runs[mode]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs[mode]),
            "runs": runs[mode],
        }
    if "authors" in results:
        for mode in modes:
            if mode != "authors":
                results[f"speedup_{mode}_vs_authors"] = results[mode]["median_fps"] / results["authors"]["median_fps"]
    results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                          "device": args.device, "frames": args.frames, "clip": CLIP.name}
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
