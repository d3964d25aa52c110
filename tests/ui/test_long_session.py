"""A window kept open for hours: what one clip used is let go when the next is opened.

benchmarks/bench_session_memory.py drives the window through a long session and measures the
process; these tests pin each leak it found (docs/LOAD.md, "A long working session").
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.core.video import write_test_clip
from app.ui.workers import EngineHost
from uihelpers import square_mask

needs_proc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")


def files_held_open(folder: Path) -> list[str]:
    """The names of the files under ``folder`` this process has open."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # (closed meanwhile: the listing's own descriptor)
            continue
        if target.startswith(str(folder)):
            held.append(Path(target).name)
    return sorted(held)


def frames(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (64, 96, 3), np.uint8) for _ in range(n)]


@needs_proc
def test_files_of_closed_videos_are_not_held_open(window, qtbot, tmp_path):
    """One clip after another, each previewed and clicked with the Select tool: the engine's and the
    click tool's threads kept a reader of every video ever opened (its file, FFmpeg's decoder threads
    and the index) until the window closed: 2 files, ~8 threads and ~17 MB more with each clip."""
    clips = tmp_path / "clips"
    clips.mkdir()
    p, c, seg = window.project, window.controller, window.segment
    for k in range(4):
        clip = write_test_clip(clips / f"clip{k}.mp4", frames(6, k), fps=10)
        assert window.open_path(clip)
        p.set_current(2)
        p.edit_mask(square_mask(), "frame")
        p.set_engine_settings({**p.engine_settings, "fill": "telea"})
        with qtbot.waitSignal(c.engine.finished, timeout=30_000):
            assert c.preview() is not None
        window.tools.set_tool("segment")  # (GrabCut reads a neighbouring frame through its thread's reader)
        with qtbot.waitSignal(seg.candidatesChanged, timeout=30_000):
            qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton,
                             pos=window.canvas.to_widget(QPointF(30, 30)).toPoint())
        window.tools.set_tool("brush")
        p.undo.setClean()
        p._dirty = False
        assert set(files_held_open(clips)) == {clip.name}, (k, files_held_open(clips))


def test_a_video_replaced_under_the_same_name_is_read_anew(tmp_path):
    """The worker's reader is kept between jobs by path: a clip rendered again under the same name and
    opened again was read through the old file (its frame count, its pictures)."""
    path = tmp_path / "clip.mp4"
    write_test_clip(path, frames(5, 0), fps=10)
    host = EngineHost()
    try:
        first = host.reader(path)
        assert len(first) == 5 and host.reader(path) is first  # (kept for the next job)
        write_test_clip(path, frames(8, 1), fps=10)
        again = host.reader(path)
        assert len(again) == 8 and np.array_equal(again[7], host.reader(path)[7])
    finally:
        host.close()


ARENA_PROBE = """
import ctypes, sys, threading
if sys.argv[1] == "limit":
    from app.gui import limit_malloc_arenas
    assert limit_malloc_arenas()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
together = threading.Barrier(8)

def work():
    p = libc.malloc(64 << 10)  # (below the mmap threshold: from the thread's heap)
    together.wait()
    libc.free(ctypes.c_void_p(p))

threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
libc.malloc_stats()  # (to stderr: an "Arena N:" line a heap)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's malloc")
def test_the_window_process_keeps_to_two_malloc_heaps(monkeypatch):
    """Each thread that allocated got a heap of its own (16 on two cores): frames freed into so many
    fragmented them, and the window's process grew clip after clip. ``run_gui`` calls
    ``limit_malloc_arenas`` first; with it eight threads allocating at once share two heaps."""
    import subprocess

    from app import gui

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    root = Path(__file__).resolve().parents[2]

    def heaps(mode):
        run = subprocess.run([sys.executable, "-c", ARENA_PROBE, mode], cwd=root, capture_output=True, text=True,
                             timeout=60, check=True)
        return run.stderr.count("Arena ")

    assert heaps("default") > 2  # (the probe sees what the limit is for)
    assert heaps("limit") <= 2
    called = []

    def stop():  # (the step after it: the window is not made)
        raise SystemExit

    monkeypatch.setattr(gui, "limit_malloc_arenas", lambda: called.append(True) or True)
    monkeypatch.setattr(gui, "start_log_file", stop)
    with pytest.raises(SystemExit):
        gui.run_gui([])
    assert called
