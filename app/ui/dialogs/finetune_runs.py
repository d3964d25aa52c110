"""The fine-tune page's run folders, ``<user data>/finetune/<date-time>/``: how the window names
their weights (``weights_label``), what the old ones take on disk and deleting them (no Qt here).

A run folder holds ``checkpoints/last.pt`` (both networks and both optimisers: about 400 MB for
the real model), the weights written out (``finetuned.pth``), ``metrics.jsonl`` and ``run.json``
(settings, and whether the run finished). A finished run's checkpoint is deleted when it
finishes (``drop_checkpoint``); "Delete old runs" deletes the rest of the runs, never

* the run in progress, nor an unfinished run whose files changed in the last ``ACTIVE_SECONDS``
  (it may be training in another window of the program),
* the newest run if it did not finish (what Continue carries on),
* a weights file in use (Settings' weights, the weights the page just wrote): in its run folder
  only the checkpoint and the samples go; the weights, ``run.json`` and ``metrics.jsonl`` stay,
  and the page says why the run stays (``held_runs``).

A run with none of these goes as a whole folder. Decoded clips are not in run folders (they are
in the cache, ``train-frames``), so deleting runs never makes the next run decode them again.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from app.core.cache import format_size
from app.core.paths import user_data_dir

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
WEIGHTS_FILE = "finetuned.pth"
#: what stays of a run whose weights are in use: the weights and the record of how they were made
RECORD_FILES = (WEIGHTS_FILE, RUN_FILE, "metrics.jsonl")
#: why the weights chosen in Settings stay when old runs are deleted
IN_USE = "its weights are in use (to delete them, choose other weights in Settings > General first)"
#: how an unfinished run stopped (``run.json``'s "how"; a run killed has none): Stop was pressed, the
#: window was closed during it
STOPPED, CLOSED, KILLED = "stop", "closed", "killed"
#: an unfinished run with a file changed this recently may be training in another window
ACTIVE_SECONDS = 15 * 60
#: the page's folder names: time.strftime("%Y%m%d-%H%M%S"), "-2", "-3"... after it for another run started
#: in the same second
_RUN_NAME = re.compile(r"(\d{8})-(\d{6})(?:-(\d+))?")


def runs_root() -> Path:
    return user_data_dir() / "finetune"


def run_files() -> list:
    """The ``run.json`` of every run folder, oldest first (by when it was last written)."""
    root = runs_root()
    found = []
    for path in root.glob(f"*/{RUN_FILE}") if root.is_dir() else ():
        try:
            found.append((path.stat().st_mtime, path))
        except OSError:
            continue  # (deleted meanwhile)
    return [path for _, path in sorted(found)]


def read_run(run_file: Path) -> Optional[dict]:
    """The record of a run (``config``, ``finished``); None when unreadable."""
    try:
        record = json.loads(run_file.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def run_title(folder: Path) -> Optional[str]:
    """When the page started the run in ``folder``, "2026-11-28 11:58" (from the folder's name), with
    the seconds where another run with weights started in the same minute ("2026-11-28 11:58:07")
    and "#2" for a second run started in the same second: two runs never read the same. None for a
    folder the page did not name."""
    match = _RUN_NAME.fullmatch(folder.name)
    if match is None:
        return None
    day, clock, again = match.groups()
    title = f"{day[:4]}-{day[4:6]}-{day[6:]} {clock[:2]}:{clock[2:4]}"
    try:
        same_minute = [p for p in folder.parent.glob(f"{day}-{clock[:4]}*")
                       if p.name != folder.name and _RUN_NAME.fullmatch(p.name) and (p / WEIGHTS_FILE).exists()]
    except OSError:
        same_minute = []
    if same_minute or again:
        title += f":{clock[4:]}"
    return title + (f" #{again}" if again else "")


def new_run_folder(root: Path, now: Optional[float] = None) -> Path:
    """A run folder's path not taken yet: ``root/<date-time>``, or ``-2``, ``-3``... after it when a
    run was started in the same second (Start pressed again at once)."""
    base = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    folder, n = root / base, 1
    while folder.exists():
        n += 1
        folder = root / f"{base}-{n}"
    return folder


def _last_step(metrics: Path) -> Optional[int]:
    try:
        lines = metrics.read_text().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):
            continue  # (a line cut short by a kill)
    return None


def step_seconds(device_type: str, newest: int = 5) -> Optional[float]:
    """Seconds a training step took in the newest run (of the last ``newest``) on a device of
    ``device_type`` ("cpu", "cuda") that logged a step: the median of its ``metrics.jsonl``'s
    ``sec_per_step`` (the median, so a first step's warm-up does not sway it). None when there is no
    such run."""
    from app.core.engine import resolve_device
    from app.core.errors import InpaintError

    for run_file in reversed(run_files()[-newest:]):
        try:
            device = resolve_device(str(((read_run(run_file) or {}).get("config") or {}).get("device", "auto")))
            lines = (run_file.parent / "metrics.jsonl").read_text().splitlines()
        except (InpaintError, OSError, AttributeError):
            continue
        if device.type != device_type:
            continue
        times = []
        for line in lines:
            try:
                value = json.loads(line).get("sec_per_step")
            except (ValueError, AttributeError):
                continue  # (a line cut short by a kill)
            if isinstance(value, (int, float)) and value > 0:
                times.append(float(value))
        if times:
            return sorted(times)[len(times) // 2]
    return None


def where_stopped(folder: Path) -> tuple:
    """(step, how, said) of an unfinished run: the step its checkpoint holds (Continue's start),
    how it stopped (STOPPED, CLOSED or KILLED: ``run.json`` says nothing of it) and whether the
    window has said so at a start since (``mark_said``). step is None when the checkpoint is
    unreadable."""
    record = read_run(folder / RUN_FILE) or {}
    step, how = record.get("stopped_at"), record.get("how")
    if not isinstance(step, int) or how not in (STOPPED, CLOSED):
        step, how = _checkpoint_step(folder / "checkpoints" / "last.pt"), KILLED
    return step, how, bool(record.get("said"))


def _checkpoint_step(path: Path) -> Optional[int]:
    import torch

    try:  # (mapped, not read: a checkpoint of the real model is about 400 MB)
        step = torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("step")
    except Exception:  # noqa: BLE001 - unreadable: Continue says why when pressed
        return None
    return step if isinstance(step, int) else None


def mark_said(folder: Path) -> None:
    """Record in ``run.json`` that the window said at a start that this unfinished run can be
    continued (and it was seen): the next start does not say it again."""
    from app.core.fsutil import atomic_path

    record = read_run(folder / RUN_FILE)
    if record is None:
        return
    try:
        with atomic_path(folder / RUN_FILE) as tmp:
            tmp.write_text(json.dumps({**record, "said": True}))
    except OSError as exc:
        log.warning("could not write %s: %s", folder / RUN_FILE, exc)


def weights_label(path: Path) -> tuple:
    """How the window names a weights file: (a few words, the details for a tooltip). The page's
    runs all write ``finetuned.pth``: theirs are named by the run, "fine-tuned 2026-11-28 11:58 on
    beach.mp4", and the tooltip says the path, the footage and the steps; any other file by its name."""
    path = Path(path)
    title = run_title(path.parent) if path.name == WEIGHTS_FILE else None
    if title is None:
        return path.name, str(path)
    record = read_run(path.parent / RUN_FILE) or {}
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    data = config.get("data") if isinstance(config.get("data"), list) else []
    footage = Path(str(data[0])).name if data else ""
    footage = footage if len(footage) <= 28 else footage[:27] + "…"
    short = f"fine-tuned {title}" + (f" on {footage}" if footage else "")
    steps = config.get("steps") if record.get("finished") else _last_step(path.parent / "metrics.jsonl")
    about = [f"fine-tune run of {title}" + (f" on {data[0]}" if data else "")]
    if isinstance(steps, int):
        about.append(f"{steps} step{'s' * (steps != 1)}, finished" if record.get("finished") else
                     f"stopped at step {steps}")
    if config.get("init_weights"):
        about.append(f"from {Path(str(config['init_weights'])).name}")
    return short, f"{path}\n{', '.join(about)}"


def drop_checkpoint(config) -> None:
    """A finished run no longer needs its resumable checkpoint (hundreds of MB): delete it and
    the temporary files of any unfinished write; the weights and the logs stay. A failure is
    logged only (the checkpoint is then deleted with the old runs)."""
    checkpoint = Path(config.checkpoint_path)
    folder = checkpoint.parent
    try:
        for path in [checkpoint, *folder.glob(f".{checkpoint.stem}.*.tmp.part{checkpoint.suffix}")]:
            path.unlink(missing_ok=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    except OSError as exc:
        log.warning("could not delete the checkpoint of the finished run %s: %s", folder.parent, exc)


@dataclass
class OldRun:
    """One run folder and what "Delete old runs" removes of it: all of it, or (``kept`` not
    empty: a weights file in use is there) all but the weights and the record of the run."""

    folder: Path
    kept: list = field(default_factory=list)
    files: list = field(default_factory=list)  # (path, bytes) to delete
    size: int = 0
    why: str = IN_USE  # (why ``kept`` stays)

    @property
    def whole(self) -> bool:
        return not self.kept

    def describe(self) -> str:
        if not self.whole:
            return f"{self.folder.name}: its checkpoint ({format_size(self.size)}) only; {self.why}"
        weights = " with its weights" if any(p.name == WEIGHTS_FILE for p, _ in self.files) else ""
        return f"{self.folder.name}: the whole run{weights} ({format_size(self.size)})"


def _files(folder: Path):
    """(path, bytes) of every file and link below ``folder`` (links are not followed)."""
    for dirpath, dirs, names in os.walk(folder):
        for name in names + [d for d in dirs if (Path(dirpath) / d).is_symlink()]:
            path = Path(dirpath) / name
            try:
                yield path, path.lstat().st_size
            except OSError:
                continue


def _resolved(path) -> Optional[Path]:
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError, TypeError):
        return None


def _recently_changed(folder: Path, now: float) -> bool:
    # (the folder's own time only while it is empty: deleting files changes it too)
    for path in [p for p, _ in _files(folder)] or [folder]:
        try:
            if now - path.lstat().st_mtime < ACTIVE_SECONDS:
                return True
        except OSError:
            continue
    return False


def _kept(in_use) -> dict:
    """{resolved path: why} of weights files never deleted (``in_use``: paths, or {path: why})."""
    pairs = in_use.items() if isinstance(in_use, dict) else ((p, IN_USE) for p in in_use)
    return {r: why for r, why in ((_resolved(p), why) for p, why in pairs) if r is not None}


def held_runs(in_use) -> list:
    """(run folder, why) of each run the page started whose weights ``in_use`` keeps: "Delete old
    runs" never deletes them, and the page says why."""
    root = _resolved(runs_root())
    return [(path.parent, why) for path, why in _kept(in_use).items()
            if path.parent.parent == root and run_title(path.parent) is not None and path.is_file()]


def old_runs(in_use: Iterable = (), running=None, now: Optional[float] = None) -> list:
    """The run folders "Delete old runs" would clear (``OldRun``s with something to delete),
    oldest first. ``in_use``: weights files never deleted (paths, or {path: why they stay});
    ``running``: the run folder of the training under way, if any."""
    now = time.time() if now is None else now
    keep = _kept(in_use)
    running = _resolved(running) if running else None
    runs = run_files()
    # every folder the page named, also one whose run.json was never written (a start that failed)
    folders = {p.parent for p in runs}
    root = runs_root()
    if root.is_dir():
        folders |= {p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and _RUN_NAME.fullmatch(p.name)}
    newest = runs[-1].parent if runs else None
    found = []
    for folder in sorted(folders, key=lambda p: p.name):
        if running is not None and _resolved(folder) == running:
            continue
        record = read_run(folder / RUN_FILE)
        if not (record and record.get("finished")) and (folder == newest or _recently_changed(folder, now)):
            continue
        files = list(_files(folder))
        kept = [p for p, _ in files if _resolved(p) in keep]
        if kept:
            files = [(p, size) for p, size in files
                     if p not in kept and not (p.parent == folder and p.name in RECORD_FILES)]
        if files or not kept:
            files.sort(key=lambda f: f[0].name == RUN_FILE)  # the record last: a run half deleted is still old
            found.append(OldRun(folder, kept, files, sum(size for _, size in files),
                                keep[_resolved(kept[0])] if kept else IN_USE))
    return found


def summary(runs: list) -> str:
    if not runs:
        return "Old runs: none"
    return f"Old runs: {len(runs)}, {format_size(sum(r.size for r in runs))}"


def delete_runs(runs: list) -> tuple:
    """Delete what each ``OldRun`` names (then its emptied folders, and the run folder itself when
    it goes whole); returns (runs cleared, bytes freed, failures): one line per run folder that
    could not be cleared (the others still are)."""
    cleared, freed, failed = 0, 0, []
    for run in runs:
        errors = []
        for path, size in run.files:
            try:
                path.unlink()
                freed += size
            except FileNotFoundError:
                continue
            except OSError as exc:  # e.g. open in another program on Windows, or no permission
                errors.append((path, exc))
        folders = [Path(d) for d, _, _ in os.walk(run.folder, topdown=False)]
        for folder in folders if run.whole else folders[:-1]:  # (os.walk bottom-up: the run folder last)
            try:
                folder.rmdir()
            except FileNotFoundError:
                continue
            except OSError as exc:
                if run.whole and not errors:
                    errors.append((folder, exc))
        if errors:
            path, exc = errors[0]
            failed.append(f"Could not delete {path} ({exc.strerror or exc}); close what uses it, or delete "
                          f"{run.folder} yourself.")
        else:
            cleared += 1
    return cleared, freed, failed
