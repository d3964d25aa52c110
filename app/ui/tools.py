"""Mask tools and the tool bar that picks them.

A tool turns mouse positions (image pixel coordinates, floats) into edits of a working
bool mask. The canvas owns the working mask during a stroke and commits it on release (or when
another tool is picked mid-stroke), so every tool stroke becomes one undo step. Tools that answer
later register with ``ToolPanel.add_tool`` and commit themselves, through ``canvas.commit(mask)``
or the project (click to select, whose commit also makes a keyframe: ``segment_tool.py``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QSpinBox, QToolBar, QWidget

from .icons import icon

SCOPE_LABELS = {"frame": "This frame", "range": "Every frame in range", "onwards": "This frame onwards"}


def clear_text(scope: str, frames: range, cleared: Optional[list[int]]) -> str:
    """What Clear mask did on ``scope``'s ``frames`` (``cleared``: ``Project.clear_masks``' answer),
    as the status bar says it."""
    first, last = frames.start, frames.stop - 1
    where = {"frame": f"frame {first}", "range": f"the in/out range (frames {first}..{last})",
             "onwards": f"this frame ({first}) to the last ({last})"}[scope]
    if cleared is None:
        return (f"Nothing to clear: frame {first} has no mask (Apply to: This frame)." if scope == "frame"
                else f"Nothing to clear: no frame {'from ' if scope == 'onwards' else 'of '}{where} has a mask.")
    of = {"frame": "of", "range": "in", "onwards": "from"}[scope]
    if not cleared:  # (no mask there, only what tracking knew of the frames)
        return f"Cleared the keyframe and frame-to-check marks {of} {where}; Ctrl+Z undoes it."
    if scope == "frame":
        return f"Cleared the mask of {where}; Ctrl+Z undoes it."
    n = f"masks of {len(cleared)} frames" if len(cleared) > 1 else "mask of 1 frame"
    return f"Cleared the {n} {of} {where}; Ctrl+Z undoes it."


class Tool:
    name = "tool"
    label = "Tool"
    shortcut = ""
    shows_brush = False  # draw the circle cursor

    def press(self, mask: np.ndarray, pt: QPointF, size: int) -> None: ...

    def move(self, mask: np.ndarray, pt: QPointF, size: int) -> None: ...

    def release(self, mask: np.ndarray, pt: QPointF, size: int) -> bool:
        """Finish the stroke; True if ``mask`` should be committed now."""
        return True

    def paint_preview(self, painter: QPainter, to_widget) -> None:
        """Draw in-progress feedback (e.g. a rectangle); ``to_widget`` maps image -> widget points."""


class BrushTool(Tool):
    name, label, shortcut, shows_brush = "brush", "Brush", "B", True
    value = True

    def __init__(self):
        self._last: Optional[QPointF] = None

    def _dab(self, mask, a: QPointF, b: QPointF, size: int):
        # The pixels whose centres lie within the brush's radius of the segment a..b (a round-capped
        # stroke without gaps at any speed, as wide as the circle cursor), and the pixel under b.
        # (cv2.line was a pixel wider each side and rounded the cursor to the nearest pixel corner:
        # zoomed in, a click on the right half of a pixel painted its neighbour.)
        h, w = mask.shape
        r = max(0.5, size / 2)
        ax, ay, bx, by = a.x(), a.y(), b.x(), b.y()
        x0, x1 = max(0, int(np.floor(min(ax, bx) - r))), min(w, int(np.ceil(max(ax, bx) + r)))
        y0, y1 = max(0, int(np.floor(min(ay, by) - r))), min(h, int(np.ceil(max(ay, by) + r)))
        if x1 > x0 and y1 > y0:
            px = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - ax
            py = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - ay
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = np.clip((px * dx + py * dy) / length2, 0, 1) if length2 > 0 else 0.0
            mask[y0:y1, x0:x1][(px - t * dx) ** 2 + (py - t * dy) ** 2 <= r * r] = self.value
        col, row = int(np.floor(bx)), int(np.floor(by))
        if 0 <= col < w and 0 <= row < h:
            mask[row, col] = self.value

    def press(self, mask, pt, size):
        self._last = pt
        self._dab(mask, pt, pt, size)

    def move(self, mask, pt, size):
        if self._last is not None:
            self._dab(mask, self._last, pt, size)
            self._last = pt

    def release(self, mask, pt, size):
        self.move(mask, pt, size)  # (to where the button went up: no move may have come before it)
        self._last = None
        return True


class EraserTool(BrushTool):
    name, label, shortcut = "eraser", "Eraser", "E"
    value = False


class RectTool(Tool):
    name, label, shortcut = "rect", "Rectangle", "R"

    def __init__(self):
        self._a: Optional[QPointF] = None
        self._b: Optional[QPointF] = None

    def press(self, mask, pt, size):
        self._a = self._b = pt

    def move(self, mask, pt, size):
        if self._a is not None:
            self._b = pt

    def rect(self) -> QRectF:
        return QRectF(self._a, self._b).normalized()

    def release(self, mask, pt, size):
        if self._a is None:
            return False
        self._b = pt
        r = self.rect()
        h, w = mask.shape
        # Pixels from the one under the press to the one under the release, both included.
        x0, y0 = max(0, int(np.floor(r.left()))), max(0, int(np.floor(r.top())))
        x1, y1 = min(w, int(np.floor(r.right())) + 1), min(h, int(np.floor(r.bottom())) + 1)
        self._a = self._b = None
        if x1 <= x0 or y1 <= y0:
            return False
        mask[y0:y1, x0:x1] = True
        return True

    def paint_preview(self, painter, to_widget):
        if self._a is None:
            return
        r = self.rect()
        pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(to_widget(r.topLeft()), to_widget(r.bottomRight())))


class ToolPanel(QToolBar):
    """Tool buttons, brush size, overlay opacity, 'apply to' scope and clear."""

    toolChanged = Signal(object)
    sizeChanged = Signal(int)
    opacityChanged = Signal(float)
    clearRequested = Signal(str)  # scope

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Mask tools", parent)
        self.setObjectName("ToolPanel")
        self.tools: dict[str, Tool] = {}
        self._group = QActionGroup(self)
        self._group.setExclusive(True)
        for tool in (BrushTool(), EraserTool(), RectTool()):
            self.add_tool(tool)
        self.addSeparator()

        self.addWidget(QLabel(" Size "))
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, 400)
        self.size_spin.setValue(24)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush size in video pixels ([ and ] change it)")
        self.size_spin.valueChanged.connect(self.sizeChanged)
        self.addWidget(self.size_spin)
        smaller = QAction("Smaller brush", self, shortcut=QKeySequence("["))
        smaller.triggered.connect(lambda: self.size_spin.setValue(max(1, int(self.size_spin.value() / 1.25))))
        larger = QAction("Larger brush", self, shortcut=QKeySequence("]"))
        larger.triggered.connect(lambda: self.size_spin.setValue(max(self.size_spin.value() + 1,
                                                                     int(self.size_spin.value() * 1.25))))
        # Not toolbar buttons: the main window puts these in the Mask menu, which owns the shortcuts.
        self.size_actions = [smaller, larger]

        self.addWidget(QLabel("  Overlay "))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(55)
        self.opacity.setFixedWidth(90)
        self.opacity.setToolTip("Mask overlay opacity")
        self.opacity.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100))
        self.addWidget(self.opacity)

        self.addWidget(QLabel("  Apply to "))
        self.scope_box = QComboBox()
        for key, text in SCOPE_LABELS.items():
            self.scope_box.addItem(text, key)
        self.scope_box.setToolTip("Which frames a stroke or Clear changes")
        self.addWidget(self.scope_box)

        self.clear_action = QAction(icon("clear"), "Clear mask", self)
        # (Backspace: the key a Mac labels delete; a text field focused keeps both for its text)
        self.clear_action.setShortcuts([QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace)])
        self.clear_action.setToolTip("Clear the mask on the frames chosen in 'Apply to' (Del)")
        self.clear_action.triggered.connect(lambda: self.clearRequested.emit(self.scope))
        self.addAction(self.clear_action)
        self.set_tool("brush")

    def add_tool(self, tool: Tool) -> QAction:
        action = QAction(icon(tool.name), tool.label, self, checkable=True)
        if tool.shortcut:
            action.setShortcut(QKeySequence(tool.shortcut))
            action.setToolTip(f"{tool.label} ({tool.shortcut})")
        action.setData(tool.name)
        action.triggered.connect(lambda _=False, n=tool.name: self.set_tool(n))
        self._group.addAction(action)
        self.addAction(action)
        self.tools[tool.name] = tool
        return action

    def tool_actions(self) -> list[QAction]:
        return self._group.actions()

    def set_tool(self, name: str) -> None:
        for a in self._group.actions():
            a.setChecked(a.data() == name)
        self.toolChanged.emit(self.tools[name])

    @property
    def tool(self) -> Tool:
        return self.tools[self._group.checkedAction().data()]

    @property
    def scope(self) -> str:
        return self.scope_box.currentData()

    def set_scope(self, scope: str) -> None:
        self.scope_box.setCurrentIndex(self.scope_box.findData(scope))

    @property
    def brush_size(self) -> int:
        return self.size_spin.value()
