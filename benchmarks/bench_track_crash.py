"""How much of a Track survives a kill, and what keeping it costs (tests/ui/test_track_crash.py).

kill: the real main window (offscreen) in a process of its own, with the default autosave (every
60 s, from the window's start), commits the first girl of schoolgirls (its ground-truth mask on
frame 0) and tracks the whole clip on the CPU; it is SIGKILLed KILL_AT seconds after Track starts.
Then the autosave it left is loaded as the next start would: the frames tracked it holds, against
the frames tracked at the kill. Make the clip with bench_track_long.py first:

    .venv/bin/python benchmarks/bench_track_long.py --make-clip /tmp/sg1200.mp4 1200
    .venv/bin/python benchmarks/bench_track_crash.py kill /tmp/sg1200.mp4 100

take: the GUI thread's part of an autosave mid-Track (``TrackSoFar.take``: the frames so far copied
under the job's lock) and the writing thread's (``land_in_snapshot``), at N tracked 1080p frames:

    .venv/bin/python benchmarks/bench_track_crash.py take 20000

Figures: the commit that added this file.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import numpy as np  # noqa: E402

MASK0 = ROOT.parent / "shared/data/clips/schoolgirls_mask/00000.png"


def child(clip: str, settings_dir: str) -> None:
    """The window: commit the girl on frame 0, Track; print START, DONE (progress), SAVED lines."""
    import cv2
    from PIL import Image
    from PySide6.QtCore import QSettings

    from app.gui import keep_singletons_alive, make_app

    keep_singletons_alive()
    app = make_app([])
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    from app.ui.appsettings import AppSettings
    from app.ui.main_window import MainWindow

    settings = AppSettings()
    settings.device = "cpu"
    w = MainWindow(settings)  # (the default autosave interval)
    w.resize(900, 600)
    w.show()
    assert w.open_path(Path(clip))
    p = w.project
    girl = np.array(Image.open(MASK0)) == 1
    girl = cv2.resize(girl.astype(np.uint8), (p.masks.width, p.masks.height), interpolation=cv2.INTER_NEAREST) > 0
    p.edit_mask(girl, "frame", keyframe=True, new_object=girl)
    t0 = time.monotonic()

    def say(*words) -> None:
        print(*words, flush=True)

    w.autosaver.saved.connect(lambda path: say("SAVED", round(time.monotonic() - t0, 1)))
    w.controller.engine.progress.connect(lambda job, r: say("DONE", round(time.monotonic() - t0, 1), r.done))
    w.segment.track_action.trigger()
    say("START")
    app.exec()


def kill(clip: str, kill_at: float) -> dict:
    from PySide6.QtWidgets import QApplication

    from app.ui.project import Project

    tmp = Path(tempfile.mkdtemp(prefix="track-crash-"))
    env = {**os.environ, "STTN_INPAINT_DATA": str(tmp / "userdata"), "PYTHONPATH": str(ROOT)}
    c = subprocess.Popen([sys.executable, __file__, "child", clip, str(tmp / "settings")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.split()) for line in c.stdout], daemon=True).start()
    started, done, saved = None, 0, []
    try:
        while started is None or time.monotonic() - started < kill_at:
            try:
                words = lines.get(timeout=0.2)
            except queue.Empty:
                assert c.poll() is None, "the window ended before the kill"
                continue
            if words[0] == "START":
                started = time.monotonic()
            elif words[0] == "DONE":
                done = int(words[2])
            elif words[0] == "SAVED":
                saved.append(float(words[1]))
    finally:
        os.kill(c.pid, signal.SIGKILL)
        c.wait()
    QApplication.instance() or QApplication([])
    autosave = sorted((tmp / "userdata/autosave").glob("autosave*.sttnproj"))[0]
    p = Project()
    p.load(autosave)
    run = p.last_track or {}
    out = {"clip": clip, "frames": p.n_frames, "killed_at_s": kill_at, "tracked_at_kill": done - 1,
           "autosaves_at_s": saved, "tracked_in_autosave": len(p.masks.masked_frames()) - 1,
           "pending_in_autosave": len(run.get("pending", ())), "notes": p.load_notes}
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def take(n: int, rounds: int = 5) -> dict:
    from app.core.masks import MaskStore
    from app.ui.project import ProjectSnapshot, mask_digest
    from app.ui.segment_tool import TrackSoFar

    w, h, end = 1920, 1080, n + 1000
    yy, xx = np.mgrid[:h, :w]
    scratch, blobs = MaskStore(1, w, h), []
    for k in range(50):  # 50 distinct masks (a moving disc), each used by many frames
        scratch.set(0, (xx - 300 - 20 * k) ** 2 + (yy - 500) ** 2 < 150 ** 2)
        blobs.append(scratch.blob(0))
    masks, tracked = MaskStore(end, w, h), MaskStore(end, w, h)
    masks.set_blob(0, blobs[0])
    changes = {i: (None, blobs[i % 50]) for i in range(1, n)}
    owned = {i: blobs[i % 50] for i in range(1, n)}
    labels = dict.fromkeys(range(1, n))
    flags = {i: "lost" for i in range(1, n, 97)}
    seen, meant = set(range(n)), set(range(1, end))

    def result() -> dict:  # (as track_job's, stopped now)
        return {"changes": dict(changes), "flags": dict(flags), "tracked": dict(owned), "objects": dict(labels),
                "start": 0, "end": end, "spans": [(0, end)], "followed": [0], "from": [0], "n_objects": 1,
                "stopped": True, "frames": sorted(seen), "pending": sorted(meant - seen)}

    data = {"kind": "track", "keys": {0: mask_digest(blobs[0])}, "range": (0, end), "sam": None, "video": "/v.mp4",
            "keyframes": {0}, "empty_keys": set(), "finishing": False}
    so_far = TrackSoFar(data)
    so_far.result, so_far.count = result, n - 1
    gui, writer = [], []
    for _ in range(rounds):
        snap = ProjectSnapshot(masks.copy(), tracked.copy(), {}, {}, "/v.mp4", (0, end), 0, {}, {0}, {}, None, end, 25.0)
        t = time.perf_counter()
        amend = so_far.take()
        gui.append(time.perf_counter() - t)
        t = time.perf_counter()
        amend(snap)
        writer.append(time.perf_counter() - t)
        assert len(snap.masks.masked_frames()) == n and len(snap.last_track["pending"]) == 1000
    return {"tracked_frames": n, "take_gui_ms": round(1000 * statistics.median(gui), 2),
            "land_in_snapshot_writer_ms": round(1000 * statistics.median(writer), 1)}


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "kill":
        print(json.dumps(kill(sys.argv[2], float(sys.argv[3])), indent=1))
    elif sys.argv[1] == "take":
        print(json.dumps(take(int(sys.argv[2]))))
    else:
        sys.exit(__doc__)
