"""Ctrl+C in the terminal that started the window: the real program in a process of its own."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The window as `main.py` opens it (app.gui.run_gui); READY on stdout once it is up and its event loop
# runs. With "refuse" its close is refused, as when the user answers Cancel to "Save changes?".
CHILD = """
import sys
from PySide6.QtCore import QTimer
import app.gui
from app.ui.main_window import MainWindow

offer = MainWindow.offer_recovery

def ready(self):
    offer(self)
    if sys.argv[1] == "refuse":
        self.closeEvent = lambda e: (print("REFUSED", flush=True), e.ignore())
    QTimer.singleShot(0, lambda: print("READY", flush=True))

MainWindow.offer_recovery = ready
sys.exit(app.gui.run_gui([]))
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child process")


def start(tmp_path, mode: str) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
           "STTN_INPAINT_DATA": str(tmp_path / "data"), "STTN_INPAINT_CONFIG": str(tmp_path / "config"),
           "STTN_INPAINT_CACHE": str(tmp_path / "cache"), "XDG_STATE_HOME": str(tmp_path / "state")}
    child = subprocess.Popen([sys.executable, str(script), mode], cwd=ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.strip() == "READY":
            return child
        if not line and child.poll() is not None:
            break
    child.kill()
    pytest.fail(f"the window did not start: {child.communicate()[1][-2000:]}")


def test_ctrl_c_closes_the_window_without_a_traceback(tmp_path):
    child = start(tmp_path, "open")
    t0 = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err[-2000:]
    assert time.monotonic() - t0 < 10  # (it waits for no mouse move: the loop is woken)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    assert "interrupted: closing the window (Ctrl+C again ends it at once" in err


def test_a_second_ctrl_c_ends_a_window_that_would_not_close(tmp_path):
    child = start(tmp_path, "refuse")
    child.send_signal(signal.SIGINT)
    assert child.stdout.readline().strip() == "REFUSED"  # (asked to close, the "user" kept it open)
    time.sleep(0.5)
    assert child.poll() is None
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGINT, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
