"""Which inpainted frames read which frames' masks: what a mask edit puts out of date.

A fill over [start, end) works in *units*; each reads the masks (and frames) of some frames and
writes the results of others. A frame's result depends on the masks its units read, nothing
else of the masks, so after an edit only the results of the units that read an edited frame
need computing again. Per fill mode (``engine.resolve_fill``):

* ``telea``: each frame is filled alone; a unit is one frame.
* ``sttn``: the engine's windows (``window_schedule`` with the configured step). A window writes
  its neighbours (``neighbours``: within ``neighbor_radius`` of its centre; an empty-masked one
  is passed through, but painting it makes it a target, so it counts) and reads them plus its
  reference frames (``reference_ids``: the ``max_refs`` multiples of ``ref_stride`` nearest to
  the centre). This is exact: the windows and references are those of the run, which
  ``InpaintEngine.run(..., only=...)`` reproduces for any subset. With ``crop_to_mask`` the crop
  is the box around every mask of the range (``InpaintEngine._crop_for``), so every result reads
  every mask.
* ``propagate+telea`` / ``propagate+sttn``: ``propagate_video``'s chunks (``chunk_plan``). A chunk
  writes its segment and reads all its frames (its context before the segment, the segment, the
  look-ahead after it): the flows, the chains (as long as the chunk: ``max_distance`` is not
  set) and the fill of what is left (Telea per frame, or STTN over the chunk) stay inside it.
  This is a bound, not exact: the next chunk starts from the last ``overlap`` frames this one
  wrote, so an edit may change it too through those context frames; that reach is left out
  (measured in docs/BENCHMARKS.md, "Re-inpainting after an edit").

No Qt here; ``app.ui`` keeps one per result (``Made``) and asks it after each mask edit.
"""
from __future__ import annotations

import bisect
from typing import Iterable, Optional

from .config import EngineConfig


class MaskReach:
    """Units of a fill over the frames [start, end); ``writers(frame)`` are the frame ranges whose
    results read that frame's mask. This base class is one unit: ``writes`` reads all of ``reads``."""

    def __init__(self, reads: tuple[int, int], writes: Optional[tuple[int, int]] = None):
        self.start, self.end = int(reads[0]), int(reads[1])
        self.writes = tuple(writes) if writes is not None else (self.start, self.end)

    @property
    def span(self) -> tuple[int, int]:
        """The frames whose masks some result reads."""
        return self.start, self.end

    def writers(self, frame: int) -> Iterable[tuple[int, int]]:
        return [self.writes] if self.start <= frame < self.end else []

    def affected(self, changed: Iterable[int]) -> set[int]:
        """The frames whose results read a mask of ``changed``."""
        out: set[int] = set()
        whole = self.end - self.start
        for e in changed:
            for a, b in self.writers(e):
                out.update(range(a, b))
            if len(out) >= whole:  # (a stroke over the whole range: no need to look further)
                break
        return out


class EachFrame(MaskReach):
    """Every result reads its own frame's mask only (``telea``)."""

    def writers(self, frame):
        return [(frame, frame + 1)] if self.start <= frame < self.end else []


class Windows(MaskReach):
    """STTN's windows over [start, end) with the settings of ``config`` (exact)."""

    def __init__(self, start: int, end: int, config: EngineConfig):
        from .engine import window_schedule

        super().__init__((start, end))
        self.radius, self.stride, self.max_refs = config.neighbor_radius, config.ref_stride, config.max_refs
        self.centres = window_schedule(start, end, self.radius, config.window_step or 2 * self.radius + 1)

    def _nbrs(self, c: int) -> tuple[int, int]:
        return max(self.start, c - self.radius), min(self.end, c + self.radius + 1)

    def refs(self, c: int) -> list[int]:
        """``reference_ids`` of the window at ``c``, looked for near it only: the ``max_refs``
        nearest multiples of the stride lie within ``reach`` (each side holds more than
        ``max_refs`` outside the neighbours there), so a long range costs no more than a short one."""
        from .engine import reference_ids

        a, b = self._nbrs(c)
        lo, hi = self.start, self.end
        if self.max_refs is not None:
            reach = (self.max_refs + 2) * self.stride + 2 * self.radius + 1
            lo, hi = max(lo, c - reach), min(hi, c + reach + 1)
        return reference_ids(c, lo, hi, self.stride, self.max_refs, range(a, b))

    def writers(self, frame):
        if not self.start <= frame < self.end:
            return []
        r, cs = self.radius, self.centres
        found = [self._nbrs(cs[k]) for k in range(bisect.bisect_left(cs, frame - r), bisect.bisect_right(cs, frame + r))]
        if frame % self.stride == 0 and self.max_refs != 0:  # a reference frame: the windows near it read it
            reach = (self.max_refs + 2) * self.stride + 2 * self.radius + 1 if self.max_refs is not None else self.end
            for k in range(bisect.bisect_left(cs, frame - reach - r), bisect.bisect_right(cs, frame + reach + r)):
                if frame in self.refs(cs[k]):
                    found.append(self._nbrs(cs[k]))
        return found


class Chunks(MaskReach):
    """``propagate_video``'s chunks over [start, end) for frames of ``pixels`` pixels (a bound: see
    the module's text)."""

    def __init__(self, start: int, end: int, pixels: int):
        from .propagate import chunk_plan

        super().__init__((start, end))
        self.plan = chunk_plan(start, end, pixels=pixels)
        self._ends = [p[3] for p in self.plan]

    def writers(self, frame):
        found = []
        for ctx, a, b, read_end in self.plan[bisect.bisect_right(self._ends, frame):]:
            if ctx > frame:
                break
            found.append((a, b))
        return found


def mask_reach(mode: Optional[str], config: EngineConfig, start: int, end: int, pixels: int) -> MaskReach:
    """The reach of a fill in ``mode`` (as ``resolve_fill`` gives it; None: not known, so every
    result reads every mask) over [start, end) of a video with frames of ``pixels`` pixels."""
    if mode == "telea":
        return EachFrame((start, end))
    if mode == "sttn":
        return MaskReach((start, end)) if config.crop_to_mask else Windows(start, end, config)
    if mode in ("propagate+telea", "propagate+sttn"):
        return Chunks(start, end, pixels)
    return MaskReach((start, end))
