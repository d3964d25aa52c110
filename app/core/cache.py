"""The cache folder: files the application can always rebuild, kept under a size limit.

Everything lives under ``paths.user_cache_dir()``, one subfolder per kind (``SUBFOLDERS``):

* ``train-frames``: clips decoded once at the training size (``train.dataset.FrameCache``),
  the default of ``TrainConfig.cache_dir``;
* ``results``: inpainted frames the GUI shows, one folder per open project (``ui.results``).

``enforce_limit`` deletes the least recently used files (the later of access and modification
time) until the folder is under the limit; files in use (``keep``) and files written in the
last ``grace_s`` seconds (a clip being decoded, a frame being saved) are never deleted, so the
folder can stay above the limit while they are. ``clear_cache`` deletes everything but files in
use and temporary files being written. Both leave alone every folder a running process holds
(``Hold``: a window's results, which it shows and exports), whichever process clears or trims.
Deleting a cache file loses nothing but the time to rebuild it.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from .paths import user_cache_dir

if os.name == "nt":
    import msvcrt

    def _try_lock(f) -> bool:
        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(f) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(f) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(f) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)

SUBFOLDERS = {
    "train-frames": "decoded training clips",
    "results": "inpainted frames shown in the GUI",
}
#: Files directly in the cache folder or in folders not named in SUBFOLDERS.
OTHER = "other"
DEFAULT_LIMIT_BYTES = 5 * 1024 ** 3
#: enforce_limit leaves files modified this recently alone: another thread may be writing them.
GRACE_S = 60.0
#: The file a folder in use holds locked (``Hold``).
IN_USE = ".in-use.lock"


def cache_dir(name: Optional[str] = None) -> Path:
    """The cache folder, or one of its ``SUBFOLDERS`` (not created here)."""
    if name is not None and name not in SUBFOLDERS:
        raise ValueError(f"unknown cache folder {name!r}; one of {', '.join(SUBFOLDERS)}")
    root = user_cache_dir()
    return root / name if name else root


@dataclass
class Removed:
    """What an eviction or a clear deleted; ``failed`` lists 'path: reason' for files it could not;
    ``in_use``: the folders left alone because a running process holds them (``Hold``)."""

    files: int = 0
    bytes: int = 0
    failed: list = field(default_factory=list)
    in_use: int = 0


class Hold:
    """Keeps a folder of the cache from ``clear_cache`` and ``enforce_limit``, of this process or
    another one (`sttn-inpaint cache clear`, a second window), until ``release``. The lock is the
    operating system's on an open file (``IN_USE``), so a crashed process holds it no more and its
    folder is cleared as any other."""

    def __init__(self, folder):
        self.path = Path(folder) / IN_USE
        self._file = open(self.path, "a+b")  # (an unusable folder raises: nothing could be kept there)
        _try_lock(self._file)

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                _unlock(self._file)
            self._file.close()
            self._file = None


def held(folder) -> bool:
    """Whether a running process holds ``folder`` (``Hold``)."""
    try:
        f = open(Path(folder) / IN_USE, "rb")
    except OSError:
        return False
    with f:
        if not _try_lock(f):
            return True
        _unlock(f)
        return False


def _held_below(root: Path) -> list:
    return [Path(d) for d, _dirs, names in os.walk(root) if IN_USE in names and held(d)]


def _walk(root: Path):
    """(path, stat) of every regular file below ``root``; vanished files are skipped."""
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            try:
                st = path.stat(follow_symlinks=False)
            except OSError:
                continue
            if not path.is_symlink():
                yield path, st


def folder_size(path) -> int:
    """Bytes of the regular files below ``path`` (0 when it does not exist)."""
    return sum(st.st_size for _, st in _walk(Path(path)))


def _kind(path: Path, root: Path) -> str:
    top = path.relative_to(root).parts[0]
    return top if top in SUBFOLDERS and (root / top) != path else OTHER


def cache_usage(root: Optional[Path] = None) -> dict:
    """Bytes per subfolder: every name of ``SUBFOLDERS`` (0 when empty), then ``OTHER`` if not empty."""
    root = Path(root) if root else cache_dir()
    usage = dict.fromkeys(SUBFOLDERS, 0)
    for path, st in _walk(root):
        kind = _kind(path, root)
        usage[kind] = usage.get(kind, 0) + st.st_size
    return usage


def _kept(path: Path, keep: list) -> bool:
    return any(path == k or k in path.parents for k in keep)


def _being_written(path: Path, st: os.stat_result, grace_s: float) -> bool:
    """A hidden temporary file (``fsutil.atomic_path``, ``ResultCache.put``) modified lately."""
    return path.name.startswith(".") and ".tmp" in path.name and st.st_mtime > time.time() - grace_s


def _resolved(paths: Iterable) -> list:
    return [Path(p).resolve() for p in paths if p is not None]


def _keep(root: Path, keep: Iterable, removed: Removed) -> list:
    """``keep`` and the folders below ``root`` a running process holds (counted in ``removed``)."""
    held_here = _held_below(root)
    removed.in_use = len(held_here)
    return _resolved(keep) + held_here


def _delete(files: list, removed: Removed) -> None:
    for path, st in files:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:  # e.g. open in another program on Windows
            removed.failed.append(f"{path}: {exc.strerror or exc}")
            continue
        removed.files += 1
        removed.bytes += st.st_size


def _prune(root: Path, keep: list) -> None:
    """Remove empty folders below ``root`` that are not kept and hold nothing kept."""
    for dirpath, _dirs, _names in sorted(os.walk(root), key=lambda w: -len(w[0])):
        here = Path(dirpath)
        if here == root or any(here == k or here in k.parents for k in keep):
            continue
        try:
            here.rmdir()
        except OSError:
            pass  # not empty, or gone


def enforce_limit(limit_bytes: Optional[int] = DEFAULT_LIMIT_BYTES, keep: Iterable = (), grace_s: float = GRACE_S,
                  root: Optional[Path] = None) -> Removed:
    """Delete least recently used files until the cache holds at most ``limit_bytes``.

    ``keep``: files or folders in use (never deleted, still counted), besides the folders held by
    a running process (``Hold``). ``None`` as the limit deletes nothing.
    """
    root = (Path(root) if root else cache_dir()).resolve()
    removed = Removed()
    if limit_bytes is None or not root.is_dir():
        return removed
    files = list(_walk(root))
    keep = _keep(root, keep, removed)
    total = sum(st.st_size for _, st in files)
    recent = time.time() - grace_s
    candidates = sorted(((p, st) for p, st in files if not _kept(p, keep) and st.st_mtime < recent),
                        key=lambda f: max(f[1].st_atime, f[1].st_mtime))
    chosen = []
    for path, st in candidates:
        if total <= limit_bytes:
            break
        chosen.append((path, st))
        total -= st.st_size
    _delete(chosen, removed)
    _prune(root, keep)
    return removed


def clear_cache(names: Optional[Iterable[str]] = None, keep: Iterable = (), grace_s: float = GRACE_S,
                root: Optional[Path] = None) -> Removed:
    """Delete the cache (or only the ``SUBFOLDERS`` in ``names``), except the files in ``keep``, the
    folders held by a running process (``Hold``) and temporary files being written (modified in the
    last ``grace_s`` seconds)."""
    root = (Path(root) if root else cache_dir()).resolve()
    removed = Removed()
    if not root.is_dir():
        return removed
    keep = _keep(root, keep, removed)
    wanted = None if names is None else set(names)
    if wanted is not None and wanted - set(SUBFOLDERS):
        raise ValueError(f"unknown cache folder {sorted(wanted - set(SUBFOLDERS))[0]!r}")
    files = [(p, st) for p, st in _walk(root)
             if not _kept(p, keep) and not _being_written(p, st, grace_s)
             and (wanted is None or _kind(p, root) in wanted)]
    _delete(files, removed)
    _prune(root, keep)
    return removed


def format_size(n: float) -> str:
    """1536 -> '1.5 KB' (powers of 1024, as most file managers count)."""
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1024
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}"
