"""Stepping back through a clip with Left in the real main window (offscreen).

From frame ``--from`` the Previous frame action (Left) is pressed ``--steps`` times, each time
waiting until the canvas shows that frame; the time from the key to the picture is recorded.
With x264's default keyframe interval (250 frames) every step back decodes from the keyframe
before it. ``--back-run 1`` is the behaviour before a step back decoded the frames before it in
one go (one frame a request); the default is what the window sets for the clip's frame size.
Runs alternate between the two settings in one window; medians over ``--runs``.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_step_back.py /tmp/sg400.mp4 \\
        [--from 240] [--steps 40] [--runs 3]

Make a 1080p clip with ``bench_track_long.py --make-clip /tmp/sg400.mp4 400``. Figures: docs/LOAD.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_gui_responsiveness import cpu_window, summary, wait  # noqa: E402


def gop(path) -> str:
    import av

    with av.open(str(path)) as c:
        keys = [i for i, pkt in enumerate(c.demux(c.streams.video[0])) if pkt.is_keyframe and pkt.size]
    gaps = [b - a for a, b in zip(keys, keys[1:])]
    return f"{len(keys)} keyframes, interval {max(gaps) if gaps else 'n/a'}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", type=Path)
    ap.add_argument("--from", dest="start", type=int, default=240)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    app, w, _ = cpu_window("bench-step-back-")
    assert w.open_path(a.clip)
    p = w.project
    default = w.frames.back_run
    print(f"{a.clip.name}: {p.n_frames} frames {p.masks.width}x{p.masks.height}, {gop(a.clip)}; "
          f"cache {p.frame_cache_size} frames, back_run {default}", flush=True)
    runs: dict[int, list[dict]] = {1: [], default: []}
    for _ in range(a.runs):
        for run in (1, default):
            w.frames.back_run = run
            p._frames.clear()  # (nothing cached from the previous run)
            p.set_current(a.start)
            wait(app, lambda: w.canvas.frame_index == a.start, 60)
            lat = []
            t_all = time.perf_counter()
            for k in range(1, a.steps + 1):
                i = a.start - k
                t0 = time.perf_counter()
                w.timeline.prev_action.trigger()
                wait(app, lambda: w.canvas.frame_index == i, 60)
                lat.append((time.perf_counter() - t0) * 1000)
            s = summary(lat)
            s["total_s"] = round(time.perf_counter() - t_all, 2)
            runs[run].append(s)
            print(f"back_run {run:2d}: {a.steps} steps in {s['total_s']} s, per step median {s['median']} ms, "
                  f"p95 {s['p95']} ms, max {s['max']} ms", flush=True)
    for run, rows in runs.items():
        med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
        print(f"median of {len(rows)} runs, back_run {run}: total {med('total_s'):.2f} s, per step median "
              f"{med('median'):.1f} ms, p95 {med('p95'):.1f} ms, max {med('max'):.1f} ms")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
