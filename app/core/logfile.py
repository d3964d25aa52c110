"""A rotating log file in the user's log folder: the GUI always keeps one, the CLI with ``--log-file``.

The file takes INFO and above (``-v`` on the command line only changes what stderr shows);
what stderr showed before the file was added stays exactly the same.
"""
from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Optional

from .errors import OutputError
from .paths import user_log_dir

LOG_NAME = "sttn-inpaint.log"
MAX_BYTES = 1 << 20
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def default_log_file() -> Path:
    return user_log_dir() / LOG_NAME


def add_log_file(path=None, level: int = logging.INFO, max_bytes: int = MAX_BYTES,
                 backups: int = BACKUPS) -> RotatingFileHandler:
    """Log to ``path`` (default: ``default_log_file()``), rotating at ``max_bytes`` into ``backups``
    older files (name.log.1 ...). Adding the same file twice returns the first handler.

    Raises OutputError when the file cannot be opened.
    """
    path = (Path(path).expanduser() if path else default_log_file()).resolve()
    root = logging.getLogger()
    for h in root.handlers:
        if isinstance(h, RotatingFileHandler) and h.baseFilename == str(path):
            return h
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"Cannot write the log file {path} ({exc.strerror or exc}); choose another path.") from None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(level)
    # The other handlers showed what passed the root's level; keep it so, then let the file see more.
    handler.restore = (root.level, [(h, h.level) for h in root.handlers])
    for h in root.handlers:
        h.setLevel(max(h.level, root.level))
    if root.level > level:
        root.setLevel(level)
    root.addHandler(handler)
    return handler


def remove_log_file(handler: Optional[RotatingFileHandler]) -> None:
    """Close ``handler`` and give the root logger and its other handlers their levels back."""
    if handler is None:
        return
    root = logging.getLogger()
    root.removeHandler(handler)
    handler.close()
    level, others = getattr(handler, "restore", (root.level, []))
    root.setLevel(level)
    for h, old in others:
        h.setLevel(old)
