"""How much work a kill loses, with the autosave timing of the window (tests/ui/test_autosave_timing.py).

The real main window (offscreen) in a process of its own opens a clip and paints strokes with the
mouse (QTest) on frame 0, each adding a line, on a schedule:

  steady   a stroke every 0.5 s for DURATION seconds (the edits never pause)
  bursts   5 strokes 0.3 s apart, then 4 s without an edit, over and over for DURATION seconds

then it is SIGKILLed right after its last stroke. The autosave left is read as the next start
would read it (its masks file: which stroke frame 0 holds), and from the times of each stroke and
of each autosave write (begun, ended) the worst loss over the whole session is worked out: at any
moment, the work lost by a kill then is from the first stroke not in the last autosave written
whole, up to that moment. Reported per timing:

  lost_at_kill_s     measured: the kill time less the time of the first stroke recovery lacks (0: none)
  worst_lost_s       the most a kill at any moment of the session would have lost
  writes             autosave writes over the session
  gui_ms_max         the longest ``save_now`` call on the GUI thread (thread CPU time)

Timings: ``new`` (the Autosaver's defaults: 2 s after the edits stop, 10 s at most while they go
on, at the latest every 60 s) and ``old`` (only the 60 s timer, as before).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_autosave_timing.py \\
        ../shared/data/clips/schoolgirls.mp4 --duration 70 --json timing.json

The GUI thread's share of one autosave on a large project: benchmarks/bench_autosave.py.

Measured (2 shared x86_64 cores, schoolgirls 432x240, --duration 70, SIGKILL after the last stroke;
each run's autosave on disk was the last write that had ended, recovered_is_last_write true):

  timing scenario strokes writes lost_at_kill_s worst_lost_s gui_ms_max
  new    steady   141     6      9.0            10.03        0.53
  new    bursts   70      13     1.2            3.41         0.28
  old    steady   141     1      9.0            60.18        0.51
  old    bursts   70      1      6.45           59.41        0.34

bench_autosave.py --frames 20000 --runs 3 (1080p, mask and tracker's record on every frame, 106 MB):
save_now on the GUI thread 1.6 ms median (1.0-3.3), the write 0.29 s on its thread, so edits going on
are autosaved each ~10 s (30 x 0.29 s = 8.7 s of rest, under the 10 s max wait).
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OLD = {"quiet_ms": 1_000_000_000, "max_wait_ms": 1_000_000_000}  # (the soon-timer never fires in a run)


def child(clip: str, settings_dir: str, timing: str, scenario: str, duration: float) -> None:
    """The window: strokes on the schedule; EDIT, WRITE, GUI lines; READY after the last stroke."""
    from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest

    from app.gui import keep_singletons_alive, make_app

    keep_singletons_alive()
    app = make_app([])
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    import app.ui.project as project
    from app.ui.appsettings import AppSettings
    from app.ui.main_window import MainWindow

    def say(*words) -> None:
        print(*words, flush=True)

    real_write, real_save = project.write_snapshot, project.Autosaver.save_now

    def write(snap, path):  # (on the writing thread)
        begun = time.monotonic()
        digest = project.mask_digest(snap.masks.blob(0))
        out = real_write(snap, path)
        say("WRITE", begun, time.monotonic(), digest)
        return out

    def save_now(self):
        t = time.thread_time()
        try:
            return real_save(self)
        finally:
            say("GUI", (time.thread_time() - t) * 1000)

    project.write_snapshot, project.Autosaver.save_now = write, save_now
    settings = AppSettings()
    settings.device = "cpu"
    w = MainWindow(settings)  # (the default interval: 60 s)
    if timing == "old":
        for name, value in OLD.items():
            setattr(w.autosaver, name, value)
    w.resize(900, 600)
    w.show()
    QTest.qWaitForWindowExposed(w)
    assert w.open_path(Path(clip))
    p, canvas = w.project, w.canvas
    width, height = p.masks.width, p.masks.height
    if scenario == "steady":
        times = [0.5 * k for k in range(int(duration / 0.5) + 1)]
    else:
        times = [5.2 * b + 0.3 * k for b in range(int(duration / 5.2) + 1) for k in range(5)]
    times = [t for t in times if t <= duration]
    t0, k = time.monotonic(), [0]

    def stroke() -> None:
        i = k[0]
        y = 4 + (i * 7) % (height - 8)
        x0 = 4 + (i * 13) % (width // 3)
        at = [canvas.to_widget(QPointF(x + 0.5, y + 0.5)).toPoint() for x in (x0, x0 + width // 4, x0 + width // 2)]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[0])
        QTest.mouseMove(canvas, at[1])
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[2])
        say("EDIT", time.monotonic(), project.mask_digest(p.masks.blob(0)))
        k[0] += 1
        if k[0] == len(times):
            say("READY", time.monotonic())
        else:
            QTimer.singleShot(max(0, round((t0 + times[k[0]] - time.monotonic()) * 1000)), stroke)

    QTimer.singleShot(0, stroke)
    app.exec()


def run(clip: str, timing: str, scenario: str, duration: float) -> dict:
    from app.ui.project import project_masks

    from app.ui.project import mask_digest

    tmp = Path(tempfile.mkdtemp(prefix="autosave-timing-"))
    env = {**os.environ, "STTN_INPAINT_DATA": str(tmp / "userdata"), "PYTHONPATH": str(ROOT)}
    c = subprocess.Popen([sys.executable, __file__, "child", clip, str(tmp / "settings"), timing, scenario,
                          str(duration)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.split()) for line in c.stdout] + [lines.put(None)],
                     daemon=True).start()
    edits, writes, gui, killed_at = [], [], [], None
    try:
        deadline = time.monotonic() + duration + 120
        while killed_at is None:
            words = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert words is not None, "the window ended before the kill"
            if words[0] == "EDIT":
                edits.append((float(words[1]), words[2]))
            elif words[0] == "WRITE":
                writes.append((float(words[1]), float(words[2]), words[3]))
            elif words[0] == "GUI":
                gui.append(float(words[1]))
            elif words[0] == "READY":
                os.kill(c.pid, signal.SIGKILL)
                killed_at = time.monotonic()  # (the same clock as the child's: CLOCK_MONOTONIC)
    finally:
        with_kill = c.poll() is None
        if with_kill:
            os.kill(c.pid, signal.SIGKILL)
        c.wait()
    autosaves = sorted((tmp / "userdata/autosave").glob("autosave*.sttnproj"))
    recovered = None
    if autosaves:
        masks = project_masks(autosaves[0])
        recovered = mask_digest(masks.get(0))
    index = {d: i for i, (_, d) in enumerate(edits)}

    def lost(at: float, durable: str | None) -> float:
        """Lost by a kill at ``at`` with the autosave ``durable`` on disk: from the first stroke it lacks."""
        held = index.get(durable, -1) if durable else -1
        later = [t for t, _ in edits[held + 1:] if t <= at]
        return at - later[0] if later else 0.0

    # the worst moment is just before a write ends (the state before it still on disk), or the kill
    durable, worst = None, 0.0
    for begun, ended, digest in sorted(writes, key=lambda w: w[1]):
        worst = max(worst, lost(ended, durable))
        durable = digest
    at_kill = lost(killed_at, recovered)
    worst = max(worst, at_kill)
    expected = max((w for w in writes if w[1] <= killed_at), key=lambda w: w[1], default=(0, 0, None))[2]
    shutil.rmtree(tmp, ignore_errors=True)
    return {"timing": timing, "scenario": scenario, "strokes": len(edits), "writes": len(writes),
            "recovered_stroke": index.get(recovered, -1) + 1, "recovered_is_last_write": recovered == expected,
            "lost_at_kill_s": round(at_kill, 2), "worst_lost_s": round(worst, 2),
            "gui_ms_max": round(max(gui, default=0.0), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip")
    ap.add_argument("--duration", type=float, default=70.0)
    ap.add_argument("--timings", nargs="+", default=["new", "old"])
    ap.add_argument("--scenarios", nargs="+", default=["steady", "bursts"])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    results = []
    for timing in args.timings:
        for scenario in args.scenarios:
            results.append(run(args.clip, timing, scenario, args.duration))
            print(json.dumps(results[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6]))
    else:
        main()
