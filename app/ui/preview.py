"""Compare view: the inpainted result beside the original, or split over one view.

``ResultView`` shares the canvas's ViewState, so zoom and pan stay in step, and follows
the project's current frame, so playback and scrubbing drive both sides.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from .canvas import ImageView, ViewState
from .deadline import DeadlineTimer
from .icons import icon
from .qimage import rgb_to_qimage

MODES = {"original": ("Original only", "view-original", "1"), "side": ("Side by side", "view-side", "2"),
         "split": ("Split slider", "view-split", "3")}
#: While the playhead is dragged, how long it stays on a frame before that frame's exact result is read
SCRUB_REST_MS = 100


class ResultView(ImageView):
    """Shows the result of the current frame; in split mode the original left of a handle."""

    splitMoved = Signal(float)

    def __init__(self, state: Optional[ViewState] = None, parent=None):
        super().__init__(state, parent)
        self.original = None  # QImage
        self.result_rgb: Optional[np.ndarray] = None  # what is shown, for tests and screenshots
        self.proxy_of: Optional[tuple[int, int]] = None  # (w, h) of the frame when result_rgb is its playback proxy
        self.split = False
        self.split_at = 0.5  # fraction of the image width
        self.note = ""
        self.placeholder = "The inpainted result appears here"

    def set_frames(self, original: Optional[np.ndarray], result: Optional[np.ndarray], note: str = "",
                   keep_original: bool = False, proxy_of: Optional[tuple[int, int]] = None) -> None:
        """``keep_original``: the original is still being decoded; keep showing the one there is.
        ``proxy_of``: ``result`` is a playback proxy (``ResultCache.proxy``, perhaps smaller) of a
        frame of this (width, height), drawn at that size."""
        if not keep_original:
            self.original = rgb_to_qimage(original) if original is not None else None
        self.result_rgb = result
        self.proxy_of = proxy_of if result is not None else None
        self.image = rgb_to_qimage(result) if result is not None else self.original
        self.note = note
        self.update()

    def image_size(self) -> tuple[int, int]:
        return self.proxy_of or super().image_size()

    def set_split(self, on: bool) -> None:
        self.split = on
        self.update()

    def _split_x(self) -> float:
        r = self.image_rect()
        return r.left() + r.width() * self.split_at

    def paint_content(self, p: QPainter) -> None:
        r = self.image_rect()
        if self.result_rgb is None:
            p.setOpacity(0.35)  # no result for this frame: the original, dimmed
            p.drawImage(r, self.image)
            p.setOpacity(1.0)
        elif self.split and self.original is not None:
            x = self._split_x()
            p.save()
            p.setClipRect(QRectF(QPointF(r.left(), r.top()), QPointF(x, r.bottom())))
            p.drawImage(r, self.original)
            p.setClipRect(QRectF(QPointF(x, r.top()), QPointF(r.right(), r.bottom())))
            p.drawImage(r, self.image)
            p.restore()
        else:
            p.drawImage(r, self.image)

    def paint_over(self, p: QPainter) -> None:
        r = self.image_rect()
        if self.split and self.result_rgb is not None:
            x = self._split_x()
            p.setPen(QPen(QColor(255, 255, 255, 230), 2))
            p.drawLine(QPointF(x, max(0, r.top())), QPointF(x, min(self.height(), r.bottom())))
            p.setBrush(QColor(40, 44, 52, 220))
            p.drawEllipse(QPointF(x, self.height() / 2), 9, 9)
            self.draw_tag(p, "Original", Qt.AlignmentFlag.AlignLeft)
            self.draw_tag(p, "Result", Qt.AlignmentFlag.AlignRight)
        elif self.result_rgb is not None:
            self.draw_tag(p, "Result", Qt.AlignmentFlag.AlignLeft)
        if self.note:
            p.setPen(QColor(255, 210, 120))
            p.drawText(self.rect().adjusted(10, 0, -10, -10), Qt.AlignmentFlag.AlignBottom
                       | Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap, self.note)

    def mousePressEvent(self, e):
        if self._start_pan(e):
            return
        if self.split and e.button() == Qt.MouseButton.LeftButton:
            self._drag_split(e.position().x())

    def mouseMoveEvent(self, e):
        if self._pan_from is not None:
            super().mouseMoveEvent(e)
        elif self.split and e.buttons() & Qt.MouseButton.LeftButton:
            self._drag_split(e.position().x())

    def _drag_split(self, x: float) -> None:
        r = self.image_rect()
        self.split_at = max(0.0, min(1.0, (x - r.left()) / max(1.0, r.width())))
        self.splitMoved.emit(self.split_at)
        self.update()


class CompareArea(QWidget):
    """The canvas and the result view, arranged by the compare mode."""

    modeChanged = Signal(str)

    def __init__(self, canvas: ImageView, result: ResultView, parent=None):
        super().__init__(parent)
        self.canvas, self.result = canvas, result
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(canvas)
        self.splitter.addWidget(result)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.mode_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for key, (text, icon_name, shortcut) in MODES.items():
            a = QAction(icon(icon_name), text, self, checkable=True, shortcut=QKeySequence(shortcut))
            a.setToolTip(f"{text} ({shortcut})")
            a.triggered.connect(lambda _=False, k=key: self.set_mode(k))
            group.addAction(a)
            self.mode_actions[key] = a
        self.mode = ""
        self.set_mode("original")

    def set_mode(self, mode: str) -> None:
        # the keys stay with the pictures: a hidden view's focus went on to a tool bar button, where
        # Space pressed the button instead of playing
        keys = self.canvas.hasFocus() or self.result.hasFocus()
        self.mode = mode
        self.mode_actions[mode].setChecked(True)
        self.canvas.setVisible(mode != "split")
        self.canvas.tag = "Original" if mode == "side" else ""
        self.result.setVisible(mode != "original")
        self.result.set_split(mode == "split")
        if mode == "side":
            half = max(1, self.splitter.width() // 2)
            self.splitter.setSizes([half, half])
        if keys and not (self.canvas.hasFocus() or self.result.hasFocus()):
            (self.result if mode == "split" else self.canvas).setFocus()
        self.modeChanged.emit(mode)


def bind_preview(view: ResultView, project, area: CompareArea, loader, timeline=None) -> None:
    """``loader`` (``frames.ResultLoader``) reads the exact result frames off the GUI thread: a 1080p
    PNG takes 19-43 ms to read, which stalled each step with the arrow keys. Until it has read the
    frame shown, the view shows the frame's JPEG proxy (``ResultCache.proxy``: 3-12 ms), then the
    exact frame, which is what Export writes. ``timeline``: while it plays, the proxies alone; while
    its playhead is dragged, the exact frame is read once it has rested on a frame ``SCRUB_REST_MS``
    or the button is let go (a read of each frame dragged past took a core of two from the drag)."""
    bar = getattr(timeline, "bar", None)
    rest = DeadlineTimer(view)  # (a rest, not sooner: a QTimer, even a precise one, may fire some ms early)
    rest.setInterval(SCRUB_REST_MS)
    resting = [None]  # the frame the timer runs for

    def read_exact(*_):
        """Ask for the exact result of the frame shown, unless playing or hidden."""
        rest.stop()
        if project.has_video and not view.isHidden() and not (timeline is not None and timeline.playing):
            loader.request(project.results, project.current)

    def refresh(*_):
        if not project.has_video or view.isHidden():  # hidden: skip decoding the result
            return
        i, results = project.current, project.results
        playing = timeline is not None and timeline.playing
        result = None if playing else loader.exact(results, i)
        proxy_of = None
        if result is None:
            if not playing and bar is not None and bar.held:
                if not rest.isActive() or resting[0] != i:  # the exact frame once the playhead rests
                    resting[0] = i
                    rest.start()
            elif not playing:
                loader.request(results, i)  # the exact frame follows (read_ended), read while the proxy is
            # (as many pixels as the screen shows of it: a HiDPI screen's, and a wide pixel's width)
            shown = view.scale() * max(1.0, view.state.aspect) * view.devicePixelRatioF()
            result = results.proxy(i, shown)
            proxy_of = (project.reader.width, project.reader.height) if result is not None else None
        if not project.start <= i < project.end:  # Inpaint would not reach it; Export copies it as it is
            note = (f"Frame {i} is outside the in/out range ({project.start}..{project.end - 1}): "
                    "Export copies it unchanged.")
        elif (result is None or project.result_outdated(i)) and _reaches(project.inpainting, i, project):
            note = "Being inpainted: the new result shows when Inpaint reaches this frame."
        elif result is None:
            note = "No result for this frame yet: press Inpaint, or Preview frame."
        elif project.result_outdated(i) and project.masks.is_empty(i):  # (cleared: Inpaint refused, or left it)
            note = "This frame has no mask now: Export leaves it as it is (the result shown is of the mask it had)."
        elif project.result_outdated(i):
            note = "Masks, settings or weights changed since this result: press Inpaint to update it."
        else:
            note = ""
        original = project.cached_frame(i)
        if original is None:
            project.request_frame(i)  # decoded off the GUI thread; frameReady calls back here
        view.set_frames(original, result, note, keep_original=original is None, proxy_of=proxy_of)

    def frame_ready(index):
        if index == project.current:
            refresh()

    def read_ended(results, index):
        # (a read of a frame stepped past, or of a file written again since, changes nothing shown)
        if (results is project.results and index == project.current and view.proxy_of is not None
                and not (timeline is not None and timeline.playing)):
            refresh()

    project.currentChanged.connect(refresh)
    project.frameReady.connect(frame_ready)
    project.resultChanged.connect(refresh)
    project.rangeChanged.connect(refresh)
    area.modeChanged.connect(refresh)
    loader.loaded.connect(read_ended)
    rest.due.connect(read_exact)
    if timeline is not None:  # stopped: the exact frame in place of the proxy
        timeline.playingChanged.connect(lambda playing: None if playing else refresh())
    if bar is not None:
        bar.released.connect(lambda: read_exact() if view.proxy_of is not None else None)


def _reaches(running, index: int, project) -> bool:
    """Whether the Inpaint running (its ``Made``, or None) will give frame ``index`` a new result."""
    return running is not None and running.writes(index) and project.results.made(index) is not running
