"""The click tool's candidates side by side: a small panel over a corner of the picture with one
thumbnail per candidate (the part of the frame around them all, the candidate's region tinted and
outlined as the picture shows it), numbered 1..N, the one shown framed. A click on a thumbnail
shows that candidate (``picked``); Alt+1..9 do the same from the keyboard (``SegmentController``).

The thumbnails are in one row while it keeps them ``MIN_THUMB_H`` tall within the panel's share of
the view, else in as few rows as do (a grid: every candidate stays in sight with its number, one
click away, where a "+m" cell would hide some behind Tab), the panel past its share only as far as
that floor needs, and smaller than the floor only where the whole view has no room for it: the panel
never runs past the view's edges.

The thumbnails are made once per set of candidates (numpy and OpenCV on the GUI thread: at most a
few small crops), never on a paint; the panel sits in the corner of the picture's view that covers
the least of the candidates (and of the view's "Original" tag), and takes the focus from nobody.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontInfo, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from ..core.segment.thumbs import CYAN, candidates_box, tinted

THUMB_H = 88  # a thumbnail's height (logical pixels) where the view has room
MIN_THUMB_H = 36  # the least it shrinks to in a narrow view
PAD, GAP, MARGIN = 4, 4, 8  # inside the panel, between thumbnails, from the view's edges
WIDTH_SHARE, HEIGHT_SHARE = 0.6, 0.3  # of the view the panel may take at most


def thumbnails(rgb: np.ndarray, masks: Sequence[np.ndarray], height: int) -> list[QImage]:
    """One picture per mask (``tinted``: ``rgb`` cropped to ``crop_box(masks)``, scaled to ``height``
    pixels, the mask's region tinted cyan and outlined) as a QImage."""
    return [QImage(p.data, p.shape[1], p.shape[0], 3 * p.shape[1], QImage.Format.Format_RGB888).copy()
            for p in tinted(rgb, masks, height)]


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
    def grid(self) -> tuple[int, QSize]:
        """(columns, a thumbnail's size in logical pixels) now: one row ``THUMB_H`` tall, less where
        the view is small; in more rows where one would be under ``MIN_THUMB_H`` (see the module)."""
        n = len(self.images)
        if not n:
            return 1, QSize(0, 0)
        aspect = self.images[0].width() / max(1, self.images[0].height())
        vw, vh = self.view.width(), self.view.height()
        share, whole = (vw * WIDTH_SHARE, vh * HEIGHT_SHARE), (vw - 2 * MARGIN, vh - 2 * MARGIN)

        def height(rows: int, room: tuple[float, float], most: int) -> int:
            cols = -(-n // rows)
            by_w = (room[0] - 2 * PAD - GAP * (cols - 1)) / (cols * aspect)
            by_h = (room[1] - 2 * PAD - GAP * (rows - 1)) / rows
            return max(1, min(most, int(by_w), int(by_h)))

        for room, most in ((share, THUMB_H), (whole, MIN_THUMB_H)):
            rows = next((r for r in range(1, n + 1) if height(r, room, most) >= MIN_THUMB_H), None)
            if rows is not None:
                break
        else:  # (a view too small for the floor: the largest that fits in it, in the fewest rows)
            rows = max(range(1, n + 1), key=lambda r: (height(r, whole, MIN_THUMB_H), -r))
        h = height(rows, room, most)
        return -(-n // rows), QSize(max(1, int(h * aspect)), h)  # (rounded down: the row fits)

    def thumb_size(self) -> QSize:
        """A thumbnail's size now (logical pixels)."""
        return self.grid()[1]

    def thumb_rect(self, i: int) -> QRect:
        """Thumbnail ``i``'s place in the panel (left to right, then the next row)."""
        cols, s = self.grid()
        return QRect(PAD + (i % cols) * (s.width() + GAP), PAD + (i // cols) * (s.height() + GAP),
                     s.width(), s.height())

    def sizeHint(self) -> QSize:
        (cols, s), n = self.grid(), len(self.images)
        rows = -(-n // cols)
        return QSize(2 * PAD + cols * s.width() + GAP * max(0, cols - 1),
                     2 * PAD + rows * s.height() + GAP * max(0, rows - 1))

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

    def number_font(self) -> QFont:
        """The thumbnails' numbers: the widget's font in bold, smaller where a thumbnail is too small
        for the highest number (a small view's many rows) so that each stays whole on its thumbnail
        (``badge_rect``, 2 px in), down to 6 px."""
        font = QFont(self.font())
        font.setBold(True)
        size, label = self.thumb_size(), str(len(self.images))
        px = QFontInfo(font).pixelSize()
        while px > 6 and (QFontMetrics(font).height() + 6 > size.height()
                          or QFontMetrics(font).horizontalAdvance(label) + 12 > size.width()):
            px -= 1
            font.setPixelSize(px)
        return font

    def badge_rect(self, i: int, fm: QFontMetrics) -> QRectF:
        """Where thumbnail ``i``'s number is drawn (``fm``: ``number_font``'s metrics)."""
        r = self.thumb_rect(i)
        return QRectF(r.left() + 2, r.top() + 2, fm.horizontalAdvance(str(i + 1)) + 8, fm.height() + 2)

    # --- painting and input ---------------------------------------------------------------------
    def paintEvent(self, _) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(QRectF(self.rect()), 5, 5)
        p.setFont(self.number_font())
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
            badge = self.badge_rect(i, fm)
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
                keys = f"click or Alt+{i + 1}" if i < 9 else "click"  # (Alt+1..9 alone)
                QToolTip.showText(e.globalPos(), f"Candidate {i + 1} of {len(self.images)}: {keys} "
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
