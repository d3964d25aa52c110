"""Decode ahead and encode behind on threads, so that the model does not wait on FFmpeg.

PyAV and OpenCV release the GIL while they decode, convert and encode, and torch releases it
while the model runs, so one thread for each side overlaps them with the model's work.
Queues are bounded: memory stays at ``depth`` frames whatever the video's length.
``OrderedWork`` spreads per-frame work (the engine's paste-back) over a few threads and hands
the results on in frame order.
"""
from __future__ import annotations

import collections
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

import numpy as np

_DONE = object()


class Producer:
    """A thread that fills a bounded queue until told to stop; the base of the read-ahead helpers.

    Subclasses implement ``_work`` and hand items over with ``_put`` (which gives up once
    ``close()`` was called); an exception put into the queue is raised by ``_get`` in the
    consumer's thread. ``close()`` stops the thread and waits for it.
    """

    def __init__(self, depth: int, name: str, args=()):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, args=args, name=name, daemon=True)
        self._thread.start()

    def _work(self, *args) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _get(self):
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        while True:  # unblock a put in progress
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()


class ReadAhead(Producer):
    """Frames ``start, start+1, ...`` of ``reader`` decoded on a thread, up to ``depth`` ahead.

    ``read(i)`` must be called with consecutive indices from ``start`` (the engine's main
    pass); errors of the decoding thread are raised there. ``close()`` stops the thread; the
    reader is not used by it afterwards, so the caller may use it again.
    """

    def __init__(self, reader, start: int, end: int, depth: int = 8):
        self._reader = reader
        self._next = start
        self._end = end
        super().__init__(depth, "read-ahead", (start, end))

    def _work(self, start: int, end: int) -> None:
        try:
            frames = (self._reader.iter_frames(start, end) if hasattr(self._reader, "iter_frames")
                      else (self._reader.read(i) for i in range(start, end)))
            for frame in frames:
                if not self._put(frame):
                    return
            self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put(exc)

    def read(self, index: int) -> np.ndarray:
        if index != self._next or index >= self._end:
            raise IndexError(f"ReadAhead expects frame {self._next}, not {index}")
        item = self._get()
        if item is _DONE:
            # The file held fewer frames than its index promised (a truncated file).
            from .errors import VideoError

            raise VideoError(f"The video ends before frame {index}; it may be truncated.")
        self._next += 1
        return item


class ReadStretches:
    """Frames of a few stretches of ``reader`` (``[(a, b), ...]``, ascending, apart), each decoded
    ahead on a thread as ``ReadAhead`` does: a run over part of a range reads only what it needs.
    ``read(i)`` in ascending order, consecutive within a stretch."""

    def __init__(self, reader, stretches, depth: int = 8):
        self._reader, self._depth = reader, depth
        self._stretches = list(stretches)
        self._ahead: Optional[ReadAhead] = None
        self._end = -1

    def read(self, index: int) -> np.ndarray:
        if self._ahead is None or index >= self._end:
            self.close()
            end = next((b for a, b in self._stretches if a <= index < b), None)
            if end is None:
                raise IndexError(f"frame {index} lies in none of the stretches read")
            self._ahead, self._end = ReadAhead(self._reader, index, end, self._depth), end
        return self._ahead.read(index)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None


class BackgroundSink:
    """``sink(i, frame)`` called on a thread in call order; at most ``depth`` frames wait.

    An error of the sink is raised by the next call or by ``close()``. ``close()`` waits for
    every frame handed over to be written; ``abort()`` drops the rest.
    """

    def __init__(self, sink: Callable[[int, np.ndarray], None], depth: int = 8):
        self._sink = sink
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: Optional[BaseException] = None
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._work, name="write-behind", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is not None or self._abort.is_set():
                continue  # drain without writing
            try:
                self._sink(*item)
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __call__(self, index: int, frame: np.ndarray) -> None:
        self._raise()
        self._queue.put((index, frame))

    def close(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        self._abort.set()
        self._queue.put(_DONE)
        self._thread.join()


class OrderedWork:
    """Run ``job()`` callables on ``workers`` threads; hand each result to ``sink(index, result)``
    in the order the jobs were given, on the calling thread.

    At most ``depth`` jobs are in flight: a call blocks on the oldest one beyond that. A job's
    error is raised by the call (or the ``close()``) that would hand its result over.
    ``close()`` hands every remaining result over; ``abort()`` drops them.
    """

    def __init__(self, sink: Callable[[int, Any], None], workers: int = 2, depth: Optional[int] = None):
        self._sink = sink
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ordered-work")
        self._pending: collections.deque = collections.deque()
        self._depth = max(1, depth if depth is not None else 2 * max(1, workers))

    def __call__(self, index: int, job: Callable[[], Any]) -> None:
        self._pending.append((index, self._pool.submit(job)))
        while len(self._pending) > self._depth:
            self._hand_over()

    def _hand_over(self) -> None:
        index, future = self._pending.popleft()
        self._sink(index, future.result())

    def close(self) -> None:
        try:
            while self._pending:
                self._hand_over()
        finally:
            self.abort()

    def abort(self) -> None:
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
