"""Dragging the playhead over the inpainted result with the timeline stopped: GUI-thread time a frame.

The real main window (offscreen, 1400x900, Side by side or Split) on a 1080p clip with a result
for every frame (the inverted frame, as ``bench_compare_playback.py`` stores them). The mouse is
pressed on the timeline's scrub bar at frame 0 and dragged at an even speed to the last frame, then
back to a third of the way (``--seconds`` each way), a move event every 16 ms (a 60 Hz mouse) sent
where the pointer is by then: when the GUI thread is late, the moves it missed are not queued, as
with a window system's motion compression. Then the button is released and the view left still.

Per move event that changes the frame: *move*, the GUI thread's time in the event itself (the scrub bar, the timeline,
the project and the compare view's work for the new frame, up to the picture handed to the
view); *busy*, the GUI thread's CPU over the drag (paints and the pictures that arrive from the
decoding threads included) divided by the frames the playhead went through; *gap*, the longest
wait of a 10 ms heartbeat timer (``bench_gui_responsiveness.Probe``); *frames*, the distinct
frames the playhead showed, and *originals*, how many of them had their original picture
(decoded on the frames thread) reach the canvas while they were the current frame; *result*,
from the release to the frame's exact result (the PNG) on screen, and *settle*, until its original
is there too; the result is then checked bit for bit against the one Export reads.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_compare_scrub.py [VIDEO] \\
        [--mode side|split] [--runs 3] [--seconds 2] [--code DIR]

``--code DIR``: the application from another checkout (``git archive COMMIT | tar -x -C DIR``), to
measure an older version with the same script. Figures go to docs/LOAD.md ("Dragging the playhead over the result").
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MOVE_MS = 16


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", type=Path, nargs="?")
    ap.add_argument("--mode", choices=("side", "split"), default="side")
    ap.add_argument("--frames", type=int, default=60, help="frames of the clip made when none is given")
    ap.add_argument("--seconds", type=float, default=2.0, help="the drag's time each way")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--code", type=Path, help="import the application from this folder")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))

    import numpy as np
    from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
    from PySide6.QtGui import QMouseEvent

    from bench_compare_playback import make_hd_clip
    from bench_gui_responsiveness import Probe, cpu_window, spin, wait

    if a.code:  # (before this checkout, which those put on the path)
        sys.path.insert(0, str(a.code.resolve()))
        for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
            del sys.modules[name]

    app, w, tmp = cpu_window("bench-compare-scrub-")
    clip = a.clip or make_hd_clip(tmp / "hd.mp4", a.frames)
    w.resize(1400, 900)
    assert w.open_path(clip)
    p, view, bar = w.project, w.result_view, w.timeline.bar
    for i in range(p.n_frames):
        p.results.put(i, 255 - p.reader[i])
    w.compare.set_mode(a.mode)
    spin(app, 0.3)
    print(f"{clip.name}: {p.reader.width}x{p.reader.height}, {p.n_frames} frames; {a.mode}, result view "
          f"{view.width()}x{view.height()} (scale {view.scale():.2f}); code {a.code or 'this checkout'}", flush=True)

    def mouse(kind, x: float, buttons) -> None:
        pos = QPointF(x, bar.height() / 2)
        button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
        app.sendEvent(bar, QMouseEvent(kind, pos, bar.mapToGlobal(pos), button, buttons,
                                       Qt.KeyboardModifier.NoModifier))

    def exact_shown() -> bool:
        shown = view.result_rgb
        return (getattr(view, "proxy_of", None) is None and shown is not None and view.original is not None
                and p.cached_frame(p.current) is not None)

    last = p.n_frames - 1
    stop = last // 3  # where the drag ends: a frame whose exact result was not read before
    runs = []
    for run in range(a.runs):
        p.set_current(0)
        wait(app, exact_shown, 30)
        spin(app, 0.3)
        probe = Probe(app)
        probe.start("drag")
        moves, frames, done, originals = [], [], {}, set()
        on_picture = lambda i: originals.add(i) if i == p.current else None  # noqa: E731
        p.frameReady.connect(on_picture)
        mouse(QEvent.Type.MouseButtonPress, bar.x_of(0), Qt.MouseButton.LeftButton)
        t0, c0 = time.perf_counter(), time.thread_time()

        def move():
            t = (time.perf_counter() - t0) / a.seconds  # 0..1 forward, 1..2 back
            if t >= 2.0:
                timer.stop()
                done["t"] = True
                return
            x = bar.x_of(last * t if t < 1.0 else last - (last - stop) * (t - 1.0))
            w0, c, before = time.perf_counter(), time.thread_time(), p.current
            mouse(QEvent.Type.MouseMove, x, Qt.MouseButton.LeftButton)
            if p.current != before:  # (a move within the same frame costs next to nothing)
                moves.append(((time.perf_counter() - w0) * 1000, (time.thread_time() - c) * 1000))
            frames.append(p.current)

        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.timeout.connect(move)
        timer.start(MOVE_MS)
        wait(app, lambda: "t" in done, 60)
        busy_ms = (time.thread_time() - c0) * 1000
        p.frameReady.disconnect(on_picture)
        mouse(QEvent.Type.MouseButtonRelease, bar.x_of(p.current), Qt.MouseButton.NoButton)
        t_release = time.perf_counter()
        wait(app, lambda: getattr(view, "proxy_of", None) is None and view.result_rgb is not None, 30)
        result_ms = (time.perf_counter() - t_release) * 1000
        exact_ok = wait(app, exact_shown, 30)
        settle = (time.perf_counter() - t_release) * 1000
        probe.start("end")
        gaps = probe.gaps()["drag"]
        probe.timer.stop()
        exact = exact_ok and bool(np.array_equal(view.result_rgb, p.results.get(p.current)))
        changes = sum(1 for f0, f1 in zip([0] + frames, frames) if f0 != f1)
        wall = [m[0] for m in moves]
        cpu = [m[1] for m in moves]
        r = {"move_median": statistics.median(wall), "move_max": max(wall), "move_cpu": statistics.median(cpu),
             "busy": busy_ms / max(1, changes), "gap": max(gaps), "frames": len(set(frames)),
             "originals": len(originals),
             "moves": len(frames), "result": result_ms, "settle": settle}
        runs.append(r)
        print(f"run {run + 1}: {len(frames)} moves, {changes} frame changes over {len(set(frames))} frames, "
              f"{len(originals)} originals shown; "
              f"move median {r['move_median']:.1f} ms (cpu {r['move_cpu']:.1f}), max {r['move_max']:.1f} ms; "
              f"busy {r['busy']:.1f} ms a frame; longest gap {r['gap']:.0f} ms; release to exact result "
              f"{result_ms:.0f} ms, with its original {settle:.0f} ms, "
              f"exact: {exact}", flush=True)
    print(f"median of {len(runs)} runs (min-max):")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:12} {statistics.median(values):8.1f}  ({min(values):.1f}-{max(values):.1f})")
    _close_unsaved(w)
    return 0


def _close_unsaved(window) -> None:
    """Close the window without its question about unsaved changes (the results put are no edit)."""
    window.project.undo.setClean()
    window.project._dirty = False
    window.close()


if __name__ == "__main__":
    sys.exit(main())
