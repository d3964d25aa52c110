"""Stepping through the inpainted result with the timeline stopped: GUI-thread time per step.

The real main window (offscreen, 1400x900, Side by side) on a 1080p clip with a result for every
frame (the inverted frame, as ``bench_compare_playback.py`` stores them). A 10 ms QTimer records
the gaps between its ticks and the GUI thread's CPU time (``bench_gui_responsiveness.Probe``).

  step   ``--steps`` presses of Right (the Next frame action), each waiting until the view shows
         the exact result of the new frame and its original, then 150 ms: the time the key press
         itself held the GUI thread ("press"), the longest gap of the heartbeat ("block"), the
         GUI thread's CPU per step ("busy") and the time from the key to the exact picture.
  fast   Right held down: 20 presses 33 ms apart (a keyboard's repeat rate), then until the last
         frame's exact result is shown ("settle").

Each figure is the median over the steps; ``--runs`` runs in one process, then the median of
the runs' medians.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_result_steps.py [VIDEO] [--runs 3]

Figures go to docs/LOAD.md ("Stepping through the result").
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

from bench_compare_playback import make_hd_clip  # noqa: E402
from bench_gui_responsiveness import Probe, cpu_window, spin, wait  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", type=Path, nargs="?")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    app, w, tmp = cpu_window("bench-result-steps-")
    clip = a.clip or make_hd_clip(tmp / "hd.mp4", 30 + a.steps + 20 * 2)
    w.resize(1400, 900)
    assert w.open_path(clip)
    p, view = w.project, w.result_view
    for i in range(p.n_frames):
        p.results.put(i, 255 - p.reader[i])
    w.compare.set_mode("side")
    step = w.timeline.next_action.trigger

    def exact_shown() -> bool:
        return (view.proxy_of is None and view.result_rgb is not None and p.cached_frame(p.current) is not None
                and view.original is not None)

    print(f"{clip.name}: {p.reader.width}x{p.reader.height}, {p.n_frames} frames; view {view.width()}x{view.height()}",
          flush=True)
    runs = []
    for run in range(a.runs):
        p.set_current(run * 3)  # (each run steps through frames not seen in the run before)
        wait(app, exact_shown, 30)
        spin(app, 0.3)
        probe = Probe(app)
        press, block, busy, latency = [], [], [], []
        for _ in range(a.steps):
            probe.start("step")
            n0, c0 = len(probe.ticks), time.thread_time()
            t0 = time.perf_counter()
            step()
            press.append((time.perf_counter() - t0) * 1000)
            wait(app, exact_shown, 30)
            latency.append((time.perf_counter() - t0) * 1000)
            spin(app, 0.15)
            busy.append((time.thread_time() - c0) * 1000)
            ticks = probe.ticks[n0 - 1 if n0 else 0:]
            block.append(max((b - a_) * 1000 for (a_, _), (b, _) in zip(ticks, ticks[1:])))
        probe.start("fast")
        fast_press, t0 = [], time.perf_counter()
        for _ in range(20):
            t = time.perf_counter()
            step()
            fast_press.append((time.perf_counter() - t) * 1000)
            spin(app, max(0.0, 0.033 - (time.perf_counter() - t)))
        t_last = time.perf_counter()
        wait(app, exact_shown, 30)
        settle = (time.perf_counter() - t_last) * 1000
        probe.start("end")
        fast_gaps = probe.gaps()["fast"]
        probe.timer.stop()
        right = view.result_rgb is not None and (view.result_rgb == p.results.get(p.current)).all()
        r = {"press": statistics.median(press), "block": statistics.median(block), "busy": statistics.median(busy),
             "exact": statistics.median(latency), "fast_press": statistics.median(fast_press),
             "fast_block": max(fast_gaps), "settle": settle}
        runs.append(r)
        print(f"run {run + 1}: step press {r['press']:.1f} ms, block {r['block']:.1f} ms, busy {r['busy']:.1f} ms, "
              f"key to exact {r['exact']:.1f} ms | held: press {r['fast_press']:.1f} ms, longest block "
              f"{r['fast_block']:.1f} ms, settle {settle:.0f} ms; last frame exact: {bool(right)}", flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print("median of runs: " + ", ".join(f"{k} {v:.1f} ms" for k, v in med.items()))
    p.undo.setClean()
    p._dirty = False
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
