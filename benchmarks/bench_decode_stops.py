"""How many of ``bench_damage.py``'s overwritten files stop a full in-order read.

Each file of bench_damage's ``overwrite`` and ``overwrite-wide`` families (bytes overwritten, the
file's length kept) is opened with ``VideoReader`` and read frame by frame from 0 to its end; a
``VideoError`` raised by a read after the open counts as a stop (the export would end there). A file
refused at open is counted apart (refused), as is one whose frames all read (read through).

``--lost``: of the files read through, each frame the reader gives as the frame before it (its packet
refused: the frames its notice says "could not be decoded") is read again as a fresh reader's first
read and compared with the read in order; one that differs is counted by whether the frame it shows
(the last one before it not lost) is the undamaged file's frame in the read in order.

``--placed``: of the files opened whose video packets are as many as the undamaged file's, those where a
frame the read in order gives (up to its stop) is out of its place: neither a lost frame's stand-in (the
frame before) nor the picture FFmpeg decodes from the packet that has that frame's place in the undamaged
file (packets matched by their order in the file). ``--bframes``: the AVI and .mpg encodes' B-frames.

    .venv/bin/python benchmarks/bench_decode_stops.py [--work /tmp/damage-stops] [--only mp4,mkv] [--frames 40]
                                                      [--lost] [--placed] [--bframes 2]
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Optional

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_damage import CLIP, KINDS, damages, encode, source_frames, video_packets  # noqa: E402

from app.core.errors import VideoError  # noqa: E402
from app.core.video import VideoReader  # noqa: E402


def lost_frames(path: Path, whole: list, table: collections.Counter) -> None:
    """Count, for ``--lost``, how the frames lost to refused packets read at random (module doc)."""
    lost = set()
    met = VideoReader._met_damage

    def spy(reader, index, at, **said):
        if said.get("lost") is not None:
            lost.update(range(index, said["lost"] + 1))
        return met(reader, index, at, **said)

    VideoReader._met_damage = spy
    try:
        with VideoReader(path) as r:
            seq = [r.read(i) for i in range(len(r))]
    finally:
        VideoReader._met_damage = met
    table["files losing frames"] += bool(lost)
    for i in sorted(lost):
        with VideoReader(path) as r:
            same = np.array_equal(r.read(i), seq[i])
        before = max(k for k in range(i) if k not in lost)
        table["lost frames"] += 1
        if not same:
            table["differ, the frame shown " + ("whole" if np.array_equal(seq[before], whole[before]) else
                                                "damaged itself") + " in order"] += 1


def decoded(path: Path) -> tuple[list, dict]:
    """(each video packet's time in the file's order, {time: RGB picture} of the frames FFmpeg decodes)."""
    times, pictures = [], {}
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for packet in c.demux(stream):  # (the last, empty, flushes the decoder)
            times += [packet.pts] if packet.size else []
            try:
                pictures.update({f.pts: f.to_ndarray(format="rgb24") for f in packet.decode()})
            except av.error.FFmpegError:
                pass
    return times, pictures


def out_of_place(path: Path, whole_times: list, given: list) -> Optional[int]:
    """For ``--placed``: the first frame of ``given`` (the read in order of ``path``) out of its place (module
    doc); -1 where none is, None where the packets are not as many as the undamaged file's."""
    times, pictures = decoded(path)
    if len(times) != len(whole_times):
        return None
    order = sorted(whole_times)
    place = {t: order.index(w) for t, w in zip(times, whole_times)}  # (each packet's place in the whole file)
    for i, img in enumerate(given):
        if i and np.array_equal(img, given[i - 1]):
            continue
        made = [t for t, picture in pictures.items() if np.array_equal(picture, img)]
        if made and all(place.get(t) != i for t in made):
            return i
    return -1


def outcome(path: Path, given: Optional[list] = None) -> tuple[str, str]:
    """("refused" | "stops" | "reads", detail) for one damaged file read in order (each frame appended to
    ``given``)."""
    try:
        r = VideoReader(path)
    except VideoError as exc:
        return "refused", str(exc)
    with r:
        for i in range(len(r)):
            try:
                frame = r.read(i)
            except VideoError as exc:
                return "stops", f"at {i} of {len(r)}: {exc}"
            if given is not None:
                given.append(frame)
        return "reads", f"{len(r)} frames, {len(r.damages)} stretch(es)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/damage-stops"))
    ap.add_argument("--only", default="", help="comma-separated kinds (default all)")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--show", action="store_true", help="print each file that stops")
    ap.add_argument("--lost", action="store_true", help="read the frames lost to refused packets at random too")
    ap.add_argument("--placed", action="store_true", help="check that each frame given is in its place")
    ap.add_argument("--bframes", type=int, default=None, help="B-frames of the AVI and .mpg encodes (default 2)")
    args = ap.parse_args(argv)
    if args.bframes is not None:
        for kind in ("avi", "mpg"):
            suffix, vcodec, voptions, acodec, options = KINDS[kind]
            KINDS[kind] = (suffix, vcodec, {**voptions, "bf": str(args.bframes)}, acodec, options)
    args.work.mkdir(parents=True, exist_ok=True)
    frames = source_frames(args.frames, args.clip)
    kinds = [k for k in KINDS if not args.only or k in args.only.split(",")]
    table, lost, placed = collections.Counter(), collections.Counter(), collections.Counter()
    for kind in kinds:
        suffix = KINDS[kind][0]
        src = encode(args.work / f"whole-{kind}{suffix}", kind, frames)
        bad = args.work / f"bad-{kind}{suffix}"
        if args.lost:
            with VideoReader(src) as r:
                whole = [r.read(i) for i in range(len(r))]
        whole_times = decoded(src)[0] if args.placed else None
        for family, label, blob in damages(src.read_bytes(), video_packets(src)):
            if not family.startswith("overwrite"):
                continue
            bad.write_bytes(blob)
            given = [] if args.placed else None
            verdict, detail = outcome(bad, given)
            table[kind, verdict] += 1
            table["all", verdict] += 1
            if args.placed and verdict != "refused":
                at = out_of_place(bad, whole_times, given)
                placed[kind, "not checked" if at is None else "in place" if at < 0 else "OUT OF PLACE"] += 1
                if at is not None and at >= 0:
                    print(f"{kind:14} {label:36} frame {at} out of its place", flush=True)
            if args.show and verdict == "stops":
                print(f"{kind:14} {label:36} {detail[:200]}", flush=True)
            if args.lost and verdict == "reads":
                lost_frames(bad, whole, lost)
    print(f"\n{'kind':14} {'refused':>8} {'stops':>8} {'reads':>8}")
    for kind in [*kinds, "all"]:
        print(f"{kind:14} " + " ".join(f"{table[kind, v]:8d}" for v in ("refused", "stops", "reads")))
    for what, count in lost.items():
        print(f"{what}: {count}")
    for (kind, what), count in sorted(placed.items()):
        print(f"{kind}: {what} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
