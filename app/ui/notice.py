"""A notice over the top of the picture: a refusal that needs no decision (nothing to preview,
a job still running, a selection not kept yet) said where the user is looking, with what to do,
and without a dialog to dismiss. It goes by itself after a while, at a click on it, or on ×; a
click on it goes on to the picture beneath (a brush stroke begun there paints)."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

MARGIN = 8  # from the edges of the area it covers


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
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 4, 6)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.dismiss)
        area.installEventFilter(self)  # (as wide as the area when it is resized)
        self.hide()

    def show_text(self, text: str, timeout_ms: int = 10_000) -> None:
        """Say ``text`` (replacing what it said), for ``timeout_ms`` or longer for a long text
        (about 16 characters a second, as the status bar's messages)."""
        self.label.setText(text)
        self.setToolTip(text)
        self._place()
        self.show()
        self.raise_()
        self.timer.start(max(timeout_ms, 60 * len(text)))

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def dismiss(self) -> None:
        self.timer.stop()
        self.hide()

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
        return False

    def _place(self) -> None:
        width = max(120, self.parentWidget().width() - 2 * MARGIN)
        self.setFixedSize(width, max(self.heightForWidth(width), self.minimumSizeHint().height()))
        self.move(MARGIN, MARGIN)
