"""Encoding helpers for tests and benchmarks that build their own media files with PyAV."""
from __future__ import annotations

import av
import numpy as np


def encode_frames(out, stream, frames) -> None:
    """RGB ``frames`` into ``stream`` of the open container ``out``, frame i at pts i, flushed."""
    for i, f in enumerate(frames):
        vf = av.VideoFrame.from_ndarray(f, format="rgb24")
        vf.pts = i
        for p in stream.encode(vf):
            out.mux(p)
    for p in stream.encode():
        out.mux(p)


def encode_audio(out, stream, samples, fmt: str, rate: int, chunk: int = 1024) -> None:
    """Mono ``samples`` into ``stream`` of the open container ``out`` from time 0, flushed."""
    for start in range(0, len(samples), chunk):
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[start:start + chunk][None]), format=fmt,
                                        layout="mono")
        af.sample_rate, af.pts = rate, start
        for p in stream.encode(af):
            out.mux(p)
    for p in stream.encode():
        out.mux(p)


def overwritten(data: bytes, pos: int, size: int) -> bytes:
    """``data`` with 64 bytes in the middle of the packet at ``pos`` (``size`` bytes long) overwritten."""
    bad = bytearray(data)
    bad[pos + size // 2:pos + size // 2 + 64] = np.random.default_rng(5).integers(0, 256, 64, dtype=np.uint8).tobytes()
    return bytes(bad)


def write_two_glitches(folder, n: int = 60, width: int = 160, height: int = 120):
    """An MPEG-2 program stream of ``n`` frames (GOPs of 10 with two B-frames: a keyframe about every
    9 frames) with two frames far apart overwritten in part, such that opening it says nothing and
    reading its frames meets two damaged stretches (the decoder conceals them): (path, [the frames
    each overwrite alone spoils, (first, end), as a reader reading every frame in order finds them])."""
    from pathlib import Path

    from app.core.video import VideoReader

    folder = Path(folder)
    src = folder / "whole.mpg"
    rng = np.random.default_rng(3)  # (a coarse texture panning 2 px a frame)
    big = np.kron(rng.integers(0, 255, (height // 8, (width + 2 * n) // 8 + 1, 3), dtype=np.uint8),
                  np.ones((8, 8, 1), np.uint8))
    with av.open(str(src), "w") as out:
        s = out.add_stream("mpeg2video", rate=25)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"g": "10", "bf": "2", "qscale": "4", "threads": "1"}
        encode_frames(out, s, [np.ascontiguousarray(big[:, 2 * i:2 * i + width]) for i in range(n)])
    data = src.read_bytes()
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.pos]
    path = folder / "glitches.mpg"
    alone = []  # (packet, the frames its overwrite alone spoils) where opening says nothing and reading does
    for k, (pos, size) in enumerate(packets[1:-1], 1):
        path.write_bytes(overwritten(data, pos, size))
        with VideoReader(path) as r:
            if r.notice is None:
                for i in range(len(r)):
                    r.read(i)
                if len(r.damages) == 1:
                    alone.append((k, r.damages[0][:2]))
    (a, one), (b, two) = alone[0], alone[-1]
    assert two[0] > one[1] + 2 * 10, alone  # (GOPs apart)
    path.write_bytes(overwritten(overwritten(data, *packets[a]), *packets[b]))
    return path, [one, two]
