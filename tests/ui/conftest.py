"""GUI fixtures: settings and user data in tmp, a tiny generator, small clips, and a thread guard."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.core.sttn import GeneratorConfig, InpaintGenerator, save_generator
from app.ui import workers

TINY = GeneratorConfig(channels=32, blocks=1, patch_sizes=((27, 15), (9, 5)), width=108, height=60)


@pytest.fixture(autouse=True, scope="session")
def sound_singletons():
    """The suite drives Qt for minutes as the application does: where the installed PySide6 loses
    references to True/None (6.12.0 before Python 3.12) it must not abort the run either."""
    from app.gui import keep_singletons_alive

    keep_singletons_alive()


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail a test that leaves a worker QThread running (napari's rule)."""
    yield
    running = [t for t in list(workers.THREADS) if t.isRunning()]
    for t in running:
        t.quit()
        t.wait(10_000)
    assert not running, f"QThreads left running: {[t.objectName() for t in running]}"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """QSettings and user data in tmp: tests never see or change the user's files."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("STTN_INPAINT_DATA", str(tmp_path / "userdata"))
    return tmp_path


@pytest.fixture
def dialogs(monkeypatch):
    """Record message boxes instead of blocking on them; questions answer ``dialogs.answer``."""

    class Log(list):
        answer = QMessageBox.StandardButton.Discard

    log = Log()

    def record(kind):
        def fn(parent, title, text, *a, **k):
            log.append((kind, text))
            return log.answer if kind == "question" else QMessageBox.StandardButton.Ok
        return fn

    for kind in ("critical", "warning", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(record(kind)))
    return log


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    save_generator(InpaintGenerator(TINY), path)
    return path


@pytest.fixture
def settings(tiny_weights):
    from app.ui.appsettings import AppSettings

    s = AppSettings()
    s.weights = str(tiny_weights)
    s.device = "cpu"
    return s


def _open_window(qtbot, settings):
    from app.ui.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    return w


def _close_window(w) -> None:
    w.project.undo.setClean()
    w.project._dirty = False
    w.close()


@pytest.fixture
def window(qtbot, settings, dialogs):
    w = _open_window(qtbot, settings)
    yield w
    _close_window(w)


@pytest.fixture
def restart(qtbot, settings, dialogs):
    """``restart()``: another main window on the same settings and user data, as at the program's
    next start (close the one before first); each is closed at the end of the test."""
    opened = []

    def open_again():
        opened.append(_open_window(qtbot, settings))
        return opened[-1]

    yield open_again
    for w in opened:
        _close_window(w)


@pytest.fixture
def clip(make_clip):
    return make_clip(n=12, width=96, height=64, fps=12, audio=True)
