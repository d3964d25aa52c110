"""Dragging the playhead along the scrub bar over the inpainted result, the timeline stopped: each
position shows its frame's JPEG proxy in the move itself; the exact result PNG is read off the GUI
thread, and only for the frame the playhead rests on or is let go on (never for the frames dragged
past), where the view ends on the exact PNG, bit for bit. Real mouse events through the event
loop, real files, a real thread."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt

from app.ui import preview
from app.ui import results as results_module
from test_result_steps import _slow_reads
from uihelpers import show_results, wait_exact


def _png_reads_by_thread(monkeypatch):
    """[(file name, thread)] of every image file read from now on."""
    reads, real = [], results_module.cv2.imread
    monkeypatch.setattr(results_module.cv2, "imread",
                        lambda path, *a: reads.append((Path(path).name, threading.current_thread())) or real(path, *a))
    return reads


def _drag(qtbot, bar, frames, between=None):
    """Press on the scrub bar at the first of ``frames``, move through the rest, release over the last;
    ``between(frame)`` after each move (the event loop runs before the next one)."""
    at = [QPoint(round(bar.x_of(f)), bar.height() // 2) for f in frames]
    qtbot.mousePress(bar, Qt.MouseButton.LeftButton, pos=at[0])
    for f, pos in zip(frames[1:], at[1:]):
        qtbot.mouseMove(bar, pos)
        if between is not None:
            between(f)
        qtbot.wait(1)
    qtbot.mouseRelease(bar, Qt.MouseButton.LeftButton, pos=at[-1])


def test_dragging_the_playhead_shows_each_frame_at_once_and_ends_on_its_exact_result(window, clip, qtbot, monkeypatch):
    p, put = show_results(window, clip)
    window.compare.set_mode("side")
    view, loader = window.result_view, window.result_loader
    real_get = p.results.get
    monkeypatch.setattr(p.results, "get", lambda i: (time.sleep(0.05), real_get(i))[1])  # a 1080p PNG's read
    wait_exact(window, qtbot)  # (frame 0's, read once the video opened)
    reads = _png_reads_by_thread(monkeypatch)
    read_before, requested_before = loader.read, loader.requested

    def shown_at_once(frame):  # in the move itself: the frame's own proxy (JPEG q90), never another frame's
        assert p.current == frame and window.timeline.current == frame
        assert view.result_rgb is not None and view.proxy_of == (p.reader.width, p.reader.height)
        assert np.abs(view.result_rgb.astype(int) - put[frame]).mean() < 8.0, f"frame {frame}: not its proxy"

    frames = list(range(p.n_frames)) + list(range(p.n_frames - 2, 3, -1))  # to the end and back to 4
    _drag(qtbot, window.timeline.bar, frames, shown_at_once)
    assert p.current == 4
    exact = wait_exact(window, qtbot)
    assert np.array_equal(exact, put[4]) and np.array_equal(exact, real_get(4))  # what Export reads
    gui = threading.main_thread()
    assert not [name for name, thread in reads if thread is gui and name.endswith(".png")], reads
    # no frame dragged past was read (each read would take a core from the drag): the last one only
    qtbot.wait(300)
    assert (loader.requested - requested_before, loader.read - read_before) == (1, 1)


def test_a_playhead_held_still_while_dragging_shows_the_exact_frame_with_the_button_still_down(
        window, clip, qtbot, monkeypatch):
    p, put = show_results(window, clip)
    window.compare.set_mode("side")
    wait_exact(window, qtbot)
    bar, view = window.timeline.bar, window.result_view
    at = lambda f: QPoint(round(bar.x_of(f)), bar.height() // 2)  # noqa: E731
    qtbot.mousePress(bar, Qt.MouseButton.LeftButton, pos=at(3))
    for f in (4, 5):
        qtbot.mouseMove(bar, at(f))
    t0 = time.monotonic()  # (before the move on to frame 6 starts the rest: the rest is a floor from here)
    qtbot.mouseMove(bar, at(6))
    assert p.current == 6 and view.proxy_of is not None
    assert np.array_equal(wait_exact(window, qtbot), put[6])  # resting on frame 6, the button down
    assert time.monotonic() - t0 >= preview.SCRUB_REST_MS / 1000
    qtbot.mouseMove(bar, at(9))  # and on: the proxy at once, the exact frame when let go
    assert p.current == 9 and view.proxy_of is not None
    qtbot.mouseRelease(bar, Qt.MouseButton.LeftButton, pos=at(9))
    assert np.array_equal(wait_exact(window, qtbot), put[9])


def test_a_still_playhead_after_a_drag_shows_the_exact_frame_though_its_read_ends_after_the_drag(
        window, clip, qtbot, monkeypatch):
    p, put = show_results(window, clip)
    window.compare.set_mode("split")
    gate, started = _slow_reads(monkeypatch, p.results, {2})
    bar = window.timeline.bar
    qtbot.mousePress(bar, Qt.MouseButton.LeftButton, pos=QPoint(round(bar.x_of(2)), bar.height() // 2))
    qtbot.waitUntil(started.is_set, timeout=10_000)  # frame 2's PNG is being read, the button still down
    assert window.result_view.proxy_of is not None
    _drag(qtbot, bar, [2, 5, 9, 7])  # on to 7 while it is read
    gate.set()
    assert np.array_equal(wait_exact(window, qtbot), put[7])
    qtbot.wait(100)  # nothing read late replaces it
    assert p.current == 7 and window.result_view.proxy_of is None
    assert np.array_equal(window.result_view.result_rgb, put[7])


def test_closing_the_window_while_a_result_is_read_leaves_no_thread_running(window, clip, qtbot, monkeypatch):
    p, _ = show_results(window, clip)
    window.compare.set_mode("side")
    gate, started = _slow_reads(monkeypatch, p.results, {6})
    folder = p.results.folder
    p.set_current(6)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    threading.Timer(0.3, gate.set).start()  # the read ends while the window closes
    p.undo.setClean()
    window.close()
    thread = window.result_loader.reader._thread
    assert thread.isFinished() and not thread.isRunning()
    assert not folder.exists()  # the results folder is deleted after the read, not under it
    qtbot.wait(50)  # a late 'loaded' reaches nothing closed
