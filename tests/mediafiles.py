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
