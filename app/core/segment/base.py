"""The segmenter interface shared by SAM and the weight-free GrabCut segmenter.

A segmenter is used in two steps: ``set_image`` (the expensive part, cached per frame
index) then any number of ``predict`` calls with click/box prompts. ``predict`` returns
several candidates, best first, so the GUI can cycle through them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..masks import mask_box as _int_mask_box

Point = tuple[float, float, int]  # (x, y, label): label 1 = object, 0 = background
Box = tuple[float, float, float, float]  # (x0, y0, x1, y1) in pixels, inclusive-exclusive


@dataclass
class Candidate:
    """One proposed object mask: ``mask`` bool (H, W) at the frame's size; higher ``score`` is better."""

    mask: np.ndarray
    score: float


class Segmenter(ABC):
    """Prompted single-image segmentation with a per-frame LRU cache of the image state.

    Subclasses implement ``_embed(rgb) -> state`` (expensive, cached), ``_restore(state)`` and
    ``_predict(points, box, prior, previous) -> list[Candidate]``; one whose ``_embed`` takes
    several steps may override ``_embed_checked(rgb, check)`` to make it stoppable between them.
    """

    def reaches(self, mask: np.ndarray, x: float, y: float) -> bool:
        """Whether a click at (x, y) can edit ``mask``, any bool (H, W) mask such as one the user
        painted or the tracker made, through ``predict(previous=mask)``. False here: segmenters
        that only refine their own answers (SAM) start over instead."""
        return False

    def __init__(self, cache_size: int = 4):
        self.cache_size = max(1, int(cache_size))
        self._cache: "OrderedDict[Any, Any]" = OrderedDict()
        self.image_shape: Optional[tuple[int, int]] = None
        self.embed_calls = 0  # how many times the expensive step really ran (tests and stats)

    def set_image(self, rgb: np.ndarray, index: Optional[int] = None,
                  check: Optional[Callable[[], None]] = None) -> None:
        """Prepare ``rgb`` (uint8 (H, W, 3), RGB) for prompting.

        With an ``index`` (the frame number) the prepared state is cached, so returning to a
        frame the user already clicked on costs nothing. Without one nothing is cached.
        ``check`` (say ``CancelToken.check``) is called between the steps of the expensive part
        (SAM: before each of its image encoder's blocks); whatever it raises stops the
        preparation and leaves the cache and the image prepared before as they were.
        """
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"set_image expects RGB uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
        key = None if index is None else (int(index), rgb.shape)
        if key is not None and key in self._cache:
            self._cache.move_to_end(key)
            self._restore(self._cache[key])
        else:
            state = self._embed(rgb) if check is None else self._embed_checked(rgb, check)
            self.embed_calls += 1
            if key is not None:
                self._cache[key] = state
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            self._restore(state)
        self.image_shape = rgb.shape[:2]

    def clear_cache(self) -> None:
        self._cache.clear()

    def is_cached(self, index: int) -> bool:
        """Whether frame ``index`` is prepared already (a click there answers without the expensive step)."""
        try:
            return any(key[0] == index for key in list(self._cache))
        except RuntimeError:  # (being changed on a worker thread right now)
            return False

    def predict(self, points: Sequence[Point] = (), box: Optional[Box] = None,
                prior: Optional[np.ndarray] = None, previous: Optional[np.ndarray] = None) -> list[Candidate]:
        """Candidates for the current image, sorted best first (at least one).

        ``points``: clicks (x, y, label). ``box``: (x0, y0, x1, y1) or None. ``prior``: optional
        bool (H, W) mask expected near the answer (the tracker passes the flow-warped previous
        mask); segmenters that cannot use it ignore it. ``previous``: the mask the user is
        correcting (the candidate shown when the latest click was made); the clicks then edit it
        instead of starting over, so a negative click removes what it lands on and a positive
        one adds to it.
        """
        if self.image_shape is None:
            raise RuntimeError("call set_image before predict")
        pts = [(float(x), float(y), int(l)) for x, y, l in points]
        if not pts and box is None and prior is None:
            raise ValueError("predict needs at least one click, a box or a prior mask")
        if prior is not None:
            prior = np.asarray(prior, bool)
            if prior.shape != self.image_shape:
                raise ValueError(f"prior mask {prior.shape} does not match the image {self.image_shape}")
        box = None if box is None else tuple(float(v) for v in box)
        if previous is not None:
            previous = np.asarray(previous, bool)
            if previous.shape != self.image_shape:
                raise ValueError(f"previous mask {previous.shape} does not match the image {self.image_shape}")
        if previous is not None and not (previous.any() and pts):
            previous = None  # nothing to edit, or no click to edit it with: start over
        cands = self._predict(pts, box, prior, previous)
        cands.sort(key=lambda c: -c.score)
        return cands

    @abstractmethod
    def _embed(self, rgb: np.ndarray) -> Any: ...

    def _embed_checked(self, rgb: np.ndarray, check: Callable[[], None]) -> Any:
        """``_embed`` with ``check()`` called between its steps; here it is one step, checked before."""
        check()
        return self._embed(rgb)

    @abstractmethod
    def _restore(self, state: Any) -> None: ...

    @abstractmethod
    def _predict(self, points: list[Point], box: Optional[Box], prior: Optional[np.ndarray],
                 previous: Optional[np.ndarray] = None) -> list[Candidate]: ...


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool masks of the same shape; two empty masks count as 1.0."""
    a = np.asarray(a, bool)
    b = np.asarray(b, bool)
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def mask_box(mask: np.ndarray) -> Optional[Box]:
    """Tight (x0, y0, x1, y1) box of a bool mask (x1, y1 exclusive) as floats, or None when empty."""
    box = _int_mask_box(mask)
    return None if box is None else tuple(float(v) for v in box)
