"""Fine-tune page: train the current weights on your own footage, watch loss and PSNR live.

Runs app.core.train.Trainer on the controller's training worker. Stop ends the step under way
at once and keeps what was learned up to the last whole step (a checkpoint, and the generator
written out), so 'Use these weights' works then too, and Continue carries on from there, also
after the program was closed or killed (each run's folder holds a ``run.json`` and checkpoints
at least every few minutes).
"""
from __future__ import annotations

import json
import math
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from time import monotonic

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from app.core import paths
from app.core.cache import format_size
from app.core.config import FINETUNE_LR
from app.core.engine import resolve_device
from app.core.errors import Cancelled, DataError, InpaintError, OutputError
from app.core.train.dataset import VIDEO_EXTS
from app.core.train.trainer import RESUME_HINT, VALIDATING

from ..deadline import DeadlineTimer
from ..jobbar import JobBar, format_about, format_seconds
from ..workers import require_weights_file
from .finetune_runs import (CLOSED, IN_USE, RUN_FILE, STOPPED, WEIGHTS_FILE, delete_runs, drop_checkpoint, held_runs,
                            mark_said, new_run_folder, old_runs, read_run, run_files, run_title, runs_root,
                            step_seconds, summary, weights_label, where_stopped)

SERIES = {"loss": ("Loss", QColor(235, 110, 130)), "val_psnr": ("Validation PSNR (dB)", QColor(110, 170, 255))}


class LossPlot(QWidget):
    """Two series over training steps: loss on the left axis, validation PSNR on the right."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.points: dict[str, list[tuple[float, float]]] = {k: [] for k in SERIES}
        self.total_steps = 1
        self.setMinimumHeight(120)  # (at 200 a two-line status and the held-run line had no room below it: they overlapped it)

    def sizeHint(self) -> QSize:
        return QSize(400, 200)

    def clear(self, total_steps: int) -> None:
        self.points = {k: [] for k in SERIES}
        self.total_steps = max(1, total_steps)
        self.update()

    def add(self, step: int, info: dict) -> None:
        for key in SERIES:
            v = info.get(key)
            if isinstance(v, (int, float)) and math.isfinite(v):
                pts = self.points[key]
                if not pts or pts[-1] != (step, v):
                    pts.append((step, float(v)))
        self.update()

    def span(self, key: str) -> tuple:
        """(lo, hi) of the series' axis and its labels, [(text, height in the plot: 0 bottom, 1 top)]: its
        lowest and highest value at the bottom and top; a series of one value, its point halfway up, has that
        value beside it alone (the bounds padded by half the value stood there: a single validation of
        31.54 dB read as an axis from 15.77 to 47.31)."""
        values = [v for _, v in self.points[key]]
        lo, hi = min(values), max(values)
        if hi - lo < 1e-9:
            return (lo - 0.5 * (abs(lo) or 1), hi + 0.5 * (abs(hi) or 1)), [(f"{lo:.4g}", 0.5)]
        return (lo, hi), [(f"{hi:.4g}", 1.0), (f"{lo:.4g}", 0.0)]

    def paintEvent(self, _):
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base().color())
        fm = p.fontMetrics()
        plot = QRectF(self.rect()).adjusted(fm.horizontalAdvance("0.0000") + 10, fm.height() + 8,
                                            -(fm.horizontalAdvance("00.0") + 10), -(fm.height() + 8))
        grid = QColor(pal.text().color())
        grid.setAlpha(40)
        p.setPen(QPen(grid, 1))
        for k in range(5):
            y = plot.top() + plot.height() * k / 4
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        p.setPen(pal.text().color())
        p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height() + 4),
                   Qt.AlignmentFlag.AlignCenter, f"step (of {self.total_steps})" if self.total_steps > 1 else "step")
        x_legend = plot.left()
        for side, (key, (label, color)) in zip((0, 1), SERIES.items()):
            pts = self.points[key]
            p.setPen(color)
            p.drawText(QPointF(x_legend, fm.ascent() + 2), label)
            x_legend += fm.horizontalAdvance(label) + 24
            if not pts:
                continue
            (lo, hi), labels = self.span(key)
            def to_xy(s, v):
                return QPointF(plot.left() + plot.width() * s / self.total_steps,
                               plot.bottom() - plot.height() * (v - lo) / (hi - lo))
            path = QPainterPath(to_xy(*pts[0]))
            for s, v in pts[1:]:
                path.lineTo(to_xy(s, v))
            p.setPen(QPen(color, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            if len(pts) == 1:
                p.setBrush(color)
                p.drawEllipse(to_xy(*pts[0]), 3, 3)
            p.setPen(color)
            align = Qt.AlignmentFlag.AlignRight if side == 0 else Qt.AlignmentFlag.AlignLeft
            for text, up in labels:
                y = plot.bottom() - plot.height() * up
                box = (QRectF(0, y - fm.height() / 2, plot.left() - 4, fm.height()) if side == 0
                       else QRectF(plot.right() + 4, y - fm.height() / 2, self.width(), fm.height()))
                p.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, text)


#: how often the page's runs write a checkpoint (a CPU step takes a minute or more)
CHECKPOINT_SECONDS = 300.0
#: old runs named one by one in "Delete old runs"' question
LISTED = 12
#: validate at most every this many steps (and after the last): a validation inpaints the first
#: frames of every footage clip, with the real model on a CPU about 4 s a clip, more than a step
MIN_VAL_EVERY = 10
#: why the weights a run just wrote stay when old runs are deleted (until used or another run starts)
JUST_TRAINED = ("its weights were just trained (kept for Use these weights until another run starts or the "
                "window closes)")


#: the main window's status bar from Stop until the run has ended (its step and time left stood there)
STOPPING = "Fine-tune: stopping, keeping the last whole step…"


def bar_words(job, p) -> str:
    """A run's report in the main window's status bar: "Fine-tune: step 12 of 500, ~1 h 20 min left"."""
    if job is not None and job.cancel.cancelled:  # (a report sent before Stop was taken)
        return STOPPING
    if p.stage == VALIDATING:
        return f"Fine-tune: validating at step {p.info.get('step', 0)}, clip {p.done + 1} of {p.total}…"
    if p.stage != "train":
        return f"Fine-tune: reading {p.stage} {p.done + 1} of {p.total}…"
    if p.done >= p.total:  # (validating and writing: "~1 s left" stood there meanwhile)
        return f"Fine-tune: step {p.done} of {p.total}, writing the weights…"
    left = f", {format_about(p.info['eta'])} left" if "eta" in p.info else "…"
    return f"Fine-tune: step {p.done} of {p.total}{left}"


def finetune_job(config, resume=None, stop_pressed=None):
    """Worker job: train (``resume='auto'``: from the run folder's checkpoint); on Stop keep the
    generator trained so far. ``run.json`` in the run folder records the settings and whether
    the run finished, so that Continue finds an unfinished run later; a run stopped records its
    step and whether Stop was pressed (``stop_pressed``, a threading.Event, is set) or the window
    was closed. A run that finished has no use for its checkpoint any more (nothing continues
    it): it is deleted, the weights stay."""

    def fn(host, progress, cancel):
        from app.core.train.trainer import Trainer

        trainer = Trainer(config, progress, cancel, resume=resume)
        if resume is not None and trainer.step >= config.steps:  # (it would finish at once and lose its checkpoint)
            trainer.close()
            raise DataError(f"This run is already at step {trainer.step}: set Steps above {trainer.step} "
                            "to continue it.")
        _write_run_file(config, finished=False)
        try:
            result = trainer.run()
        except OutputError as exc:  # (a full disk: "... and resume." in the page's words)
            then = ("then press Continue" if config.checkpoint_path.exists() else
                    "then press Start again (no checkpoint of this run had been written yet)")
            raise OutputError(str(exc).replace(RESUME_HINT, then + ".")) from None
        except Cancelled:
            if trainer.step == 0:  # (the trainer's checkpoint of step 0, 138 MB of the bundled model, was
                drop_checkpoint(config)  # offered at the next start to Continue, "the program ended during it")
                raise
            output = trainer.export_generator(config.output)
            how = STOPPED if stop_pressed is not None and stop_pressed.is_set() else CLOSED
            _write_run_file(config, finished=False, stopped_at=trainer.step, how=how)
            return {"output": output, "step": trainer.step, "psnr": trainer.last_val.get("val_psnr"), "stopped": True}
        _write_run_file(config, finished=True)
        drop_checkpoint(config)
        return {"output": result.output, "step": result.step, "psnr": result.val_psnr, "stopped": False}

    return fn


def _write_run_file(config, finished: bool, **stopped) -> None:
    """``stopped``: ``stopped_at`` (the step of the checkpoint kept) and ``how`` (STOPPED, CLOSED)."""
    from app.core.fsutil import atomic_path

    path = Path(config.workdir) / RUN_FILE
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"config": config.to_dict(), "finished": finished, **stopped}))


def _writable(root: Path) -> Path:
    """``root``, created; OutputError in the window's words when no run folder can be written there."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        # (a file where a folder of the path should be: "(File exists): free space there or make it writable")
        file = next((p for p in (root, *root.parents) if p.exists() and not p.is_dir()), None)
        why = (f": {file} is a file, not a folder; move or rename it" if file is not None else
               f" ({exc.strerror or exc}): free space there or make it writable")
        raise OutputError(
            f"Cannot write fine-tune runs in {root}{why} (Settings > Storage shows the data folder).") from None
    return root


def unfinished_run():
    """The page's last run as a TrainConfig if it has a checkpoint and did not finish; None
    otherwise (an older stopped run is not offered once a newer one was started)."""
    from app.core.train.trainer import TrainConfig

    runs = run_files()
    record = read_run(runs[-1]) if runs else None
    try:
        config = TrainConfig.from_dict(record["config"])
    except (ValueError, KeyError, TypeError, InpaintError):
        return None
    return config if not record.get("finished") and config.checkpoint_path.exists() else None


class FinetunePage(QWidget):
    useWeights = Signal(str)
    message = Signal(str)  # how a run ended, for the main window's status bar
    warning = Signal(str)  # how a run failed, as ``message``: held there against routine messages

    def __init__(self, jobs, settings, parent=None):
        super().__init__(parent)
        self.jobs, self.settings = jobs, settings
        self.output: Path | None = None
        self.footage = QLineEdit()
        self.footage.setPlaceholderText("Clips like yours: a folder, or one video")
        self.footage.setToolTip("A folder of videos or frame folders (searched with its subfolders), or one video, "
                                "showing the kind of scenes you inpaint")
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._browse)
        browse_file = QPushButton("Video…")
        browse_file.clicked.connect(self._browse_file)
        self.browse_buttons = (browse, browse_file)
        row = QHBoxLayout()
        row.addWidget(self.footage, 1)
        row.addWidget(browse)
        row.addWidget(browse_file)
        self.steps = QSpinBox()
        self.steps.setRange(1, 1_000_000)
        self.steps.setValue(500)
        self.steps_hint = QLabel()
        self.step_time: tuple = (None, None)  # (device type, seconds a step took there in the last run)
        self.steps.valueChanged.connect(lambda _: self._say_duration())
        steps_row = QHBoxLayout()
        steps_row.addWidget(self.steps, 1)
        steps_row.addWidget(self.steps_hint)
        self.source = QLabel()
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 1e-2)
        self.lr.setSingleStep(1e-5)
        self.lr.setValue(FINETUNE_LR)
        self.lr.setToolTip("Fine-tuning uses a smaller rate than training from scratch (1e-4)")
        form = QFormLayout()
        form.addRow("Starts from", self.source)
        form.addRow("Footage", row)
        form.addRow("Steps", steps_row)
        form.addRow("Learning rate", self.lr)
        self.start_button = QPushButton("Start")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Carry on with the last run that was stopped, closed or killed, "
                                        "from its last checkpoint, up to Steps")
        self.stop_button = QPushButton("Stop")
        self.use_button = QPushButton("Use these weights")
        self.start_button.clicked.connect(self.start)
        self.continue_button.clicked.connect(self.resume)
        self.stop_button.clicked.connect(self.stop)
        self.use_button.clicked.connect(self._use)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.continue_button, self.stop_button, self.use_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.old_runs_label = QLabel()
        self.held_label = QLabel()  # (why a run whose weights are kept stays)
        self.held_label.setWordWrap(True)
        self.delete_runs_button = QPushButton("Delete old runs…")
        self.delete_runs_button.setToolTip("Delete the checkpoints and weights of earlier runs; the weights in use, "
                                           "the run Continue carries on and a run in progress are kept")
        self.delete_runs_button.clicked.connect(self.delete_old_runs)
        housekeeping = QHBoxLayout()
        housekeeping.addWidget(self.old_runs_label)
        housekeeping.addWidget(self.delete_runs_button)
        housekeeping.addStretch(1)
        self.plot = LossPlot()
        self.status = QLabel("Choose footage and press Start.")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(housekeeping)
        layout.addWidget(self.held_label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)
        jobs.progress.connect(self._progress)
        jobs.finished.connect(self._finished)
        jobs.failed.connect(self._failed)
        jobs.cancelled.connect(self._cancelled)
        self.resumable = None
        self.running: Path | None = None  # the run folder of the training under way
        self.reached = (0, 0)  # (the last whole step, Steps) of the training under way
        self.validated = False  # a validation ran whose PSNR is not drawn yet
        #: (the words of the last step's report, the step under way, since when, the status bar's words for
        #: the report): a step on a CPU takes minutes, and the lines stood still meanwhile, as if the run had hung
        self.under_way: tuple | None = None
        #: the clock's next second: it ticks at each whole second since the step began (a 1 s coarse timer,
        #: early or late by some ms, showed one second twice, or skipped one, about every 10 s)
        self.next_second = 1
        self.ticker = DeadlineTimer(self, clock=lambda: monotonic())  # (the module's clock, as a test sets it)
        self.ticker.due.connect(self._tick)
        self.used = False  # Use these weights was pressed for ``output``
        self.stop_pressed = threading.Event()  # (the run under way's: Stop was pressed)
        self.bars: list[JobBar] = []  # (the main window's: they hold how a run ended until it is seen)
        self.untold = None  # (folder, held words, tooltip) of a run cut short that no start has said yet
        jobs.busyChanged.connect(self._busy)
        self._busy(jobs.busy)
        if self.resumable is not None:  # (a run left unfinished when the program last closed)
            self.show_run(self.resumable)

    def show_run(self, config) -> None:
        """Fill in the footage, steps and rate of the run Continue carries on, so that Continue
        with the fields as they are goes on to that run's own Steps (not the default 500), and say
        where it stopped; a run cut short by closing the window (or the program's end) is also held in
        the main window's status bar, once (see ``job_bar``)."""
        self.footage.setText(str(config.data[0]) if config.data else "")
        self.steps.setValue(max(self.steps.minimum(), min(config.steps, self.steps.maximum())))
        self.lr.setValue(config.lr)
        folder = Path(config.workdir)
        step, how, said = where_stopped(folder)
        run = f"The fine-tune of {run_title(folder) or folder.name}" + (f" on {Path(config.data[0]).name}"
                                                                        if config.data else "")
        where = f"step {step} of {config.steps}"
        what = (f"{run} did not finish" if step is None else
                f"{run} stopped at {where} when the window was closed" if how == CLOSED else
                f"{run} stopped at {where} with Stop" if how == STOPPED else
                f"{run} did not finish (the program ended during it); its last checkpoint is of {where}")
        self.status.setText(f"{what}: Continue carries it on up to Steps, Start begins a new one.")
        self.untold = None
        if how != STOPPED and step is not None and not said:  # (Stop's end was said when it stopped)
            self.untold = (folder, f"Fine-tune stopped at {where} – open to continue",
                           f"{what}: Settings > Fine-tune > Continue carries it on.")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Footage folder", self.footage.text())
        if folder:
            self.footage.setText(folder)

    def _browse_file(self) -> None:
        patterns = " ".join(f"*{e}" for e in sorted(VIDEO_EXTS))
        path, _ = QFileDialog.getOpenFileName(self, "Footage video", self.footage.text(), f"Videos ({patterns})")
        if path:
            self.footage.setText(path)

    def _busy(self, busy: bool) -> None:
        self.start_button.setEnabled(not busy)
        for w in (self.footage, *self.browse_buttons, self.steps, self.lr):  # (a run keeps what it started with)
            w.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self._offer_use(busy)
        self.resumable = None if busy else unfinished_run()
        self.continue_button.setEnabled(self.resumable is not None)
        if not busy:
            self.running = None
        self.refresh_old_runs()

    # ------------------------------------------------------------ the main window
    def job_bar(self) -> JobBar:
        """The run under way in the main window's status bar, also while Settings is closed: its step
        and time left, Stop; a click on it emits ``clicked`` (the window opens this page)."""
        bar = JobBar(self.jobs, words=bar_words, bar_width=120, cancel=self.stop, open_tip="Open Settings > Fine-tune",
                     cancel_tip="Stop the fine-tune: the last whole step is kept, and Continue carries it on")
        self.bars.append(bar)
        if self.untold is not None:  # (at a start: the run the window's closing cut short can be continued)
            bar.hold(self.untold[1], tip=self.untold[2])
        return bar

    def _hold(self, text: str, said: str, warn: bool = False) -> None:
        """A run that ended out of sight stays said in the status bar ("Fine-tune finished at step
        500 – open") until it is clicked, this page is shown or another run starts: a message
        alone was gone in seconds, and whoever came back later saw nothing. ``warn``: with a
        warning sign (a failure)."""
        if not self.isVisible():
            for bar in self.bars:
                bar.hold(f"{text} – open", tip=said, warn=warn)

    def closing_note(self) -> str:
        """What closing the window does to the run under way, for the window's question."""
        step, steps = self.reached
        if not step:
            return "The fine-tune has not finished a step yet: nothing of it is kept."
        return (f"Closing stops the fine-tune (at step {step} of {steps} now) and keeps its last whole step: "
                "Settings > Fine-tune > Continue carries it on.")

    @contextmanager
    def kept_current(self, window, words):
        """Keep the words of a question ``window`` asks while a run trains (closing the window: "at step
        12 of 500 now") current while it is open, since the run goes on meanwhile: at each report and
        when the run ends, a message box of ``window`` showing the last ``words()`` shows them anew.
        Yields the words to ask with."""
        said = [words()]

        def update(*_):
            now = words()
            for box in window.findChildren(QMessageBox):  # (the static QMessageBox.question's box)
                if box.text() == said[0]:
                    box.setText(now)
            said[0] = now

        self.jobs.progress.connect(update)
        self.jobs.busyChanged.connect(update)
        try:
            yield said[0]
        finally:
            self.jobs.progress.disconnect(update)
            self.jobs.busyChanged.disconnect(update)

    # ------------------------------------------------------------ old runs
    def in_use(self) -> dict:
        """{weights file: why it stays} for "Delete old runs": Settings' weights (also one chosen on the
        General page before OK) and the weights the page just wrote, until used or another run starts."""
        pending = getattr(self.window(), "weights_edit", None)  # (the settings dialog's choice, before OK)
        kept = {str(self.output): JUST_TRAINED} if self.output is not None and not self.used else {}
        for path in (self.settings.weights, pending.text().strip() if pending is not None else None):
            if path:
                kept[path] = IN_USE
        return kept

    def old_runs(self) -> list:
        """What "Delete old runs" would delete now (see finetune_runs)."""
        return old_runs(self.in_use(), running=self.running)

    def held(self) -> list:
        """One line for each run "Delete old runs" keeps only because of its weights, saying why (not
        for a run kept anyway: Continue's, or one in progress)."""
        held = held_runs(self.in_use())
        old = {r.folder.resolve() for r in old_runs((), running=self.running)} if held else set()
        return [f"{folder.name} stays: {why}." for folder, why in held if folder in old]

    def refresh_old_runs(self) -> None:
        runs = self.old_runs()
        self.old_runs_label.setText(summary(runs))
        held = self.held()
        self.held_label.setText("\n".join(held))
        self.held_label.setVisible(bool(held))
        self.delete_runs_button.setEnabled(bool(runs) and not self.jobs.busy)
        self._offer_use(self.jobs.busy)  # (what is in use may have changed)

    def start_weights(self) -> Path | None:
        """The weights Start trains from: what the settings dialog's General page shows, also before OK
        (the page said "bundled on the General page" while that page showed another file, and Start
        trained from the bundled one), else Settings' weights (the dialog closed)."""
        dialog = self.window()
        chosen, edit = getattr(dialog, "weights_file", None), getattr(dialog, "weights_edit", None)
        if chosen is None or edit is None or not dialog.isVisible():
            return self.settings.weights_path()
        if not chosen.isChecked():
            return paths.default_weights()
        text = edit.text().strip()
        return Path(text).expanduser() if text else None

    def refresh_source(self) -> None:
        """Name the weights Start trains from (``start_weights``) and, on a CPU, how long a step takes."""
        weights = self.start_weights()
        if weights is None:
            self.source.setText("No weights: choose them on the General page")
        else:
            bundled = weights == paths.default_weights()
            gone = "" if weights.exists() else ", missing"
            name, details = weights_label(weights)
            self.source.setText(f"{name} ({'bundled' if bundled else 'chosen'} on the General page{gone})")
        self.source.setToolTip(details if weights else "")
        try:
            kind = resolve_device(self.settings.device).type
        except InpaintError:
            kind = None
        self.step_time = (kind, step_seconds(kind) if kind else None)
        self._offer_use(self.jobs.busy)
        self._say_duration()

    def _say_duration(self) -> None:
        """Beside Steps, how long that many take: from the last run on this kind of device, else on a
        CPU at least a minute a step. It said "On a CPU a step takes a minute or more: give tens"
        beside the 500 it starts at, and the sum (8 hours or more) was left to the user."""
        kind, seconds = self.step_time
        steps = self.steps.value()
        # (on a CPU the footage's reading and the scoring before the first step and after the last take
        # minutes of their own: 158 s and 120 s for three clips on 2 cores, a 2-step run 12 min in all
        # where the estimate said 2)
        besides = " + a few min to read and score the footage" if kind == "cpu" else ""
        if seconds is not None:
            self.steps_hint.setText(f"About {format_about(steps * seconds)[1:]} ({seconds:.3g} s a step in the last run"
                                    f"{' on this CPU' if kind == 'cpu' else ''}){besides}")
        elif kind == "cpu":
            advice = "; give tens" if steps > 100 else ""  # (beside 2 steps "give tens" read as "more")
            self.steps_hint.setText(f"On a CPU: {format_about(steps * 60)[1:]} or more{besides}{advice}")
        else:
            self.steps_hint.setText("")

    def _offer_use(self, busy: bool) -> None:
        """Use these weights: on for a run's weights that inpainting does not use yet (after a press it
        stayed on, pressable again to no effect, until the General page chooses other weights)."""
        used = self.output is not None and self.settings.weights_path() == self.output
        self.use_button.setEnabled(not busy and self.output is not None and not used)
        self.use_button.setToolTip("Inpainting uses these weights (General page)" if used else "")

    def showEvent(self, event) -> None:  # (the weights may have been changed on the General page)
        self.refresh_source()
        self.refresh_old_runs()
        for bar in self.bars:  # (how the last run ended is on this page: seen)
            bar.release()
        if self.untold is not None:  # (seen: the next start does not say it again)
            mark_said(self.untold[0])
            self.untold = None
        super().showEvent(event)

    def delete_old_runs(self) -> None:
        runs = self.old_runs()
        if not runs or self.jobs.busy:
            self.refresh_old_runs()
            return
        total = format_size(sum(r.size for r in runs))
        listed = [r.describe() for r in runs[:LISTED]] + [f"and {len(runs) - LISTED} more"] * (len(runs) > LISTED)
        text = "\n\n".join([f"Delete {total} of {len(runs)} old fine-tune run(s) in {runs_root()}?", "\n".join(listed),
                             "Kept: the weights in use, the run Continue carries on and a run in progress."])
        answer = QMessageBox.question(self, "Delete old runs", text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        confirmed = {r.folder for r in runs}  # (as listed; anything that became protected meanwhile stays)
        cleared, freed, failed = delete_runs([r for r in self.old_runs() if r.folder in confirmed])
        self.status.setText("\n".join([f"Deleted {cleared} old run(s), {format_size(freed)} freed."] + failed
                                      + self.held()))
        self.refresh_old_runs()

    def make_config(self):
        from app.core.train.trainer import TrainConfig

        weights = self.start_weights()
        if weights is None:
            raise InpaintError("Choose the weights to start from on the General page first.")
        require_weights_file(weights)
        folder = self.footage.text().strip()
        if not folder:
            raise InpaintError("Choose the footage to fine-tune on: a folder of clips (Folder…) or one video (Video…).")
        # (said before a run folder is made and the model loaded: the run failed seconds later, in
        # the command line's words, "pass videos or folders")
        where = Path(folder).expanduser()
        if not where.exists():
            raise InpaintError(f"{where} does not exist (moved, renamed, or on a drive not connected); choose the "
                               "footage with Folder… or Video….")
        if where.is_file() and where.suffix.lower() not in VIDEO_EXTS:
            raise InpaintError(f"{where.name} is not a video; choose one with Video…, or a folder of clips or of "
                               "frame images with Folder….")
        steps = self.steps.value()
        workdir = new_run_folder(_writable(runs_root()))
        # Validate on the same footage: the point of fine-tuning is to fit this footage.
        return TrainConfig(data=[folder], val_data=[folder], workdir=str(workdir), steps=steps, lr=self.lr.value(),
                           init_weights=str(weights), output=str(workdir / WEIGHTS_FILE),
                           device=self.settings.device, log_every=1, val_every=max(MIN_VAL_EVERY, steps // 20),
                           checkpoint_every=max(100, steps), checkpoint_seconds=CHECKPOINT_SECONDS,
                           val_frames=5, val_samples=0)

    def start(self) -> None:
        try:
            config = self.make_config()
        except InpaintError as exc:
            self.status.setText(str(exc))
            return
        self._submit(config, None, "Preparing footage and loading the model…")

    def resume(self) -> None:
        """Continue the last unfinished run from its checkpoint, up to the Steps field."""
        config = unfinished_run()
        if config is None:
            self.status.setText("No stopped run to continue; press Start.")
            return
        config.steps = self.steps.value()
        self._submit(config, "auto", f"Continuing the run in {config.workdir} from its last checkpoint…")
        self._replot(Path(config.workdir) / "metrics.jsonl")

    def _replot(self, metrics: Path) -> None:
        """The curves of the run so far, from its metrics.jsonl."""
        try:
            lines = metrics.read_text().splitlines()
        except OSError:
            return
        for line in lines:
            try:
                record = json.loads(line)
                self.plot.add(int(record["step"]), record)
            except (ValueError, KeyError, TypeError):
                continue  # (a line cut short by a kill)

    def _submit(self, config, resume, message: str) -> None:
        self.plot.clear(config.steps)
        self.output = None
        self.running = Path(config.workdir)
        self.reached = (0, config.steps)
        self.status.setText(message)
        self.untold = None
        self.stop_pressed = threading.Event()
        self.validated = False  # (a validation ran since the last PSNR drawn)
        for bar in self.bars:
            bar.cancel_button.setEnabled(True)
        self.jobs.submit("Fine-tune", finetune_job(config, resume, self.stop_pressed), kind="finetune")

    def stop(self) -> None:
        if self.jobs.busy:
            self._still()
            self.stop_button.setEnabled(False)  # (pressed: it stayed on, as if not taken, while the run stops)
            for bar in self.bars:  # (the main window's, also pressed there: it said the step and time left)
                bar.label.setText(STOPPING)
                bar.cancel_button.setEnabled(False)
            self.stop_pressed.set()  # (run.json: stopped by Stop, not by closing the window)
            self.jobs.cancel()
            self.status.setText("Stopping: the step under way is dropped; the last whole step is saved and "
                                "its weights written out…")

    def _progress(self, job, p) -> None:
        if job.cancel.cancelled:  # (reports still queued when Stop was pressed)
            return
        self._still()
        if p.stage == VALIDATING:
            self.validated = True
            self.status.setText(f"Validating at step {p.info.get('step', 0)}: clip {p.done + 1} of {p.total} "
                                f"({p.info.get('clip', '')})…")
            return
        if p.stage != "train":
            self.status.setText(f"Reading {p.stage} {p.done + 1} of {p.total} ({p.info.get('clip', '')}); "
                                "each clip is decoded once, later runs reuse it…")
            return
        # (each report carries the last validation's PSNR: drawn at every step, it made a staircase of
        # a score measured every few steps, and a jump at the end; the curve after Continue, read from
        # metrics.jsonl, had its points at the validations only)
        self.plot.add(p.done, p.info if self.validated else {k: v for k, v in p.info.items() if k != "val_psnr"})
        self.validated = self.validated and "val_psnr" not in p.info
        self.reached = (p.done, p.total)
        info = p.info
        parts = [f"Step {p.done}/{p.total}"]
        parts += [f"{label} {info[k]:.4g}" for k, label in (("loss", "loss"), ("d_loss", "D loss"),
                                                            ("val_psnr", "validation PSNR")) if k in info]
        if p.done >= p.total:
            parts.append("writing the weights…")  # (it said "ETA 0:00" meanwhile)
        elif "sec_per_step" in info:
            parts += [f"{info['sec_per_step']:.3g} s/step", f"ETA {format_seconds(info['eta'])}"]
        else:
            parts.append(f"ETA once step {p.done + 1} is done")  # ("after the first step" on a run continued at 1)
        self.status.setText(" · ".join(parts))
        if p.done < p.total:
            self.under_way = (self.status.text(), p.done + 1, monotonic(), bar_words(job, p))
            self.next_second = 1
            self._arm(self.under_way[2])

    def _arm(self, now: float) -> None:
        """The clock's tick at its next whole second since the step began (never before it)."""
        self.ticker.start_at(self.under_way[2] + self.next_second, now)

    def _tick(self, now: float) -> None:
        """The report of the last step, and the whole seconds the step under way has taken so far (by
        the clock's reading ``now``, at or after the second due), each shown once."""
        if self.under_way is None or not self.jobs.busy:
            self._still()
            return
        words, step, since, bar_text = self.under_way
        seconds = math.floor(now - since)
        if seconds >= self.next_second:  # (a tick over a second late, the event loop held: the clock catches up)
            clock = f"step {step} under way: {format_seconds(seconds)}"
            self.status.setText(f"{words} · {clock}")
            for bar in self.bars:  # (the main window's: "step 1 of 2…" stood still there for minutes, as if hung)
                if not bar.held:
                    bar.label.setText(f"{bar_text.removesuffix('…')}, {clock}")
            self.next_second = seconds + 1
        self._arm(now)

    def _still(self) -> None:
        self.ticker.stop()
        self.under_way = None

    def _finished(self, job, result) -> None:
        self._still()
        self.output = Path(result["output"]) if result.get("output") else None
        self.used = False
        psnr = f", validation PSNR {result['psnr']:.2f} dB" if result.get("psnr") else ""
        if result.get("stopped"):
            self.status.setText(f"Stopped at step {result['step']}{psnr}: the checkpoint of that step is kept "
                                f"(Continue carries on from it). Weights so far: {self.output}")
            said = (f"Fine-tune stopped at step {result['step']}{psnr}: its checkpoint is kept; "
                    "Settings > Fine-tune > Continue carries it on.")
            self._hold(f"Fine-tune stopped at step {result['step']}", said)
        else:
            self.status.setText(f"Finished at step {result['step']}{psnr}. Weights: {self.output}")
            said = (f"Fine-tune finished at step {result['step']}{psnr}: Settings > Fine-tune > "
                    "Use these weights inpaints with them.")
            self._hold(f"Fine-tune finished at step {result['step']}", said)
        self.message.emit(said)
        self._busy(False)

    def _failed(self, job, message: str) -> None:
        # (as a run that finished or was stopped: a message, and held in the status bar while the page
        # is out of sight, with a warning sign; no dialog breaking into other work)
        said = f"Fine-tune failed: {message}"
        self._ended(job, message)
        self._hold("Fine-tune failed", said, warn=True)
        self.warning.emit(said)

    def _cancelled(self, job) -> None:
        self._ended(job, "Stopped before the first step; nothing to keep.")
        self._hold("Fine-tune stopped before its first step", "Nothing of it is kept.")
        self.message.emit("Fine-tune stopped before its first step; nothing to keep.")

    def _ended(self, job, message: str) -> None:
        self._still()
        self.status.setText(message)

    def _use(self) -> None:
        if self.output is not None and not self.output.is_file():  # (deleted with the old runs, or by hand)
            self.status.setText(f"{self.output} is gone: start another run.")
            self.output = None
            self._busy(self.jobs.busy)
            return
        if self.output is not None:
            self.used = True
            self.settings.weights = str(self.output)
            self.status.setText(f"Inpainting now uses {self.output}.")
            self.useWeights.emit(str(self.output))
            self.refresh_source()
            self.refresh_old_runs()
