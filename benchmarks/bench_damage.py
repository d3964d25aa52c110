"""What the reader says about damaged and cut-off videos, counted over a corpus made here.

A shared clip (schoolgirls.mp4, 80 frames 432x240) is encoded with PyAV, with a tone, into each
container users bring (.mp4 plain and faststart, .mkv, .ts, .mpg with open GOPs, .avi with
B-frames). Each file is then damaged in three ways:

- ``cut-edge``: cut where a video packet begins (every one);
- ``cut-inside``: cut in the middle of a video packet (every one);
- ``overwrite``: a run of bytes (64 and 2000) overwritten with noise from a video packet's first
  byte and from its middle (every fourth packet), the file's length kept;
- ``overwrite-wide``: 8 KB, and a quarter of the file, overwritten from 10%, 20%, ... 90% of it (up to
  98% at most: a file whose end is noise, a preallocated download cut off, may be said to be cut off).

Each damaged file is opened with ``VideoReader``, read in order, and read at random (12 frames, each
after another), and counted as one of:

- ``right``: a notice or error that names the damage as it is (cut: "cut off", "ends early",
  "truncated", "not a complete video"; overwrite: "damaged") and says what to do, and every frame
  given is the whole file's frame with that time (cut), or read the same in order and at random;
- ``wrong``: a message that misnames the damage (a cut called damaged, damage called cut off) or
  says nothing of what to do;
- ``silent``: a frame given that differs from the whole file's with no message at all, frames lost
  (overwrite: fewer than the whole file's) with no message, or a frame read at random that differs
  from the same frame read in order (message or not);
- ``traceback``: any exception other than ``VideoError``;
- ``unharmed`` (overwrite only): no message, and every frame is the whole file's, none lost;
- ``unnoticed`` (cuts only): no message, every frame given is the whole file's, but fewer of them
  (a cut between whole packets that leaves a valid shorter file: a transport stream, a Matroska file
  cut within a frame and a half of its end).

    .venv/bin/python benchmarks/bench_damage.py [--work /tmp/damage] [--only ts,mpg] [--show wrong,silent]
                                                [--frames 40] [--clip ../shared/data/clips/dogs_jump.mp4]
"""
from __future__ import annotations

import argparse
import collections
import random
import sys
import time
import traceback
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from app.core.errors import VideoError  # noqa: E402
from app.core.video import VideoReader  # noqa: E402
from mediafiles import encode_audio, encode_frames  # noqa: E402

CLIP = ROOT.parent / "shared" / "data" / "clips" / "schoolgirls.mp4"
X264 = {"x264-params": "keyint=12:min-keyint=12:scenecut=0:bframes=2:threads=1"}
#: name: (suffix, video encoder, its options, audio encoder, container options)
KINDS = {
    "mp4": (".mp4", "libx264", X264, "aac", {}),
    "mp4-faststart": (".mp4", "libx264", X264, "aac", {"movflags": "faststart"}),
    "mkv": (".mkv", "libx264", X264, "aac", {}),
    "ts": (".ts", "libx264", X264, "aac", {}),
    "mpg": (".mpg", "mpeg2video", {"g": "12", "bf": "2", "qscale": "4", "threads": "1"}, "mp2", {}),
    "avi": (".avi", "mpeg4", {"g": "12", "bf": "2", "qscale": "4", "threads": "1"}, "mp3", {}),
}
AUDIO = {"aac": (16000, "fltp", 1024), "mp3": (16000, "s16p", 1152), "mp2": (48000, "s16", 1152)}
CUT_WORDS = ("cut off", "ends early", "truncated", "not a complete video")
DO_WORDS = ("copy", "download", "re-export", "repair", "--end", "out point", "in point")
RANDOM_READS = 12


def source_frames(n: int = 80, clip: Path = CLIP) -> list[np.ndarray]:
    with av.open(str(clip)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return frames[:n]


def encode(path: Path, kind: str, frames) -> Path:
    suffix, vcodec, voptions, acodec, options = KINDS[kind]
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", options=options) as out:
        s = out.add_stream(vcodec, rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = voptions
        rate, fmt, chunk = AUDIO[acodec]
        a = out.add_stream(acodec, rate=rate)
        a.layout = "mono"
        encode_frames(out, s, frames)
        tone = np.sin(np.arange(rate * len(frames) // 25) / 5) * 0.2
        encode_audio(out, a, (tone * 32767).astype(np.int16) if fmt.startswith("s16") else tone.astype(np.float32),
                     fmt, rate, chunk=chunk)
    return path


def video_packets(path: Path) -> list[tuple[int, int]]:
    """(position, size) of each video packet with data and a position, in file order."""
    with av.open(str(path)) as c:
        return sorted((p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.pos is not None and p.pos > 0)


def damages(data: bytes, packets) -> list[tuple[str, str, bytes]]:
    """(family, label, damaged bytes) for every damage of the corpus."""
    out = []
    for k, (pos, size) in enumerate(packets):
        out.append(("cut-edge", f"cut before packet {k}", data[:pos]))
        out.append(("cut-inside", f"cut inside packet {k}", data[:pos + size // 2]))
    rng = np.random.default_rng(7)
    for k, (pos, size) in enumerate(packets):
        if k % 4 != 1:
            continue
        for run in (64, 2000):
            for where, at in (("start", pos), ("middle", pos + size // 2)):
                bad = bytearray(data)
                bad[at:at + run] = rng.integers(0, 256, len(bad[at:at + run]), dtype=np.uint8).tobytes()
                out.append(("overwrite", f"{run} bytes at the {where} of packet {k}", bytes(bad)))
    for run in (8192, len(data) // 4):  # (anywhere: over packet and pack headers, several frames, the sound)
        for tenth in range(1, 10):
            at = len(data) * tenth // 10
            end = min(at + run, len(data) * 49 // 50)  # (never to the end: a file whose end is noise may be cut)
            bad = bytearray(data)
            bad[at:end] = rng.integers(0, 256, end - at, dtype=np.uint8).tobytes()
            out.append(("overwrite-wide", f"{run} bytes from {tenth}0% of the file", bytes(bad)))
    return out


def _says_what_to_do(message: str) -> bool:
    return any(w in message for w in DO_WORDS)


def judge(path: Path, family: str, whole: dict) -> tuple[str, str]:
    """(verdict, detail) for one damaged file."""
    messages = []
    try:
        try:
            r = VideoReader(path)
        except VideoError as exc:
            messages.append(str(exc))
            frames = {}
        else:
            with r:
                if r.notice:
                    messages.append(r.notice)
                n = len(r)
                pts = list(r._pts) if r._seekable else [None] * n
                seq = {}
                try:
                    for i in range(n):
                        seq[i] = r.read(i)
                except VideoError as exc:
                    messages.append(str(exc))
                rnd = {}
                order = random.Random(n).sample(range(n), min(n, RANDOM_READS))
                for i in order:
                    try:
                        rnd[i] = r.read(i)
                    except VideoError as exc:
                        messages.append(str(exc))
                        break
                if r.notice:  # (damage met while reading is said then, in the export's summary)
                    messages.append(r.notice)
            frames = {i: (pts[i], f) for i, f in seq.items()}
    except Exception:  # noqa: BLE001
        return "traceback", traceback.format_exc(limit=3).strip().splitlines()[-1]
    text = " | ".join(dict.fromkeys(messages))
    differs = [i for i, (t, f) in frames.items() if t not in whole or not np.array_equal(f, whole[t])]
    inconsistent = [i for i in rnd if i in seq and not np.array_equal(rnd[i], seq[i])] if frames else []
    if inconsistent:
        return "silent", f"random read differs at {inconsistent[:5]}; {text or 'no message'}"
    if not messages:
        if differs:
            return "silent", f"{len(differs)} frames differ from {differs[0]}, no message"
        if family.startswith("overwrite") and len(frames) < len(whole):
            return "silent", f"{len(whole) - len(frames)} of {len(whole)} frames lost, no message"
        return ("unharmed" if family.startswith("overwrite") else "unnoticed"), ("no message, frames whole" if family.startswith("overwrite")
                                                                        else "the frames before the cut, without a word")
    cut_words = any(w in text for w in CUT_WORDS)
    if family.startswith("cut"):
        right = cut_words and "damaged" not in text and not differs
    else:
        right = "damaged" in text and not any(w in text for w in CUT_WORDS)
    right = right and all(_says_what_to_do(m) for m in dict.fromkeys(messages))
    if family.startswith("cut") and differs and cut_words:
        return "silent", f"{len(differs)} frames differ from {differs[0]} under a cut message: {text}"
    return ("right" if right else "wrong"), text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/damage"))
    ap.add_argument("--only", default="", help="comma-separated kinds (default all)")
    ap.add_argument("--show", default="wrong,silent,traceback", help="verdicts whose cases are printed")
    ap.add_argument("--frames", type=int, default=80)
    ap.add_argument("--clip", type=Path, default=CLIP, help="the clip the corpus is encoded from")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    frames = source_frames(args.frames, args.clip)
    kinds = [k for k in KINDS if not args.only or k in args.only.split(",")]
    show = set(args.show.split(","))
    table = {}
    t0 = time.perf_counter()
    for kind in kinds:
        suffix = KINDS[kind][0]
        src = encode(args.work / f"whole-{kind}{suffix}", kind, frames)
        with VideoReader(src) as r:
            assert r.notice is None, r.notice
            whole = {t: r.read(i) for i, t in enumerate(r._pts)}
        data = src.read_bytes()
        bad = args.work / f"bad-{kind}{suffix}"
        for family, label, blob in damages(data, video_packets(src)):
            bad.write_bytes(blob)
            verdict, detail = judge(bad, family, whole)
            table.setdefault((kind, family), collections.Counter())[verdict] += 1
            if verdict in show:
                print(f"{kind:14} {family:10} {label:32} {verdict:9} {detail[:300]}", flush=True)
    verdicts = ["right", "wrong", "silent", "traceback", "unharmed", "unnoticed"]
    print(f"\n{'kind':14} {'damage':10} " + " ".join(f"{v:>9}" for v in verdicts))
    total = collections.Counter()
    for (kind, family), c in table.items():
        total.update({(family, v): c[v] for v in verdicts})
        print(f"{kind:14} {family:10} " + " ".join(f"{c[v]:9d}" for v in verdicts))
    for family in ("cut-edge", "cut-inside", "overwrite", "overwrite-wide"):
        print(f"{'all':14} {family:10} " + " ".join(f"{total[(family, v)]:9d}" for v in verdicts))
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
