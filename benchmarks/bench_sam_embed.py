"""Time SAM's image embedding and a click for each model size (ViT-B/L/H), as the click tool uses it.

    python benchmarks/bench_sam_embed.py VIDEO --types vit_b vit_l vit_h --device cuda --frames 6

No checkpoint is needed: each model is built from segment_anything's own registry with random
weights (seeded), so the times are those of the real network while its masks mean nothing. This
is what Settings > SAM checkpoint costs per frame: the embedding runs once per frame the user
clicks on (then it is cached), the click itself is the prompt encoder and mask decoder.
Medians over the frames after the first (the first includes CUDA's warm-up).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.segment.sam import SamSegmenter  # noqa: E402


def read_frames(path: Path, n: int) -> list:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < n:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f[..., ::-1].copy())
    if not frames:
        raise SystemExit(f"error: no frames could be read from {path}")
    return frames


def time_type(model_type: str, frames: list, device: str) -> dict:
    from segment_anything import sam_model_registry

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    torch.manual_seed(0)
    t = time.perf_counter()
    model = sam_model_registry[model_type]().to(device).eval()
    sync()
    build = time.perf_counter() - t
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seg = SamSegmenter(model)
    h, w = frames[0].shape[:2]
    embed, click = [], []
    for i, f in enumerate(frames):
        sync()
        t = time.perf_counter()
        seg.set_image(f, index=i)
        sync()
        embed.append(time.perf_counter() - t)
        t = time.perf_counter()
        cands = seg.predict([(w // 2, h // 2, 1)])
        sync()
        click.append(time.perf_counter() - t)
        assert cands and cands[0].mask.shape == (h, w)
    rest = embed[1:] or embed
    row = {"type": model_type, "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
           "build_s": round(build, 2), "embed_first_s": round(embed[0], 3),
           "embed_median_s": round(statistics.median(rest), 4),
           "click_median_s": round(statistics.median(click[1:] or click), 4), "frames": len(frames)}
    if device == "cuda":
        row["peak_MiB"] = round(torch.cuda.max_memory_allocated() / 2**20)
    del seg, model
    if device == "cuda":
        torch.cuda.empty_cache()
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--types", nargs="+", default=["vit_b"], choices=("vit_b", "vit_l", "vit_h"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    frames = read_frames(args.video, args.frames)
    print(f"{args.video.name} {frames[0].shape[1]}x{frames[0].shape[0]}, {len(frames)} frames, "
          f"device {args.device}" + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""))
    rows = []
    for t in args.types:
        row = time_type(t, frames, args.device)
        rows.append(row)
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
