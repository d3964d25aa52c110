"""After one frame's mask is edited, computing again only the frames the edit reaches
(``app.core.reach``) against computing the whole range again.

For a clip and its masks: (1) fill [start, end) with the masks as they are; (2) edit one frame's
mask (grown by ``--grow`` pixels: a touch-up of a missed edge); (3) fill again only the frames
``mask_reach(...).affected([edited])`` names (``fill_range(only=, prior=)``, the kept frames of (1)
given as ``prior``), keeping (1)'s other frames; (4) fill the whole range again with the edited
masks, the reference. Reports, against (4): the kept frames (the bound's error: frames outside
the reach that the edit changed anyway) and the frames computed again (the context error of a
partial run), as max/mean absolute difference and PSNR over the whole frame; and the seconds of
(3) and (4).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_partial.py --fill sttn --end 30 --edit 13
    PYTHONPATH=. .venv/bin/python benchmarks/bench_partial.py --fill propagate+telea --end 80 --edit 62
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from app.core import metrics  # noqa: E402
from app.core.engine import EngineConfig, InpaintEngine, fill_range, resolve_fill  # noqa: E402
from app.core.masks import MaskStore, load_masks  # noqa: E402
from app.core.reach import mask_reach  # noqa: E402
from app.core.video import open_video  # noqa: E402

CLIPS = ROOT.parent / "shared" / "data" / "clips"


def fill(reader, masks, start, end, config, engine, **kw):
    out = {}
    t0 = time.perf_counter()
    fill_range(reader, masks, out.__setitem__, start, end, config, engine, **kw)
    return out, time.perf_counter() - t0


def compare(a: dict, b: dict, frames) -> dict:
    """Max and mean absolute difference (levels) and the lowest PSNR (dB, inf: equal) over ``frames``."""
    if not frames:
        return {"frames": 0}
    diffs = [np.abs(a[i].astype(np.int16) - b[i]) for i in frames]
    psnrs = [metrics.psnr(a[i], b[i]) for i in frames]
    return {"frames": len(frames), "identical": sum(int(not d.any()) for d in diffs),
            "max": int(max(d.max() for d in diffs)), "mean": float(np.mean([d.mean() for d in diffs])),
            "min_psnr": float(min(psnrs))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=CLIPS / "schoolgirls.mp4")
    ap.add_argument("--masks", type=Path, default=CLIPS / "schoolgirls_mask")
    ap.add_argument("--weights", type=Path, default=ROOT / "models" / "sttn_inpaint.pth")
    ap.add_argument("--fill", default="sttn", help="a fill mode (app.core.config.FILL_MODES)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--end", type=int, default=30)
    ap.add_argument("--edit", type=int, default=13, help="the frame whose mask is edited")
    ap.add_argument("--grow", type=int, default=8, help="pixels the edited mask is grown by")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    config = EngineConfig(fill=args.fill, device=args.device)
    with open_video(args.clip) as reader:
        n = len(reader)
        masks = MaskStore.from_source(load_masks(args.masks, n, reader.width, reader.height), n)
        mode = resolve_fill(args.fill, True)
        engine = InpaintEngine(args.weights, config) if mode.endswith("sttn") else None
        first, t_first = fill(reader, masks, args.start, args.end, config, engine)
        edited = masks.copy()
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * args.grow + 1, 2 * args.grow + 1))
        edited.set(args.edit, cv2.dilate(masks.get(args.edit).astype(np.uint8), k).astype(bool))
        reach = mask_reach(mode, config, args.start, args.end, reader.width * reader.height)
        todo = sorted(reach.affected([args.edit]))
        part, t_part = fill(reader, edited, args.start, args.end, config, engine, only=todo,
                            prior=lambda i: first[i] if i not in todo else None)
        full, t_full = fill(reader, edited, args.start, args.end, config, engine)
    kept = [i for i in range(args.start, args.end) if i not in todo]
    changed = [i for i in range(args.start, args.end) if not np.array_equal(first[i], full[i])]
    row = {"clip": args.clip.name, "fill": mode, "range": [args.start, args.end], "edit": args.edit,
           "grow": args.grow, "computed_again": [todo[0], todo[-1]] if todo else [], "n_computed": len(todo),
           "changed_by_full_rerun": len(changed), "changed_outside_reach": [i for i in changed if i not in todo],
           "kept_vs_full": compare(first, full, kept), "recomputed_vs_full": compare(part, full, todo),
           "seconds_first": round(t_first, 2), "seconds_partial": round(t_part, 2), "seconds_full": round(t_full, 2)}
    print(json.dumps(row, indent=1))
    if args.json:
        args.json.write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
