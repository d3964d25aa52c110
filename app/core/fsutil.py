"""Atomic file writing: write beside the target, fsync, rename. A crash leaves the old file, and the
next start of the window deletes the half-written one (``sweep_orphans``)."""
from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import tempfile
from pathlib import Path

from .errors import OutputError
from .paths import user_data_dir

log = logging.getLogger(__name__)

#: where each process notes the folders it writes temporary files in (``_note_folder``)
JOURNAL = "writing"
_noted: tuple[int, set] = (0, set())  # (the process id, the (note, folder) pairs it wrote)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_temp_beside(path: Path, tag: str) -> Path:
    """An empty temporary file next to ``path`` (same filesystem, so a rename is atomic):
    ``.STEM.PID-XXXXXXXX.TAG.partSUFFIX``, the process id for ``remove_orphans`` and ``sweep_orphans``.

    mkstemp creates files readable by the owner only; the final file should get the
    permissions any new file of the user gets, so the mode follows the umask.
    """
    _note_folder(path.parent)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem[:40]}.{os.getpid()}-", suffix=f".{tag}.part{path.suffix}",
                                    dir=path.parent)
    except OSError as exc:
        raise OutputError(f"Cannot write in {path.parent} ({exc.strerror}); choose another folder.") from None
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


def _note_folder(folder: Path) -> None:
    """Note, once per process and folder, that this process writes temporary files in ``folder``
    (``<user data>/writing/<pid>.txt``, a line each), so that the next start finds what it left if it
    is killed mid-write (``sweep_orphans``); a clean exit deletes the note. Never fails a write."""
    global _noted
    pid = os.getpid()
    if _noted[0] != pid:  # (a forked child notes its own)
        _noted = (pid, set())
    folder, note = str(Path(folder).absolute()), user_data_dir() / JOURNAL / f"{pid}.txt"
    if (note, folder) in _noted[1]:
        return
    try:
        note.parent.mkdir(parents=True, exist_ok=True)
        with open(note, "a", encoding="utf-8") as f:
            f.write(folder + "\n")
    except OSError:
        return
    if not any(seen == note for seen, _ in _noted[1]):
        atexit.register(_forget_note, pid, note)
    _noted[1].add((note, folder))


def _forget_note(pid: int, note: Path) -> None:
    if os.getpid() == pid:  # (atexit runs in a forked child too)
        with contextlib.suppress(OSError):
            note.unlink()


def sweep_orphans() -> int:
    """Delete the temporary files that processes killed mid-write (kill -9, the OOM killer, a
    power cut) left in the folders they noted (``_note_folder``): a half-written export beside its
    output, a save's or autosave's files, a checkpoint; each as big as what it had written, hidden,
    and never removed otherwise. Files of a process still running are kept. Returns how many went."""
    gone = 0
    try:
        notes = list((user_data_dir() / JOURNAL).glob("*.txt"))
    except OSError:
        return 0
    for note in notes:
        if not note.stem.isdigit() or int(note.stem) == os.getpid() or not process_gone(int(note.stem)):
            continue
        try:
            folders = set(note.read_text(encoding="utf-8").splitlines())
        except (OSError, ValueError):
            folders = set()
        for folder in folders:
            gone += _remove_temps(Path(folder), int(note.stem))
        with contextlib.suppress(OSError):
            note.unlink()
    return gone


def _remove_temps(folder: Path, pid: int) -> int:
    """Delete the temporary files (``make_temp_beside``) of process ``pid`` in ``folder``."""
    pattern, gone = re.compile(rf"\..*\.{pid}-\w+\.\w+\.part(\.\w+)?"), 0
    try:
        names = [p.name for p in folder.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return 0
    for name in names:
        try:
            (folder / name).unlink()
        except OSError:
            continue
        log.info("deleted %s, left by a process killed while writing it", folder / name)
        gone += 1
    return gone


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
    why = cannot_write_in(parent)
    if why:
        raise OutputError(f"Cannot write {path}: folder {parent} is not writable ({why}); choose another path.")
    return path


def cannot_write_in(folder) -> str:
    """Why no file can be made in the existing ``folder`` ("" when one can), found by making and
    removing one: ``os.access`` says yes to root under /proc or on a file system mounted read-only,
    and the refusal then came only when the output was written, after the work."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".write-test.{os.getpid()}-", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return ""


def fsync_path(path) -> None:
    """Flush the file ``path`` to the disk (its data and size), as a rename after it expects."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any exception (including cancel) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    tmp = make_temp_beside(path if suffix is None else path.with_suffix(suffix), "tmp")
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
