"""The project: the state every widget observes (video, masks, range, settings, result).

Widgets never hold this state themselves; they call methods here and redraw on the
signals. Mask edits go through a bounded QUndoStack (UndoHistory) whose commands store, per changed frame,
the compressed mask blob before and after (bytes shared with the MaskStore), so a stroke
applied to 10,000 frames of one watermark costs a dict of references, not 10,000 masks.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import traceback
import uuid
import weakref
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from glob import escape as glob_escape
from typing import Callable, Iterable, Optional

import numpy as np
from PySide6.QtCore import QLockFile, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication, QUndoCommand, QUndoStack
from shiboken6 import isValid

from app.core.errors import Cancelled, InpaintError, OutputError, short
from app.core.fsutil import atomic_path, fsync_path
from app.core.masks import MaskStore, decode_labels, load_masks
from app.core.video import open_video

from .deadline import DeadlineTimer
from .results import ResultCache

log = logging.getLogger(__name__)

#: what an undo step keeps for each frame it records beside the blobs (a dict entry, a tuple of two,
#: an int; ``MaskEditCommand.weight``), measured with tracemalloc (benchmarks/bench_undo_history.py)
ENTRY_BYTES = 140

FORMAT = "sttn-inpaint-project/1"
PROJECT_SUFFIX = ".sttnproj"
SCOPES = ("frame", "range", "onwards")


class MaskEditCommand(QUndoCommand):
    """One undo step: ``changes[i] = (blob_before, blob_after)`` for each changed frame, and
    ``tracked`` the same for the project's record of what the tracker added (a tracking run),
    ``flags`` (before, after) for the frames it flagged, and ``marks[i] = ((keyframe, flag) before,
    (keyframe, flag) after)`` for a frame the step made a keyframe (a correction, a click-tool commit,
    or a frame a tracking run followed; a correction also clears the frame's flag), and
    ``objects[i] = (selections before, after)`` for a frame where a click-tool commit added one,
    ``labels[i] = (label map before, after)`` for a tracked frame's record of which pixel is whose."""

    def __init__(self, project: "Project", changes: dict, text: str, tracked: Optional[dict] = None,
                 flags: Optional[tuple[dict, dict]] = None, marks: Optional[dict] = None,
                 objects: Optional[dict] = None, labels: Optional[dict] = None):
        super().__init__(text)
        # (weakly: the stack is the project's, and a command holding the project made a cycle that the
        # collector freed in any order; QUndoStack::clear then met commands deleted first and crashed)
        self._project = weakref.ref(project)
        self.changes = changes
        self.tracked = tracked or {}
        self.flags = flags
        self.marks = marks or {}
        self.objects = objects or {}
        self.labels = labels or {}
        #: False while ``UndoHistory`` rebuilds the stack: pushed and moved over again, it changes nothing
        self.live = True
        self.weight = self._weigh()

    @property
    def project(self) -> "Project":
        return self._project()

    def copy(self) -> "MaskEditCommand":
        """The same step as a new command (clearing the stack deletes its own), not live."""
        twin = MaskEditCommand(self.project, {}, self.text())
        twin.__dict__.update(self.__dict__)  # (the same dicts, and the weight: nothing weighed again)
        twin.live = False
        return twin

    def _sides(self, which: int):
        """Each blob or packed selection on one side (0: before, 1: after) of this step."""
        for kind in (self.changes, self.tracked, self.labels):
            for pair in kind.values():
                if pair[which] is not None:
                    yield pair[which]
        for pair in self.objects.values():
            yield from pair[which]

    def _weigh(self) -> int:
        """The bytes this step alone keeps once it is done (``UndoHistory``'s budget): the blobs,
        label maps and selections it replaced (each distinct one once; the after side is the
        project's until a later step replaces it, and is counted there), plus ``ENTRY_BYTES`` of
        bookkeeping for each frame it records. An upper bound: a blob replaced on one frame may
        still be another frame's."""
        kept = {id(v) for v in self._sides(1)}
        gone = {id(v): v for v in self._sides(0) if id(v) not in kept}
        entries = (len(self.changes) + len(self.tracked) + len(self.labels) + len(self.objects) + len(self.marks)
                   + (len(self.flags[0]) + len(self.flags[1]) if self.flags is not None else 0))
        return sum(v.nbytes if isinstance(v, np.ndarray) else len(v) for v in gone.values()) + ENTRY_BYTES * entries

    def _apply(self, which: int) -> None:
        if not self.live:
            return
        p = self.project
        for i, pair in self.changes.items():
            p.masks.set_blob(i, pair[which])
        for i, pair in self.tracked.items():
            p.tracked.set_blob(i, pair[which])
        for i, pair in self.objects.items():
            if pair[which]:
                p.objects[i] = list(pair[which])
            else:
                p.objects.pop(i, None)
        for i, pair in self.labels.items():
            p.set_tracked_objects(i, pair[which])
        if self.changes or self.tracked:
            p._masks_edited(list(self.changes))
        if self.flags is not None:
            p.flagged.clear()
            p.flagged.update(self.flags[which])
        for i, pair in self.marks.items():
            key, flag = pair[which]
            (p.keyframes.add if key else p.keyframes.discard)(i)
            if flag is None:
                p.flagged.pop(i, None)
            else:
                p.flagged[i] = flag
        if self.flags is not None or self.marks:
            p.trackingChanged.emit()

    def redo(self):
        self._apply(1)

    def undo(self):
        self._apply(0)


class UndoHistory(QUndoStack):
    """The project's undo stack, bounded: by ``steps`` steps (Qt's own undo limit) and by ``budget``
    bytes of what only the history keeps (the steps' ``weight``). A push that goes past the budget
    drops the oldest steps, never the newest one (a tracking run larger than the budget alone can
    still be undone) and never the state shown. Qt drops steps only by count, and takes a limit only
    on an empty stack (``setUndoLimit``), so the stack is rebuilt from copies of the steps kept,
    which change nothing while they are pushed. Where the clean state (the last save) was among the
    steps dropped, no state is clean any more: the project stays dirty until it is saved again."""

    def __init__(self, parent=None, budget: int = 512 << 20, steps: int = 1000):
        super().__init__(parent)
        self.budget = budget
        self.setUndoLimit(steps)

    def weights(self) -> list[int]:
        """Each step's ``weight``, oldest first (0 for a command that has none)."""
        return [getattr(self.command(i), "weight", 0) for i in range(self.count())]

    def held(self) -> int:
        """The bytes the history alone keeps, as its budget counts them."""
        return sum(self.weights())

    def push(self, command: QUndoCommand) -> None:
        super().push(command)
        self.trim()

    def trim(self) -> int:
        """Drop the oldest steps until the others fit the budget; returns how many were dropped."""
        weights = self.weights()
        total, drop = sum(weights), 0
        while total > self.budget and drop < self.index() - 1:
            total -= weights[drop]
            drop += 1
        if drop:
            self._drop(drop)
        return drop

    def _drop(self, k: int) -> None:
        """Rebuild the stack without its ``k`` oldest steps (all done ones), keeping its index and,
        if it is among those kept, its clean state; tells what changed once it is rebuilt."""
        def state():
            return (self.canUndo(), self.canRedo(), self.undoText(), self.redoText(), self.isClean())

        index, clean, before = self.index(), self.cleanIndex(), state()
        kept = [self.command(i).copy() for i in range(k, self.count())]
        blocked = self.blockSignals(True)
        try:
            self.clear()
            for command in kept:
                super().push(command)
            if clean >= k:
                self.setIndex(clean - k)
                self.setClean()
            else:
                self.resetClean()
            self.setIndex(index - k)
        finally:
            for command in kept:
                command.live = True
            self.blockSignals(blocked)
        self.indexChanged.emit(self.index())
        for signal, was, now in zip((self.canUndoChanged, self.canRedoChanged, self.undoTextChanged,
                                     self.redoTextChanged, self.cleanChanged), before, state()):
            if was != now:
                signal.emit(now)


def _damages_of(reader) -> list[tuple[int, int, Optional[str]]]:
    """(first, end, notice) of each damaged stretch ``reader`` found (``VideoReader.damages``); a
    reader that keeps no list, its ``damaged_span`` with its notice, if any."""
    damages = getattr(reader, "damages", None)
    if damages is not None:
        return [tuple(d) for d in damages]
    span = getattr(reader, "damaged_span", lambda: None)()
    return [] if span is None else [(*span, getattr(reader, "notice", None))]


class Project(QObject):
    videoChanged = Signal()
    currentChanged = Signal(int)
    rangeChanged = Signal(int, int)  # [start, end)
    masksChanged = Signal(object)  # list[int] of frames whose mask changed
    settingsChanged = Signal()
    resultChanged = Signal()
    dirtyChanged = Signal(bool)
    pathChanged = Signal(object)
    frameReady = Signal(int)  # the decoded picture of this frame is in the cache: cached_frame(index)
    trackingChanged = Signal()  # keyframes or flagged frames were replaced (a project was loaded)
    revised = Signal()  # what a save writes changed (``revision`` moved on): the Autosaver's cue
    unfinishedChanged = Signal()  # a job's work began or stopped being ``unfinished`` (Track started, ended)
    #: a sentence: reading this video's frames met damage no check at open found (a frame the decoder
    #: concealed: the reader's ``notice`` for that stretch, ``VideoReader.damages``), said once for
    #: each stretch (``met_damage``), whether a read here on the GUI thread (``frame``: the click
    #: tool's), the frame loader's or a job's on a worker thread (Track, Inpaint, the click tool's
    #: look at the frames around a click) met it
    damageMet = Signal(str)

    BUSY_FRAMES = 250  # an edit of this many frames shows the busy cursor while it runs
    FRAME_CACHE = 12  # decoded frames kept for scrubbing back and forth, at least (6 MB each at 1080p)
    FRAME_CACHE_BYTES = 144 << 20  # more where they are smaller: 23 at 1080p, 64 at most
    #: the undo history's bounds (``UndoHistory``): the bytes only it keeps, and its steps. At 1080p
    #: (docs/LOAD.md) 512 MB holds ~9 re-trackings of 10,000 frames (5.5 MB a 1,000), ~4 strokes
    #: over 10,000 tracked frames (10.8 MB a 1,000); one-frame strokes (~10 KB) meet the 1000 steps first
    UNDO_BYTES = 512 << 20
    UNDO_STEPS = 1000

    def __init__(self, parent=None):
        super().__init__(parent)
        self.reader = None
        self.video_path: Optional[Path] = None
        self.masks: Optional[MaskStore] = None
        self.current = 0
        self.start = self.end = 0
        self.engine_settings: dict = {}
        #: frames whose mask the user made or corrected for tracking (click tool), and frames the
        #: tracker flagged for a check ({frame: "lost" | "fallback" | "shrunk"}); saved with the project
        self.keyframes: set[int] = set()
        self.flagged: dict[int, str] = {}
        #: per keyframe, the objects selected on it one by one (bit-packed masks): tracking follows
        #: each on its own even where they touch (a woman and her dog); saved as NAME.objects.npz
        self.objects: dict[int, list[np.ndarray]] = {}
        #: per tracked frame with several objects, which pixel the last run gave to which object (a
        #: compressed label map): a correction there keeps touching objects apart; saved with them
        self.tracked_objects: dict[int, bytes] = {}
        #: per frame, the pixels the tracker's last run added to the mask: tracking again replaces
        #: them, so a correction also takes a wrong tracked part away on the other frames
        self.tracked: Optional[MaskStore] = None
        #: the last tracking run, so that tracking again redoes only what changed since
        #: (``changed_spans``): {"range": (start, end), "sam": checkpoint or None, "keys": {keyframe:
        #: digest of its mask}, "tracked": {frame: the tracked blob it left}, "pending": [frames a
        #: stopped run did not reach]}; saved with the project
        self.last_track: Optional[dict] = None
        #: what the last Track run, stopped between two frames, knew there and the work it had left
        #: (``segment_tool.track_job``'s "kept"), so that Track goes on from it as the unbroken run
        #: would have: in memory only (a reopened project goes on from the masks, ``resume_spans``),
        #: one run, released by any mask edit, undo or redo, or another video
        self.stopped_run: Optional[dict] = None
        #: the work of a job that runs and has not landed yet (a Track's frames tracked so far): None,
        #: or an object with ``count`` (how much of it there is, 0: none yet) and ``take()`` (None, or a
        #: function that puts it into a ``ProjectSnapshot`` as if the job were stopped now; any thread
        #: may call it). Autosaves write it, so that a kill mid-run keeps it; saves and the undo
        #: history never see it (the job lands as one undo step when it ends)
        self._unfinished = None
        self.path: Optional[Path] = None
        #: the project file a recovered autosave was the work of (File > Save As starts there)
        self.origin: Optional[Path] = None
        self.results = ResultCache()
        #: a video is being opened (``open_video``'s opener runs, on a worker in the window)
        self.opening = False
        #: the record (``Made``) of the Inpaint running on this video, if one runs (set by Controller)
        self.inpainting = None
        #: what makes a result beyond the engine settings, the device and weights (``Made.source``;
        #: the window's ``Controller.engine_source``): a result made by others is out of date
        self.engine_source: Callable[[], dict] = dict
        self._mask_version = 0  # mask edits so far: what a result's record checks its snapshot against
        self._shown_state = None  # whether the frame shown was out of date, when the view last heard
        self.resultChanged.connect(self._forget_shown)
        self.currentChanged.connect(self._forget_shown)
        self.undo = UndoHistory(self, self.UNDO_BYTES, self.UNDO_STEPS)
        self.undo.cleanChanged.connect(self._clean_changed)
        self._dirty = False
        #: counts the changes of what a save writes (an undo step done or undone, ``mark_dirty``, a
        #: tracking run recorded, a video opened): the Autosaver writes nothing where it has not moved
        self.revision = 0
        self.undo.indexChanged.connect(self._revise)
        #: what a project had past the end of the shorter video it was opened with: autosaves keep
        #: it, the next save drops it (``load``)
        self.past_end = PastEnd()
        #: what the last ``load`` found worth saying of the video (more frames, another frame rate)
        self.load_notes: list[str] = []
        self._frames: "OrderedDict[int, np.ndarray]" = OrderedDict()
        #: decodes frames off the GUI thread (app.ui.frames.FrameLoader, set by bind_frames);
        #: None: request_frame decodes at once, on the calling thread
        self.frame_loader = None
        #: the frames each damaged stretch said so far spoils (``met_damage``): [(first, end)] of this video
        self._damage_said: list[tuple[int, int]] = []

    # --- video -------------------------------------------------------------------
    @property
    def has_video(self) -> bool:
        return self.reader is not None

    @property
    def pixel_aspect(self) -> float:
        """The width of a pixel of the video over its height (1 but for anamorphic files)."""
        sar = getattr(self.reader, "sample_aspect", None) if self.reader is not None else None
        return float(sar) if sar else 1.0

    @property
    def n_frames(self) -> int:
        return len(self.reader) if self.reader is not None else 0

    @property
    def fps(self) -> float:
        return self.reader.fps if self.reader is not None else 25.0

    def open_video(self, path, opener=None) -> None:
        """Open a video (or frame folder); raises VideoError. Only the first frame is decoded.

        ``opener(path) -> (reader, first frame)`` does the opening (the window's runs it on a
        worker thread: indexing an hour of video takes seconds); default: here, at once.
        """
        self.opening = True  # (the window stays live meanwhile: Controller refuses jobs until it is open)
        try:
            reader, first = (opener or open_with_first_frame)(path)
        finally:
            self.opening = False
        self.close_video()
        self.reader = reader
        self._frames[0] = first
        if self.frame_loader is not None:
            self.frame_loader.set_reader(reader)
            self.frame_loader.back_run = self.frame_cache_size // 2  # (a step back: the frames before it)
        self.video_path = Path(path).expanduser().resolve()
        self.masks = MaskStore(len(reader), reader.width, reader.height)
        self.tracked = MaskStore(len(reader), reader.width, reader.height)
        self.keyframes, self.flagged, self.objects, self.tracked_objects = set(), {}, {}, {}
        self.last_track = self.unfinished = self.stopped_run = None  # (a job of the video before lands nothing here)
        self.past_end, self.load_notes = PastEnd(), []
        # (what opening it found: the window says it then)
        self._damage_said = [(first, end) for first, end, _ in _damages_of(reader)]
        self.current, self.start, self.end = 0, 0, len(reader)
        self.path = self.origin = None
        self._dirty = False
        self.undo.clear()
        self._revise()
        self.videoChanged.emit()
        self.rangeChanged.emit(self.start, self.end)
        self.currentChanged.emit(0)
        self.request_frame(0)
        self.pathChanged.emit(None)
        self.dirtyChanged.emit(False)

    def close_video(self) -> None:
        if self.reader is not None:
            self.reader.close()
            if self.frame_loader is not None:
                self.frame_loader.set_reader(None)
        self.reader = None
        self._frames.clear()
        # each video its own results: a job of the one before writes into its own (ResultCache.put
        # stops it), never into this one's, where its frames counted as this video's result
        old, self.results = self.results, ResultCache()
        old.dispose()
        self.inpainting = None

    def frame(self, index: int) -> np.ndarray:
        """RGB uint8 (H, W, 3), decoded here if it is not cached (views use request_frame)."""
        rgb = self.cached_frame(index)
        if rgb is None:
            reader, before = self.reader, getattr(self.reader, "notice", None)
            try:
                rgb = reader[index]
            finally:  # (a frame the decoder concealed: the notice is set before it is given, or the read fails)
                if getattr(reader, "notice", None) != before:
                    self.met_damage(reader)
            self._cache(index, rgb)
        return rgb

    def met_damage(self, reader) -> None:
        """Say (``damageMet``) each damaged stretch ``reader`` met reading this video's frames: the
        project's own reader, the frame loader's cursor on the same file, or what a job's reader met
        on a worker thread (``workers.DamageMet``, queued to this thread; one of a video opened before
        is dropped). A stretch is said once: not where one said before spoils frames of it or ends
        at its first (every reader meets the same damage, each from where it started decoding; a
        scrub back and forth over it, a Track and an Inpaint through it are no news)."""
        path = getattr(reader, "path", None)
        if self.video_path is None or path is not None and Path(path).expanduser().resolve() != self.video_path:
            return
        for first, end, notice in _damages_of(reader):
            if notice and not any(a <= end and first <= b for a, b in self._damage_said):
                self._damage_said.append((first, end))
                self.damageMet.emit(notice)

    def cached_frame(self, index: int) -> Optional[np.ndarray]:
        """The frame if it is among the few recent ones kept for scrubbing back and forth, else None."""
        rgb = self._frames.get(index)
        if rgb is not None:
            self._frames.move_to_end(index)
        return rgb

    def _cache(self, index: int, rgb: np.ndarray) -> None:
        self._frames[index] = rgb
        while len(self._frames) > self.frame_cache_size:
            self._frames.popitem(last=False)

    @property
    def frame_cache_size(self) -> int:
        """How many decoded frames are kept: ``FRAME_CACHE_BYTES`` worth, 12 to 64."""
        if self.reader is None:
            return self.FRAME_CACHE
        return max(self.FRAME_CACHE, min(64, self.FRAME_CACHE_BYTES // (3 * self.reader.width * self.reader.height)))

    def request_frame(self, index: Optional[int] = None, back: bool = False) -> None:
        """Make frame ``index`` (default: the current one) available; ``frameReady`` tells when.

        At once if it is cached; otherwise ``frame_loader`` decodes it off the GUI thread
        (only the newest request is decoded) and ``put_frame`` brings it back. ``back``: a step
        back (the loader decodes the frames before it too, for the next steps).
        """
        if not self.has_video:
            return
        index = self.current if index is None else index
        if index in self._frames or self.frame_loader is None:
            self.frame(index)
            self.frameReady.emit(index)
        else:
            self.frame_loader.request(index, back)

    def put_frame(self, index: int, rgb: np.ndarray) -> None:
        """A frame decoded elsewhere (the frame loader's thread) for the current video."""
        if self.has_video and 0 <= index < self.n_frames:
            self._cache(index, rgb)
            self.frameReady.emit(index)

    def set_current(self, index: int) -> None:
        index = max(0, min(int(index), self.n_frames - 1))
        if index != self.current:
            back = 0 < self.current - index <= 2  # (Left, or a slow drag backwards)
            self.current = index
            # asked for before the views hear of the change (a view that asks for it too, without
            # ``back``, then finds it asked for)
            self.request_frame(index, back)
            self.currentChanged.emit(index)

    def set_range(self, start: int, end: int) -> None:
        start = max(0, min(int(start), self.n_frames - 1))
        end = max(start + 1, min(int(end), self.n_frames))
        if (start, end) != (self.start, self.end):
            self.start, self.end = start, end
            self._touch()
            self.rangeChanged.emit(start, end)

    # --- settings ----------------------------------------------------------------
    def set_engine_settings(self, settings: dict) -> None:
        if settings != self.engine_settings:
            self.engine_settings = dict(settings)
            self._result_state_changed()
            self._touch()
            self.settingsChanged.emit()

    # --- masks -------------------------------------------------------------------
    def _with_object(self, index: int, mask: np.ndarray) -> dict:
        """The ``objects`` entry of an undo step that remembers ``mask`` as one more object selected
        on frame ``index`` (tracking follows each on its own even where they touch)."""
        before = list(self.objects.get(index, []))
        return {index: (before, before + [np.packbits(np.asarray(mask, bool).ravel())])}

    def set_tracked_objects(self, index: int, blob: Optional[bytes]) -> None:
        """Record (``encode_labels``) or forget which tracked object each pixel of frame ``index`` is."""
        if blob is None:
            self.tracked_objects.pop(index, None)
        else:
            self.tracked_objects[index] = blob

    def objects_on(self, index: int) -> list[np.ndarray]:
        """The objects on frame ``index``, bool (H, W) masks: those selected there one by one, else
        those the last tracking run followed there (when it followed several), else none."""
        h, w = self.masks.height, self.masks.width
        if self.objects.get(index):
            return [np.unpackbits(b, count=h * w).reshape(h, w).astype(bool) for b in self.objects[index]]
        blob = self.tracked_objects.get(index)
        return [] if blob is None else decode_labels(blob, (h, w))  # damaged: a lost hint, no error

    def scope_frames(self, scope: str, index: Optional[int] = None) -> range:
        """The frames ``scope`` names, seen from frame ``index`` (default: the current one)."""
        i = self.current if index is None else index
        if scope == "range":
            return range(self.start, self.end)
        if scope == "onwards":
            return range(i, self.n_frames)
        return range(i, i + 1)

    def edit_mask(self, new_mask: np.ndarray, scope: str = "frame", text: str = "Paint",
                  keyframe: bool = False, new_object: Optional[np.ndarray] = None,
                  index: Optional[int] = None) -> None:
        """Make the current frame's mask ``new_mask`` and apply the same change to ``scope``.
        ``index``: the frame a stroke was drawn on, in place of the current one (playback may have
        moved on under it); that frame is changed whatever the scope (a stroke on a frame outside the
        range went to the range only, and vanished from under the brush).

        What the edit added and erased on this frame is added and erased on each target
        frame, so painting 'every frame in range' keeps the other frames' own masks.
        A hand edit of this frame alone on a frame the tracker filled is a correction: the frame
        becomes a keyframe (tracking again starts from it instead of overwriting it), the record of
        what the tracker added there is dropped and its flag is cleared, all in the same undo step.
        ``keyframe``: the edit makes the frame a keyframe in any case (a commit of the click tool).
        ``new_object``: the selection committed, remembered as an object of the frame in the same step.
        """
        i = self.current if index is None else index
        old = self.masks.get(i)
        new_mask = np.asarray(new_mask, bool)
        corrects = (scope == "frame" and self.tracked is not None and not self.tracked.is_empty(i)
                    and not np.array_equal(old, new_mask))
        tracked = {i: (self.tracked.blob(i), None)} if corrects else None
        was = (i in self.keyframes, self.flagged.get(i))
        marks = {i: (was, (True, None))} if (keyframe or corrects) and was != (True, None) else None
        objects = self._with_object(i, new_object) if new_object is not None else None
        targets = self.scope_frames(scope, i)
        targets = targets if index is None or i in targets else [i, *targets]
        self.apply_delta(targets, new_mask & ~old, old & ~new_mask, text, tracked, marks, objects)

    def apply_delta(self, targets: Iterable[int], added: np.ndarray, removed: Optional[np.ndarray],
                    text: str, tracked: Optional[dict] = None, marks: Optional[dict] = None,
                    objects: Optional[dict] = None) -> None:
        """Add ``added`` to and erase ``removed`` from each target frame's mask as one undo step
        (``tracked``, ``marks``, ``objects``: changes to the tracker's record, to keyframes and flags,
        to the selections remembered, that belong to the same step, see MaskEditCommand; with those
        a step may leave the masks as they were)."""
        if not added.any() and (removed is None or not removed.any()) and not marks and not objects:
            return
        targets = list(targets)
        painted_over: list[int] = []  # (only there can the tracker's record hold painted pixels)
        long = len(targets) >= self.BUSY_FRAMES  # (after tracking each frame is its own mask: ~4 ms a 1080p frame)
        if long:
            QGuiApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        try:
            changes = self.masks.edit(targets, added, removed, overlapped=painted_over)
            tracked = {**self._paint_owned(painted_over, added), **(tracked or {})}
        finally:
            if long:
                QGuiApplication.restoreOverrideCursor()
        if changes or tracked or marks or objects:
            self.undo.push(MaskEditCommand(self, changes, text, tracked, marks=marks, objects=objects))

    def _paint_owned(self, frames, added: np.ndarray) -> dict:
        """The tracker's record on ``frames`` without the pixels just painted there (``tracked``
        changes for MaskEditCommand): paint is the user's, and tracking again, which replaces what
        the tracker added, must not take it away (a subtitle band painted over a tracked object).
        (Set now, pushed as done, as the masks.)"""
        if self.tracked is None or not frames:
            return {}
        return self.tracked.edit(frames, removed=added)

    def clear_masks(self, scope: str = "frame") -> Optional[list[int]]:
        """Clear the masks of ``scope``'s frames, and what tracking knew of them (the record of what
        the tracker added, flags, keyframes, selections), as one undo step. Returns the frames whose
        mask it cleared, None when it changed nothing (an empty list: tracking marks only)."""
        frames = list(self.scope_frames(scope))
        changes = {i: (self.masks.blob(i), None) for i in frames if not self.masks.is_empty(i)}
        forget = self._forget_tracking(frames)
        if not changes and not any(forget.values()):
            return None
        for i in changes:
            self.masks.clear(i)
        self.undo.push(MaskEditCommand(self, changes, "Clear mask", **forget))
        return sorted(changes)

    def _forget_tracking(self, frames) -> dict:
        """MaskEditCommand arguments that drop what tracking knew of ``frames``: the tracker's
        record, flags and keyframe marks, the selections remembered and the label maps."""
        tracked = {i: (self.tracked.blob(i), None) for i in frames
                   if self.tracked is not None and not self.tracked.is_empty(i)}
        marks = {i: ((i in self.keyframes, self.flagged.get(i)), (False, None)) for i in frames
                 if i in self.keyframes or i in self.flagged}
        objects = {i: (list(self.objects[i]), []) for i in frames if self.objects.get(i)}
        labels = {i: (self.tracked_objects[i], None) for i in frames if i in self.tracked_objects}
        return {"tracked": tracked, "marks": marks, "objects": objects, "labels": labels}

    def import_masks(self, path, reader=None) -> Optional[tuple[int, int]]:
        """Replace the masks with an image (all frames), a folder or a mask video; undoable. Returns
        the (width, height) the masks were drawn at when they were scaled to the video's, else None.

        ``reader(job)`` runs ``import_masks_job`` (the window's runs it on a worker, with progress
        and Cancel: a folder of 2,000 1080p PNGs takes 15 s); default: here, at once.
        """
        job = import_masks_job(path, self.n_frames, self.masks.width, self.masks.height)
        store, scaled_from = reader(job) if reader is not None else job(None, None, None)
        changes = {}
        for i in range(self.n_frames):
            before, after = self.masks.blob(i), store.blob(i)
            if before is not after and before != after:
                changes[i] = (before, after)
                self.masks.set_blob(i, after)
        if changes:  # the imported masks are all the user's own: what tracking knew of the video goes
            self.undo.push(MaskEditCommand(self, changes, f"Import masks from {Path(path).name}",
                                           **self._forget_tracking(range(self.n_frames))))
        return scaled_from

    def masks_snapshot(self, store: Optional[MaskStore] = None) -> MaskStore:
        """A copy of the masks (or ``store``, e.g. ``tracked``) for a worker thread: blobs are
        immutable bytes, so copying references suffices."""
        return (self.masks if store is None else store).copy()

    @property
    def mask_version(self) -> int:
        """How many mask edits (undos and redos too) the project has seen: changed when one lands."""
        return self._mask_version

    def _masks_edited(self, frames: list[int]) -> None:
        self._mask_version += 1
        self.stopped_run = None  # (what it knew is not what the masks hold any more)
        self._result_state_changed()
        self.masksChanged.emit(frames)

    # --- results -----------------------------------------------------------------
    def result_outdated(self, index: int) -> bool:
        """Whether frame ``index``'s result was computed from other masks or settings than the
        project's now (False where there is no result, or no record of how it was made). Of the
        masks, only those its result reads count (``Made.reach``): an edit on one frame puts out of
        date the frames whose fill read it, not the whole run."""
        made = self.results.made(index)
        return made is not None and (self._made_otherwise(made) or index in made.stale(self.masks, self._mask_version))

    def results_outdated(self, start: int, end: int) -> bool:
        """Whether any result in [start, end) is out of date."""
        return bool(self.outdated_results(start, end))

    def outdated_results(self, start: int, end: int) -> list[int]:
        """The frames of [start, end) whose result is out of date (``result_outdated``), in order."""
        verdicts: dict[int, object] = {}  # per record: True (all its frames) or the frames out of date
        out = []
        for i in range(start, end):
            made = self.results.made(i)
            if made is None:
                continue
            verdict = verdicts.get(id(made))
            if verdict is None:
                verdict = verdicts[id(made)] = self._made_otherwise(made) or made.stale(self.masks, self._mask_version)
            if verdict is True or i in verdict:
                out.append(i)
        return out

    def _made_otherwise(self, made) -> bool:
        """Made with other settings, or by other weights or on another device, than now."""
        return made.settings != self.engine_settings or made.source != self.engine_source()

    def _result_state_changed(self) -> None:
        """Tell the compare view when what it says of the frame shown (up to date or not) changed."""
        state = self.result_outdated(self.current) if len(self.results) else None
        if state != self._shown_state:
            self.resultChanged.emit()
            self._shown_state = state  # (after: the signal forgets what was shown)

    def _forget_shown(self, *_) -> None:
        self._shown_state = None  # another frame, or other results: the next edit tells the view again

    def result_frame(self, index: int) -> Optional[np.ndarray]:
        return self.results.get(index)

    # --- dirty state and files ---------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.has_video and (self._dirty or not self.undo.isClean())

    def _clean_changed(self, _clean: bool) -> None:
        if isValid(self.undo):  # the stack also emits while it is being destroyed
            self.dirtyChanged.emit(self.dirty)

    def mark_dirty(self) -> None:
        """Changed in a way the undo stack does not track (range, settings, recovered work)."""
        self._touch()

    def _revise(self, *_) -> None:
        self.revision += 1
        if isValid(self):  # (the undo stack also moves while the project is being destroyed)
            self.revised.emit()

    @property
    def unfinished(self):
        """The work of a job that runs and has not landed yet (see ``__init__``)."""
        return self._unfinished

    @unfinished.setter
    def unfinished(self, holder) -> None:
        if holder is not self._unfinished:
            self._unfinished = holder
            self.unfinishedChanged.emit()

    def _touch(self) -> None:
        self._revise()
        if not self._dirty:
            self._dirty = True
            self.dirtyChanged.emit(True)

    def snapshot(self, past_end: bool = False, origin: bool = False) -> "ProjectSnapshot":
        """What a save writes, taken in milliseconds (references to the immutable mask blobs, copies
        of the containers; the JSON is made by the writer): ``write_snapshot`` writes it, on any thread.
        ``past_end``: with what the project had past the video's end (``self.past_end``: masks,
        keyframes, flags, selections, the last tracking run; an autosave keeps them); ``origin``:
        naming the project file this is the work of (an autosave's, for its recovery)."""
        past = self.past_end if past_end else PastEnd()
        run = self.last_track if self.last_track is not None else past.last_track  # (none since: the one past the end)
        objects = {i: list(blobs) for i, blobs in {**self.objects, **past.objects}.items() if blobs}
        return ProjectSnapshot(
            _widened(self.masks, past.masks), None if self.tracked is None else _widened(self.tracked, past.tracked),
            objects, {**self.tracked_objects, **past.tracked_objects},
            str(self.video_path), (self.start, self.end), self.current, dict(self.engine_settings),
            self.keyframes | past.keyframes, {**self.flagged, **past.flagged},
            None if run is None else {**run, "keys": dict(run["keys"]), "tracked": dict(run["tracked"])},
            self.n_frames, self.fps, str(self.path or self.origin) if origin and (self.path or self.origin) else None)

    def save(self, path, mark_clean: bool = True) -> Path:
        """Write ``path`` (JSON) and the masks beside it as ``<stem>.masks.npz`` (and what the tracker
        added as ``<stem>.tracked.npz``); each atomically (``write_snapshot``), on this thread."""
        try:
            path = write_snapshot(self.snapshot(), path)
        except OSError as exc:  # a full disk, a folder gone or read-only: each file is as it was
            raise OutputError(f"Cannot save the project as {path} ({exc.strerror or short(exc)}); free some space or "
                              "choose another folder with File > Save As. Nothing is lost: the project is still open.") from None
        if mark_clean:
            self.path, self.origin = path, None
            self.past_end = PastEnd()  # (the file has them no more: "dropped when you save", ``load``)
            self._dirty = False
            self.undo.setClean()
            self.pathChanged.emit(path)
            self.dirtyChanged.emit(False)
        return path

    def load(self, path, opener=None, video=None, confirm=None) -> None:
        """Reopen a saved project; raises InpaintError with a readable message (``opener``: see open_video).
        ``video``: open this file instead of the one the project names (the user located a video that
        was moved or renamed); the project is then changed (its next save records the new path).
        A video shorter than the masks reach: ``confirm(line)`` says so (how many masked frames lie
        past its end) before anything changes; False raises Cancelled (the open project stays), True
        opens it with those masks, and the keyframes, flags, selections and tracking run there, kept in
        ``past_end`` (autosaves keep them, the next save drops them)."""
        path = Path(path)
        data = read_project_file(path)
        # the masks are read before anything changes: a damaged file leaves the open project as it was
        masks_file = path.parent / str(data.get("masks", ""))
        masks = read_mask_chain(masks_file, data.get("masks_delta")) if masks_file.is_file() else None
        tracking = data.get("tracking") or {}
        tracked_name = tracking.get("tracked") if isinstance(tracking, dict) else None
        tracked = None
        if isinstance(tracked_name, str) and (path.parent / tracked_name).is_file():
            try:
                tracked = read_mask_chain(path.parent / tracked_name, tracking.get("tracked_delta"))
            except InpaintError:  # only a hint for re-tracking: without it, tracking again adds to
                pass  # the masks instead of replacing what the tracker added
        objects_name = tracking.get("objects") if isinstance(tracking, dict) else None
        objects, tracked_objects = (_read_objects(path.parent / objects_name) if isinstance(objects_name, str)
                                    else ({}, {}))
        relocated = video is not None

        def fitting(video_path):  # (a video of another size, the wrong file located: the open project stays)
            reader, first = (opener or open_with_first_frame)(video_path)
            if masks is not None and (reader.width, reader.height) != masks[0]:
                reader.close()
                raise InpaintError(f"{Path(video_path).name} is {reader.width}x{reader.height} but the masks of "
                                   f"{path.name} are {masks[0][0]}x{masks[0][1]}: it is not this project's video.")
            past = sorted({i for store in (masks, tracked) if store is not None for i in store[1] if i >= len(reader)})
            if past and confirm is not None:
                try:
                    agreed = confirm(f"{Path(video_path).name} has {len(reader)} frames; {path.name} has masks on "
                                     f"{len(past)} frame(s) after that ({_span(past)}).")
                except BaseException:
                    reader.close()
                    raise
                if not agreed:
                    reader.close()
                    raise Cancelled(f"Opening {path.name} cancelled; nothing changed.")
            return reader, first

        self.open_video(Path(video) if relocated else project_video(path, data), fitting)
        if masks is not None:
            apply_mask_blobs(self.masks, masks, masks_file)
            self.masksChanged.emit(self.masks.masked_frames())
        self.engine_settings = dict(data.get("engine", {}))
        self.settingsChanged.emit()
        if tracked is not None:
            try:
                apply_mask_blobs(self.tracked, tracked, path.parent / tracked_name)
            except InpaintError:
                self.tracked = MaskStore(self.n_frames, self.masks.width, self.masks.height)
        self._load_tracking(tracking if isinstance(tracking, dict) else {})
        size = (self.masks.width * self.masks.height + 7) // 8
        n, past = self.n_frames, self.past_end
        objects = {i: blobs for i, blobs in objects.items() if i >= 0 and all(b.size == size for b in blobs)}
        self.objects = {i: blobs for i, blobs in objects.items() if i < n}
        self.tracked_objects = {i: b for i, b in tracked_objects.items() if 0 <= i < n}
        self.set_range(*data.get("range", [0, n]))
        self.set_current(data.get("current", 0))
        past.masks, past.tracked = ({i: b for i, b in (store[1] if store else {}).items() if i >= n}
                                    for store in (masks, tracked))
        past.objects = {i: blobs for i, blobs in objects.items() if i >= n}
        past.tracked_objects = {i: b for i, b in tracked_objects.items() if i >= n}
        self.load_notes = _video_notes(self.video_path.name, self.n_frames, self.fps, data)
        run = self.last_track
        if run is not None and run.get("pending"):  # (stopped, or cut short by a crash: a recovered autosave)
            self.load_notes.append(f"Tracking over frames {run['range'][0]}..{run['range'][1] - 1} stopped with "
                                   f"{len(run['pending'])} of its frames not tracked yet ({_span(run['pending'])}): "
                                   "Track goes on from where it stopped.")
        if masks is None and data.get("masks"):  # (every save writes it, an empty project too: it was moved or deleted since)
            self.load_notes.insert(0, f"{masks_file.name}, the masks of {path.name}, is missing: the project opened "
                                      "without masks. Put that file back beside it and open it again before saving.")
        self.path = path
        origin = data.get("origin")
        self.origin = Path(origin) if isinstance(origin, str) else None
        self._dirty = relocated
        self.pathChanged.emit(path)
        self.dirtyChanged.emit(relocated)

    def record_track(self, span: tuple[int, int], sam: Optional[str], keys: dict, pending=()) -> None:
        """Remember a tracking run over ``span`` (its range): ``keys`` {keyframe: digest of the mask
        it started from, ``mask_digest``}; each frame's tracked blob by its digest, read now
        (``tracked_as_last_run`` compares a frame with it later, also after a save and reopen);
        ``pending``: the frames a stopped run did not reach (``resume_spans`` finishes them)."""
        self._revise()
        self.last_track = track_record(self.tracked, span, sam, keys, pending)

    def end_unfinished(self, holder) -> None:
        """The job whose work ``holder`` is (``unfinished``) has ended, landed or not. Where an
        autosave may hold its work and the project is clean (the job failed, or changed nothing),
        ``dirtyChanged(False)`` tells the window that there is nothing to recover."""
        if holder is None or self.unfinished is not holder:
            return
        self.unfinished = None
        if holder.count and not self.dirty:
            self.dirtyChanged.emit(False)

    def tracked_as_last_run(self, i: int) -> bool:
        """Whether frame ``i`` still holds what the last tracking run gave it."""
        return mask_digest(self.tracked.blob(i)) == self.last_track["tracked"].get(i)

    def _load_last_track(self, run) -> None:
        """The saved record of the last run (a file from before per-frame digests: only if its one
        digest still describes the tracked masks just loaded). A run reaching past the end of a shorter
        video is kept in ``past_end``."""
        self.last_track = None
        try:
            start, end = (int(v) for v in run["range"])
            keys = {int(k): str(d) for k, d in run["keys"].items()}
            sam = run["sam"] if run["sam"] is None else str(run["sam"])
            if not 0 <= start < end or (end > self.n_frames and not isinstance(run["tracked"], dict)):
                return
            if isinstance(run["tracked"], dict):
                tracked = {int(i): str(d) for i, d in run["tracked"].items() if start <= int(i) < end}
            elif _digest_frames({i: self.tracked.blob(i) for i in range(start, end)}) == run["tracked"]:
                tracked = {i: d for i in range(start, end) if (d := mask_digest(self.tracked.blob(i)))}
            else:
                return
            pending = sorted({i for a, b in run.get("pending", ()) for i in range(max(int(a), start), min(int(b), end))})
            record = {"range": (start, end), "sam": sam, "keys": keys, "tracked": tracked, "pending": pending}
            if end <= self.n_frames:
                self.last_track = record
            else:  # (a shorter video: kept as its masks past the end are, for the autosave)
                self.past_end.last_track = record
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # an edited or older file: the next Track runs over the whole range

    def _load_tracking(self, tracking: dict) -> None:
        """Restore keyframes and flags, dropping entries that are no frame (an edited file); those
        past the end of this video are kept in ``past_end``."""
        n = self.n_frames

        def frame(v):
            try:
                i = int(v)
            except (TypeError, ValueError):
                return None
            return i if i >= 0 else None

        keys = tracking.get("keyframes", []) if isinstance(tracking, dict) else []
        flags = tracking.get("flagged", {}) if isinstance(tracking, dict) else {}
        keys = {i for i in map(frame, keys if isinstance(keys, list) else []) if i is not None}
        flags = {frame(k): str(v) for k, v in (flags.items() if isinstance(flags, dict) else []) if frame(k) is not None}
        self.keyframes = {i for i in keys if i < n}
        self.flagged = {i: why for i, why in flags.items() if i < n}
        self.past_end.keyframes = keys - self.keyframes
        self.past_end.flagged = {i: why for i, why in flags.items() if i >= n}
        self.objects, self.tracked_objects = {}, {}
        self._load_last_track(tracking.get("last_run"))
        self.trackingChanged.emit()


def read_project_file(path: Path) -> dict:
    """The JSON of project file ``path``; InpaintError, one line saying what to do, when it cannot be
    read, is damaged (truncated, emptied, edited), is another kind of file or is of a newer version."""
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as exc:
        raise InpaintError(f"Cannot read project {path} ({exc.strerror or short(exc)}); check that it is there "
                           "and readable.") from None
    except ValueError:  # (not text, or not JSON: cut short, emptied, another kind of file)
        data = None
    kind, _, version = str(data.get("format") if isinstance(data, dict) else "").partition("/")
    if kind == FORMAT.partition("/")[0] and version.isdigit() and int(version) > int(FORMAT.partition("/")[2]):
        raise InpaintError(f"Project {path} was saved by a newer version of this application (format {version}); "
                           "update the application to open it.")
    if not _well_formed(data):
        raise InpaintError(f"Cannot read project {path}: it is damaged or not a project file; open a copy of it, or "
                           "open its video with File > Open video.")
    return data


def _well_formed(data) -> bool:
    """Whether ``data`` is a project file's JSON whose values ``Project.load`` can take (a project
    file edited by hand, or one cut short, opened half and then failed with a traceback)."""
    def ints(v, n):
        return isinstance(v, list) and len(v) == n and all(isinstance(i, int) for i in v)

    return (isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("video"), str)
            and isinstance(data.get("masks", ""), str) and isinstance(data.get("engine", {}), dict)
            and ints(data.get("range", [0, 1]), 2) and isinstance(data.get("current", 0), int))


def project_video(path, data: Optional[dict] = None) -> Path:
    """The video project ``path`` opens: the path it names, or where it lies relative to the project
    as it did when saved, or the file of that name beside the project (project and video moved
    together). It may not exist (``Path.exists`` says)."""
    path = Path(path)
    data = data or read_project_file(path)
    video = Path(data["video"])
    relative = data.get("video_relative")
    for moved in ([path.parent / relative] if isinstance(relative, str) else []) + [path.parent / video.name]:
        if not video.exists() and moved.exists():
            video = moved.resolve()
    return video


def track_record(tracked: MaskStore, span: tuple[int, int], sam: Optional[str], keys: dict, pending=()) -> dict:
    """``Project.last_track`` for a tracking run over ``span`` that left ``tracked`` (the tracker's
    record of each frame; its blobs are read here, by their digests)."""
    return {"range": tuple(span), "sam": sam, "keys": dict(keys),
            "tracked": {i: d for i in range(*span) if (d := mask_digest(tracked.blob(i)))}, "pending": sorted(pending)}


def mask_digest(blob: Optional[bytes]) -> Optional[str]:
    """A short digest of a mask blob (None for an empty mask): how a keyframe is recognised later."""
    return None if blob is None else hashlib.sha1(blob).hexdigest()[:20]


def _digest_frames(blobs: dict) -> str:
    """One digest of {frame: blob or None}."""
    h = hashlib.sha1()
    for i in sorted(blobs):
        if blobs[i] is not None:
            h.update(f"{i}:{len(blobs[i])};".encode())
            h.update(blobs[i])
    return h.hexdigest()


def import_masks_job(path, n_frames: int, width: int, height: int):
    """A worker job reading the masks of ``path`` (image, folder or mask video) for a video of
    ``n_frames`` frames of ``width`` x ``height``; its result is ``(MaskStore, scaled_from)``, the
    second the (width, height) the masks were drawn at when they were scaled to the video's, else None."""
    def job(host, progress, cancel):
        source = load_masks(path, n_frames, width, height)
        return MaskStore.from_source(source, n_frames, progress=progress, cancel=cancel), source.scaled_from
    return job


def open_with_first_frame(path, progress=None, cancel=None):
    """``(reader, frame 0)``: what ``Project.open_video`` needs (``progress``/``cancel``: the index)."""
    reader = open_video(path, progress=progress, cancel=cancel)
    try:
        return reader, reader[0]
    except BaseException:
        reader.close()
        raise


def _read_objects(path) -> tuple[dict[int, list[np.ndarray]], dict[int, bytes]]:
    """The objects file of a project: ({frame: [bit-packed selection]}, {frame: tracked label map
    blob}), or empty dicts when it is missing or unreadable: it only keeps touching objects apart
    when tracking again."""
    selections: dict[int, list[np.ndarray]] = {}
    labels: dict[int, bytes] = {}
    try:
        with np.load(path) as z:
            for k in sorted(z.files, key=lambda k: (k[0], tuple(map(int, k[1:].split("_"))))):
                blob = z[k]
                if blob.dtype != np.uint8 or blob.ndim != 1:
                    continue
                if k[0] == "f":
                    selections.setdefault(int(k[1:].split("_")[0]), []).append(blob)
                elif k[0] == "t":
                    labels[int(k[1:])] = blob.tobytes()
    except (OSError, ValueError, IndexError, EOFError, zipfile.BadZipFile):
        return {}, {}
    return selections, labels


@dataclass
class ProjectSnapshot:
    """A project as a save writes it (``Project.snapshot``): nothing here changes afterwards."""

    masks: MaskStore
    tracked: Optional[MaskStore]
    objects: dict[int, list[np.ndarray]]  # frame: bit-packed selections (none empty)
    tracked_objects: dict[int, bytes]  # frame: label map blob
    video: str
    range: tuple[int, int]
    current: int
    engine: dict
    keyframes: set[int]
    flagged: dict[int, str]
    last_track: Optional[dict]  # Project.last_track
    frames: int = 0  # the video's (a located video is compared with them, ``load``)
    fps: float = 0.0
    origin: Optional[str] = None  # the project file it is the work of (an autosave records it)
    #: an autosave's: written as one (``write_snapshot``), taking over from ``follows`` (the files of
    #: the autosave before it in that slot) what did not change since; ``wrote``: the files it named
    autosave: bool = False
    follows: Optional["AutosaveFiles"] = None
    wrote: Optional["AutosaveFiles"] = None

    def content(self, masks_name: str, tracked_name: Optional[str], objects_name: Optional[str]) -> dict:
        """The project file (JSON), naming the files beside it."""
        tracking = {"keyframes": sorted(self.keyframes),
                    "flagged": {str(i): why for i, why in sorted(self.flagged.items())}}
        if tracked_name:
            tracking["tracked"] = tracked_name
        if objects_name:
            tracking["objects"] = objects_name
        if self.last_track is not None:  # each frame's tracked blob by its digest (empty frames left out)
            run = self.last_track
            tracking["last_run"] = {"range": list(run["range"]), "sam": run["sam"],
                                    "keys": {str(k): d for k, d in sorted(run["keys"].items())},
                                    "tracked": {str(i): d for i, d in sorted(run["tracked"].items())},
                                    "pending": _runs_of(run.get("pending", ()))}
        data = {"format": FORMAT, "video": self.video, "range": list(self.range), "current": self.current,
                "engine": self.engine, "masks": masks_name, "tracking": tracking,
                "video_frames": self.frames, "video_fps": self.fps}
        return data if self.origin is None else {**data, "origin": self.origin}


def write_snapshot(snap: ProjectSnapshot, path) -> Path:
    """Write ``snap`` as the project file ``path`` (JSON, the suffix added if missing) and beside it
    ``<stem>.masks.npz``, ``<stem>.tracked.npz`` (what the tracker added; removed when nothing is
    tracked) and ``<stem>.objects.npz`` (the same when no objects). Each is written to a temporary
    file first and none replaces its file before all are written and flushed to the disk, the
    project file last: a write that fails (a full disk) leaves the project as it was, all its files,
    and one killed leaves the files of one save, not some of each (the renames follow one another,
    with no flush of hundreds of MB between them). An autosave's snapshot (``snap.autosave``) is
    written as ``_write_autosave`` says. Touches no Qt or project state: any thread may call it.
    Returns the project file."""
    path = Path(path)
    if path.suffix != PROJECT_SUFFIX:
        path = path.with_name(path.name + PROJECT_SUFFIX)
    if snap.autosave:
        return _write_autosave(snap, path)
    masks_path, tracked_path, objects_path = (path.with_name(path.stem + suffix)
                                              for suffix in (".masks.npz", ".tracked.npz", ".objects.npz"))
    tracked = snap.tracked is not None and bool(snap.tracked.masked_frames())
    objects = bool(snap.objects or snap.tracked_objects)
    with contextlib.ExitStack() as files:  # (renamed in the reverse order: the project file last)
        temps = [files.enter_context(atomic_path(p)) for p in (path, masks_path)]
        save_mask_blobs(snap.masks, temps[1])
        if tracked:
            temps.append(files.enter_context(atomic_path(tracked_path)))
            save_mask_blobs(snap.tracked, temps[-1])
        if objects:
            temps.append(files.enter_context(atomic_path(objects_path)))
            _save_objects(snap, temps[-1])
        data = _project_data(snap, path, masks_path.name, tracked_path.name if tracked else None,
                             objects_path.name if objects else None)
        temps[0].write_text(json.dumps(data, indent=2))
        for temp in temps:  # all flushed before the first rename (each rename's own flush is then quick)
            fsync_path(temp)
    for gone, kept in ((tracked_path, tracked), (objects_path, objects)):
        if not kept:  # nothing tracked, no objects: no file (and none left over from an earlier save)
            with contextlib.suppress(OSError):  # (saved: the project file no longer names it)
                gone.unlink(missing_ok=True)
    return path


def _project_data(snap: ProjectSnapshot, path: Path, masks_name: str, tracked_name: Optional[str],
                  objects_name: Optional[str]) -> dict:
    data = snap.content(masks_name, tracked_name, objects_name)
    with contextlib.suppress(ValueError):  # (the video on another drive: none)
        data["video_relative"] = Path(os.path.relpath(snap.video, path.parent)).as_posix()
    return data


def _save_objects(snap: ProjectSnapshot, path) -> None:
    arrays = {f"f{i}_{j}": b for i, blobs in snap.objects.items() for j, b in enumerate(blobs)}
    arrays.update({f"t{i}": np.frombuffer(b, np.uint8) for i, b in snap.tracked_objects.items()})
    with open(path, "wb") as f:
        np.savez(f, **arrays)


#: an autosave rewrites its masks (or the tracker's record) whole once the frames changed since it
#: last did outweigh this share of them plus ``DELTA_SLACK`` bytes; until then it writes only those
#: frames (a delta file). A stroke on one frame of 20,000 tracked 1080p frames (52 MB of masks) then
#: writes ~3 KB, not 52 MB, and the masks are rewritten once ~0.9 MB of frames changed (~300
#: strokes: each autosave writes half that on average, and a rewrite's share, 0.2 MB; the best share
#: for strokes of d bytes on masks of B bytes is about sqrt(2d/B), 1/100 here)
DELTA_SHARE = 1 / 64
DELTA_SLACK = 64 << 10


@dataclass(eq=False)
class _Chain:
    """An autosave's masks (or tracker's record) on disk: the whole file ``base``, holding ``frames``
    ({frame: blob}; ``nbytes``, its blobs' bytes), and ``delta``, None or a file of the frames changed
    since (``changed``: {frame: blob, or None for a mask cleared}); ``size``: (frames, width, height)."""

    base: str
    frames: dict
    nbytes: int
    size: tuple
    delta: Optional[str] = None
    changed: dict = field(default_factory=dict)


@dataclass(eq=False)
class AutosaveFiles:
    """What an autosave's project file ``path`` names beside it, as written: its masks and tracker's
    record (``_Chain``), and its objects file (name, selections, label maps), or None."""

    path: Path
    masks: _Chain
    tracked: Optional[_Chain]
    objects: Optional[tuple[str, dict, dict]]

    def names(self) -> set[str]:
        chains = [c for c in (self.masks, self.tracked) if c is not None]
        return ({self.path.name} | {c.base for c in chains} | {c.delta for c in chains if c.delta}
                | ({self.objects[0]} if self.objects else set()))


def _write_autosave(snap: ProjectSnapshot, path: Path) -> Path:
    """Write an autosave: what did not change since the autosave before it in this slot
    (``snap.follows``, written by this session) is not written again but named again by the new
    project file: the tracker's record and the objects while one paints; of the masks only the
    frames changed since their whole file was written go to a delta file (``_write_chain``). Every
    file is new, under a name of its own (``<stem>.masks.<token>.npz``), and nothing is overwritten
    but the project file, renamed last: killed at any moment, the project file on the disk names the
    files of one whole autosave, all there. Once it is renamed, the files of this slot it does not
    name go. ``snap.wrote`` gets what it names, for the next one."""
    prev = snap.follows if snap.follows is not None and snap.follows.path == path else None
    token = uuid.uuid4().hex[:8]
    with contextlib.ExitStack() as files:  # (renamed in the reverse order: the project file last)
        temps = [files.enter_context(atomic_path(path))]

        def new_file(kind: str) -> tuple[str, Path]:
            name = f"{path.stem}.{kind}.{token}.npz"
            temps.append(files.enter_context(atomic_path(path.with_name(name))))
            return name, temps[-1]

        masks = _write_chain(snap.masks, prev and prev.masks, "masks", new_file, path.parent)
        tracked = None
        if snap.tracked is not None and snap.tracked.masked_frames():
            tracked = _write_chain(snap.tracked, prev and prev.tracked, "tracked", new_file, path.parent)
        objects = None
        if snap.objects or snap.tracked_objects:
            was = prev.objects if prev is not None else None
            if was is not None and _same_objects(was, snap) and (path.parent / was[0]).is_file():
                objects = was
            else:
                name, temp = new_file("objects")
                _save_objects(snap, temp)
                objects = (name, snap.objects, snap.tracked_objects)
        data = _project_data(snap, path, masks.base, tracked.base if tracked else None,
                             objects[0] if objects else None)
        if masks.delta:
            data["masks_delta"] = masks.delta
        if tracked is not None and tracked.delta:
            data["tracking"]["tracked_delta"] = tracked.delta
        # (compact: a fourth smaller than indented; ``iterencode`` is json's encoder in Python, which
        # lets the GUI thread run every few ms: the C one ``dumps`` takes held the GIL 0.1-0.2 s at
        # 90,000 tracked frames)
        temps[0].write_text("".join(json.JSONEncoder(separators=(",", ":")).iterencode(data)))
        for temp in temps:  # all flushed before the first rename (each rename's own flush is then quick)
            fsync_path(temp)
    snap.wrote = AutosaveFiles(path, masks, tracked, objects)
    named = snap.wrote.names()
    for f in path.parent.glob(glob_escape(path.stem) + ".*.npz"):  # (earlier autosaves', an older version's)
        if f.name not in named:
            with contextlib.suppress(OSError):
                f.unlink()
    return path


def _same_objects(was: tuple[str, dict, dict], snap: ProjectSnapshot) -> bool:
    _, objects, labels = was
    return (labels == snap.tracked_objects and objects.keys() == snap.objects.keys()
            and all(len(objects[i]) == len(v) and all(a is b for a, b in zip(objects[i], v))
                    for i, v in snap.objects.items()))


def _write_chain(store: MaskStore, prev: Optional[_Chain], kind: str, new_file, folder: Path) -> _Chain:
    """Put ``store`` on the disk after ``prev`` (the autosave before's, or None): named again where
    unchanged since; the frames changed since ``prev``'s whole file in a new delta file while they
    weigh at most ``DELTA_SHARE`` of it (plus ``DELTA_SLACK``); else a new whole file."""
    order = store.masked_frames()
    frames = dict(zip(order, map(store.blob, order)))
    size = (store.n_frames, store.width, store.height)
    if prev is not None and prev.size[1:] == size[1:] and (folder / prev.base).is_file():
        get = prev.frames.get  # (the same blob object mostly: each compared by identity first)
        changed = {i: b for i, b in frames.items() if get(i) is not b}
        changed = {i: b for i, b in changed.items() if get(i) != b}
        changed.update(dict.fromkeys(prev.frames.keys() - frames.keys()))
        if not changed:
            return _Chain(prev.base, prev.frames, prev.nbytes, size)
        if prev.delta and changed == prev.changed and (folder / prev.delta).is_file():
            return replace(prev, size=size)
        weight = sum(len(b) for b in changed.values() if b is not None)
        if weight <= prev.nbytes * DELTA_SHARE + DELTA_SLACK:
            name, temp = new_file(kind + ".delta")
            part = MaskStore(*size)
            for i, b in changed.items():
                if b is not None:
                    part.set_blob(i, b)
            save_mask_blobs(part, temp, sorted(i for i, b in changed.items() if b is None))  # (the cleared ones)
            return _Chain(prev.base, prev.frames, prev.nbytes, size, name, changed)
    name, temp = new_file(kind)
    save_mask_blobs(store, temp)
    return _Chain(name, frames, store.nbytes(), size)


def _runs_of(frames) -> list[list[int]]:
    """Sorted frame numbers as half-open runs [[a, b], ...] (a project file stays short)."""
    runs: list[list[int]] = []
    for i in frames:
        if runs and i == runs[-1][1]:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    return runs


def save_mask_blobs(store: MaskStore, path, cleared=None) -> None:
    """npz of ``frames``, ``ids`` (blob index per frame), ``size``, and each distinct blob once,
    end to end in ``data`` from ``offsets[k]`` to ``offsets[k + 1]``: two members however many
    frames (a member per blob took 0.8 s to write and 1.5 s to read at 20,000 tracked frames).
    ``cleared``: an autosave's delta file, the frames whose mask was cleared (``_write_chain``)."""
    unique: dict[int, int] = {}
    blobs, frames, ids = [], [], []
    for i in store.masked_frames():
        blob = store.blob(i)
        k = unique.setdefault(id(blob), len(unique))
        if k == len(blobs):
            blobs.append(blob)
        frames.append(i)
        ids.append(k)
    offsets = np.zeros(len(blobs) + 1, np.int64)
    np.cumsum([len(b) for b in blobs], out=offsets[1:])
    arrays = {"frames": np.array(frames, np.int64), "ids": np.array(ids, np.int64),
              "size": np.array([store.n_frames, store.width, store.height]), "offsets": offsets}
    if cleared is not None:
        arrays["cleared"] = np.array(list(cleared), np.int64)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:  # (np.savez's layout)
        for name, array in arrays.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array, allow_pickle=False)
        # ``data`` streamed a MB at a time: one b"".join of all blobs (300 MB at 90,000 tracked 1080p
        # frames) held the GIL, so the window stalled 0.1-0.3 s while an autosave was written
        with z.open("data.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False,
                                                     "shape": (int(offsets[-1]),)})
            for k in range(0, len(blobs), 256):
                f.write(b"".join(blobs[k:k + 256]))


def read_mask_blobs(path) -> tuple[tuple[int, int], dict[int, bytes]]:
    """((width, height), {frame: mask blob}) from a file written by ``save_mask_blobs`` (or by the
    versions before it, a ``blob_<k>`` member per blob); any damaged or foreign file raises
    InpaintError naming it."""
    try:
        with np.load(path) as z:
            n, w, h = (int(v) for v in z["size"])
            if "data" in z.files:
                data, offsets = z["data"].tobytes(), z["offsets"].tolist()
                blob = lambda k: data[offsets[k]:offsets[k + 1]]  # noqa: E731
            else:
                blob = lambda k: z[f"blob_{k}"].tobytes()  # noqa: E731
            blobs, frames = {}, {}
            for i, k in zip(z["frames"].tolist(), z["ids"].tolist()):
                if k not in blobs:  # each blob read once: frames painted together share it again
                    blobs[k] = blob(k)
                frames[int(i)] = blobs[k]
    except Exception as exc:  # noqa: BLE001 - np.load raises many kinds on a damaged file
        raise InpaintError(f"Cannot read the masks file {path} ({short(exc)}); it is damaged: restore it "
                           "from a copy, or open the video alone and paint the masks again.") from None
    return (w, h), frames


def read_mask_chain(path, delta=None) -> tuple[tuple[int, int], dict[int, bytes]]:
    """``read_mask_blobs`` of ``path``, with an autosave's delta file (``delta``, its name beside it,
    or None) applied: its frames replace those of ``path``, and the frames it clears are dropped."""
    size, frames = read_mask_blobs(path)
    if isinstance(delta, str):
        delta = Path(path).with_name(delta)
        changed_size, changed = read_mask_blobs(delta)
        try:
            with np.load(delta) as z:
                cleared = z["cleared"].tolist()
        except Exception as exc:  # noqa: BLE001 - np.load raises many kinds on a damaged file
            raise InpaintError(f"Cannot read the masks file {delta} ({short(exc)}); it is damaged: recover "
                               "another autosave, or open the project as last saved.") from None
        if changed_size != size:
            raise InpaintError(f"The masks in {delta} are not of the size of those in {path}: the autosave is "
                               "damaged; recover another one, or open the project as last saved.")
        frames.update(changed)
        for i in cleared:
            frames.pop(int(i), None)
    return size, frames


def project_masks(path, tracked: bool = False) -> dict[int, bytes]:
    """{frame: blob} of the masks (``tracked``: the tracker's record) that project file ``path``
    names beside it, an autosave's delta applied; empty where it names none."""
    path = Path(path)
    data = read_project_file(path)
    if tracked:
        tracking = data.get("tracking") or {}
        name, delta = tracking.get("tracked"), tracking.get("tracked_delta")
    else:
        name, delta = data.get("masks"), data.get("masks_delta")
    return read_mask_chain(path.with_name(name), delta)[1] if isinstance(name, str) else {}


@dataclass(eq=False)
class PastEnd:
    """What a project had past the end of the shorter video it was opened with (``Project.load``),
    each {frame: ...} as on ``Project``: autosaves keep it, the next save drops it."""

    masks: dict[int, bytes] = field(default_factory=dict)
    tracked: dict[int, bytes] = field(default_factory=dict)  # the tracker's record
    keyframes: set[int] = field(default_factory=set)
    flagged: dict[int, str] = field(default_factory=dict)
    objects: dict[int, list[np.ndarray]] = field(default_factory=dict)  # selections (bit-packed)
    tracked_objects: dict[int, bytes] = field(default_factory=dict)  # label maps
    last_track: Optional[dict] = None  # the last tracking run, where its range reaches past the end

    def __bool__(self) -> bool:
        return any(map(bool, vars(self).values()))


def _widened(store: MaskStore, past: dict[int, bytes]) -> MaskStore:
    """A copy of ``store`` with the masks ``past`` its end added (the store made longer for them)."""
    other = store.copy()
    if past:
        other.n_frames = max(other.n_frames, max(past) + 1)
        for i, blob in past.items():
            other.set_blob(i, blob)
    return other


def _span(frames: list[int]) -> str:
    """Sorted frame numbers as "frame 7" or "frames 7..12" (gaps not named)."""
    return f"frame {frames[0]}" if len(frames) == 1 else f"frames {frames[0]}..{frames[-1]}"


def _video_notes(name: str, frames: int, fps: float, data: dict) -> list[str]:
    """What to tell of a video that differs from the one the project was saved with (files saved
    before they recorded ``video_frames`` and ``video_fps`` say nothing)."""
    notes = []
    was = data.get("video_frames")
    if isinstance(was, int) and 0 < was != frames:
        notes.append(f"{name} has {frames} frames, {abs(frames - was)} "
                     + ("more than the project's video had: those have no masks yet." if was < frames else
                        "fewer than the project's video had."))
    was = data.get("video_fps")
    if isinstance(was, (int, float)) and was > 0 and abs(fps - was) > 0.01 * was:
        notes.append(f"{name} runs at {fps:.3g} fps, the project's video at {was:.3g} fps: the masks stay on "
                     "their frame numbers, so check that they still lie on the object.")
    return notes


def apply_mask_blobs(store: MaskStore, masks: tuple[tuple[int, int], dict[int, bytes]], path) -> None:
    """Put what ``read_mask_blobs`` read into ``store``; masks of another size raise InpaintError."""
    (w, h), frames = masks
    if (w, h) != (store.width, store.height):
        raise InpaintError(f"Masks in {path} are {w}x{h} but the video is {store.width}x{store.height}.")
    for i, blob in frames.items():
        if i < store.n_frames:
            store.set_blob(i, blob)


@dataclass
class _Write:
    """One autosave being written on its thread."""

    snapshot: Optional[ProjectSnapshot]
    path: Path
    revision: tuple = (0, 0)  # the project's when the snapshot was taken, and how much unfinished work
    #: puts the unfinished work of a running job into the snapshot before it is written (``Project.unfinished``)
    amend: Optional[Callable[[ProjectSnapshot], None]] = None
    thread: Optional[threading.Thread] = None
    error: Optional[str] = None  # how it failed, for the user
    saver: Optional[weakref.ref] = None  # the Autosaver (weakly: see _WriteEnded)
    #: (monotonic seconds) when the snapshot was taken and when the files were written: its cost
    begun: float = 0.0
    ended: float = 0.0
    files: Optional[AutosaveFiles] = None  # what its project file names, once written


class _WriteEnded(QObject):
    """Brings each ended write back to its Autosaver on the GUI thread.

    The writing thread holds no reference to the Autosaver (a QObject with a running QTimer), only
    to its ``_Write`` and to this relay, which is made once and never freed. Had the thread held the
    Autosaver (its ``_run`` as the thread's target, as before), the reference it dropped on ending
    could be the last one (the window or a test let go of the Autosaver meanwhile; a reference
    cycle left for the garbage collector, which runs on whichever thread allocates): the Autosaver
    and its timer were then deleted on the writing thread. Qt cannot stop a timer from another
    thread ("QObject::killTimer: Timers cannot be stopped from another thread"), so the GUI thread's
    event loop kept the deleted timer and, at its next timeout, delivered it to freed memory (a
    segmentation fault).
    """

    ended = Signal(object)  # emitted on the writing thread: its _Write

    def __init__(self):
        super().__init__()
        self.ended.connect(self._deliver)  # (queued: a slot of this object, emitted on another thread)

    @Slot(object)
    def _deliver(self, write: "_Write") -> None:
        saver = write.saver() if write.saver is not None else None
        if saver is not None and isValid(saver):
            saver._finish(write)


_write_ended: Optional[_WriteEnded] = None


def _write_relay() -> _WriteEnded:
    """The relay, made on the first call (an Autosaver's, on the GUI thread); kept for good."""
    global _write_ended
    if _write_ended is None:
        _write_ended = _WriteEnded()
    return _write_ended


def _run_write(write: _Write, relay: _WriteEnded) -> None:
    """On the writing thread: touches nothing but ``write`` and the relay's signal; no exception out.
    Holds no reference to the Autosaver (``_WriteEnded``)."""
    folder = write.path.parent
    try:
        if write.amend is not None:
            try:
                write.amend(write.snapshot)
            except Exception:  # noqa: BLE001 - a bug: the project is written without the job's work
                log.error("autosave of a running job's work failed:\n%s", traceback.format_exc())
        folder.mkdir(parents=True, exist_ok=True)
        write_snapshot(write.snapshot, write.path)
        write.files = write.snapshot.wrote
    except Exception as exc:  # noqa: BLE001 - a full disk or a bug: said once, never raised into Qt
        if not isinstance(exc, (OSError, InpaintError)):
            log.error("autosave failed:\n%s", traceback.format_exc())
        write.error = (f"Autosave to {folder} failed ({short(exc)}): the changes since the last save are "
                       "not insured against a crash; save the project (File > Save), and free space there "
                       "or make the folder writable.")
    write.snapshot = None  # (the blobs are the project's; nothing to keep once written)
    write.ended = time.monotonic()
    try:
        relay.ended.emit(write)
    except RuntimeError:  # the application is being torn down: nobody to tell
        pass


class Autosaver(QObject):
    """Saves a copy of a changed project to ``folder`` (crash insurance): ``quiet_ms`` after the
    edits stop, or ``max_wait_ms`` after the first change not autosaved while they go on, and at the
    latest ``interval_ms`` after the last autosave (the timer, which also writes a running Track's
    frames: the first time ``run_first_ms`` after the run starts, then every ``interval_ms``). An
    autosave never starts while a mouse button is held (a stroke, a drag: the stroke lands in the
    project on release, and the snapshot then costs the GUI thread nothing mid-stroke), nor, unless
    the timer asks, sooner after the last write ended than ``cost_factor`` times what that write took
    (a large project is not rewritten back to back). A project unchanged since it was last
    autosaved is not written again, and an autosave writes only what changed since the one before
    (``_write_autosave``: a stroke on one of 20,000 tracked 1080p frames writes 0.74 MB, not 106 MB).

    The GUI thread only takes a snapshot (``Project.snapshot``: 3 ms at 20,000 tracked frames, 20 ms
    at 90,000); a thread writes it (``write_snapshot``: 0.2 s and 1 s), one write at a time: an
    autosave asked for meanwhile is written once that write ends. ``saved`` (the path) or ``failed``
    (a message for the user; the previous autosave stays whole) comes on the GUI thread when a write
    ends. ``wait`` blocks until no write runs (closing the window, tests). The thread is a daemon:
    quitting never waits for it, and a write cut short leaves the previous files (atomic writes).
    """

    saved = Signal(object)
    failed = Signal(str)

    QUIET_MS = 2_000  # the edits have stopped this long: autosave
    MAX_WAIT_MS = 10_000  # edits go on without a pause: autosave this long after the first one
    RUN_FIRST_MS = 10_000  # a Track run's first autosave of its frames, this long after it starts
    HELD_MS = 200  # a mouse button held: look again this much later
    #: a write that took 1 s (90,000 tracked 1080p frames, 477 MB) is followed by no autosave of
    #: edits for 30 s: writing takes at most 1/30 of the time, and such a project is rewritten at
    #: most twice a minute (once a minute before), not each 10 s
    COST_FACTOR = 30

    def __init__(self, project: Project, folder: Path, interval_ms: int = 60_000, parent=None,
                 quiet_ms: int = QUIET_MS, max_wait_ms: int = MAX_WAIT_MS, run_first_ms: int = RUN_FIRST_MS,
                 cost_factor: float = COST_FACTOR):
        super().__init__(parent)
        self.project = project
        self.folder = Path(folder)
        # each session writes its own autosave, locked while it runs (``path``): a second window or
        # process neither overwrites it nor offers it for recovery (it offered and, declined,
        # deleted the live work of the first); a crashed session's lock is free (``orphans``)
        self._path: Optional[Path] = None
        self._lock: Optional[QLockFile] = None
        self._write: Optional[_Write] = None  # the write running
        self._again = False  # an autosave was asked for while it ran
        self._discard = False  # discard was asked for while it ran: delete the files once it ends
        #: (project revision, path) of the last autosave written whole: one unchanged since is not
        #: written again (a dirty project left alone rewrote its masks every minute, 477 MB at 90,000
        #: tracked 1080p frames)
        self._written: Optional[tuple[int, Path]] = None
        #: the files the last autosave written named (``write_snapshot``): the next one writes only
        #: what changed since (a stroke on one frame of 20,000 tracked 1080p frames: 0.74 MB, not 106 MB)
        self._files: Optional[AutosaveFiles] = None
        self._relay = _write_relay()  # the writing thread tells through it, never through self
        self.quiet_ms, self.max_wait_ms, self.run_first_ms = quiet_ms, max_wait_ms, run_first_ms
        self.cost_factor = cost_factor
        self._stopped = False  # (``stop``)
        #: (monotonic seconds) the first change not autosaved yet (None: none), and the latest one
        self._changed_at: Optional[float] = None
        self._last_change = 0.0
        self._rest_until = 0.0  # no autosave of edits starts before (the last write's cost)
        #: the latest: ``interval_ms`` after the last autosave started (restarted then, if running)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(interval_ms)
        #: the autosave of edits that stopped (``quiet_ms``) or go on (``max_wait_ms``)
        # (never early: a coarse timer may fire up to 5 % early, and the rest after a write is a floor)
        self.soon = DeadlineTimer(self)
        self.soon.due.connect(self._settled)
        #: the first autosave of a Track run's frames (``run_first_ms`` after it starts)
        self.run_timer = QTimer(self)
        self.run_timer.setSingleShot(True)
        self.run_timer.timeout.connect(self._run_due)
        project.revised.connect(self._changed)
        project.unfinishedChanged.connect(self._run_changed)
        self.path  # (its slot taken from the start)

    # --- when ---------------------------------------------------------------------------------
    @Slot()
    def _changed(self) -> None:
        """The project changed: autosave once the edits stop, or go on for ``max_wait_ms``."""
        if self._stopped:
            return
        now = time.monotonic()
        if self._changed_at is None:
            self._changed_at = now
        self._last_change = now
        self._schedule()

    def _schedule(self) -> None:
        if self._changed_at is None or self._write is not None:
            return  # (nothing to write, or ``_finish`` schedules it once the write running ends)
        due = min(self._last_change + self.quiet_ms / 1000, self._changed_at + self.max_wait_ms / 1000)
        self.soon.start_at(max(due, self._rest_until))

    @staticmethod
    def _held() -> bool:
        """A mouse button is held (a stroke or a drag under way)."""
        return QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton

    @Slot()
    def _settled(self) -> None:
        if time.monotonic() < self._rest_until:
            self._schedule()  # (a look again while a button was held, armed before the last write ended)
        elif self._held():
            self.soon.start(self.HELD_MS)
        elif self._write is None:  # (else: scheduled again when the write ends)
            self.save_now()

    @Slot()
    def _tick(self) -> None:
        if self._stopped:
            return
        if self._held():
            QTimer.singleShot(self.HELD_MS, self, self._tick)
        else:
            self.save_now()

    @Slot()
    def _run_changed(self) -> None:
        """A Track run started: its frames are first autosaved ``run_first_ms`` from now, then
        every ``interval_ms`` (the timer starts over); ended, it lands as an edit (``_changed``)."""
        if self.project.unfinished is None or self._stopped:
            self.run_timer.stop()
            return
        self.run_timer.start(self.run_first_ms)
        if self.timer.isActive():
            self.timer.start()

    @Slot()
    def _run_due(self) -> None:
        running = self.project.unfinished
        if running is None:
            return
        if not running.count:  # (nothing tracked yet: a model still loading)
            self.run_timer.start(self.run_first_ms)
        else:
            self._tick()

    @property
    def path(self) -> Path:
        """This session's autosave: ``autosave.sttnproj``, or ``autosave-<k>`` where another live
        session holds that one or a crashed session's autosave lies there (kept for recovery)."""
        if self._path is None or self._path.parent != self.folder:
            self.release()
            self._path = _autosave_slot(self.folder, 1)  # (an unusable folder: the write says so)
            with contextlib.suppress(OSError):
                self.folder.mkdir(parents=True, exist_ok=True)
            for k in range(1, 100):
                path, lock = _autosave_slot(self.folder, k), _autosave_lock(_autosave_slot(self.folder, k))
                if lock.tryLock(0):
                    if not path.exists():
                        self._path, self._lock = path, lock
                        break
                    lock.unlock()  # a crashed session's: kept for ``orphans``
                elif lock.error() != QLockFile.LockError.LockFailedError:
                    break
        return self._path

    def orphans(self) -> list[tuple[Path, QLockFile]]:
        """The autosaves of sessions that ended without a clean exit, newest first, each with its
        lock, held now (``adopt`` it, or unlock it to leave the autosave for a later start)."""
        self.path  # (this session's own slot is taken first)
        found = []
        for path in self.folder.glob("autosave*" + PROJECT_SUFFIX):
            lock = _autosave_lock(path)
            if path != self._path or self._lock is None:
                if lock.tryLock(0):
                    found.append((path, lock))
        return sorted(found, key=lambda f: f[0].stat().st_mtime, reverse=True)

    def adopt(self, path: Path, lock: QLockFile) -> None:
        """Go on with the autosave ``path`` (recovered, its ``lock`` held): later autosaves replace it
        and ``discard`` deletes it. This session's own autosave, if any, is left for a later start."""
        if lock is not self._lock:
            self.release()
        self._path, self._lock = Path(path), lock

    def release(self) -> None:
        """Let go of this session's lock (closing; a crash does the same): the autosave, if still
        there, is then another session's to recover."""
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    @property
    def writing(self) -> bool:
        return self._write is not None

    def stop(self) -> None:
        """No autosave starts from now on (closing); one being written ends (``wait``)."""
        self._stopped = True  # (the project's cues start none either)
        for timer in (self.timer, self.soon, self.run_timer):
            timer.stop()

    def save_now(self) -> Optional[Path]:
        """Autosave a project with unsaved changes: the snapshot is taken now, the files are written
        on a thread (``saved`` tells when); while a write runs, the next one starts when it ends.
        The work of a job still running (``Project.unfinished``: a Track's frames so far) is written
        with it, a clean project's too. Returns the autosave's path, or None when there is nothing
        to save. One written whole since the project last changed (``Project.revision``, and the
        job's work) is not written again."""
        running = self.project.unfinished
        count = running.count if running is not None else 0
        if not (self.project.dirty or count):
            self._changed_at = None
            return None
        if self._write is not None:
            self._again = True
            return self.path
        self._changed_at = None  # (what changes from now on is for the next one)
        self.soon.stop()
        state = (self.project.revision, count)
        if self._written == (state, self.path) and self.path.exists():
            return self.path
        if self.timer.isActive():
            self.timer.start()  # (the longest wait counts from this autosave)
        if count:
            self.run_timer.stop()  # (the run's first autosave: this one)
        # (the job's work is copied here, put into the snapshot on the writing thread)
        begun = time.monotonic()
        snap = self.project.snapshot(past_end=True, origin=True)
        snap.autosave, snap.follows = True, self._files
        write = self._write = _Write(snap, self.path, state,
                                     running.take() if count else None, saver=weakref.ref(self), begun=begun)
        # (a function and the write, not self._run: the thread must never hold the Autosaver)
        write.thread = threading.Thread(target=_run_write, args=(write, self._relay), name="autosave", daemon=True)
        write.thread.start()
        return self.path

    @Slot(object)
    def _finish(self, write: _Write) -> None:
        if write is not self._write:
            return  # wait() finished it already
        self._write = None
        self._rest_until = write.ended + self.cost_factor * (write.ended - write.begun)
        if self._discard:
            self._discard = False
            self._delete()
        elif write.error is not None:
            self.failed.emit(write.error)
        else:
            self._written = (write.revision, write.path)
            self._files = write.files
            self.saved.emit(write.path)
        if self._again:
            self._again = False
            self.save_now()
        self._schedule()  # (edits made while it was written)

    def wait(self, timeout_s: Optional[float] = None) -> bool:
        """Block until no write runs (and the one asked for meanwhile is written too), finishing each
        here as the event loop would (``saved``, ``failed``, a pending discard). True when none runs."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._write is not None:
            write = self._write
            write.thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if write.thread.is_alive():
                return False
            self._finish(write)
        return True

    def discard(self) -> None:
        """Delete the autosave (the work was saved or thrown away), and forget an autosave asked for
        meanwhile. A write that runs is let finish and its files deleted then (``wait`` to be sure)."""
        self._again = False
        self._changed_at = None
        self.soon.stop()
        if self._write is not None:
            self._discard = True
        else:
            self._delete()

    def _delete(self) -> None:
        self._written = self._files = None
        delete_autosave(self.path)


def _autosave_slot(folder: Path, k: int) -> Path:
    return folder / (("autosave" if k == 1 else f"autosave-{k}") + PROJECT_SUFFIX)


def _autosave_lock(path: Path) -> QLockFile:
    """The lock of autosave ``path``, held by the session writing it (a crashed one's is free)."""
    lock = QLockFile(str(path.with_suffix(".lock")))
    lock.setStaleLockTime(0)  # (only a dead process frees it, never age: a session may run for days)
    return lock


def delete_autosave(path: Path) -> None:
    """Delete autosave ``path`` and the files beside it (``<stem>.masks.npz`` and the like, and the
    names of their own that autosaves give them, ``_write_autosave``)."""
    try:
        beside = list(path.parent.glob(glob_escape(path.stem) + ".*.npz"))
    except OSError:
        beside = []
    for p in (path, *beside):
        try:
            p.unlink(missing_ok=True)
        except OSError:  # an unusable folder (no autosave was written there either): closing goes on
            pass
