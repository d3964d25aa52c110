"""User-facing errors. Each carries one sentence that says what went wrong and what to do.

The CLI prints ``str(error)`` on one line and exits non-zero; the GUI shows it in a dialog.
Anything that is not an ``InpaintError`` is a bug and may show a traceback.
"""
from __future__ import annotations

import re


def short(exc: BaseException) -> str:
    """An exception as a short detail for a one-line message: its first line (at most 160
    characters) without the ``[Errno N]`` in front (FFmpeg's are numbers such as 1094995529 that
    say nothing to a user), or its type's name where it has no text or only a key or index (KeyError 7).
    An FFmpeg error (PyAV's) gives its reason alone: what PyAV adds after it is the name of the
    FFmpeg function that failed ('avcodec_send_packet()') or the file's path, which the message
    names already; of a codec that would not start ('avcodec_open2("libx265", {...})') the codec's name."""
    reason = getattr(exc, "strerror", None)
    if type(exc).__module__.split(".")[0] == "av" and isinstance(reason, str) and reason.strip():
        codec = re.match(r'\w+\("([\w.-]+)"', str(getattr(exc, "filename", "") or ""))
        return (reason.strip().splitlines()[0] + (f" ({codec[1]})" if codec else ""))[:160]
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    first = re.sub(r"^\[Errno -?\d+\]\s*", "", text[0])
    return (f"{type(exc).__name__} {first}" if isinstance(exc, LookupError) else first)[:160]


class InpaintError(Exception):
    """Base class: the message is meant for the user."""

    exit_code = 2


class VideoError(InpaintError):
    """A video cannot be opened, decoded or written."""


class MaskError(InpaintError):
    """Masks are missing, unreadable, or do not fit the video."""


class WeightsError(InpaintError):
    """A weights file is missing, unreadable, or not an STTN generator."""


class OutputError(InpaintError):
    """The output path cannot be written (or would overwrite the input)."""


class DataError(InpaintError):
    """Training data is missing or unusable."""


class Cancelled(InpaintError):
    """The user cancelled the job; nothing partial was left behind."""

    exit_code = 130


class SegmentError(InpaintError):
    """A segmentation model is missing or unusable, or a download of one failed."""
