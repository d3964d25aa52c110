"""Autosave of a long tracked project: how long the GUI thread is held, and the event loop meanwhile.

A synthetic 1920x1080 project of FRAMES frames with a mask and a tracker's record on every frame
(1-bit PNG blobs of a moving ellipse, 2.6 KB, a distinct bytes object per frame as after
tracking), a keyframe every 100 frames, a third of the frames flagged and the last run's
digests, in an Autosaver with a 10 ms probe timer running (bench_gui_responsiveness.Probe).
Per run: the project is marked changed (``--paint``: a stroke corrects one tracked frame, another
each run, as brush work does), ``save_now()`` is called from the event loop and the loop runs until
``saved``. The first autosave (written whole) comes before the runs. Reported, median of RUNS
(each value also listed):

  gui_ms      the ``save_now()`` call itself, on the GUI thread (wall clock)
  gui_cpu_ms  the same, in the GUI thread's CPU time (what other processes on the cores leave out)
  saved_ms    from the call to ``saved`` (the files are written)
  written_mb  what the process wrote meanwhile (/proc/self/io wchar: the autosave's files); also
              the mean (many runs with --paint: a delta that grows, then a whole rewrite)
  gap_max_ms  the longest event-loop gap from the call to ``saved`` (wall clock)
  busy_max_ms the most GUI-thread CPU time between two probe ticks in that span
  save_ms     ``Project.save(path, mark_clean=False)``: the synchronous write (File > Save, and
              what every autosave cost the GUI thread before it wrote on a thread)

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_autosave.py --frames 20000 90000 \\
        --runs 3 --workdir /var/tmp/autosave-bench --json autosave.json [--paint]

Figures go to docs/LOAD.md ("Saving").
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
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench_gui_responsiveness import Probe, wait  # noqa: E402

W, H = 1920, 1080
SHAPES = 250  # distinct pictures; each frame still gets a bytes object of its own


class _Reader:
    """Just enough of a video reader for a project without a video file."""

    def __init__(self, n: int):
        self.n, self.width, self.height, self.fps = n, W, H, 25.0

    def __len__(self):
        return self.n

    def close(self):
        pass


def make_project(n: int):
    from app.core.masks import MaskStore
    from app.ui.project import Project, mask_digest

    shapes = []
    store = MaskStore(1, W, H)
    for k in range(SHAPES):
        m = np.zeros((H, W), np.uint8)
        cv2.ellipse(m, (400 + 4 * k, 500 + (k % 50)), (90 + k % 30, 160), k, 0, 360, 1, -1)
        store.set(0, m > 0)
        shapes.append(store.blob(0))
    p = Project()
    p.reader = _Reader(n)
    p.video_path = Path("synthetic_1080p.mp4")
    p.masks, p.tracked = MaskStore(n, W, H), MaskStore(n, W, H)
    for i in range(n):
        p.masks.set_blob(i, bytes(bytearray(shapes[i % SHAPES])))
        p.tracked.set_blob(i, bytes(bytearray(shapes[(i + 7) % SHAPES])))
    p.start, p.end = 0, n
    p.keyframes = set(range(0, n, 100))
    p.flagged = {i: "shrunk" for i in range(1, n, 3)}
    p.last_track = {"range": (0, n), "sam": None, "keys": {k: mask_digest(p.masks.blob(k)) for k in p.keyframes},
                    "tracked": {i: mask_digest(p.tracked.blob(i)) for i in range(n)}}
    return p, sum(len(shapes[i % SHAPES]) for i in range(n)) / n


def wchar() -> int:
    """Bytes this process (all its threads) passed to write calls so far."""
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))


def measure(n: int, runs: int, workdir: Path, app, paint: bool = False) -> dict:
    from app.ui.project import Autosaver

    p, blob_bytes = make_project(n)
    folder = workdir / f"auto{n}"
    saver = Autosaver(p, folder, interval_ms=3_600_000)
    got = []
    saver.saved.connect(got.append)
    p.mark_dirty()
    saver.save_now()  # (the first autosave of a session writes every file)
    wait(app, lambda: len(got) == 1, 120)
    probe = Probe(app)
    out = {"frames": n, "blob_bytes": round(blob_bytes), "edit": "paint one frame" if paint else "mark changed",
           "gui_ms": [], "gui_cpu_ms": [], "saved_ms": [], "written_mb": [], "gap_max_ms": [], "busy_max_ms": [], "save_ms": []}
    stroke = np.zeros((H, W), bool)
    stroke[100:140, 200:600] = True
    for r in range(runs):
        if paint:
            i = (r * 997 + 13) % n
            p.edit_mask(p.masks.get(i) | stroke, "frame", index=i)
        else:
            p.mark_dirty()
        probe.start(f"run{r}")
        first = len(probe.ticks)
        w0 = wchar()
        c0, t0 = time.thread_time(), time.perf_counter()
        saver.save_now()
        out["gui_ms"].append((time.perf_counter() - t0) * 1000)
        out["gui_cpu_ms"].append((time.thread_time() - c0) * 1000)
        wait(app, lambda: len(got) > r + 1, 120)
        out["saved_ms"].append((time.perf_counter() - t0) * 1000)
        out["written_mb"].append((wchar() - w0) / 1e6)
        n_ticks = len(probe.ticks)
        wait(app, lambda: len(probe.ticks) > n_ticks, 5)  # the tick that ends the last gap
        ticks = probe.ticks[first - 1:]
        out["gap_max_ms"].append(max((b[0] - a[0]) * 1000 for a, b in zip(ticks, ticks[1:])))
        out["busy_max_ms"].append(max((b[1] - a[1]) * 1000 for a, b in zip(ticks, ticks[1:])))
        t0 = time.perf_counter()
        p.save(workdir / f"project{n}", mark_clean=False)
        out["save_ms"].append((time.perf_counter() - t0) * 1000)
    probe.timer.stop()
    out["files_mb"] = round(sum(f.stat().st_size for f in folder.iterdir()) / 1e6, 1)
    saver.discard()
    if hasattr(saver, "wait"):
        saver.wait()
    for k in ("gui_ms", "gui_cpu_ms", "saved_ms", "gap_max_ms", "busy_max_ms", "save_ms", "written_mb"):
        out[k] = [round(v, 3 if k == "written_mb" else 1) for v in out[k]]
        median = k.replace("_ms", "_median_ms").replace("_mb", "_median_mb")
        out[median] = round(statistics.median(out[k]), 3 if k == "written_mb" else 1)
    out["written_mean_mb"] = round(statistics.mean(out["written_mb"]), 3)  # (deltas grow, then a rewrite)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[20_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="where the files go (default: a new temporary folder)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--paint", action="store_true", help="each run paints one frame (else: marked changed)")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-autosave-", dir=args.workdir))
    try:
        results = [measure(n, args.runs, workdir, app, args.paint) for n in args.frames]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "python": platform.python_version(), "results": results}
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
