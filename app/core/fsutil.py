"""Atomic file writing: write beside the target, fsync, rename. A crash leaves the old file."""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from .errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_temp_beside(path: Path, tag: str) -> Path:
    """An empty temporary file next to ``path`` (same filesystem, so a rename is atomic):
    ``.STEM.PID-XXXXXXXX.TAG.partSUFFIX``, the process id for ``remove_orphans``.

    mkstemp creates files readable by the owner only; the final file should get the
    permissions any new file of the user gets, so the mode follows the umask.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem[:40]}.{os.getpid()}-", suffix=f".{tag}.part{path.suffix}",
                                    dir=path.parent)
    except OSError as exc:
        raise OutputError(f"Cannot write in {path.parent} ({exc.strerror}); choose another folder.") from None
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


def process_gone(pid: int) -> bool:
    """Whether no process has this id (POSIX; elsewhere never said: os.kill would end it there)."""
    if os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # (alive, another user's)
        return False
    return False


def remove_orphans(path) -> None:
    """Delete the temporary files (``make_temp_beside``) that writers of ``path`` left when killed
    before renaming them (kill -9, the OOM killer, a power cut): hidden, as big as what they had
    written, and never removed otherwise. Those of a process still running are kept."""
    path = Path(path)
    prefix = f".{path.stem[:40]}."
    try:
        names = [p.name for p in path.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for name in names:
        found = re.fullmatch(r"(\d+)-\w+\.\w+\.part(\.\w+)?", name[len(prefix):])
        if found and process_gone(int(found[1])):
            with contextlib.suppress(OSError):
                (path.parent / name).unlink()


def check_writable(path, inputs=()) -> Path:
    """Refuse an output that would overwrite an input, or that lies in a folder we cannot write."""
    path = Path(path).expanduser()
    for inp in inputs:
        if inp is None:
            continue
        try:
            if Path(inp).exists() and path.exists() and os.path.samefile(path, inp):
                raise OutputError(f"Output {path} is the input file; choose another output path.")
        except OSError:
            pass
        if Path(inp).expanduser().resolve() == path.resolve():
            raise OutputError(f"Output {path} is the input file; choose another output path.")
    try:
        return _writable(path)
    except OSError as exc:  # (a name longer than the file system takes, say)
        raise OutputError(f"Cannot write {path.name[:40]}…: {exc.strerror}; choose a shorter name or another "
                          "folder.") from None


def _writable(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"Cannot write {path}: folder {parent} does not exist; create it or choose another path.")
    if not parent.is_dir():
        raise OutputError(f"Cannot write {path}: {parent} is a file, not a folder; choose another path.")
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: it is a folder; give a file name.")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"Cannot write {path}: folder {parent} is not writable; choose another path.")
    return path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any exception (including cancel) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    tmp = make_temp_beside(path if suffix is None else path.with_suffix(suffix), "tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
