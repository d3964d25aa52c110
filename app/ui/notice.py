"""A notice over the top of the picture: a refusal that needs no decision (nothing to preview,
a job still running, a selection not kept yet) said where the user is looking, with what to do,
and without a dialog to dismiss. It goes by itself after the time it takes to read (held while the
pointer is on it), at a click on it, or on ×; a click on it goes on to the picture beneath (a brush
stroke begun there paints), and so do the pointer's moves and the wheel (the brush outline follows,
the wheel zooms). From the keyboard: Esc dismisses it, before it drops a selection held on the
picture (the next Esc does that: a notice goes at a key without loss, Help > Show last notice brings it
back, where the clicks of a selection dropped are gone), unless the notice itself says what Esc does
("press Enter to keep it (Esc drops it)": Esc does that, the next Esc dismisses it); while a job runs
and no selection is held, Esc cancels the job (Cancel job's key). Help > Show last notice brings the last one back and holds it
until it is dismissed (to read a long one)."""
from __future__ import annotations

import re

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

from .deadline import DeadlineTimer

MARGIN = 8  # from the edges of the area it covers
#: how long it stays: the time to see it come (``NOTICE_MS``) and to read it (``MS_PER_CHAR``, about 16
#: characters a second, as the status bar's messages), at least ``SHORTEST_MS``, at most ``LONGEST_MS``
#: (Help > Recent messages keeps it); after the pointer leaves it, at least ``AFTER_HOVER_MS`` more
NOTICE_MS, MS_PER_CHAR, SHORTEST_MS, LONGEST_MS, AFTER_HOVER_MS = 1500, 60, 4000, 20_000, 2000


def reading_ms(text: str) -> int:
    """How long a notice saying ``text`` stays (78 characters: 6.2 s; 230: 15.3 s; 400: 20 s)."""
    return min(LONGEST_MS, max(SHORTEST_MS, NOTICE_MS + MS_PER_CHAR * len(text)))


class Notice(QFrame):
    """Shown over the top edge of ``area`` (a child of it, outside its layout: the picture under it
    does not move), as wide as the area and as tall as its text needs, word-wrapped."""

    def __init__(self, area: QWidget):
        super().__init__(area)
        self.setObjectName("Notice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setStyleSheet("#Notice { background: #4a3b16; border: 1px solid #c9a227; border-radius: 4px; }"
                           "#Notice QLabel { color: #f5e6b8; background: transparent; }")
        self.icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self.icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size))
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # (a path is shown as it is; Recent messages can copy it)
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss (Esc)")
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 4, 6)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        # (the time to read it is a floor: a coarse timer may fire up to 5 % early, 0.3 s of 6 s)
        self.timer = DeadlineTimer(self)
        self.timer.due.connect(self.dismiss)
        self.held_ms: int | None = None  # (the time it had left when the pointer came on it)
        self._beneath_last: QWidget | None = None  # (where the pointer's moves went: it is told when they stop)
        for w in (self, self.icon, self.label, self.close_button):
            w.setMouseTracking(True)  # (a move without a button reaches only a widget that tracks them)
        area.installEventFilter(self)  # (as wide as the area when it is resized)
        self.last = ""  # what it said last (``show_last``)
        self.last_action = QAction("Show last &notice", self)
        self.last_action.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.last_action.setToolTip("Show the last notice over the picture again, until Esc or × (Ctrl+Shift+N)")
        self.last_action.triggered.connect(self.show_last)
        self.last_action.setEnabled(False)
        self.hide()

    def show_text(self, text: str, timeout_ms: int | None = None) -> None:
        """Say ``text`` (replacing what it said), for ``timeout_ms``, by default the time it takes to
        read (``reading_ms``: it stayed 10 s whatever its length); held while the pointer is on it."""
        self.label.setText(text)
        self.setToolTip(text)
        self.last = text
        self.last_action.setEnabled(True)
        self.window().installEventFilter(self)  # (Esc: a key no widget in the window took reaches it)
        self._place()
        self.show()
        self.raise_()
        ms = reading_ms(text) if timeout_ms is None else timeout_ms
        if self.held_ms is not None:
            self.held_ms = ms  # (counted from when the pointer leaves)
        else:
            self.timer.start(ms)

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def show_last(self) -> None:
        """The last notice again (or the one shown, kept): held until Esc, × or a click on it, as
        long as it takes to read (it went after its reading time, with no key to keep it)."""
        if self.last:
            self.show_text(self.last)
            self.timer.stop()
            self.held_ms = None  # (nor does the pointer leaving it start a timer)

    def take_esc(self) -> bool:
        """Esc pressed where it would drop a selection on the picture: dismissed first, if shown, unless
        it names Esc itself (a notice saying what Esc does leaves Esc to that); True if it took it."""
        if not self.isVisible() or re.search(r"\bEsc\b", self.label.text()):
            return False
        self.dismiss()
        return True

    def dismiss(self) -> None:
        self.timer.stop()
        self.held_ms = None
        self._let_go()
        self.hide()

    def enterEvent(self, e):
        """The pointer on it: read, it stays (as a toast does) until the pointer leaves."""
        if self.timer.isActive():
            self.held_ms = self.timer.remainingTime()
            self.timer.stop()
        super().enterEvent(e)

    def leaveEvent(self, e):
        if self.held_ms is not None and self.isVisible():
            self.timer.start(max(self.held_ms, AFTER_HOVER_MS))
        self.held_ms = None
        self._let_go()
        super().leaveEvent(e)

    def mouseMoveEvent(self, e):
        """The pointer's moves over it go on to the picture beneath: its brush outline follows (the
        notice hid it, and the picture took the pointer's last place before it for where it is)."""
        target, at = self._beneath(e.globalPosition())
        if target is not self._beneath_last:
            self._let_go()
            self._beneath_last = target
        if target is not None and not e.buttons():
            QCoreApplication.sendEvent(target, QMouseEvent(QEvent.Type.MouseMove, at, at, e.globalPosition(),
                                                           Qt.MouseButton.NoButton, e.buttons(), e.modifiers(),
                                                           e.pointingDevice()))

    def wheelEvent(self, e):
        """The wheel over it zooms the picture beneath, as it does beside it."""
        target, at = self._beneath(e.globalPosition())
        if target is not None:
            QCoreApplication.sendEvent(target, QWheelEvent(at, e.globalPosition(), e.pixelDelta(), e.angleDelta(),
                                                           e.buttons(), e.modifiers(), e.phase(), e.inverted(),
                                                           e.source(), e.pointingDevice()))

    def _beneath(self, pos):
        """The widget under global ``pos`` as if the notice were not there, and ``pos`` in it."""
        area = self.parentWidget()
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        try:
            target = area.childAt(area.mapFromGlobal(pos.toPoint()))
        finally:
            self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        return target, (target.mapFromGlobal(pos) if target is not None else pos)

    def _let_go(self) -> None:
        """The pointer's moves went to the picture and stop: it is told the pointer left (its outline goes)."""
        target, self._beneath_last = self._beneath_last, None
        if target is not None:
            QCoreApplication.sendEvent(target, QEvent(QEvent.Type.Leave))

    def mousePressEvent(self, e):
        """A press on it: read, and gone; and the press goes to what is beneath, as if the notice had
        not been there (it covered the top of the picture and took a click or a stroke meant for it).
        Given to the window again, the press finds the picture, which keeps the mouse until release."""
        self.dismiss()
        top = self.window()
        handle = top.windowHandle()
        if handle is None:
            return
        at = top.mapFromGlobal(e.globalPosition())
        QCoreApplication.sendEvent(handle, QMouseEvent(QEvent.Type.MouseButtonPress, at, at, e.globalPosition(),
                                                       e.button(), e.buttons(), e.modifiers(), e.pointingDevice()))

    def eventFilter(self, obj, e) -> bool:
        if obj is self.parentWidget() and e.type() == QEvent.Type.Resize:
            self._place()
        elif (obj is self.window() and e.type() == QEvent.Type.KeyPress and e.key() == Qt.Key.Key_Escape
              and self.isVisible()):
            # (Esc not taken on its way here: no job's Cancel shortcut, no selection to drop, no
            # field's edit to undo; a shortcut would have made Cancel job's Esc ambiguous)
            self.dismiss()
            return True
        return False

    def _place(self) -> None:
        width = max(120, self.parentWidget().width() - 2 * MARGIN)
        self.setFixedSize(width, max(self.heightForWidth(width), self.minimumSizeHint().height()))
        self.move(MARGIN, MARGIN)
