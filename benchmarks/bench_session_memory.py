"""A long working session in the real main window: does memory (and the disk) stay flat with use?

Drives ``MainWindow`` (offscreen) through ROUNDS rounds of what a user does all day, each on a
new small clip (sizes 96x64 to 432x240, 10 to 30 frames, an orange disc moving over a texture):
open it, click the disc with the Select tool and commit, Track it through the range, paint a
logo box on every frame, Preview and Inpaint (a tiny random STTN, as the GUI tests use), switch
the compare views, scrub and play, undo and redo, open the Settings dialog, export through the
Export dialog, export again and cancel at the first frame; the next round opens the next clip
(``--skip open``: one clip all session; ``--skip`` leaves out other steps, to find which one grows).

After each round (gc.collect() first) it records the process's RSS (/proc/self/statm; ``--trim``:
also after glibc's malloc_trim), Python objects by type (gc.get_objects()), live QObjects under the
window by class, widgets, open file descriptors (/proc/self/fd), threads (/proc/self/task), the
files under the cache, user-data, temp and export folders, and the undo steps; at the end the
growth per round after the warm-up (a least-squares slope), the kinds that grew, what holds new
objects of a kind (``--referrers KIND``) and (``--trace``) the allocation sites that grew most.
The process limits glibc's heaps as ``run_gui`` does (``--default-malloc``: it does not).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_session_memory.py --rounds 40 [--trim]

Counting QObjects makes Python wrappers for Qt's own children (a QTimer Qt deletes later keeps its
wrapper under the window's): ``--no-qobjects`` when looking for growing Python objects. Everything
(settings, user data, cache, temp files, clips, exports) lives in one temp folder, removed at the
end unless ``--keep``. Figures go to docs/LOAD.md ("A long working session").
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = ((96, 64, 12), (192, 128, 20), (432, 240, 30), (160, 96, 10))  # (w, h, frames), cycled
#: the steps of a round that --skip can leave out
STEPS = ("open", "track", "inpaint", "view", "dialogs", "export", "cancel")
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def trimmed_rss() -> float:
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return round(rss_mb(), 1)


def count(path: str) -> int:
    try:
        return len(os.listdir(path))
    except OSError:
        return -1


def tree(folder: Path) -> tuple[int, int]:
    """(files, bytes) under ``folder``."""
    n = size = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            n += 1
            try:
                size += os.path.getsize(os.path.join(dirpath, name))
            except OSError:
                pass
    return n, size


def disc_clip(path: Path, w: int, h: int, n: int, seed: int) -> tuple[int, int]:
    """A textured grey clip with an orange disc moving right; returns the disc's centre on frame 2."""
    import cv2
    import numpy as np

    from app.core.video import write_test_clip

    rng = np.random.default_rng(seed)
    tex = cv2.resize(rng.integers(60, 150, (max(2, h // 8), max(2, w // 8)), dtype=np.uint8), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    bg = np.repeat(tex[..., None], 3, axis=2)
    r = max(6, h // 7)
    yy, xx = np.mgrid[:h, :w]
    frames = []
    for i in range(n):
        f = bg.copy()
        cx, cy = w // 4 + i * max(1, w // (3 * n)), h // 2
        f[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = (240, 120, 20)
        frames.append(f)
    write_test_clip(path, frames, fps=12)
    return w // 4 + 2 * max(1, w // (3 * n)), h // 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=8, help="rounds left out of the growth figures")
    ap.add_argument("--trace", action="store_true", help="tracemalloc from the end of the warm-up (slower)")
    ap.add_argument("--sizes", default=",".join(f"{w}x{h}x{n}" for w, h, n in SIZES),
                    help="WxHxFRAMES of the clips, comma-separated, cycled through the rounds")
    ap.add_argument("--same-clip", action="store_true", help="reopen one clip each round instead of a new one")
    ap.add_argument("--skip", default="", help="steps left out, comma-separated: " + ", ".join(STEPS) +
                    " (open: the first clip stays open all session)")
    ap.add_argument("--no-qobjects", action="store_true",
                    help="do not count QObjects (the count wraps Qt's own children, whose wrappers stay)")
    ap.add_argument("--default-malloc", action="store_true",
                    help="leave glibc's heaps as they are (run_gui limits them to 2: app.gui.limit_malloc_arenas)")
    ap.add_argument("--trim", action="store_true", help="also the RSS after glibc's malloc_trim(0) each round "
                    "(what the heap holds free but has not given back)")
    ap.add_argument("--referrers", metavar="KIND", help="print what holds the objects of this Python type made "
                    "after the warm-up (say QTimer)")
    ap.add_argument("--json", type=Path, help="write the per-round figures here")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (its path is printed)")
    args = ap.parse_args()
    skip = set(args.skip.split(",")) if args.skip else set()
    if skip - set(STEPS):
        ap.error(f"--skip: steps are {', '.join(STEPS)}")

    if not args.default_malloc:
        from app.gui import limit_malloc_arenas

        print("malloc heaps limited to 2 (as run_gui does):", limit_malloc_arenas())
    tmp = Path(tempfile.mkdtemp(prefix="bench-session-"))
    for name in ("settings", "data", "cache", "logs", "tmp", "clips", "out"):
        (tmp / name).mkdir()
    os.environ.update(STTN_INPAINT_DATA=str(tmp / "data"), STTN_INPAINT_CACHE=str(tmp / "cache"),
                      STTN_INPAINT_LOGS=str(tmp / "logs"), TMPDIR=str(tmp / "tmp"))
    tempfile.tempdir = None  # (TMPDIR read again: temp files anyone makes are counted under tmp/)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import numpy as np
    import torch
    from PySide6.QtCore import QEventLoop, QObject, QPointF, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMessageBox

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    app = QApplication.instance() or QApplication([])
    from app.core.sttn import GeneratorConfig, InpaintGenerator, save_generator
    from app.gui import keep_singletons_alive
    from app.ui import workers
    from app.ui.appsettings import AppSettings
    from app.ui.main_window import MainWindow

    keep_singletons_alive()
    said: list[tuple[str, str]] = []  # message boxes, answered without blocking (tests/ui/conftest.py's way)

    def record(kind):
        def fn(parent, title, text, *a, **k):
            said.append((kind, text))
            return QMessageBox.StandardButton.Discard if kind == "question" else QMessageBox.StandardButton.Ok
        return fn

    for kind in ("critical", "warning", "information", "question"):
        setattr(QMessageBox, kind, staticmethod(record(kind)))

    torch.manual_seed(0)
    weights = tmp / "tiny.pth"
    save_generator(InpaintGenerator(GeneratorConfig(channels=32, blocks=1, patch_sizes=((27, 15), (9, 5)),
                                                    width=108, height=60)), weights)
    settings = AppSettings()
    settings.weights, settings.device, settings.sam_checkpoint = str(weights), "cpu", ""
    settings.preset = "veryfast"

    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    clips = []
    for k in range(1 if args.same_clip or "open" in skip else args.rounds):
        w, h, n = sizes[k % len(sizes)]
        path = tmp / "clips" / f"clip{k:03d}_{w}x{h}.mp4"
        clips.append((path, disc_clip(path, w, h, n, k)))

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_for(signal, trigger, timeout_s=120.0):
        got = []
        slot = lambda *a: got.append(a)  # noqa: E731
        signal.connect(slot)
        try:
            out = trigger()
            t0 = time.monotonic()
            while not got:
                if time.monotonic() - t0 > timeout_s:
                    raise TimeoutError(f"no {signal} in {timeout_s} s")
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
                time.sleep(0.002)
        finally:
            signal.disconnect(slot)
        return out, got[0]

    def settle(ms=150):
        """Let queued work end (frame decodes, deleteLater, the busy flags)."""
        t0 = time.monotonic()
        while (win.controller.engine.busy or win.controller.segment.busy or win.frames.decoder.busy) \
                and time.monotonic() - t0 < 60:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        wait(ms)
        app.sendPostedEvents(None, 52)  # QEvent.DeferredDelete
        app.processEvents()

    cancels = Counter()

    def cancelled_in_time(out: Path) -> bool:
        cancels["in time" if not out.exists() else "too late"] += 1
        return not out.exists()

    win = MainWindow(settings, autosave_ms=400)  # (an autosave or two each round)
    win.resize(1000, 640)
    win.show()
    wait(200)

    def one_round(k: int) -> None:
        path, (cx, cy) = clips[0 if args.same_clip or "open" in skip else k]
        if "open" not in skip or k == 0:
            assert win.open_path(path), said[-1:]
        p, c, seg = win.project, win.controller, win.segment
        n, wd, ht = p.n_frames, p.reader.width, p.reader.height
        settle()
        if "track" not in skip:  # the click tool: select the disc on frame 2, commit, track it through the clip
            p.set_current(2)
            win.compare.set_mode("original")  # (one view: the point clicked is where the scale says)
            win.tools.set_tool("segment")
            settle()
            wait_for(seg.candidatesChanged, lambda: QTest.mouseClick(
                win.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                win.canvas.to_widget(QPointF(cx, cy)).toPoint()))
            if seg.tool.candidates:
                QTest.keyClick(win.canvas, Qt.Key.Key_Return)
                p.set_range(0, n)
                wait_for(seg.trackFinished, seg.track_action.trigger)
            win.tools.set_tool("brush")
        # a logo box painted on every frame of the range (one pixel lower each round: always an edit)
        box = np.zeros((ht, wd), bool)
        box[2 + k % 3: ht // 5 + k % 3, wd - wd // 4: wd - 2] = True
        p.edit_mask(box, "range")
        p.set_engine_settings({**p.engine_settings, "fill": "sttn"})
        p.set_current(n // 2)
        if "inpaint" not in skip:
            wait_for(c.engine.finished, c.preview)
            wait_for(c.engine.finished, c.inpaint)
        if "view" not in skip:
            for mode in ("side", "split", "original", "side"):
                win.compare.set_mode(mode)
                wait(20)
            for i in (0, n - 1, n // 3, 1):  # scrub
                p.set_current(i)
                wait(15)
            win.timeline.play()
            wait(300)
            win.timeline.stop()
        for _ in range(3):
            win.undo_action.trigger()
        for _ in range(3):
            win.redo_action.trigger()
        if "dialogs" not in skip:
            win.show_settings()
            wait(30)
            win.settings_dialog.reject()
            d = win.export_dialog_show()
            if "export" not in skip:
                out = tmp / "out" / f"out{k:03d}.mp4"
                d.path_edit.setText(str(out))
                wait_for(c.exportFinished, d.export_button.click)
                t0 = time.monotonic()
                while d.running and time.monotonic() - t0 < 30:
                    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
                out.unlink(missing_ok=True)  # (the user's file: not the application's to clean up)
            wait(30)
            d.close()
            if "cancel" not in skip:  # an export cancelled at its first frame: no partial file stays
                d = win.export_dialog_show()
                out = tmp / "out" / f"cancelled{k:03d}.mp4"
                d.path_edit.setText(str(out))
                stop = lambda job, progress: c.cancel()  # noqa: E731
                c.engine.progress.connect(stop)
                try:
                    wait_for(c.engine.busyChanged, d.export_button.click)  # (started)
                    t0 = time.monotonic()
                    while c.engine.busy and time.monotonic() - t0 < 60:
                        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
                finally:
                    c.engine.progress.disconnect(stop)
                wait(30)
                d.close()
                if not cancelled_in_time(out):
                    out.unlink()  # (it ended before the cancel reached it: a whole export)
        settle()

    rows = []
    snap0 = None
    kinds0: Counter = Counter()
    qkinds0: Counter = Counter()
    t_start = time.monotonic()
    for k in range(args.rounds):
        t0 = time.monotonic()
        one_round(k)
        gc.collect()
        kinds = Counter(type(o).__name__ for o in gc.get_objects())
        qkinds = Counter() if args.no_qobjects else \
            Counter(o.metaObject().className() for o in win.findChildren(QObject))
        row = dict(round=k + 1, s=round(time.monotonic() - t0, 2), rss_mb=round(rss_mb(), 1),
                   py_objects=sum(kinds.values()), qobjects=sum(qkinds.values()),
                   widgets=len(QApplication.allWidgets()), top_levels=len(QApplication.topLevelWidgets()),
                   fds=count("/proc/self/fd"), threads=count("/proc/self/task"),
                   qthreads=sum(1 for t in list(workers.THREADS) if t.isRunning()),
                   rss_trimmed_mb=trimmed_rss() if args.trim else None,
                   cache_files=tree(tmp / "cache")[0], cache_kb=tree(tmp / "cache")[1] // 1024,
                   data_files=tree(tmp / "data")[0], tmp_files=tree(tmp / "tmp")[0],
                   out_files=tree(tmp / "out")[0], undo_steps=win.project.undo.count())
        rows.append(row)
        print(" ".join(f"{key}={value}" for key, value in row.items()), flush=True)
        if k + 1 == args.warmup:
            kinds0, qkinds0 = kinds, qkinds
            if args.referrers:
                ids0 = {id(o) for o in gc.get_objects() if type(o).__name__ == args.referrers}
            if args.trace:
                import tracemalloc

                tracemalloc.start(12)
                snap0 = tracemalloc.take_snapshot()
    total = time.monotonic() - t_start

    after = rows[args.warmup - 1:] if args.rounds > args.warmup else rows
    xs = [r["round"] for r in after]

    def slope(key):
        if len(xs) < 2:
            return float("nan")
        ys = [r[key] for r in after]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)

    print(f"\n{args.rounds} rounds in {total:.0f} s; growth per round over rounds {xs[0]}..{xs[-1]} (least squares):")
    keys = ("rss_mb", *(("rss_trimmed_mb",) if args.trim else ()), "py_objects", "qobjects", "widgets", "top_levels",
            "fds", "threads", "cache_files", "cache_kb", "data_files", "tmp_files", "out_files", "undo_steps")
    for key in keys:
        print(f"  {key:12} {slope(key):+9.2f}/round   ({after[0][key]} -> {after[-1][key]})")
    grew = (kinds - kinds0).most_common(12)
    print("Python object kinds that grew after the warm-up:", ", ".join(f"{n} +{d}" for n, d in grew) or "none")
    grew = (qkinds - qkinds0).most_common(12)
    print("QObject classes under the window that grew:", ", ".join(f"{n} +{d}" for n, d in grew) or "none")
    if args.referrers:
        new = [o for o in gc.get_objects() if type(o).__name__ == args.referrers and id(o) not in ids0]
        print(f"{len(new)} {args.referrers} made after the warm-up are alive; held by:")
        for o in new[:3]:
            for r in gc.get_referrers(o):
                if r is not new:
                    try:
                        text = repr(r)[:300]
                    except RuntimeError as exc:  # (a wrapper whose C++ object is gone)
                        text = str(exc)
                    print(f"  {type(r).__name__}: {text}")
    if snap0 is not None:
        import tracemalloc

        stats = tracemalloc.take_snapshot().compare_to(snap0, "traceback")
        print("tracemalloc, largest growth since the warm-up:")
        for s in stats[:8]:
            print(f"  {s.size_diff / 1024:+8.1f} KiB {s.count_diff:+6d} blocks")
            for line in s.traceback.format()[-6:]:
                print("     ", line)
    if cancels:
        print("cancelled exports:", dict(cancels))
    errors = [s for s in said if s[0] in ("critical", "warning")]
    print(f"message boxes: {len(said)} ({len(errors)} errors){': ' + errors[0][1] if errors else ''}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "said": said}, indent=1))
    win.project.undo.setClean()
    win.project._dirty = False
    win.close()
    leftovers = {name: tree(tmp / name) for name in ("cache", "data", "tmp")}
    print("after closing the window (files, bytes):", leftovers)
    if args.keep:
        print("kept", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
