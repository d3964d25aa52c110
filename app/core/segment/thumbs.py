"""Pictures of a click's candidates side by side (numpy and OpenCV only): the part of the frame
around them all, each candidate's region tinted and outlined. The GUI's candidate strip
(``app.ui.candidate_strip``) and ``track --preview`` both draw them, so the two show the same crop.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

CYAN = (40, 220, 255)  # the candidate's colour on the picture (segment_tool.CANDIDATE_COLOR)
TINT = 0.4  # the candidate's fill, as opaque as the picture draws it
ASPECT = (0.75, 16 / 9)  # the crop's width over height is kept within these
OUTSIZE = 4.0  # a candidate whose box is this many times the median's area is left out of the crop


def crop_box(masks: Sequence[np.ndarray], margin: float = 0.25) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): ``candidates_box(masks)`` grown by ``margin`` of its size on each side (at
    least 8 px) and to a width over height within ``ASPECT``, inside the frame (all of it where the
    masks are empty)."""
    h, w = masks[0].shape
    box = candidates_box(masks)
    if box is None:
        return 0, 0, w, h
    x0, y0, x1, y1 = box
    mx, my = max(8, int((x1 - x0) * margin)), max(8, int((y1 - y0) * margin))
    x0, x1, y0, y1 = x0 - mx, x1 + mx, y0 - my, y1 + my
    bw, bh = x1 - x0, y1 - y0
    if bw < bh * ASPECT[0]:
        x0, x1 = _grown(x0, x1, int(round(bh * ASPECT[0])))
    elif bw > bh * ASPECT[1]:
        y0, y1 = _grown(y0, y1, int(round(bw / ASPECT[1])))
    (x0, x1), (y0, y1) = _within(x0, x1, w), _within(y0, y1, h)
    return x0, y0, x1, y1


def candidates_box(masks: Sequence[np.ndarray]) -> Optional[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) around the boxes of the ``masks`` (bool (H, W)), or None where all are
    empty. A box over ``OUTSIZE`` times the median's area (a candidate that took the whole ground
    around a dog) is left out: in a crop of it all the others would be a few pixels; cut to the
    others' crop it still shows as the region that fills it."""
    boxes = [b for b in map(_box, masks) if b is not None]
    if not boxes:
        return None
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    median = float(np.median(areas))
    kept = [b for b, a in zip(boxes, areas) if a <= OUTSIZE * median]
    return (min(b[0] for b in kept), min(b[1] for b in kept), max(b[2] for b in kept), max(b[3] for b in kept))


def _box(mask: np.ndarray) -> Optional[tuple[int, int, int, int]]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1) if len(rows) else None


def _grown(a: int, b: int, size: int) -> tuple[int, int]:
    extra = size - (b - a)
    return a - extra // 2, b + extra - extra // 2


def _within(a: int, b: int, n: int) -> tuple[int, int]:
    """[a, b) moved inside [0, n) (cut to it where it is longer)."""
    if a < 0:
        a, b = 0, b - a
    if b > n:
        a, b = a - (b - n), n
    return max(0, a), b


def tinted(rgb: np.ndarray, masks: Sequence[np.ndarray], height: int, box=None) -> list[np.ndarray]:
    """One uint8 (height, w, 3) picture per mask: ``rgb`` (uint8 (H, W, 3)) cropped to ``box``
    (default ``crop_box(masks)``) and scaled to ``height`` pixels, the mask's region tinted cyan and
    outlined."""
    x0, y0, x1, y1 = crop_box(masks) if box is None else box
    th = max(1, int(height))
    tw = max(1, int(round(th * (x1 - x0) / max(1, y1 - y0))))
    base = cv2.resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), (tw, th), interpolation=cv2.INTER_AREA)
    cyan = np.array(CYAN, np.float32)
    out = []
    for m in masks:
        small = cv2.resize(m[y0:y1, x0:x1].astype(np.uint8), (tw, th), interpolation=cv2.INTER_NEAREST)
        pic = base.copy()
        inside = small.astype(bool)
        pic[inside] = (pic[inside] * (1 - TINT) + cyan * TINT).astype(np.uint8)
        contours, _ = cv2.findContours(small, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(pic, contours, -1, CYAN, max(1, th // 60))
        out.append(np.ascontiguousarray(pic))
    return out
