"""Opening a video: the frame index from an MP4's sample tables against demuxing the whole file.

``VideoReader`` needs every frame's timestamp. It used to demux the file for them (reading all of
it: a 10 GB camera file is tens of seconds on a slow disk); for an MP4 / MOV it now reads the
sample tables in the moov box (``app.core.mp4index``) and checks them against the first packets
and the last GOP. ``--demux`` times the old way (same code, the table reading switched off).
Each open is timed warm (file in the page cache) and cold (evicted first with
``posix_fadvise(DONTNEED)``, Linux); median of ``--runs``.

    .venv/bin/python benchmarks/bench_open.py CLIP [CLIP ...] [--runs 5]
    .venv/bin/python benchmarks/bench_open.py --make /tmp/open_bitrate.mp4 /tmp/open_long.mp4   # test clips

``--make`` writes two clips: 1,500 frames of 640x360 noise at crf 0 (about 300 MB: a high
bitrate, as a camera's) and 30,000 frames of 320x180 (20 minutes at 25 fps: many packets).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.video import VideoReader  # noqa: E402


def make(path: Path, n: int, w: int, h: int, crf: int, noise: bool) -> None:
    import av

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": str(crf), "preset": "ultrafast", "g": "250"}
        for i in range(n):
            f = np.roll(base, i, axis=1)
            if noise:
                f = f ^ rng.integers(0, 8, (h, w, 3), dtype=np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def time_open(path: Path, cold: bool) -> float:
    if cold:
        evict(path)
    t = time.perf_counter()
    with VideoReader(path) as r:
        n = len(r)
    assert n > 0
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--make", nargs=2, type=Path, metavar=("BITRATE_CLIP", "LONG_CLIP"))
    a = ap.parse_args(argv)
    if a.make:
        make(a.make[0], 1500, 640, 360, 0, True)
        make(a.make[1], 30000, 320, 180, 23, False)
        print("made", *(f"{p} ({p.stat().st_size / 1e6:.0f} MB)" for p in a.make))
        return 0
    tables = VideoReader._sample_table_pts
    for clip in a.clips:
        with VideoReader(clip) as r:
            n = len(r)
        print(f"{clip.name}: {clip.stat().st_size / 1e6:.0f} MB, {n} frames")
        res = {}
        for _ in range(a.runs):  # the two ways alternate
            for way in ("tables", "demux"):
                VideoReader._sample_table_pts = tables if way == "tables" else (lambda self: None)
                for cold in (False, True):
                    res.setdefault((way, cold), []).append(time_open(clip, cold))
        VideoReader._sample_table_pts = tables
        for cold in (False, True):
            t, d = (statistics.median(res[way, cold]) for way in ("tables", "demux"))
            print(f"  {'cold' if cold else 'warm'}: sample tables {t * 1000:.0f} ms, demux {d * 1000:.0f} ms "
                  f"({d / t:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
