"""A Qt object must die on the GUI thread: an Autosaver let go of while its write runs.

The writing thread used to hold the Autosaver (its ``_run`` was the thread's target), so when the
window or a test let go of it during a write, the thread dropped the last reference and the
Autosaver, with its running QTimer, was deleted on the writing thread. Qt cannot stop a timer from
another thread, so the GUI thread's event loop delivered the next timeout to freed memory: a
segmentation fault. Run in a child process: before the fix it crashes the interpreter.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys, threading, weakref
    sys.path[:0] = [{root!r}, {tests!r}]
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from uihelpers import HeldWrites
    from app.ui.project import Autosaver, Project

    class Patch:  # HeldWrites wants pytest's monkeypatch
        def setattr(self, obj, name, value):
            setattr(obj, name, value)

    held = HeldWrites(Patch())
    p = Project()
    p.open_video({clip!r})
    p.mark_dirty()
    saver = Autosaver(p, {folder!r}, interval_ms=20)  # its timer fires while the loop below runs
    died = []
    watch = weakref.ref(saver, lambda _: died.append(threading.current_thread().name))
    assert saver.save_now() is not None and held.entered.wait(10)
    writer = saver._write.thread
    del saver  # the GUI thread lets go of the Autosaver while its write runs
    held.release()
    writer.join(10)
    assert not writer.is_alive()
    loop = QEventLoop()
    QTimer.singleShot(300, loop.quit)
    loop.exec()  # more than ten of the Autosaver's timeouts
    print("died on", died, flush=True)
""")


def test_an_autosaver_let_go_of_during_a_write_is_deleted_on_the_gui_thread(make_clip, tmp_path):
    code = SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests" / "ui"), clip=str(make_clip(n=4)),
                         folder=str(tmp_path / "auto"))
    run = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]  # -11 (SIGSEGV) before the fix
    assert "died on ['MainThread']" in run.stdout, out[-3000:]
    assert "Timers cannot be stopped from another thread" not in out, out[-3000:]


def _cycle_dropped_on_a_worker(held_open):
    """A worker thread drops a reference cycle with a finaliser, then allocates past the
    collector's threshold as a job does; returns the list the finaliser appends its thread to."""
    import threading

    died, ready = [], threading.Event()

    class Node:
        def __del__(self):
            died.append(threading.current_thread().name)

    def work():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        keep = [[] for _ in range(5000)]  # many times the first generation's threshold
        ready.set()
        held_open.wait(10)
        del keep

    thread = threading.Thread(target=work, name="worker")
    thread.start()
    assert ready.wait(10)
    return died, thread


def test_cycles_dropped_on_a_worker_are_collected_on_the_gui_thread(qtbot):
    """The interpreter's own collector would run on the worker (checked first, as the control);
    GuiThreadCollector runs it on the GUI thread from its timer."""
    import gc
    import threading

    from app.ui.gcguard import GuiThreadCollector

    assert gc.isenabled()
    release = threading.Event()
    died, thread = _cycle_dropped_on_a_worker(release)
    release.set()
    thread.join(10)
    assert died == ["worker", "worker"]  # the control: without the guard it dies on the worker

    collector = GuiThreadCollector(interval_ms=20)
    try:
        assert not gc.isenabled()
        release = threading.Event()
        died, thread = _cycle_dropped_on_a_worker(release)
        assert died == []  # nothing collected while the worker allocates
        qtbot.waitUntil(lambda: len(died) == 2, timeout=5000)
        assert died == ["MainThread", "MainThread"]
        assert sum(collector.collections) >= 1  # (gen 0, or an older one when that is due too)
    finally:
        release.set()
        thread.join(10)
        collector.stop()
    assert gc.isenabled()


RUN_GUI = textwrap.dedent("""
    import gc, sys, threading, time, weakref
    sys.path[:0] = [{root!r}]
    from PySide6.QtCore import QObject, QTimer
    from PySide6.QtWidgets import QApplication
    from app.gui import make_app, run_gui

    app = make_app([])
    seen, held = {{}}, []
    deadline = time.monotonic() + 60

    def check():
        window = next((w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow"), None)
        if (window is None or not window.project.has_video) and time.monotonic() < deadline:
            QTimer.singleShot(100, check)  # (not open yet: under load the clip was still opening at 2.4 s)
            return
        QTimer.singleShot(1500, window.close)  # (whatever the checks below find)
        seen["enabled"], seen["frozen"] = gc.isenabled(), gc.get_freeze_count()
        seen["frames"] = window.project.n_frames if window.project.has_video else 0
        seen["died"] = died = []
        box = [QObject()]  # made on the GUI thread, in a cycle, let go of by a worker
        box[0].me = box[0]
        seen["watch"] = weakref.ref(box[0], lambda _: died.append(threading.current_thread().name))

        def work():  # (what it allocates stays, as a job's results do: the count stays past the threshold)
            del box[0]
            held.extend([] for _ in range(5000))

        t = threading.Thread(target=work, name="worker")
        t.start()
        t.join()

    QTimer.singleShot(1500, check)
    code = run_gui([{clip!r}])
    seen.pop("watch")
    print("exit", code, "seen", seen, "enabled after", gc.isenabled(), flush=True)
""")


def test_the_application_collects_cycles_on_the_gui_thread(make_clip, tmp_path):
    """`python main.py CLIP` as a user starts it: the window opens the clip, automatic collection
    is off and start-up's objects frozen, a QObject cycle dropped by a worker is destroyed on the
    GUI thread, and closing the window ends the application."""
    code = RUN_GUI.format(root=str(ROOT), clip=str(make_clip(n=4)))
    run = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], capture_output=True, text=True,
                         timeout=180, env={**os.environ, "QT_QPA_PLATFORM": "offscreen",
                                           "STTN_INPAINT_DATA": str(tmp_path / "data"),
                                           "XDG_CONFIG_HOME": str(tmp_path / "config")})
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "exit 0 seen {'enabled': False" in run.stdout, out[-3000:]
    assert "'frames': 4" in run.stdout, out[-3000:]
    assert "'died': ['MainThread']" in run.stdout, out[-3000:]
    assert "enabled after True" in run.stdout, out[-3000:]
    frozen = int(run.stdout.split("'frozen': ")[1].split(",")[0])
    assert frozen > 10_000, out[-3000:]
