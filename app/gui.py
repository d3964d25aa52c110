"""GUI entry point: ``run_gui(argv)`` starts the Qt application (``python main.py [PATH]``)."""
from __future__ import annotations

import sys
from pathlib import Path


def _excepthook(previous):
    """User errors raised in a slot become a dialog; anything else is a bug and keeps its traceback."""

    def hook(exc_type, exc, tb):
        from PySide6.QtWidgets import QApplication, QMessageBox

        from app.core.errors import InpaintError

        if issubclass(exc_type, InpaintError) and QApplication.instance() is not None:
            QMessageBox.critical(QApplication.activeWindow(), "STTN Inpaint", str(exc))
        else:
            previous(exc_type, exc, tb)

    return hook


def run_gui(argv: list[str] | None = None) -> int:
    """Open the main window, and ``argv[1]`` (a video, frame folder or project) if given."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.core.paths import resources_dir

    from .ui.appsettings import APP, ORG
    from .ui.main_window import MainWindow

    argv = list(sys.argv if argv is None else argv)
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setStyle("Fusion")  # the style sheet is written against Fusion on every platform
    style = resources_dir() / "style.qss"
    if style.exists():
        app.setStyleSheet(style.read_text())
    sys.excepthook = _excepthook(sys.excepthook)
    window = MainWindow()
    window.show()
    window.offer_recovery()
    paths = [a for a in argv[1:] if not a.startswith("-")]
    if paths:
        window.open_path(Path(paths[0]))
    return app.exec()
