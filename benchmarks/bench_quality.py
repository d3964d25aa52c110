"""Quality benchmark: stationary masks (Algorithm 1, seed 0) on the held-out shared clips.

Runs ``app.core.evaluate.evaluate`` for the weight-free methods (and the sttn methods when
``--weights`` is given) and writes the Markdown table and the JSON beside each other.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_quality.py --max-frames 40 \\
        --out /tmp/bench_quality [--weights W.pth --sttn-frames 10] [--clips DIR]

With ``--weights`` the STTN lines use their own, usually smaller, frame cap
(``--sttn-frames``) because STTN needs about 2 s per frame on a CPU; the table says so.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.evaluate import evaluate, to_markdown  # noqa: E402

CLIPS = ("schoolgirls.mp4", "dogs_jump.mp4", "bmx-trees", "tennis")
FREE = ("none", "telea", "propagate", "propagate+telea")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--names", nargs="+", default=list(CLIPS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-frames", type=int, default=40)
    ap.add_argument("--methods", nargs="+", default=list(FREE))
    ap.add_argument("--weights", type=Path, help="STTN weights: adds sttn and propagate+sttn")
    ap.add_argument("--sttn-frames", type=int, default=None, help="frame cap for the sttn methods")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_quality",
                    help="writes OUT.md and OUT.json (default: in the temp folder, outside the repository)")
    args = ap.parse_args(argv)

    clips = [args.clips / n for n in args.names]
    missing = [str(c) for c in clips if not c.exists()]
    if missing:
        print("missing clips: " + ", ".join(missing), file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    runs = [(args.methods, args.max_frames, None)]
    if args.weights:
        runs.append((["sttn", "propagate+sttn"], args.sttn_frames or args.max_frames, args.weights))
    md, js = [], []
    header = (f"machine: {platform.processor() or platform.machine()}, {platform.system()}, "
              f"python {platform.python_version()}")
    for methods, frames, weights in runs:
        t0 = time.monotonic()
        res = evaluate(clips, methods, seed=args.seed, max_frames=frames, weights=weights,
                       progress=lambda p: print(f"  {p.done}/{p.total} {p.info}", file=sys.stderr, flush=True))
        res["wall_seconds"] = time.monotonic() - t0
        if weights:
            md.append(f"STTN with weights {weights} (random fixture weights are untrained: a sanity line only)\n")
        md.append(to_markdown(res))
        md.append(f"wall time: {res['wall_seconds']:.0f} s; {header}\n")
        js.append(res)
    text = "\n".join(md)
    print(text)
    args.out.with_suffix(".md").write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(js, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
