"""The results cache reads a frame's PNG once while it stays the frame shown, and never serves a stale one."""
from __future__ import annotations

import cv2
import numpy as np

from app.ui import results as results_module
from app.ui.results import ResultCache


def test_the_frame_shown_is_read_once_and_a_new_result_replaces_it(tmp_path, monkeypatch):
    reads = []
    real = cv2.imread
    monkeypatch.setattr(results_module.cv2, "imread", lambda *a: reads.append(a[0]) or real(*a))
    cache = ResultCache(tmp_path / "r")
    red = np.zeros((8, 12, 3), np.uint8)
    red[..., 0] = 200
    cache.put(3, red)
    first = cache.get(3)
    first[:] = 0  # (a caller drawing on its copy changes nothing for the next one)
    again = cache.get(3)
    assert np.array_equal(again, red) and len(reads) == 1  # a step and the original's arrival: one read
    blue = np.zeros_like(red)
    blue[..., 2] = 100
    cache.put(3, blue)  # a new Inpaint wrote the frame again
    assert np.array_equal(cache.get(3), blue) and len(reads) == 2
    cache.put(4, red)
    assert np.array_equal(cache.get(4), red) and np.array_equal(cache.get(3), blue) and len(reads) == 4
    cache.clear()
    assert cache.get(3) is None and cache.get(4) is None
