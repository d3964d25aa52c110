"""``track`` subcommand: click-to-remove without the GUI.

    sttn-inpaint track VIDEO --click 210,96 [--click 250,120,30] [--not 300,40] [--box 180,60,260,200]
        [--click 330,100#2] [--keyframe fixed_40.png,40] --output masks/ [--start 0 --end 80]
        [--sam sam_vit_b_01ec64.pth] [--json flags.json]
    sttn-inpaint inpaint VIDEO --mask masks/ --dilate 8 -o clean.mp4

Clicks are ``X,Y`` (frame 0, or ``--frame``) or ``X,Y,FRAME`` in video pixels. On each frame with
clicks the segmenter selects the object the way the GUI's click tool does (the first click
proposes, every further click on that frame edits the proposal), those frames become keyframes,
and the tracker follows the object through [start, end). ``#N`` after a click or box names the
object it is for (default 1): each object of a frame is selected from its own clicks and
followed on its own, as the GUI does with selections committed one by one. ``--keyframe
MASK[,FRAME]`` gives a frame's object mask as an image instead (drawn elsewhere, or a mask this
command wrote and that was corrected in a paint program): tracking again from corrected frames
is how a mask folder is fixed without the GUI. The masks (white =
object) are written as one PNG per frame of the whole video, the format ``inpaint --mask`` reads;
frames outside the range are empty. The folder is written under a temporary name and renamed when complete, so a
failed or cancelled run leaves nothing half-written. Frames the tracker is unsure of are listed
at the end (and in ``--json``).

``register(subparsers)`` adds it to the main parser; user errors raise ``InpaintError``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

from .cliutil import device_arg, int_in, path_arg
from .core.fsutil import process_gone
from .core.errors import InpaintError

log = logging.getLogger("app.track")


def _object(text: str) -> tuple[str, int]:
    """``"...#N"`` -> ("...", N); without ``#N`` the object is 1."""
    body, sep, obj = text.partition("#")
    n = int(obj) if sep else 1  # ValueError for "#x", caught by the callers
    if n < 1:
        raise ValueError
    return body, n


def _point(text: str) -> tuple[float, float, int | None, int]:
    try:
        body, obj = _object(text)
        parts = body.split(",")
        if len(parts) not in (2, 3):
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
        frame = int(parts[2]) if len(parts) == 3 else None
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a click is X,Y or X,Y,FRAME (video pixels), with #N after it for object N, not {text!r}") from None
    return x, y, frame, obj


def _box(text: str) -> tuple[tuple[float, float, float, float], int | None, int]:
    try:
        body, obj = _object(text)
        parts = body.split(",")
        if len(parts) not in (4, 5):
            raise ValueError
        box = tuple(float(v) for v in parts[:4])
        frame = int(parts[4]) if len(parts) == 5 else None
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a box is X0,Y0,X1,Y1 or X0,Y0,X1,Y1,FRAME, with #N after it for object N, not {text!r}") from None
    if box[2] <= box[0] or box[3] <= box[1]:
        raise argparse.ArgumentTypeError(f"box {text!r}: X1 must exceed X0 and Y1 must exceed Y0")
    return box, frame, obj


def _candidate(text: str) -> tuple[int, int | None, int]:
    """``K``, ``K,FRAME``, with ``#N`` for object N: the K-th of the first click's candidates."""
    try:
        body, obj = _object(text)
        parts = body.split(",")
        if len(parts) not in (1, 2):
            raise ValueError
        k = int(parts[0])
        frame = int(parts[1]) if len(parts) == 2 else None
        if k < 1:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a candidate is K or K,FRAME (K from 1, as --preview numbers them), with #N after it for object N, "
            f"not {text!r}") from None
    return k, frame, obj


def _nothing_selected(pts, box, where: str) -> str:
    """The one-line error for clicks and/or a box ``where`` (e.g. "on frame 0 for object 1") that
    selected nothing: names what was given, and what to do."""
    given_by = "clicks" if box is None else f"box {_fmt_box(box)}" if not pts else f"clicks and box {_fmt_box(box)}"
    return (f"The {given_by} {where} selected nothing; "
            + ("click inside the object." if box is None else
               "draw the box closely around the object, or add a --click on it."))


def _fmt_box(box) -> str:
    return ",".join(f"{v:g}" for v in box)


def _keyframe(text: str) -> tuple[Path, int | None]:
    """``PATH`` or ``PATH,FRAME`` (a path may hold commas: only a final integer is the frame)."""
    body, sep, last = text.rpartition(",")
    if sep and last.strip().lstrip("-").isdigit():
        return Path(body).expanduser(), int(last)
    return Path(text).expanduser(), None


def _sha256(text: str) -> str:
    t = text.strip().lower()
    if len(t) != 64 or any(c not in "0123456789abcdef" for c in t):
        raise argparse.ArgumentTypeError(f"a SHA-256 is 64 hexadecimal digits, not {text!r}")
    return t


def register(subparsers) -> None:
    """Add ``track`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "track", help="select an object by clicks and track it through the video; writes a mask folder",
        description="Select an object by clicks (in video pixels) on one or more frames and track it through the "
                    "video; write one mask PNG per frame (white = object), the folder that `inpaint --mask` reads.")
    p.add_argument("input", type=path_arg, help="video file or folder of frames")
    p.add_argument("--click", type=_point, action="append", default=[], metavar="X,Y[,FRAME][#N]",
                   help="a point on the object (repeat for more; on one frame, later clicks correct the first); "
                        "#N: on object N, for several objects (default 1), each followed on its own")
    p.add_argument("--not", dest="negative", type=_point, action="append", default=[], metavar="X,Y[,FRAME][#N]",
                   help="a point that is not the object (applied after the clicks of its frame and object)")
    p.add_argument("--box", type=_box, action="append", default=[], metavar="X0,Y0,X1,Y1[,FRAME][#N]",
                   help="a box around the object (one per frame and object)")
    p.add_argument("--keyframe", type=_keyframe, action="append", default=[], metavar="MASK[,FRAME]",
                   help="a mask image of the object(s) on a frame (white = object; e.g. a frame of an earlier run, "
                        "corrected): tracking starts from it as from clicks; parts apart are objects of their own")
    p.add_argument("--frame", type=int_in(0), default=0, metavar="N",
                   help="frame of clicks, boxes and keyframe masks given without one (default 0)")
    p.add_argument("--output", "-o", type=path_arg, metavar="DIR",
                   help="mask folder to create (must not exist; not needed with --preview)")
    p.add_argument("--candidate", type=_candidate, action="append", default=[], metavar="K[,FRAME][#N]",
                   help="keep the K-th of the first click's candidates for object N (as Tab does in the GUI; "
                        "default 1, the first); --preview shows them numbered")
    p.add_argument("--preview", type=path_arg, metavar="SHEET.png",
                   help="write the first click's candidates of each object, numbered, to this picture (with "
                        "more clicks, also the mask they make from candidate K: what tracking starts from) and "
                        "stop without tracking; then run again with --candidate K and --output")
    p.add_argument("--start", type=int_in(0), default=0, metavar="FRAME", help="first frame to track")
    p.add_argument("--end", type=int_in(1), default=None, metavar="FRAME",
                   help="frame after the last to track (default: the end)")
    p.add_argument("--sam", type=path_arg, metavar="CHECKPOINT",
                   help="Segment Anything checkpoint (sam_vit_b_01ec64.pth ..., `download-sam` fetches one); "
                        "default: the weight-free segmenter")
    p.add_argument("--device", default="auto", type=device_arg(), metavar="{auto,cpu,cuda,mps}",
                   help="device for SAM: auto = CUDA, then MPS, then the CPU (default %(default)s)")
    p.add_argument("--json", type=path_arg, metavar="OUT.json", help="also write keyframes and flagged frames here")
    p.set_defaults(func=cmd_track)

    from .core.paths import user_data_dir

    p = subparsers.add_parser(
        "download-sam", help="download an official Segment Anything checkpoint for click-to-select",
        description="Download an official Segment Anything checkpoint (not shipped with the application: "
                    "375 MB to 2.6 GB) into the models folder where the GUI's click tool finds it. The file "
                    "appears only when complete and matching the official file's SHA-256 (a mirror must serve the "
                    "same bytes); an interrupted or wrong download leaves nothing. Without one, the click tool "
                    "uses the weight-free segmenter.")
    p.add_argument("--model", choices=["vit_b", "vit_l", "vit_h"], default="vit_b",
                   help="ViT-B (375 MB) is the one for a CPU, about 8 s per frame on 2 cores; on a GPU even ViT-H "
                        "takes 0.2 s (default %(default)s)")
    p.add_argument("--dest", type=path_arg, metavar="DIR",
                   help=f"folder to save it in (default {user_data_dir() / 'models'})")
    p.add_argument("--url", metavar="MIRROR", help="download from this mirror instead of the official URL")
    p.add_argument("--sha256", type=_sha256, metavar="HEX",
                   help="expected SHA-256, 64 hex digits, in place of the official file's (for a file of your own)")
    p.set_defaults(func=cmd_download_sam)


def cmd_download_sam(args) -> int:
    from .cliutil import TqdmProgress
    from .core.segment import download
    from .core.segment.sam import SAM_CHECKPOINTS

    ck = SAM_CHECKPOINTS[args.model]
    dest = args.dest if args.dest is not None else download.models_dir()
    url = args.url or ck.url
    if "://" in url and not url.lower().startswith(("http://", "https://")):  # (file://, ftp://)
        raise InpaintError(f"--url {url} is not an http:// or https:// address; a checkpoint you already have needs "
                           f"no download: copy it into {dest} (or give it to `track --sam`).")
    if not url.lower().startswith(("http://", "https://")):
        raise InpaintError(f"--url {url} needs http:// or https:// in front (e.g. http://{url}).")
    if dest.expanduser().exists() and not dest.expanduser().is_dir():
        raise InpaintError(f"--dest {dest} is a file; give the folder to save the checkpoint in.")
    try:  # (before the line that says where it goes)
        dest.expanduser().mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InpaintError(f"Cannot create the models folder {dest} ({exc.strerror}); choose another --dest.") from None
    print(f"Downloading {ck.filename} from {url} into {dest}", file=sys.stderr)
    with TqdmProgress(ck.filename, unit="B", scale=True) as bar:
        path = download.download_sam_checkpoint(args.model, dest, url=url, sha256=args.sha256, progress=bar)
    size = path.stat().st_size
    found = args.dest is None or path.parent.resolve() == download.models_dir().resolve()
    print(f"Saved {path} ({size / 2**20:.0f} MB). "
          + ("The GUI's click tool finds it there; " if found else
             f"The GUI does not look in {path.parent}: choose the file in Settings > General > SAM checkpoint; ")
          + f"`track --sam {path}` uses it from the command line.")
    return 0


def _prompts(args, n_frames: int) -> dict[int, dict[int, tuple[list, object]]]:
    """{frame: {object: ([(x, y, label)], box)}} from the command line, checked against the video."""
    frames: dict[int, dict[int, tuple[list, object]]] = {}
    for (x, y, f, obj), label in [(c, 1) for c in args.click] + [(c, 0) for c in args.negative]:
        f = args.frame if f is None else f
        frames.setdefault(f, {}).setdefault(obj, ([], None))[0].append((x, y, label))
    for box, f, obj in args.box:
        f = args.frame if f is None else f
        pts, old = frames.setdefault(f, {}).setdefault(obj, ([], None))
        if old is not None:
            raise InpaintError(f"Two boxes for object {obj} on frame {f}; give one box per object and frame.")
        frames[f][obj] = (pts, box)
    for _, f in args.keyframe:
        frames.setdefault(args.frame if f is None else f, {})
    if not frames:
        raise InpaintError("Nothing to track: give at least one --click X,Y (or --box, or --keyframe MASK) on the "
                           "object.")
    for f, objects in frames.items():
        if not 0 <= f < n_frames:
            raise InpaintError(f"Frame {f} is outside the video (frames 0..{n_frames - 1}); give a frame in that range "
                               "(the number after X,Y of --click, --not or --box, after the mask of --keyframe, or "
                               "--frame).")
        for obj, (pts, box) in objects.items():
            if pts and all(label == 0 for _, _, label in pts) and box is None:
                which = "" if list(objects) == [1] else f" for object {obj}"
                raise InpaintError(f"Frame {f} has only --not points{which}; add a --click on the object or a --box.")
    return frames


def _first_candidates(seg, points, box) -> list:
    """The candidates the GUI's click tool offers for the first click (with the box), in its order."""
    points = sorted(points, key=lambda p: -p[2])  # positive clicks first: the proposal starts on the object
    return seg.predict(points[:1], box)


def _select(seg, points, box, candidate: int = 1, which: str = "", cands=None):
    """The mask the GUI's click tool would show after these clicks on the segmenter's current
    image: the first click (with the box) proposes (its ``candidate``-th answer, as after
    ``candidate`` - 1 Tabs), each further one edits the proposal. ``cands``: the first click's
    candidates when they are at hand (``_first_candidates``)."""
    cands = _first_candidates(seg, points, box) if cands is None else cands
    if candidate > len(cands):
        raise InpaintError(f"--candidate {candidate}{which}: that click has {len(cands)} candidate"
                           f"{'' if len(cands) == 1 else 's'}; give 1..{len(cands)} (--preview SHEET.png shows them).")
    mask = cands[candidate - 1].mask
    points = sorted(points, key=lambda p: -p[2])
    for k in range(2, len(points) + 1):
        mask = seg.predict(points[:k], previous=mask)[0].mask
    return mask


#: pictures a row of ``--preview``'s sheet holds at most (six of a wide frame made it some 2,000 px wide)
SHEET_COLUMNS = 4


def _candidate_sheet(rgb, cands, points, title: str, height: int = 180, columns: int = SHEET_COLUMNS,
                     numbered: bool = True):
    """Numbered pictures (``numbered``), one per candidate, ``columns`` to a row, as the GUI's candidate
    strip draws them (``thumbs.tinted``: the frame cropped around them all, each tinted and outlined),
    the clicks on them (green on, red not) and ``title`` above."""
    import cv2
    import numpy as np

    from .core.segment.thumbs import crop_box, tinted

    masks = [c.mask for c in cands]
    x0, y0, x1, y1 = box = crop_box(masks)
    tiles = []
    for k, img in enumerate(tinted(rgb, masks, height, box), 1):
        sx, sy = img.shape[1] / (x1 - x0), height / (y1 - y0)
        for x, y, label in points:
            if x0 <= x < x1 and y0 <= y < y1:
                cv2.circle(img, (round((x - x0) * sx), round((y - y0) * sy)), 4,
                           (40, 220, 40) if label else (230, 40, 40), -1, cv2.LINE_AA)
        if numbered:
            cv2.rectangle(img, (0, 0), (34, 26), (0, 0, 0), -1)
            cv2.putText(img, str(k), (7, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
        tiles.append(img)
    gap = 6
    lines = []
    for i in range(0, len(tiles), columns):  # (one crop for all: the pictures are all as wide)
        line = tiles[i:i + columns]
        line += [np.full_like(tiles[0], 255)] * (min(columns, len(tiles)) - len(line))
        lines.append(np.hstack([x for t in line for x in (t, np.full((height, gap, 3), 255, np.uint8))][:-1]))
    row = np.vstack([x for line in lines for x in (line, np.full((gap, line.shape[1], 3), 255, np.uint8))][:-1])
    (text_w, _), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    if row.shape[1] < text_w + 8:  # (one narrow picture: the title still shows whole)
        row = np.pad(row, ((0, 0), (0, text_w + 8 - row.shape[1]), (0, 0)), constant_values=255)
    head = np.full((26, row.shape[1], 3), 255, np.uint8)
    cv2.putText(head, title, (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([head, row])


def _remove_stale_partials(out: Path) -> None:
    """Delete the hidden ``.NAME.partial-PID`` folders a killed ``track`` into ``out`` left (its
    process gone); a run still writing one, here or in another terminal, keeps its own."""
    prefix = f".{out.name}.partial-"
    try:
        found = [p for p in out.parent.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    except OSError:
        return
    for folder in found:
        pid = folder.name[len(prefix):]
        if pid.isdigit() and process_gone(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


PLATE = 10  # frames either side of the background plate whose candidate a first click offers second (as the GUI)


def _picks(args, prompts) -> dict[tuple[int, int], int]:
    """{(frame, object): K} from ``--candidate``, each for a frame and object with clicks or a box."""
    picks: dict[tuple[int, int], int] = {}
    for k, f, obj in args.candidate:
        f = args.frame if f is None else f
        which = f"object {obj} on frame {f}"
        if (f, obj) in picks:
            raise InpaintError(f"Two --candidate for {which}; give one.")
        if obj not in prompts.get(f, {}):
            raise InpaintError(f"--candidate {k} is for {which}, which has no --click or --box; give the clicks "
                               f"of that object on that frame (X,Y,{f}#{obj}) or K,FRAME#N for another.")
        picks[(f, obj)] = k
    return picks


def _sam_device(args):
    """The device SAM runs on (None without ``--sam``): a folder given as the checkpoint or an
    unavailable ``--device`` is refused here, before any work."""
    if args.sam is None:
        return None
    if args.sam.expanduser().is_dir():
        raise InpaintError(f"--sam {args.sam} is a folder; give the checkpoint file in it (sam_vit_b_01ec64.pth, ...).")
    from .core.engine import resolve_device

    return str(resolve_device(args.device))


def _segmenter(sam, device):
    """Segment Anything from checkpoint ``sam`` on ``device``, or (None) the weight-free segmenter."""
    if sam is None:
        from .core.segment import GrabCutSegmenter

        return GrabCutSegmenter()
    from .core.segment.sam import SamSegmenter

    return SamSegmenter.from_checkpoint(sam, device=device)


def _check_inside(prompts, width: int, height: int) -> None:
    """Every click inside the frame, every box at least partly (the rest is clipped)."""
    for f, objects in prompts.items():
        for x, y, _ in (pt for pts, _ in objects.values() for pt in pts):
            if not (0 <= x < width and 0 <= y < height):
                raise InpaintError(f"Click {x:g},{y:g} on frame {f} lies outside the {width}x{height} frame; clicks "
                                   "are in video pixels.")
        for _, box in objects.values():
            if box is not None and (box[0] >= width or box[1] >= height or box[2] <= 0 or box[3] <= 0):
                raise InpaintError(f"Box {_fmt_box(box)} on frame {f} lies outside the {width}x{height} frame; boxes "
                                   "are in video pixels (a box partly outside is clipped to the frame).")


def _preview(args, reads) -> int:
    """``--preview``: the first click's candidates of each clicked object, numbered, in one picture."""
    import cv2
    import numpy as np

    from .cliutil import REPLACING, check_readable, refuse_project, replaces
    from .core.errors import OutputError
    from .core.fsutil import atomic_path
    from .core.segment import Candidate, prepare_click
    from .core.video import open_video

    device = _sam_device(args)
    check_readable(args.input)
    refuse_project(args.input)
    replacing = replaces(args.preview)
    with open_video(args.input) as reader:
        n = len(reader)
        prompts = {f: objects for f, objects in _prompts(args, n).items() if objects}
        if not prompts:
            raise InpaintError("--preview shows the candidates of clicks: give a --click (or --box) on the object.")
        picks = _picks(args, prompts)
        _check_inside(prompts, reader.width, reader.height)
        seg = _segmenter(args.sam, device)
        rows = []
        for f, objects in sorted(prompts.items()):
            rgb = reader[f]
            seg.set_image(rgb, index=f)
            prepare_click(seg, lambda i: reader[i], f, n, plate=PLATE)
            for obj, (pts, box) in sorted(objects.items()):
                offered = _first_candidates(seg, pts, box)
                cands = [c for c in offered if c.mask.any()]
                if not cands:
                    raise InpaintError(_nothing_selected(pts, box, f"on frame {f} for object {obj}"))
                first = sorted(pts, key=lambda p: -p[2])[:1]
                title = (f"frame {f}, object {obj}: candidates 1..{len(cands)} (--candidate K,{f}#{obj})"
                         if len(cands) > 1 else f"frame {f}, object {obj}: one candidate")
                rows.append(_candidate_sheet(rgb, cands, first, title))
                sizes = ", ".join(f"{k}: {int(c.mask.sum())} px" for k, c in enumerate(cands, 1))
                print(f"frame {f}, object {obj}: {len(cands)} candidate{'' if len(cands) == 1 else 's'} ({sizes})",
                      file=sys.stderr)
                if len(pts) > 1:  # the further clicks edit the kept candidate: show what tracking starts from
                    k = picks.get((f, obj), 1)
                    mask = _select(seg, pts, box, k, f" for object {obj} on frame {f}", offered)
                    said = f"frame {f}, object {obj}: candidate {k} with all {len(pts)} clicks"
                    if mask.any():
                        rows.append(_candidate_sheet(rgb, [Candidate(mask, 0.0)], pts,
                                                     f"{said}, what tracking starts from", numbered=False))
                    print(f"{said}: {int(mask.sum())} px" + ("" if mask.any() else " (selects nothing)"),
                          file=sys.stderr)
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    ok, data = cv2.imencode(args.preview.suffix.lower(), np.ascontiguousarray(sheet[..., ::-1]))
    try:
        with atomic_path(args.preview) as tmp:
            tmp.write_bytes(data.tobytes())
    except OSError as exc:
        raise OutputError(f"Cannot write --preview {args.preview} ({exc.strerror or exc}); is the disk full?") \
            from None
    print(f"Wrote the candidates to {args.preview}{REPLACING if replacing else ''}. Keep one with --candidate K "
          f"(K,FRAME#N for another frame or object) and give --output DIR to track it"
          + (f" ({args.output} was not made: run again without --preview)." if args.output is not None else "."))
    return 0


def cmd_track(args) -> int:
    import numpy as np

    from .cliutil import (REPLACING, TqdmProgress, check_readable, note_end_past, program, refuse_inputs,
                          refuse_project, replaces, same_path)
    from .core.errors import OutputError
    from .core.fsutil import atomic_path, cannot_write_in, check_writable
    from .core.masks import check_is_mask, check_not_inverted, fit_mask, is_own_mask, mask_png, read_mask_image
    from .core.segment import CHECK, TrackParams, prepare_click, split_objects, track
    from .core.video import frame_range, open_video

    if args.output is None and args.preview is None:
        raise InpaintError("Give --output DIR, the mask folder to create (or --preview SHEET.png to see the first "
                           "click's candidates before choosing one with --candidate K).")
    reads = [("video", args.input), ("SAM checkpoint", args.sam)] + [("keyframe mask", k) for k, _ in args.keyframe]
    if args.preview is not None:
        refuse_inputs(args.preview, reads, option="--preview")
        if args.preview.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise InpaintError(f"--preview {args.preview}: give a picture file ending in .png or .jpg.")
        check_writable(args.preview)
        return _preview(args, reads)
    out = Path(args.output).expanduser()
    refuse_inputs(out, reads)
    if args.json is not None:
        if same_path(args.json, out):
            raise OutputError(f"--json {args.json} is the --output mask folder; give a file for it, e.g. "
                              f"{Path(args.json) / 'flags.json'} (inpaint passes it over there).")
        refuse_inputs(args.json, reads, option="--json")
        if not same_path(Path(args.json).expanduser().parent, out):  # (in the mask folder: written once it is)
            check_writable(args.json)
    if os.path.lexists(out):  # (a link to nothing too: the rename at the end could not replace it)
        raise InpaintError(f"{out} already exists; give a new folder for the masks (nothing is overwritten).")
    replacing = replaces(args.json)
    if out.parent.exists() and not out.parent.is_dir():
        raise InpaintError(f"{out.parent} is a file, not a folder; choose another --output.")
    if not out.parent.is_dir():
        raise InpaintError(f"The folder {out.parent} does not exist; create it or choose another --output.")
    why = cannot_write_in(out.parent)  # (a real try: root passes os.access under /proc)
    if why:
        raise OutputError(f"Cannot create a folder in {out.parent} ({why}); choose another --output.")
    device = _sam_device(args)
    check_readable(args.input, *(k for k, _ in args.keyframe))
    refuse_project(args.input)
    reader = open_video(args.input)
    t0 = time.monotonic()
    try:
        n = len(reader)
        notice = getattr(reader, "notice", None)  # (a cut-off file: said with an empty range, or before the work)
        try:
            start, end = args.start, frame_range(args.start, args.end, n, "track")
        except InpaintError as exc:
            if not notice:
                raise
            raise InpaintError(f"{exc} Note: {notice}") from None
        prompts = _prompts(args, n)
        picks = _picks(args, prompts)
        outside = [f for f in prompts if not start <= f < end]
        if outside:
            raise InpaintError(f"The clicks or keyframe mask on frame {outside[0]} lie outside the range "
                               f"{start}..{end - 1}; a click without a frame is on --frame (default 0): give "
                               f"X,Y,FRAME or --frame N with N in {start}..{end - 1}.")
        given: dict[int, list] = {}  # --keyframe: {frame: [its objects]}, read before any slow work
        gap = TrackParams().gap_px((reader.height, reader.width))
        for path, f in args.keyframe:
            f = args.frame if f is None else f
            if path.is_dir():
                raise InpaintError(f"Keyframe mask {path} is a folder; give one image of it, the object on frame {f} "
                                   f"(white = object): --keyframe {path / f'{f:05d}.png'},{f} for a folder of `track`.")
            if not path.is_file():
                raise InpaintError(f"Keyframe mask {path} does not exist; give an image of the object on frame {f} "
                                   "(white = object).")
            image = check_is_mask(read_mask_image(path), f"Keyframe mask {path}")
            mask = fit_mask(image, reader.width, reader.height, f"Keyframe mask {path.name}")
            if not mask.any():
                raise InpaintError(f"Keyframe mask {path} is empty (all black); white marks the object on frame {f}.")
            # (inpaint would refuse its masks after tracking; one of our own files says its polarity)
            check_not_inverted(mask, f"Keyframe mask {path.name}", is_own_mask(path, image))
            given.setdefault(f, []).extend(split_objects(mask, gap))
        _check_inside(prompts, reader.width, reader.height)
        note_end_past(args.end, n, "tracking")  # (after the checks of the input: a bad one is one line)
        if notice:
            print(f"warning: {notice}", file=sys.stderr)
        seg = _segmenter(args.sam, device)
        keyframes = {}
        for f, objects in sorted(prompts.items()):
            masks = list(given.get(f, []))
            if objects:
                seg.set_image(reader[f], index=f)
                # (the background plate only adds a second candidate: made where one is chosen, so that
                # the numbers are those --preview and the GUI's Tab show)
                prepare_click(seg, lambda i: reader[i], f, n, plate=PLATE if picks else 0)
            for obj, (pts, box) in sorted(objects.items()):
                which = "" if len(objects) == 1 else f" for object {obj}"
                mask = _select(seg, pts, box, picks.get((f, obj), 1), f"{which} on frame {f}")
                if not mask.any():
                    raise InpaintError(_nothing_selected(pts, box, f"on frame {f}{which}"))
                masks.append(mask)
                print(f"frame {f}: selected {int(mask.sum())} px{which}", file=sys.stderr)
            keyframes[f - start] = masks[0] if len(masks) == 1 else masks

        _remove_stale_partials(out)  # (what a kill -9 or a power cut left)
        tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
        try:
            tmp.mkdir()
        except OSError as exc:
            raise OutputError(f"Cannot create a folder in {out.parent} ({exc.strerror}); choose another --output.") \
                from None
        try:
            flags = {}

            def write(i, mask):
                # cv2.imwrite does not see a full disk (it reports success for an empty file): write the bytes
                # here; marked as our masks (mask_png), so that a large one is not refused as inverted
                try:
                    (tmp / f"{i:05d}.png").write_bytes(mask_png(mask))
                except OSError as exc:
                    raise OutputError(f"Cannot write the masks in {out.parent} ({exc.strerror or exc}); is the disk "
                                      "full? Nothing was kept.") from None

            empty = np.zeros((reader.height, reader.width), bool)
            for i in list(range(start)) + list(range(end, n)):
                write(i, empty)

            def on_mask(step):
                write(start + step.index, step.mask)
                if step.flag in CHECK:
                    flags[start + step.index] = step.flag
                log.info("frame %d: %d px from keyframe %d%s%s", start + step.index, int(step.mask.sum()),
                         start + step.source, "" if step.iou is None else f", IoU with the flow's guess {step.iou:.2f}",
                         f", {step.flag}" if step.flag else "")

            with TqdmProgress("track") as bar:
                track(lambda k: reader[start + k], end - start, keyframes, seg, progress=bar, on_mask=on_mask,
                      keep_masks=False)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # (damage met while the frames were read, each stretch's, as inpaint says it: it was said by
        # inpaint alone, so masks tracked through broken frames came without a word)
        late = [d.notice for d in getattr(reader, "damages", ())] + [getattr(reader, "notice", None)]
        late = list(dict.fromkeys(w for w in late if w and w != notice))
    finally:
        reader.close()
    info = {"video": str(args.input), "range": [start, end], "keyframes": sorted(k + start for k in keyframes),
            "flagged": {str(i): f for i, f in sorted(flags.items())}}
    if args.json:
        try:
            with atomic_path(args.json) as tmp:
                tmp.write_text(json.dumps(info, indent=1))
        except OutputError as exc:  # (its temporary file could not be made: the folder was checked before)
            raise OutputError(f"The masks are in {out}, but --json {args.json} was not written: {exc}") from None
        except OSError as exc:
            raise OutputError(f"The masks are in {out}, but writing {args.json} failed ({exc.strerror or exc}); "
                              "is the disk full?") from None
    for warning in late:
        print(f"warning: {warning}", file=sys.stderr)
    secs = time.monotonic() - t0
    rest = n - (end - start)  # (a mask for every frame, so that `inpaint --mask` reads the folder whole)
    print(f"Wrote {n} mask{'' if n == 1 else 's'} to {out} (tracked frames {start}..{end - 1} in {secs:.1f} s"
          + (f"; the other {rest} empty)" if rest else ")")
          + (f" and the keyframes and flagged frames to {args.json}{REPLACING if replacing else ''}." if args.json
             else "."))
    if flags:
        shown = ", ".join(str(i) for i in sorted(flags)[:20]) + (" ..." if len(flags) > 20 else "")
        print(f"Check {len(flags)} flagged frame(s): {shown}")
    span = (f" --start {start}" if start else "") + (f" --end {end}" if end < n else "")  # only the frames tracked
    print(f"Next: {program()} inpaint {shlex.quote(str(args.input))} --mask {shlex.quote(str(out))}{span} --dilate 8 "
          "-o OUTPUT.mp4")
    return 0
