"""Export after an edit, step by step: what inpainting a frame costs against encoding one.

The GUI's Export after a mask edit (``app.ui.workers.export_partial_job``) inpaints the frames the
edit reached, then encodes the video from the result (the GOPs holding a result, the rest copied
as they are). Its one progress bar gives each step the share of the work its frames cost
(``app.core.engine.WORK_PER_FRAME``); this measures those costs on this machine and how well the
bar then follows the clock.

For each fill mode: frames [0, ``--frames``) of the clip get a moving box mask and are inpainted
(bundled weights, CPU), once; then, each run, an edit (the box grown on ``--edit`` frames in the
middle; 12 with telea) puts out of date what it reached (``app.core.reach``), and the export job
runs. From its progress reports: seconds a frame inpainted, a frame encoded and a frame copied;
each as a multiple of a frame encoded; and, with the weights as they are, how far the bar strayed
from the share of the time gone (the largest difference), and the ETA at the change of step
against the time that was left.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_export_phases.py \\
        [--clip ../shared/data/clips/running_car.mp4] [--frames 60] [--runs 3] \\
        [--modes telea,propagate+telea,sttn,propagate+sttn]

Figures go to docs/LOAD.md ("Export after an edit: one progress bar"). The "bar strayed" figure
also counts how a step reports: propagation reports a chunk's frames once the chunk is done.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import paths  # noqa: E402
from app.core.engine import WORK_PER_FRAME, EngineConfig, resolve_fill  # noqa: E402
from app.core.jobs import CancelToken, no_progress  # noqa: E402
from app.core.masks import MaskStore  # noqa: E402
from app.core.reach import mask_reach  # noqa: E402
from app.core.video import open_video  # noqa: E402
from app.ui.results import ResultCache  # noqa: E402
from app.ui.workers import COPYING, ENCODING, EngineHost, export_partial_job, inpaint_job  # noqa: E402


def box_masks(n: int, w: int, h: int, frames: int, grow: dict) -> MaskStore:
    """A box a fifth of the frame moving right 2 px a frame over [0, frames); ``grow``: frame -> px more."""
    store = MaskStore(n, w, h)
    for i in range(frames):
        m = np.zeros((h, w), bool)
        g = grow.get(i, 0)
        x, y = w // 4 + 2 * i, h // 3
        m[y - g: y + h // 5 + g, x - g: x + w // 5 + g] = True
        store.set(i, m)
    return store


def prepare(clip: Path, mode: str, frames: int, tmp: Path, host: EngineHost) -> ResultCache:
    """The result of an Inpaint of [0, frames) with the box masks."""
    with open_video(clip) as r:
        n, w, h = len(r), r.width, r.height
    results = ResultCache(tmp / f"results-{mode.replace('+', '-')}")
    inpaint_job(clip, box_masks(n, w, h, frames, {}), 0, frames, results, paths.default_weights(),
                EngineConfig(fill=mode, device="cpu"))(host, no_progress, CancelToken())
    return results


def one(clip: Path, mode: str, frames: int, edit: int, tmp: Path, host: EngineHost, results: ResultCache) -> dict:
    """The export after the edit, timed from its progress reports."""
    weights = paths.default_weights()
    config = EngineConfig(fill=mode, device="cpu")
    with open_video(clip) as r:
        n, w, h = len(r), r.width, r.height
    middle = frames // 2 + 3  # (not a reference frame of STTN's: those reach every window)
    edited = range(middle, middle + edit)
    masks = box_masks(n, w, h, frames, {i: 6 for i in edited})
    only = sorted(mask_reach(resolve_fill(mode, True, True, "cpu"), config, 0, frames, w * h).affected(edited))
    kept = set(range(frames)) - set(only)
    seen = []
    t0 = time.monotonic()
    job = export_partial_job(clip, masks, (0, frames), results, weights, config, None, tmp / "out.mp4",
                             18, True, 0, frames, only=only, prior=lambda i: results.get(i) if i in kept else None)
    out = job(host, lambda p: seen.append((time.monotonic() - t0, p)), CancelToken())
    end = time.monotonic() - t0
    last = {}  # step label -> (time of its last report, its count)
    for t, p in seen:
        last[p.stage] = (t, p.info["step"])
    inpainting = next(label for label in last if label.startswith("Inpainting"))
    t_fill, t_enc = last[inpainting][0], last[ENCODING][0]
    encoded = last[ENCODING][1][1]
    fill_s = t_fill / len(only)
    enc_s = (t_enc - t_fill) / encoded
    copy_s = (end - t_enc) / n if COPYING in last else float("nan")
    stray = max(abs(p.done / p.total - t / end) for t, p in seen)
    eta_at_change = next((p.eta for t, p in seen if p.stage == ENCODING), None)
    return {"mode": mode, "inpainted": len(only), "encoded": encoded, "frames": n, "copied": out.get("copied", 0),
            "fill_s": fill_s, "enc_s": enc_s, "copy_s": copy_s, "fill_x": fill_s / enc_s, "copy_x": copy_s / enc_s,
            "stray": stray, "eta": eta_at_change, "left": end - t_fill, "seconds": end,
            "monotonic": all(a.done <= b.done for (_, a), (_, b) in zip(seen, seen[1:])),
            "full": seen[-1][1].done == seen[-1][1].total}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=ROOT.parent / "shared/data/clips/running_car.mp4")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--edit", type=int, default=1, help="frames whose mask the edit grows (telea: 12)")
    ap.add_argument("--modes", default="telea,propagate+telea,sttn,propagate+sttn")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-phases-"))
    host = EngineHost()
    print(f"{a.clip.name}, frames 0..{a.frames - 1}; weights now {WORK_PER_FRAME}")
    for mode in a.modes.split(","):
        results = prepare(a.clip, mode, a.frames, tmp, host)
        runs = [one(a.clip, mode, a.frames, 12 if mode == "telea" else a.edit, tmp, host, results)
                for _ in range(a.runs)]
        results.dispose()
        for r in runs:
            print(f"  {mode:15} inpainted {r['inpainted']:3}, encoded {r['encoded']:3}, copied {r['copied']:3} of "
                  f"{r['frames']}: {r['seconds']:5.1f} s; a frame inpainted {r['fill_s'] * 1000:6.1f} ms "
                  f"({r['fill_x']:5.2f} encoded), encoded {r['enc_s'] * 1000:5.1f} ms, copied {r['copy_s'] * 1000:4.2f} ms "
                  f"({r['copy_x']:.3f}); bar strayed {r['stray']:.0%} at most; ETA at the change "
                  f"{r['eta'] if r['eta'] is None else round(r['eta'], 1)} s, {r['left']:.1f} s left; "
                  f"monotonic {r['monotonic']}, ends full {r['full']}", flush=True)
        med = {k: statistics.median(r[k] for r in runs) for k in ("fill_x", "copy_x", "stray")}
        print(f"{mode}: median a frame inpainted = {med['fill_x']:.2f} encoded, copied = {med['copy_x']:.3f}, "
              f"bar strayed {med['stray']:.0%}", flush=True)
    host.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
