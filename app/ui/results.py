"""Inpainted frames kept on disk, not in RAM: one lossless PNG per frame in a temp folder
under the user cache folder (``app.core.cache``: ``results/sttn-results-*``), which keeps it
under the cache size limit without touching the open project's folder. Beside each PNG lies a
JPEG of the same frame, its playback proxy: ``proxy`` reads it in 3-12 ms where the PNG takes
19-43 ms at 1080p, so the compare views keep up with playback; ``get`` (Export, the paused frame)
reads the PNG only (for the compare view on a worker thread: ``frames.ResultLoader``, which knows a
frame written again by its ``stamp``). Measured in docs/LOAD.md ("Playback in the compare views").

Written by the worker thread as frames come out of the engine and read by the compare
view on the GUI thread; a frame is visible only once its files are complete (write, then
rename), so the two never see half a frame. Each frame remembers what it was computed from
(``Made``: the settings and a snapshot of the masks), so whether it is still up to date is
worked out, not flagged: undoing a correction, or setting Grow back, makes it current again,
and a new Inpaint replaces frames one by one while the others keep theirs. No Qt here.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from app.core.cache import IN_USE, Hold, cache_dir
from app.core.errors import Cancelled, OutputError, short
from app.core.reach import MaskReach


class Made:
    """What one job's result frames were computed from: the project's engine ``settings``, the
    whole engine ``config`` (with the device and paste-back), the ``masks`` snapshot the job read
    (blobs shared with the project's, so keeping it costs nothing), the ``span`` of the run (its
    windows, chunks and reference frames lie in it, and only masks in it are read), the ``kind``
    of job ("inpaint", or "preview": fewer reference frames), and its ``source``: what made it
    beyond the settings, the device it ran on and the weights file (``Controller.engine_source``).
    ``reach`` (``app.core.reach``) says which frames' results read which masks (None: each reads
    every mask of the span), so an edit puts only the results that read it out of date; ``frames``
    are those the job writes (None: every frame of the span; fewer where it computes again only
    what an edit reached)."""

    __slots__ = ("settings", "config", "masks", "span", "kind", "source", "checked", "reach", "frames")

    def __init__(self, settings: dict, config: dict, masks, span: tuple[int, int], kind: str = "inpaint",
                 source: Optional[dict] = None, reach: Optional[MaskReach] = None, frames=None):
        self.settings, self.config, self.masks, self.span = dict(settings), dict(config), masks, tuple(span)
        self.kind, self.source = kind, dict(source or {})
        self.reach = reach if reach is not None else MaskReach(self.span)
        self.frames = frozenset(frames) if frames is not None else None
        self.checked: Optional[tuple] = None  # (the project's mask version, the frames out of date) when last asked

    def writes(self, index: int) -> bool:
        """Whether the job gives frame ``index`` a result."""
        return self.span[0] <= index < self.span[1] if self.frames is None else index in self.frames

    def stale(self, masks, version) -> frozenset:
        """The frames whose results read a mask that ``masks`` hold otherwise than the snapshot
        (``version``: the caller's count of mask edits; an answer is reused until it changes). A
        scan of the span's blobs (shared, so mostly one identity test each) and the reach of the
        frames that differ."""
        if self.checked is None or self.checked[0] != version:
            a, b = self.span
            mine = self.masks
            changed = [i for i in range(a, min(b, masks.n_frames)) if mine.blob(i) != masks.blob(i)]
            self.checked = (version, frozenset(self.reach.affected(changed)) if changed else frozenset())
        return self.checked[1]


#: The lossless frame: compression level 1, the "up" filter and run-length matches. Measured on
#: 1080p frames (benchmarks/bench_result_format.py) against level 1's default filters: encoded in
#: half the time (30-57 ms instead of 59-126), read back 10-37 % faster, 11 % smaller to 8 % larger.
#: (An OpenCV without IMWRITE_PNG_FILTER, such as 4.8, keeps its default filters, with run-length matches.)
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE] + (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP] if hasattr(cv2, "IMWRITE_PNG_FILTER") else [])
#: The playback proxy: a full-size JPEG, quality 90, its Huffman tables fitted to the frame (12-19 ms
#: to encode at 1080p, 5-10 ms more than the standard tables, for 6-8 % fewer bytes: 6-16 % of the PNG's).
PROXY_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
#: Each write of a frame gets a number no other write (of any cache) gets: ``ResultCache.stamp``.
_STAMPS = itertools.count(1)
_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}


class ResultCache:
    def __init__(self, folder: Optional[Path] = None):
        if folder is None:
            parent = cache_dir("results")
            parent.mkdir(parents=True, exist_ok=True)
            folder = tempfile.mkdtemp(prefix="sttn-results-", dir=parent)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        # held while this cache lives: `cache clear` and the cache trim of any window or process leave
        # the folder alone (they deleted the frames shown, and Export wrote the originals instead)
        self._hold: Optional[Hold] = Hold(self.folder)
        self._disposed = False
        self._have: set[int] = set()
        self._made: dict[int, Made] = {}  # per frame, what it was computed from (when the job said)
        self._stamps: dict[int, int] = {}  # per frame, the number of its last write (``stamp``)
        # The frame last read, (index, version, reduction (0: the PNG), RGB): the compare view asks for
        # the frame shown twice (on the step, and when the original arrives), and a 4K PNG takes 150 ms
        # to read. ``_version`` counts writes, so a read that raced with one is not kept for later.
        self._version = 0
        self._last: Optional[tuple] = None

    def _path(self, index: int) -> Path:
        return self.folder / f"{index:06d}.png"

    def _proxy_path(self, index: int) -> Path:
        return self.folder / f"{index:06d}-proxy.jpg"

    def put(self, index: int, rgb: np.ndarray, made: Optional[Made] = None) -> None:
        """Keep frame ``index``; raises OutputError (the folder and what to do) when it cannot be
        written, a full disk above all, leaving the frame's earlier result as it was."""
        if self._disposed:  # (another video was opened meanwhile: the job it belongs to ends here)
            raise Cancelled("The video these frames belong to was closed.")
        tmp, proxy_tmp = self.folder / f".{index:06d}.tmp.png", self.folder / f".{index:06d}.tmp.jpg"
        try:
            if not (self.folder / IN_USE).exists():  # removed by hand, or by an older version's `cache clear`
                self.folder.mkdir(parents=True, exist_ok=True)
                self._release()
                self._hold = Hold(self.folder)
            # Encoded here and written as bytes: a full disk is then an OSError (cv2.imwrite only
            # returns False). Both files are written before either is renamed into place, so a
            # failure leaves the frame's earlier pair as it was.
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            ok, png = cv2.imencode(".png", bgr, PNG_PARAMS)
            ok_proxy, jpg = cv2.imencode(".jpg", bgr, PROXY_PARAMS)
            if not (ok and ok_proxy):
                raise OSError("the frame could not be encoded as PNG and JPEG")
            _write_file(tmp, png)
            _write_file(proxy_tmp, jpg)
            os.replace(proxy_tmp, self._proxy_path(index))
            os.replace(tmp, self._path(index))
        except OSError as exc:
            for path in (tmp, proxy_tmp):
                with contextlib.suppress(OSError):
                    path.unlink()
            raise OutputError(f"Could not write inpainted frame {index} into the cache folder {self.folder} "
                              f"({short(exc)}): free space on that drive, or make the folder writable, and "
                              "inpaint again.") from None
        self._version += 1
        self._stamps[int(index)] = next(_STAMPS)
        if made is None:
            self._made.pop(int(index), None)
        else:
            self._made[int(index)] = made
        self._have.add(int(index))

    def made(self, index: int) -> Optional[Made]:
        """What frame ``index`` was computed from (None: no such frame, or not recorded)."""
        return self._made.get(index) if index in self._have else None

    def stamp(self, index: int) -> Optional[int]:
        """Which write of frame ``index`` is there (None: no result): it changes each time the frame is
        put again, and no two writes of any cache share one, so a copy of a frame read elsewhere (the
        compare view's, read on a worker) is known to be current while its stamp still is."""
        return self._stamps.get(index) if index in self._have else None

    def _forget(self, index: int) -> None:
        """Frame ``index``'s PNG is gone: no longer computed, and its proxy goes too."""
        self._have.discard(index)
        self._made.pop(index, None)
        self._stamps.pop(index, None)
        with contextlib.suppress(OSError):
            self._proxy_path(index).unlink(missing_ok=True)

    def made_in(self, start: int, end: int) -> list[Made]:
        """The distinct records of the frames in [start, end) that have one."""
        return list({id(m): m for i in range(start, end) if (m := self.made(i)) is not None}.values())

    def get(self, index: int) -> Optional[np.ndarray]:
        """Frame ``index`` exactly as it was put (the PNG): for Export, and the frame on screen when
        playback is stopped. None: no result, or its file is gone."""
        return self._read(index, 0)

    def proxy(self, index: int, scale: float = 1.0) -> Optional[np.ndarray]:
        """A picture of frame ``index`` for display while playing, NOT the exact result: the JPEG
        beside the PNG (quality 90), decoded at the greatest reduction (1/2, 1/4 or 1/8, libjpeg
        scaling while decoding) that still has a pixel for each screen pixel at ``scale`` (screen
        pixels per frame pixel), so it may be smaller than the frame. Never for Export, nor for a
        frame that stays on screen: ``get``. The PNG when the proxy is missing; None as ``get``."""
        return self._read(index, _reduction(scale))

    def _read(self, index: int, reduce: int) -> Optional[np.ndarray]:
        """``reduce``: 0, the PNG; 1, 2, 4 or 8, the proxy at that fraction of the frame's size."""
        if index not in self._have:
            return None
        version, last = self._version, self._last
        if last is not None and last[:3] == (index, version, reduce):
            return last[3].copy()
        img = None
        if reduce:
            if not self._path(index).exists():  # the PNG deleted by hand: what get would find
                self._forget(index)
                return None
            img = cv2.imread(str(self._proxy_path(index)), _REDUCED[reduce])
        if img is None:  # (no proxy: the PNG, slower but the same picture)
            img = cv2.imread(str(self._path(index)), cv2.IMREAD_COLOR)
        if img is None:  # deleted from the cache meanwhile: no longer computed
            self._forget(index)
            return None
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        self._last = (index, version, reduce, rgb)
        return rgb.copy()

    def __contains__(self, index: int) -> bool:
        return index in self._have

    def __len__(self) -> int:
        return len(self._have)

    def indices(self) -> list[int]:
        return sorted(self._have)

    def covers(self, start: int, end: int) -> bool:
        """Whether every frame of [start, end) has a result, its file still there: one deleted outside
        the window (by hand) is forgotten, so Export inpaints it again rather than copy the original."""
        gone = [i for i in range(start, end) if i in self._have and not self._path(i).exists()]
        for i in gone:
            self._forget(i)
        return all(i in self._have for i in range(start, end))

    def clear(self) -> None:
        self._version += 1
        self._last = None
        for i in list(self._have):
            self._path(i).unlink(missing_ok=True)
            self._proxy_path(i).unlink(missing_ok=True)
        self._have.clear()
        self._made.clear()
        self._stamps.clear()

    def _release(self) -> None:
        if self._hold is not None:
            self._hold.release()
            self._hold = None

    def dispose(self) -> None:
        """Delete the folder; a ``put`` after this raises Cancelled (the job writing is of a closed video)."""
        self._disposed = True
        self._version += 1
        self._last = None
        self._have.clear()
        self._stamps.clear()
        self._release()
        shutil.rmtree(self.folder, ignore_errors=True)


def _reduction(scale: float) -> int:
    """The greatest of 1, 2, 4 and 8 whose fraction of the frame still covers ``scale`` screen pixels
    a frame pixel."""
    return next((f for f in (8, 4, 2) if f * scale <= 1.0), 1)


def _write_file(path: Path, data) -> None:
    with open(path, "wb") as f:
        f.write(memoryview(data))
