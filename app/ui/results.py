"""Inpainted frames kept on disk, not in RAM: one lossless PNG per frame in a temp folder
under the user cache folder (``app.core.cache``: ``results/sttn-results-*``), which keeps it
under the cache size limit without touching the open project's folder.

Written by the worker thread as frames come out of the engine and read by the compare
view on the GUI thread; a frame is visible only once its file is complete (write, then
rename), so the two never see half a frame. Each frame remembers what it was computed from
(``Made``: the settings and a snapshot of the masks), so whether it is still up to date is
worked out, not flagged: undoing a correction, or setting Grow back, makes it current again,
and a new Inpaint replaces frames one by one while the others keep theirs. No Qt here.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from app.core.cache import IN_USE, Hold, cache_dir
from app.core.errors import Cancelled, OutputError, short


class Made:
    """What one job's result frames were computed from: the project's engine ``settings``, the
    whole engine ``config`` (with the device and paste-back), the ``masks`` snapshot the job read
    (blobs shared with the project's, so keeping it costs nothing), the ``span`` of frames whose
    masks it depends on, the ``kind`` of job ("inpaint", or "preview": fewer reference frames), and
    its ``source``: what made it beyond the settings, the device it ran on and the weights file
    (``Controller.engine_source``)."""

    __slots__ = ("settings", "config", "masks", "span", "kind", "source", "checked")

    def __init__(self, settings: dict, config: dict, masks, span: tuple[int, int], kind: str = "inpaint",
                 source: Optional[dict] = None):
        self.settings, self.config, self.masks, self.span = dict(settings), dict(config), masks, tuple(span)
        self.kind, self.source = kind, dict(source or {})
        self.checked: Optional[tuple] = None  # (the project's mask version, masks still the same) when last asked

    def same_masks(self, masks, version) -> bool:
        """Whether ``masks`` hold the same mask as the snapshot on every frame of the span
        (``version``: the caller's count of mask edits; an answer is reused until it changes)."""
        if self.checked is None or self.checked[0] != version:
            a, b = self.span
            same = all(self.masks.blob(i) == masks.blob(i) for i in range(a, min(b, masks.n_frames)))
            self.checked = (version, same)
        return self.checked[1]


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
        # The frame last read, (index, version, RGB): the compare view asks for the frame shown twice
        # (on the step, and when the original arrives), and a 4K PNG takes 150 ms to read. ``_version``
        # counts writes, so a read that raced with one is not kept for later.
        self._version = 0
        self._last: Optional[tuple] = None

    def _path(self, index: int) -> Path:
        return self.folder / f"{index:06d}.png"

    def put(self, index: int, rgb: np.ndarray, made: Optional[Made] = None) -> None:
        """Keep frame ``index``; raises OutputError (the folder and what to do) when it cannot be
        written, a full disk above all, leaving the frame's earlier result as it was."""
        if self._disposed:  # (another video was opened meanwhile: the job it belongs to ends here)
            raise Cancelled("The video these frames belong to was closed.")
        tmp = self.folder / f".{index:06d}.tmp.png"
        try:
            if not (self.folder / IN_USE).exists():  # removed by hand, or by an older version's `cache clear`
                self.folder.mkdir(parents=True, exist_ok=True)
                self._release()
                self._hold = Hold(self.folder)
            # Compression level 1: fast to write on the worker, still lossless. Encoded here and
            # written as bytes: a full disk is then an OSError (cv2.imwrite only returns False).
            ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
            if not ok:
                raise OSError("the frame could not be encoded as PNG")
            _write_file(tmp, png)
            os.replace(tmp, self._path(index))
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise OutputError(f"Could not write inpainted frame {index} into the cache folder {self.folder} "
                              f"({short(exc)}): free space on that drive, or make the folder writable, and "
                              "inpaint again.") from None
        self._version += 1
        if made is None:
            self._made.pop(int(index), None)
        else:
            self._made[int(index)] = made
        self._have.add(int(index))

    def made(self, index: int) -> Optional[Made]:
        """What frame ``index`` was computed from (None: no such frame, or not recorded)."""
        return self._made.get(index) if index in self._have else None

    def _forget(self, index: int) -> None:
        self._have.discard(index)
        self._made.pop(index, None)

    def made_in(self, start: int, end: int) -> list[Made]:
        """The distinct records of the frames in [start, end) that have one."""
        return list({id(m): m for i in range(start, end) if (m := self.made(i)) is not None}.values())

    def get(self, index: int) -> Optional[np.ndarray]:
        if index not in self._have:
            return None
        version, last = self._version, self._last
        if last is not None and last[:2] == (index, version):
            return last[2].copy()
        img = cv2.imread(str(self._path(index)), cv2.IMREAD_COLOR)
        if img is None:  # deleted from the cache meanwhile: no longer computed
            self._forget(index)
            return None
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        self._last = (index, version, rgb)
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
        self._have.clear()
        self._made.clear()

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
        self._release()
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_file(path: Path, data) -> None:
    with open(path, "wb") as f:
        f.write(memoryview(data))
