"""GUI entry point: ``run_gui(argv)`` starts the Qt application (``python main.py [PATH]``).

The GUI keeps a rotating log file in the user's log folder (``app.core.logfile``); uncaught
exceptions are written there with their traceback, for bug reports. Cyclic garbage is collected
on the GUI thread only (``app.ui.gcguard``).
"""
from __future__ import annotations

import ctypes
import logging
import os
import platform
import sys
from pathlib import Path
from typing import Callable, Optional

#: Only the log file listens here (propagate off): stderr already gets the traceback from Python's hook.
crash_log = logging.getLogger("app.crash")
crash_log.propagate = False


def _excepthook(previous):
    """User errors raised in a slot become a dialog; anything else is a bug and keeps its traceback."""

    def hook(exc_type, exc, tb):
        from PySide6.QtWidgets import QApplication, QMessageBox

        from app.core.errors import InpaintError

        if issubclass(exc_type, InpaintError) and QApplication.instance() is not None:
            crash_log.warning("%s", exc)
            QMessageBox.critical(QApplication.activeWindow(), "STTN Inpaint", str(exc))
        else:
            crash_log.error("uncaught exception", exc_info=(exc_type, exc, tb))
            previous(exc_type, exc, tb)

    return hook


def start_log_file():
    """The GUI's log file; a folder that cannot be written costs the log, never the application."""
    from app import __version__
    from app.core.errors import InpaintError
    from app.core.logfile import add_log_file

    try:
        handler = add_log_file()
    except InpaintError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return None
    if handler not in crash_log.handlers:
        crash_log.addHandler(handler)
    logging.getLogger("app").info("STTN Inpaint %s started (Python %s, %s)", __version__,
                                  platform.python_version(), platform.platform())
    return handler


def dark_palette():
    """Fusion draws check boxes, spin arrows and sliders from the palette; the .qss does the rest."""
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    roles = QPalette.ColorRole
    for role, color in ((roles.Window, "#23262d"), (roles.WindowText, "#dfe4ee"), (roles.Base, "#1a1c21"),
                        (roles.AlternateBase, "#2a2d35"), (roles.Text, "#dfe4ee"), (roles.Button, "#323642"),
                        (roles.ButtonText, "#dfe4ee"), (roles.Highlight, "#4a6fb8"),
                        (roles.HighlightedText, "#ffffff"), (roles.ToolTipBase, "#2a2d35"),
                        (roles.ToolTipText, "#dfe4ee"), (roles.PlaceholderText, "#7d8392"),
                        (roles.Light, "#4a4f5c"), (roles.Midlight, "#3a3e48"), (roles.Mid, "#2c2f37"),
                        (roles.Dark, "#15171b"), (roles.Shadow, "#0d0e10"), (roles.Link, "#7aa7ff")):
        pal.setColor(role, QColor(color))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6d7280"))
    return pal


def keep_singletons_alive() -> bool:
    """Make None, True and False immortal, as CPython 3.12 does (PEP 683), when this PySide6 build
    is found to drop references to them.

    PySide6 6.12.0 on CPython 3.11.7 returns True from ``Signal.emit`` and None from void methods
    without the reference it owes (a build that assumes 3.12's immortal objects): each call takes
    one away. The window makes such calls all the time (11 emits and 31 void calls a frame of
    playback), so True's count, about 11,700 at start, reached zero after 42 s of playback and the
    interpreter aborted ("bool_dealloc: deallocating True or False"). pyproject.toml keeps that
    build out before Python 3.12; an environment that has it anyway is found here by 64 probe
    calls of each kind, and the three objects, which are never freed, get a count that cannot
    reach zero. Returns whether it did that (never on 3.12+, other interpreters, debug builds or
    sound builds)."""
    global _immortal
    if _immortal or sys.implementation.name != "cpython" or sys.version_info >= (3, 12) \
            or hasattr(sys, "getobjects"):  # (Py_TRACE_REFS builds put other fields before the count)
        return False
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    true0, none0 = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(64):
        probe.ping.emit()
        probe.setObjectName("probe")
    lost = max(true0 - sys.getrefcount(True), none0 - sys.getrefcount(None))
    probe.deleteLater()
    if lost < 32:
        return False
    import ctypes

    for obj in (None, True, False):  # ob_refcnt is the object's first field
        ctypes.c_ssize_t.from_address(id(obj)).value += sys.maxsize >> 4
    _immortal = True
    import PySide6

    logging.getLogger("app").warning("PySide6 %s loses references to True/None on Python %s (%d in 64 calls); "
                                     "kept them alive. Install PySide6<6.12 or use Python 3.12+.",
                                     PySide6.__version__, platform.python_version(), lost)
    return True


_immortal = False
_style = None  # the application's style (make_app)

#: glibc's mallopt parameter for the most heaps ("arenas") malloc may make (malloc.h: M_ARENA_MAX)
M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Let glibc's malloc use at most ``arenas`` heaps; True if it was set here.

    By default each new thread that allocates gets a heap of its own, up to 8 per core (16 on two
    cores), and the window runs ~30 threads (workers, FFmpeg's decoders, x264, torch). Frames of
    varying sizes freed into so many heaps fragment them: clip after clip the process grew 1.7 MB
    a clip after its warm-up (51 MB over 32 clips, still growing after 120), memory that
    ``malloc_trim`` could not give back; with two heaps 0.04 MB a clip, 88 MB lower after 40 clips
    (docs/LOAD.md, "A long working session"). Call it before the worker threads start. Not glibc
    (macOS, Windows, musl) or ``MALLOC_ARENA_MAX`` set by the user: nothing is changed."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ \
            or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_ARENA_MAX, int(arenas)) == 1


def make_app(argv: list[str]):
    """The QApplication with this application's names, HiDPI policy and dark style sheet."""
    keep_singletons_alive()  # before any Qt call
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.core.paths import resources_dir

    from .ui.appsettings import APP, ORG

    app = QApplication.instance()
    if app is None:  # (the policy can only be set before the application exists)
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication([sys.argv[0], *argv])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    from .ui.icons import DimDisabledIcons

    global _style
    _style = DimDisabledIcons("Fusion")  # the style sheet is written against Fusion on every platform
    app.setStyle(_style)  # (kept here too: the application owns it, Python must not collect it)
    app.setPalette(dark_palette())
    style = resources_dir() / "style.qss"
    if style.exists():
        icons = (resources_dir() / "icons").as_posix()
        app.setStyleSheet(style.read_text().replace("@ICONS@", icons))
    return app


def close_on_interrupt(window) -> Optional[Callable[[], None]]:
    """Ctrl+C in the terminal that started the window closes it as File > Quit does (asking about
    unsaved work); a second Ctrl+C ends the program at once, as a kill would (the autosave keeps
    the work for the next start). Returns what undoes it, or None where it was not set up: not the
    main thread, or SIGINT not Python's (ignored by the shell that started us, or the user's own).

    Python's handler raised KeyboardInterrupt in whatever Qt slot ran next: a traceback was
    printed and the window went on. Qt's event loop runs no Python while it waits, so the signal
    also writes a byte to a socket (``signal.set_wakeup_fd``) that a QSocketNotifier watches: the
    handler runs at once, not at the next mouse move."""
    import signal
    import socket
    import threading

    from PySide6.QtCore import QSocketNotifier, QTimer

    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    wake_read, wake_write = socket.socketpair()
    for sock in (wake_read, wake_write):
        sock.setblocking(False)
    try:
        old_fd = signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
    except (ValueError, OSError):
        wake_read.close(), wake_write.close()
        return None
    notifier = QSocketNotifier(wake_read.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda *_: _drain(wake_read))  # (Python runs: the handler with it)
    seen = []

    def interrupted(signum, frame) -> None:
        seen.append(signum)
        if len(seen) > 1:  # the second: at once, as an unhandled Ctrl+C would end it
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
            return
        print("interrupted: closing the window (Ctrl+C again ends it at once; the autosave keeps "
              "unsaved work for the next start)", file=sys.stderr, flush=True)
        logging.getLogger("app").info("Ctrl+C in the terminal: closing the window")
        QTimer.singleShot(0, window.close)  # (not inside the handler: it may run in any Python code)

    signal.signal(signal.SIGINT, interrupted)

    def undo() -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(old_fd)
        notifier.setEnabled(False)
        wake_read.close(), wake_write.close()

    return undo


def _drain(sock) -> None:
    try:
        while sock.recv(512):
            pass
    except OSError:  # (nothing more to read)
        pass


def run_gui(argv: list[str] | None = None) -> int:
    """Open the main window; ``argv`` are the arguments after the program name (as app.cli
    passes ``sys.argv[1:]``): an optional video, frame folder or project file to open."""
    limit_malloc_arenas()  # (before any thread: each would get a heap of its own)
    from .ui.gcguard import GuiThreadCollector, freeze_startup_objects
    from .ui.main_window import MainWindow

    argv = list(sys.argv[1:] if argv is None else argv)
    start_log_file()
    app = make_app(argv)
    sys.excepthook = _excepthook(sys.excepthook)
    collector = GuiThreadCollector(app)  # before any worker thread exists
    window = MainWindow()
    window.show()
    freeze_startup_objects()
    window.offer_recovery()
    paths = [a for a in argv if not a.startswith("-")]
    if paths:
        window.open_path(Path(paths[0]))
    undo_interrupt = close_on_interrupt(window)
    try:
        return app.exec()
    finally:
        if undo_interrupt is not None:
            undo_interrupt()
        collector.stop()
        logging.getLogger("app").info("cycle collections on the GUI thread %s, longest %.3f s",
                                      collector.collections, collector.longest_s)
