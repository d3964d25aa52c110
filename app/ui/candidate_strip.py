"""The click tool's candidates side by side: a small panel over a corner of the picture with one
thumbnail per candidate (the part of the frame around them all, the candidate's region tinted and
outlined as the picture shows it), numbered 1..N, the one shown framed. A click on a thumbnail
shows that candidate (``picked``); Alt+1..9 do the same from the keyboard (``SegmentController``).

The thumbnails are made once per set of candidates (numpy and OpenCV on the GUI thread: at most a
few small crops), never on a paint; the panel sits in the corner of the picture's view that covers
the least of the candidates (and of the view's "Original" tag), and takes the focus from nobody.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

CYAN = (40, 220, 255)  # the candidate's colour on the picture (segment_tool.CANDIDATE_COLOR)
TINT = 0.4  # the candidate's fill, as opaque as the picture draws it
THUMB_H = 88  # a thumbnail's height (logical pixels) where the view has room
MIN_THUMB_H = 36  # the least it shrinks to in a narrow view
ASPECT = (0.75, 16 / 9)  # the crop's width over height is kept within these
PAD, GAP, MARGIN = 4, 4, 8  # inside the panel, between thumbnails, from the view's edges
WIDTH_SHARE, HEIGHT_SHARE = 0.6, 0.3  # of the view the panel may take at most
OUTSIZE = 4.0  # a candidate whose box is this many times the median's area is left out of the crop


def crop_box(masks: Sequence[np.ndarray], margin: float = 0.25) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): ``candidates_box(masks)`` grown by ``margin`` of its size on each side (at
    least 8 px) and to a width over height within ``ASPECT``, inside the frame (all of it where the
    masks are empty)."""
    h, w = masks[0].shape
    box = candidates_box(masks)
    if box is None:
        return 0, 0, w, h
    x0, y0, x1, y1 = box
    mx, my = max(8, int((x1 - x0) * margin)), max(8, int((y1 - y0) * margin))
    x0, x1, y0, y1 = x0 - mx, x1 + mx, y0 - my, y1 + my
    bw, bh = x1 - x0, y1 - y0
    if bw < bh * ASPECT[0]:
        x0, x1 = _grown(x0, x1, int(round(bh * ASPECT[0])))
    elif bw > bh * ASPECT[1]:
        y0, y1 = _grown(y0, y1, int(round(bw / ASPECT[1])))
    (x0, x1), (y0, y1) = _within(x0, x1, w), _within(y0, y1, h)
    return x0, y0, x1, y1


def candidates_box(masks: Sequence[np.ndarray]) -> Optional[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) around the boxes of the ``masks`` (bool (H, W)), or None where all are
    empty. A box over ``OUTSIZE`` times the median's area (a candidate that took the whole ground
    around a dog) is left out: in a crop of it all the others would be a few pixels; cut to the
    others' crop it still shows as the region that fills it."""
    boxes = [b for b in map(_box, masks) if b is not None]
    if not boxes:
        return None
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    median = float(np.median(areas))
    kept = [b for b, a in zip(boxes, areas) if a <= OUTSIZE * median]
    return (min(b[0] for b in kept), min(b[1] for b in kept), max(b[2] for b in kept), max(b[3] for b in kept))


def _box(mask: np.ndarray) -> Optional[tuple[int, int, int, int]]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1) if len(rows) else None


def _grown(a: int, b: int, size: int) -> tuple[int, int]:
    extra = size - (b - a)
    return a - extra // 2, b + extra - extra // 2


def _within(a: int, b: int, n: int) -> tuple[int, int]:
    """[a, b) moved inside [0, n) (cut to it where it is longer)."""
    if a < 0:
        a, b = 0, b - a
    if b > n:
        a, b = a - (b - n), n
    return max(0, a), b


def thumbnails(rgb: np.ndarray, masks: Sequence[np.ndarray], height: int) -> list[QImage]:
    """One picture per mask: ``rgb`` (uint8 (H, W, 3)) cropped to ``crop_box(masks)`` and scaled to
    ``height`` pixels, the mask's region tinted cyan and outlined."""
    x0, y0, x1, y1 = crop_box(masks)
    th = max(1, int(height))
    tw = max(1, int(round(th * (x1 - x0) / max(1, y1 - y0))))
    base = cv2.resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), (tw, th), interpolation=cv2.INTER_AREA)
    cyan = np.array(CYAN, np.float32)
    out = []
    for m in masks:
        small = cv2.resize(m[y0:y1, x0:x1].astype(np.uint8), (tw, th), interpolation=cv2.INTER_NEAREST)
        pic = base.copy()
        inside = small.astype(bool)
        pic[inside] = (pic[inside] * (1 - TINT) + cyan * TINT).astype(np.uint8)
        contours, _ = cv2.findContours(small, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(pic, contours, -1, CYAN, max(1, th // 60))
        pic = np.ascontiguousarray(pic)
        out.append(QImage(pic.data, tw, th, 3 * tw, QImage.Format.Format_RGB888).copy())
    return out


class CandidateStrip(QWidget):
    """The panel of thumbnails over ``view`` (a child of it, outside any layout). ``show_for``
    fills it and shows it; ``picked(i)`` when thumbnail ``i`` (0-based) is clicked."""

    picked = Signal(int)

    def __init__(self, view: QWidget):
        super().__init__(view)
        self.view = view
        self.setObjectName("CandidateStrip")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # (Tab, Enter and Esc stay with the picture)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.images: list[QImage] = []
        self.current = 0
        self.hover: Optional[int] = None
        self._masks: list = []  # the masks the thumbnails show (identity tells a new set)
        self._rgb = None
        self._to_view = None  # image point -> view point (to place it again as the view pans or zooms)
        self._box: Optional[tuple] = None  # the candidates' box in the image's pixels
        self.hide()
        view.installEventFilter(self)  # (placed again when the view is resized)

    # --- contents -------------------------------------------------------------------------------
    def show_for(self, rgb: np.ndarray, masks: Sequence[np.ndarray], current: int, to_view=None) -> None:
        """Show thumbnails of ``masks`` over frame ``rgb``, ``current`` framed; they are made again
        only when the masks (or the frame) are not those shown. ``to_view``: image point ->
        view point (QPointF), to keep the panel off the candidates."""
        masks = list(masks)
        same = len(masks) == len(self._masks) and all(a is b for a, b in zip(masks, self._masks))
        if rgb is not self._rgb or not same:
            ratio = max(1.0, self.devicePixelRatioF())
            self.images = thumbnails(rgb, masks, int(round(THUMB_H * ratio)))
            self._masks, self._rgb = masks, rgb
            self._box = candidates_box(masks)  # (kept in view)
        self.current = current
        self._to_view = to_view
        self.place()
        self.show()
        self.raise_()
        self.update()

    def clear(self) -> None:
        """Hide it and let go of the frame and masks it showed."""
        self.hide()
        self.images, self._masks, self._rgb, self.hover = [], [], None, None

    # --- geometry -------------------------------------------------------------------------------
    def thumb_size(self) -> QSize:
        """A thumbnail's size now (logical pixels): ``THUMB_H`` tall, less where the view is narrow."""
        if not self.images:
            return QSize(0, 0)
        img = self.images[0]
        aspect = img.width() / max(1, img.height())
        n = len(self.images)
        room_w = self.view.width() * WIDTH_SHARE - 2 * PAD - GAP * (n - 1)
        room_h = self.view.height() * HEIGHT_SHARE - 2 * PAD
        h = max(MIN_THUMB_H, min(THUMB_H, int(room_w / (n * aspect)), int(room_h)))
        return QSize(max(1, int(round(h * aspect))), h)

    def thumb_rect(self, i: int) -> QRect:
        """Thumbnail ``i``'s place in the panel."""
        s = self.thumb_size()
        return QRect(PAD + i * (s.width() + GAP), PAD, s.width(), s.height())

    def sizeHint(self) -> QSize:
        s, n = self.thumb_size(), len(self.images)
        return QSize(2 * PAD + n * s.width() + GAP * max(0, n - 1), 2 * PAD + s.height())

    def index_at(self, pos) -> Optional[int]:
        for i in range(len(self.images)):
            if self.thumb_rect(i).contains(pos.toPoint() if hasattr(pos, "toPoint") else pos):
                return i
        return None

    def place(self) -> None:
        """Size it, and put it in the corner of the view that covers the least of the candidates
        (top left first; the corner the view's "Original" tag takes counts as covered)."""
        size = self.sizeHint()
        vw, vh = self.view.width(), self.view.height()
        w, h = size.width(), size.height()
        corners = [QRect(MARGIN, MARGIN, w, h), QRect(vw - w - MARGIN, MARGIN, w, h),
                   QRect(MARGIN, vh - h - MARGIN, w, h), QRect(vw - w - MARGIN, vh - h - MARGIN, w, h)]
        avoid = []
        if self._box is not None and self._to_view is not None:
            x0, y0, x1, y1 = self._box
            avoid.append(QRectF(self._to_view(QPointF(x0, y0)), self._to_view(QPointF(x1, y1))).normalized())
        if getattr(self.view, "tag", ""):
            fm = self.view.fontMetrics()
            avoid.append(QRectF(0, 0, fm.horizontalAdvance(self.view.tag) + 28, fm.height() + 22))

        def covered(r: QRect) -> float:
            rf = QRectF(r)
            return sum(max(0.0, a.intersected(rf).width()) * max(0.0, a.intersected(rf).height()) for a in avoid)

        self.setGeometry(min(corners, key=covered))  # (min keeps the first of equals)

    def eventFilter(self, obj, e) -> bool:
        if obj is self.view and e.type() == QEvent.Type.Resize and self.isVisible():
            self.place()
        return False

    # --- painting and input ---------------------------------------------------------------------
    def paintEvent(self, _) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(QRectF(self.rect()), 5, 5)
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        fm = p.fontMetrics()
        for i, img in enumerate(self.images):
            r = self.thumb_rect(i)
            p.drawImage(QRectF(r), img)
            shown = i == self.current
            pen = QPen(QColor(*CYAN) if shown else QColor(255, 255, 255, 200 if i == self.hover else 90),
                       3.0 if shown else 1.0)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(r).adjusted(0.5, 0.5, -0.5, -0.5))
            label = str(i + 1)
            badge = QRectF(r.left() + 2, r.top() + 2, fm.horizontalAdvance(label) + 8, fm.height() + 2)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(*CYAN) if shown else QColor(0, 0, 0, 190))
            p.drawRoundedRect(badge, 3, 3)
            p.setPen(QColor(0, 0, 0) if shown else QColor(240, 240, 240))
            p.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
        p.end()

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            i = self.index_at(e.position() if hasattr(e, "position") else e.pos())
            if i is None:
                QToolTip.hideText()
                e.ignore()
            else:
                QToolTip.showText(e.globalPos(), f"Candidate {i + 1} of {len(self.images)}: click or Alt+{i + 1} "
                                  "shows it; Enter keeps the one shown", self)
            return True
        return super().event(e)

    def mousePressEvent(self, e) -> None:
        e.accept()  # (never on to the picture beneath: no click on the object there)
        if e.button() == Qt.MouseButton.LeftButton:
            i = self.index_at(e.position())
            if i is not None:
                self.picked.emit(i)

    def mouseReleaseEvent(self, e) -> None:
        e.accept()

    def mouseDoubleClickEvent(self, e) -> None:
        e.accept()

    def mouseMoveEvent(self, e) -> None:
        e.accept()
        hover = self.index_at(e.position())
        if hover != self.hover:
            self.hover = hover
            self.update()

    def leaveEvent(self, e) -> None:
        if self.hover is not None:
            self.hover = None
            self.update()
        super().leaveEvent(e)
