"""A read-only text in a dialog with a Close button (Help > Keyboard and mouse, Recent messages)."""
from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget


def text_dialog(parent, title: str, view: QWidget, width: int, height: int) -> QDialog:
    """``view`` (a QTextBrowser or read-only QPlainTextEdit, as ``dialog.view``) above Close, sized
    ``width`` x ``height`` at most 85 % of the screen (a 768-line laptop screen)."""
    d = QDialog(parent)
    d.setWindowTitle(title)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(d.reject)
    layout = QVBoxLayout(d)
    layout.addWidget(view)
    layout.addWidget(buttons)
    screen = ((parent.screen() if parent is not None else None) or QGuiApplication.primaryScreen()).availableGeometry()
    d.resize(min(width, int(screen.width() * 0.85)), min(height, int(screen.height() * 0.85)))
    d.view = view
    return d
