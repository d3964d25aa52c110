"""``evaluate`` subcommand: PSNR / SSIM / E_warp on clips with seeded stationary masks.

    sttn-inpaint evaluate CLIP [CLIP ...] --masks stationary --seed 0 \\
        --method propagate+telea [--method telea ...] [--weights sttn.pth] [--max-frames 40] \\
        [--i3d i3d_torchscript.pt] [--json OUT.json] [--markdown OUT.md]

``register(subparsers)`` adds it to the main parser; the handler prints the Markdown table,
returns 0, and raises ``InpaintError`` subclasses for user errors.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from pathlib import Path

from .cliutil import int_in, path_arg
from .core.errors import Cancelled, InpaintError


def _methods(values) -> list[str]:
    from .core.evaluate import METHODS

    out = []
    for v in values or ["propagate+telea"]:
        for m in v.split(","):
            m = m.strip()
            if not m:
                continue
            if m not in METHODS:
                raise InpaintError(f"Unknown method {m!r}; use one of {', '.join(METHODS)}.")
            if m not in out:
                out.append(m)
    return out


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 432x240, not {text!r}") from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError("size must be at least 16x16")
    return w, h


def register(subparsers) -> None:
    """Add ``evaluate`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "evaluate", help="score inpainting methods on clips with seeded stationary masks (PSNR, SSIM, E_warp)",
        description="Blank a seeded Algorithm 1 stationary mask in each clip (resized to --size, 432x240 by "
                    "default), fill it with each method and compare with the original frames: PSNR, SSIM, flow "
                    "warping error, and VFID when I3D weights are given.")
    p.add_argument("clips", nargs="+", type=path_arg, metavar="CLIP", help="video files or folders of frames")
    p.add_argument("--masks", default="stationary", choices=["stationary"],
                   help="test masks: stationary = paper supplement Algorithm 1, one per clip (default)")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="mask seed; a clip gets the same mask for every method")
    p.add_argument("--method", action="append", metavar="NAME[,NAME]",
                   help="none | telea | propagate | propagate+telea | sttn | propagate+sttn; repeat the option "
                        "or separate with commas (default propagate+telea)")
    p.add_argument("--weights", type=path_arg, metavar="PATH",
                   help="STTN generator weights for the sttn methods (default: the bundled model, as inpaint)")
    p.add_argument("--max-frames", type=int_in(2), default=None, metavar="N",
                   help="use only the first N frames of each clip (at least 2)")
    p.add_argument("--size", type=_size, default=(432, 240), metavar="WxH",
                   help="evaluation size WxH (default 432x240, the paper's)")
    p.add_argument("--i3d", type=path_arg, metavar="FILE.pt",
                   help="TorchScript I3D feature extractor for VFID (not bundled)")
    p.add_argument("--seam", default="match", choices=["match", "none"],
                   help="seam mode of the sttn methods: match = Poisson-style level correction (default), none")
    p.add_argument("--samples", type=path_arg, metavar="DIR",
                   help="write DIR/<clip>.png: the middle frame's ground truth, input and each method's output")
    p.add_argument("--json", type=path_arg, metavar="OUT.json", help="write all numbers as JSON")
    p.add_argument("--markdown", type=path_arg, metavar="OUT.md", help="write the tables as Markdown")
    p.set_defaults(func=evaluate_command)


def _write(path: Path, text: str) -> None:
    from .core.fsutil import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _check_samples_dir(folder: Path, reads) -> None:
    """Refuse a ``--samples`` folder that is a file, cannot be made, or is an input folder (a clip's
    frames: its sample PNG would become a frame), before minutes of computing;
    the folder is made here."""
    from .cliutil import same_path
    from .core.errors import OutputError
    from .core.fsutil import cannot_write_in

    folder = folder.expanduser()
    for what, path in reads:
        if path is not None and Path(path).expanduser().is_dir() and same_path(folder, path):
            raise OutputError(f"--samples {folder} is the input {what}: its PNGs would join the frames there; "
                              "choose another folder.")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--samples {folder} is a file, not a folder; give a folder for the sample PNGs.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot make the --samples folder {folder} ({exc.strerror}); choose another one.") from None
    why = cannot_write_in(folder)  # (a real try: root passes os.access on a read-only mount)
    if why:
        raise OutputError(f"Cannot write in the --samples folder {folder} ({why}); choose another one.")


def _features_fail(extractor, frames: int) -> str:
    """Why ``extractor`` does not turn a blank clip of ``frames`` frames into features ("": it does)."""
    import numpy as np

    from .core.errors import InpaintError

    try:
        features = extractor([np.zeros((32, 32, 3), np.uint8)] * frames)
        ok = features.ndim == 1 and features.size > 0 and bool(np.isfinite(features).all())
        return "" if ok else f"it gave {features.size} values"
    except InpaintError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the module raises means "not an I3D extractor"
        return (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:160]


def _check_i3d(path, max_frames=None) -> None:
    """Refuse an --i3d file that does not turn a clip into features, before minutes of scoring: a
    TorchScript module of another network (a linear layer, say) loaded, ran every method and then
    ended in a traceback when VFID was computed. So is a --max-frames too few for it (a real I3D
    needs 16): every clip would be left out of VFID."""
    from .core.metrics import I3D_MIN_FRAMES, I3DFeatures

    with warnings.catch_warnings():  # (torch.jit.load's deprecation notice: for developers)
        warnings.simplefilter("ignore", FutureWarning)
        extractor = I3DFeatures(path)  # (a missing file or no TorchScript module: its own one line)
        why = _features_fail(extractor, I3D_MIN_FRAMES)
        if why:
            raise InpaintError(f"--i3d {path} does not turn a clip into features ({why}); give a TorchScript I3D "
                               "that maps (N, 3, T, H, W) RGB in [-1, 1] to features (N, D) (docs/QUALITY.md), or "
                               "leave --i3d out.")
        if max_frames is not None and max_frames < I3D_MIN_FRAMES:
            why = _features_fail(extractor, max_frames)
            if why:
                raise InpaintError(f"--i3d {path} needs clips of {I3D_MIN_FRAMES} frames or more, but --max-frames "
                                   f"is {max_frames} ({why}); give --max-frames {I3D_MIN_FRAMES} or more, or "
                                   "leave --i3d out.")


def _interrupted(folder, made: bool, before: set) -> str:
    """What an interrupted run says it left: the sample images of the clips scored so far (whole
    files, each written then renamed), never a --json or --markdown; a --samples folder it made
    and wrote nothing into is removed."""
    if folder is None:
        return "interrupted; nothing was written."
    folder = folder.expanduser()
    new = sorted(p.name for p in folder.iterdir() if p not in before and p.suffix == ".png"
                 and not p.name.startswith("."))
    if not new:
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        return "interrupted; nothing was written."
    return (f"interrupted; no table was written, but the sample images of the {len(new)} clip(s) scored so far "
            f"are in {folder} ({', '.join(new[:3])}{', ...' if len(new) > 3 else ''}).")


def evaluate_command(args) -> int:
    from .cliutil import REPLACING, TqdmProgress, refuse_inputs, replaces, same_path
    from .core.errors import OutputError
    from .core.evaluate import evaluate, to_markdown
    from .core.fsutil import check_writable

    methods = _methods(args.method)
    weights = args.weights
    if weights is None and any("sttn" in m for m in methods):  # as inpaint: the bundled model (None: none shipped)
        from .core import paths

        weights = paths.default_weights()
    # Fail on unwritable outputs, and on outputs that are inputs, before minutes of computing.
    reads = [("clip", c) for c in args.clips] + [("weights file", weights), ("I3D file", args.i3d)]
    for option, out in (("--json", args.json), ("--markdown", args.markdown)):
        if out is not None:
            refuse_inputs(out, reads, option=option)
            check_writable(out, inputs=args.clips)
    if args.i3d is not None:
        _check_i3d(args.i3d, args.max_frames)
    if args.json is not None and args.markdown is not None and same_path(args.json, args.markdown):
        raise OutputError(f"--json and --markdown are both {args.json}: the second would replace the first; "
                          "give them two paths.")
    replacing = {out: replaces(out) for out in (args.json, args.markdown) if out is not None}
    made, before = False, set()
    if args.samples is not None:
        made = not args.samples.expanduser().exists()
        _check_samples_dir(args.samples, reads)
        before = set(args.samples.expanduser().iterdir())
    try:
        with TqdmProgress("evaluate", unit="run") as bar, warnings.catch_warnings():
            # (torch.jit.load's deprecation notice is for developers, not a line for the user)
            warnings.simplefilter("ignore", FutureWarning)
            result = evaluate(args.clips, methods, masks=args.masks, seed=args.seed, max_frames=args.max_frames,
                              size=args.size, weights=weights, i3d=args.i3d, progress=bar,
                              samples_dir=args.samples, seam=args.seam)
    except KeyboardInterrupt:  # (Ctrl-C, kill): "no partial output was left" was untrue of --samples
        raise Cancelled(_interrupted(args.samples, made, before)) from None
    md = to_markdown(result)
    sys.stdout.write(md)
    if args.json is not None:
        _write(args.json, json.dumps(result, indent=2) + "\n")
    if args.markdown is not None:
        _write(args.markdown, md)
    for warning in result["warnings"]:  # (a damaged or cut-off clip, one line each, as inpaint and track say it)
        print(f"warning: {warning}", file=sys.stderr)
    for out, replaced in replacing.items():  # (on stderr: the table is stdout's, for a pipe or a > file)
        print(f"Wrote {out}{REPLACING if replaced else ''}.", file=sys.stderr)
    return 0


if __name__ == "__main__":  # python -m app.cli_eval CLIP ... (without the rest of the CLI)
    from .core.errors import InpaintError as _E

    _parser = argparse.ArgumentParser(prog="evaluate")
    _sub = _parser.add_subparsers(dest="command")
    register(_sub)
    _args = _parser.parse_args(["evaluate"] + sys.argv[1:])
    try:
        sys.exit(_args.func(_args))
    except _E as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
