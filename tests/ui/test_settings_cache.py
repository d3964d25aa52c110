"""Storage in the settings dialog: folders, cache usage, the limit, 'Clear cache'; the GUI log file."""
import logging
import os
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from app.core import cache, paths
from uihelpers import square_mask

OLD = time.time() - 3600


def write(path, size, used=OLD):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    os.utime(path, (used, used))
    return path


@pytest.fixture
def filled(window):
    """Decoded clips, a crashed session's results and the open project's result in the cache."""
    root = cache.cache_dir()
    window.project.results.put(0, np.zeros((8, 8, 3), np.uint8))
    return {"clip": write(root / "train-frames" / "clip-1.u8", 300_000),
            "leftover": write(root / "results" / "sttn-results-crashed" / "000003.png", 200_000),
            "open": window.project.results.folder / "000000.png"}


def test_storage_tab_shows_folders_and_usage(window, filled):
    d = window.show_settings()
    d.tabs.setCurrentIndex(d.tabs.indexOf(d.clear_cache_button.parentWidget()))
    text = " ".join(label.text() for label in d.findChildren(type(d.cache_usage)))
    for folder in (paths.user_data_dir(), paths.user_cache_dir(), paths.user_log_dir()):
        assert str(folder) in text
    assert window.settings.q.fileName() in text
    assert d.cache_usage.text().startswith("488.") and "train-frames 293.0 KB" in d.cache_usage.text()
    d.close()


def test_clear_cache_button_empties_the_cache_but_keeps_the_open_result(window, filled, dialogs, qtbot):
    d = window.show_settings()
    dialogs.answer = QMessageBox.StandardButton.No
    qtbot.mouseClick(d.clear_cache_button, Qt.MouseButton.LeftButton)
    assert dialogs[-1][0] == "question" and filled["clip"].exists()  # asked first; 'No' keeps everything
    dialogs.answer = QMessageBox.StandardButton.Yes
    qtbot.mouseClick(d.clear_cache_button, Qt.MouseButton.LeftButton)
    assert not filled["clip"].exists() and not filled["leftover"].exists()
    assert filled["open"].exists() and window.project.results.get(0) is not None
    assert sorted(p.name for p in (cache.cache_dir() / "results").iterdir()) == [window.project.results.folder.name]
    assert d.cache_usage.text().endswith("train-frames 0 bytes, results " + cache.format_size(
        cache.folder_size(window.project.results.folder)))
    assert "Cleared 488." in window.statusBar().currentMessage()
    d.close()


def test_clear_cache_is_disabled_while_a_job_runs(window, qtbot):
    d = window.show_settings()
    release = threading.Event()
    jobs = window.controller.engine  # the training thread's results go to the fine-tune page
    with qtbot.waitSignal(jobs.busyChanged):
        jobs.submit("Hold", lambda host, progress, cancel: release.wait(30))
    assert not d.clear_cache_button.isEnabled()
    assert window.controller.clear_cache().files == 0  # refused, said in a dialog
    with qtbot.waitSignal(jobs.finished, timeout=30_000):
        release.set()
    assert d.clear_cache_button.isEnabled()
    d.close()


def test_limit_persists_and_applies_on_ok(window, filled):
    from app.ui.appsettings import AppSettings

    d = window.show_settings()
    assert d.cache_limit.value() == cache.DEFAULT_LIMIT_BYTES >> 20 == window.settings.cache_limit_mb
    d.cache_limit.setValue(1)  # MB
    newer = write(cache.cache_dir() / "train-frames" / "clip-2.u8", 900_000, used=OLD + 10)
    d.accept()
    QSettings().sync()
    assert AppSettings().cache_limit_mb == 1
    assert not filled["clip"].exists() and not filled["leftover"].exists()  # the two least recently used
    assert newer.exists() and filled["open"].exists()
    assert cache.folder_size(cache.cache_dir()) <= 1 << 20
    d = window.show_settings()
    d.cache_limit.setValue(300)
    d.reject()  # Cancel: the limit stays
    assert window.settings.cache_limit_mb == 1
    assert window.show_settings().cache_limit.value() == 1
    d.close()


def test_finished_inpaint_trims_the_cache(window, clip, qtbot):
    old = write(cache.cache_dir() / "train-frames" / "old.u8", 2 << 20)
    window.settings.cache_limit_mb = 1
    window.settings.weights = ""
    window.open_path(clip)
    window.project.set_range(0, 3)
    window.project.edit_mask(square_mask(), "range")
    with qtbot.waitSignal(window.controller.engine.finished, timeout=120_000):
        window.controller.inpaint()
    assert not old.exists()
    assert window.project.results.indices() == [0, 1, 2]
    assert all(window.project.results.get(i) is not None for i in range(3))
    assert window.project.results.folder.parent == cache.cache_dir() / "results"


@pytest.fixture
def gui_log():
    from app.core.logfile import remove_log_file
    from app.gui import crash_log, start_log_file

    handler = start_log_file()
    yield paths.user_log_dir() / "sttn-inpaint.log"
    crash_log.removeHandler(handler)
    remove_log_file(handler)


def test_gui_log_file_records_start_and_uncaught_errors(gui_log, dialogs, qapp):
    from app.core.errors import VideoError
    from app.gui import _excepthook

    assert "STTN Inpaint" in gui_log.read_text() and "started" in gui_log.read_text()
    passed_on = []
    hook = _excepthook(lambda *exc: passed_on.append(exc[0]))
    try:
        raise ValueError("a bug in a slot")
    except ValueError as exc:
        hook(ValueError, exc, exc.__traceback__)
    hook(VideoError, VideoError("Cannot open clip.mp4."), None)
    text = gui_log.read_text()
    assert "ERROR app.crash: uncaught exception" in text and "ValueError: a bug in a slot" in text
    assert "Traceback" in text and "WARNING app.crash: Cannot open clip.mp4." in text
    assert passed_on == [ValueError]  # the bug still reaches Python's hook; the user error is a dialog
    assert dialogs[-1] == ("critical", "Cannot open clip.mp4.")
    logging.getLogger("app.ui").info("from a widget")
    assert "INFO app.ui: from a widget" in gui_log.read_text()
