"""Time tracking several objects at once: all of a clip's objects from their true first-frame
masks, given as a list (as the GUI passes the selections committed on a frame), through the first
``--frames`` frames; median of ``--repeat`` runs, with the objects followed side by side on one
thread per core (the default) and one after another (``--threads 1``).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_track_objects.py [--clip schoolgirls] [--frames 30]
        [--size 1280x720] [--repeat 3]

``--gui``: the same through the real main window (offscreen): three girls of schoolgirls selected on
frame 0 (one click each at the centre of their true masks, Shift+click), Track through all 80
frames, while a 10 ms QTimer records the gaps between its ticks on the GUI thread (a gap well
over 10 ms is time the window could not repaint or take input); per ``--threads`` value.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python benchmarks/bench_track_objects.py --gui
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app.core.segment import GrabCutSegmenter, TrackParams, mask_iou, track  # noqa: E402
from bench_segment import load_frames, load_objects  # noqa: E402


def run(frames, keys, truth, threads: int, repeat: int) -> tuple[float, float]:
    """(median seconds, mean union IoU over the tracked frames)."""
    times, res = [], None
    for _ in range(repeat):
        cv2.setRNGSeed(0)
        t0 = time.perf_counter()
        res = track(lambda i: frames[i], len(frames), {0: keys}, GrabCutSegmenter(seed=0),
                    params=TrackParams(threads=threads))
        times.append(time.perf_counter() - t0)
    iou = float(np.mean([mask_iou(res.mask(i), truth[i]) for i in range(1, len(frames))]))
    return float(np.median(times)), iou


def gui_run(threads_values, repeat: int, clips: Path) -> None:
    """Track three clicked girls in the main window; event-loop gaps while it runs."""
    import os
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="bench-track-gui-"))
    os.environ["STTN_INPAINT_DATA"] = str(tmp / "data")
    from PySide6.QtCore import QSettings

    from bench_gui_responsiveness import Probe, summary, wait

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    from app.gui import make_app
    from app.ui import segment_tool
    from app.ui.appsettings import AppSettings
    from app.ui.main_window import MainWindow

    app = make_app([])
    win = MainWindow(AppSettings())
    win.show()
    objects = load_objects(clips, "schoolgirls")
    real = segment_tool.track
    print("| threads | tracking s (median) | event-loop gap median / p99 / max ms |")
    print("| ---: | ---: | --- |")
    for threads in threads_values:
        segment_tool.track = lambda *a, **k: real(*a, **{**k, "params": TrackParams(threads=threads)})
        times, gaps = [], []
        for _ in range(repeat):
            win.open_path(clips / "schoolgirls.mp4")
            p, seg = win.project, win.segment
            p.set_current(0)
            seg.tool_action.trigger()
            for girl in (1, 5, 6):
                d = cv2.distanceTransform(objects[girl][0].astype(np.uint8), cv2.DIST_L2, 5)
                y, x = divmod(int(d.argmax()), d.shape[1])
                seg.add_point(x, y, 1, new=True)
                wait(app, lambda: seg.tool.candidate is not None, 120)
                seg.commit()
            probe = Probe(app)
            probe.start("track")
            t0 = time.perf_counter()
            seg.track()
            wait(app, lambda: not win.controller.engine.busy, 900)
            times.append(time.perf_counter() - t0)
            probe.timer.stop()
            gaps += probe.gaps()["track"]
            p._dirty = False
            p.undo.setClean()
        g = summary(gaps)
        print(f"| {threads or 'per core'} | {np.median(times):.1f} | {g['median']} / {g['p99']} / {g['max']} |",
              flush=True)
    segment_tool.track = real
    win.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--clip", nargs="+", default=["schoolgirls", "dogs_jump"])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=lambda t: tuple(int(v) for v in t.lower().split("x")), metavar="WxH",
                    help="upscale the clip and masks to this size first (e.g. 1280x720)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[0, 1],
                    help="TrackParams.threads values to compare (0: one per core)")
    ap.add_argument("--gui", action="store_true", help="through the main window, with event-loop gaps")
    ap.add_argument("--cv-threads", type=int, nargs="+", default=[-1], metavar="N",
                    help="cv2.setNumThreads values to compare (-1: OpenCV's default, one per core)")
    args = ap.parse_args(argv)
    if args.gui:
        gui_run(args.threads, args.repeat, args.clips)
        return 0
    print(f"{os.cpu_count()} cores, OpenCV {cv2.__version__} (default {cv2.getNumThreads()} threads)")
    print("| clip | objects | frames | size | threads | OpenCV threads | median s | s a frame | union IoU |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    default_cv = cv2.getNumThreads()
    for name in args.clip:
        frames = load_frames(args.clips, name)[:args.frames]
        objects = {k: v[:args.frames] for k, v in load_objects(args.clips, name).items()}
        truth = [np.any([v[i] for v in objects.values()], axis=0) for i in range(len(frames))]
        keys = [v[0] for v in objects.values()]
        if args.size:
            frames = [cv2.resize(f, args.size, interpolation=cv2.INTER_CUBIC) for f in frames]
            truth = [cv2.resize(m.astype(np.uint8), args.size, interpolation=cv2.INTER_NEAREST) > 0 for m in truth]
            keys = [cv2.resize(m.astype(np.uint8), args.size, interpolation=cv2.INTER_NEAREST) > 0 for m in keys]
        h, w = frames[0].shape[:2]
        for cv_threads in args.cv_threads:
            cv2.setNumThreads(cv_threads if cv_threads >= 0 else default_cv)
            for threads in args.threads:
                secs, iou = run(frames, keys, truth, threads, args.repeat)
                print(f"| {name} | {len(keys)} | {len(frames)} | {w}x{h} | {threads or 'per core'} "
                      f"| {cv2.getNumThreads()} | {secs:.2f} | {secs / len(frames):.3f} | {iou:.3f} |", flush=True)
        cv2.setNumThreads(default_cv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
