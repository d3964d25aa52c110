"""Long work off the GUI thread: one adapter from the core's progress/cancel protocol to Qt.

A ``JobThread`` owns one long-lived QThread and runs jobs on it one at a time. A job is a
function ``fn(host, progress, cancel)`` written against app.core; the worker turns its
Progress reports, result, InpaintError or Cancelled into signals. The ``EngineHost``
lives on that thread and keeps the loaded model and a reader per video between jobs, so
the model is loaded once (and a CUDA context stays on one thread).
"""
from __future__ import annotations

import logging
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

from PySide6.QtCore import QEventLoop, QObject, QThread, Signal, Slot

from app.core import paths
from app.core.engine import WORK_PER_FRAME, EngineConfig, InpaintEngine, fill_range, resolve_device, resolve_fill
from app.core.errors import Cancelled, InpaintError, OutputError, WeightsError
from app.core.jobs import CancelToken, Phases, Progress, ProgressClock
from app.core.smartrender import SmartWriter, plan
from app.core.sttn import load_generator
from app.core.video import VideoWriter, open_video

log = logging.getLogger(__name__)

#: Every worker QThread ever started; tests fail if one is still running afterwards.
THREADS: "weakref.WeakSet[QThread]" = weakref.WeakSet()


class Refused(InpaintError):
    """A job found, once on its worker, that it cannot run for something the user is to do first
    (what it needed to look at was too slow to read on the GUI thread): the window says it as it
    says the refusals made before a job starts, in the notice over the picture, not in a dialog."""


@dataclass
class Job:
    name: str
    fn: Callable[["EngineHost", Callable[[Progress], None], CancelToken], Any]
    cancel: CancelToken = field(default_factory=CancelToken)
    data: dict = field(default_factory=dict)


def require_weights_file(weights: Path) -> None:
    """A weights file chosen in Settings that is gone says so in the window's words (the core's
    message names the command line's --weights)."""
    if not Path(weights).expanduser().exists():
        raise WeightsError(f"Weights file {weights} does not exist (moved, deleted, or on a drive not connected); "
                           "choose it again in Settings > General, or choose Bundled weights.")


def weights_identity(weights: Path) -> tuple:
    """Which weights file this is, as far as a result made with it is concerned: its resolved path,
    size and modification time (a file fine-tuned again in place is another network)."""
    weights = Path(weights).expanduser()
    try:
        st = weights.stat()
    except OSError:
        return str(weights.resolve()), None, None
    return str(weights.resolve()), st.st_size, st.st_mtime_ns


class DamageMet(NamedTuple):
    """A damaged stretch a job's reader met (``VideoReader.on_damage``, on the thread that read),
    as the worker sends it to the GUI thread: ``Project.met_damage`` takes it as it takes a reader
    (``path``: the video, ``damages``: that stretch alone)."""

    path: Path
    damages: tuple


class EngineHost:
    """State that survives between jobs on the worker thread. ``on_damage(DamageMet)``: called on the
    thread that read when a reader this host opened (or a cursor of it, ``reopen``) meets a damaged
    stretch it had not met (Track, Inpaint, Export, the click tool reading frames)."""

    def __init__(self, on_damage: Optional[Callable[[DamageMet], None]] = None):
        self._model = None
        self._model_key = None
        self._reader: Any = None
        self._reader_key: Optional[tuple] = None
        self._on_damage = on_damage

    def engine(self, weights: Optional[Path], config: EngineConfig) -> InpaintEngine:
        if weights is None:
            raise WeightsError("No weights are bundled yet; choose a weights file (e.g. sttn.pth) in Settings.")
        return InpaintEngine(self._load(Path(weights), config), config)

    def engine_for_fill(self, weights: Optional[Path], config: EngineConfig) -> tuple[str, Optional[InpaintEngine]]:
        """The fill mode that will run, and the engine if that mode uses STTN (None otherwise)."""
        mode = resolve_fill(config.fill, weights is not None, paths.is_bundled(weights), resolve_device(config.device))
        return mode, (self.engine(weights, config) if mode.endswith("sttn") else None)

    def _load(self, weights: Path, config: EngineConfig):
        device = resolve_device(config.device)
        require_weights_file(weights)
        key = (weights.resolve(), weights_identity(weights)[1:], str(device), config.attention)
        if key != self._model_key:
            self._model = None  # free the old model before loading the next
            self._model = load_generator(weights, attention=config.attention, device=device)
            self._model_key = key
        return self._model

    @property
    def model_loaded(self) -> bool:
        return self._model is not None

    def reader(self, path) -> Any:
        """A reader of ``path`` for the jobs on this thread, kept for the next job of the same video.
        Only the latest video's is kept (the jobs are for the video open in the window): one kept per
        video ever opened held its file, decoder threads and index until the window closed. A file
        replaced since (same name, another size or time) is opened again, not read through the old one."""
        key = weights_identity(Path(path))  # (the file's identity: resolved path, size, mtime)
        if key != self._reader_key:
            self._close_reader()
            self._reader, self._reader_key = open_video(path), key
            if self._on_damage is not None and hasattr(self._reader, "on_damage"):
                self._reader.on_damage = self._met_damage
        return self._reader

    def _met_damage(self, reader, damage) -> None:
        """(any thread: the read's) ``reader`` met ``damage``: handed on as a ``DamageMet``, no reader
        in it (the GUI thread never reads a worker's reader, which may be reading meanwhile)."""
        self._on_damage(DamageMet(reader.path, (damage,)))

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader = self._reader_key = None

    def close(self) -> None:
        self._close_reader()
        self._model = None


class _Worker(QObject):
    progress = Signal(object, object)  # job, Progress
    done = Signal(object, object)  # job, result
    failed = Signal(object, str)  # job, message for the user
    cancelled = Signal(object)
    damageMet = Signal(object)  # DamageMet: emitted on the thread that read, queued to the GUI thread

    def __init__(self):
        super().__init__()
        self.host = EngineHost(on_damage=self.damageMet.emit)

    @Slot(object)
    def run(self, job: Job) -> None:
        try:
            result = job.fn(self.host, lambda p: self.progress.emit(job, p), job.cancel)
        except Cancelled:
            self.cancelled.emit(job)
        except InpaintError as exc:
            job.data["refused"] = isinstance(exc, Refused)  # (read on the GUI thread after the signal)
            self.failed.emit(job, str(exc))
        except Exception as exc:  # a bug: keep the traceback in the log, show a sentence
            log.error("job %s failed:\n%s", job.name, traceback.format_exc())
            self.failed.emit(job, f"{job.name} failed unexpectedly ({type(exc).__name__}: {exc}).")
        else:
            self.done.emit(job, result)

    @Slot()
    def close(self) -> None:
        self.host.close()


class JobThread(QObject):
    """Runs one job at a time on its own QThread. Signals arrive on the GUI thread."""

    started = Signal(object)
    progress = Signal(object, object)
    finished = Signal(object, object)
    failed = Signal(object, str)
    cancelled = Signal(object)
    busyChanged = Signal(bool)
    #: a ``DamageMet``: a job's reader met a damaged stretch of its video (``Project.met_damage`` says it)
    damageMet = Signal(object)
    _submit = Signal(object)
    _close = Signal()

    def __init__(self, name: str = "worker", parent=None):
        super().__init__(parent)
        self.current: Optional[Job] = None
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._close.connect(self._worker.close)
        self._worker.progress.connect(self.progress)
        self._worker.damageMet.connect(self.damageMet)  # (queued: this object lives on the GUI thread)
        # bound slots, not lambdas: a lambda would run on the worker's thread, and the job would
        # end for ``busy`` before its result reached the GUI thread
        self._worker.done.connect(self._done)
        self._worker.failed.connect(self._failed)
        self._worker.cancelled.connect(self._cancelled)
        THREADS.add(self._thread)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self.current is not None

    def submit(self, name: str, fn, **data) -> Job:
        if self.busy:
            raise RuntimeError(f"{self.current.name} is still running")
        job = Job(name, fn, data=data)
        self.current = job
        self.started.emit(job)
        self.busyChanged.emit(True)
        self._submit.emit(job)
        return job

    def call(self, name: str, fn, **data):
        """Run a job and return its result, like a direct call, while the event loop keeps running.

        The window repaints, timers fire and input is handled meanwhile (as under a modal
        progress dialog), so the caller must keep re-entrant actions disabled. Raises
        ``Cancelled`` or ``InpaintError`` (with the worker's message) as the job ended.
        """
        loop = QEventLoop()
        outcome: dict = {}

        def ended(kind):
            def slot(job, *args):
                if job is outcome.get("job"):
                    outcome["end"] = (kind, args[0] if args else None)
                    loop.quit()
            return slot

        slots = [(self.finished, ended("done")), (self.failed, ended("failed")), (self.cancelled, ended("cancelled"))]
        for signal, slot in slots:
            signal.connect(slot)
        try:
            outcome["job"] = self.submit(name, fn, **data)
            if "end" not in outcome:
                loop.exec()
        finally:
            for signal, slot in slots:
                signal.disconnect(slot)
        kind, value = outcome["end"]
        if kind == "cancelled":
            raise Cancelled(f"{name} was cancelled.")
        if kind == "failed":
            raise InpaintError(value)
        return value

    def cancel(self) -> None:
        if self.current is not None:
            self.current.cancel.cancel()

    @Slot(object, object)
    def _done(self, job: Job, result) -> None:
        self._end(job, self.finished, result)

    @Slot(object, str)
    def _failed(self, job: Job, message: str) -> None:
        self._end(job, self.failed, message)

    @Slot(object)
    def _cancelled(self, job: Job) -> None:
        self._end(job, self.cancelled)

    def _end(self, job: Job, signal, *args) -> None:
        if job is self.current:
            self.current = None
            self.busyChanged.emit(False)
        signal.emit(job, *args)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel the running job, let it unwind, stop the thread. True if it stopped."""
        self.cancel()
        if self._thread.isRunning():
            self._close.emit()
            self._thread.quit()
            return self._thread.wait(timeout_ms)
        return True


# --- jobs: thin calls into app.core ------------------------------------------------------

def inpaint_job(video, masks, start: int, end: int, results, weights, config: EngineConfig, made=None,
                only=None, prior=None):
    """Inpaint [start, end) into ``results`` (a ResultCache), frame by frame; ``made``: the record
    each frame keeps of what it was computed from (``results.Made``). ``only``: compute these frames
    of the range alone, as a run over all of it gives them; ``prior``: the kept frames a propagation
    chunk may start from (``fill_range``)."""

    def fn(host: EngineHost, progress, cancel):
        mode, engine = host.engine_for_fill(weights, config)
        put = lambda i, rgb: results.put(i, rgb, made)  # noqa: E731
        fill_range(host.reader(video), masks, put, start, end, config, engine, progress=progress, cancel=cancel,
                   only=only, prior=prior)
        return {"start": start, "end": end, "fill": mode}

    return fn


def preview_job(video, masks, index: int, results, weights, config: EngineConfig, made=None):
    def fn(host: EngineHost, progress, cancel):
        mode, engine = host.engine_for_fill(weights, config)
        reader = host.reader(video)
        progress(Progress(0, 1, "preview"))
        if mode == "sttn":
            results.put(index, engine.preview_frame(reader, masks, index, cancel=cancel), made)
        else:
            # Propagation needs the neighbouring frames: fill a short window, keep this frame.
            r = config.neighbor_radius
            keep = lambda i, rgb: results.put(i, rgb, made) if i == index else None  # noqa: E731
            fill_range(reader, masks, keep, max(0, index - r), min(len(reader), index + r + 1), config, engine,
                       cancel=cancel)
        progress(Progress(1, 1, "preview"))
        return {"index": index, "fill": mode}

    return fn


ENCODING, COPYING = "Encoding…", "Copying the unchanged frames…"


class _Encode:
    """Writing the video from the result, planned before it runs: which frames are encoded (with
    ``copy_unchanged``, the GOPs that hold a result; else all) and what that costs (``steps``), so a
    job that inpaints first can weigh its two parts. ``coming``: frames of the range whose result the
    job writes before encoding (counted as results in the plan)."""

    def __init__(self, reader, video, results, output, crf: int, keep_audio: bool, preset: str, start: int,
                 end: Optional[int], copy_unchanged: bool, coming=()):
        self.reader, self.video, self.results, self.output = reader, video, results, output
        self.crf, self.preset, self.copy_unchanged = crf, preset, copy_unchanged
        self.n = len(reader)
        self.range = range(start, self.n if end is None else min(end, self.n))
        self.audio = video if keep_audio and reader.has_audio else None
        coming = set(coming)
        self._plan({i for i in self.range if i in results or i in coming})

    def _plan(self, computed: set) -> None:
        self.computed, self.smart, self.why = computed, None, ""
        if self.copy_unchanged:
            self.smart, why = plan(self.reader, sorted(computed))
            if self.smart is None:
                log.info("Encoding every frame again: %s.", why)
                self.why = why
        self.frames = list(self.smart.indices()) if self.smart is not None else range(self.n)

    @property
    def steps(self) -> list[tuple[str, float]]:
        """(label, cost) of encoding the frames, then copying the rest (``Phases``)."""
        encode = [(ENCODING, len(self.frames) * WORK_PER_FRAME["encode"])]
        return encode + ([(COPYING, self.n * WORK_PER_FRAME["copy"])] if self.smart is not None else [])

    def _frame(self, i):
        if i not in self.computed:
            return self.reader[i]
        frame = self.results.get(i)
        if frame is None:  # never the original in its place: the export would keep what was removed
            raise OutputError(f"The inpainted frame {i} is gone from the cache folder (deleted outside the "
                              "window); export again: it inpaints the range again.")
        return frame

    def run(self, steps: Phases, cancel) -> dict:
        computed = {i for i in self.range if i in self.results}
        if computed != self.computed:  # (a frame planned for that is not there: never copy the source's there)
            self._plan(computed)
        reader, n, output = self.reader, self.n, self.output
        clock = ProgressClock(steps.step(ENCODING), len(self.frames))
        if self.smart is not None:
            writer = SmartWriter(reader, self.smart, output, crf=self.crf, preset=self.preset, audio_from=self.audio,
                                 inputs=(self.video,))
            try:
                for k, i in enumerate(self.frames):
                    cancel.check()
                    writer.write(i, self._frame(i))
                    clock.report(k + 1)
                writer.close(steps.step(COPYING), cancel)
            except BaseException:
                writer.abort()
                raise
            steps.finish()
            return {"output": Path(output), "frames": n,
                    "copied": n - self.smart.frames if not writer.reencoded_all else 0,
                    "warnings": [writer.fallback] if writer.fallback else []}
        with VideoWriter(output, reader.width, reader.height, fps=reader.rate, crf=self.crf, preset=self.preset,
                         audio_from=self.audio, inputs=(self.video,), source=reader) as writer:
            for i in self.frames:
                cancel.check()
                writer.write(self._frame(i))
                clock.report(i + 1)
        steps.finish()
        return {"output": Path(output), "frames": n, "encoded_all": self.why}


def export_results_job(video, results, output, crf: int, keep_audio: bool, preset: str = "medium",
                       start: int = 0, end: Optional[int] = None, copy_unchanged: bool = True):
    """Write the whole video: computed results in [start, end) where there are some, original frames
    elsewhere (a frame previewed outside the range, or left from a wider one, is not exported); a
    result whose file is gone by the time it is read raises OutputError, never the original frame.
    ``copy_unchanged``: where the file allows, GOPs without a result are copied, not encoded again
    (``app.core.smartrender``). One progress over the encoding and the copying (``Phases``)."""

    def fn(host: EngineHost, progress, cancel):
        encode = _Encode(host.reader(video), video, results, output, crf, keep_audio, preset, start, end,
                         copy_unchanged)
        return encode.run(Phases(progress, encode.steps), cancel)

    return fn


def export_partial_job(video, masks, span: tuple[int, int], results, weights, config: EngineConfig, made, output,
                       crf: int, keep_audio: bool, start: int, end: int, preset: str = "medium",
                       copy_unchanged: bool = True, only=None, prior=None):
    """Part of the result is up to date: inpaint the frames ``only`` into ``results`` (as Inpaint does,
    in the windows of ``span``), then write the video from the result (``export_results_job``). A
    cancel keeps the frames already inpainted, each current. One progress over the whole job: the
    inpainting and the encoding each take the share of the bar their frames cost (``WORK_PER_FRAME``)."""
    fill = inpaint_job(video, masks, *span, results, weights, config, made, only=only, prior=prior)
    only = list(only or ())

    def fn(host: EngineHost, progress, cancel):
        mode = host.engine_for_fill(weights, config)[0]  # (the model it loads stays for the fill)
        changed = all(i in results for i in only)  # (else some had no result yet: the range grew)
        inpainting = f"Inpainting {len(only)} {'changed ' if changed else ''}frame{'s' if len(only) != 1 else ''}…"
        encode = _Encode(host.reader(video), video, results, output, crf, keep_audio, preset, start, end,
                         copy_unchanged, coming=only)
        steps = Phases(progress, [(inpainting, len(only) * WORK_PER_FRAME[mode]), *encode.steps])
        fill(host, steps.step(inpainting), cancel)
        return {**encode.run(steps, cancel), "inpainted": len(only), "fill": mode}

    return fn


def export_inpaint_job(video, masks, output, start: int, end: int, weights, config: EngineConfig, crf: int,
                       keep_audio: bool, preset: str = "medium", copy_unchanged: bool = True):
    """No up-to-date result: inpaint while writing (the core's one-pass export)."""
    from app.core.engine import inpaint_video

    def fn(host: EngineHost, progress, cancel):
        has_mask = any(not masks.is_empty(i) for i in range(start, end))
        mode, engine = host.engine_for_fill(weights, config) if has_mask else ("encode", None)
        n = len(host.reader(video))
        # The core counts its two stages (inpaint while encoding, then copy the unchanged GOPs) each
        # from 0, as the command line shows them; the window's bar runs once over both (``Phases``).
        work = (end - start) * WORK_PER_FRAME[mode] + (n - (end - start)) * WORK_PER_FRAME["encode"]
        # (its count is of the frames encoded, the range's and those the keyframes around it hold: on
        # running_car.mp4 "Inpainting… 175/191" was read as 191 frames inpainted where 15 were)
        k = end - start
        writing = f"Encoding (inpainting {k} frame{'s' if k != 1 else ''})…" if has_mask else ENCODING
        steps = Phases(progress, [(writing, work), (COPYING, n * WORK_PER_FRAME["copy"] if copy_unchanged else 0)])
        stages = {"inpaint": steps.step(writing), "copy": steps.step(COPYING)}

        def relay(p: Progress) -> None:
            stages.get(p.stage, stages["inpaint"])(p)

        res = inpaint_video(video, masks, output, weights=weights, config=config, start=start, end=end, crf=crf,
                            preset=preset, keep_audio=keep_audio, engine=engine, progress=relay, cancel=cancel,
                            copy_unchanged=copy_unchanged)
        steps.finish()
        return {"output": res.output, "frames": res.frames, "warnings": res.warnings, "copied": res.copied,
                "encoded_all": res.encoded_all}  # (why Copy unchanged parts copied nothing: said in the dialog)

    return fn
