"""The cache folder: files the application can always rebuild, kept under a size limit.

Everything lives under ``paths.user_cache_dir()``, one subfolder per kind (``SUBFOLDERS``):

* ``train-frames``: clips decoded once at the training size (``train.dataset.FrameCache``),
  the default of ``TrainConfig.cache_dir``;
* ``results``: inpainted frames the GUI shows, one folder per open project (``ui.results``).

``enforce_limit`` deletes the least recently used files (the later of access and modification
time) until the folder is under the limit; files in use (``keep``) and files written in the
last ``grace_s`` seconds (a clip being decoded, a frame being saved) are never deleted, so the
folder can stay above the limit while they are. ``clear_cache`` deletes everything but files in
use and temporary files being written.
Deleting a cache file loses nothing but the time to rebuild it.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from .paths import user_cache_dir

SUBFOLDERS = {
    "train-frames": "decoded training clips",
    "results": "inpainted frames shown in the GUI",
}
#: Files directly in the cache folder or in folders not named in SUBFOLDERS.
OTHER = "other"
DEFAULT_LIMIT_BYTES = 5 * 1024 ** 3
#: enforce_limit leaves files modified this recently alone: another thread may be writing them.
GRACE_S = 60.0


def cache_dir(name: Optional[str] = None) -> Path:
    """The cache folder, or one of its ``SUBFOLDERS`` (not created here)."""
    if name is not None and name not in SUBFOLDERS:
        raise ValueError(f"unknown cache folder {name!r}; one of {', '.join(SUBFOLDERS)}")
    root = user_cache_dir()
    return root / name if name else root


@dataclass
class Removed:
    """What an eviction or a clear deleted; ``failed`` lists 'path: reason' for files it could not."""

    files: int = 0
    bytes: int = 0
    failed: list = field(default_factory=list)


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

    ``keep``: files or folders in use (never deleted, still counted). ``None`` as the limit
    deletes nothing.
    """
    root = (Path(root) if root else cache_dir()).resolve()
    removed = Removed()
    if limit_bytes is None or not root.is_dir():
        return removed
    keep = _resolved(keep)
    files = list(_walk(root))
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
    """Delete the cache (or only the ``SUBFOLDERS`` in ``names``), except the files in ``keep``
    and temporary files being written (modified in the last ``grace_s`` seconds)."""
    root = (Path(root) if root else cache_dir()).resolve()
    removed = Removed()
    if not root.is_dir():
        return removed
    keep = _resolved(keep)
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
