"""Variable-frame-rate clips made with PyAV (as phones record), and what a player reads back from a file."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

import av
import numpy as np


SAMPLE_RATE = 44100
MS = Fraction(1, 1000)


def write_vfr_clip(path, durations_ms: Sequence[int], width: int = 64, height: int = 48, audio: str = "aac",
                   flash: Optional[int] = None, click_ms: Optional[int] = None, start_ms: int = 0,
                   audio_start_ms: int = 0, fmt: Optional[str] = None) -> Path:
    """Frame ``i`` shown for ``durations_ms[i]`` ms from ``start_ms`` (time base 1/1000, libx264).

    ``audio``: "aac", "pcm_s16le" (mov/avi only) or "" for none; it runs from ``audio_start_ms`` to the
    video's end, silent but for a 10 ms 1 kHz burst at ``click_ms``. ``flash``: the frame made white.
    """
    path = Path(path)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 160, (height, width, 3), dtype=np.uint8) for _ in durations_ms]  # no white frame
    if flash is not None:
        frames[flash] = np.full_like(frames[flash], 255)
    end_ms = start_ms + sum(durations_ms)
    with av.open(str(path), "w", format=fmt) as out:
        vs = out.add_stream("libx264", rate=round(1000 * len(durations_ms) / sum(durations_ms)))
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.time_base = MS
        if audio:
            aus = out.add_stream(audio, rate=SAMPLE_RATE)
            aus.layout = "mono"
        t = start_ms
        for f, d in zip(frames, durations_ms):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = t, MS
            t += d
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if audio:
            n = (end_ms - audio_start_ms) * SAMPLE_RATE // 1000
            sound = np.zeros(n, np.float32)
            if click_ms is not None:
                at = (click_ms - audio_start_ms) * SAMPLE_RATE // 1000
                burst = np.arange(SAMPLE_RATE // 100)
                sound[at:at + len(burst)] = 0.9 * np.sin(2 * np.pi * 1000 * burst / SAMPLE_RATE)
            first = audio_start_ms * SAMPLE_RATE // 1000
            sample_fmt = "s16" if audio.startswith("pcm_s16") else "flt"
            for s in range(0, n, 1024):
                chunk = sound[s:s + 1024][None]
                if sample_fmt == "s16":
                    chunk = (chunk * 32767).astype(np.int16)
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=sample_fmt, layout="mono")
                af.sample_rate, af.pts, af.time_base = SAMPLE_RATE, first + s, Fraction(1, SAMPLE_RATE)
                for p in aus.encode(af):
                    out.mux(p)
            for p in aus.encode():
                out.mux(p)
    return path


def video_times(path) -> list[float]:
    """Each frame's presentation time in seconds, as a player decodes the file."""
    with av.open(str(path)) as c:
        return sorted(float(f.pts * f.time_base) for f in c.decode(c.streams.video[0]))


def flash_time(path) -> float:
    """When the white frame is shown (seconds)."""
    with av.open(str(path)) as c:
        return next(float(f.pts * f.time_base) for f in c.decode(c.streams.video[0])
                    if f.to_ndarray(format="gray").mean() > 200)


def audio_span(path) -> tuple[float, float]:
    """(start, duration) of the first audio stream in seconds, from its packets."""
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        packets = [p for p in c.demux(a) if p.pts is not None]
    start = min(float(p.pts * p.time_base) for p in packets)
    end = max(float((p.pts + p.duration) * p.time_base) for p in packets)
    return start, end - start


def click_time(path) -> float:
    """When the audio burst starts (seconds), from the decoded samples."""
    with av.open(str(path)) as c:
        for f in c.decode(c.streams.audio[0]):
            x = np.abs(f.to_ndarray().astype(np.float32)).max(axis=0)
            x /= 32767 if f.format.name.startswith("s16") else 1
            loud = np.flatnonzero(x > 0.3)
            if len(loud):
                return float(f.pts * f.time_base) + loud[0] / f.sample_rate
    raise AssertionError(f"no click in {path}")
