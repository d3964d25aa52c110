"""Shared by every CLI subcommand: terminal rendering of the core's progress protocol, and the
check that an output is none of the files a command reads."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .core.jobs import Progress, job_label


class TqdmProgress:
    """Callable progress sink drawing a tqdm bar (with ETA) on stderr; use as a context manager.
    Without a terminal (a pipe, a log file, nohup) a bar would be control characters: a line of the
    same numbers is printed at most every ``every`` seconds instead, none for a job done sooner.

    Each stage (inpaint, then the copy of the rest) has a bar and a clock of its own. A stage whose
    reports carry ``Progress.work`` (frames of unequal cost: a few inpainted in a long clip copied
    through) fills its bar and reckons its ETA by the work done, and counts the frames beside it."""

    every = 30.0
    SCALE = 1000  # (a bar by work runs in permille)

    def __init__(self, desc: str = "", unit: str = "frame", disable: bool | None = None, scale: bool = False):
        self.desc = desc
        self.unit = unit
        self.scale = scale  # counts shown as k/M/G (bytes: binary)
        self.lines = disable is None and not sys.stderr.isatty()
        self.disable = self.lines if disable is None else disable
        self.bar = None
        self.bar_stage = None  # (stage, by work) of the bar drawn
        self.started = self.last_line = time.monotonic()
        self.stage = None  # (stage, total) of the reports being counted

    def _left(self, p: Progress, elapsed: float) -> str:
        """The count and the time, "61/292 frames written, 00:24 so far, about 00:17 left", for a stage
        by work. The count is of the frames written, which come a batch at a time (a propagation chunk
        of up to 60, an STTN window) while the share of the work moves within it: "97% (0/10 frames)"
        read as a count stuck at 0, as if nothing were being done."""
        from tqdm import tqdm

        f = p.fraction
        left = tqdm.format_interval(elapsed * (1 - f) / f) if f > 0 else "?"
        units = self.unit if p.total == 1 else self.unit + "s"
        return f"{p.done}/{p.total} {units} written, {tqdm.format_interval(elapsed)} so far, about {left} left"

    def _line(self, p: Progress) -> None:
        from tqdm import tqdm

        now = time.monotonic()
        if (p.stage, p.total) != self.stage:  # a new stage (inpaint, then copy): its own count and clock
            self.stage, self.started = (p.stage, p.total), now
        elapsed = p.elapsed or now - self.started
        # (by work, the share done: a chunk propagated and filled before its first frame is written)
        under_way = 0 < p.fraction < 1 if p.work is not None else 0 < p.done < p.total
        if now - self.last_line < self.every or not under_way or elapsed <= 0:
            return
        self.last_line = now
        units = self.unit if self.scale else self.unit + "s"  # (5/12 frames; 1.2M/358M B)
        label = job_label(self.desc, p.stage)  # (track: tracking)
        if p.work is not None:
            count, _, times = self._left(p, elapsed).partition(", ")
            print(f"{label}: {p.fraction:.0%} ({count}), {times}", file=sys.stderr, flush=True)
            return
        print(tqdm.format_meter(p.done, p.total, elapsed, prefix=label, unit=units,
                                unit_scale=self.scale, unit_divisor=1024 if self.scale else 1000,
                                bar_format="{desc}: {percentage:.0f}% ({n_fmt}/{total_fmt} {unit}), "
                                           "{elapsed} so far, about {remaining} left"),
              file=sys.stderr, flush=True)

    def _new_bar(self, p: Progress):
        from tqdm import tqdm

        first = self.bar is None
        if not first:
            self.bar.close()
        self.bar_stage = (p.stage, p.work is not None)
        self.started = time.monotonic()
        desc = (self.desc or p.stage) if first else job_label(self.desc, p.stage)  # (inpaint, then inpaint (copy))
        if p.work is not None:
            class WorkBar(tqdm):  # (a bar in permille with the count and the time in words beside it)
                words = ""

                @property
                def format_dict(self):
                    return {**super().format_dict, "words": self.words}

            return WorkBar(total=self.SCALE, desc=desc, disable=self.disable, dynamic_ncols=True,
                           bar_format="{desc}: {percentage:3.0f}%|{bar}| {words}")
        return tqdm(total=p.total, desc=desc, unit=self.unit, disable=self.disable, dynamic_ncols=True,
                    unit_scale=self.scale, unit_divisor=1024 if self.scale else 1000)

    def __call__(self, p: Progress) -> None:
        if self.lines:
            self._line(p)
        if self.bar_stage != (p.stage, p.work is not None):
            self.bar = self._new_bar(p)
        info = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.info.items())
        if p.work is not None:
            self.bar.words = self._left(p, p.elapsed or time.monotonic() - self.started) + (f", {info}" if info else "")
            self.bar.update(round(p.fraction * self.SCALE) - self.bar.n)
            return
        if p.total != self.bar.total:
            self.bar.total = p.total
        if p.info:
            self.bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in p.info.items()},
                                 refresh=False)
        self.bar.update(p.done - self.bar.n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False


def same_path(a, b) -> bool:
    """Whether two paths name the same file or folder: after ``~``, relative parts and symlinks
    are resolved, or (both existing) the same inode, which also catches hard links."""
    a, b = Path(a).expanduser(), Path(b).expanduser()
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return a.resolve() == b.resolve()


REPLACING = ", replacing the file there"  # (after the path in the line a command ends with)


def replaces(output) -> bool:
    """Whether writing ``output`` replaces a file there: asked before the run and said in the line
    the command ends with (``REPLACING``): a script may rely on an output being replaced, a person
    should not find it out later."""
    return output is not None and Path(output).expanduser().is_file()


def refuse_inputs(output, inputs, option: str = "--output") -> None:
    """Raise ``OutputError`` when ``output`` is one of ``inputs``, ``(what, path)`` pairs for
    everything the command reads (a path of None is skipped), or is an image file inside one that
    is a folder (a mask or frame folder: it would replace or join its images): inputs are never
    overwritten."""
    from .core.errors import OutputError
    from .core.video import IMAGE_EXTS, VIDEO_EXTS

    if output is None:
        return
    suffix = Path(output).suffix.lower()
    for what, path in inputs:
        if path is not None and same_path(output, path):
            raise OutputError(f"{option} {output} is the input {what}; choose another path: inputs are never "
                              "overwritten.")
        inside = path is not None and Path(path).expanduser().is_dir() \
            and Path(path).expanduser().resolve() in Path(output).expanduser().resolve().parents
        if inside and suffix in IMAGE_EXTS:
            raise OutputError(f"{option} {output} is an image inside the input {what} {path}; choose a path "
                              "outside it: inputs are never overwritten.")
        if inside and what == "video" and suffix in VIDEO_EXTS:  # (the video: a frame folder)
            raise OutputError(f"{option} {output} is inside the input frame folder {path}: a video there would make "
                              "it a folder that holds videos, which is read as no frame folder the next time; choose "
                              "a path outside it.")


def program() -> str:
    """How the user started this program, for commands to paste: ``python main.py`` (also the
    fallback), ``python -m app`` or ``sttn-inpaint``."""
    arg0 = Path(sys.argv[0] if sys.argv and sys.argv[0] else "main.py")
    if arg0.name == "__main__.py" and arg0.parent.name == "app":
        return "python -m app"
    if arg0.name in ("sttn-inpaint", "sttn-inpaint-gui"):  # (the GUI's launcher has no commands: its sibling does)
        return "sttn-inpaint"
    if arg0.name == "main.py":
        return "python " + (str(arg0) if " " not in str(arg0) else "main.py")
    return "python main.py"


def int_in(low: int, high: int | None = None, what: str = ""):
    """An argparse ``type`` for an integer in ``low..high`` (no upper bound when None): a value
    outside is a usage error naming the option, at parse time, before any work."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{value} is out of range: give a whole number, {span}"
                                             + (f" ({what})" if what else ""))
        return value

    parse.__name__ = "int"  # argparse names the type in its own messages
    return parse


def path_arg(text: str) -> Path:
    """An argparse ``type`` for a file or folder. An empty value (``-o "$OUT"`` with OUT unset) is a
    usage error: as a Path it is ".", and the current folder was read as frames or masks, trained
    on, or refused as an output with "Cannot write .: it is a folder"."""
    import argparse

    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty (an unset shell variable?); give a file or folder name")
    return Path(text)


path_arg.__name__ = "path"


def path_text(text: str) -> str:
    """``path_arg`` for options kept as text (training settings, saved as JSON in checkpoints)."""
    return str(path_arg(text))


path_text.__name__ = "path"


def check_readable(*paths) -> None:
    """An existing file that cannot be read, or is empty, is said as such (the video reader would
    call it damaged: "Invalid data found"); a missing one is left to the reader's own message."""
    from .core.errors import InpaintError

    for path in paths:
        if path is None or not Path(path).expanduser().is_file():
            continue
        if not os.access(Path(path).expanduser(), os.R_OK):
            raise InpaintError(f"Cannot read {path}: permission denied; make it readable (chmod u+r) or copy it "
                               "somewhere you can read.")
        if Path(path).expanduser().stat().st_size == 0:
            raise InpaintError(f"{path} is empty (0 bytes): a copy or download that did not finish? Copy or fetch "
                               "it again.")


def project_video(path) -> str | None:
    """The video a project file of the window names (its JSON's "video"); None where it cannot be read."""
    import json

    try:
        video = json.loads(Path(path).read_text(encoding="utf-8")).get("video")
    except (OSError, ValueError, AttributeError):
        return None
    return video if isinstance(video, str) and video else None


def refuse_project(path) -> None:
    """A project of the window (.sttnproj) given where a video belongs is said as such, with its
    video (it was "Cannot open ... as a video; is it a complete video file?")."""
    from .core.errors import InpaintError

    if path is not None and Path(path).suffix.lower() == ".sttnproj" and Path(path).expanduser().is_file():
        video = project_video(Path(path).expanduser())
        raise InpaintError(f"{path} is a project of the window, not a video; give "
                           + (f"its video, {video}" if video else "the video it was made on")
                           + " (its masks: File > Export masks as PNGs… in the window, then --mask with that folder).")


def note_end_past(end: int | None, frames: int, doing: str) -> None:
    """The ``note:`` line for an ``--end`` past the video's end, which a run cuts to the video's
    length (the user may have meant another video, or counted at another rate); ``doing``: what
    the run does up to there ("inpainted", "tracking")."""
    if end is not None and 0 < frames < end:
        print(f"note: --end {end} is past this {frames}-frame video's end; {doing} to its last frame ({frames - 1}).",
              file=sys.stderr)


DEVICES = ("auto", "cpu", "cuda", "mps")  # (where the model runs: inpaint, demo, track's SAM)
TRAIN_DEVICES = ("auto", "cpu", "cuda")  # (training: no MPS)


def device_arg(choices=DEVICES):
    """An argparse ``type`` for ``--device``: one of ``choices`` (any case). A GPU named another way
    (``gpu``, ``cuda:1``, ``mps`` where training has none) is a usage error saying what to write, at
    parse time, before any file is read; whether the device is there is the command's check."""
    import argparse

    names = ", ".join(choices)

    def parse(text: str) -> str:
        name = text.strip().lower()
        if name in choices:
            return name
        number = name[4:].lstrip(":")
        if name.startswith("cuda") and number.isdigit():  # (cuda:1, cuda1)
            raise argparse.ArgumentTypeError(
                f"{text!r}: --device takes no GPU number; write cuda and choose the GPU with "
                f"CUDA_VISIBLE_DEVICES={number} in front of the command")
        if name.startswith(("gpu", "nvidia")):
            raise argparse.ArgumentTypeError(f"{text!r} is not a device name; write cuda (an NVIDIA GPU)"
                                             + (", mps (an Apple GPU)" if "mps" in choices else "")
                                             + " or auto (the GPU when there is one)")
        if name == "mps":
            raise argparse.ArgumentTypeError("training runs on CUDA or the CPU, not on MPS (an Apple GPU); "
                                             "write cpu (or auto)")
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; write one of {names}")

    parse.__name__ = "device"
    return parse
