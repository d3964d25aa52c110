"""Stepping through the result while the timeline is stopped: the exact result PNG is read on the
result loader's thread, never on the GUI thread; the JPEG proxy stands in until it is there, and no
picture of another frame, or of an older result of the frame, is ever left on screen."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from app.ui import results as results_module
from test_audit_results import paint, run_inpaint
from uihelpers import show_results, square_mask, wait_exact


def _with_results(window, clip):
    p, put = show_results(window, clip)
    window.compare.set_mode("side")
    return p, put


def _record_shown(window, monkeypatch):
    """[(current frame, proxy_of, result)] of every picture the result view is given."""
    view, shown = window.result_view, []
    real = view.set_frames

    def set_frames(original, result, *a, **k):
        shown.append((window.project.current, k.get("proxy_of"), None if result is None else result.copy()))
        return real(original, result, *a, **k)

    monkeypatch.setattr(view, "set_frames", set_frames)
    return shown


def _only_its_own_frame(shown, expected):
    """Each picture shown is of the frame current then: the exact result bit for bit, or its proxy."""
    for i, proxy_of, rgb in shown:
        want = expected(i)
        if proxy_of is None:
            assert np.array_equal(rgb, want), f"frame {i}: an exact picture of something else"
        else:
            assert np.abs(rgb.astype(int) - want).mean() < 8.0, f"frame {i}: a proxy of something else"


def test_fast_steps_read_no_png_on_the_gui_thread_and_end_on_the_exact_last_frame(window, clip, qtbot, monkeypatch):
    p, put = _with_results(window, clip)
    p.set_current(1)
    wait_exact(window, qtbot)
    loader = window.result_loader
    reads = []
    real = results_module.cv2.imread
    monkeypatch.setattr(results_module.cv2, "imread",
                        lambda path, *a: reads.append((Path(path).name, threading.current_thread()))
                        or real(path, *a))
    shown = _record_shown(window, monkeypatch)
    before = loader.read
    for _ in range(6):  # Right held down: six steps before the event loop runs again
        qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    assert p.current == 7
    assert wait_exact(window, qtbot) is not None and shown[-1][1] is None
    _only_its_own_frame(shown, put.get)
    assert np.array_equal(window.result_view.result_rgb, put[7])
    gui = threading.main_thread()
    assert not [name for name, thread in reads if thread is gui and name.endswith(".png")], reads
    # the frames stepped past while a read ran were never read: the first step's and the last one's
    assert loader.read - before == 2 and loader.dropped >= 4
    # back to a frame read a moment ago: shown exact at once, from what the loader keeps
    p.set_current(1)
    assert window.result_view.proxy_of is None and np.array_equal(window.result_view.result_rgb, put[1])


def _slow_reads(monkeypatch, results, frames):
    """Reads of ``frames`` take the file as it is, then wait for the returned Event before handing it on."""
    gate, real = threading.Event(), results.get
    started = threading.Event()

    def get(index):
        rgb = real(index)
        if index in frames:
            started.set()
            assert gate.wait(30), "never released"
        return rgb

    monkeypatch.setattr(results, "get", get)
    return gate, started


def test_a_late_read_of_a_frame_stepped_past_does_not_replace_the_frame_shown(window, clip, qtbot, monkeypatch):
    p, put = _with_results(window, clip)
    gate, started = _slow_reads(monkeypatch, p.results, {3})
    shown = _record_shown(window, monkeypatch)
    p.set_current(3)
    qtbot.waitUntil(started.is_set, timeout=10_000)  # frame 3's PNG is being read...
    p.set_current(8)  # ...when the user goes on
    reads = window.result_loader.read
    gate.set()
    qtbot.waitUntil(lambda: window.result_loader.read > reads, timeout=5_000)  # frame 3's read has ended
    assert p.current == 8
    assert np.array_equal(wait_exact(window, qtbot), put[8])
    _only_its_own_frame(shown, put.get)
    assert not [s for s in shown if s[0] == 8 and s[1] is None and not np.array_equal(s[2], put[8])]


def test_a_result_written_again_while_its_old_file_is_read_shows_the_new_one(window, clip, qtbot, monkeypatch):
    p, put = _with_results(window, clip)
    gate, started = _slow_reads(monkeypatch, p.results, {5})
    p.set_current(5)
    qtbot.waitUntil(started.is_set, timeout=10_000)  # the old PNG of frame 5 has been read, not yet handed on...
    new = np.full_like(put[5], 90)
    p.results.put(5, new)  # ...when a new Inpaint writes the frame again (its worker tells the view)
    p.resultChanged.emit()
    shown = _record_shown(window, monkeypatch)
    gate.set()
    assert np.array_equal(wait_exact(window, qtbot), new)
    _only_its_own_frame(shown, lambda i: new)


def test_a_result_inpainted_again_while_shown_is_refreshed(window, clip, qtbot):
    window.open_path(clip)
    p, _ = paint(window, 0, 6)
    run_inpaint(window, qtbot)
    window.compare.set_mode("side")
    p.set_current(3)
    old = wait_exact(window, qtbot).copy()
    p.edit_mask(square_mask(box=(30, 8, 70, 50)), "frame")  # another hole on this frame
    assert "changed" in window.result_view.note
    run_inpaint(window, qtbot)
    new = wait_exact(window, qtbot)
    assert window.result_view.note == "" and not np.array_equal(new, old)
    assert np.array_equal(new, p.results.get(3))
