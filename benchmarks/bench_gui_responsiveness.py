"""GUI responsiveness on a long clip: event-loop latency while opening, scrubbing and playing.

Opens a video in the real main window (offscreen), with a 10 ms QTimer recording the gap
between its ticks: a gap well above 10 ms is time the GUI thread could not handle input
or repaint. Phases, each reported as max / p99 / median gap:

  open    File > Open (window.open_path) until it returns and frame 0 is shown
  drag    50 timeline positions across the clip, one every 40 ms (a fast drag; the
          positions go through the scrub bar's frameClicked signal, as a mouse does), then
          until the last position's frame is shown ("settle")
  clicks  50 random positions, each waiting until its frame is shown (time to frame)
  play    3 s of playback

``--mode sync`` reproduces the old behaviour for comparison: the index and every frame
decoded on the GUI thread. Each run is a fresh process (peak RSS from os.wait4).

    QT_QPA_PLATFORM=offscreen nice -n 15 .venv/bin/python benchmarks/bench_gui_responsiveness.py \\
        /tmp/load_60min_1080p25.mp4 --runs 3 --json gui.json

Make the clip with benchmarks/bench_load.py (--only generate). Figures go to docs/LOAD.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_load import run_json_child  # noqa: E402

TICK_MS = 10
POSITIONS = 50
DRAG_EVERY_MS = 40
PHASES = ("idle", "open", "drag", "clicks", "play")


def summary(values) -> dict:
    """max / p99 / p95 / median / count of a list of milliseconds."""
    v = sorted(values) or [0.0]
    pick = lambda q: round(v[min(len(v) - 1, int(q * len(v)))], 1)  # noqa: E731
    return {"max": round(v[-1], 1), "p99": pick(0.99), "p95": pick(0.95), "median": round(statistics.median(v), 1),
            "n": len(values)}


class Probe:
    """A QTimer every TICK_MS recording when it ticks; phases are named time spans.

    Each gap between two ticks belongs to the phase in which it ends. ``start`` first lets
    one tick happen, so that a phase that blocks the thread from its first instant (a
    synchronous open) owns the gap it causes and the phase before does not.

    Besides the wall-clock gap, the GUI thread's own CPU time between two ticks is kept
    ("busy"): on a loaded machine a gap can be the scheduler's doing (the process waits for
    a core), while busy time is work done on the GUI thread itself.
    """

    def __init__(self, app):
        from PySide6.QtCore import Qt, QTimer

        self.app = app
        self.ticks: list[tuple[float, float]] = []  # (wall, GUI-thread CPU) seconds
        self.phases: list[tuple[str, float]] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(lambda: self.ticks.append((time.perf_counter(), time.thread_time())))
        self.timer.start(TICK_MS)

    def start(self, phase: str) -> None:
        n = len(self.ticks)
        wait(self.app, lambda: len(self.ticks) > n, 10)
        self.phases.append((phase, time.perf_counter()))

    def gaps(self, busy: bool = False) -> dict:
        """Phase name -> the gaps (ms) that ended during it (``busy``: GUI-thread CPU ms instead)."""
        out: dict[str, list] = {name: [] for name, _ in self.phases}
        k = 0
        for (a, ca), (b, cb) in zip(self.ticks, self.ticks[1:]):
            while k + 1 < len(self.phases) and self.phases[k + 1][1] <= b:
                k += 1
            if self.phases and self.phases[0][1] <= b:
                out[self.phases[k][0]].append(((cb - ca) if busy else (b - a)) * 1000)
        return out


def wait(app, predicate, timeout_s: float) -> bool:
    """Run the event loop (at least once) until ``predicate()`` or the timeout."""
    end = time.monotonic() + timeout_s
    while True:
        app.processEvents()
        if predicate():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.001)


def spin(app, seconds: float) -> None:
    wait(app, lambda: False, seconds)


def cpu_window(prefix: str = "bench-gui-"):
    """(app, the real main window on the CPU, 1280x820 and shown, the temporary folder holding its
    settings and user data: never the user's autosave or settings). Offscreen unless a platform is set."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["STTN_INPAINT_DATA"] = str(tmp / "userdata")
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    from app.gui import make_app
    from app.ui.appsettings import AppSettings
    from app.ui.main_window import MainWindow

    app = make_app([])
    settings = AppSettings()
    settings.device = "cpu"
    window = MainWindow(settings)
    window.resize(1280, 820)
    window.show()
    return app, window, tmp


def child(clip: Path, mode: str, seed: int) -> dict:
    import random

    from PySide6.QtCore import QTimer

    from app.ui.project import open_with_first_frame
    from app.ui.statusbar import rss_bytes

    app, window, tmp = cpu_window()
    if mode == "sync":  # the old behaviour: index and frames decoded on the GUI thread
        window.frames.open = open_with_first_frame
        window.project.frame_loader = None
    probe = Probe(app)
    probe.start("idle")
    spin(app, 0.5)
    canvas, bar = window.canvas, window.timeline.bar
    result = {"mode": mode, "rss_no_video_mb": rss_bytes() / 2**20}

    probe.start("open")
    t0 = time.perf_counter()
    assert window.open_path(clip), "open failed"
    result["open_returned_s"] = time.perf_counter() - t0
    wait(app, lambda: canvas.frame_index == 0, 30)
    result["open_shown_s"] = time.perf_counter() - t0
    n = window.project.n_frames
    result["frames"] = n
    probe.start("idle-after-open")
    spin(app, 0.3)

    rng = random.Random(seed)
    positions = [rng.randrange(n) for _ in range(POSITIONS)]
    probe.start("drag")
    # Mouse moves arrive through the event loop every DRAG_EVERY_MS, queued behind whatever runs.
    drag = QTimer()
    todo = list(positions)
    sent = {}

    def move():
        bar.frameClicked.emit(todo.pop(0))
        if not todo:
            drag.stop()
            sent["t"] = time.perf_counter()

    drag.timeout.connect(move)
    drag.start(DRAG_EVERY_MS)
    wait(app, lambda: "t" in sent, 600)
    last_request = sent["t"]
    wait(app, lambda: canvas.frame_index == positions[-1], 60)
    result["drag_settle_ms"] = (time.perf_counter() - last_request) * 1000
    loader = window.frames
    result["drag_loader"] = {"requested": loader.requested, "decoded": loader.decoded, "dropped": loader.dropped}

    probe.start("clicks")
    to_frame = []
    for index in [rng.randrange(n) for _ in range(POSITIONS)]:
        t0 = time.perf_counter()
        bar.frameClicked.emit(index)
        wait(app, lambda: canvas.frame_index == index, 60)
        to_frame.append((time.perf_counter() - t0) * 1000)
    result["click_to_frame_ms"] = summary(to_frame)

    probe.start("play")
    shown = []
    canvas_set = canvas.set_image
    canvas.set_image = lambda image: (shown.append(canvas.frame_index), canvas_set(image))[1]
    window.timeline.play()
    spin(app, 3.0)
    window.timeline.stop()
    result["play_shown_fps"] = len(set(shown)) / 3.0
    result["rss_end_mb"] = rss_bytes() / 2**20
    probe.start("end")
    result["gaps_ms"] = {k: summary(v) for k, v in probe.gaps().items() if k != "end"}
    result["busy_ms"] = {k: summary(v) for k, v in probe.gaps(busy=True).items() if k != "end"}
    probe.timer.stop()
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def run_child(clip: Path, mode: str, seed: int) -> dict:
    cmd = [sys.executable, __file__, str(clip), "--child", "--mode", mode, "--seed", str(seed)]
    result = run_json_child(cmd, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    result["peak_rss_mb"] = round(result["peak_rss_mb"])
    return result


def median_of(runs: list, *keys):
    values = []
    for r in runs:
        for k in keys:
            r = r[k]
        values.append(r)
    return round(statistics.median(values), 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", type=Path)
    ap.add_argument("--mode", default="async", choices=["async", "sync", "both"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.clip, args.mode, args.seed)), flush=True)
        return
    if not args.clip.exists():
        raise SystemExit(f"{args.clip} does not exist; make it with benchmarks/bench_load.py --only generate")
    modes = ["async", "sync"] if args.mode == "both" else [args.mode]
    runs = {m: [] for m in modes}
    for k in range(args.runs):
        for mode in modes:  # interleaved: load changes on the shared machine hit both alike
            r = run_child(args.clip, mode, args.seed + k)
            g, busy = r["gaps_ms"], r["busy_ms"]
            phases = ", ".join(f"{ph} gap max {g[ph]['max']:.0f}/p99 {g[ph]['p99']:.0f} busy max {busy[ph]['max']:.0f}"
                               for ph in PHASES)
            print(f"{mode} run {k + 1}: open {r['open_shown_s']:.2f} s, drag settle {r['drag_settle_ms']:.0f} ms, "
                  f"click->frame median {r['click_to_frame_ms']['median']:.0f} ms, play {r['play_shown_fps']:.1f} "
                  f"fps, peak {r['peak_rss_mb']} MB; ms: {phases}", flush=True)
            runs[mode].append(r)
    report = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version(), "clip": str(args.clip)}}
    for mode, rs in runs.items():
        report[mode] = {
            "open_shown_s": median_of(rs, "open_shown_s"),
            **{f"{phase}_{stat}_{what}_ms": median_of(rs, f"{what}_ms", phase, stat)
               for phase in PHASES for stat in ("max", "p99") for what in ("gaps", "busy")},
            "drag_settle_ms": median_of(rs, "drag_settle_ms"),
            "click_to_frame_median_ms": median_of(rs, "click_to_frame_ms", "median"),
            "click_to_frame_p95_ms": median_of(rs, "click_to_frame_ms", "p95"),
            "play_shown_fps": median_of(rs, "play_shown_fps"),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
            "rss_no_video_mb": median_of(rs, "rss_no_video_mb"),
            "rss_end_mb": median_of(rs, "rss_end_mb"),
            "runs": rs,
        }
    print(json.dumps({m: {k: v for k, v in report[m].items() if k != "runs"} for m in modes}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
