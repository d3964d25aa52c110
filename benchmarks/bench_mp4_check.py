"""What a check at open for damage inside an MP4 would cost, on a 10-minute 1080p file.

``VideoReader`` opens an MP4 from its sample tables (``app.core.mp4index``) and a few packets; bytes
overwritten mid-file are found only when that frame is read. Two checks at open are timed here:

- ``nal lengths``: read each sample's first 4 bytes (an AVC sample starts with the length of its
  first NAL unit, which must fit the sample): one read per sample, all over the file;
- ``keyframes``: seek to and decode K keyframes spread over the file.

Each is timed warm (the file in the page cache) and cold (evicted with ``posix_fadvise(DONTNEED)``),
median of ``--runs``, against ``VideoReader(path)`` as it is.

    .venv/bin/python benchmarks/bench_mp4_check.py --make /tmp/long1080.mp4    # 15,000 frames, 1080p
    .venv/bin/python benchmarks/bench_mp4_check.py /tmp/long1080.mp4 --runs 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app.core.video import VideoReader  # noqa: E402
from bench_open import evict  # noqa: E402

GOP, COPIES = 250, 60  # 60 GOPs of 10 s at 25 fps: 10 minutes


def make(path: Path) -> None:
    """One GOP of 1080p encoded (moving noise, so that frames are camera-sized), muxed 60 times."""
    gop = path.with_suffix(".gop.mp4")
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (1080 // 4, 1920 // 4, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    with av.open(str(gop), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 1920, 1080, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "23", "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"}
        for i in range(GOP):
            f = av.VideoFrame.from_ndarray(np.roll(base, 8 * i, axis=1), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    with av.open(str(gop)) as src, av.open(str(path), "w") as out:
        vin = src.streams.video[0]
        v = out.add_stream_from_template(vin)
        packets = [p for p in src.demux(vin) if p.size]
        step = GOP * round(1 / (vin.time_base * 25))
        for k in range(COPIES):
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts, q.dts, q.time_base = p.pts + k * step, p.dts + k * step, p.time_base
                q.is_keyframe = p.is_keyframe
                q.stream = v
                out.mux(q)
    gop.unlink()


def samples(path: Path) -> tuple[list[tuple[int, int]], list[int]]:
    """(position, size) of every video sample, and the times of the keyframes (not timed)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        out, keys = [], []
        for p in c.demux(s):
            if p.size:
                out.append((p.pos, p.size))
                if p.is_keyframe:
                    keys.append(p.pts)
    return out, keys


def nal_lengths(path: Path, table) -> int:
    """Samples whose first NAL unit's length does not fit them."""
    bad = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        for pos, size in table:
            n = int.from_bytes(os.pread(fd, 4, pos), "big")
            bad += n + 4 > size
    finally:
        os.close(fd)
    return bad


def keyframes(path: Path, keys, k: int) -> int:
    """Decode ``k`` keyframes spread over the file; the number that failed."""
    bad = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        for t in keys[:: max(1, len(keys) // k)][:k]:
            c.seek(t, stream=s, backward=True, any_frame=False)
            try:
                next(c.decode(s))
            except (av.error.FFmpegError, StopIteration):
                bad += 1
    return bad


def timed(fn, path: Path, runs: int, cold: bool) -> float:
    times = []
    for _ in range(runs):
        if cold:
            evict(path)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip", type=Path, nargs="?")
    ap.add_argument("--make", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if args.make:
        make(args.make)
        print(f"{args.make}: {args.make.stat().st_size / 1e6:.0f} MB")
        return 0
    path = args.clip
    table, keys = samples(path)
    print(f"{path}: {path.stat().st_size / 1e6:.0f} MB, {len(table)} samples, {len(keys)} keyframes")
    checks = {
        "VideoReader(path) as it is": lambda: VideoReader(path).close(),
        "nal lengths of every sample": lambda: nal_lengths(path, table),
        "decode 1 keyframe": lambda: keyframes(path, keys, 1),
        "decode 5 keyframes": lambda: keyframes(path, keys, 5),
    }
    for name, fn in checks.items():
        print(f"{name:30} warm {timed(fn, path, args.runs, False):8.1f} ms   cold {timed(fn, path, args.runs, True):8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
