"""Decode-ahead and encode-behind threads: same frames, same order, errors surface, no thread left."""
import threading
import time

import numpy as np
import pytest

from app.core.errors import VideoError
from app.core.iothreads import BackgroundSink, ReadAhead
from app.core.video import open_video


def test_read_ahead_yields_the_reader_frames_in_order(make_clip):
    path = make_clip(n=12, width=64, height=48)
    with open_video(path) as direct, open_video(path) as r:
        ahead = ReadAhead(r, 3, 12, depth=2)
        try:
            for i in range(3, 12):
                assert np.array_equal(ahead.read(i), direct.read(i))
            with pytest.raises(IndexError):
                ahead.read(12)
        finally:
            ahead.close()
        # The reader is usable again once the thread has stopped.
        assert r.read(0).shape == (48, 64, 3)


def test_read_ahead_rejects_out_of_order_and_raises_reader_errors():
    class Failing:
        def read(self, i):
            if i == 2:
                raise VideoError("damaged at frame 2")
            return np.full((4, 4, 3), i, np.uint8)

    ahead = ReadAhead(Failing(), 0, 5)
    try:
        assert ahead.read(0)[0, 0, 0] == 0
        with pytest.raises(IndexError):
            ahead.read(3)
        assert ahead.read(1)[0, 0, 0] == 1
        with pytest.raises(VideoError, match="frame 2"):
            ahead.read(2)
    finally:
        ahead.close()


def test_read_ahead_close_midway_stops_the_thread():
    class Slow:
        def read(self, i):
            time.sleep(0.01)
            return np.zeros((2, 2, 3), np.uint8)

    before = threading.active_count()
    ahead = ReadAhead(Slow(), 0, 10_000, depth=3)
    ahead.read(0)
    ahead.close()
    assert threading.active_count() == before


def test_read_ahead_reports_a_short_file():
    class Short:
        def iter_frames(self, start, end):
            yield np.zeros((2, 2, 3), np.uint8)

    ahead = ReadAhead(Short(), 0, 3)
    try:
        ahead.read(0)
        with pytest.raises(VideoError, match="truncated"):
            ahead.read(1)
    finally:
        ahead.close()


def test_background_sink_keeps_order_and_raises_errors():
    got = []
    sink = BackgroundSink(lambda i, f: got.append((i, int(f[0]))), depth=2)
    for i in range(50):
        sink(i, np.array([i]))
    sink.close()
    assert got == [(i, i) for i in range(50)]

    def failing(i, f):
        if i == 3:
            raise OSError("No space left on device")

    sink = BackgroundSink(failing, depth=1)
    with pytest.raises(OSError, match="No space"):
        for i in range(100):
            sink(i, np.zeros(1))
        sink.close()
    sink.abort()


def test_background_sink_abort_drops_the_rest():
    got = []
    sink = BackgroundSink(lambda i, f: (time.sleep(0.005), got.append(i)), depth=4)
    for i in range(20):
        sink(i, np.zeros(1))
    sink.abort()
    n = len(got)
    time.sleep(0.05)
    assert len(got) == n < 20


def test_ordered_work_keeps_order_over_threads_and_raises_job_errors():
    import random
    import threading
    import time

    from app.core.iothreads import OrderedWork

    got, threads = [], set()

    def job(i):
        def run():
            threads.add(threading.get_ident())
            time.sleep(random.uniform(0, 0.01))  # finish out of order
            return i * 10
        return run

    work = OrderedWork(lambda i, r: got.append((i, r, threading.get_ident())), workers=4, depth=6)
    for i in range(40):
        work(i, job(i))
    work.close()
    assert [(i, r) for i, r, _ in got] == [(i, i * 10) for i in range(40)]
    assert {t for _, _, t in got} == {threading.get_ident()}  # the sink runs on the caller's thread
    assert len(threads) > 1

    def boom():
        raise ValueError("bad frame")

    work = OrderedWork(lambda i, r: got.append(i), workers=2, depth=1)
    work(0, lambda: 0)
    work(1, boom)
    with pytest.raises(ValueError, match="bad frame"):
        work(2, lambda: 2)  # hands over 1, whose job failed
    work.abort()


def test_ordered_work_abort_drops_the_rest():
    from app.core.iothreads import OrderedWork

    got = []
    work = OrderedWork(lambda i, r: got.append(i), workers=1, depth=8)
    for i in range(5):
        work(i, lambda: None)
    work.abort()
    assert got == []
