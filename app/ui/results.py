"""Inpainted frames kept on disk, not in RAM: one lossless PNG per frame in a temp folder
under the user cache folder (``app.core.cache``: ``results/sttn-results-*``), which keeps it
under the cache size limit without touching the open project's folder.

Written by the worker thread as frames come out of the engine and read by the compare
view on the GUI thread; a frame is visible only once its file is complete (write, then
rename), so the two never see half a frame. No Qt here.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from app.core.cache import cache_dir


class ResultCache:
    def __init__(self, folder: Optional[Path] = None):
        if folder is None:
            parent = cache_dir("results")
            parent.mkdir(parents=True, exist_ok=True)
            folder = tempfile.mkdtemp(prefix="sttn-results-", dir=parent)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._have: set[int] = set()
        #: True once masks or settings changed after these frames were computed.
        self.stale = False
        #: the EngineConfig (as a dict) the frames were computed with
        self.config: Optional[dict] = None

    def _path(self, index: int) -> Path:
        return self.folder / f"{index:06d}.png"

    def put(self, index: int, rgb: np.ndarray) -> None:
        tmp = self.folder / f".{index:06d}.tmp.png"
        self.folder.mkdir(parents=True, exist_ok=True)  # `cache clear` in another process may have removed it
        # Compression level 1: fast to write on the worker, still lossless.
        cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
        os.replace(tmp, self._path(index))
        self._have.add(int(index))

    def get(self, index: int) -> Optional[np.ndarray]:
        if index not in self._have:
            return None
        img = cv2.imread(str(self._path(index)), cv2.IMREAD_COLOR)
        if img is None:  # deleted from the cache meanwhile: no longer computed
            self._have.discard(index)
            return None
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def __contains__(self, index: int) -> bool:
        return index in self._have

    def __len__(self) -> int:
        return len(self._have)

    def indices(self) -> list[int]:
        return sorted(self._have)

    def covers(self, start: int, end: int) -> bool:
        return all(i in self._have for i in range(start, end))

    def clear(self) -> None:
        for i in list(self._have):
            self._path(i).unlink(missing_ok=True)
        self._have.clear()
        self.stale = False
        self.config = None

    def dispose(self) -> None:
        self._have.clear()
        shutil.rmtree(self.folder, ignore_errors=True)
