"""Zoomable image views and the mask-painting canvas.

``ImageView`` shows one QImage with wheel zoom (around the cursor) and pan (middle drag
or Space + drag). Views that share a ``ViewState`` move together, which is how the
compare view follows the canvas. ``MaskCanvas`` adds a mask overlay and a tool; it
knows nothing of videos or projects: ``bind_canvas`` connects it to a Project.
"""
from __future__ import annotations

import weakref
from typing import Optional

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from app.core.masks import mask_box

from .qimage import mask_to_qimage, rgb_to_qimage
from .tools import BrushTool, Tool

ZOOM_STEP = 1.25
ZOOM_RANGE = (0.05, 32.0)
#: a mask whose edges take more points than this (speckle) has no outline: building and drawing it
#: would slow every frame change, and its fill is seen on any footage for its texture
OUTLINE_MAX_POINTS = 20_000


class ViewState(QObject):
    """Zoom and centre (in image pixels) shared by views; ``zoom`` None means fit to the widget.
    ``aspect``: the width of a pixel over its height (an anamorphic video's sample aspect ratio,
    HDV's 1440x1080 shown 16:9 has 4/3); views draw its pixels that wide."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.zoom: Optional[float] = None
        self.center: Optional[QPointF] = None
        self.aspect = 1.0
        self.views = weakref.WeakSet()  # the ImageViews drawn by this state (they add themselves)

    def fit_scale(self, view: "ImageView") -> float:
        """The scale of a fitted ``view``: the least of the fits of the views shown with a picture, so
        that side by side, in panes of different widths, both show it at the same size (each
        fitted its own pane, and the first pan, which takes the panned view's scale as the zoom
        of both, made the other jump from 0.9x to 2.8x)."""
        shown = [v for v in list(self.views) if v is view or (v.image is not None and v.isVisible())]
        return min(v.own_fit() for v in shown)

    def set_aspect(self, aspect: float) -> None:
        self.aspect = float(aspect) if aspect and aspect > 0 else 1.0
        self.fit()

    def fit(self) -> None:
        self.zoom, self.center = None, None
        self.changed.emit()

    def set(self, zoom: float, center: QPointF) -> None:
        self.zoom = max(ZOOM_RANGE[0], min(ZOOM_RANGE[1], zoom))
        self.center = QPointF(center)
        self.changed.emit()


class ImageView(QWidget):
    spaceTapped = Signal()  # Space pressed and released without dragging (play / pause)

    def __init__(self, state: Optional[ViewState] = None, parent=None):
        super().__init__(parent)
        self.state = state or ViewState(self)
        self.state.views.add(self)
        self.state.changed.connect(self.update)
        self.image: Optional[QImage] = None
        self.placeholder = ""
        self.tag = ""  # a label in the top-left corner ("Original" beside the result)
        self._pan_from: Optional[QPointF] = None
        self._space_down = False
        self._space_panned = False
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 120)

    # --- geometry: widget = image * (scale * aspect, scale) + offset (logical pixels; Qt handles
    # HiDPI). ``scale`` is the vertical one; a pixel is ``state.aspect`` times as wide as high.
    def image_size(self) -> tuple[int, int]:
        return (self.image.width(), self.image.height()) if self.image is not None else (1, 1)

    def scale(self) -> float:
        if self.state.zoom is not None:
            return self.state.zoom
        return self.state.fit_scale(self)

    def own_fit(self) -> float:
        """The scale that fits the picture to this view alone."""
        iw, ih = self.image_size()
        return max(1e-3, min(self.width() / (iw * self.state.aspect), self.height() / ih))

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        if self.state.zoom is None:  # (a fitted view's size sets the others' scale too)
            for v in list(self.state.views):
                if v is not self:
                    v.update()

    def _scales(self) -> tuple[float, float]:
        s = self.scale()
        return s * self.state.aspect, s

    def offset(self) -> QPointF:
        iw, ih = self.image_size()
        center = self.state.center if self.state.center is not None else QPointF(iw / 2, ih / 2)
        sx, sy = self._scales()
        return QPointF(self.width() / 2 - center.x() * sx, self.height() / 2 - center.y() * sy)

    def to_widget(self, p: QPointF) -> QPointF:
        sx, sy = self._scales()
        o = self.offset()
        return QPointF(p.x() * sx + o.x(), p.y() * sy + o.y())

    def to_image(self, p: QPointF) -> QPointF:
        sx, sy = self._scales()
        o = self.offset()
        return QPointF((p.x() - o.x()) / sx, (p.y() - o.y()) / sy)

    def image_rect(self) -> QRectF:
        iw, ih = self.image_size()
        sx, sy = self._scales()
        return QRectF(self.offset(), QPointF(self.offset()) + QPointF(iw * sx, ih * sy))

    def zoom_at(self, factor: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coordinates) still."""
        p = self.to_image(anchor)
        zoom = max(ZOOM_RANGE[0], min(ZOOM_RANGE[1], self.scale() * factor))
        d = anchor - QPointF(self.width() / 2, self.height() / 2)
        self.state.set(zoom, QPointF(p.x() - d.x() / (zoom * self.state.aspect), p.y() - d.y() / zoom))

    def set_image(self, image: Optional[QImage]) -> None:
        self.image = image
        self.update()

    # --- painting ----------------------------------------------------------------
    def paintEvent(self, _):
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window().color().darker(135))
        if self.image is None:
            p.setPen(self.palette().text().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        # Smooth at ordinary sizes; crisp pixels once zoomed in far enough to paint single pixels.
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale() < 4.0)
        self.paint_content(p)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.paint_over(p)
        if self.tag:
            self.draw_tag(p, self.tag, Qt.AlignmentFlag.AlignLeft)

    def paint_content(self, p: QPainter) -> None:
        p.drawImage(self.image_rect(), self.image)

    def paint_over(self, p: QPainter) -> None:
        pass

    def draw_tag(self, p: QPainter, text: str, side) -> None:
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        x = 8 if side == Qt.AlignmentFlag.AlignLeft else self.width() - w - 8
        box = QRectF(x, 8, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(235, 235, 235))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # --- zoom and pan --------------------------------------------------------------
    def wheelEvent(self, e):
        if self.image is None:
            return
        steps = e.angleDelta().y() / 120
        if steps:
            self.zoom_at(ZOOM_STEP ** steps, e.position())

    def _start_pan(self, e) -> bool:
        if e.button() == Qt.MouseButton.MiddleButton or (e.button() == Qt.MouseButton.LeftButton and self._space_down):
            self._pan_from = e.position()
            self._space_panned = True
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return True
        return False

    def mousePressEvent(self, e):
        self._start_pan(e)

    def mouseMoveEvent(self, e):
        if self._pan_from is not None:
            delta = e.position() - self._pan_from
            self._pan_from = e.position()
            sx, sy = self._scales()
            iw, ih = self.image_size()
            center = self.state.center if self.state.center is not None else QPointF(iw / 2, ih / 2)
            self.state.set(sy, center - QPointF(delta.x() / sx, delta.y() / sy))

    def mouseReleaseEvent(self, e):
        if self._pan_from is not None:
            self._pan_from = None
            self.unsetCursor()

    def event(self, e):
        # Let Space reach keyPressEvent (for Space + drag) instead of the play shortcut.
        if e.type() == QEvent.Type.ShortcutOverride and e.key() == Qt.Key.Key_Space and not e.modifiers():
            e.accept()
            return True
        return super().event(e)

    def keyPressEvent(self, e):
        if e.key() == Qt.Key.Key_Space and not e.isAutoRepeat():
            self._space_down, self._space_panned = True, False
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(e)

    def keyReleaseEvent(self, e):
        if e.key() == Qt.Key.Key_Space and not e.isAutoRepeat():
            self._space_down = False
            self.unsetCursor()
            if not self._space_panned:
                self.space_tapped()
            return
        super().keyReleaseEvent(e)

    def space_tapped(self) -> None:
        """Space pressed and released without dragging."""
        self.spaceTapped.emit()


class MaskCanvas(ImageView):
    """A frame with an editable mask overlay. Emits ``strokeFinished(mask, drawn_over, frame)`` once
    per stroke."""

    # bool (H, W) twice: the whole new mask of the frame the stroke was drawn on, and the mask it was
    # drawn over; then that frame's index (``set_mask``'s, None if never given)
    strokeFinished = Signal(object, object, object)

    def __init__(self, state: Optional[ViewState] = None, parent=None):
        super().__init__(state, parent)
        self.mask: Optional[np.ndarray] = None
        self.overlay: Optional[QImage] = None
        self.outline = QPainterPath()  # the mask's edge (image pixels), drawn dark and light over any footage
        self.tool: Tool = BrushTool()
        self.brush_size = 24
        self.opacity = 0.55
        self.color = QColor(255, 40, 90)
        self.editable = True
        self.frame_index: Optional[int] = None  # which frame the picture shows (bind_canvas sets it)
        self.mask_frame: Optional[int] = None  # which frame's mask ``mask`` is (held during a stroke)
        self._working: Optional[np.ndarray] = None
        self._stroke_at: Optional[QPointF] = None  # the image point the stroke in progress has reached
        self._mouse: Optional[QPointF] = None
        self.placeholder = "Open a video (File > Open, or drop a file here)"

    def set_frame(self, rgb: np.ndarray, mask: np.ndarray) -> None:
        self.image = rgb_to_qimage(rgb)
        self.set_mask(mask)

    def set_mask(self, mask: np.ndarray, frame: Optional[int] = None) -> None:
        """Show ``mask`` (frame ``frame``'s, where given) to paint on."""
        if self._working is not None:
            return  # never replace the mask under a stroke in progress
        self.mask = np.asarray(mask, bool).copy()
        if frame is not None:
            self.mask_frame = frame
        self.outline = mask_outline(self.mask)
        self._refresh_overlay(self.mask)

    def _refresh_overlay(self, mask: np.ndarray) -> None:
        self.overlay = mask_to_qimage(mask, self.color)
        self.update()

    def set_tool(self, tool: Tool) -> None:
        if self._working is not None and tool is not self.tool:
            self._end_stroke(self._stroke_at)  # picked mid-stroke (C): the stroke is kept, as a release keeps it
        self.tool = tool
        self.update()

    def set_brush_size(self, size: int) -> None:
        self.brush_size = int(size)
        self.update()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(opacity)
        self.update()

    def commit(self, mask: np.ndarray) -> None:
        """Propose ``mask`` as the new mask of the frame whose mask is shown, in place of that
        (also for tools that answer later)."""
        drawn_over = self.mask if self.mask is not None else np.zeros_like(mask, bool)
        self.strokeFinished.emit(np.asarray(mask, bool), drawn_over, self.mask_frame)

    # --- painting ----------------------------------------------------------------
    def paint_content(self, p):
        super().paint_content(p)
        if self.overlay is not None and self.opacity > 0:
            p.setOpacity(self.opacity)
            p.drawImage(self.image_rect(), self.overlay)
            p.setOpacity(1.0)

    def paint_over(self, p):
        if self.opacity > 0 and self._working is None and not self.outline.isEmpty():
            # (the fill alone vanished on footage of its colour: a red logo)
            p.save()
            o, (sx, sy) = self.offset(), self._scales()
            p.translate(o)
            p.scale(sx, sy)
            p.setBrush(Qt.BrushStyle.NoBrush)
            for color, width in ((QColor(0, 0, 0, 200), 3.0), (QColor(255, 255, 255, 230), 1.2)):
                pen = QPen(color, width)
                pen.setCosmetic(True)
                p.setPen(pen)
                p.drawPath(self.outline)
            p.restore()
        self.tool.paint_preview(p, self.to_widget)
        if self.tool.shows_brush and self._mouse is not None and self._pan_from is None and not self._space_down:
            rx, r = (self.brush_size / 2 * s for s in self._scales())  # (round in the video's pixels)
            # Dark and light rings: visible on any footage.
            for color, width in ((QColor(0, 0, 0, 170), 3.0), (QColor(255, 255, 255), 1.2)):
                pen = QPen(color, width)
                pen.setCosmetic(True)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(self._mouse, rx, r)

    # --- mouse -------------------------------------------------------------------
    def mousePressEvent(self, e):
        if self._start_pan(e) or self.image is None or self.mask is None or not self.editable:
            return
        if e.button() == Qt.MouseButton.LeftButton:
            self._working = self.mask.copy()
            self._stroke_at = self.to_image(e.position())
            self.tool.press(self._working, self._stroke_at, self.brush_size)
            self._refresh_overlay(self._working)

    def mouseMoveEvent(self, e):
        self._mouse = e.position()
        if self._pan_from is not None:
            super().mouseMoveEvent(e)
            return
        if self._working is not None:
            self._stroke_at = self.to_image(e.position())
            self.tool.move(self._working, self._stroke_at, self.brush_size)
            self._refresh_overlay(self._working)
        else:
            self.update()

    def mouseReleaseEvent(self, e):
        if self._pan_from is not None:
            super().mouseReleaseEvent(e)
            return
        if self._working is not None and e.button() == Qt.MouseButton.LeftButton:
            self._end_stroke(self.to_image(e.position()))

    def _end_stroke(self, pt: QPointF) -> None:
        working, self._working = self._working, None
        if self.tool.release(working, pt, self.brush_size):
            self.commit(working)
        self.set_mask(self.mask if self.mask is not None else working)

    def enterEvent(self, e):
        if self.tool.shows_brush:
            self.setCursor(Qt.CursorShape.CrossCursor)
        super().enterEvent(e)

    def leaveEvent(self, e):
        self._mouse = None
        self.update()
        super().leaveEvent(e)


def mask_outline(mask: np.ndarray) -> QPainterPath:
    """The edges of a bool mask's regions (holes included) as closed polygons in image pixels."""
    path = QPainterPath()
    box = None if mask is None else mask_box(mask)
    if box is None:
        return path
    x0, y0, x1, y1 = box
    contours, _ = cv2.findContours(mask[y0:y1, x0:x1].astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE,
                                   offset=(x0, y0))
    if sum(len(c) for c in contours) > OUTLINE_MAX_POINTS:
        return path
    for c in contours:
        pts = c.reshape(-1, 2) + 0.5  # (through the edge pixels' centres)
        poly = QPolygonF([QPointF(float(x), float(y)) for x, y in pts])
        if len(pts) > 1:
            poly.append(poly.first())
        path.addPolygon(poly)
    return path


def bind_canvas(canvas: MaskCanvas, project, panel) -> None:
    """Show the project's current frame and mask on ``canvas``; send strokes back as edits."""

    def show_mask(index):
        # The mask follows at once (edits apply to the current frame), the picture when decoded.
        if project.has_video:
            canvas.set_mask(project.masks.get(index), index)

    def show_picture(index):
        rgb = project.cached_frame(index) if project.has_video and index == project.current else None
        if rgb is not None:
            canvas.frame_index = index
            canvas.set_image(rgb_to_qimage(rgb))

    def masks_changed(frames):
        if project.has_video and project.current in frames:
            canvas.set_mask(project.masks.get(project.current), project.current)

    def stroke(new, drawn_over, frame):
        # What the stroke added and erased, on the frame it was drawn on (playback or an arrow key may
        # have moved on under it: the whole mask drawn on went to that frame, erasing its own mask)
        # over that frame's mask as it is now (an undo or a tracking run may have changed it meanwhile).
        if not project.has_video:
            return
        frame = project.current if frame is None else frame
        now = project.masks.get(frame)
        project.edit_mask((now | (new & ~drawn_over)) & ~(drawn_over & ~new), panel.scope, canvas.tool.label,
                          index=frame)
        canvas.set_mask(project.masks.get(project.current), project.current)

    # (fitted anew, with the video's pixel shape: an anamorphic file is shown as it plays)
    project.videoChanged.connect(lambda: canvas.state.set_aspect(project.pixel_aspect))
    project.currentChanged.connect(show_mask)
    project.frameReady.connect(show_picture)
    project.masksChanged.connect(masks_changed)
    canvas.strokeFinished.connect(stroke)
    panel.toolChanged.connect(canvas.set_tool)
    panel.sizeChanged.connect(canvas.set_brush_size)
    panel.opacityChanged.connect(canvas.set_opacity)
    canvas.set_tool(panel.tool)
    canvas.set_brush_size(panel.brush_size)
    canvas.set_opacity(panel.opacity.value() / 100)
