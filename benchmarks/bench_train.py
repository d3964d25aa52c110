"""Seconds per training iteration (D step + G step) of the full STTN at 432x240.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_train.py [--iters 3] [--warmup 1] [--batch 1]
        [--frames 5] [--threads N] [--device cpu] [--weights sttn.pth] [--no-adv] [--stop-copy N]
        [--cudnn-benchmark on|off]

Builds a Trainer on a synthetic 12-frame clip (a textured pan) in a temporary folder, so that
sampling, mask generation, both Adam steps and the losses are all timed, and prints the median
and all timings as one JSON line.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.train import TrainConfig, Trainer  # noqa: E402


def synthetic_clip(folder: Path, n: int = 12, width: int = 432, height: int = 240) -> Path:
    rng = np.random.default_rng(0)
    big = cv2.resize(rng.integers(0, 255, (height // 8 + 2, (width + 4 * n) // 8 + 2, 3), dtype=np.uint8),
                     None, fx=8, fy=8, interpolation=cv2.INTER_CUBIC)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:04d}.png"), big[:height, 4 * i: 4 * i + width])
    return folder


def stop_copy_cost(tr, n: int) -> dict:
    """Seconds (median of ``n``) and megabytes of the copy ``Trainer._train_step`` takes of D's
    weights and optimiser state before D's step (the same two expressions)."""
    cuda = tr.device.type == "cuda"
    times, kept = [], {}
    for _ in range(n):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        kept = {"net": {k: v.detach().clone() for k, v in tr.D.state_dict().items()},
                "opt": copy.deepcopy(tr.opt_d.state_dict())}
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)

    def size(x) -> int:
        if torch.is_tensor(x):
            return x.numel() * x.element_size()
        if isinstance(x, dict):
            return sum(size(v) for v in x.values())
        if isinstance(x, (list, tuple)):
            return sum(size(v) for v in x)
        return 0
    return {"stop_copy_s_median": round(statistics.median(times), 4), "stop_copy_mb": round(size(kept) / 1e6, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", default=None, help="start from this generator (default: fresh full-size)")
    ap.add_argument("--no-adv", action="store_true", help="leave the discriminator out")
    ap.add_argument("--stop-copy", type=int, default=0, metavar="N",
                    help="also time N times the copy of D and its Adam state that each single-process step "
                         "keeps so that Stop can drop the step (Trainer.train_step)")
    ap.add_argument("--cudnn-benchmark", choices=("on", "off"), default="on",
                    help="cuDNN's kernel search, which the trainer turns on for CUDA (its cost is in the first step)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        clip = synthetic_clip(Path(tmp) / "clip")
        cfg = TrainConfig(data=[str(clip)], workdir=str(Path(tmp) / "work"), steps=args.warmup + args.iters,
                          init_weights=args.weights, batch_size=args.batch, sample_frames=args.frames,
                          device=args.device, adv_weight=0.0 if args.no_adv else 0.01, checkpoint_every=0,
                          val_every=0, log_every=0)
        tr = Trainer(cfg)
        torch.backends.cudnn.benchmark = args.cudnn_benchmark == "on"
        times, warmups = [], []
        for i in range(args.warmup + args.iters):
            if tr.device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            tr.train_step()
            if tr.device.type == "cuda":
                torch.cuda.synchronize()
            (times if i >= args.warmup else warmups).append(time.perf_counter() - t)
        copy = stop_copy_cost(tr, args.stop_copy) if args.stop_copy and not args.no_adv else {}
    print(json.dumps({**copy, "sec_per_iter_median": round(statistics.median(times), 3),
                      "times": [round(x, 3) for x in times], "warmup_times": [round(x, 3) for x in warmups],
                      "cudnn_benchmark": args.cudnn_benchmark, "batch": args.batch, "frames": args.frames,
                      "size": "432x240", "device": str(tr.device), "threads": torch.get_num_threads(),
                      "adv": not args.no_adv, "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
