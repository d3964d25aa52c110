"""Downloading SAM checkpoints: streamed, cancellable, digest-checked, written atomically.

The file appears in the models folder only when it is complete and matches its SHA-256 (known
for the three official files; a mirror must serve the same bytes), so a cancelled, broken or
wrong download never leaves a file that would later fail to load or give other masks.
"""
from __future__ import annotations

import hashlib
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from ..errors import SegmentError
from ..fsutil import atomic_path
from ..jobs import CancelToken, ProgressClock, ProgressFn
from ..paths import user_data_dir
from .sam import SAM_CHECKPOINTS


def models_dir() -> Path:
    """Where downloaded model files go: ``user_data_dir() / "models"``."""
    return user_data_dir() / "models"


def download_file(url: str, dest, sha256: Optional[str] = None, progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelToken] = None, timeout: float = 30.0, chunk: int = 1 << 20,
                  size: Optional[int] = None) -> Path:
    """Stream ``url`` to ``dest``; progress counts bytes (total 0 when neither the server nor
    ``size`` gives one). ``size``: the file's known length; a server that announces another is
    refused before anything is fetched (a mirror's other file, an error page).

    Raises ``SegmentError`` on network/HTTP errors, a wrong size, truncation or a digest mismatch,
    and ``Cancelled`` on cancel; in every failure ``dest`` is left as it was.
    """
    dest = Path(dest).expanduser()
    name = dest.name
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SegmentError(f"Cannot create the models folder {dest.parent}: {exc.strerror}.") from None
    try:
        resp = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise SegmentError(f"Download of {name} failed: the server answered HTTP {exc.code} {exc.reason}; "
                           f"try again later or place the file in {dest.parent} by hand.") from None
    except (urllib.error.URLError, socket.timeout, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SegmentError(f"Download of {name} failed: cannot reach {url} ({reason}); "
                           f"check the connection or place the file in {dest.parent} by hand.") from None
    with resp:
        total = int(resp.headers.get("Content-Length") or 0)
        if size and total and total != size:
            raise SegmentError(f"{url} is not {name}: the server offers {total:,} bytes, the file has {size:,}; "
                               f"check the URL, or place the file in {dest.parent} by hand.")
        total = total or size or 0
        clock = ProgressClock(progress, total, f"downloading {name}")
        digest = hashlib.sha256()
        done = 0
        with atomic_path(dest) as tmp:
            with open(tmp, "wb") as out:
                while True:
                    if cancel is not None:
                        cancel.check()
                    try:
                        block = resp.read(chunk)
                    except (socket.timeout, OSError) as exc:
                        raise SegmentError(f"Download of {name} broke off after {done} bytes ({exc}); "
                                           "try again.") from None
                    if not block:
                        break
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    clock.report(done)
            if total and done != total:
                raise SegmentError(f"Download of {name} is incomplete ({done} of {total} bytes); try again.")
            got = digest.hexdigest()
            if sha256 and got.lower() != sha256.lower():
                raise SegmentError(f"Downloaded {name} is corrupt (SHA-256 {got[:16]}... instead of "
                                   f"{sha256[:16]}...); nothing was saved: try again, or place a copy you "
                                   f"trust in {dest.parent} by hand.")
    return dest


def download_sam_checkpoint(model_type: str = "vit_b", dest_dir=None, url: Optional[str] = None,
                            sha256: Optional[str] = None, progress: Optional[ProgressFn] = None,
                            cancel: Optional[CancelToken] = None, timeout: float = 30.0) -> Path:
    """Fetch an official SAM checkpoint into ``dest_dir`` (default ``models_dir()``); returns its path.

    ``url`` replaces the official address (a mirror: it must serve the same file, checked against
    the table's SHA-256 and size); ``sha256`` replaces the table's digest and drops its size (a
    file of your own, tests). An existing file is reused when it has the right size and digest.
    """
    if model_type not in SAM_CHECKPOINTS:
        raise SegmentError(f"Unknown SAM model type {model_type!r}; use vit_b, vit_l or vit_h.")
    ck = SAM_CHECKPOINTS[model_type]
    dest = Path(dest_dir).expanduser() if dest_dir is not None else models_dir()
    dest = dest / ck.filename
    size = None if sha256 else ck.size
    sha256 = sha256 or ck.sha256
    if (dest.is_file() and (size is None or dest.stat().st_size == size)
            and (sha256 is None or _sha256_file(dest, cancel) == sha256.lower())):
        return dest
    return download_file(url or ck.url, dest, sha256, progress, cancel, timeout, size=size)


def _sha256_file(path: Path, cancel: Optional[CancelToken] = None) -> str:
    """(Cancellable: reading ViT-H's 2.56 GB takes seconds, and closing the dialog waits for it.)"""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            if cancel is not None:
                cancel.check()
            h.update(block)
    return h.hexdigest()
