"""How many of ``bench_damage.py``'s overwritten files stop a full in-order read.

Each file of bench_damage's ``overwrite`` and ``overwrite-wide`` families (bytes overwritten, the
file's length kept) is opened with ``VideoReader`` and read frame by frame from 0 to its end; a
``VideoError`` raised by a read after the open counts as a stop (the export would end there). A file
refused at open is counted apart (refused), as is one whose frames all read (read through).

``--lost``: of the files read through, each frame the reader gives as the frame before it (its packet
refused: the frames its notice says "could not be decoded") is read again as a fresh reader's first
read and compared with the read in order; one that differs is counted by whether the frame it shows
(the last one before it not lost) is the undamaged file's frame in the read in order.

    .venv/bin/python benchmarks/bench_decode_stops.py [--work /tmp/damage-stops] [--only mp4,mkv] [--frames 40]
                                                      [--lost]
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

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


def outcome(path: Path) -> tuple[str, str]:
    """("refused" | "stops" | "reads", detail) for one damaged file read in order."""
    try:
        r = VideoReader(path)
    except VideoError as exc:
        return "refused", str(exc)
    with r:
        for i in range(len(r)):
            try:
                r.read(i)
            except VideoError as exc:
                return "stops", f"at {i} of {len(r)}: {exc}"
        return "reads", f"{len(r)} frames, {len(r.damages)} stretch(es)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/damage-stops"))
    ap.add_argument("--only", default="", help="comma-separated kinds (default all)")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--show", action="store_true", help="print each file that stops")
    ap.add_argument("--lost", action="store_true", help="read the frames lost to refused packets at random too")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    frames = source_frames(args.frames, args.clip)
    kinds = [k for k in KINDS if not args.only or k in args.only.split(",")]
    table, lost = collections.Counter(), collections.Counter()
    for kind in kinds:
        suffix = KINDS[kind][0]
        src = encode(args.work / f"whole-{kind}{suffix}", kind, frames)
        bad = args.work / f"bad-{kind}{suffix}"
        if args.lost:
            with VideoReader(src) as r:
                whole = [r.read(i) for i in range(len(r))]
        for family, label, blob in damages(src.read_bytes(), video_packets(src)):
            if not family.startswith("overwrite"):
                continue
            bad.write_bytes(blob)
            verdict, detail = outcome(bad)
            table[kind, verdict] += 1
            table["all", verdict] += 1
            if args.show and verdict == "stops":
                print(f"{kind:14} {label:36} {detail[:200]}", flush=True)
            if args.lost and verdict == "reads":
                lost_frames(bad, whole, lost)
    print(f"\n{'kind':14} {'refused':>8} {'stops':>8} {'reads':>8}")
    for kind in [*kinds, "all"]:
        print(f"{kind:14} " + " ".join(f"{table[kind, v]:8d}" for v in ("refused", "stops", "reads")))
    for what, count in lost.items():
        print(f"{what}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
