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

``ResultLoader`` does the same for the inpainted frames the compare view shows while the
timeline is stopped: reading a result's lossless PNG takes 19-43 ms at 1080p, which each step
with the arrow keys waited for on the GUI thread (the view shows the frame's JPEG proxy meanwhile).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Optional

import numpy as np
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
    #: the cursor (a reader of the current video) whose reads found the file damaged where no check at
    #: open did (its ``notice``, set mid-read; the project's reader never learns it), once a cursor;
    #: ``bind_frames`` hands it to ``Project.met_damage``, which says it
    metDamage = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.opener = JobThread("open", self)
        self.decoder = JobThread("frames", self)
        self.decoder.finished.connect(self._decoded)
        self.decoder.failed.connect(self._decode_failed)
        self._cursor = None
        self._pending: Optional[int] = None
        self._said: Optional[str] = None  # the cursor's notice the window has been told
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
        self._said = getattr(self._cursor, "notice", None)  # (what opening it said, said then)
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
            self._tell()
        self._next()

    def _tell(self) -> None:
        """Say what the cursor found while decoding (a frame the decoder concealed), once."""
        notice = getattr(self._cursor, "notice", None)
        if notice and notice != self._said:
            self._said = notice
            self.metDamage.emit(self._cursor)

    def _decode_failed(self, job, message: str) -> None:
        self._close_retired()
        if job.data["cursor"] is self._cursor:
            self._tell()
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


class ResultLoader(QObject):
    """Reads the exact result frames (``ResultCache.get``, the PNG) on a worker thread for the compare
    view. As with ``FrameLoader``, one read runs at a time and a request made meanwhile waits in a
    single slot, replacing an older waiting one: stepping fast reads where the steps stop, not every
    frame passed. What is read is kept, ``keep_bytes`` of frames at most (least recently shown go
    first), under the frame's ``ResultCache.stamp``: a step back to a frame read shows it at once, and
    a frame written again since it was read (a new Inpaint) is never taken from here."""

    loaded = Signal(object, int)  # results (ResultCache), index: a read of that frame has ended
    #: 8 frames at 1080p, 2 at 4K (6 and 24 MB each)
    KEEP_BYTES = 50 << 20

    def __init__(self, parent=None, keep_bytes: int = KEEP_BYTES):
        super().__init__(parent)
        self.reader = JobThread("results", self)
        self.reader.finished.connect(self._read)
        self.reader.failed.connect(lambda job, message: self._next())
        self.keep_bytes = keep_bytes
        self._results = None  # the ResultCache the frames kept are of
        self._kept: "OrderedDict[tuple[int, int], np.ndarray]" = OrderedDict()  # (index, stamp) -> RGB
        self._pending: Optional[tuple] = None  # (results, index, stamp)
        self.requested = self.read = self.dropped = 0  # counts, for tests and benchmarks

    def exact(self, results, index: int) -> Optional[np.ndarray]:
        """Frame ``index`` of ``results`` exactly as it is now, if it has been read (else None)."""
        self._of(results)
        key = (index, results.stamp(index))
        rgb = self._kept.get(key)
        if rgb is not None:
            self._kept.move_to_end(key)
        return rgb

    def request(self, results, index: int) -> None:
        """Read frame ``index`` of ``results``; ``loaded`` follows unless a newer request replaces this one."""
        self._of(results)
        stamp = results.stamp(index)
        if stamp is None or (index, stamp) in self._kept:
            return
        want, running = (results, index, stamp), self.reader.current
        if want == self._pending or (self._pending is None and running is not None and running.data["want"] == want):
            return  # already asked for
        self.requested += 1
        if self._pending is not None:
            self.dropped += 1
        self._pending = want
        self._next()

    def _of(self, results) -> None:
        if results is not self._results:  # another video: its frames go
            self._results, self._pending = results, None
            self._kept.clear()

    def _next(self) -> None:
        if self._pending is None or self.reader.busy:
            return
        want, self._pending = self._pending, None
        results, index = want[:2]
        self.reader.submit("Result", lambda host, progress, cancel: results.get(index), want=want)

    def _read(self, job, rgb) -> None:
        results, index, stamp = job.data["want"]
        self.read += 1
        # kept only if not written again meanwhile (``put`` renames the new file, then stamps it)
        if rgb is not None and results is self._results and results.stamp(index) == stamp:
            self._kept[index, stamp] = rgb
            while sum(a.nbytes for a in self._kept.values()) > self.keep_bytes and len(self._kept) > 1:
                self._kept.popitem(last=False)
        self._next()
        self.loaded.emit(results, index)

    def shutdown(self) -> bool:
        """Stop the thread; True if it stopped."""
        self._pending = None
        return self.reader.shutdown()


def bind_frames(loader: FrameLoader, project) -> None:
    """Decode the project's frames with ``loader``; they come back through ``project.put_frame``."""
    project.frame_loader = loader
    loader.frameLoaded.connect(project.put_frame)
    loader.metDamage.connect(project.met_damage)
