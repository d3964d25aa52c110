"""Opening and scrubbing do not block the GUI thread: indexing and decoding run on workers.

The reader is slowed down (a sleep in the index pass and in every frame read) so that work
on the GUI thread would show up as a long gap between the ticks of a 10 ms QTimer.
"""
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from app.core.video import VideoReader
from app.ui.qimage import qimage_to_rgb

# a read or an index pass on the GUI thread would stop its ticks at least this long (a sleep is a
# floor); MAX_GAP_MS leaves room below that for a loaded 2-core machine, where the ticks of a GUI
# thread doing nothing of the kind were seen 244 ms apart (the read was 250 ms and the bound 150 ms)
SLOW_READ_S = 1.0
SLOW_INDEX_S = 1.0
MAX_GAP_MS = 750


class Ticks:
    """Gaps (ms) between the ticks of a 10 ms timer on the GUI thread."""

    def __init__(self):
        self.times = []
        self.timer = QTimer()
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))
        self.timer.start(10)

    def max_gap_ms(self) -> float:
        self.timer.stop()
        return max((b - a) * 1000 for a, b in zip(self.times, self.times[1:]))


@pytest.fixture
def slow_reader(monkeypatch):
    """VideoReader reads sleep SLOW_READ_S; ``threads`` records who read, ``read`` is the real one."""
    threads = []
    read = VideoReader.read

    def slow_read(self, index):
        threads.append(threading.current_thread())
        time.sleep(SLOW_READ_S)
        return read(self, index)

    monkeypatch.setattr(VideoReader, "read", slow_read)
    monkeypatch.setattr(VideoReader, "__getitem__", slow_read)
    return SimpleNamespace(threads=threads, read=read)


@pytest.fixture
def slow_index(monkeypatch):
    index = VideoReader._index_timestamps
    threads = []

    def slow(self, progress, cancel):
        threads.append(threading.current_thread())
        for _ in range(int(SLOW_INDEX_S / 0.05)):
            time.sleep(0.05)
            if cancel is not None:
                cancel.check()
        index(self, progress, cancel)

    monkeypatch.setattr(VideoReader, "_index_timestamps", slow)
    return threads


def test_open_indexes_on_a_worker_and_the_window_stays_live(window, make_clip, qtbot, slow_index):
    clip = make_clip(n=30, width=96, height=64)
    seen = {}
    QTimer.singleShot(300, lambda: seen.update(open_enabled=window.open_action.isEnabled(),
                                               bar=window.open_bar.isVisible()))
    ticks = Ticks()
    assert window.open_path(clip)
    assert ticks.max_gap_ms() < MAX_GAP_MS
    assert slow_index and threading.main_thread() not in slow_index
    assert seen == {"open_enabled": False, "bar": True}  # busy indicator; no second open meanwhile
    assert window.open_action.isEnabled()
    assert window.project.n_frames == 30 and window.canvas.frame_index == 0


def test_cancel_while_indexing_keeps_the_open_video(window, make_clip, qtbot, slow_index, dialogs):
    first = make_clip(n=10, width=96, height=64, name="first.mp4")
    slow_second = make_clip(n=20, width=96, height=64, name="second.mp4")
    assert window.open_path(first)
    QTimer.singleShot(150, window.open_bar.cancel_button.click)
    assert not window.open_path(slow_second)
    assert window.project.n_frames == 10 and window.project.video_path.name == "first.mp4"
    assert not dialogs  # a cancel is not an error
    assert "cancelled" in window.statusBar().currentMessage()


def test_scrub_decodes_off_the_gui_thread_newest_request_only(window, make_clip, qtbot, slow_reader):
    clip = make_clip(n=40, width=96, height=64)
    assert window.open_path(clip)
    reads = slow_reader.threads
    reads.clear()
    loader = window.frames
    ticks = Ticks()
    positions = [5, 30, 12, 38, 20, 33, 7, 25]
    for index in positions:  # a fast drag: a new position every 20 ms
        window.timeline.bar.frameClicked.emit(index)
        qtbot.wait(20)
    assert window.project.current == positions[-1]  # the model and the timeline follow at once
    qtbot.waitUntil(lambda: window.canvas.frame_index == positions[-1], timeout=5000)
    assert ticks.max_gap_ms() < MAX_GAP_MS
    assert reads and threading.main_thread() not in reads
    # the worker was busy with the first position while the others came: only the newest waited
    assert loader.decoded < len(positions) and loader.dropped >= len(positions) - 3
    assert len(reads) == loader.decoded
    with VideoReader(clip) as r:
        expected = slow_reader.read(r, positions[-1])
    assert np.array_equal(qimage_to_rgb(window.canvas.image), expected)


def test_stepping_back_decodes_the_frames_before_in_one_go(window, make_clip, qtbot, monkeypatch):
    """Left through a long GOP seeks back to the keyframe at every step; a step back decodes
    ``back_run`` frames up to the one asked for in one job, so the next steps come from the cache
    and show the right pictures."""
    clip = make_clip(n=40, width=96, height=64)
    assert window.open_path(clip)
    p, loader = window.project, window.frames
    assert p.frame_cache_size == 64 and loader.back_run == 32  # small frames: many kept
    loader.back_run = 5
    reads = []
    read = VideoReader.read
    with VideoReader(clip) as r:
        truth = {i: r[i] for i in range(19, 31)}

    def counted(self, index):
        reads.append(index)
        return read(self, index)

    monkeypatch.setattr(VideoReader, "read", counted)
    monkeypatch.setattr(VideoReader, "__getitem__", counted)
    p.set_current(30)  # a jump: that frame alone
    qtbot.waitUntil(lambda: window.canvas.frame_index == 30, timeout=5000)
    assert reads == [30]
    shown = {}
    for i in range(29, 19, -1):  # Left ten times
        window.timeline.prev_action.trigger()
        assert p.current == i
        qtbot.waitUntil(lambda: window.canvas.frame_index == i, timeout=5000)
        shown[i] = qimage_to_rgb(window.canvas.image)
    assert reads == [30, 25, 26, 27, 28, 29, 20, 21, 22, 23, 24]  # two decode jobs, not ten
    assert loader.decoded == 3
    for i, rgb in shown.items():
        assert np.array_equal(rgb, truth[i]), i
    reads.clear()
    p.set_current(35)  # forward: one frame at a time, as before
    qtbot.waitUntil(lambda: window.canvas.frame_index == 35, timeout=5000)
    assert reads == [35]
