"""Exports that re-encode only the GOPs holding a changed frame and copy every other packet as it
is ("smart rendering", as video editors call it).

Removing a passer-by from five seconds of a ten-minute clip re-encoded all ten minutes: slow (x264
at 1080p runs about 9 frames/s on a 2-core CPU) and every untouched frame lost a little (about 40
dB at crf 18). With a plan, only the GOPs (keyframe to keyframe) that hold a changed frame are
encoded again; the rest of the file is its own packets, bit for bit.

How the two halves fit in one H.264 stream:

* The re-encoded GOPs are coded with their own sequence and picture parameter sets under ids the
  source does not use (x264's ``sps-id``), and the mp4's avcC box carries both sets: each IDR
  picks its own. x264 is held to the source's profile, without B-frames (so no re-encoded frame
  waits for another), with an IDR at each source GOP start.
* Each re-encoded frame keeps its source timestamp; the decode timestamps of the GOPs replaced are
  handed to the new packets in order, so the stream's decode order stays as it was.
* Only closed GOPs are replaced (the frames of a GOP are a run of frames, and the GOP after a
  replaced run starts with an IDR), so no copied frame refers to a re-encoded one.

Eligible: H.264, 8-bit 4:2:0, in an MP4 / MOV, progressive, even-sized, every packet a frame (no
edit list hiding frames), 4-byte NAL lengths. A phone's portrait clip (stored sideways, with a
rotation tag) is encoded sideways too, so the copy keeps the source's tag for both parts. Anything else, or a plan that would
replace every GOP, is exported by re-encoding every frame (``VideoWriter``), as before. After the
merge the result is checked (frame count; the first copied frame after each replaced run equals
the source's; each run's first frame is close to what was written); if the check fails the export
re-encodes every frame from the source and the runs already encoded, and says so in the log.
"""
from __future__ import annotations

import bisect
import logging
import os
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Optional

import av
import cv2
import numpy as np

from .errors import OutputError, short
from .fsutil import check_writable, make_temp_beside
from .jobs import CancelToken, ProgressClock, ProgressFn
from .video import (ROTATE_CCW, VideoReader, VideoWriter, _has_audio, _mux_audio, container_of, mp4_output, tag_colour,
                    yuv_frame)

log = logging.getLogger(__name__)

IDR = 5  # H.264 NAL unit type of an IDR slice
X264_PROFILES = {"Baseline": "baseline", "Constrained Baseline": "baseline", "Main": "main", "High": "high"}


class SmartRenderError(Exception):
    """The copy could not be made as planned (a bug or an odd file); the export re-encodes everything."""


@dataclass
class Plan:
    """Frames to re-encode: ``spans`` [a, b) of whole GOPs, ``gop_starts`` where a source GOP begins
    inside them (an IDR is coded there), ``total`` frames in the video, ``sps_id`` for the new
    parameter sets."""

    spans: list[tuple[int, int]]
    gop_starts: set[int]
    total: int
    sps_id: int
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self):
        self._starts = [a for a, _ in self.spans]

    def covers(self, index: int) -> bool:
        k = bisect.bisect_right(self._starts, index) - 1
        return k >= 0 and index < self.spans[k][1]

    @property
    def frames(self) -> int:
        """Frames re-encoded."""
        return sum(b - a for a, b in self.spans)

    def indices(self) -> Iterable[int]:
        for a, b in self.spans:
            yield from range(a, b)


def _avcc(extradata: Optional[bytes]):
    """(header 5 bytes, [SPS], [PPS], trailing bytes) of an avcC box's payload, or None."""
    if not extradata or len(extradata) < 7 or extradata[0] != 1:
        return None
    b, i = bytes(extradata), 6
    sps, pps = [], []
    try:
        for _ in range(b[5] & 31):
            n = struct.unpack(">H", b[i:i + 2])[0]
            sps.append(b[i + 2:i + 2 + n])
            i += 2 + n
        count, i = b[i], i + 1
        for _ in range(count):
            n = struct.unpack(">H", b[i:i + 2])[0]
            pps.append(b[i + 2:i + 2 + n])
            i += 2 + n
    except (IndexError, struct.error):
        return None
    if not sps or not pps or any(not x for x in sps + pps):
        return None
    return b[:5], sps, pps, b[i:]


def _avcc_bytes(head: bytes, sps: list[bytes], pps: list[bytes], tail: bytes) -> bytes:
    out = bytearray(head) + bytes([0xE0 | len(sps)])
    for unit in sps:
        out += struct.pack(">H", len(unit)) + unit
    out += bytes([len(pps)])
    for unit in pps:
        out += struct.pack(">H", len(unit)) + unit
    return bytes(out + tail)


def _ue(data: bytes, bit: int) -> tuple[int, int]:
    """An Exp-Golomb number of ``data`` read from ``bit``: (value, next bit)."""
    zeros = 0
    while not (data[(bit + zeros) // 8] >> (7 - (bit + zeros) % 8)) & 1:
        zeros += 1
    bit += zeros + 1
    value = 0
    for _ in range(zeros):
        value = (value << 1) | ((data[bit // 8] >> (7 - bit % 8)) & 1)
        bit += 1
    return (1 << zeros) - 1 + value, bit


def _ids(sps: list[bytes], pps: list[bytes]) -> set[int]:
    """The parameter-set ids in use: each SPS's (after its 4 header bytes) and each PPS's (after 1)."""
    ids = set()
    for unit in sps:
        ids.add(_ue(unit, 32)[0])
    for unit in pps:
        ids.add(_ue(unit, 8)[0])
    return ids


def _nal_types(payload: bytes, length_size: int = 4) -> list[int]:
    types, i = [], 0
    while i + length_size <= len(payload):
        n = int.from_bytes(payload[i:i + length_size], "big")
        i += length_size
        if n <= 0 or i + n > len(payload):
            break
        types.append(payload[i] & 31)
        i += n
    return types


def plan(reader, changed: Iterable[int]) -> tuple[Optional[Plan], str]:
    """A plan to re-encode the GOPs of ``reader``'s file that hold a ``changed`` frame, or (None, why
    not): the whole file is then re-encoded."""
    if not isinstance(reader, VideoReader):
        return None, "not a video file"
    changed = sorted(set(changed))
    n = len(reader)
    if not changed:
        return None, "nothing changed"
    stream = reader._stream
    cc = stream.codec_context
    fmt = reader._container.format.name
    if cc.name != "h264" or not any(k in fmt.split(",") for k in ("mp4", "mov")):
        return None, f"the video is {cc.name} in {fmt}, not H.264 in an MP4 / MOV"
    if cc.pix_fmt != "yuv420p":
        return None, f"its pixels are {cc.pix_fmt}, not 8-bit 4:2:0"
    if reader.field_order or reader.width % 2 or reader.height % 2:
        return None, "it is interlaced or odd-sized"
    profile = X264_PROFILES.get(str(cc.profile))
    avcc = _avcc(cc.extradata)
    if profile is None or avcc is None or (avcc[0][4] & 3) != 3:
        return None, f"its profile ({cc.profile}) or parameter sets are not ones x264 can match"
    timing = reader.timing
    if timing is None or len(timing) != n:
        return None, "its frames have no timestamps"
    free = sorted(set(range(1, 32)) - _ids(avcc[1], avcc[2]))
    if not free:
        return None, "no parameter-set id is free"
    index = {p: i for i, p in enumerate(timing.pts)}
    # GOPs in decode order: (first frame, last frame, whether it starts with an IDR)
    gops: list[list] = []
    seen = 0
    try:
        with av.open(str(reader.path)) as c:
            st = c.streams.video[0]
            for packet in c.demux(st):
                if packet.dts is None:
                    continue
                if packet.is_corrupt and packet.pts not in index:  # (the reader left it out)
                    return None, "it is cut off inside a frame"
                if packet.size == 0 or packet.is_discard or packet.pts not in index:
                    return None, "its edit list hides frames"
                i = index[packet.pts]
                seen += 1
                if packet.is_keyframe or not gops:
                    if not packet.is_keyframe:
                        return None, "it does not start with a keyframe"
                    gops.append([i, i, IDR in _nal_types(bytes(packet)), 1])
                else:
                    g = gops[-1]
                    g[0], g[1], g[3] = min(g[0], i), max(g[1], i), g[3] + 1
    except (av.error.FFmpegError, OSError) as exc:
        return None, f"it could not be read through ({short(exc)})"
    if seen != n:
        return None, "its packets are not one a frame"
    expect = 0
    for first, last, _, count in gops:  # closed GOPs: each a run of frames, in order
        if first != expect or last - first + 1 != count:
            return None, "its GOPs are open (frames refer across keyframes)"
        expect = last + 1
    spans: list[tuple[int, int]] = []
    starts = []
    k = 0
    for first, last, _, _ in gops:
        while k < len(changed) and changed[k] < first:
            k += 1
        if k < len(changed) and changed[k] <= last:
            starts.append(first)
            if spans and spans[-1][1] == first:
                spans[-1] = (spans[-1][0], last + 1)
            else:
                spans.append((first, last + 1))
    # the GOP after each replaced run must start afresh (an IDR), or it may refer into the run
    first_of = {g[0]: g for g in gops}
    for _, b in spans:
        if b < n and not first_of[b][2]:
            return None, "a keyframe after a changed run is not an IDR"
    if sum(b - a for a, b in spans) >= n:
        return None, "every GOP holds a changed frame"
    return Plan(spans, set(starts), n, free[0]), ""


class SmartWriter:
    """Writes the frames of a ``Plan``'s runs (``write(i, rgb)``, in order; ``wants(i)`` says which)
    and on ``close()`` makes the mp4: the source's packets with the runs put in, the source's audio,
    tags, timecode and chapters; atomic, like ``VideoWriter``."""

    def __init__(self, reader: VideoReader, plan_: Plan, path, crf: int = 18, preset: str = "medium",
                 audio_from=None, inputs=()):
        self.reader, self.plan = reader, plan_
        self.path = mp4_output(check_writable(path, inputs=tuple(inputs) + ((audio_from,) if audio_from else ())))
        self.audio_from = Path(audio_from) if audio_from else None
        self.crf, self.preset = int(crf), preset
        self.reencoded_all = False  # the check failed and every frame was encoded again
        self.fallback = ""  # then, what to tell the user (the file is whole, it only took longer)
        self._order = list(plan_.indices())
        self._pos = 0
        self._first: dict[int, np.ndarray] = {}  # each run's first frame, for the check
        self._timing = reader.timing
        # the runs are written from time 0: an mp4 starting later keeps its start as an edit in
        # milliseconds, which moves every frame of a 24, 30 or 12 fps clip off its tick
        self._base = self._timing.pts[self._order[0]] if self._timing is not None and self._order else 0
        self._colour = None if reader.colour is None or reader.colour.plain else reader.colour
        self._runs = make_temp_beside(self.path.with_suffix(".mp4"), "runs")
        self._temps = [self._runs]
        try:
            self._out = av.open(str(self._runs), "w", format="mp4")
            cc = reader._stream.codec_context
            stream = self._out.add_stream("libx264", rate=reader.rate)
            # frames as the file stores them: a rotated (portrait phone) clip's turned back
            self._turns = getattr(reader, "_rotation", 0) // 90
            sideways = self._turns % 2
            stream.width, stream.height = (reader.height, reader.width) if sideways else (reader.width, reader.height)
            stream.pix_fmt = "yuv420p"
            stream.codec_context.time_base = self._timing.time_base
            sar = reader._stream.sample_aspect_ratio or cc.sample_aspect_ratio
            if sar and sar != 1:
                stream.codec_context.sample_aspect_ratio = Fraction(sar)
            tag_colour(stream, self._colour)
            stream.options = {
                "crf": str(self.crf), "preset": preset, "profile": X264_PROFILES[str(cc.profile)], "forced-idr": "1",
                "x264-params": f"bframes=0:sps-id={plan_.sps_id}:keyint=infinite:min-keyint=1:scenecut=0"}
            stream.codec_context.thread_type = "FRAME"
            self._stream = stream
        except BaseException as exc:  # (Ctrl-C or kill while starting, too: the temporary file goes)
            self._cleanup()
            if not isinstance(exc, Exception):
                raise
            raise OutputError(f"Cannot start writing {self.path} ({short(exc)}).") from None

    def wants(self, index: int) -> bool:
        return self.plan.covers(index)

    @property
    def next_index(self) -> Optional[int]:
        """The frame ``write`` takes next (None: all written)."""
        return self._order[self._pos] if self._pos < len(self._order) else None

    def write(self, index: int, frame: np.ndarray) -> None:
        if index != self.next_index:
            raise ValueError(f"frame {index} written out of order (expected {self.next_index})")
        if frame.shape != (self.reader.height, self.reader.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 {(self.reader.height, self.reader.width, 3)}, got {frame.dtype} "
                             f"{frame.shape}")
        stored = cv2.rotate(frame, ROTATE_CCW[-self._turns % 4]) if self._turns else frame
        vf = yuv_frame(stored, "rgb24", "yuv420p", self._colour)
        vf.pts, vf.time_base = self._timing.pts[index] - self._base, self._timing.time_base
        if index in self.plan.gop_starts:
            vf.pict_type = int(av.video.frame.PictureType.I)
        if any(index == a for a, _ in self.plan.spans):
            self._first[index] = frame.copy()
        try:
            for packet in self._stream.encode(vf):
                self._out.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"Writing {self.path} failed ({short(exc)}); is the disk full?") from None
        self._pos += 1

    def close(self, progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None) -> Path:
        """Merge (with the audio, tags, timecode and chapters) and check, re-encoding everything if
        the check fails; move into place."""
        if self.next_index is not None:
            raise ValueError(f"frames still to write from {self.next_index}")
        try:
            for packet in self._stream.encode():
                self._out.mux(packet)
            self._out.close()
            final = self._temp("mux")
            audio = self.audio_from if self.audio_from is not None and _has_audio(self.audio_from) else None
            r = self.reader
            try:
                with av.open(str(self._runs)) as runs:
                    extradata = self._extradata(runs.streams.video[0])
                    _mux_audio(r.path, audio, final, metadata=r.metadata, timecode=r.timecode, chapters=r.chapters,
                               video_packets=lambda src, st: self._merged(src, st, runs, progress, cancel),
                               extradata=extradata, subtitles_from=self.reader.path,
                               container=container_of(self.path))
                self._check(final)
            except SmartRenderError as exc:
                log.warning("Copying the unchanged GOPs failed (%s); re-encoding every frame", exc)
                self._reencode_all(progress, cancel)
                self.reencoded_all = True
                self.fallback = (f"Copying the unchanged parts failed its check ({exc}); every frame was encoded "
                                 "again instead: the file is whole, only slower to make.")
                return self.path
            os.replace(final, self.path)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"Finishing {self.path} failed ({short(exc)}); is the disk full?") from None
        finally:
            self._cleanup()
        return self.path

    def abort(self) -> None:
        self._cleanup()

    def _temp(self, tag: str) -> Path:
        p = make_temp_beside(self.path.with_suffix(".mp4"), tag)
        self._temps.append(p)
        return p

    def _cleanup(self) -> None:
        try:
            self._out.close()
        except Exception:  # noqa: BLE001 (already closed, or broken: the file is removed anyway)
            pass
        for p in self._temps:
            p.unlink(missing_ok=True)

    def _extradata(self, run_stream) -> bytes:
        """The avcC box's payload with the source's parameter sets and the runs' beside them."""
        src_avcc = _avcc(self.reader._stream.codec_context.extradata)
        run_avcc = _avcc(run_stream.codec_context.extradata)
        if run_avcc is None or (run_avcc[0][4] & 3) != 3:
            raise SmartRenderError("x264's parameter sets are not in avcC form")
        return _avcc_bytes(src_avcc[0], src_avcc[1] + run_avcc[1], src_avcc[2] + run_avcc[2], src_avcc[3])

    def _merged(self, src, st, runs, progress: Optional[ProgressFn], cancel: Optional[CancelToken]):
        """The source's video packets (of ``st`` in ``src``) with the runs' packets in their place."""
        plan_ = self.plan
        index = {p: i for i, p in enumerate(self._timing.pts)}
        tb = Fraction(self._timing.time_base)
        clock = ProgressClock(progress, plan_.total, "copy")
        rs = runs.streams.video[0]
        run_tb = Fraction(rs.time_base)
        new = (p for p in runs.demux(rs) if p.dts is not None)
        pending: list[int] = []  # decode timestamps of the source packets a run replaces
        last_dts = None
        done = 0

        def run_packets():
            nonlocal last_dts
            pending.sort()
            for dts in pending:
                p = next(new, None)
                if p is None:
                    raise SmartRenderError("fewer frames came out of the encoder than went in")
                pts = round(p.pts * run_tb / tb) + self._base
                if pts not in index or not plan_.covers(index[pts]) or dts > pts:
                    raise SmartRenderError(f"a re-encoded frame's time ({pts}) does not fit its place")
                p.pts, p.dts, p.time_base = pts, dts, tb
                last_dts = dts
                yield p
            pending.clear()

        for packet in src.demux(st):
            if packet.dts is None:
                if packet.size:
                    raise SmartRenderError("a packet has no decode time")
                continue
            if cancel is not None:
                cancel.check()
            i = index.get(packet.pts)
            if i is not None and plan_.covers(i):
                pending.append(packet.dts)
            else:
                if pending:
                    yield from run_packets()
                if last_dts is not None and packet.dts <= last_dts:
                    raise SmartRenderError("decode times would go backwards")
                last_dts = packet.dts
                yield packet
            done += 1
            if done % 64 == 1:
                clock.report(done)
        if pending:
            yield from run_packets()
        if next(new, None) is not None:
            raise SmartRenderError("more frames came out of the encoder than went in")
        clock.report(plan_.total)

    def _check(self, merged: Path) -> None:
        """The merged file has every frame; after each run the first copied frame is the source's
        exactly, and each run's first frame is what was written (within the encoder's loss)."""
        try:
            with VideoReader(merged) as m:
                if len(m) != self.plan.total:
                    raise SmartRenderError(f"{len(m)} frames instead of {self.plan.total}")
                cursor = self.reader.reopen()
                try:
                    for a, b in self.plan.spans:
                        got = m.read(a).astype(np.float64)
                        err = np.mean((got - self._first[a]) ** 2)
                        if 10 * np.log10(255 ** 2 / max(err, 1e-9)) < 28:
                            raise SmartRenderError(f"frame {a} does not decode to what was written")
                        if b < self.plan.total and not np.array_equal(m.read(b), cursor.read(b)):
                            raise SmartRenderError(f"frame {b}, copied, does not decode as in the source")
                finally:
                    cursor.close()
        except SmartRenderError:
            raise
        except Exception as exc:  # noqa: BLE001 (anything the merged file does wrong sends us the safe way)
            raise SmartRenderError(short(exc)) from None

    def _reencode_all(self, progress: Optional[ProgressFn], cancel: Optional[CancelToken]) -> None:
        """Every frame through ``VideoWriter``: the runs' frames from what was encoded, the rest from the source."""
        reader = self.reader
        clock = ProgressClock(progress, self.plan.total, "export")
        with VideoReader(self._runs) as runs, VideoWriter(
                self.path, reader.width, reader.height, fps=reader.rate, crf=self.crf, preset=self.preset,
                audio_from=self.audio_from, inputs=(reader.path,), source=reader) as w:
            k = 0
            for i in range(self.plan.total):
                if cancel is not None:
                    cancel.check()
                if self.plan.covers(i):  # (stored as the source stores them: turned like its frames)
                    frame = runs.read(k)
                    w.write(cv2.rotate(frame, ROTATE_CCW[self._turns % 4]) if self._turns else frame)
                    k += 1
                else:
                    w.write(reader.read(i))
                clock.report(i + 1)
