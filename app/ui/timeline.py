"""Timeline: a frame-accurate scrub bar with mask marks, playback, and the in/out range.

It knows a frame count, a frame rate, the current frame, a range and which frames are
marked; nothing about videos or masks. ``bind_timeline`` connects it to a Project.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Optional, Sequence

from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QToolButton, QWidget
from superqt import QLabeledRangeSlider

from .icons import icon


def timecode(index: int, fps: float, seconds: Optional[float] = None) -> str:
    """'HH:MM:SS:FF' (FF = frame within the second, after a colon as in SMPTE timecode, so it is
    not read as hundredths of a second) for frame ``index``; at ``seconds`` (the frame's own time,
    from the first frame's) where given: a variable-frame-rate video's frames are not ``index / fps``."""
    fps = fps or 25.0
    whole = int(round(fps))
    if seconds is not None:
        seconds = max(0.0, round(seconds, 6))  # (a difference of float times: 0.9999999999999999 is 1 s)
        ff = min(max(1, whole) - 1, int((seconds - int(seconds)) * fps + 1e-6))
    else:
        seconds, ff = divmod(index, whole) if abs(fps - whole) < 1e-3 else (int(index / fps), int(index % fps))
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}"


MASK_COLOR = QColor(235, 70, 100)  # red, under the bar: frames with a mask
FLAG_COLOR = QColor(255, 170, 0)  # amber, above the bar: distinct from the red mask marks
TRACKED_COLOR = QColor(60, 200, 190)  # teal, under the mask marks: frames the tracker filled
KEY_COLOR = QColor(245, 245, 245)  # keyframes: white diamonds on the mask marks


class RangeSlider(QLabeledRangeSlider):
    """The in/out slider, its handles' labels whole. superqt centres each label over its handle and
    the slider's edge cuts what lies beyond: an out point at the end of a long video read "999" for
    99997, and at the window's minimum width the slider shrank to nothing and the labels overlapped.
    Here each label is moved inside the slider (the in point's left of the out point's), and the
    slider is never narrower than the two labels side by side."""

    GAP = 6  # pixels between the two labels' texts

    def _reposition_labels(self) -> None:
        super()._reposition_labels()
        labels = list(getattr(self, "_handle_labels", ()))
        if not labels or self.orientation() != Qt.Orientation.Horizontal:
            return
        # A label widens for a longer range's digits after it was placed (a video opened), and the
        # inner slider moves when ``align_to_frames`` changes the margins: both place them again.
        for w in (*labels, getattr(self, "_slider", None)):
            if w is not None and not w.property("sttn_replaced"):
                w.setProperty("sttn_replaced", True)
                w.installEventFilter(self)
                if w in labels:  # (the style sheet's padding for text fields made them 28 px tall)
                    w.setStyleSheet(w.styleSheet() + " padding: 0;")
                    resize = getattr(w, "_update_size", None)  # (superqt's own, private: absent in another version,
                    if resize is not None:                      # the label keeps the size it had)
                        resize()
        # superqt stands a label 1.5 of its heights above the handle's centre: a taller one went past
        # the top and lost its digits' tops; each stands on the groove, inside the slider
        groove = self._slider.y() if getattr(self, "_slider", None) is not None else self.height()
        for label in labels:
            label.move(label.x(), max(0, min(label.y(), groove - label.height())))
        # (a label is wider than its text, centred in it: only the text must stay inside)
        right = self.width()
        for label in reversed(labels):  # inside the right edge, each left of the next
            slack = _slack(label)
            label.move(min(label.x(), right - label.width() + slack), label.y())
            right = label.x() + slack - self.GAP
        left = 0
        for label in labels:  # inside the left edge (wins where the slider is too narrow for both)
            slack = _slack(label)
            label.move(max(label.x(), left - slack), label.y())
            left = label.x() + label.width() - slack + self.GAP

    def align_to_frames(self) -> None:
        """Stand each handle over the frame it names on the FrameBar above, which shares the slider's
        column and puts frame v at 6 + (w - 12)(v + 0.5) / count: superqt puts value v at half a
        handle + (w - handle) v / (count - 1), half a frame or more off at both ends of a short clip
        (50 px for 5 frames). The same margin either side of the groove lines up every value."""
        layout, inner = self.layout(), getattr(self, "_slider", None)
        if layout is None or inner is None or self.orientation() != Qt.Orientation.Horizontal:
            return
        count = self.maximum() - self.minimum() + 1
        handle = inner._handleRect(0).width() if hasattr(inner, "_handleRect") else 15
        margin = max(0, round(6 + (self.width() - 12) / (2 * max(1, count)) - handle / 2))
        m = layout.contentsMargins()
        if (m.left(), m.right()) != (margin, margin):
            layout.setContentsMargins(margin, m.top(), margin, m.bottom())

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        self.align_to_frames()

    def eventFilter(self, obj, e) -> bool:
        if e.type() in (QEvent.Type.Resize, QEvent.Type.Move) and (
                obj is getattr(self, "_slider", None) or e.type() == QEvent.Type.Resize):
            self._reposition_labels()  # (a label's move is not a resize: no loop)
        return super().eventFilter(obj, e)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        labels = getattr(self, "_handle_labels", ())
        need = sum(label.width() for label in labels) + self.GAP * max(0, len(labels) - 1)
        return QSize(max(hint.width(), need), hint.height())


def _slack(label: QWidget) -> int:
    """The room either side of a centred label's text."""
    return max(0, (label.width() - label.fontMetrics().horizontalAdvance(label.text())) // 2 - 2)


class FrameBar(QWidget):
    """Scrub bar: click or drag to pick a frame; shows range, mask marks and the playhead."""

    frameClicked = Signal(int)
    released = Signal()  # the button held on the bar (a click, the end of a drag) is let go

    def __init__(self, parent=None):
        super().__init__(parent)
        self.count, self.current, self.start, self.end = 0, 0, 0, 0
        self.held = False  # the left button is down on the bar: the user is dragging the playhead
        self.marks: frozenset[int] = frozenset()
        self.flagged: frozenset[int] = frozenset()  # frames to check ('lost' / 'fallback' / 'shrunk')
        self.tracked: frozenset[int] = frozenset()  # frames whose mask the tracker filled (in part)
        self.keys: frozenset[int] = frozenset()  # keyframes: masks the user made, that tracking starts from
        self._spans: dict = {}  # row -> (its frames, width, count, x spans to draw): see spans()
        self.setMinimumHeight(34)
        self.setToolTip("Red: frames with a mask; teal below: filled by tracking; white diamonds: keyframes "
                        "(tracking starts from them); amber above: frames to check (G)")
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def x_of(self, index: float) -> float:
        return 6 + (self.width() - 12) * (index + 0.5) / max(1, self.count)

    def index_at(self, x: float) -> int:
        if self.count <= 0:
            return 0
        return max(0, min(self.count - 1, int((x - 6) / max(1, self.width() - 12) * self.count)))

    def paintEvent(self, _):
        p = QPainter(self)
        pal = self.palette()
        h = self.height()
        track = QRectF(6, h * 0.3, self.width() - 12, h * 0.4)
        p.fillRect(track, pal.base().color())
        if self.count <= 0:
            return
        unit = (self.width() - 12) / self.count
        in_x = self.x_of(self.start) - unit / 2
        p.fillRect(QRectF(in_x, track.top(), unit * (self.end - self.start), track.height()),
                   QColor(90, 130, 220, 90))
        # the playhead's line goes under the marks and its triangle above the amber row, so that the
        # current frame's flag and keyframe diamond stay in sight (G brings you to a flagged frame)
        x = self.x_of(self.current)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(pal.highlight().color(), 2))
        p.drawLine(QPointF(x, 4), QPointF(x, h - 2))
        for row, y, height, colour in (("marks", h * 0.72, 4, MASK_COLOR), ("tracked", h * 0.72 + 5, 3, TRACKED_COLOR),
                                       ("flagged", h * 0.3 - 5, 4, FLAG_COLOR)):
            for x0, x1 in self.spans(row):
                p.fillRect(QRectF(x0, y, x1 - x0, height), colour)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.highlight().color())
        p.drawPolygon(QPolygonF([QPointF(x - 4.5, 0), QPointF(x + 4.5, 0), QPointF(x, 4.5)]))
        if self.keys:  # a small diamond on the mask marks per keyframe
            p.setPen(QPen(QColor(20, 20, 24), 1))
            p.setBrush(KEY_COLOR)
            y = h * 0.72 + 2
            for k in sorted(self.keys):
                x = self.x_of(k)
                p.drawPolygon(QPolygonF([QPointF(x, y - 4.5), QPointF(x + 4.5, y), QPointF(x, y + 4.5),
                                         QPointF(x - 4.5, y)]))

    def spans(self, row: str) -> list[tuple[float, float]]:
        """The x spans drawn for a row of marks ("marks", "tracked", "flagged"): adjacent frames merge
        into runs, and runs that touch on screen into one span. Worked out when the row's frames,
        the width or the length change, not at each repaint: the playhead repaints the bar every
        frame of playback, and sorting and drawing each run took 81 ms a repaint with 90,000
        tracked frames, a third of them flagged (1.4 ms with 1,500)."""
        frames = getattr(self, row)
        hit = self._spans.get(row)
        if hit is not None and hit[0] is frames and hit[1:3] == (self.width(), self.count):
            return hit[3]
        unit = (self.width() - 12) / max(1, self.count)
        least = 4.0 if row == "flagged" else 1.5  # (a flag at least 4 px wide: one frame of thousands shows)
        spans: list[tuple[float, float]] = []
        for a, b in frame_runs(sorted(frames)):
            width = max(least, unit * (b - a + 1))
            x0 = self.x_of((a + b) / 2) - width / 2
            if spans and x0 <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], x0 + width))
            else:
                spans.append((x0, x0 + width))
        self._spans[row] = (frames, self.width(), self.count, spans)
        return spans

    def mousePressEvent(self, e):
        if e.button() == Qt.MouseButton.LeftButton:
            self.held = True
            self.frameClicked.emit(self.index_at(e.position().x()))

    def mouseMoveEvent(self, e):
        if e.buttons() & Qt.MouseButton.LeftButton:
            self.frameClicked.emit(self.index_at(e.position().x()))

    def mouseReleaseEvent(self, e):
        if e.button() == Qt.MouseButton.LeftButton and self.held:
            self.held = False
            self.released.emit()


def frame_runs(indices):
    """Sorted frame numbers as inclusive runs: [3, 4, 5, 9] -> (3, 5), (9, 9)."""
    start = prev = None
    for i in indices:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            yield start, prev
            start = prev = i
    if start is not None:
        yield start, prev


def frames_text(frames) -> str:
    """Sorted frame numbers as a message says them: [3, 4, 5, 9] -> "frames 3..5, 9"; [6] -> "frame 6"."""
    runs = ", ".join(f"{a}..{b}" if b > a else f"{a}" for a, b in frame_runs(frames))
    return ("frame " if len(frames) == 1 else "frames ") + runs


class Timeline(QWidget):
    currentChanged = Signal(int)
    rangeChanged = Signal(int, int)  # [start, end)
    playingChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.count, self.fps, self.current = 0, 25.0, 0
        self.times: Optional[list[float]] = None  # each frame's time from the first's (seconds), if not index / fps
        self.bar = FrameBar()
        self.bar.frameClicked.connect(self.set_current)
        self.play_button = QToolButton()
        self.play_button.setAutoRaise(True)
        self.label = QLabel("–")
        self.label.setObjectName("FrameLabel")
        self.label.setMinimumWidth(190)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.range_slider = RangeSlider(Qt.Orientation.Horizontal)
        self.range_slider.setToolTip("In and out points: the frames Inpaint works on")
        self.range_slider.setRange(0, 0)
        self.range_slider.valueChanged.connect(self._range_moved)
        self.range_label = QLabel("Range")

        self.play_action = QAction(icon("play"), "Play / Pause", self, shortcut=QKeySequence(Qt.Key.Key_Space))
        self.play_action.triggered.connect(self.toggle_play)
        self.play_button.setDefaultAction(self.play_action)
        self.prev_action = self._action("Previous frame", Qt.Key.Key_Left, lambda: self.step(-1), "step-back")
        self.next_action = self._action("Next frame", Qt.Key.Key_Right, lambda: self.step(1), "step-forward")
        self.home_action = self._action("First frame", Qt.Key.Key_Home, lambda: self.set_current(0))
        self.end_action = self._action("Last frame", Qt.Key.Key_End, lambda: self.set_current(self.count - 1))
        self.set_in_action = self._action("Set in point here", Qt.Key.Key_I, lambda: self.set_in_out(in_=self.current))
        self.set_out_action = self._action("Set out point here", Qt.Key.Key_O, lambda: self.set_in_out(out=self.current))
        prev_button, next_button = QToolButton(), QToolButton()
        prev_button.setDefaultAction(self.prev_action)
        next_button.setDefaultAction(self.next_action)
        for b in (prev_button, next_button):
            b.setAutoRaise(True)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._play_from = 0

        # the frame bar and the range slider share one column, so the in/out handles stand over the
        # frames they name (the slider's end labels would shift its groove: the bar's label has the count)
        self.range_slider.setEdgeLabelMode(self.range_slider.EdgeLabelMode.NoLabel)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for w in (prev_button, self.play_button, next_button):
            buttons.addWidget(w)
        layout = QGridLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setVerticalSpacing(2)
        layout.addLayout(buttons, 0, 0)
        layout.addWidget(self.bar, 0, 1)
        layout.addWidget(self.label, 0, 2)
        layout.addWidget(self.range_label, 1, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.range_slider, 1, 1)
        layout.setColumnStretch(1, 1)
        # with no video the slider had nothing to show but a lone handle mid-way and "0 0": hidden
        # then, keeping its place (the window does not jump when a video opens)
        keep = self.range_slider.sizePolicy()
        keep.setRetainSizeWhenHidden(True)
        self.range_slider.setSizePolicy(keep)
        self.range_slider.hide()
        self._enable(False)

    def _enable(self, on: bool) -> None:
        """The bar, its buttons and the Playback menu's actions, off while there is no video (the
        actions stayed on, so the menu offered Play and the buttons drew their icons as ready)."""
        self.setEnabled(on)
        for a in self.actions_for_menu():
            a.setEnabled(on)

    def _action(self, text, key, slot, icon_name=None) -> QAction:
        a = QAction(text, self, shortcut=QKeySequence(key))
        if icon_name:
            a.setIcon(icon(icon_name))
        a.triggered.connect(slot)
        return a

    def actions_for_menu(self) -> list[QAction]:
        return [self.play_action, self.prev_action, self.next_action, self.home_action, self.end_action,
                self.set_in_action, self.set_out_action]

    # --- model side --------------------------------------------------------------
    def set_length(self, count: int, fps: float, times: Optional[Sequence[float]] = None) -> None:
        """``times``: each frame's presentation time (seconds) where frame durations vary (a phone's
        variable frame rate): playback shows each frame for its own duration and the timecode is
        the frame's own time; None: frame ``i`` at ``i / fps``."""
        self.stop()
        self.count, self.fps = int(count), float(fps) or 25.0
        self.times = [t - times[0] for t in times] if times is not None and len(times) == self.count > 0 else None
        self.bar.count = self.count
        self.range_slider.blockSignals(True)
        self.range_slider.setRange(0, max(0, self.count - 1))
        self.range_slider.setValue((0, max(0, self.count - 1)))
        self.range_slider.blockSignals(False)
        self.range_slider.align_to_frames()
        self.range_slider.updateGeometry()  # (its labels are as wide as the frame count's digits)
        self._enable(self.count > 0)
        self.range_slider.setVisible(self.count > 0)
        self.set_range(0, self.count)
        self._show(0)

    def set_current(self, index: int) -> None:
        if self.count <= 0:
            return
        index = max(0, min(int(index), self.count - 1))
        if index != self.current:
            self._jumped(index)
            self.currentChanged.emit(index)

    def _show(self, index: int) -> None:
        self.current = index
        self.bar.current = index
        seconds = self.times[index] if self.times is not None else None
        self.label.setText(f"{index} / {self.count - 1}   {timecode(index, self.fps, seconds)}")
        self.bar.update()

    def _jumped(self, index: int) -> None:
        """Show ``index``, picked elsewhere than by playback (a click on the bar, Home, G): playing
        goes on from there (the next tick took it back to where the clock had got to)."""
        self._show(index)
        if self.playing:
            self._play_from = index
            self._clock.start()

    def show_current(self, index: int) -> None:
        """Follow the model without emitting (avoids signal loops)."""
        if index != self.current:
            self._jumped(index)

    def set_range(self, start: int, end: int) -> None:
        self.bar.start, self.bar.end = start, end
        value = (start, max(start, end - 1))
        if tuple(self.range_slider.value()) != value:
            self.range_slider.blockSignals(True)
            self.range_slider.setValue(value)
            self.range_slider.blockSignals(False)
        self.bar.update()

    def set_in_out(self, in_: int | None = None, out: int | None = None) -> None:
        """Move the in and/or out point (inclusive frames). A point set past the other lands where it
        is set all the same, and the other goes to the video's edge (an out point set before the in
        point took the in point's place, and an in point after the out point left one frame)."""
        a, b = self.range_slider.value()
        a = a if in_ is None else in_
        b = b if out is None else out
        if a > b:
            a, b = (0, b) if in_ is None else (a, self.count - 1)
        self.range_slider.setValue((a, b))

    def _range_moved(self, value) -> None:
        a, b = int(value[0]), int(value[1])
        self.bar.start, self.bar.end = a, b + 1
        self.bar.update()
        self.rangeChanged.emit(a, b + 1)

    def set_marks(self, frames) -> None:
        self.bar.marks = frozenset(frames)
        self.bar.update()

    def set_tracking(self, tracked, keyframes) -> None:
        """Frames the tracker filled (teal, under the mask marks) and keyframes (white diamonds)."""
        self.bar.tracked, self.bar.keys = frozenset(tracked), frozenset(keyframes)
        self.bar.update()

    def set_flagged(self, frames) -> None:
        """Frames to check after tracking, drawn in amber above the bar."""
        self.bar.flagged = frozenset(frames)
        self.bar.update()

    # --- playback and stepping ---------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def step(self, delta: int) -> None:
        self.stop()
        self.set_current(self.current + delta)

    def toggle_play(self) -> None:
        self.stop() if self.playing else self.play()

    def play(self) -> None:
        if self.count <= 1:
            return
        start, end = self.bar.start, self.bar.end
        if not start <= self.current < end - 1:
            self.set_current(start)
        self._play_from = self.current
        self._clock.start()
        shortest = min((b - a for a, b in zip(self.times, self.times[1:])), default=1 / self.fps) \
            if self.times is not None else 1 / self.fps
        self._timer.start(max(5, int(500 * min(shortest, 1 / self.fps))))  # tick at twice the frame rate
        self.play_action.setIcon(icon("pause"))
        self.playingChanged.emit(True)

    def stop(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.play_action.setIcon(icon("play"))
            self.playingChanged.emit(False)

    def _time_of(self, index: int) -> float:
        """When frame ``index`` shows (seconds from the first frame; ``count``: the end of the last)."""
        if self.times is None:
            return index / self.fps
        if index < self.count:
            return self.times[index]
        last = self.times[-1] - self.times[-2] if self.count > 1 else 1 / self.fps
        return self.times[-1] + last

    def _index_at(self, seconds: float) -> int:
        if self.times is None:
            return int(seconds * self.fps + 1e-6)
        return max(0, bisect_right(self.times, seconds + 1e-6) - 1)

    def _tick(self) -> None:
        # Follow the wall clock: if decoding falls behind, frames are skipped, not slowed.
        start, end = self.bar.start, self.bar.end
        now = self._time_of(self._play_from) + self._clock.elapsed() / 1000
        if now >= self._time_of(end):  # loop inside the in/out range
            self._play_from, target = start, start
            self._clock.start()
        else:
            target = self._index_at(now)
            if target < start:  # the in point was moved past the playhead while playing: start there
                self._play_from, target = start, start
                self._clock.start()
        if target != self.current:
            self._show(target)
            self.currentChanged.emit(target)


def bind_timeline(timeline: Timeline, project) -> None:
    def tracking_changed():
        if project.tracked is None:
            timeline.set_tracking([], [])
        else:  # a keyframe whose mask has been cleared since is none any more
            timeline.set_tracking(project.tracked.masked_frames(),
                                  [k for k in project.keyframes if not project.masks.is_empty(k)])

    def video_changed():
        reader = project.reader
        variable = reader is not None and getattr(reader, "variable_rate", False)
        timeline.set_length(project.n_frames, project.fps, reader.frame_times() if variable else None)
        timeline.set_marks(project.masks.masked_frames() if project.masks else [])
        tracking_changed()

    project.videoChanged.connect(video_changed)
    project.trackingChanged.connect(tracking_changed)
    project.currentChanged.connect(timeline.show_current)
    project.rangeChanged.connect(timeline.set_range)
    project.masksChanged.connect(lambda _: (timeline.set_marks(project.masks.masked_frames()), tracking_changed()))
    timeline.currentChanged.connect(project.set_current)
    timeline.rangeChanged.connect(project.set_range)
