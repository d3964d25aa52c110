"""The main window: composes the widgets, menus and actions; holds no logic of its own."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMainWindow, QMessageBox, QTextBrowser, QToolBar, QVBoxLayout, QWidget
from shiboken6 import isValid

from app.core.errors import Cancelled, InpaintError, MaskError
from app.core.fsutil import sweep_orphans
from app.core.paths import user_data_dir
from app.core.video import IMAGE_EXTS, FrameFolderReader, export_notes, export_suffix, image_files

from .appsettings import AppSettings
from .canvas import MaskCanvas, ViewState, bind_canvas
from .controller import Controller
from .dialogs.export import ExportDialog
from .dialogs.finetune import FinetunePage
from .dialogs.settings import SettingsDialog
from .dialogs.text import text_dialog
from .frames import FrameLoader, ResultLoader, bind_frames
from .icons import icon
from .jobbar import JobBar
from .notice import Notice
from .preview import CompareArea, ResultView, bind_preview
from .project import PROJECT_SUFFIX, Autosaver, Project, delete_autosave, project_video
from .segment_tool import SegmentController
from .statusbar import MessageBar, MessageLog, StatusFields
from .timeline import Timeline, bind_timeline, frames_text
from .toolbars import CompactToolBars
from .tools import ToolPanel, clear_text

APP_TITLE = "STTN Inpaint"
VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.avi *.webm *.m4v);;All files (*)"
PROJECT_FILTER = f"Projects (*{PROJECT_SUFFIX})"
SPLIT_HINT = "Split slider: a click or drag moves the split; to edit the mask pick a tool (B, E, R, C) or press 2."
MOUSE_HELP = [("Zoom", "Mouse wheel"), ("Pan", "Middle drag, or Space + drag"),
              ("Click to select", "Click: object, right click or Alt+click: not object, drag: box, "
               "Shift+click: a new object beside the mask; Tab / Shift+Tab: next / previous candidate, "
               "Alt+1..9 or a click on its thumbnail over the picture: candidate 1..9, "
               "Enter: keep, Esc or Del: discard, Ctrl+Z: take back the latest click"),
              ("Move the split", "Drag in the result view (split mode)"),
              ("Dismiss the notice over the picture", "Esc (while no job runs), the first Esc where a selection is "
               "held (the next drops it) unless the notice says what Esc does; a click on it, or ×")]


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, autosave_ms: int = 60_000):
        super().__init__()
        self.settings = settings or AppSettings()
        self.project = Project(self)
        self.controller = Controller(self.project, self.settings, self)
        self.frames = FrameLoader(self)  # opening and decoding for display, off the GUI thread
        bind_frames(self.frames, self.project)
        self.result_loader = ResultLoader(self)  # the exact result frames, read off the GUI thread
        self.project.engine_settings = self.settings.engine()
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)

        view = ViewState(self)
        self.canvas = MaskCanvas(view)
        self.result_view = ResultView(view)
        self.compare = CompareArea(self.canvas, self.result_view)
        self.timeline = Timeline()
        self.tools = ToolPanel(self)
        bind_canvas(self.canvas, self.project, self.tools)
        bind_timeline(self.timeline, self.project)
        bind_preview(self.result_view, self.project, self.compare, self.result_loader, self.timeline)
        # a result is there to compare: show it beside the original, unless a compare mode is chosen
        self.controller.resultsReady.connect(
            lambda _: self.compare.mode == "original" and self.compare.set_mode("side"))
        self.canvas.spaceTapped.connect(self.timeline.toggle_play)
        # a mask tool picked in Split view, where the picture to edit is hidden and a click on the
        # result moves the split (a click on the object with Select did nothing else): Side by side
        self.tools.toolChanged.connect(lambda _: self.compare.mode == "split" and self.compare.set_mode("side"))
        # (and goes on leaving it: in Side by side it still said that a click moves the split)
        self.compare.modeChanged.connect(lambda mode: self.messages.revise(SPLIT_HINT, "") if mode != "split" else
                                         self.project.has_video and self.messages.show(SPLIT_HINT))
        self.tools.clearRequested.connect(self.clear_masks)
        self.result_view.spaceTapped.connect(self.timeline.toggle_play)  # (it has the keys once clicked)
        self.segment = SegmentController(self.canvas, self.project, self.tools, self.controller, self.settings,
                                         self.timeline, self)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.compare, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)

        self.finetune = FinetunePage(self.controller.training, self.settings)
        self.settings_dialog: SettingsDialog | None = None
        self.export_dialog: ExportDialog | None = None

        self.notice = Notice(self.compare)  # (over the top of the picture, where the user looks)
        self.segment.esc_above = self.notice.take_esc  # (Esc: the notice goes before a selection held)
        # a job started: a notice that refused the step before tells of a state gone ("No frame of the in/out
        # range has a mask" stayed over the picture for its 13 s while the Inpaint of the mask painted since
        # ran); one brought back by Ctrl+Shift+N, or under the pointer, stays until the user lets it go
        self.controller.engine.started.connect(lambda _: self.notice.timer.isActive() and self.notice.dismiss())
        self._make_actions()
        self._make_menus()
        self._make_toolbars()
        self.setStatusBar(MessageBar())  # (a message longer than its room ends in "…")
        self.job_bar = JobBar(self.controller.engine)
        self.statusBar().addPermanentWidget(self.job_bar)  # a message shown meanwhile leaves it (and Cancel) visible
        self.open_bar = JobBar(self.frames.opener)  # indexing a long video: progress and Cancel
        self.statusBar().addPermanentWidget(self.open_bar)
        self.messages = MessageLog(self.statusBar())
        self.statusBar().warningClicked.connect(self.show_messages)  # (a warning clicked: it whole, and what came with it)
        self.frames.failed.connect(self.messages.warn)
        # (as at open: damage met scrubbing, or by the click tool's read of a frame not shown yet)
        self.project.damageMet.connect(self.messages.warn)
        self.finetune_bar = self.finetune.job_bar()  # a run under way, also while Settings is closed
        self.statusBar().addPermanentWidget(self.finetune_bar)
        self.finetune_bar.clicked.connect(self.show_finetune)
        self.finetune.message.connect(self.messages.show)
        self.finetune.warning.connect(self.messages.warn)
        self.status = StatusFields(self.statusBar(), self.settings,
                                   fill=lambda: self.project.engine_settings.get("fill", "auto"))
        self.project.settingsChanged.connect(self.status.refresh)  # (a fill that uses no weights says so)
        self.finetune.useWeights.connect(lambda _: self.status.refresh())
        self.finetune.useWeights.connect(lambda _: self.project.resultChanged.emit())  # (other weights: out of date)

        self.controller.error.connect(self.show_error)
        self.controller.refused.connect(self.refuse)
        self.controller.message.connect(self.messages.show)
        self.controller.warning.connect(self.messages.warn)
        self.controller.revise.connect(self.messages.revise)
        self.controller.engine.busyChanged.connect(self._busy)
        self.project.dirtyChanged.connect(lambda _: self._title())
        self.project.pathChanged.connect(lambda _: self._title())
        self.project.videoChanged.connect(self._video_opened)
        self.autosaver = Autosaver(self.project, user_data_dir() / "autosave", autosave_ms, self)
        self.autosaver.failed.connect(self.messages.warn)  # (written on a thread: never a dialog mid-edit)
        # saved, reopened, undone back to the saved state or its changes discarded: nothing to recover
        self._recovering = False  # (offer_recovery: the autosave being loaded stays meanwhile)
        self.project.dirtyChanged.connect(lambda dirty: dirty or self._recovering or self.autosaver.discard())
        self._busy(False)
        self._keys_to_canvas()
        self._video_opened()
        self.controller.trim_cache()  # results left by a crashed session, clips beyond the limit
        screen = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        self.resize(min(1280, int(screen.width() * 0.92)), min(820, int(screen.height() * 0.9)))  # (a 768 screen)
        if self.settings.geometry() is not None:
            self.restoreGeometry(self.settings.geometry())

    # --- actions and menus -------------------------------------------------------
    def _act(self, text, slot, shortcut=None, icon_name=None, tip=None) -> QAction:
        a = QAction(icon(icon_name) if icon_name else QIcon(), text, self)
        tip = tip or text.replace("&", "").rstrip("…")
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
            tip += f" ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
        a.setToolTip(tip)
        a.triggered.connect(slot)
        return a

    def _make_actions(self) -> None:
        self.open_action = self._act("&Open video…", self.open_dialog, QKeySequence.StandardKey.Open, "open")
        self.open_project_action = self._act("Open &project…", self.open_project_dialog, "Ctrl+Shift+O")
        self.save_action = self._act("&Save project", self.save, QKeySequence.StandardKey.Save, "save")
        self.save_as_action = self._act("Save project &as…", self.save_as, "Ctrl+Shift+S")
        self.import_masks_action = self._act("&Import mask image or video…", self.import_masks, None, "import-mask",
                                             "One image for every frame (a watermark), or a mask video")
        self.import_folder_action = self._act("Import mask &folder…", self.import_mask_folder, None, None,
                                              "A folder of per-frame mask images, in the order of the numbers in their names (frame_2 before frame_10)")
        self.export_masks_action = self._act("Export masks as &PNGs…", self.export_masks, None, "export-mask")
        self.export_action = self._act("&Export video…", self.export_dialog_show, "Ctrl+E", "export")
        self.quit_action = self._act("&Quit", self.close, QKeySequence.StandardKey.Quit)
        # (not the stack's createUndoAction: Undo and Redo wait while Track runs, and a selection
        # held takes them, see _undo_redo)
        stack = self.project.undo
        self.undo_action = self._act("&Undo", lambda: self._undo_redo(redo=False), "Ctrl+Z", "undo")
        self.redo_action = self._act("&Redo", lambda: self._undo_redo(redo=True), "Ctrl+Shift+Z", "redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for signal in (stack.canUndoChanged, stack.canRedoChanged, stack.undoTextChanged, stack.redoTextChanged,
                       self.controller.engine.busyChanged, self.segment.selectionChanged):
            signal.connect(lambda *_: self._undo_state())
        self._undo_state()
        self.settings_action = self._act("&Settings…", self.show_settings, "Ctrl+,", "settings")
        self.inpaint_action = self._act("&Inpaint range", self.inpaint, "Ctrl+Return", "inpaint",
                                        "Inpaint the frames between the in and out points")
        self.inpaint_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])  # (keypad too)
        self.preview_action = self._act("&Preview this frame", self.preview, "Ctrl+P", "preview",
                                        "Inpaint only the current frame, for a quick look")
        self.cancel_action = self._act("&Cancel job", self.controller.cancel, "Esc", "cancel")
        self.fit_action = self._act("&Fit to window", self.canvas.state.fit, "F")
        self.zoom1_action = self._act("Actual &pixels", lambda: self.canvas.zoom_at(
            1 / self.canvas.scale(), self.canvas.rect().center().toPointF()), "Ctrl+0")
        self.shortcuts_action = self._act("&Keyboard and mouse…", self.show_shortcuts, "F1")
        self.messages_action = self._act("Recent &messages…", self.show_messages, "Ctrl+Shift+M")
        self.about_action = self._act("&About", self.show_about)

    def _make_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.open_action, self.open_project_action])
        self.recent_menu = m.addMenu("Open &recent")
        self._fill_recent()
        m.addSeparator()
        m.addActions([self.save_action, self.save_as_action])
        m.addSeparator()
        m.addActions([self.import_masks_action, self.import_folder_action, self.export_masks_action,
                      self.export_action])
        m.addSeparator()
        m.addAction(self.quit_action)
        m = mb.addMenu("&Edit")
        m.addActions([self.undo_action, self.redo_action])
        m.addSeparator()
        m.addAction(self.settings_action)
        m = mb.addMenu("&Mask")
        m.addActions(self.tools.tool_actions())
        m.addActions(self.tools.size_actions)
        m.addAction(self.tools.clear_action)
        m.addSeparator()  # (also in File: a mask made in another program is looked for here too)
        m.addActions([self.import_masks_action, self.import_folder_action, self.export_masks_action])
        m.addSeparator()
        m.addActions([self.segment.commit_action, self.segment.track_action, self.segment.next_flag_action,
                      self.segment.prev_flag_action])
        m = mb.addMenu("&View")
        m.addActions(list(self.compare.mode_actions.values()))
        m.addSeparator()
        m.addActions([self.fit_action, self.zoom1_action])
        m = mb.addMenu("&Playback")
        m.addActions(self.timeline.actions_for_menu())
        m = mb.addMenu("&Inpaint")
        m.addActions([self.inpaint_action, self.preview_action, self.cancel_action])
        m = mb.addMenu("&Help")
        m.addActions([self.shortcuts_action, self.messages_action, self.notice.last_action, self.about_action])

    def _make_toolbars(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("MainToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.setMovable(False)
        for a in (self.open_action, self.save_action, self.export_action):
            bar.addAction(a)
        bar.addSeparator()
        bar.addActions([self.undo_action, self.redo_action])
        bar.addSeparator()
        bar.addActions([self.inpaint_action, self.preview_action, self.cancel_action])
        bar.addSeparator()
        bar.addActions(list(self.compare.mode_actions.values()))
        bar.addSeparator()
        bar.addAction(self.settings_action)
        self.addToolBar(bar)
        self.addToolBarBreak()
        self.tools.setMovable(False)
        self.addToolBar(self.tools)
        for a in (self.undo_action, self.redo_action, *self.compare.mode_actions.values()):
            bar.widgetForAction(a).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.compact_bars = CompactToolBars(self, [bar, self.tools])  # (all in sight in a narrow window)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent():
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_path(p)).setToolTip(path)
        self.recent_menu.setEnabled(bool(self.settings.recent()))

    def _busy(self, busy: bool) -> None:
        has_video = self.project.has_video
        for a in (self.inpaint_action, self.preview_action, self.export_action):
            a.setEnabled(has_video and not busy)
        self.cancel_action.setEnabled(busy)

    def _tracking(self) -> bool:
        job = self.controller.engine.current
        return job is not None and job.data.get("kind") == "track"

    def _undo_redo(self, redo: bool) -> None:
        """Undo or Redo (the menu, the tool bar or a shortcut anywhere in the window). With the click
        tool's selection held, Undo takes back its latest click or box and Redo waits
        (``SegmentController.undo_input``, ``redo_input``): undoing a mask edit under it (say the
        commit of the object before) was made final by the Enter that followed. Else they wait
        while Track runs: its frames land as one step on top of the stack when it ends, from the
        masks it started with, so an undo meanwhile came back (an undone selection tracked onto
        every frame) and could not be redone (the landing step cleared the redo). A message that said
        what Ctrl+Z would undo says it is undone: "… is now the mask of every frame; Ctrl+Z undoes it."
        stayed its 8 s after the import it told of was undone."""
        if self.segment.holds_selection():
            (self.segment.redo_input if redo else self.segment.undo_input)()
            return
        if self._tracking():
            self.messages.show("Undo and Redo wait until Track ends: Esc stops it (the frames tracked so far are "
                               "kept, and one Ctrl+Z then takes them away).", 10000)
            return
        stack, said = self.project.undo, self.statusBar().currentMessage()
        step = stack.redoText() if redo else stack.undoText()
        (stack.redo if redo else stack.undo)()
        if "Ctrl+Z" in said and step and not redo:  # (it told of a step, "…; Ctrl+Z undoes it.", now undone)
            self.messages.revise(said, f"Undone: {step} (Ctrl+Shift+Z redoes it).")

    def _undo_state(self) -> None:
        """The actions name the step (as the stack's own would; Undo names the click while a
        selection is held, and is on then with an empty stack too); they stay enabled while Track
        runs, so that Ctrl+Z then says why it waits."""
        stack = self.project.undo
        if not (isValid(stack) and isValid(self.undo_action) and isValid(self.redo_action)):
            return  # (the stack tells as the window is being destroyed)
        waits, held = self._tracking(), self.segment.holds_selection()
        for action, name, can, text in ((self.undo_action, "Undo", stack.canUndo() or held,
                                         "click" if held else stack.undoText()),
                                        (self.redo_action, "Redo", stack.canRedo(), stack.redoText())):
            action.setEnabled(can)
            action.setText(f"&{name} {text}".rstrip())
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            wait = ("the selection is kept or dropped" if held else "Track ends" if waits else "") if name == "Redo" \
                else "Track ends" if waits and not held else ""
            action.setToolTip(f"{name} {text}".rstrip() + f" ({keys})" + (f": waits until {wait}" if wait else ""))

    def _keys_to_canvas(self) -> None:
        """The single-key shortcuts (Space, Left/Right, B/E/R, 1/2/3, I/O) work where the focus is not
        in a text field: the Size box had it when the window opened, so they did nothing and "3"
        (Split view) was typed into the brush size. The picture has it from the start; the tool
        bar's fields give it back when a value is entered (Enter) or picked from the list."""
        back = self.canvas.setFocus
        for spin in (self.tools.size_spin, self.segment.dilate_spin):
            spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # (wheel and arrows work without focus)
            spin.editingFinished.connect(lambda s=spin: s.hasFocus() and back())  # (not when focus moved on)
        self.tools.scope_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.tools.scope_box.activated.connect(lambda _: back())
        self.tools.opacity.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        back()

    def _video_opened(self) -> None:
        has_video = self.project.has_video
        if has_video:
            self.canvas.setFocus()  # (the Open dialog, or the button that opened it, had it)
        for a in (self.save_action, self.save_as_action, self.import_masks_action, self.import_folder_action,
                  self.export_masks_action, self.tools.clear_action,  # (Clear looked ready with no video)
                  self.inpaint_action, self.preview_action, self.export_action, *self.tools.tool_actions()):
            a.setEnabled(has_video)
        # (with nothing to paint on, the tools, the brush size, Apply to and Grow looked ready)
        for w in (self.tools.size_spin, self.tools.opacity, self.tools.scope_box, self.segment.dilate_spin):
            w.setEnabled(has_video)
        self._title()

    def _title(self) -> None:
        p = self.project
        name = (p.path.stem if p.path else p.video_path.name) if p.has_video else ""
        self.setWindowTitle(f"{name}{'*' if p.dirty else ''} — {APP_TITLE}" if name else APP_TITLE)

    # --- inpainting ------------------------------------------------------------------
    def _selection_kept(self, then: str) -> bool:
        """False, said in a notice, while the click tool's selection is on screen but not kept: the run
        would leave it out (it said "No frame in the range has a mask; paint what should go first" to
        someone looking at the object selected in cyan)."""
        unkept = self.segment.unkept_text(then)
        if unkept and self.project.has_video and not self.controller.engine.busy:
            self.refuse(unkept)
            return False
        return True

    def inpaint(self):
        """Inpaint range (Ctrl+Enter). An object selected and kept on its keyframes but not tracked
        would go from those frames only: asked first whether to track it."""
        if not self._selection_kept("Inpaint"):
            return None
        untracked = self._untracked_text("Inpaint")
        if untracked and not self.controller.engine.busy:
            choice = self._ask(untracked + " Track it through the range first (Ctrl+T)?",
                               "Inpaint anyway", "Track first", "Cancel")
            if choice == 1:
                self.segment.track(then="Inpaint range (Ctrl+Enter)")
            if choice != 0:
                return None
        lone = self._lone_mask()
        if lone is not None and not untracked and not self.controller.engine.busy:
            choice = self._ask(self._lone_text("Inpaint") + " Put this mask on every frame of the range first?",
                               "Inpaint anyway", "Every frame, then Inpaint", "Cancel")
            if choice == 2:
                return None
            if choice == 1:
                p = self.project
                p.apply_delta(range(p.start, p.end), p.masks.get(lone), None, f"Mask of frame {lone} on every frame")
                job = self.controller.inpaint()
                # (said after the start: said before, the job bar's clear of the step before's hint as the run
                # started wiped it at once, and the user never read that the mask went on every frame)
                self.messages.show(f"The mask of frame {lone} is now on every frame of {p.start}..{p.end - 1} "
                                   "as well as theirs; Ctrl+Z undoes it.", 8000)
                return job
        return self.controller.inpaint()

    def _lone_mask(self) -> int | None:
        """The one frame of a longer in/out range that has a mask, when only one has; else None."""
        p = self.project
        masked = [i for i in p.masks.masked_frames() if p.start <= i < p.end] if p.has_video else []
        return masked[0] if len(masked) == 1 and p.end - p.start > 1 else None

    def _lone_text(self, what: str) -> str:
        """What ``what`` (Inpaint, Export) does with a mask painted on one frame of the range alone: a
        watermark painted with Apply to on This frame was inpainted on that frame, and no word said
        that the other frames kept it. "" when there is no such mask (``_lone_mask``)."""
        p, lone = self.project, self._lone_mask()
        if lone is None:
            return ""
        return (f"Only frame {lone} of the in/out range ({p.start}..{p.end - 1}) has a mask: {what} would leave the "
                f"other {p.end - p.start - 1} frames as they are (a watermark that stays put wants its mask on every "
                "frame: Apply to 'Every frame in range').")

    def _untracked_text(self, what: str) -> str:
        """What ``what`` (Inpaint, Export) does to an object kept on its keyframes only (``untracked``);
        "" when there is none."""
        p, keys = self.project, self.segment.untracked()
        if not keys:
            return ""
        which = f"frame {keys[0]} has" if len(keys) == 1 else f"{frames_text(keys)} have"
        return (f"Only {which} a mask in the in/out range ({p.start}..{p.end - 1}): the object selected there is not "
                f"tracked, so {what} would leave it on the other {p.end - p.start - len(keys)} frames.")

    def preview(self):
        """Preview this frame (Ctrl+P), not while a selection is held but not kept."""
        return self.controller.preview() if self._selection_kept("Preview this frame") else None

    # --- files ---------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """Something failed (a job, a file that cannot be read or written): a dialog."""
        QMessageBox.critical(self, APP_TITLE, message)

    def refuse(self, message: str) -> None:
        """A command refused where nothing is to be decided (no mask on this frame, a job still
        running, a selection not kept, a recent file gone, a mask file or folder refused), with what
        to do: a notice over the picture that goes by itself, kept in Help > Recent messages. It was
        an error dialog that had to be dismissed first, for a mistake or a wait."""
        self.notice.show_text(message)
        self.messages.note(message)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", self.settings.last_dir,
                                              f"{VIDEO_FILTER};;{PROJECT_FILTER}")
        if path:
            self.open_path(path)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self.settings.last_dir, PROJECT_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path) -> bool:
        """Open a video, a frame folder or a project file. A file that cannot be opened (not a video,
        cut short, a damaged project) is refused in the notice, kept in Help > Recent messages: an
        error dialog to dismiss said it, with nothing to decide. What was open stays open."""
        path = Path(path)
        if self.controller.engine.busy:
            self.refuse(f"{self.controller.engine.current.name} is still running on this video; "
                        "wait for it or cancel it (Esc) first.")
            return False
        if self.frames.opening:
            return False
        if not path.exists():  # (asked first whether to save the open project, the answer was wasted)
            gone = str(path.resolve()) in self.settings.recent()
            if gone:
                self.settings.remove_recent(path)
                self._fill_recent()
            self.refuse(f"{path} is not there (moved, renamed or deleted)"
                        + ("; it is taken off File > Open recent." if gone else "; check the path."))
            return False
        video = self._project_video(path) if path.suffix == PROJECT_SUFFIX else None
        if video is False or not self.maybe_save():
            return False
        # Indexing runs on a worker; the window stays live meanwhile, with opening disabled, and the jobs
        # (a job of the video open now would land on the new one; the controller refuses them too).
        blocked = [a for a in (self.open_action, self.open_project_action, self.recent_menu.menuAction(),
                               self.inpaint_action, self.preview_action, self.export_action) if a.isEnabled()]
        for a in blocked:
            a.setEnabled(False)
        try:
            if path.suffix == PROJECT_SUFFIX:
                self._load_project(path, video, self.frames.open)
            else:
                self.project.open_video(path, opener=self.frames.open)
                self.project.engine_settings = self.settings.engine()
                self.project.settingsChanged.emit()  # (the tool bar's Grow box shows the new video's value)
        except Cancelled:
            self.messages.show(f"Opening {path.name} cancelled.", 5000)
            return False
        except InpaintError as exc:
            self.refuse(str(exc))
            return False
        finally:
            for a in blocked:
                a.setEnabled(True)
        self.settings.last_dir = str(path.parent)
        self.settings.add_recent(path)
        self._fill_recent()
        self.messages.show(f"Opened {path.name}: {self.project.n_frames} frames, "
                                     f"{self.project.reader.width}x{self.project.reader.height}, "
                                     f"{self.project.fps:.3g} fps", 8000)
        notice = getattr(self.project.reader, "notice", None)
        for note in [*self.project.load_notes, *([notice] if notice else [])]:
            self.messages.warn(note)  # (a cut-off download: say so now, not after an hour of work on it)
        return True

    def _load_project(self, path: Path, video, opener=None) -> None:
        """``Project.load``, asking first where the video is shorter than the masks reach: open it
        anyway, choose another video (asked again), or cancel (raises Cancelled: nothing changed)."""
        while True:
            choice = []

            def confirm(line: str) -> bool:
                choice.append(self._ask(f"{line} Open it anyway? Those masks are dropped when you save; until then "
                                        "nothing is lost.", "Open anyway", "Choose another video…", "Cancel"))
                return choice[-1] == 0

            try:
                return self.project.load(path, opener=opener, video=video, confirm=confirm)
            except Cancelled:
                if choice != [1]:
                    raise
            video = self._locate(path, project_video(path))
            if video is None:
                raise Cancelled(f"Opening {path.name} cancelled; nothing changed.")

    def _ask(self, text: str, *choices: str) -> int:
        """A question with a button for each of ``choices``: the index of the one pressed (the last,
        Cancel, for Esc or a closed box; the second is the default)."""
        box = QMessageBox(QMessageBox.Icon.Question, APP_TITLE, text, parent=self)
        buttons = [box.addButton(c, QMessageBox.ButtonRole.AcceptRole if i < len(choices) - 1
                                 else QMessageBox.ButtonRole.RejectRole) for i, c in enumerate(choices)]
        box.setDefaultButton(buttons[min(1, len(buttons) - 1)])
        box.setEscapeButton(buttons[-1])
        box.exec()
        return buttons.index(box.clickedButton()) if box.clickedButton() in buttons else len(buttons) - 1

    def _project_video(self, path: Path):
        """For project ``path``: None to open the video it names; when that video is gone (moved,
        renamed, deleted), the one the user locates in its place; False when the project cannot be
        opened (not a project, or no video located; the user was told)."""
        try:
            video = project_video(path)
        except InpaintError as exc:  # (not a project, damaged, newer: refused as open_path's are)
            self.refuse(str(exc))
            return False
        if video.exists():
            return None
        answer = QMessageBox.question(self, APP_TITLE, f"The video of {path.name}, {video}, is not there (moved, "
                                      "renamed or deleted). Locate it? The masks are kept.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        located = self._locate(path, video) if answer == QMessageBox.StandardButton.Yes else None
        if located is None:
            self.messages.show(f"{path.name} not opened: its video {video} is missing.", 10000)
            return False
        return located

    def _locate(self, path: Path, video: Path) -> Path | None:
        """The file (or frame folder) the user picks for project ``path``'s video ``video``; None
        when they cancel."""
        start = str(video.parent if video.parent.is_dir() else path.parent)
        located = (QFileDialog.getExistingDirectory(self, f"Locate the frame folder {video.name}", start)
                   if not video.suffix else
                   QFileDialog.getOpenFileName(self, f"Locate {video.name}", start, VIDEO_FILTER)[0])
        return Path(located) if located else None

    def save(self) -> bool:
        return self.save_as() if self.project.path is None else self._save_to(self.project.path)

    def save_as(self) -> bool:
        p = self.project  # (where it was saved, or the work recovered was; else beside the video)
        start = str(p.path or p.origin or p.video_path.with_suffix(PROJECT_SUFFIX)) if p.video_path else ""
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        return bool(path) and self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            saved = self.project.save(path)
        except InpaintError as exc:
            self.show_error(str(exc))
            return False
        self.settings.add_recent(saved)
        self._fill_recent()
        self.messages.show(f"Saved {saved}", 5000)
        return True

    def clear_masks(self, scope: str) -> None:
        """Mask > Clear mask (Del) on the frames of Apply to, said in the status bar: it said nothing,
        and with Every frame in range a press took the masks of frames out of sight."""
        frames = self.project.scope_frames(scope)
        self.messages.show(clear_text(scope, frames, self.project.clear_masks(scope)), 8000)

    def import_masks(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import mask image or mask video", self.settings.last_dir,
                                              "Masks (*.png *.jpg *.bmp *.tif *.mp4 *.avi *.mkv);;All files (*)")
        self._import(path)

    def import_mask_folder(self) -> None:
        self._import(QFileDialog.getExistingDirectory(self, "Import a folder of per-frame masks", self.settings.last_dir))

    def _import(self, path: str) -> bool:
        """Read the masks on the "open" worker (``_on_opener``), then replace the project's masks
        with them as one undo step. Returns whether they were."""
        if not path or self.frames.opening:
            return False
        name = Path(path).name
        had = bool(self.project.masks.masked_frames())
        try:
            scaled_from = self.project.import_masks(path, reader=lambda job: self._on_opener(f"Importing {name}", job))
        except Cancelled:
            self.messages.show(f"Importing masks from {name} cancelled; the masks are as they were.", 5000)
        except MaskError as exc:  # (a mask refused, with what to do: inverted, of another size, a gap)
            self.refuse(str(exc))
        except InpaintError as exc:
            self.show_error(str(exc))
        else:  # (the menu's import said nothing: only the marks on the timeline told it had worked)
            image = Path(path).is_file() and Path(path).suffix.lower() in IMAGE_EXTS
            # (a mask of another size, of the video's shape, was scaled without a word)
            scaled = (f", scaled from {scaled_from[0]}x{scaled_from[1]} to the video's "
                      f"{self.project.masks.width}x{self.project.masks.height}," if scaled_from else "")
            self.messages.show((f"{name}{scaled} is now the mask of every frame" if image
                                else f"Imported the masks of {name}{scaled}")
                               + (" in place of the masks there were" if had else "") + "; Ctrl+Z undoes it.", 8000)
            return True
        return False

    def _on_opener(self, name: str, job):
        """``job``'s result, run on the "open" worker: the job bar shows progress and Cancel and the
        window stays live, with the actions that would start another job there disabled meanwhile.
        A mask or folder refused there raises its ``MaskError`` here (the worker passes an error on
        as words alone), to be said as a refusal."""
        blocked = [a for a in (self.open_action, self.open_project_action, self.recent_menu.menuAction(),
                               self.import_masks_action, self.import_folder_action, self.export_masks_action)
                   if a.isEnabled()]
        for a in blocked:
            a.setEnabled(False)
        try:
            outcome = self.frames.opener.call(name, lambda *args: _refusal_kept(job, *args))
        finally:
            for a in blocked:
                a.setEnabled(True)
        if isinstance(outcome, MaskError):
            raise outcome
        return outcome

    def export_masks(self) -> None:
        """Write the masks as PNGs into an empty folder on the "open" worker (3,000 tracked 1080p
        masks take half a minute: the window stays live, with progress and Cancel)."""
        if self.frames.opening:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export masks to an empty folder", self.settings.last_dir)
        if not folder:
            return
        store = self.project.masks_snapshot()  # (the masks as they are now: painting goes on meanwhile)
        try:
            paths = self._on_opener("Exporting masks", lambda host, progress, cancel: store.save_pngs(
                folder, progress=progress, cancel=cancel))
        except Cancelled:
            self.messages.show(f"Exporting masks cancelled; {folder} holds those of the first frames only.", 8000)
            return
        except MaskError as exc:  # (a folder refused, with what to do: one that holds images, or read-only)
            self.refuse(str(exc))
            return
        except InpaintError as exc:
            self.show_error(str(exc))
            return
        self.messages.show(f"Wrote {len(paths)} mask PNGs to {folder}", 5000)

    def maybe_stop(self) -> bool:
        """True if no job runs, or the user agrees to stop the running ones (closing the window)."""
        if not (self.controller.engine.busy or self.controller.training.busy):
            return True
        with self.finetune.kept_current(self, self._stop_question) as text:  # (a run's step goes on meanwhile)
            answer = QMessageBox.question(self, APP_TITLE, text,
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _stop_question(self) -> str:
        c = self.controller
        running = [j.current.name for j in (c.engine, c.training) if j.busy]
        if not running:
            return "Nothing is running any more. Close the window?"
        what = " and ".join(running)
        note = self.finetune.closing_note() + " " if c.training.busy else ""
        return f"{what} {'is' if len(running) == 1 else 'are'} still running. {note}Stop and close the window?"

    def maybe_save(self) -> bool:
        """True if it is fine to drop the current project (saved, discarded, or unchanged)."""
        if not self.project.dirty:
            return True
        answer = QMessageBox.question(self, APP_TITLE, "Save the changes to this project first?",
                                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                      | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def offer_recovery(self) -> bool:
        """After a crash the autosave is still there: offer to reopen it (the newest, where several
        sessions crashed; another one running keeps its own). No keeps it for the next start. What a
        session killed mid-write left half-written (an export, a save, an autosave) is deleted first."""
        sweep_orphans()
        orphans = self.autosaver.orphans()
        if not orphans:
            return False
        (path, lock), others = orphans[0], orphans[1:]
        for _, other in others:
            other.unlock()  # (offered at the next start)
        recovered = False
        try:
            recovered = self._recover(path)
        finally:
            if recovered:
                self.autosaver.adopt(path, lock)  # (its later autosaves replace this one; a save deletes it)
            else:
                lock.unlock()  # (another session may recover it, or this one at its next start)
        if recovered:
            self.project.path = None  # recovered work still needs a real save
            self.project.mark_dirty()
            self.autosaver.save_now()  # (written again as recovered: the video located, masks past its end kept)
            self._title()
            for note in self.project.load_notes:
                self.messages.warn(note)
        return recovered

    def _recover(self, path: Path) -> bool:
        """Ask whether to recover autosave ``path``, and load it if so: whether it was."""
        answer = QMessageBox.question(self, APP_TITLE, "The last session ended without saving. Recover its work (all "
                                      "but its last few seconds)? No keeps it for the next start; Discard deletes it.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
                                      | QMessageBox.StandardButton.Discard)
        if answer == QMessageBox.StandardButton.Discard:
            delete_autosave(path)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        video = self._project_video(path)
        if video is False:
            return False  # (the autosave stays: the next start offers it again)
        self._recovering = True  # (loading makes the project clean for a moment: the file stays)
        try:
            self._load_project(path, video)
        except Cancelled:
            self.messages.show("Recovery cancelled; the autosave is kept, and the next start offers it again.", 10000)
            return False
        except InpaintError as exc:
            self.show_error(str(exc))
            return False
        finally:
            self._recovering = False
        return True

    # --- dialogs -----------------------------------------------------------------------
    def export_dialog_show(self) -> ExportDialog | None:
        p = self.project
        if not p.has_video:
            return None
        old = self.export_dialog if self.export_dialog is not None and isValid(self.export_dialog) else None
        if old is not None and old.running:
            old.raise_()  # (a second one would follow the same job and offer Export again)
            old.activateWindow()
            return old
        if old is not None:
            old.close()  # one at a time, made anew: its path and summary are for this video and range
        full_res = bool(self.controller.engine_config().crop_to_mask)  # (Settings > Engine > Crop around mask)
        suffix = export_suffix(p.video_path)  # (.mov for a camera's PCM sound, which it keeps as it is)
        d = ExportDialog(p.video_path.with_name(p.video_path.stem + "_inpainted" + suffix), self.settings.crf,
                         self.settings.keep_audio, bool(p.reader.has_audio), self.export_summary(full_res), self,
                         preset=self.settings.preset, full_res=full_res, copy_unchanged=self.settings.copy_unchanged,
                         source=p.video_path, summarize=self.export_summary,
                         can_copy=not isinstance(p.reader, FrameFolderReader))
        for changed in (d.full_res.toggled, p.rangeChanged, p.masksChanged, p.settingsChanged, p.resultChanged,
                        self.segment.selectionChanged):
            changed.connect(d.refresh_summary)
        p.videoChanged.connect(d.video_changed)

        def requested(options):
            unkept = self.segment.unkept_text("Export")
            if unkept:  # (said in the dialog's line, as a path it cannot write is)
                d.status.setText(unkept)
                return
            self.settings.crf = options.crf
            if p.reader.has_audio:  # (a silent clip's greyed-out box says nothing about the next clip)
                self.settings.keep_audio = options.keep_audio
            self.settings.preset = options.preset
            if d.copy_unchanged.isEnabled():  # (a frame folder's greyed-out box says nothing of the next video)
                self.settings.copy_unchanged = options.copy_unchanged
            if self.controller.export(options) is not None:
                d.job_started()

        d.exportRequested.connect(requested)
        d.cancelRequested.connect(self.controller.cancel)
        d.follow(self.controller.engine)
        d.finished.connect(d.deleteLater)
        self.export_dialog = d
        d.show()
        return d

    def export_summary(self, full_res: bool) -> str:
        """What Export will do with these options: re-encode the computed result, or inpaint (all of the
        range, or the frames whose result cannot be kept), and why; first, a selection not kept yet
        (Export waits for it), or an object kept on its keyframes only and not tracked."""
        first = self.segment.unkept_text("Export") or self._untracked_text("Export") or self._lone_text("Export")
        return (first + " " if first else "") + self._export_plan(full_res)

    def _export_plan(self, full_res: bool) -> str:
        p, r = self.project, self.project.results
        config = self.controller.engine_config(crop_to_mask=full_res)
        text = f"Frames {p.start}..{p.end - 1} are inpainted, the others copied. "
        # (a range narrowed to try Inpaint on a few frames exported the object gone there, back after)
        outside = [i for i in p.masks.masked_frames() if not p.start <= i < p.end]
        none = all(p.masks.is_empty(i) for i in range(p.start, p.end))
        notes = "".join(" " + note for note in ([outside_text(outside, too=not none)] if outside else [])
                        + export_notes(p.reader))
        if none:
            return (f"No frame of {p.start}..{p.end - 1} has a mask: the export is the video as it is"
                    + ("." if outside else "; paint what should go first.") + notes)
        plan = self.controller.plan(config)
        if not plan.todo:
            return text + "The computed result is re-encoded." + notes
        why = ("nothing is inpainted yet" if not any(i in r for i in range(p.start, p.end)) else
               "masks, settings, weights or device changed since the result shown"
               if p.results_outdated(p.start, p.end) else
               "the result shown does not cover the range" if not r.covers(p.start, p.end) else
               "part of the result shown comes from Preview frame, or from an Inpaint over another range"
               if not all(self.controller.whole_run(m) for m in r.made_in(p.start, p.end)) else
               "the result shown was computed with the other paste-back setting"
               if any(m.config.get("crop_to_mask") != full_res for m in r.made_in(p.start, p.end)) else
               "the result shown was computed with other settings")
        if plan.partial:  # (the frames kept are current, so what is said of the range is said of the others)
            return (text + f"Inpainting runs during the export for {len(plan.todo)} of the {p.end - p.start} frames "
                    f"({why}); the others are taken from the computed result." + notes)
        return text + f"Inpainting runs during the export ({why})." + notes

    def show_settings(self) -> SettingsDialog:
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self.settings, self.project.engine_settings, self.finetune, self,
                                                  controller=self.controller)
            self.settings_dialog.engineChanged.connect(self.project.set_engine_settings)
            self.settings_dialog.accepted.connect(self.status.refresh)
            self.settings_dialog.accepted.connect(self.project.resultChanged.emit)  # (weights or device changed)
        else:
            self.settings_dialog.load_general()
            self.settings_dialog.set_engine_values(self.project.engine_settings)
        self.settings_dialog.show()
        return self.settings_dialog

    def show_finetune(self) -> SettingsDialog:
        dialog = self.show_settings()
        dialog.tabs.setCurrentWidget(self.finetune)
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def shortcuts_dialog(self) -> QDialog:
        """Help > Keyboard and mouse: every menu shortcut and the mouse help, scrollable, at most
        85 % of the screen (the list is taller than a 768-line laptop screen)."""
        fixed = {self.undo_action: "Undo", self.redo_action: "Redo"}  # (their text names the step)
        rows = []
        for menu_action in self.menuBar().actions():
            for a in menu_action.menu().actions():
                keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts())
                if keys:
                    rows.append((fixed.get(a, a.text().replace("&", "")), keys))
        rows += MOUSE_HELP
        view = QTextBrowser()
        view.setHtml("<table cellspacing=4>" + "".join(f"<tr><td>{t}</td><td><b>{k}</b></td></tr>" for t, k in rows)
                     + "</table>")
        return text_dialog(self, "Keyboard and mouse", view, 700, 760)

    def show_shortcuts(self) -> None:
        _run_once(self.shortcuts_dialog())

    def show_messages(self) -> None:
        _run_once(self.messages.dialog(self))

    def show_about(self) -> None:
        """Which version this is, and where its log is: what a bug report asks for first."""
        import html

        from app import __version__
        from app.core.paths import user_log_dir

        QMessageBox.about(self, APP_TITLE, f"<b>STTN Inpaint {__version__}</b><br>Remove objects and watermarks "
                          "from video with Spatial-Temporal Transformer Networks (Zeng, Fu, Chao, ECCV 2020)."
                          f"<br><br>Log, for bug reports: {html.escape(str(user_log_dir()))}")

    # --- window events -----------------------------------------------------------------
    def dragEnterEvent(self, e):
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e):
        urls = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if not urls:
            return
        e.acceptProposedAction()
        path = Path(urls[0])
        if self.project.reader is not None and path.is_file() and path.suffix.lower() in IMAGE_EXTS:
            # a mask drawn in another program, dropped on its video: the mask of every frame (it
            # opened as a one-frame "video" in place of the project)
            self._import(str(path))
            return
        if self.project.reader is not None and _holds_images(path):
            # a folder of per-frame masks dropped on its video, or a frame folder to open instead:
            # ask (it was opened as a video in place of the project, masks and all)
            video = self.project.video_path.name if self.project.video_path else "this video"
            choice = self._ask(f"{path.name} is a folder of images: import them as the masks of {video} (one "
                               "image a frame, white = remove), or open them as a video in its place?",
                               "Open as video", "Import as masks", "Cancel")
            if choice == 1:
                self._import(str(path))
            if choice != 0:
                return
        self.open_path(path)

    def closeEvent(self, e):
        if not self.maybe_stop() or not self.maybe_save():
            e.ignore()
            return
        self.frames.cancel_open()
        self.timeline.stop()
        self.settings.set_geometry(self.saveGeometry())
        # a job stops at the next point it looks at Cancel (STTN and training: the next layer, under a
        # second; other jobs: the frame or step under way): the window goes at once rather than wait
        self.hide()
        self.controller.shutdown()
        self.autosaver.stop()
        self.autosaver.discard()  # a clean exit leaves nothing to recover
        self.autosaver.wait()  # (an autosave being written is deleted once it is)
        self.autosaver.release()
        self.project.close_video()
        self.frames.shutdown()
        self.result_loader.shutdown()
        self.project.results.dispose()
        e.accept()


def outside_text(outside: list[int], too: bool = True) -> str:
    """What Export does to the masked frames ``outside`` the in/out range, and how to inpaint them
    (``too``: frames of the range have masks as well). One frame is one: it said "Frames 10, outside
    the in/out range, have masks too: they are copied with what the masks cover still in them"."""
    also = " too" if too else ""
    if len(outside) == 1:
        return (f"Frame {outside[0]}, outside the in/out range, has a mask{also}: it is copied with what the mask "
                "covers still in it; widen the range (I and O set its ends) to inpaint it.")
    return (f"{frames_text(outside).capitalize()}, outside the in/out range, have masks{also}: they are copied with "
            "what the masks cover still in them; widen the range (I and O set its ends) to inpaint them.")


def _holds_images(path: Path) -> bool:
    try:
        return path.is_dir() and bool(image_files(path))
    except OSError:
        return False


def _refusal_kept(job, *args):
    """``job(*args)``, or the ``MaskError`` it raised (``MainWindow._on_opener`` raises it again)."""
    try:
        return job(*args)
    except MaskError as exc:
        return exc


def _run_once(dialog: QDialog) -> None:
    """Show a read-only dialog modally; it is deleted when closed (each opening builds it anew)."""
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.exec()
