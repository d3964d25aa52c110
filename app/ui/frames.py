"""Video I/O for display, off the GUI thread: opening (the demux index) and decoding frames.

Opening an hour of video demuxes ~90,000 packets (seconds), and showing a random frame
decodes from the keyframe before it (up to a GOP, ~250 frames, well over 100 ms at
1080p). On the GUI thread either would freeze the window, so ``FrameLoader`` does both
on worker threads:

* ``open(path)`` indexes the video on the "open" thread and returns ``(reader, first
  frame)`` while the event loop keeps running (the job bar shows the indexing progress
  and a Cancel button).
* ``request(index)`` asks for a frame of the current video. One decode runs at a time;
  a request made meanwhile waits in a single slot, replacing any older waiting one, so
  scrubbing decodes only the newest position and stale ones are dropped.
  ``frameLoaded(index, rgb)`` arrives on the GUI thread.
* Stepping back a frame (Left) in a long GOP would decode from the keyframe before it every
  time (x264's default is a keyframe every 250 frames: ~290 ms a step at 1080p on a 2-core
  CPU). A request that steps back (``request(index, back=True)``: one or two frames before
  the frame shown) decodes the ``back_run`` frames up to it in one go (one seek), so the next
  steps back are in the project's cache.

The decoding thread reads through a cursor of its own (``reader.reopen()``, which
shares the index), so the GUI thread may still read the project's reader directly.
``bind_frames`` connects a loader to a Project.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Signal

from .project import open_with_first_frame
from .workers import JobThread


def _open_job(path):
    return lambda host, progress, cancel: open_with_first_frame(path, progress, cancel)


def _decode_job(cursor, index: int, first: Optional[int] = None):
    """[(frame, RGB)] of frames ``first``..``index`` (default: ``index`` alone), in order: after the
    seek for ``first`` each next frame is one more decode."""
    return lambda host, progress, cancel: [(i, cursor[i]) for i in range(index if first is None else first, index + 1)]


class FrameLoader(QObject):
    frameLoaded = Signal(int, object)  # index, RGB uint8 (H, W, 3) of the current video
    failed = Signal(str)  # a sentence: the frame could not be decoded

    def __init__(self, parent=None):
        super().__init__(parent)
        self.opener = JobThread("open", self)
        self.decoder = JobThread("frames", self)
        self.decoder.finished.connect(self._decoded)
        self.decoder.failed.connect(self._decode_failed)
        self._cursor = None
        self._pending: Optional[int] = None
        self._retired: list = []  # cursors of earlier videos, closed once no decode uses them
        self.requested = self.decoded = self.dropped = 0  # counts, for tests and benchmarks
        #: frames decoded in one go when a request steps back (``Project`` sets it from the frame
        #: size and its cache; 1: one frame a request)
        self.back_run = 1
        self._back = False  # the waiting request steps back

    @property
    def opening(self) -> bool:
        return self.opener.busy

    def open(self, path):
        """``(reader, first frame)`` of ``path``, opened on a worker; raises like ``open_video``."""
        return self.opener.call(f"Opening {Path(path).name}", _open_job(path))

    def cancel_open(self) -> None:
        self.opener.cancel()

    def set_reader(self, reader) -> None:
        """Decode frames of ``reader`` from now on (None: no video). Waiting requests are dropped."""
        self._pending = None
        if self._cursor is not None:
            self._retired.append(self._cursor)
        self._cursor = reader.reopen() if reader is not None else None
        self._close_retired()

    def request(self, index: int, back: bool = False) -> None:
        """Decode frame ``index``; ``frameLoaded`` follows unless a newer request replaces this one.
        ``back``: the user steps back through the frames; the ``back_run`` frames up to ``index``
        are decoded with it (each one a ``frameLoaded``, ``index`` last)."""
        index = int(index)
        running = self.decoder.current
        if index == self._pending or (running is not None and running.data["cursor"] is self._cursor
                                      and running.data["index"] == index and self._pending is None):
            return  # already asked for
        self.requested += 1
        if self._pending is not None:
            self.dropped += 1
        self._pending, self._back = index, back
        self._next()

    @property
    def pending(self) -> Optional[int]:
        return self._pending

    def _next(self) -> None:
        if self._pending is None or self._cursor is None or self.decoder.busy:
            return
        index, self._pending = self._pending, None
        first = max(0, index - self.back_run + 1) if self._back and self.back_run > 1 else None
        self.decoder.submit("Frame", _decode_job(self._cursor, index, first), index=index, cursor=self._cursor)

    def _decoded(self, job, frames) -> None:
        self._close_retired()
        if job.data["cursor"] is self._cursor:
            self.decoded += 1
            for i, rgb in frames:  # (the one asked for last: the newest in the cache)
                self.frameLoaded.emit(i, rgb)
        self._next()

    def _decode_failed(self, job, message: str) -> None:
        self._close_retired()
        if job.data["cursor"] is self._cursor:
            self.failed.emit(message)
        self._next()

    def _close_retired(self) -> None:
        if not self.decoder.busy:
            for cursor in self._retired:
                cursor.close()
            self._retired.clear()

    def shutdown(self) -> bool:
        """Stop both threads; True if they stopped (then every cursor is closed)."""
        self.cancel_open()
        self._pending = None
        stopped = all([self.opener.shutdown(), self.decoder.shutdown()])
        if stopped:
            for cursor in self._retired + ([self._cursor] if self._cursor is not None else []):
                cursor.close()
            self._retired, self._cursor = [], None
        return stopped


def bind_frames(loader: FrameLoader, project) -> None:
    """Decode the project's frames with ``loader``; they come back through ``project.put_frame``."""
    project.frame_loader = loader
    loader.frameLoaded.connect(project.put_frame)
