"""Click to remove: click an object, keep one of the segmenter's candidates, track it through the range.

``ClickSegmentTool`` is the tool on the tool panel (C): it only holds what the canvas draws
(clicks, the box being dragged, the candidates of the latest answer). ``SegmentController``
turns canvas input into requests for a segmenter job on its own worker thread (only the latest
request's answer is kept), commits the chosen candidate to the project (one undo step), and
runs the tracker as an engine job whose masks land in the MaskStore as one undo step.
The segmenter is SAM when a checkpoint is configured or found, else the weight-free GrabCut.
"""
from __future__ import annotations

import bisect
import hashlib
import logging
import threading
import time
import weakref
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSpinBox

from app.core.config import EngineConfig
from app.core.engine import resolve_device
from app.core.errors import Cancelled, InpaintError
from app.core.jobs import Progress
from app.core.masks import MaskStore, encode_labels
from app.core.paths import models_dir
from app.core.segment import (CHECK, FALLBACK, KEYFRAME, LOST, SHRUNK, GrabCutSegmenter, TrackParams, changed_spans,
                              click_plate, mask_iou, motion_frames, objects_in, plate_copy, prepare_click, resume_spans,
                              track, without_static)
from app.core.segment import download
from app.core.segment.cues import BackgroundPlate
from app.core.segment.sam import SamSegmenter, find_sam_checkpoint, load_sam
from app.core.segment.track import TrackMemo

from .candidate_strip import CandidateStrip
from .icons import icon
from .project import mask_digest, track_record
from .qimage import mask_to_qimage
from .timeline import frame_runs, frames_text
from .tools import SCOPE_LABELS, Tool
from .workers import Refused

log = logging.getLogger(__name__)

#: what each flag tells the user, when G brings them to the frame
FLAG_REASONS = {LOST: "the object seems hidden or gone here",
                FALLBACK: "the new cut was refused and the flow-warped mask kept",
                SHRUNK: "the mask is under half its size on the keyframe (the object partly hidden, or part "
                        "of it lost)"}
CANDIDATE_COLOR = QColor(40, 220, 255)  # cyan: distinct from the committed mask's red
DRAG_PX = 5  # widget pixels a press must move to become a box instead of a click


class ClickSegmentTool(Tool):
    """What the canvas shows while selecting: clicks, the dragged box, the current candidate."""

    name, label, shortcut = "segment", "Click to select", "C"

    def __init__(self):
        self.points: list[tuple[float, float, int]] = []
        self.box: Optional[tuple[float, float, float, float]] = None
        self.drag: Optional[tuple[QPointF, QPointF]] = None
        self.candidates: list = []  # app.core.segment.Candidate, best first
        self.index = 0
        self.edits_frame = False  # the candidates correct the frame's own mask (commit replaces it)
        #: each answered state of the selection, oldest first: (points, box, candidates, index,
        #: edits_frame); Ctrl+Z takes the selection back to the one before the latest input
        self.history: list[tuple] = []
        self._drawn = (None, None, [])  # (mask id, overlay QImage, contours) of the shown candidate

    @property
    def candidate(self) -> Optional[np.ndarray]:
        return self.candidates[self.index].mask if self.candidates else None

    @property
    def has_selection(self) -> bool:
        """Clicks, a box or candidates are on screen (answered or not)."""
        return bool(self.points or self.box is not None or self.candidates)

    def reset(self) -> None:
        self.points, self.box, self.drag, self.candidates, self.index = [], None, None, [], 0
        self.edits_frame, self.history = False, []

    def state(self) -> tuple:
        return list(self.points), self.box, list(self.candidates), self.index, self.edits_frame

    def restore(self, state: tuple) -> None:
        points, self.box, candidates, self.index, self.edits_frame = state
        self.points, self.candidates = list(points), list(candidates)

    def release(self, mask, pt, size):
        return False  # input is handled by SegmentController; never commit a stroke

    def paint_preview(self, painter: QPainter, to_widget) -> None:
        m = self.candidate
        if m is not None:
            if self._drawn[0] is not id(m):
                contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
                self._drawn = (id(m), mask_to_qimage(m, CANDIDATE_COLOR), [c.reshape(-1, 2) for c in contours])
            _, overlay, contours = self._drawn
            h, w = m.shape
            painter.setOpacity(0.4)
            painter.drawImage(QRectF(to_widget(QPointF(0, 0)), to_widget(QPointF(w, h))), overlay)
            painter.setOpacity(1.0)
            pen = QPen(CANDIDATE_COLOR, 2.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for c in contours:
                painter.drawPolygon(QPolygonF([to_widget(QPointF(float(x), float(y))) for x, y in c]))
        pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.drag is not None:
            painter.drawRect(QRectF(to_widget(self.drag[0]), to_widget(self.drag[1])).normalized())
        elif self.box is not None:
            x0, y0, x1, y1 = self.box
            painter.drawRect(QRectF(to_widget(QPointF(x0, y0)), to_widget(QPointF(x1, y1))))
        for x, y, label in self.points:
            painter.setPen(QPen(QColor(0, 0, 0), 1.5))
            painter.setBrush(QColor(60, 220, 60) if label else QColor(240, 60, 60))
            painter.drawEllipse(to_widget(QPointF(x, y)), 5, 5)


class SegmenterProvider:
    """Builds segmenters on the worker threads: SAM if a checkpoint is given, else GrabCut.

    The SAM model is loaded once per checkpoint and shared; each thread gets its own segmenter
    (the click thread keeps one with a per-frame cache, each tracking run a fresh one).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._model, self._model_key = None, None
        self._click, self._click_key = None, None
        self._video = None
        self._motion_frames: set[int] = set()

    def new(self, sam_path: Optional[Path], device: str = "cpu"):
        if sam_path is None:
            return GrabCutSegmenter()
        with self._lock:
            key = (str(sam_path), device)
            if key != self._model_key:
                self._model, self._model_key = None, None  # (a failed load leaves nothing to reuse)
                self._model = load_sam(sam_path, device=device)
                self._model_key = key
            return SamSegmenter(self._model)

    def embedded(self, sam_path: Optional[Path], video, index: int) -> bool:
        """Whether the click segmenter for ``sam_path`` has frame ``index`` of ``video`` prepared."""
        return (self._click is not None and self._click_key is not None and self._click_key[0] == str(sam_path)
                and self._video == video and self._click.is_cached(index))

    def for_clicks(self, sam_path: Optional[Path], device: str, video):
        """The click segmenter, kept between requests (its cache makes a second click instant)."""
        key = (str(sam_path), device)
        if key != self._click_key or video != self._video:
            self._click, self._click_key, self._video = self.new(sam_path, device), key, video
        return self._click


def sam_checkpoint(settings) -> Optional[Path]:
    """The SAM checkpoint to use: the one in Settings if it exists, else one found in the models folders."""
    return resolve_sam(settings.sam_checkpoint)


def resolve_sam(configured: str) -> Optional[Path]:
    """``configured`` (a path, or "") if that file exists, else a SAM checkpoint found in the models folders."""
    path = Path(configured).expanduser() if configured else None
    if path is not None and path.is_file():
        return path
    return find_sam_checkpoint([models_dir(), download.models_dir()])


PLATE_RADIUS = 10  # frames either side of a first click's background plate (``click_plate``)


class ClickFrames:
    """The frames of the video one click's jobs read, each decoded once: ``segment_job``'s motion
    reads frames 2, 4 and 6 away (``click_motion``), then ``plate_job`` the ``PLATE_RADIUS`` either
    side (``click_plate``), those three among them. The controller makes one per click it sends and
    hands it to that click's plate job; it goes when the click's last job ends, a new click is sent
    or Esc drops the selection. Read on the click worker alone (as the reader is); it holds frame
    ``index`` (the click's own picture) and at most ``limit`` frames in all (the plate's window).

    A frame of a compressed video is decoded from its GOP's keyframe on: on its way to the motion's
    frames the decoder decodes the plate's frames before them too, and the plate's read, starting
    before them, decoded them all again from the keyframe (a seek back). So the first job also takes
    the plate's frames the decoder passes on its way (where the keyframes are known): their
    conversion to RGB is all they cost it, and the plate job decodes on from where it stopped.
    ``plate``: whether a plate job may follow (else nothing is kept); ``at``: where the click
    worker's reader stands, as the click before left it (``position``): the frames the decoder passes
    are those from there on (a read of the ones before would seek back to the keyframe).

    The plate works on copies scaled to ``PLATE_SIDE`` (``plate_copy``), so that is what is kept of
    a frame the plate alone will read: 0.17 MB, not 6.2 MB, a 1080p frame. A frame the motion will
    still ask for (passed on the way to an earlier one of its frames) is kept whole until it is
    given, then as the plate's copy; a job reading with ``keep`` is only ever given whole frames."""

    def __init__(self, index: int, rgb: np.ndarray, plate: bool = True, at: tuple = (None, None),
                 limit: int = 2 * PLATE_RADIUS + 1):
        self.index, self.rgb, self.plate, self.limit = index, rgb, plate, limit
        self._frames: dict[int, np.ndarray] = {}  # the plate's copies (whole: a motion frame not given yet)
        self._reader = None
        self._at = at
        self._after: Optional[int] = None  # the frame after the last read from the reader (None: not known)
        self.decoded: list[int] = []  # the frames read from the reader, in order (benchmarks, tests)

    def position(self) -> tuple:
        """(a weak reference to the reader read last, the frame after the last read from it or None),
        for the next click's ``at``: read once the click's jobs have ended."""
        return (weakref.ref(self._reader) if self._reader is not None else None), self._after

    def reading(self, reader, cancel, keep: bool = True) -> Callable[[int], np.ndarray]:
        """``get_frame`` for one of the click's jobs: a frame read before from here, else from
        ``reader``; ``cancel`` is checked before each (a new click or Esc stops the reads). ``keep``:
        keep what it reads (and the plate's frames the decoder passes on the way) for the click's
        next job; False (the click's last job, reading each frame once): a frame it is given leaves
        the cache."""
        if reader is not self._reader:  # (the file opened afresh, replaced since: not these frames)
            ref, after = self._at
            self._frames, self._reader = {}, reader
            self._after = after if ref is not None and ref() is reader else None
        motion = set(motion_frames(self.index, len(reader)))

        def frame(i: int) -> np.ndarray:
            cancel.check()
            if i == self.index:
                return self.rgb
            if not keep:
                rgb = self._frames.pop(i, None)
                return self._decode(reader, i) if rgb is None else rgb
            rgb = self._frames.get(i)
            if rgb is not None and rgb.shape == self.rgb.shape:  # (held whole: a motion frame passed on the way)
                self._frames[i] = plate_copy(rgb)  # (given once: the plate's copy from now on)
                return rgb
            for m in self._passed(reader, i):
                whole = self._decode(reader, m)
                self._frames[m] = whole if m in motion else plate_copy(whole)
                cancel.check()
            rgb = self._decode(reader, i)  # (a plate copy held is not what a keeping job asks for)
            if i in self._frames or len(self._frames) + 1 < self.limit:
                self._frames[i] = plate_copy(rgb)
            return rgb

        return frame

    def held_bytes(self) -> int:
        """The bytes of the frames held (the click's own picture aside)."""
        return sum(f.nbytes for f in self._frames.values())

    def _decode(self, reader, i: int) -> np.ndarray:
        self._after = None  # (a read that fails leaves the decoder who knows where)
        rgb = reader[i]
        self.decoded.append(i)
        self._after = i + 1
        return rgb

    def _passed(self, reader, i: int) -> list[int]:
        """The plate's frames before ``i`` that the decoder decodes on its way to frame ``i`` and
        that are not held yet: from ``i``'s keyframe, or from where the last read here left the
        decoder within its GOP (none where the reader does not say its keyframes)."""
        keys = getattr(reader, "keyframes", ())
        lo, hi = BackgroundPlate(None, len(reader), None, PLATE_RADIUS).window(self.index)
        if not keys or not lo < i <= hi:
            return []
        start = max(lo, keys[max(0, bisect.bisect_right(keys, i) - 1)])
        if self._after is not None and start <= self._after <= i:
            start = self._after  # (the decoder stands there: the frames before it would want a seek back)
        room = self.limit - 1 - len(self._frames) - 1  # (the click's own picture and frame ``i`` held too)
        return [m for m in range(start, i) if m != self.index and m not in self._frames][:max(0, room)]

    def __len__(self) -> int:
        """The frames held (the click's own picture too)."""
        return len(self._frames) + 1


def plate_may_follow(points: list, box, previous: Optional[np.ndarray]) -> bool:
    """Whether a click's answer may be followed by its background plate's candidate (``plate_job``):
    a first click (one left click, no box, no selection to edit) with the weight-free segmenter."""
    return box is None and previous is None and len(points) == 1 and bool(points[0][2])


def segment_job(provider: SegmenterProvider, sam_path, device, video, index: int, rgb: np.ndarray,
                points: list, box, previous: Optional[np.ndarray] = None,
                frame_mask: Optional[np.ndarray] = None, frames: Optional[ClickFrames] = None):
    """(candidates, edits_frame) for clicks/box on frame ``index`` (rgb: uint8 (H, W, 3)); runs on
    the click worker. ``frames``: the click's frames (``ClickFrames``: what it reads, its plate job
    reads from there; None: a cache of its own).

    ``previous``: the candidate shown when the latest click was made; the clicks edit it.
    ``frame_mask``: the frame's own mask at a first click; when the segmenter can edit it and the
    click reaches it (``Segmenter.reaches``), the click corrects that mask (``edits_frame`` True:
    the candidates are the whole corrected mask) instead of selecting something new."""

    def fn(host, progress, cancel):
        seg = provider.for_clicks(sam_path, device, video)
        before = seg.embed_calls
        seg.set_image(rgb, index=index, check=cancel.check)  # (SAM's embedding stops between encoder blocks)
        if isinstance(seg, GrabCutSegmenter) and seg.embed_calls != before:
            reader = host.reader(video)
            # The object's motion to the frames near helps GrabCut grow a click to the whole object
            # (what differs from their background is a candidate added after: ``plate_job``, which
            # finds the frames read here in ``frames``). A click made again, or the window closing,
            # stops the reads.
            own = frames if frames is not None else ClickFrames(index, rgb, plate=False)
            read = own.reading(reader, cancel, keep=own.plate)
            prepare_click(seg, read, index, len(reader), plate=0)
        cancel.check()
        if previous is None and frame_mask is not None and len(points) == 1 and box is None:
            x, y, _ = points[0]
            if seg.reaches(frame_mask, x, y):
                return seg.predict(points, previous=frame_mask), True
        if box is None and previous is None and not any(label for _, _, label in points):
            return [], False  # right clicks alone: nothing selected to take a part out of
        return seg.predict(points, box, previous=previous), False

    return fn


def plate_job(provider: SegmenterProvider, device: str, video, index: int, rgb: np.ndarray, points: list,
              frames: Optional[ClickFrames] = None):
    """One more candidate for a first click on frame ``index`` with the weight-free segmenter: the
    region that differs from the background plate of the frames around (``click_plate``; read and
    aligned here, after the click's other candidates are on screen: it takes as long again as the
    click, 20 frames read and their flows), or None. Runs on the click worker; the plate stays with
    the frame's cached state, so a new selection on the same frame does not compute it again.
    ``frames``: the click's (``ClickFrames``), holding the frames its ``segment_job`` read (taken
    from there, not decoded again)."""

    def fn(host, progress, cancel):
        seg = provider.for_clicks(None, device, video)  # (the click's own: the same key keeps its cache)
        if not isinstance(seg, GrabCutSegmenter):
            return None
        seg.set_image(rgb, index=index)  # (cached: the click's own state)
        if not seg.has_plate:
            reader = host.reader(video)
            own = frames if frames is not None else ClickFrames(index, rgb, plate=False)
            read = own.reading(reader, cancel, keep=False)  # (the click's last reads: each frame leaves the cache)
            seg.set_plate(click_plate(read, index, len(reader), PLATE_RADIUS))
        cancel.check()
        return seg.plate_candidate(points)

    return fn


def track_job(provider: SegmenterProvider, sam_path, device, video, start: int, end: int, keyframes: dict,
              masks: MaskStore, tracked: Optional[MaskStore] = None, gap: int = 0, spans=None,
              seeds: Optional[dict] = None, so_far: Optional["TrackSoFar"] = None, going_on: Optional[dict] = None):
    """Track the masks of the ``keyframes`` ({absolute frame: the objects selected there one by
    one, bool masks, possibly none}) through [start, end) on the engine worker, or through the
    half-open ``spans`` of it only (what changed since the last run, ``changed_spans``). A span may
    be ``(a, b, seed)`` (``resume_spans``: finishing a stopped run): its keyframe's run goes on
    from frame ``seed`` (``iter_track(resume=)``) with the objects ``seeds[seed]`` (bool masks, as
    the stopped run followed them; empty: the seed's tracked mask as one object); the frames up
    to the seed are not tracked again.

    ``masks`` and ``tracked`` (per frame, the pixels an earlier run added) are the worker's own
    snapshots. Paint that stays put around a keyframe (a logo painted for all frames, or onwards)
    is not followed (``without_static``); each keyframe's mask is split into objects
    (``objects_in``, parts ``gap`` px apart), each followed on its own; with nothing left to follow
    the job fails with a sentence saying so. On each tracked frame what an earlier run added is
    replaced by the new result (the rest of the frame's mask, e.g. a painted logo, stays), so the
    GUI only swaps blobs; on a keyframe the user's mask is left alone and owes nothing to the
    tracker any more. Returns {"changes": {frame: (blob_before, blob_after)}, "flags": {frame:
    flag}, "tracked": {frame: blob}, "objects": {frame: label map blob or None}, "n_objects": the
    most objects on a keyframe, "stopped": cancelled after some frames, "frames": the frames
    done}: with several objects, which tracked pixel is whose (``encode_labels``), so that a
    correction there still tells touching objects apart. Cancelled after some frames were tracked,
    the job returns those (each is final) with "stopped" set; cancelled before, it raises.
    ``so_far``: while it runs, gives the result it would return if it were stopped now (an
    autosave takes it, so that a kill mid-run keeps the frames tracked).

    A run stopped between two frames also returns "kept": what it knew there (``TrackMemo``, in
    memory) and the work it had left. Given back as ``going_on`` with nothing changed since, the job
    does that work: the stopped piece goes on from what it knew and the pieces after it follow as
    they would have, so the frames come out as the unbroken run's, bit for bit. When the objects
    to follow are not those it was stopped with, ``spans`` and ``seeds`` are tracked instead.
    """
    tracked = tracked if tracked is not None else MaskStore(masks.n_frames, masks.width, masks.height)
    # each frame's results go in together under it; the GUI copies them under it (``so_far.take``)
    lock = so_far.lock if so_far is not None else threading.Lock()

    def fn(host, progress, cancel):
        reader = host.reader(video)
        # the masks of the frames around the keyframes are decoded here, off the GUI thread
        own = without_static({i: masks.get(i) for i in sorted(keyframes)}, lambda i: masks.get(i) & ~tracked.get(i),
                             [i for i in range(start, end) if i not in keyframes])
        follow = {i: objects_in(m, keyframes[i], gap) for i, m in own.items() if m.any()}
        if not follow:
            raise Refused("This frame's mask is on the frames around it too (painted or committed with Apply to "
                          "set to every frame in range or onwards, as for a logo), so there is nothing to follow; "
                          "to follow a moving object, set Apply to 'This frame', select it and press Enter, then "
                          "track.")
        followed = _follow_digest(follow)
        cont = going_on if going_on is not None and going_on["follow"] == followed else None
        if cont is not None:  # the work a stopped run had left, its first piece gone on from what it knew
            todo, resume, meant = list(cont["todo"]), dict(cont["resume"]), set(cont["pending"])
            total = len(meant) + sum(a <= k < b for a, b, _ in todo for k in follow)
        else:
            todo = [(s[0], s[1], s[2] if len(s) > 2 else None) for s in (spans or [(start, end)])]
            resume, skipped = {}, set()  # {span: (keyframe, seed, objects)}, the frames up to the seeds
            for n, (a, b, i) in enumerate(todo):
                ks = [k for k in follow if a <= k < b]
                if i is not None and len(ks) == 1:
                    k = ks[0]
                    resume[a, b] = (k, i, (seeds or {}).get(i) or [tracked.get(i)])
                    skipped.update(range(k + 1, i + 1) if i > k else range(i, k))
                else:
                    todo[n] = (a, b, None)
            total = sum(b - a for a, b, _ in todo) - len(skipped)
            # the frames this run is to track (keyframes, and the frames up to a seed, are not tracked)
            meant = {i for a, b, _ in todo for i in range(a, b)} - set(follow) - skipped
        seg = provider.new(sam_path, device)
        changes, flags, owned, labels, seen = {}, {}, {}, {}, set()
        offset = 0
        t0 = time.monotonic()

        def on_mask(step):
            i = offset + step.index
            if step.flag == KEYFRAME:
                with lock:
                    seen.add(i)
                    if not tracked.is_empty(i):
                        owned[i] = None
                return
            label = encode_labels(step.objects) if step.objects else None
            before = masks.blob(i)
            base = masks.get(i) & ~tracked.get(i)  # the frame's mask without the earlier run's part
            masks.set(i, base | step.mask)
            after = masks.blob(i)
            added = step.mask & ~base
            own = added.any() or not tracked.is_empty(i)
            if own:
                tracked.set(i, added)
            with lock:
                seen.add(i)
                if step.flag in CHECK:
                    flags[i] = step.flag
                labels[i] = label
                if after != before:
                    changes[i] = (before, after)
                if own:
                    owned[i] = tracked.blob(i)
                if so_far is not None:
                    so_far.count += 1

        def result(stopped: bool) -> dict:
            """What the job returns, stopped now or not (called under ``lock`` while it runs)."""
            return {"changes": dict(changes), "flags": dict(flags), "tracked": dict(owned), "objects": dict(labels),
                    "start": start, "end": end,
                    "spans": ([(a, b + 1) for a, b in frame_runs(sorted(meant))] if cont is not None else
                              [(a, b) if i is None else (i + 1, b) if i > resume[a, b][0] else (a, i)
                               for a, b, i in todo]),
                    "followed": sorted(follow), "from": sorted(started),
                    "n_objects": max(len(v) for v in follow.values()),
                    "stopped": stopped, "frames": sorted(seen), "pending": sorted(meant - seen) if stopped else []}

        # (a keyframe is reported done as soon as it is read: until a frame is tracked, its near-zero
        # time gave the bar about a second left for a run of half a minute; no time left is said then)
        done, stopped, started, kept = 0, False, set(), None  # (the keyframes the run tracked from)
        if so_far is not None:
            so_far.result = lambda: result(True)
        at, memo = 0, None
        try:
            for at, (a, b, seed) in enumerate(todo):
                keys = {k - a: m for k, m in follow.items() if a <= k < b}
                with lock:
                    started.update(k + a for k in keys)
                go_on, memo = None, TrackMemo()  # (a stop leaves in it what the piece knew)
                if cont is not None and at == 0:
                    memo = cont["memo"]
                    go_on = memo.resume()
                elif seed is not None:
                    k, _, objs = resume[a, b]
                    go_on = {k - a: (seed - a, objs)}
                if keys:  # (a span whose keyframes held only static paint is left as it is)
                    offset = a
                    # this long-lived thread's OpenCV generator (GrabCut's k-means) starts each span
                    # alike (rng_seed), so tracking the same keyframes again gives the same masks
                    track(lambda k: reader[a + k], b - a, keys, seg, cancel=cancel, on_mask=on_mask,
                          keep_masks=False, resume=go_on, keep=memo, rng_seed=0, progress=lambda r: progress(
                              Progress(done + r.done, total, r.stage, time.monotonic() - t0, r.info,
                                       None if seen - set(follow) else 0.0)))
                done += (sum(a <= i < b for i in meant | set(follow)) if cont is not None
                         else b - a - (0 if seed is None else abs(seed - resume[a, b][0])))
        except Cancelled:
            # each frame reported is final (tracked once, from its nearer keyframe): a stopped run
            # keeps them, as one undo step; with nothing tracked yet it is a plain cancel
            if not (seen - set(follow)):
                raise
            stopped = True
            if memo:  # stopped between two frames: the work left, its first piece to go on from what it knew
                later = todo[at + 1:]
                kept = {"memo": memo, "todo": [todo[at][:2] + (None,)] + later, "follow": followed,
                        "resume": {ab: r for ab, r in resume.items() if ab in {(a, b) for a, b, _ in later}},
                        "pending": sorted(meant - seen)}
        with lock:  # (and of the frames it was to track, the ones it did not reach when stopped)
            return dict(result(stopped), kept=kept)

    return fn


def _follow_digest(follow: dict) -> bytes:
    """What a Track job follows ({keyframe: [object masks]}), as a digest: a stopped run goes on from
    what it knew only when it is still that."""
    h = hashlib.blake2b(digest_size=16)
    for k in sorted(follow):
        h.update(repr((k, len(follow[k]))).encode())
        for m in follow[k]:
            h.update(repr(m.shape).encode() + np.packbits(np.asarray(m, bool).ravel()).tobytes())
    return h.digest()


class TrackSoFar:
    """What a Track job running on the engine worker has done so far (``track_job``'s ``so_far``),
    for the project's ``unfinished``: an autosave writes it as the stopped run it would be if it were
    stopped now, so that a kill mid-run keeps the frames tracked and Track finishes the rest."""

    def __init__(self, data: dict):
        self.data = data  # the job's data (``SegmentController.track``): what ``landing`` needs of it
        self.lock = threading.Lock()  # (each frame's results go in under it, on the worker)
        self.count = 0  # frames tracked so far (keyframes not counted)
        self.result: Optional[Callable[[], dict]] = None  # set by the job: its result, stopped now

    def take(self) -> Optional[Callable]:
        """On the GUI thread: the frames so far (copied now, in milliseconds), as a function that
        puts them into a ``ProjectSnapshot`` taken now (``land_in_snapshot``; run on the autosave's thread)."""
        with self.lock:
            result = self.result() if self.result is not None and self.count else None
        return None if result is None else (lambda snap: land_in_snapshot(snap, self.data, result))


def land_in_snapshot(snap, data: dict, result: dict) -> None:
    """Put a Track job's ``result`` into ``snap`` (a ``ProjectSnapshot`` of the project it ran on) as
    ``SegmentController._tracked`` lands it in the project, and the run's record (``last_track``;
    a stopped run's ``pending`` frames, which Track finishes). Any thread; only ``snap`` changes."""
    if snap.video != str(data.get("video")) or snap.tracked is None:
        return  # (another video is open: not this run's)
    _, changes, tracked, labels, (_, flags), new_keys, emptied = landing(snap, data, result)
    # (made aside, then put in at once: a snapshot is never left with half of the run)
    masks, owned, objects = snap.masks.copy(), snap.tracked.copy(), dict(snap.tracked_objects)
    for store, pairs in ((masks, changes), (owned, tracked)):
        for i, (_, blob) in pairs.items():
            store.set_blob(i, blob)
    for i, (_, blob) in labels.items():
        if blob is None:
            objects.pop(i, None)
        else:
            objects[i] = blob
    run = track_record(owned, data["range"], data["sam"], {k: data["keys"][k] for k in result["followed"]},
                       result.get("pending", ()))
    snap.masks, snap.tracked, snap.tracked_objects, snap.last_track = masks, owned, objects, run
    snap.flagged, snap.keyframes = flags, (snap.keyframes | new_keys) - emptied


def landing(state, data: dict, result: dict) -> tuple:
    """What a Track job's ``result`` (``track_job``; ``data``: the job's) changes where it lands:
    ``state`` is the project, or a snapshot of it (their masks, tracked, tracked_objects, flagged and
    keyframes alike). Returns (fresh: the frames corrected while it ran, whose mask, flag and record
    stand; changes {frame: (mask blob now, after)}; tracked, the same for the tracker's record;
    labels, the same for the label maps; (flags now, after); new_keys: the frames followed, keyframes
    from now on; emptied: the keyframes whose mask had been cleared, filled by the run)."""
    stopped = result.get("stopped", False)
    fresh = state.keyframes - data.get("keyframes", set())
    changes = {}
    for i, (before, after) in result["changes"].items():
        if i in fresh:
            continue
        now = state.masks.blob(i)
        if now is not before:  # edited while tracking: apply the user's edit to the tracked mask
            scratch = MaskStore(2, state.masks.width, state.masks.height)
            scratch.set_blob(0, after)
            scratch.set_blob(1, before)
            was, cur = scratch.get(1), state.masks.get(i)
            scratch.set(0, (scratch.get(0) | (cur & ~was)) & ~(was & ~cur))
            after = scratch.blob(0)
        if after != now:
            changes[i] = (now, after)
    # what this run added, so that the next run replaces it (undone with the masks)
    tracked = {i: (state.tracked.blob(i), blob) for i, blob in result.get("tracked", {}).items()
               if state.tracked.blob(i) != blob and i not in fresh}
    # which tracked pixel is whose, for corrections there (undone with the masks)
    labels = {i: (state.tracked_objects.get(i), blob) for i, blob in result.get("objects", {}).items()
              if state.tracked_objects.get(i) != blob and i not in fresh}
    # the run's flags replace those of the frames it tracked (undone with the masks)
    before = dict(state.flagged)
    done = set(result.get("frames", ())) if stopped else None
    flags = {i: f for i, f in before.items()
             if (i not in done if stopped else not any(a <= i < b for a, b in result["spans"]))}
    flags.update({i: f for i, f in result["flags"].items() if i not in fresh})
    # the frames followed (the current one too) are keyframes from now on: the user owns their
    # masks; a frame whose mask held only paint that stays put (a logo) is none (undone with the run)
    new_keys = set(result["followed"]) - state.keyframes
    # a keyframe whose mask had been cleared is filled by the run: the tracker's now, no keyframe
    emptied = (set(data.get("empty_keys", ())) & state.keyframes & set(result.get("frames", ()))) - fresh
    return fresh, changes, tracked, labels, (before, flags), new_keys, emptied


def tracked_text(result: dict, n_objects: int, finishing: bool) -> str:
    """What a finished run did, in words that hold: the keyframes it went from are the user's, not
    tracked ("Tracked 13 frames from 2 keyframes, frames 10..24"). Finishing a stopped run, only the
    frames it tracked are listed (its pieces begin at keyframes, or at the frames the stopped run
    had got to, which it does not track again)."""
    done = sorted(set(result["frames"]) - set(result["followed"]))
    keys = result.get("from", [])
    where = frames_text(sorted(set(done) | (set() if finishing else set(keys))))
    source = f"keyframe {keys[0]}" if len(keys) == 1 else f"{len(keys)} keyframes"
    return (f"Tracked {f'{n_objects} objects through ' if n_objects > 1 else ''}{len(done)} "
            f"frame{'' if len(done) == 1 else 's'} from {source}, {where}")


def candidates_text(n: int) -> str:
    """What the status bar says as ``n`` candidates are shown (the strip over the picture shows them, from 2)."""
    if n < 2:
        return f"{n} candidate(s): Enter keeps it, Esc discards."
    return (f"{n} candidate(s), side by side over the picture: a click on one (or Alt+1..{min(n, 9)}) shows it, Tab "
            "the next, Enter keeps it, Esc discards.")


#: the keys that drop a selection on screen: Esc, and Del (Backspace on a Mac), which clear the masks without one
DROP_KEYS = (Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace)

#: the mask dilation suggested once objects are tracked: they have motion blur and shadows just
#: outside their masks (8 steps keep 0.72 of the object's pixels from the true first mask against
#: 0.68 at the default 4: docs/BENCHMARKS.md, "how much of each object inpainting would remove")
TRACKED_GROW = 8


class SegmentController(QObject):
    """Wires the click tool to the canvas, the project, the workers and the timeline."""

    candidatesChanged = Signal()  # the latest request's candidates arrived (or were cleared)
    trackFinished = Signal(object)  # {"frames": [...], "flagged": [...], "stopped": cancelled part-way}
    selectionChanged = Signal()  # a click or box was made, answered or taken back, or the tool changed

    def __init__(self, canvas, project, panel, controller, settings, timeline=None, parent=None):
        super().__init__(parent)
        self.canvas, self.project, self.panel = canvas, project, panel
        self.controller, self.settings, self.timeline = controller, settings, timeline
        self.tool = ClickSegmentTool()
        self.provider = SegmenterProvider()
        self.jobs = controller.segment
        self._request = 0  # id of the latest request; older answers are dropped
        self._answered_request = 0  # id of the latest request whose answer (or failure) has come
        self._commit_on_answer = None  # the request whose answer Enter, pressed before it came, commits
        self._pending: Optional[tuple] = None
        self._asked: Optional[tuple] = None  # the request last submitted (as _pending held it)
        self._parked: Optional[tuple] = None  # the request stopped when another tool was picked
        self._frames: Optional[ClickFrames] = None  # the frames the latest click's jobs read (until they end)
        self._read_at: tuple = (None, None)  # where they left the click worker's reader (``ClickFrames.position``)
        self._press: Optional[tuple] = None  # (widget pos, image pos, label)
        self._box_last = False  # the latest input was a box (not a click)
        self._corrects = False  # the latest request corrects the frame's own mask (its answer replaces it)
        self._new = False  # the first click was a Shift+click: it selects something new, never corrects
        self._committing = False  # our own commit is changing the frame's mask
        #: asked at an Esc that would drop the selection: True where something over the picture took it
        #: first (the window sets it to its notice's ``take_esc``: a notice shown goes before the selection)
        self.esc_above: Callable[[], bool] = lambda: False
        self._grow_hint: Optional[tuple] = None  # Track's latest message: (its words, Grow then, words for a Grow)

        self.tool_action = panel.add_tool(self.tool)
        self.commit_action = QAction("Commit selection", self)
        self.commit_action.setToolTip("Add the shown candidate to this frame's mask (Enter; Tab shows the next one)")
        self.commit_action.triggered.connect(self.commit_when_answered)
        # Enter, shown beside it in the Mask menu; a shortcut of the picture alone, so that Enter in a
        # field of the tool bar or a dialog does what it does there (keypad Enter first: the menu says "Enter")
        self.commit_action.setShortcuts([QKeySequence(Qt.Key.Key_Enter), QKeySequence(Qt.Key.Key_Return)])
        self.commit_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        canvas.addAction(self.commit_action)
        self.track_action = QAction("Track through range", self)
        self.track_action.setToolTip("Follow this frame's mask through the in/out range (Ctrl+T)")
        self.track_action.setShortcut("Ctrl+T")
        self.track_action.triggered.connect(self.track)
        self.next_flag_action = QAction("Next frame to check", self)
        self.next_flag_action.setToolTip("Go to the next frame the tracker flagged (G; Shift+G goes back)")
        self.next_flag_action.setShortcut("G")
        self.next_flag_action.triggered.connect(lambda: self.go_to_flagged(1))
        self.prev_flag_action = QAction("Previous frame to check", self)
        self.prev_flag_action.setShortcut("Shift+G")
        self.prev_flag_action.triggered.connect(lambda: self.go_to_flagged(-1))
        self.commit_action.setIcon(icon("check"))
        self.track_action.setIcon(icon("track"))
        panel.addAction(self.commit_action)
        panel.addAction(self.track_action)  # the frames-to-check pair lives in the Mask menu (G, Shift+G)
        # the workflow's words stay beside the icons, short so that Grow stays in view on a 1024-px
        # wide window (the menus and tooltips keep the long names)
        for action, word in ((self.tool_action, "Select"), (self.commit_action, "Commit"), (self.track_action, "Track")):
            action.setIconText(word)
            panel.widgetForAction(action).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        # the engine's mask dilation, at hand on the way from Track to Inpaint: tracked objects have
        # motion blur and shadows just outside their masks (the same setting as Settings > Engine)
        self.dilate_spin = QSpinBox()
        self.dilate_spin.setRange(0, 64)
        self.dilate_spin.setPrefix("Grow ")
        self.dilate_spin.setSuffix(" px")
        self.dilate_spin.setToolTip("Mask dilation: masks grow by this many pixels before filling, so edges, motion "
                                    "blur and shadows go too (4 suits a logo, 8 a tracked object; Settings > Engine)")
        self.dilate_spin.valueChanged.connect(self._dilate_changed)
        panel.addWidget(self.dilate_spin)
        project.settingsChanged.connect(self._show_dilate)
        self._show_dilate()

        # the candidates side by side over a corner of the picture: a click on one shows it (as Tab)
        self.strip = CandidateStrip(canvas)
        self.strip.picked.connect(self.show_candidate)
        canvas.state.changed.connect(lambda: self.strip.isVisible() and self.strip.place())  # (zoom, pan)
        canvas.installEventFilter(self)
        self.candidatesChanged.connect(self._show_strip)
        self.candidatesChanged.connect(self.selectionChanged)
        panel.toolChanged.connect(self._tool_changed)
        self.jobs.finished.connect(self._answered)
        self.jobs.failed.connect(self._failed)
        self.jobs.cancelled.connect(lambda job: self._next())
        controller.engine.finished.connect(self._tracked)
        for ended in (controller.engine.failed, controller.engine.cancelled):  # (nothing lands)
            ended.connect(lambda job, *_: self.project.end_unfinished(job.data.get("so_far")))
        controller.engine.busyChanged.connect(lambda busy: self._enable())
        project.currentChanged.connect(lambda _: self.discard())
        project.masksChanged.connect(self._masks_changed)
        project.videoChanged.connect(self._video_changed)
        project.trackingChanged.connect(self._show_flags)
        self._enable()

    # --- state ---------------------------------------------------------------------------
    @property
    def keyframes(self) -> set[int]:
        """Frames whose mask was made or corrected with the click tool (kept in the project)."""
        return self.project.keyframes

    @property
    def flagged(self) -> dict[int, str]:
        """Frames the tracker asks the user to check (kept in the project)."""
        return self.project.flagged

    @property
    def active(self) -> bool:
        return self.panel.tool is self.tool

    def holds_selection(self) -> bool:
        """A selection is on screen (clicks, a box or candidates, answered or not): the window's
        Undo takes back its latest input (``undo_input``) and its Redo waits (``redo_input``)."""
        return self.active and self.tool.has_selection

    def unkept_text(self, then: str) -> Optional[str]:
        """The sentence that stops Track, Inpaint, Preview or Export while a selection is on screen but
        not kept (the run would leave it out), ``then`` naming the step after; None when none is."""
        if not (self.active and (self.tool.candidates or self._waiting())):
            return None
        if self._waiting() and self._commit_on_answer == self._request:
            return f"The selection is still being computed; Enter keeps it when it appears, then {then}."
        return f"The selection shown in cyan is not kept yet: press Enter to keep it (Esc drops it), then {then}."

    def untracked(self) -> list[int]:
        """The frames of the in/out range that have a mask, when each of them is a keyframe and other
        frames there have none: an object selected and kept but not tracked yet, which Inpaint would
        take away on those frames only (empty otherwise)."""
        p = self.project
        if not p.has_video:
            return []
        masked = [i for i in range(p.start, p.end) if not p.masks.is_empty(i)]
        if not masked or len(masked) == p.end - p.start or not set(masked) <= self.keyframes:
            return []
        return masked

    def _enable(self) -> None:
        self.track_action.setEnabled(self.project.has_video and not self.controller.engine.busy)
        for a in (self.next_flag_action, self.prev_flag_action):
            a.setEnabled(bool(self.flagged))
        # the candidate is drawn (and committed) only while the click tool is picked; it is kept meanwhile
        self.commit_action.setEnabled(self.tool.candidate is not None and self.active)

    def _show_dilate(self) -> None:
        self.dilate_spin.blockSignals(True)
        self.dilate_spin.setValue(int(self.project.engine_settings.get("dilate", EngineConfig.dilate)))
        self.dilate_spin.blockSignals(False)
        if self._grow_hint is not None and self._grow_hint[1] != self.dilate_spin.value():
            # Track's message suggested Grow 8 px "now 4": while it is still shown, it says the value
            # Grow has now (or drops the suggestion), here or from Settings > Engine
            old, _, text = self._grow_hint
            self._grow_hint = (text(self.dilate_spin.value()), self.dilate_spin.value(), text)
            self.controller.revise.emit(old, self._grow_hint[0])

    def _dilate_changed(self, value: int) -> None:
        self.project.set_engine_settings({**self.project.engine_settings, "dilate": int(value)})

    def _tool_changed(self, tool) -> None:
        if tool is not self.tool and self._press is not None:
            # another tool picked mid-drag: its release goes to that tool, so the drag ends here
            self._press, self.tool.drag = None, None
            self.canvas.update()
        if tool is not self.tool and self._waiting() and (self._pending is not None or self.jobs.busy):
            # another tool picked before the answer came: stop computing it (a SAM embedding stops
            # at its next encoder block); it is asked for again when the click tool is back
            self._parked, self._pending = self._pending or self._asked, None
            self.jobs.cancel()
        if tool is self.tool and self.project.has_video:
            sam = sam_checkpoint(self.settings)
            self.controller.message.emit(
                "Click the object (right click: not the object; drag: a box). "
                + (f"Segment Anything ({sam.name})." if sam is not None else
                   "Weight-free segmenter: no SAM checkpoint found (Settings > General > Download… fetches one)."))
        if tool is self.tool and self._parked is not None:
            self._pending, self._parked = (self._parked if self._waiting() else None), None
            self._next()
        self._enable()
        self._show_strip()  # (the candidates are kept, not shown, while another tool is picked)
        self.selectionChanged.emit()  # (shown or hidden: Undo takes back its clicks only when shown)

    def _video_changed(self) -> None:
        self._show_flags()  # the project starts a new video with no keyframes or flags
        self.discard()

    def _show_flags(self) -> None:
        if self.timeline is not None:
            self.timeline.set_flagged(self.flagged)
        self._enable()

    def go_to_flagged(self, direction: int = 1) -> Optional[int]:
        """Show the next (``direction`` 1) or previous (-1) flagged frame after the current one,
        wrapping around; returns it, or None when no frame is flagged."""
        if not self.flagged or not self.project.has_video:
            return None
        cur = self.project.current
        frames = sorted(self.flagged)
        ahead = [i for i in frames if (i - cur) * direction > 0]
        target = (ahead[0] if direction > 0 else ahead[-1]) if ahead else (frames[0] if direction > 0 else frames[-1])
        self.project.set_current(target)
        why = FLAG_REASONS.get(self.flagged[target], "the tracker is unsure of it")
        if len(frames) == 1:  # (no next: G again stayed here, saying the same)
            self.controller.message.emit(f"Frame {target} (the only frame to check): {why}; correct it and track again.")
        else:
            self.controller.message.emit(f"Frame {target} ({frames.index(target) + 1} of {len(frames)} to check): "
                                         f"{why}; correct it and track again, or G for the next.")
        return target

    def _masks_changed(self, frames) -> None:
        """A correction of the frame's mask replaces the whole mask when committed: made before
        the mask changed (the brush, an undo, a tracking run), it would take that change back.
        A first click not answered yet is asked again, as a click on the mask as it is now: made
        on an empty frame that Track filled before the answer came, it became a new selection
        added over the tracked mask instead of a correction of it."""
        if self._committing or self.project.current not in frames:
            return
        if self._waiting() and len(self.tool.points) == 1 and self.tool.box is None and not self._new:
            m = self.project.masks.get(self.project.current)
            frame_mask = m if m.any() else None
            if self._parked is not None:  # (another tool is picked: asked when the click tool is back)
                self._parked, self._corrects = (*self._parked[:6], frame_mask), frame_mask is not None
                return
            commit = self._commit_on_answer == self._request  # (Enter pressed before the answer still keeps it)
            self.request(frame_mask=frame_mask)
            if commit:
                self._commit_on_answer = self._request
            return
        corrects = self.tool.edits_frame or (self._corrects and self._answered_request != self._request)
        if not corrects:
            return
        if self.tool.has_selection:
            self.discard()
            self.controller.message.emit("This frame's mask changed, so the correction selected before it was "
                                         "dropped: click again to correct the mask as it is now.")

    def discard(self) -> None:
        """Drop the clicks and candidates (Esc); an answer still on its way is ignored, and not
        computed further (a SAM embedding stops at its next encoder block) unless it is the SAM
        embedding of the frame shown: the likeliest next step is another click there, which then
        needs no new pass (another frame, video or tool stops it)."""
        self._request += 1
        self._pending = self._parked = None
        if not self._embedding(self.project.current):
            self.jobs.cancel()
        self._corrects = False
        self.tool.reset()
        self._enable()
        self.canvas.update()
        self.candidatesChanged.emit()

    def cycle(self, step: int = 1) -> None:
        """Show the next candidate (Tab; ``step`` -1, Shift+Tab: the previous one)."""
        if self.tool.candidates:
            self.show_candidate((self.tool.index + step) % len(self.tool.candidates))

    def show_candidate(self, index: int) -> None:
        """Show candidate ``index`` (0-based): Tab's next one, a thumbnail of the strip clicked, Alt+1..9."""
        if 0 <= index < len(self.tool.candidates) and self.active:
            self.tool.index = index
            history = self.tool.history  # (Ctrl+Z back to these candidates shows the one picked, not the first)
            if history and history[-1][2] and history[-1][2][0] is self.tool.candidates[0]:
                history[-1] = history[-1][:3] + (index,) + history[-1][4:]
            self.canvas.update()
            self.controller.message.emit(f"Candidate {self.tool.index + 1} of {len(self.tool.candidates)}: Tab shows "
                                         "the next, Enter keeps it"
                                         + (" (it replaces this frame's mask)" if self.tool.edits_frame else "")
                                         + ", Esc discards.")
            self.candidatesChanged.emit()

    def _show_strip(self) -> None:
        """The strip shows the candidates while there are two or more on screen (the click tool picked)."""
        tool, p = self.tool, self.project
        if not (self.active and len(tool.candidates) > 1 and p.has_video):
            self.strip.clear()
            return
        self.strip.show_for(p.frame(p.current), [c.mask for c in tool.candidates], tool.index, self.canvas.to_widget)

    def undo_input(self) -> None:
        """Undo (Ctrl+Z anywhere in the window, Edit > Undo, the tool bar's) while a selection is
        held: take back the latest click or box (one still being computed, or the one the shown
        candidates answer), showing the selection as it was before it; with nothing before it, drop
        the selection. (It undid the last edit of the mask instead, say the commit of another
        object, and the Enter that followed made that undo final.)"""
        history = self.tool.history
        if not self._waiting() and history:
            history.pop()  # the state on screen: its input is the one taken back
        if not history:
            self.discard()
            self.controller.message.emit("Took back the click: nothing is selected (Ctrl+Z again undoes the last "
                                         "edit of the mask).")
            return
        self._request += 1  # (an answer on its way is for an input taken back)
        self._answered_request, self._pending, self._parked = self._request, None, None
        if not self._embedding(self.project.current):
            self.jobs.cancel()
        self.tool.restore(history[-1])
        self._corrects = self.tool.edits_frame
        self._enable()
        self.canvas.update()
        self.candidatesChanged.emit()
        n = len(self.tool.candidates)
        self.controller.message.emit(f"Took back the latest click: the selection is as it was before it "
                                     f"({n} candidate(s)); Ctrl+Z takes back the one before, Esc discards.")

    def redo_input(self) -> None:
        """Redo while a selection is held: a click taken back does not come back (it is made again
        in a moment), and a mask edit redone under the selection would change the mask it is for."""
        self.controller.message.emit("Redo waits while a selection is held: Enter keeps it or Esc drops it first (a "
                                     "click taken back does not come back: click again).")

    def commit_when_answered(self) -> bool:
        """Enter: commit the shown candidate, or, while the answer to the latest click or box is on its
        way, that answer when it comes (a further click, Esc or another frame cancels this)."""
        if self._waiting():
            self._commit_on_answer = self._request
            self.controller.message.emit("The selection is still being computed: Enter keeps it when it appears "
                                         "(a further click cancels that).")
            return True
        return self.commit()

    def commit(self) -> bool:
        """Add the shown candidate to the current frame's mask (one undo step, which also makes it a keyframe)."""
        m = self.tool.candidate
        if m is None or self.canvas.mask is None or not self.active:
            return False
        index = self.project.current
        # a correction of the frame's own mask replaces it; a new selection is added to it (and is
        # remembered as an object of its own, so tracking tells it from one it touches); the frame
        # becomes a keyframe and loses its flag (the user has checked it) in the same undo step
        # (a correction in pieces of the frame's one object is kept as that object: ``_pieces_of_one``)
        correction, had = self.tool.edits_frame, len(self.project.objects.get(index, []))
        self._committing = True
        try:
            self.project.edit_mask(m if correction else self.canvas.mask | m, self.panel.scope, self.tool.label,
                                   keyframe=True, new_object=m if not correction or self._pieces_of_one(index, m) else None)
        finally:
            self._committing = False
        self.discard()
        count = had if correction else len(self.project.objects.get(index, []))  # (a correction adds none)
        scope = self.panel.scope
        if scope != "frame":  # a selection stamped on other frames too: right for a logo, not for a mover
            n = len(self.project.scope_frames(scope))
            self.controller.message.emit(
                f"Kept on {n} frames (Apply to: {SCOPE_LABELS[scope]}), as for a logo that stays put; to follow "
                "a moving object instead, set Apply to 'This frame', press Ctrl+Z and Enter again, then Track.")
            return True
        corrects = ("a plain click next to the mask corrects it" if sam_checkpoint(self.settings) is None else
                    "the eraser (E) corrects the mask")  # (SAM answers its own clicks only: no edits of a mask)
        self.controller.message.emit(
            (f"{count} objects selected on this frame" if count > 1 else "Kept")
            + f": Shift+click another object to add it ({corrects}), or Track through range (Ctrl+T) follows "
              "each on its own.")
        return True

    def _pieces_of_one(self, index: int, corrected: np.ndarray) -> bool:
        """Whether the ``corrected`` mask of frame ``index`` is in pieces tracking would follow apart,
        where the frame's mask was one object: the correction is then kept as that object, in as
        many pieces as it has (the rider behind a tree, corrected by a click on his shirt and one on
        his wheel, was followed as two: bmx-trees, 49 frames flagged and 12 left empty against 33
        and 3 as one)."""
        p = self.project
        known, gap = p.objects_on(index), TrackParams().gap_px((p.masks.height, p.masks.width))
        mask = p.masks.get(index)
        return mask.any() and len(objects_in(mask, known, gap)) == 1 and len(objects_in(corrected, known, gap)) > 1

    # --- segmentation requests -----------------------------------------------------------------
    def add_point(self, x: float, y: float, label: int, new: bool = False) -> None:
        """A click: ``label`` 1 object, 0 not. ``new`` (Shift+click): a first click selects a new
        object even next to the frame's mask (a second person beside the first), never corrects it."""
        self.tool.points.append((float(x), float(y), int(label)))
        self._box_last = False
        if len(self.tool.points) == 1:
            self._new = new
        # a click after the first corrects the candidate on screen instead of starting over; a
        # first click near the frame's own mask (say one the tracker made) may correct that
        if len(self.tool.points) > 1:
            self.request(previous=self.tool.candidate)
        else:
            m = self.canvas.mask
            self.request(frame_mask=m.copy() if m is not None and m.any() and not new else None)

    def set_box(self, box) -> None:
        self.tool.box = tuple(float(v) for v in box)
        self._box_last = True
        self.request()

    def request(self, previous: Optional[np.ndarray] = None, frame_mask: Optional[np.ndarray] = None) -> None:
        p = self.project
        if not p.has_video or (not self.tool.points and self.tool.box is None):
            return
        self._request += 1
        self._corrects = frame_mask is not None or (previous is not None and self.tool.edits_frame)
        self._pending = (self._request, p.current, p.frame(p.current), list(self.tool.points), self.tool.box,
                         previous, frame_mask)
        self.canvas.update()
        self.selectionChanged.emit()
        if not self.jobs.busy:
            self._next()
        elif not self._embedding(p.current):
            self.jobs.cancel()  # superseded: stop it at its next check, the pending one follows
        # (else the running job computes this frame's embedding: the pending one reuses it)

    def _waiting(self) -> bool:
        """The latest click or box has not been answered yet."""
        return bool(self.tool.points or self.tool.box is not None) and self._answered_request != self._request

    def _embedding(self, index: int) -> bool:
        """Whether the running job computes the SAM embedding of frame ``index`` of this video."""
        job = self.jobs.current
        if job is None or job.cancel.cancelled or job.data.get("frame") != (self.project.video_path, index):
            return False
        sam = job.data.get("sam")
        return sam is not None and not self.provider.embedded(sam, self.project.video_path, index)

    def _next(self) -> None:
        if self.jobs.busy:
            return
        if self._frames is not None:  # (the click's jobs are done: its frames go)
            self._read_at, self._frames = self._frames.position(), None
        if self._pending is None:
            return
        req, index, rgb, points, box, previous, frame_mask = self._asked = self._pending
        self._pending = None
        sam = sam_checkpoint(self.settings)
        try:
            device = str(resolve_device(self.settings.device))
        except InpaintError as exc:  # (a setting carried over from a machine with a GPU)
            self.discard()
            self.controller.error.emit(str(exc))
            return
        if sam is None:  # (the weight-free segmenter reads frames near: shared with its plate job, if one follows)
            self._frames = ClickFrames(index, rgb, plate_may_follow(points, box, previous), self._read_at)
        fn = segment_job(self.provider, sam, device, self.project.video_path, index, rgb, points, box, previous,
                         frame_mask, frames=self._frames)
        self.jobs.submit("Select", fn, request=req, frame=(self.project.video_path, index), sam=sam, device=device)
        self.controller.message.emit(self._segmenting_text(sam, device, index))

    def _segmenting_text(self, sam: Optional[Path], device: str, index: int) -> str:
        """What the user waits for: with SAM on a CPU the first click on a frame takes seconds."""
        if sam is None or device != "cpu" or self.provider.embedded(sam, self.project.video_path, index):
            return "Segmenting…"
        return ("Segmenting… (Segment Anything on the CPU: the first click on a frame computes its picture's "
                "embedding, 10-30 s by model; further clicks on it answer in under a second)")

    def _answered(self, job, result) -> None:
        if job.data.get("plate"):
            self._plate_answered(job, result)
            self._next()
            return
        if job.data.get("request") == self._request:
            self._answered_request = self._request
            candidates, edits_frame = result
            candidates = [c for c in candidates if c.mask.any()]
            if not candidates:
                self._found_nothing()
                self._next()
                return
            self.tool.candidates, self.tool.index = list(candidates), 0
            self.tool.edits_frame = self.tool.edits_frame or edits_frame
            self.tool.history.append(self.tool.state())
            self._enable()
            self.canvas.update()
            if self.tool.edits_frame:
                self.controller.message.emit("Correcting this frame's mask: click again to refine, Enter keeps it "
                                             "(Shift+click or drag a box to select something new), Esc discards.")
            else:
                self.controller.message.emit(candidates_text(len(candidates)))
            self.candidatesChanged.emit()
            if self._commit_on_answer == self._request:
                self.commit()
            else:
                self._more_candidates(job)
        self._next()

    def _more_candidates(self, job) -> None:
        """After a first click's candidates are shown (GrabCut, no box, nothing newer asked), look
        for one more: what differs from the background plate (``plate_job``), added second."""
        req, index, rgb, points, box, previous, _ = self._asked
        if (self._pending is not None or self.tool.edits_frame or not plate_may_follow(points, box, previous)
                or job.data.get("sam") is not None or job.data.get("frame") != (self.project.video_path, index)):
            return
        fn = plate_job(self.provider, job.data.get("device", "cpu"), self.project.video_path, index, rgb, points,
                       frames=self._frames)
        self.jobs.submit("More candidates", fn, request=req, plate=True)

    def _plate_answered(self, job, candidate) -> None:
        """Add the plate's candidate second, where one Tab goes, if the selection it is for is still
        on screen and it is not a near copy of one there (the one shown stays shown)."""
        tool = self.tool
        if (candidate is None or job.data.get("request") != self._request or not tool.candidates
                or tool.edits_frame or not candidate.mask.any()
                or any(mask_iou(candidate.mask, c.mask) > 0.92 for c in tool.candidates)):
            return
        first = tool.candidates[0]
        tool.candidates.insert(1, candidate)
        if tool.index >= 1:
            tool.index += 1
        if tool.history and tool.history[-1][2] and tool.history[-1][2][0] is first:
            # (Ctrl+Z back to this click brings it back with it)
            points, box, cands, index, edits = tool.history[-1]
            tool.history[-1] = (points, box, cands[:1] + [candidate] + cands[1:], index + (index >= 1), edits)
        self.controller.message.emit(candidates_text(len(tool.candidates)))
        self.candidatesChanged.emit()

    def _found_nothing(self) -> None:
        """The latest click or box selected nothing: drop it and keep what was shown."""
        dropped = None
        if self._box_last:
            self.tool.box = None
        elif self.tool.points:
            dropped = self.tool.points.pop()
        if self.tool.box is None and not any(label for _, _, label in self.tool.points) and not self.tool.candidates:
            self.tool.points = []  # right clicks left alone would select nothing either
        if dropped is not None and not dropped[2] and not self.tool.points and not self.tool.candidates:
            self.controller.message.emit("Nothing selected: left-click the object first (or drag a box around it); "
                                         "a right click then takes a wrong part out.")
        else:
            self.controller.message.emit("Nothing found there, so that input was dropped: left-click inside the "
                                         "object, or drag a box around it.")
        self._enable()
        self.canvas.update()
        self.candidatesChanged.emit()

    def _failed(self, job, message: str) -> None:
        if job.data.get("plate"):  # (an extra candidate: the click's own answer is on screen; nothing to stop for)
            log.warning("no background-plate candidate: %s", message)
            self._next()
            return
        if job.data.get("request") == self._request:
            self._answered_request = self._request
            self.controller.error.emit(message)
        self._next()

    # --- tracking ---------------------------------------------------------------------------
    def track(self, then: str = ""):
        """Track the current frame's mask (and other keyframes in range) through the in/out range.
        ``then``: the step the user was on the way to ("Inpaint range (Ctrl+Enter)", from Inpaint's
        "Track first"), named in the message when the run ends (it ended on the Grow hint alone)."""
        p, c = self.project, self.controller
        if not c._ready():
            return None
        unkept = self.unkept_text("Track")  # (tracked without it, it was silently left out of the run)
        if unkept:  # (refusals with what to do: a notice over the picture, not an error dialog)
            c.refused.emit(unkept)
            return None
        if p.end - p.start < 2:
            c.refused.emit(f"The in/out range is frame {p.start} alone: nothing to track. Widen it (I and O set the "
                           "in and out points at the current frame) first.")
            return None
        keys = {i for i in self.keyframes if p.start <= i < p.end and not p.masks.is_empty(i)}
        # this frame's mask is followed too, if the frame is in the range, unless it is only what
        # the tracker made there (say a flagged frame not corrected yet), which the keyframes
        # around it make again (a frame outside the range: the keyframes inside it are tracked)
        inside = p.start <= p.current < p.end
        tracker_made = bool(keys) and (p.masks.get(p.current) <= p.tracked.get(p.current)).all()
        if inside and not p.masks.is_empty(p.current) and not tracker_made:
            keys.add(p.current)
        if not keys:  # (an empty frame between keyframes tracks from them)
            outside = sorted(i for i in self.keyframes if not p.masks.is_empty(i))
            c.refused.emit(("This frame has no mask to track; click the object and press Enter first." if inside else
                            f"Nothing to track in the in/out range (frames {p.start}..{p.end - 1}): click the object "
                            "on a frame inside it and press Enter first.")
                           + (f" Keyframes outside the in/out range ({p.start}..{p.end - 1}): {frames_text(outside)}; "
                              "widen the range (I and O set the in and out points at the current frame) to track "
                              "from them." if outside else ""))
            return None
        sam = sam_checkpoint(self.settings)
        sam = None if sam is None else str(sam)
        try:
            device = str(resolve_device(self.settings.device))
        except InpaintError as exc:
            c.error.emit(str(exc))
            return None
        digests = {i: mask_digest(p.masks.blob(i)) for i in keys}
        # after a correction only the stretches between the keyframes around it are tracked again
        # (each frame is tracked from its neighbouring keyframes); with nothing changed, all of it
        last, spans, seeds, finishing = p.last_track, None, {}, False
        # what a stopped run knew, with no mask edited since (any edit releases it): it goes on from that
        # as the unbroken run would have (the job falls back on ``spans`` if it follows other objects).
        # Held until the job lands (a Cancel before its first frame leaves it to go on from again)
        stopped, going_on = p.stopped_run, None
        if last is not None and last["range"] == (p.start, p.end) and last["sam"] == sam:
            spans = changed_spans(p.start, p.end, digests, last["keys"], p.tracked_as_last_run)
            if last.get("pending"):  # a stopped run: its frames not reached yet are followed on
                redo = {i for a, b in spans for i in range(a, b)}  # from where it stopped
                more = resume_spans(p.start, p.end, keys, [i for i in last["pending"] if i not in redo],
                                    seedable=lambda i: not p.tracked.is_empty(i))
                if stopped is not None and stopped["memo"] and not spans and stopped["pending"] == list(
                        last["pending"]):
                    going_on = stopped
                spans, finishing = sorted(spans + more), bool(more)
                seeds = {i: p.objects_on(i) for _, _, i in more if i is not None}
        # keyframes now (a frame corrected while the run goes on is the user's when it lands), and
        # those in range whose mask was cleared (the run fills them: they are keyframes no more)
        empty_keys = {i for i in self.keyframes if p.start <= i < p.end and p.masks.is_empty(i)}
        data = dict(kind="track", keys=digests, range=(p.start, p.end), sam=sam, video=p.video_path,
                    keyframes=set(self.keyframes), empty_keys=empty_keys, finishing=finishing or going_on is not None,
                    then=then, version=p.mask_version)
        if going_on is None:
            p.stopped_run = None
        so_far = TrackSoFar(data)  # (the frames so far, for the autosaves while it runs)
        fn = track_job(self.provider, sam, device, p.video_path, p.start, p.end, {i: p.objects_on(i) for i in keys},
                       p.masks_snapshot(), p.masks_snapshot(p.tracked),
                       TrackParams().gap_px((p.masks.height, p.masks.width)), spans or None, seeds, so_far=so_far,
                       going_on=going_on)
        job = c.engine.submit("Track", fn, so_far=so_far, **data)
        p.unfinished = so_far
        return job

    def _tracked(self, job, result) -> None:
        if job.data.get("kind") != "track":
            return
        try:
            self._land(job, result)
        finally:  # (its frames are the project's now: autosaves write them as they are there)
            self.project.end_unfinished(job.data.get("so_far"))

    def _land(self, job, result) -> None:
        """Put a Track job's result into the project: one undo step, the run's record, a message."""
        from .project import MaskEditCommand

        p = self.project
        if job.data.get("video") != p.video_path:  # (another video was opened as it ended: not ours)
            return
        stopped = result.get("stopped", False)
        edited = p.mask_version != job.data.get("version")  # (masks edited while it ran)
        # keyframes it started from whose mask changed meanwhile (an undo of the commit, an edit): the
        # run followed the old mask; said below, since nothing else on screen tells
        changed = sorted(k for k, digest in job.data.get("keys", {}).items() if mask_digest(p.masks.blob(k)) != digest)
        their = (("its mask as it was", "it as it is") if len(changed) == 1 else
                 ("their masks as they were", "them as they are"))
        changed_note = (f" {frames_text(changed).capitalize()} changed while it ran (an undo or an edit): it followed "
                        f"{their[0]}; Track again follows {their[1]} now (Ctrl+Z takes this run away)."
                        if changed else "")
        fresh, changes, tracked, labels, (before, flags), new_keys, emptied = landing(p, job.data, result)
        if changes or tracked:
            marks = {i: ((False, before.get(i)), (True, flags.get(i))) for i in new_keys}
            marks.update({i: ((True, before.get(i)), (False, flags.get(i))) for i in emptied})
            p.undo.push(MaskEditCommand(p, changes, "Track object", tracked, (before, flags), marks, labels=labels))
        else:
            for i, (_, blob) in labels.items():
                p.set_tracked_objects(i, blob)
            self.flagged.clear()
            self.flagged.update(flags)
            self.keyframes.update(new_keys)
            self.keyframes.difference_update(emptied)
        # (after a stopped run the next Track follows on from where it stopped, ``resume_spans``)
        p.record_track(job.data["range"], job.data["sam"], {k: job.data["keys"][k] for k in result["followed"]},
                       result.get("pending", ()))
        # what it knew where it stopped, if nothing was edited while it ran (set after the undo step, which releases it)
        p.stopped_run = result.get("kept") if stopped and not edited else None
        if self.flagged != before or new_keys or emptied:
            p.mark_dirty()  # the flags and keyframes are saved with the project
        p.trackingChanged.emit()  # the timeline's marks
        flagged = sorted(i for i in result["flags"] if i not in fresh)
        n = result.get("n_objects", 1)
        spans = result["spans"]
        again = spans != [(result["start"], result["end"])]
        if stopped:
            kept = sorted(set(result["frames"]) - set(result["followed"]))
            lost = sum(result["flags"].get(i) == "lost" for i in kept)  # (tracked, but with nothing found)
            self.controller.message.emit(
                f"Tracking stopped: kept the {len(kept)} frame(s) tracked so far ({frames_text(kept)}"
                + (f", the object lost on {lost} of them" if lost else "")
                + "; Ctrl+Z takes them away); Track again finishes the range" + (f"; check the {len(flagged)} flagged frame(s)."
                                                            if flagged else ".") + changed_note)
            self.trackFinished.emit({"frames": sorted(changes), "flagged": flagged, "stopped": True})
            return
        finishing = job.data.get("finishing")
        said = (tracked_text(result, n, finishing)
                + (" (on from where the stopped run had got to; the other frames are as it left them)" if finishing
                   else " again (the other frames are as the last run left them)" if again else "")
                + (f"; check the {len(flagged)} flagged frame(s) (G goes to the next)" if flagged else "")
                + (f"{', then' if flagged else '. Next:'} {job.data['then']}." if job.data.get("then") else "."))

        def text(grow: int) -> str:
            return said + (f" Grow {TRACKED_GROW} px (beside Track; now {grow}) takes a moving object's blurred "
                           "edges and shadow too." if grow < TRACKED_GROW and not changed else "") + changed_note

        grow = self.dilate_spin.value()
        self._grow_hint = (text(grow), grow, text)  # (said again as Grow changes, _show_dilate)
        self.controller.message.emit(self._grow_hint[0])
        self.trackFinished.emit({"frames": sorted(changes), "flagged": flagged, "stopped": False})

    # --- canvas input ----------------------------------------------------------------------
    def eventFilter(self, obj, e) -> bool:
        if obj is not self.canvas or not self.active:
            return False
        t = e.type()
        if t == QEvent.Type.ShortcutOverride and e.key() in DROP_KEYS and self.holds_selection():
            e.accept()  # Esc discards the selection here instead of cancelling a job, Del instead of clearing
            return True  # the masks (Ctrl+Z is the window's Undo, which takes back its latest click: holds_selection)
        if t == QEvent.Type.KeyPress:
            return self._key(e)
        if t in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            return self._mouse_press(e)
        if t == QEvent.Type.MouseMove and self._press is not None:
            self.tool.drag = (self._press[1], self.canvas.to_image(e.position())) if self._dragging(e) else None
            self.canvas.update()
            return True
        if t == QEvent.Type.MouseButtonRelease and self._press is not None:
            return self._mouse_release(e)
        return False

    def _key(self, e) -> bool:
        key = e.key()
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) and (self.tool.candidates or self.tool.points
                                                             or self.tool.box is not None):
            # (before the answer too: the focus stays here for the Enter that follows)
            self.cycle(-1 if key == Qt.Key.Key_Backtab else 1)
            return True
        if (Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and self.tool.candidates
                and e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier == Qt.KeyboardModifier.AltModifier):
            # Alt+N shows candidate N (the digits alone are the views' keys: 1 Original, 2 Side by side, 3 Split)
            n = int(key) - int(Qt.Key.Key_1)
            if n < len(self.tool.candidates):
                self.show_candidate(n)
            else:
                count = len(self.tool.candidates)
                self.controller.message.emit(f"There is no candidate {n + 1}: {candidates_text(count)}")
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if not (self.commit_when_answered() or self.tool.points or self.tool.box is not None):
                self.controller.message.emit("Nothing selected to keep: click the object first (Enter keeps what "
                                             "the click selects).")
            return True
        if key == Qt.Key.Key_Escape and self.tool.has_selection and self.esc_above():
            return True  # (the notice over the picture took it; the next Esc drops the selection)
        if key in DROP_KEYS and self.tool.has_selection:
            waited, embedding = self._waiting(), self._embedding(self.project.current)
            self.discard()
            if key != Qt.Key.Key_Escape:  # (Del cleared the masks of Apply to's frames, the selection stayed)
                self.controller.message.emit("Selection discarded; with nothing selected, Del clears the mask.")
            elif waited:  # (the status bar said "Segmenting…")
                self.controller.message.emit(
                    "Selection discarded; Segment Anything goes on preparing this frame, so the next click here "
                    "answers sooner." if embedding else "Selection discarded; its answer, still being computed, "
                    "was stopped.")
            return True
        return False

    def _mouse_press(self, e) -> bool:
        c = self.canvas
        button = e.button()
        if button == Qt.MouseButton.MiddleButton or c._space_down or c.image is None or not c.editable:
            return False  # pan as usual
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        negative = button == Qt.MouseButton.RightButton or bool(e.modifiers() & Qt.KeyboardModifier.AltModifier)
        self._press = (e.position(), c.to_image(e.position()), 0 if negative else 1,
                       bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        c.setFocus(Qt.FocusReason.MouseFocusReason)
        return True

    def _dragging(self, e) -> bool:
        d = e.position() - self._press[0]
        return self._press[2] == 1 and abs(d.x()) + abs(d.y()) >= DRAG_PX

    def _mouse_release(self, e) -> bool:
        (_, start, label, new), self._press = self._press, None
        self.tool.drag = None
        end = self.canvas.to_image(e.position())
        h, w = self.canvas.image.height(), self.canvas.image.width()
        d = e.position() - QPointF(self.canvas.to_widget(start))
        if label == 1 and abs(d.x()) + abs(d.y()) >= DRAG_PX:
            r = QRectF(start, end).normalized()
            box = (max(0.0, r.left()), max(0.0, r.top()), min(float(w), r.right()), min(float(h), r.bottom()))
            if box[2] > box[0] and box[3] > box[1]:
                self.set_box(box)
        elif 0 <= start.x() < w and 0 <= start.y() < h:
            self.add_point(start.x(), start.y(), label, new)
        else:
            self.controller.message.emit("That click is outside the picture: click on the object itself.")
        self.canvas.update()
        return True
