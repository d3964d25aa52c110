"""Command line: ``python main.py [PATH]`` opens the GUI; subcommands drive the headless core.

Every user error (``InpaintError``) is printed as one line on stderr with a non-zero exit;
a traceback means a bug.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import re
import shlex
import stat
import sys
from pathlib import Path

from . import __version__
from .cliutil import (REPLACING, TqdmProgress, check_readable, device_arg, int_in, note_end_past, path_arg,
                      program, project_video, refuse_inputs, refuse_project, replaces, same_path)
from .core.config import X264_PRESETS  # noqa: F401 - the --preset choices
from .core.errors import Cancelled, InpaintError, OutputError

# Subcommand modules that register themselves: module name -> attribute `register(subparsers)`.
PLUGINS = ("app.cli_train", "app.cli_eval", "app.cli_segment", "app.cli_cache")
#: The order ``--help`` lists the commands in: what a new user needs first (the rest follow as registered).
HELP_ORDER = ("inpaint", "track", "info", "demo", "gui", "download-sam")


def _engine_args(p: argparse.ArgumentParser) -> None:
    from .core.config import EngineConfig

    d = EngineConfig()
    g = p.add_argument_group("engine")
    g.add_argument("--weights", type=path_arg, metavar="PATH",
                   help="generator weights (.pth): the bundled model by default; the authors' sttn.pth or a fine-tune "
                        "also work")
    g.add_argument("--device", default=d.device, type=device_arg(), metavar="{auto,cpu,cuda,mps}",
                   help="where the model runs: auto picks CUDA, then MPS, then CPU (default %(default)s)")
    g.add_argument("--attention", choices=["official", "masked"], default=None,
                   help="attention mode; default: what the weights file records (the authors' file: official)")
    g.add_argument("--dilate", type=int_in(0), default=d.dilate, metavar="PX",
                   help="grow the mask by PX pixels (3x3 cross steps) to cover edges and blur (default %(default)s)")
    g.add_argument("--neighbor-radius", type=int_in(1), default=d.neighbor_radius, metavar="N",
                   help="neighbouring frames on each side of a target window, n in the paper (default %(default)s)")
    g.add_argument("--ref-stride", type=int_in(1), default=d.ref_stride, metavar="S",
                   help="take every S-th frame of the video as a reference, s in the paper (default %(default)s)")
    g.add_argument("--max-refs", type=int_in(0), default=d.max_refs, metavar="N",
                   help="at most this many reference frames per window, the nearest ones (default %(default)s)")
    g.add_argument("--fill", default=d.fill, choices=["auto", "sttn", "propagate+sttn", "propagate+telea", "telea"],
                   help="how holes are filled: sttn = the model alone; propagate+X = copy pixels seen in other "
                        "frames along optical flow, X fills the rest; auto = propagate+sttn with weights (the bundled "
                        "ones: on a GPU; on a CPU propagate+telea, 10x faster), propagate+telea without "
                        "(default %(default)s)")
    g.add_argument("--window-step", type=int_in(1), default=None, metavar="FRAMES",
                   help="frames between window centres: default 2n+1, each frame computed once; n is the "
                        "authors' schedule (windows overlap and are averaged): about 2x slower, within "
                        "0.02 dB here (docs/BENCHMARKS.md)")
    g.add_argument("--precision", default=d.precision, choices=["auto", "fp32", "bf16", "fp16"],
                   help="auto: bfloat16 on CUDA and on CPUs with native bf16, else float32 (default %(default)s)")
    g.add_argument("--attention-kernel", default=d.attention_kernel, choices=["auto", "matmul", "sdpa"],
                   help="how the patch attention is computed (same result): auto = the one measured faster "
                        "on the device, matmul on CPU and CUDA so far (default %(default)s)")
    g.add_argument("--seam", default=d.seam, choices=["match", "none"],
                   help="match: correct the model's fill to the colours around the hole (Poisson-style), so "
                        "no patch edge shows; none: paste it as it is (default %(default)s)")
    g.add_argument("--compile", action="store_true",
                   help="torch.compile the model on CUDA: about 9%% faster on an H100 after a minute or two of "
                        "compiling when the run starts; for long clips")
    g.add_argument("--crop-to-mask", action="store_true",
                   help="process only a box around the masks (faster and sharper on large videos with small masks)")
    g.add_argument("--crop-margin", type=int_in(0), default=d.crop_margin, metavar="PX",
                   help="context in pixels kept around the masks with --crop-to-mask (default %(default)s)")


def _engine_config(args):
    from .core.config import EngineConfig

    return EngineConfig(neighbor_radius=args.neighbor_radius, ref_stride=args.ref_stride, max_refs=args.max_refs,
                        dilate=args.dilate, crop_to_mask=args.crop_to_mask, crop_margin=args.crop_margin,
                        device=args.device, attention=args.attention, window_step=args.window_step,
                        precision=args.precision, fill=args.fill, attention_kernel=args.attention_kernel,
                        seam=args.seam, compile=args.compile)


def _weights(args) -> Path:
    from .core import paths
    from .core.errors import WeightsError

    if args.weights is not None:
        return args.weights
    bundled = paths.default_weights()
    if bundled is None:
        raise WeightsError(
            "No bundled weights in models/ yet; pass --weights PATH to an STTN generator "
            f"(the authors' sttn.pth, or one trained with `{program()} train`)."
        )
    return bundled


def _notes_before(weights, args) -> None:
    """What the run's options do not do here, before its progress: the fill ``auto`` chose, and
    --compile where nothing is compiled."""
    _note_without_weights(weights, args)
    if args.compile:
        from .core.engine import resolve_device

        device = resolve_device(args.device).type
        if device != "cuda":
            print(f"note: --compile works on CUDA only; this run is on the {device.upper()} and is not compiled "
                  "(leave --compile out).", file=sys.stderr)


def _note_without_weights(weights, args) -> None:
    from .core import paths

    if args.fill != "auto":
        return
    if weights is None:
        print("note: no STTN weights (none bundled, no --weights): filling with flow propagation + OpenCV Telea; "
              "pass --weights PATH (e.g. the authors' sttn.pth) to use STTN.", file=sys.stderr)
    elif paths.is_bundled(weights):
        from .core.engine import resolve_device, resolve_fill

        if resolve_fill("auto", True, True, resolve_device(args.device)) == "propagate+telea":
            print("note: on a CPU --fill auto uses flow propagation + OpenCV Telea, about ten times faster here "
                  "than the bundled STTN model; --fill propagate+sttn uses that model (+1.0 dB and less flicker "
                  "on docs/QUALITY.md's benchmark), --weights PATH uses yours (e.g. the authors' sttn.pth).",
                  file=sys.stderr)


def cmd_inpaint(args) -> int:
    from .core.engine import inpaint_video

    refuse_inputs(args.output, [("video", args.input), ("mask", args.mask), ("weights file", args.weights)])
    check_readable(args.input, args.mask)
    refuse_project(args.input)
    if same_path(args.mask, args.input):
        raise InpaintError(f"--mask {args.mask} is the video itself; give the mask drawn for it (white = what to "
                           "remove): an image, a folder of images or a mask video.")
    if args.fps is not None and args.input.expanduser().is_file():
        raise InpaintError(f"--fps sets the rate of a folder of frames; {args.input} is a video file, which keeps its "
                           "own rate (each frame its time): leave --fps out.")
    weights = _weights_if_needed(args)
    replacing = replaces(args.output)
    seen = _Seen(args)
    with TqdmProgress("inpaint") as bar:
        progress = _noted(bar, weights, args, seen)
        result = inpaint_video(args.input, args.mask, args.output, weights=weights,
                               config=_engine_config(args), start=args.start, end=args.end, crf=args.crf,
                               keep_audio=not args.no_audio, progress=progress, preset=args.preset,
                               copy_unchanged=not args.reencode_all, fps=args.fps, opened=seen)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    sec = max(result.seconds, 1e-9)  # (the whole file: over a sub-range most frames are only copied)
    rate = (f"{result.inpainted / sec:.2f} inpainted frames/s" if result.inpainted == result.frames else
            f"{result.frames / sec:.1f} frames/s written")
    copied = f", {result.copied} copied as they were" if result.copied else ""
    print(f"Wrote {result.output}{REPLACING if replacing else ''} ({result.frames} frame{'s' * (result.frames != 1)}, "
          f"{f'{result.inpainted} inpainted with {result.fill}' if result.inpainted else 'none inpainted'}{copied}, "
          f"{result.seconds:.1f} s, {rate})")
    if not progress.noted:  # (a video copied as it was, an empty mask, reports no progress: said after it)
        note_end_past(args.end, result.frames, "inpainted" if result.inpainted else "copied")
    for note in seen.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


class _Seen:
    """What inpaint says of its input, taken from the reader the run opened (``inpaint_video``'s
    ``opened``), while it is open: the input is opened and indexed once, not again for a note."""

    def __init__(self, args):
        self.args = args
        self.frames = 0  # (0 until the run has opened the input)
        self.notes: list[str] = []

    def __call__(self, reader) -> None:
        self.frames = len(reader)
        self.notes = _export_notes(reader, self.args)


def _export_notes(reader, args) -> list[str]:
    """What the export changes besides the frames inpainted (the export dialog's notes): an odd size
    padded, colour finer than 4:2:0, a frame folder's rate, PCM sound made AAC in an .mp4."""
    from .core.video import FrameFolderReader, export_notes, export_suffix

    notes = export_notes(reader, rate=False)
    if isinstance(reader, FrameFolderReader) and args.fps is None:
        notes.append(f"A frame folder has no frame rate: it was written at {reader.fps:g} frames/s; --fps sets "
                     "another.")
    if (not args.no_audio and reader.has_audio and args.output.suffix.lower() != ".mov"
            and export_suffix(args.input) == ".mov"):
        notes.append("Its uncompressed PCM sound is in this file as AAC (an mp4 holds no PCM); name the output "
                     ".mov to keep the sound as it is.")
    return notes


def _noted(bar, weights, args, seen: _Seen):
    """``bar`` that first prints the notes on the run (the fill ``auto`` chose, an ``--end`` past the
    video's end, counted on the reader the run opened: ``seen``): at the first progress report, when
    the inputs have been checked (a bad input is still one line) and before the work that may take
    minutes. Its ``noted`` says whether they were printed."""

    def progress(p):
        if not progress.noted:
            progress.noted = True
            _notes_before(weights, args)
            note_end_past(args.end, seen.frames, "inpainting")
        bar(p)

    progress.noted = False
    return progress


def _weights_if_needed(args):
    """Weights are only needed when there is something to fill; an empty mask copies through."""
    try:
        return _weights(args)
    except InpaintError:
        return None


def cmd_demo(args) -> int:
    from .core import paths
    from .core.engine import inpaint_video

    output = Path(args.output) if args.output else Path.cwd() / "demo_inpainted.mp4"
    clip, mask = paths.demo_clip(), paths.demo_mask()
    refuse_inputs(output, [("video", clip), ("mask", mask), ("weights file", args.weights)])
    print(f"Demo: removing the logo in {clip} (mask {mask}).")
    weights = _weights_if_needed(args)
    _notes_before(weights, args)
    replacing = replaces(output)
    with TqdmProgress("demo") as bar:
        result = inpaint_video(clip, mask, output, weights=weights, config=_engine_config(args),
                               crf=18, progress=bar)
    print(f"Done in {result.seconds:.1f} s. The result is at {result.output.resolve()}"
          + (" (it replaced the file there)." if replacing else ""))
    return 0


def cmd_info(args) -> int:
    from .core.video import probe

    check_readable(args.video)
    refuse_project(args.video)
    info = probe(args.video)
    notice = info.pop("notice", None)
    print(" ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in info.items()))  # (fps=29.97)
    if notice:
        print(f"warning: {notice}", file=sys.stderr)
    return 0


def cmd_gui(args) -> int:
    return gui_main([str(args.path)] if getattr(args, "path", None) else [])


def has_display() -> bool:
    """Whether Qt can open a window (``display_problem`` finds nothing in the way)."""
    return display_problem() is None


def display_problem() -> str | None:
    """Why Qt could not open a window, or None: never on Windows and macOS; on Linux, neither DISPLAY
    nor WAYLAND_DISPLAY set, or no X server answering at DISPLAY (an SSH login without X forwarding
    keeps one that points nowhere), unless QT_QPA_PLATFORM names a platform plugin that needs neither
    (offscreen, vnc, eglfs, ...; xcb and wayland need theirs)."""
    if sys.platform in ("win32", "darwin"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if (platform and not platform.startswith(("xcb", "wayland"))) or os.environ.get("WAYLAND_DISPLAY"):
        return None
    display = os.environ.get("DISPLAY")
    if not display:
        return "DISPLAY and WAYLAND_DISPLAY are not set"
    if not _x_server_answers(display):
        return f"no X server answers at DISPLAY={display}: an SSH login without X forwarding (ssh -X), or a closed one"
    return None


def _x_server_answers(display: str) -> bool:
    """Whether something listens where X clients connect for ``display`` (``:N``: the socket
    /tmp/.X11-unix/XN, abstract or on disk; ``host:N``: TCP port 6000 + N); a form not known here
    counts as answering (Qt is left to try it)."""
    import socket

    found = re.fullmatch(r"([^:]*):(\d+)(?:\.\d+)?", display)
    if found is None:
        return True
    host, number = found.group(1), int(found.group(2))
    if host not in ("", "unix"):
        try:
            with socket.create_connection((host, 6000 + number), timeout=1):
                return True
        except OSError:
            return False
    for address in (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            try:
                sock.connect(address)
                return True
            except OSError:
                continue
    return False


def _no_display_error(argv) -> "str | None":
    """Without a display, the one-line error for a GUI asked to open ``argv[0]`` (a path that is not
    there, a project, a video: what to run instead on the command line), or None when argv names no
    path."""
    prog = program()
    if not argv or not (_looks_like_path(argv[0]) or Path(argv[0]).suffix.lower() == ".sttnproj"):
        return None
    if _looks_like_path(argv[0]) and not Path(argv[0]).expanduser().exists():
        return f"error: {argv[0]} does not exist; check the path (`{prog} --help` lists the commands)."
    if Path(argv[0]).suffix.lower() == ".sttnproj":
        video = shlex.quote(project_video(Path(argv[0]).expanduser()) or "VIDEO")
        return (f"error: no display, so the GUI cannot open the project {argv[0]}: projects open in the window "
                f"only; here, work on its video from the command line: `{prog} track {video} --click X,Y -o "
                f"masks/` selects and tracks an object, `{prog} inpaint {video} --mask MASK -o OUT.mp4` removes it.")
    path = shlex.quote(argv[0])
    return (f"error: no display, so the GUI cannot open {argv[0]}; use the command line instead: "
            f"`{prog} track {path} --click X,Y -o masks/` selects and tracks an object, "
            f"`{prog} inpaint {path} --mask MASK -o OUT.mp4` removes it.")


def gui_main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    problem = display_problem()
    if problem is not None:  # Qt would abort the process (SIGABRT) with a page of plugin advice
        print(_no_display_error(argv) or f"error: no display: the GUI needs one ({problem}); use a desktop "
              f"session, or the command-line commands (`{program()} --help`: track, inpaint).", file=sys.stderr)
        return 2
    from .gui import run_gui

    return run_gui(argv)


class _Parser(argparse.ArgumentParser):
    """Bad arguments give one line (what is wrong, and where the help is), not the usage block.
    A value that starts with a minus and a digit (``--box -5,28,52,64``, a box partly off the frame)
    is a value, as ``-5`` is: no option starts so, and argparse took it for an unknown option
    ("expected one argument")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-\.?\d[\d.,#-]*$")

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _first_steps(prog: str) -> str:
    """The examples under the command list of ``--help`` (each command on a line of its own, to paste)."""
    return "\n".join([
        "examples:",
        "  a logo (one mask for all frames):",
        f"    {prog} inpaint clip.mp4 --mask logo.png -o clean.mp4",
        "  a moving object (clicked at x=160, y=100 of frame 0, tracked, then removed):",
        f"    {prog} track clip.mp4 --click 160,100 -o masks/",
        f"    {prog} inpaint clip.mp4 --mask masks/ --dilate 8 -o clean.mp4",
        "  a command's options:",
        f"    {prog} COMMAND --help"])


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=program(),  # (usage lines and "see ... --help" name the command the user typed: python main.py)
        description="Remove watermarks, logos and objects from videos with STTN. With no command:\n"
                    "the GUI when a display is available, otherwise the headless demo.",
        epilog=_first_steps(program()), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sttn-inpaint {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (and tracebacks) to stderr")
    parser.add_argument("--log-file", type=path_arg, metavar="PATH",
                        help="also log (INFO and above, the error a command ends with, a bug's traceback) to this "
                             "file, rotated at 1 MB, 3 kept; the GUI always logs to sttn-inpaint.log in the user log "
                             "folder (see `cache info`)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("inpaint", help="inpaint a video with a mask and write an mp4",
                       description="Fill the masked pixels of every frame and write an H.264 mp4 (HEVC 10-bit for a "
                                   "10-bit input) with the input's audio.")
    p.add_argument("input", type=path_arg, help="input video file (anything FFmpeg reads) or a folder of frames")
    p.add_argument("--mask", required=True, type=path_arg, metavar="PATH",
                   help="one image for all frames (a watermark), a folder of per-frame images, or a mask video; "
                        "white/non-zero = remove; any size with the video's shape")
    p.add_argument("--output", "-o", required=True, type=path_arg, metavar="OUT.mp4",
                   help="output .mp4 (.mov: a QuickTime file that keeps PCM sound as it is; never the input)")
    p.add_argument("--start", type=int_in(0), default=0, metavar="FRAME",
                   help="first frame to inpaint (others are copied through)")
    p.add_argument("--end", type=int_in(1), default=None, metavar="FRAME",
                   help="frame after the last to inpaint (default: the end)")
    p.add_argument("--crf", type=int_in(0, 51, "0 = lossless .. 51 = worst"), default=18, metavar="0-51",
                   help="encoder quality, 0 = lossless .. 51 = worst (default 18)")
    p.add_argument("--no-audio", action="store_true", help="drop the audio track")
    p.add_argument("--reencode-all", action="store_true",
                   help="encode every frame again; by default an H.264 MP4/MOV input keeps the stretches "
                        "between keyframes that hold no masked frame as they are (bit for bit, no encoding)")
    p.add_argument("--fps", type=_rate, default=None, metavar="RATE",
                   help="frame rate of a folder of frames given as the input (default 25); a video file keeps its own")
    p.add_argument("--preset", default="medium", choices=X264_PRESETS,
                   help="encoder speed: faster presets make larger files at the same quality "
                        "(default %(default)s; encoding is the main cost around the model on a GPU)")
    _engine_args(p)
    p.set_defaults(func=cmd_inpaint)

    p = sub.add_parser("demo", help="inpaint the small demo clip shipped in resources/ (no display needed)")
    p.add_argument("--output", "-o", type=path_arg, metavar="OUT.mp4",
                   help="where to write the result (default ./demo_inpainted.mp4)")
    _engine_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("info", help="print frame count, size, fps and audio of a video",
                       description="Print a video's frame count, size (as displayed: a phone video's rotation "
                                   "applied, the pixels --click takes), frame rate and audio, and whether its frame "
                                   "rate varies; a cut-off or damaged file is said on stderr.")
    p.add_argument("video", type=path_arg, help="video file or folder of frames")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("gui", help="open the desktop application",
                       description="Open the desktop application, on a video or a saved project if one is given "
                                   "(needs a display).")
    p.add_argument("path", nargs="?", type=path_arg, help="a video or project to open")
    p.set_defaults(func=cmd_gui)

    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    listed = {a.dest: a for a in sub._choices_actions}  # noqa: SLF001 - argparse has no public API for the order
    sub._choices_actions[:] = [listed[c] for c in HELP_ORDER if c in listed] + [  # noqa: SLF001
        a for a in listed.values() if a.dest not in HELP_ORDER]
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list) -> argparse.Namespace:
    """``parser.parse_args(argv)``, but an argument no option takes (a misspelt option, a second
    video) is refused by the command's own parser: its line points to that command's --help, with
    the option meant where one is close (argparse's pointed to the main --help, which lists none)."""
    import difflib

    _name_loose_values(parser, argv)
    args, extra = parser.parse_known_args(argv)
    if not extra:
        return args
    command = parser
    while command._subparsers is not None:  # noqa: SLF001 - (cache trim: the innermost command)
        choices = command._subparsers._group_actions[0]  # noqa: SLF001
        name = getattr(args, choices.dest, None)
        if name is None:
            break
        command = choices.choices[name]
    options = [o for a in command._actions for o in a.option_strings]  # noqa: SLF001
    given = extra[0].split("=")[0]
    if command is not parser and given in parser._option_string_actions:  # noqa: SLF001 - (-v, --log-file)
        at = argv.index(extra[0])
        takes = parser._option_string_actions[given].nargs != 0 and "=" not in extra[0]  # noqa: SLF001
        option, rest = argv[at:at + 1 + takes], argv[:at] + argv[at + 1 + takes:]
        moved = option + ["PATH"] * (1 + takes - len(option)) + rest  # (--log-file last, with no path)
        command.error(f"{given} is an option of {parser.prog} itself, not of the command: put it before the "
                      f"command: {parser.prog} {' '.join(shlex.quote(a) for a in moved)}")
    like = difflib.get_close_matches(given, options, n=1) if extra[0].startswith("--") else []
    command.error(f"unrecognized arguments: {' '.join(extra)}" + (f" (did you mean {like[0]}?)" if like else ""))


def _name_loose_values(parser: argparse.ArgumentParser, argv: list) -> None:
    """Values given without the option they belong to, one for each required option left out
    (``inpaint clip.mp4 logo.png out.mp4``, the order other tools take), are refused with the command
    line that names them, which runs; argparse said only that --mask and --output were required."""
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public API
    at = next((i for i, a in enumerate(argv) if a in commands), None)
    if at is None or {"-h", "--help"} & set(argv):
        return
    command = commands[argv[at]]
    takes = [a for a in command._actions if not a.option_strings]  # noqa: SLF001
    if command._subparsers is not None or any(a.nargs not in (None, "?") for a in takes):  # noqa: SLF001
        return
    given, plain, rest, i = set(), [], argv[at + 1:], 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("-") and not command._negative_number_matcher.match(word):  # noqa: SLF001
            action = command._option_string_actions.get(word.split("=")[0])  # noqa: SLF001
            if action is None or word == "--":
                return  # a misspelt option: _parse says which one was meant
            given.add(action)
            if "=" not in word:
                if action.nargs is None:
                    i += 1
                elif isinstance(action.nargs, int):
                    i += action.nargs
                elif action.nargs != 0:
                    while i + 1 < len(rest) and not rest[i + 1].startswith("-"):
                        i += 1
        else:
            plain.append(at + 1 + i)
        i += 1
    loose = plain[len(takes):]
    missing = [a for a in command._actions if a.required and a.option_strings and a not in given]  # noqa: SLF001
    if not loose or len(loose) != len(missing):
        return
    named = list(argv)
    for index, action in zip(reversed(loose), reversed(missing)):
        named[index:index + 1] = [action.option_strings[0], argv[index]]
    several = len(loose) > 1
    command.error(f"{' and '.join(argv[i] for i in loose)} {'are' if several else 'is'} given without "
                  f"{'their options' if several else 'its option'} ({', '.join(a.option_strings[0] for a in missing)}): "
                  f"{parser.prog} {' '.join(shlex.quote(a) for a in named)}")


def _rate(text: str) -> float:
    """An argparse ``type`` for a frame rate: a number above 0 and at most 1000 (30, 29.97, 24000/1001)."""
    from fractions import Fraction

    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame rate; write e.g. 30, 29.97 or 30000/1001") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"{text} is out of range: give a rate above 0 and at most 1000 frames/s")
    return value


_rate.__name__ = "rate"


def _looks_like_path(arg: str) -> bool:
    """A file or folder argument (an existing path, or a name with a suffix or a folder part), not a
    mistyped command."""
    return Path(arg).expanduser().exists() or "." in arg or "/" in arg or os.sep in arg


def _path_options(args):
    """(option name, path) for every path the parsed command line names (lists and tuples too)."""
    for name, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            for part in item if isinstance(item, tuple) else (item,):
                if isinstance(part, Path):
                    yield name, part


@contextlib.contextmanager
def _terminations_interrupt():
    """While a command runs, ``kill`` (SIGTERM) and a closed terminal (SIGHUP) stop it as Ctrl-C does,
    so that its temporary files are removed; by default they ended the process on the spot, leaving
    them. Handlers the process already had stay; the previous ones come back after."""
    import signal
    import threading

    def stop(signum, frame):
        raise KeyboardInterrupt

    kept = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
                kept[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)


#: Top-level modules of the packages pyproject.toml installs. One missing means the Python running this
#: is not the project's virtual environment (the system's, most often), or its install stopped half-way.
DEPENDENCIES = frozenset({"av", "cv2", "numpy", "torch", "torchvision", "PySide6", "shiboken6", "superqt", "tqdm",
                          "segment_anything"})


def main(argv=None) -> int:
    try:
        return _main(argv)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in DEPENDENCIES:
            raise
        print(_missing_package(exc.name.partition(".")[0]), file=sys.stderr)
        return 2


def _missing_package(module: str) -> str:
    """The line for a package that is not installed: which Python lacks it, and the command that
    has it (the virtual environment beside the program, or how to make one)."""
    repo = Path(__file__).resolve().parent.parent
    if not (repo / "main.py").exists():  # installed from a wheel: no checkout, no .venv beside it
        return (f"error: this Python ({sys.executable}) has no {module} module, which the program needs: install "
                f"the program again with its dependencies (`{Path(sys.executable).name} -m pip install` the wheel or "
                "the source folder, without --no-deps).")
    venv = repo / ".venv"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    here = Path.cwd().resolve() == repo
    shown = python.relative_to(repo) if here else python
    if Path(sys.prefix).resolve() == venv.resolve():
        return (f"error: the package that provides {module} is missing from {venv}; install the packages again: "
                f"`{shown.parent / 'pip'} install -e {'.' if here else repo}`.")
    activate = (f"{'.venv' if here else venv}\\Scripts\\activate" if os.name == "nt"
                else f"source {'.venv' if here else venv}/bin/activate")
    start = f"`{shown} main.py ...`" if here else f"`{shown} {repo / 'main.py'} ...`"
    if python.exists():
        return (f"error: this Python ({sys.executable}) has no {module} module: run the program with the virtual "
                f"environment's Python, {start} (or `{activate}` first).")
    return (f"error: this Python ({sys.executable}) has no {module} module, and there is no virtual environment in "
            f"{repo} yet: make it with `python3 -m venv .venv && .venv/bin/pip install -e .` there (README.md), "
            f"then run {start}.")


def _main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `main.py VIDEO` opens the GUI on a file; `main.py` alone picks GUI or demo.
    commands = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001 - argparse has no public API
    if not argv or (argv[0] not in commands and not argv[0].startswith("-")):
        if argv and not _looks_like_path(argv[0]):  # a mistyped command: the GUI took it for a file to open
            import difflib

            like = difflib.get_close_matches(argv[0], sorted(commands), n=1)
            parser.error(f"{argv[0]!r} is no command{f' (did you mean {like[0]}?)' if like else ''}, nor a file here")
        if has_display():
            return gui_main(argv)
        said = _no_display_error(argv)
        if said is not None:
            print(said, file=sys.stderr)
            return 2
        print(f"No display found ({display_problem()}): running the headless demo (use `inpaint` for your own "
              "videos).", file=sys.stderr)
        argv = ["demo"] + argv
    args = _parse(parser, argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    log_file = None
    before = _file_state(getattr(args, "output", None))  # (a Ctrl-C then says the file there is untouched)
    try:
        if args.log_file is not None:
            from .core.logfile import add_log_file

            for option, path in _path_options(args):
                if option != "log_file" and same_path(args.log_file, path):
                    raise OutputError(f"--log-file {args.log_file} is also the {option.replace('_', '-')} of the "
                                      "command; choose another log file.")

            log_file = add_log_file(args.log_file)
            logging.getLogger("app").info("sttn-inpaint %s: %s", __version__, " ".join(argv))
        # (not around the window: a KeyboardInterrupt raised in a Qt slot is printed and the window
        # goes on, so `kill` left it running; it ends at SIGTERM as when opened with a file)
        with contextlib.nullcontext() if args.func is cmd_gui else _terminations_interrupt():
            return int(args.func(args) or 0)
    except Cancelled as exc:
        return _ended(log_file, f"cancelled: {exc}", exc.exit_code)
    except InpaintError as exc:
        if args.verbose:
            logging.exception("details")
        return _ended(log_file, f"error: {exc}", exc.exit_code)
    except KeyboardInterrupt:
        kept = _output_kept(getattr(args, "output", None), before)
        return _ended(log_file, "cancelled: interrupted; no partial output was left"
                      + (f"; the file that was at {kept} is as it was." if kept else "."), 130)
    except MemoryError:
        return _ended(log_file, "error: out of memory; try --crop-to-mask, fewer --max-refs, or a shorter "
                                "--start/--end range.", 3)
    except Exception:  # a bug: its traceback goes to stderr as always, and into the log file to send along
        if log_file is not None:
            _to_log_file(log_file, "failed with an unexpected error", sys.exc_info())
        raise


def _file_state(path):
    """What tells a file at ``path`` from one written over it (None: no file there)."""
    try:
        st = os.stat(Path(path).expanduser()) if path is not None else None
    except (OSError, ValueError):
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if st is not None and stat.S_ISREG(st.st_mode) else None


def _output_kept(path, before):
    """``path`` where a file was there before the run and still is, unchanged: a Ctrl-C said only "no
    partial output was left", and the user of an output that replaces a file was left to wonder
    whether the one there was lost."""
    return path if before is not None and _file_state(path) == before else None


def _ended(log_file, line: str, code: int) -> int:
    """Print the line a command ends with on stderr, write it into the --log-file too (where the
    reason a run under nohup or a scheduler stopped is looked for), and give back ``code``."""
    print(line, file=sys.stderr)
    if log_file is not None:
        _to_log_file(log_file, line)
    return code


def _to_log_file(handler, message: str, exc_info=None) -> None:
    """``message`` (at ERROR) into the log file alone: stderr has said it already, once."""
    handler.handle(logging.getLogger("app").makeRecord("app", logging.ERROR, __file__, 0, message, None, exc_info))


if __name__ == "__main__":
    sys.exit(main())
