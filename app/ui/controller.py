"""Commands that start work (inpaint, preview, export, fine-tune) turned into worker jobs.

The main window wires menu actions to these methods; results and errors come back as
signals. Two long-lived workers: ``engine`` (keeps the model loaded between jobs) and
``training`` (fine-tuning may run while you keep painting).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core import cache, paths
from app.core.engine import PREVIEW_REFS, EngineConfig, reference_ids, resolve_device, resolve_fill
from app.core.errors import InpaintError
from app.core.reach import MaskReach, mask_reach

from .appsettings import AppSettings
from .results import Made
from .timeline import frame_runs, frames_text
from .workers import (Job, JobThread, export_inpaint_job, export_partial_job, export_results_job, inpaint_job,
                      preview_job, weights_identity)


def no_mask_in_range(project) -> str:
    """Why Inpaint is refused with no mask in the in/out range, and what to do. Masks on frames outside
    it are named, with how to take them in: a logo painted on frame 10 before the range was set to
    100..114 was met with "No frame in the range has a mask; paint what should go (B)", which the user
    had done."""
    p = project
    outside = [i for i in p.masks.masked_frames() if not p.start <= i < p.end]
    if not outside:
        return "No frame in the range has a mask; paint what should go (B), or click it with Select (C) and track it."
    where = (f"frame {outside[0]}, outside it, has one" if len(outside) == 1 else
             f"{frames_text(outside)}, outside it, have masks" if len(list(frame_runs(outside))) <= 3 else
             f"{len(outside)} frames outside it ({outside[0]}..{outside[-1]}) have masks")
    return (f"No frame of the in/out range ({p.start}..{p.end - 1}) has a mask; {where}: widen the range (I and O set "
            f"its ends at the current frame) to inpaint {'it' if len(outside) == 1 else 'them'}, or paint what should "
            "go (B) on a frame inside it.")


@dataclass
class ExportOptions:
    path: Path
    crf: int = 18
    keep_audio: bool = True
    #: inpaint a crop around the mask at the video's resolution (EngineConfig.crop_to_mask)
    full_res: bool = False
    #: x264 preset (encoder speed): medium keeps the most detail, faster ones encode sooner
    preset: str = "medium"
    #: copy the stretches between keyframes that hold no change, bit for bit (``app.core.smartrender``)
    copy_unchanged: bool = True


@dataclass
class Plan:
    """What an Inpaint or Export over the in/out range computes. ``todo``: the frames whose result
    is missing or cannot be kept (out of date, from Preview frame, from a run over another range or
    with other settings); ``kept``: the others. ``span``: the range whose windows and chunks the new
    frames are computed in: that of the run most kept frames came from (so they come out as that
    run would give them), else the in/out range."""

    span: tuple[int, int]
    todo: list[int]
    kept: set[int]

    @property
    def partial(self) -> bool:
        """Some frames are kept: only the others are computed."""
        return bool(self.kept)


class Controller(QObject):
    error = Signal(str)  # a sentence for a dialog (a job failed)
    refused = Signal(str)  # a command refused, and what to do: said without a dialog (nothing to decide)
    message = Signal(str)  # a line for the status bar
    warning = Signal(str)  # a line for the status bar that routine ones do not displace (MessageBar.warn)
    revise = Signal(str, str)  # (a line said, its new words): where the status bar still shows it
    exportFinished = Signal(object)  # output Path
    resultsReady = Signal(str)  # an "inpaint" or "preview" job has finished: there is a result to look at

    def __init__(self, project, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.project, self.settings = project, settings
        self.engine = JobThread("engine", self)
        self.training = JobThread("training", self)
        self.segment = JobThread("segment", self)  # click-to-select answers, while the engine may be busy
        self.engine.progress.connect(self._progress)
        self.engine.finished.connect(self._finished)
        self.engine.failed.connect(self._failed)
        self.engine.cancelled.connect(self._cancelled)
        self.engine.busyChanged.connect(self._idle)
        for jobs in (self.engine, self.segment):  # (Track, Inpaint, Export; the click tool's frames around a click)
            jobs.damageMet.connect(project.met_damage)
        project.engine_source = self.engine_source  # (what Project.result_outdated compares a result's with)

    def engine_source(self) -> dict:
        """What makes a result beyond the project's engine settings (``Made.source``): the device it
        runs on, resolved ("auto" on a machine without a GPU is the CPU, as "cpu" is), and the weights
        file (``weights_identity``) where the fill mode may use them (not for telea)."""
        try:
            device = str(resolve_device(self.settings.device))
        except InpaintError:  # (not available here: the job says so)
            device = self.settings.device
        fill, weights = self.project.engine_settings.get("fill", "auto"), self.settings.weights_path()
        uses = weights is not None and (fill == "auto" or fill.endswith("sttn"))
        return {"device": device, "weights": weights_identity(weights) if uses else None}

    def engine_config(self, **overrides) -> EngineConfig:
        return EngineConfig.from_dict({**self.project.engine_settings, "device": self.settings.device, **overrides})

    def _ready(self) -> bool:
        if not self.project.has_video:
            self.refused.emit("Open a video first (File > Open).")
            return False
        if self.project.opening:
            self.refused.emit("Another video is being opened; wait until it is open (or cancel opening it).")
            return False
        if self.engine.busy:
            self.refused.emit(f"{self.engine.current.name} is still running; wait for it or cancel it.")
            return False
        return True

    def _of_earlier_video(self, job: Job) -> bool:
        """A job whose results were for a video opened before this one (kept apart: ResultCache)."""
        results = job.data.get("results")
        return results is not None and results is not self.project.results

    def fill_mode(self, config: EngineConfig) -> str | None:
        """The fill mode a job with ``config`` runs (``resolve_fill``; None where it would fail)."""
        weights = self.settings.weights_path()
        try:
            return resolve_fill(config.fill, weights is not None, paths.is_bundled(weights),
                                resolve_device(config.device))
        except InpaintError:
            return None

    def plan(self, config: EngineConfig) -> Plan:
        """Which frames of the in/out range an Inpaint or Export with ``config`` computes (``Plan``)."""
        p = self.project
        s, e = p.start, p.end
        p.results.covers(s, e)  # (a result whose file was deleted by hand is forgotten: computed again)
        wanted = {**config.to_dict(), "device": None}  # (the device by name: "auto" and "cpu" may be one)
        stale = set(p.outdated_results(s, e))
        runs: dict[tuple, list[int]] = {}
        for i in range(s, e):
            m = p.results.made(i)
            if (m is not None and i not in stale and self.whole_run(m)
                    and {**m.config, "device": None} == wanted):
                runs.setdefault(m.span, []).append(i)
        kept = {i for frames in runs.values() for i in frames}
        span = max(runs, key=lambda sp: (len(runs[sp]), sp == (s, e)), default=(s, e))
        return Plan(span, [i for i in range(s, e) if i not in kept], kept)

    def _inpaint_made(self, config: EngineConfig, plan: Plan) -> Made:
        """The record of a run over ``plan``: which frames' results read which masks for the fill mode
        that runs (``app.core.reach``), the frames it writes."""
        p = self.project
        mode = self.fill_mode(config)
        reach = mask_reach(mode, config, *plan.span, p.reader.width * p.reader.height)
        return Made(p.engine_settings, config.to_dict(), p.masks_snapshot(), plan.span, source=self.engine_source(),
                    reach=reach, frames=plan.todo if plan.partial else None)

    def _fill_job_args(self, plan: Plan) -> dict:
        """``only`` and ``prior`` for a run over ``plan``: the frames to compute, and the kept ones a
        propagation chunk may start from (read on the worker thread from the cache)."""
        if not plan.partial:  # (then the span is the in/out range: a whole run)
            return {}
        results, kept = self.project.results, frozenset(plan.kept)
        return {"only": plan.todo, "prior": lambda i: results.get(i) if i in kept else None}

    def inpaint(self) -> Job | None:
        p = self.project
        if not self._ready():
            return None
        if not any(not p.masks.is_empty(i) for i in range(p.start, p.end)):
            self.refused.emit(no_mask_in_range(p))
            return None
        # the frames of an earlier result stay until this run replaces them, each frame with the
        # record of what it was made from: a cancelled run loses nothing. Frames whose result is
        # still current are kept: after an edit only the frames whose fill read it are computed.
        config = self.engine_config()
        plan = self.plan(config)
        if not plan.todo:
            self.message.emit(f"Every frame of {p.start}..{p.end - 1} is up to date: nothing to inpaint again.")
            return None
        made = self._inpaint_made(config, plan)
        job = self.engine.submit("Inpaint", inpaint_job(p.video_path, made.masks, *plan.span, p.results,
                                                        self.settings.weights_path(), config, made,
                                                        **self._fill_job_args(plan)),
                                 kind="inpaint", start=p.start, made=made, results=p.results, todo=plan.todo,
                                 range=(p.start, p.end))
        p.inpainting = made
        p.resultChanged.emit()  # (the frames it has not reached say so)
        return job

    def preview(self) -> Job | None:
        p = self.project
        if not self._ready():
            return None
        if p.masks.is_empty(p.current):
            self.refused.emit("This frame has no mask; paint what should go (B), or click it with Select (C).")
            return None
        config = self.engine_config()
        r = config.neighbor_radius  # (the frame is filled from its neighbours: their masks count too)
        a, b = max(0, p.current - r), min(p.n_frames, p.current + r + 1)
        if config.fill == "sttn":  # (and STTN alone from a few reference frames further off: preview_frame)
            refs = reference_ids(p.current, 0, p.n_frames, config.ref_stride, min(PREVIEW_REFS, config.max_refs),
                                 range(a, b))
            a, b = min([a, *refs]), max([b, *(i + 1 for i in refs)])
        made = Made(p.engine_settings, config.to_dict(), p.masks_snapshot(), (a, b), kind="preview",
                    source=self.engine_source(), reach=MaskReach((a, b), (p.current, p.current + 1)),
                    frames=[p.current])
        return self.engine.submit("Preview", preview_job(p.video_path, made.masks, p.current, p.results,
                                                         self.settings.weights_path(), config, made),
                                  kind="preview", start=p.current, made=made, results=p.results)

    def result_is_current(self, config: EngineConfig) -> bool:
        """Whether the result covers the range, every frame of it up to date (masks, settings, weights
        and device: ``Project.results_outdated``), made with ``config`` by an Inpaint over the whole
        range (a preview reads fewer reference frames; two runs over parts of the range did not see
        each other's frames): Export then re-encodes it instead of inpainting again."""
        return not self.plan(config).todo

    def whole_run(self, made: Made) -> bool:
        """An Inpaint whose range held the whole in/out range."""
        return made.kind == "inpaint" and made.span[0] <= self.project.start and self.project.end <= made.span[1]

    def export(self, options: ExportOptions) -> Job | None:
        """Re-encode the computed result if it is up to date; otherwise inpaint while writing."""
        p = self.project
        if not self._ready():
            return None
        config = self.engine_config(crop_to_mask=options.full_res)
        plan = self.plan(config)
        encode = dict(preset=options.preset, copy_unchanged=options.copy_unchanged)
        if not plan.todo:
            fn = export_results_job(p.video_path, p.results, options.path, options.crf, options.keep_audio,
                                    start=p.start, end=p.end, **encode)
        elif plan.partial:  # the frames an edit reached are inpainted into the result, then it is all encoded
            made = self._inpaint_made(config, plan)
            fn = export_partial_job(p.video_path, made.masks, plan.span, p.results, self.settings.weights_path(),
                                    config, made, options.path, options.crf, options.keep_audio, start=p.start,
                                    end=p.end, **encode, **self._fill_job_args(plan))
            job = self.engine.submit("Export", fn, kind="export", made=made, results=p.results, todo=plan.todo)
            p.inpainting = made
            p.resultChanged.emit()
            return job
        else:
            fn = export_inpaint_job(p.video_path, p.masks_snapshot(), options.path, p.start, p.end,
                                    self.settings.weights_path(), config, options.crf, options.keep_audio, **encode)
        return self.engine.submit("Export", fn, kind="export")

    def cancel(self) -> None:
        job = self.engine.current
        if job is not None and not job.cancel.cancelled:  # (a step may take a while: a SAM frame, 10 s on a CPU)
            self.message.emit(f"Cancelling {job.name}: it stops when the step it is on ends.")
        self.engine.cancel()

    # --- the user cache folder (app.core.cache) ------------------------------------------
    @property
    def busy(self) -> bool:
        """A job that writes into the cache is running (inpaint, preview, fine-tune decoding clips)."""
        return self.engine.busy or self.training.busy

    def trim_cache(self) -> cache.Removed:
        """Evict least recently used cache files over the limit; the open project's results stay."""
        return cache.enforce_limit(self.settings.cache_limit_mb << 20, keep=[self.project.results.folder])

    def clear_cache(self) -> cache.Removed:
        """Empty the cache folder except the open project's results; refused while a job runs."""
        if self.busy:
            self.error.emit("A job is running; clear the cache when it has finished or been cancelled.")
            return cache.Removed()
        removed = cache.clear_cache(keep=[self.project.results.folder])
        self.message.emit(f"Cleared {cache.format_size(removed.bytes)} from the cache.")
        return removed

    def _idle(self, busy: bool) -> None:
        if not busy and self.project.inpainting is not None:
            self.project.inpainting = None
            self.project.resultChanged.emit()

    def _progress(self, job: Job, progress) -> None:
        # Show the current frame's result as soon as the worker has written it (once per frame).
        current = self.project.current
        if (job.data.get("kind") == "inpaint" and self.project.results.made(current) is job.data["made"]
                and job.data.get("shown") != current):
            job.data["shown"] = current
            self.project.resultChanged.emit()

    def _failed(self, job: Job, message: str) -> None:
        if job.data.get("refused"):  # (something to do first: a notice, no dialog to dismiss)
            self.refused.emit(message)
        elif job.data.get("kind") != "export":  # (the export dialog, open while its job runs, says it in its line)
            self.error.emit(message)

    def _cancelled(self, job: Job) -> None:
        made, p = job.data.get("made"), self.project
        if self._of_earlier_video(job):
            self.message.emit(f"{job.name} stopped: another video was opened.")
            return
        if made is None:
            self.message.emit(f"{job.name} cancelled.")
            return
        a, b = made.span
        done = sum(1 for i in range(a, b) if p.results.made(i) is made)
        total = len(made.frames) if made.frames is not None else b - a
        p.resultChanged.emit()
        if job.data.get("kind") == "export":
            self.message.emit(f"Export cancelled; the {done} frames it had inpainted again are kept in the result.")
            return
        self.message.emit(f"Inpaint cancelled after {done} of {total} frames: those are kept; the other frames "
                          "keep what an earlier Inpaint gave them, if anything." if done else
                          f"Inpaint cancelled before any of its {total} frames was done: nothing changed.")

    def _finished(self, job: Job, result) -> None:
        kind = job.data.get("kind")
        if self._of_earlier_video(job):  # (its frames are not this video's; none are shown)
            self.message.emit(f"{job.name} of the video opened before ended; its frames were dropped.")
        elif kind in ("inpaint", "preview"):
            self.trim_cache()
            self.project.resultChanged.emit()
            if kind == "inpaint":
                todo, (a, b) = job.data["todo"], job.data["range"]
                again = f"{len(todo)} frame{'' if len(todo) == 1 else 's'} again"
                self.message.emit(f"Inpainted frames {a}..{b - 1}." if len(todo) == b - a else
                                  f"Inpainted {again} ({frames_text(todo)}); the other "
                                  f"{b - a - len(todo)} of {a}..{b - 1} were up to date.")
            self.resultsReady.emit(kind)
        elif kind == "export":
            if job.data.get("made") is not None:
                self.project.resultChanged.emit()
            for w in result.get("warnings", []):
                self.warning.emit(w)
            self.exportFinished.emit(result["output"])
            self.message.emit(f"Exported {result['output']}.")

    def shutdown(self) -> bool:
        stopped = [self.engine.shutdown(), self.training.shutdown(), self.segment.shutdown()]  # stop all, even if one hangs
        return all(stopped)

