"""How long Cancel takes to stop an STTN inpaint on this machine.

A run of ``inpaint_video`` (``--fill sttn``, the bundled weights, the clip's own object masks) is
cancelled from another thread after each of ``--delays`` seconds; the figure is the time from the
cancel to the run's ``Cancelled``, as the GUI's Esc / Cancel job and the CLI's Ctrl-C see it.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_cancel.py [--clip ../shared/data/clips/dogs_jump.mp4] \
        [--mask ../shared/data/clips/dogs_jump_mask] [--delays 8 14 20]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.engine import EngineConfig, inpaint_video  # noqa: E402
from app.core.errors import Cancelled  # noqa: E402
from app.core.jobs import CancelToken  # noqa: E402
from app.core.masks import load_masks  # noqa: E402
from app.core.paths import default_weights  # noqa: E402
from app.core.video import VideoReader  # noqa: E402


def cancel_after(clip: Path, masks, delay: float, out: Path) -> float:
    """Seconds from a cancel ``delay`` s into the run to the run's end (raises if it finished first)."""
    token, at = CancelToken(), {}

    def later():
        time.sleep(delay)
        at["cancel"] = time.monotonic()
        token.cancel()

    threading.Thread(target=later, daemon=True).start()
    try:
        inpaint_video(clip, masks, out, weights=default_weights(), config=EngineConfig(fill="sttn"), cancel=token)
    except Cancelled:
        return time.monotonic() - at["cancel"]
    raise SystemExit(f"the run ended before {delay} s; give a longer clip or shorter --delays")


def main(argv=None) -> int:
    shared = ROOT.parent / "shared" / "data" / "clips"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=shared / "dogs_jump.mp4")
    ap.add_argument("--mask", type=Path, default=shared / "dogs_jump_mask")
    ap.add_argument("--delays", type=float, nargs="+", default=[8, 14, 20])
    args = ap.parse_args(argv)
    with VideoReader(args.clip) as r:
        n, w, h = len(r), r.width, r.height
    masks = load_masks(args.mask, n, w, h)
    with tempfile.TemporaryDirectory() as tmp:
        took = [cancel_after(args.clip, masks, d, Path(tmp) / "out.mp4") for d in args.delays]
    print("cancel after s:", " ".join(f"{d:g}" for d in args.delays))
    print("stopped within s:", " ".join(f"{t:.2f}" for t in took), f"(median {statistics.median(took):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
