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
