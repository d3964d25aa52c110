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

HEVC (H.265, as phones record it) the same way, with x265 (profile Main, no B-frames, an IDR at
each source GOP start). x265 has no option for its parameter-set ids and always writes 0, as a
source's most often are (x265's own are); so the runs' VPS, SPS and PPS are renumbered to ids the source's hvcC box
leaves free (a fixed-length field and two Exp-Golomb numbers, the rest of each set shifted), and
every re-encoded slice header gets the new PPS id: the header is read to its end (the fields its
SPS and PPS call for), the bits after the id moved and the header re-aligned; the slice data's
bytes are kept as they are. The hvcC box carries both sets, marked complete ('hvc1': no parameter
set inside the stream, which QuickTime and iPhones want). Anything in x265's sets the header
reader does not follow (tiles, scaling lists, weighted prediction, long-term references, list
changes, extensions) stops the copy, and the export is encoded whole.

Eligible: H.264 or HEVC Main, 8-bit 4:2:0, in an MP4 / MOV, progressive, even-sized, every packet a
frame (no edit list hiding frames), 4-byte NAL lengths; in HEVC no parameter set inside the stream
(an 'hev1' file that repeats them) and the GOP after each replaced run starting with an IDR (x265's
default open GOPs, CRA keyframes, can only have their last GOP replaced). A phone's portrait clip
(stored sideways, with a rotation tag) is encoded sideways too, so the copy keeps the source's tag
for both parts. Anything else, or a plan that would replace every GOP, is exported by re-encoding
every frame (``VideoWriter``), as before. After the merge the result is checked (frame count; the
first copied frame after each replaced run equals the source's; each run's first frame is close to
what was written); if the check fails the export re-encodes every frame from the source and the
runs already encoded, and says so in the log.
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
# the runs' x265: no B-frames, keyframes only where asked (IDRs), no weighted prediction (its tables
# are one more thing a slice header would hold), its parameter sets only in the hvcC box
X265_PARAMS = ("bframes=0:keyint=-1:min-keyint=1:scenecut=0:open-gop=0:weightp=0:weightb=0:info=0:repeat-headers=0:"
               "log-level=error")
# The user's crf is on x264's scale everywhere (README, --crf, settings); x265's is not, and the runs of
# an HEVC source are encoded at crf + this (at most 51). Measured (docs/BENCHMARKS.md, "x265's crf"; the
# runs' frames against the source's outside the fill, against x264 at crf 18 on the same frames): on four
# real clips at their own size (1080p to 368x480) x265 at 20 (+ 2) came within 0.22 dB Y PSNR and 0.0003
# SSIM of x264 or above it, for 0.57-1.05x its bytes a frame; at 21 (+ 3) up to 0.62 dB under, at 22
# (the former + 4, chosen on one upscaled 720p clip) 0.55-1.01 dB under.
X265_CRF_OFFSET = 2
X264_PROFILES = {"Baseline": "baseline", "Constrained Baseline": "baseline", "Main": "main", "High": "high"}


class SmartRenderError(Exception):
    """The copy could not be made as planned (a bug or an odd file); the export re-encodes everything."""


@dataclass
class Plan:
    """Frames to re-encode: ``spans`` [a, b) of whole GOPs, ``gop_starts`` where a source GOP begins
    inside them (an IDR is coded there), ``total`` frames in the video, ``sps_id`` for the new
    parameter sets (and ``vps_id``, ``pps_id`` in HEVC, ``codec`` "hevc")."""

    spans: list[tuple[int, int]]
    gop_starts: set[int]
    total: int
    sps_id: int
    codec: str = "h264"
    vps_id: int = 0
    pps_id: int = 0
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


def _nal_types(payload: bytes, length_size: int = 4, hevc: bool = False) -> list[int]:
    types, i = [], 0
    while i + length_size <= len(payload):
        n = int.from_bytes(payload[i:i + length_size], "big")
        i += length_size
        if n <= 0 or i + n > len(payload):
            break
        types.append((payload[i] >> 1) & 63 if hevc else payload[i] & 31)
        i += n
    return types


# --- HEVC: x265 numbers its parameter sets 0 and has no option for others (x264's sps-id), and a
# source's are most often 0 too (x265's are). The runs' VPS, SPS and PPS are given free ids here, and
# each of their slices the new PPS id (its header re-aligned), so the hvcC box can carry both sets.

HEVC_VPS, HEVC_SPS, HEVC_PPS = 32, 33, 34
HEVC_IDR = (19, 20)  # IDR_W_RADL, IDR_N_LP (16-21 are IRAP; a CRA or BLA keeps pictures from before it)


def _hevc_type(nal: bytes) -> int:
    return (nal[0] >> 1) & 63


def _nal_units(payload: bytes, length_size: int = 4) -> list[bytes]:
    """The NAL units of a length-prefixed packet; SmartRenderError when the lengths do not add up."""
    units, i = [], 0
    while i < len(payload):
        n = int.from_bytes(payload[i:i + length_size], "big")
        i += length_size
        if n <= 0 or i + n > len(payload):
            raise SmartRenderError("a packet's NAL unit lengths do not add up")
        units.append(payload[i:i + n])
        i += n
    return units


def _unescape(data: bytes) -> tuple[bytes, list[int]]:
    """The RBSP of a NAL unit's payload (emulation prevention bytes taken out), and for each RBSP
    byte where it lies in ``data``."""
    out, where, zeros = bytearray(), [], 0
    for k, byte in enumerate(data):
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        where.append(k)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out), where


def _escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class _Bits:
    """A reader of an RBSP's bits (``u``, ``ue``, ``se``); ``pos`` is the next bit."""

    def __init__(self, rbsp: bytes, pos: int = 0):
        self.bits = "".join(f"{b:08b}" for b in rbsp)
        self.pos = pos

    def u(self, n: int) -> int:
        if self.pos + n > len(self.bits):
            raise SmartRenderError("a parameter set or slice header ends early")
        v = int(self.bits[self.pos:self.pos + n] or "0", 2)
        self.pos += n
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise SmartRenderError("a number in a parameter set or slice header is malformed")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)

    def skip_ue(self, count: int = 1) -> None:
        for _ in range(count):
            self.ue()


def _ue_bits(value: int) -> str:
    code = f"{value + 1:b}"
    return "0" * (len(code) - 1) + code


def _rbsp_bytes(bits: str) -> bytes:
    """``bits`` with the RBSP's stop bit and alignment added, as bytes."""
    bits += "1"
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _profile_tier_level(r: _Bits, max_sub_layers_minus1: int) -> None:
    r.u(88)  # general profile space, tier, profile, compatibility and constraint flags
    r.u(8)  # general_level_idc
    present = [(r.u(1), r.u(1)) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1 > 0:
        r.u(2 * (8 - max_sub_layers_minus1))
    for profile, level in present:
        r.u(88 if profile else 0)
        r.u(8 if level else 0)


def _st_ref_pic_set(r: _Bits, idx: int, count: int, sets: list[int]) -> int:
    """Reads st_ref_pic_set(idx) (``sets``: the pictures of each set before it); its picture count."""
    if idx and r.u(1):  # inter_ref_pic_set_prediction_flag
        ref = idx - (r.ue() + 1 if idx == count else 1)
        if ref < 0:
            raise SmartRenderError("a reference picture set refers to one that is not there")
        r.u(1)
        r.ue()
        n = 0
        for _ in range(sets[ref] + 1):
            used = r.u(1)
            n += used or r.u(1)
        return n
    negative, positive = r.ue(), r.ue()
    if negative > 16 or positive > 16:
        raise SmartRenderError("a reference picture set is malformed")
    for _ in range(negative + positive):
        r.ue()
        r.u(1)
    return negative + positive


@dataclass
class _Sps:
    """What a slice header's layout depends on, of an SPS (and where its two ids lie)."""

    vps_id: int
    sps_id: int
    id_bits: tuple[int, int] = (0, 0)  # sps_seq_parameter_set_id's bits in the RBSP
    chroma_array_type: int = 1
    separate_planes: bool = False
    ctb_count: int = 1
    poc_lsb_bits: int = 8
    st_sets: list[int] = field(default_factory=list)
    long_term: bool = False
    temporal_mvp: bool = False
    sao: bool = False


def _parse_sps(rbsp: bytes, whole: bool = True) -> _Sps:
    r = _Bits(rbsp)
    vps_id, max_sub = r.u(4), r.u(3)
    r.u(1)
    _profile_tier_level(r, max_sub)
    start = r.pos
    sps = _Sps(vps_id, r.ue())
    sps.id_bits = (start, r.pos)
    if not whole:
        return sps
    chroma = r.ue()
    if chroma == 3:
        sps.separate_planes = bool(r.u(1))
    sps.chroma_array_type = 0 if sps.separate_planes else chroma
    width, height = r.ue(), r.ue()
    if r.u(1):  # conformance_window_flag
        r.skip_ue(4)
    r.skip_ue(2)  # bit depths
    sps.poc_lsb_bits = r.ue() + 4
    ordering = r.u(1)
    r.skip_ue(3 * (max_sub + 1 if ordering else 1))
    log2_min_cb = r.ue() + 3
    log2_ctb = log2_min_cb + r.ue()
    r.skip_ue(4)  # transform block sizes and depths
    ctb = 1 << log2_ctb
    sps.ctb_count = -(-width // ctb) * -(-height // ctb)
    if r.u(1) and r.u(1):  # scaling lists, given in the SPS
        raise SmartRenderError("the encoder's SPS carries scaling lists")
    r.u(1)  # amp_enabled_flag
    sps.sao = bool(r.u(1))
    if r.u(1):  # pcm_enabled_flag
        r.u(8)
        r.skip_ue(2)
        r.u(1)
    for i in range(r.ue()):
        sps.st_sets.append(_st_ref_pic_set(r, i, -1, sps.st_sets))
    sps.long_term = bool(r.u(1))
    if sps.long_term:
        for _ in range(r.ue()):
            r.u(sps.poc_lsb_bits + 1)
    sps.temporal_mvp = bool(r.u(1))
    return sps


@dataclass
class _Pps:
    """What a slice header's layout depends on, of a PPS."""

    pps_id: int
    sps_id: int
    id_bits: tuple[int, int, int] = (0, 0, 0)  # where pps_id starts, sps_id starts and ends
    dependent_slices: bool = False
    output_flag: bool = False
    extra_bits: int = 0
    cabac_init: bool = False
    ref_idx_default: tuple[int, int] = (0, 0)
    chroma_qp_offsets: bool = False
    weighted: bool = False
    entry_points: bool = False
    loop_filter_across_slices: bool = False
    deblocking_override: bool = False
    deblocking_disabled: bool = False
    lists_modification: bool = False
    header_extension: bool = False


def _parse_pps(rbsp: bytes, whole: bool = True) -> _Pps:
    r = _Bits(rbsp)
    pps_id = r.ue()
    mid = r.pos
    p = _Pps(pps_id, r.ue())
    p.id_bits = (0, mid, r.pos)
    if not whole:
        return p
    p.dependent_slices, p.output_flag = bool(r.u(1)), bool(r.u(1))
    p.extra_bits = r.u(3)
    r.u(1)  # sign_data_hiding_enabled_flag
    p.cabac_init = bool(r.u(1))
    p.ref_idx_default = (r.ue(), r.ue())
    r.se()  # init_qp_minus26
    r.u(2)  # constrained intra, transform skip
    if r.u(1):  # cu_qp_delta_enabled_flag
        r.ue()
    r.se()
    r.se()
    p.chroma_qp_offsets = bool(r.u(1))
    p.weighted = bool(r.u(1)) | bool(r.u(1))
    r.u(1)  # transquant_bypass_enabled_flag
    tiles = r.u(1)
    p.entry_points = bool(tiles) | bool(r.u(1))
    if tiles:
        raise SmartRenderError("the encoder's PPS has tiles")
    p.loop_filter_across_slices = bool(r.u(1))
    if r.u(1):  # deblocking_filter_control_present_flag
        p.deblocking_override = bool(r.u(1))
        p.deblocking_disabled = bool(r.u(1))
        if not p.deblocking_disabled:
            r.se()
            r.se()
    if r.u(1):
        raise SmartRenderError("the encoder's PPS carries scaling lists")
    p.lists_modification = bool(r.u(1))
    r.ue()  # log2_parallel_merge_level_minus2
    p.header_extension = bool(r.u(1))
    if r.u(1):
        raise SmartRenderError("the encoder's PPS has extensions")
    if p.weighted or p.lists_modification:
        raise SmartRenderError("the encoder's PPS has weighted prediction or list changes")
    return p


def _slice_header_end(r: _Bits, nal_type: int, sps: _Sps, pps: _Pps) -> int:
    """Reads a slice segment header from after its PPS id; the bit its byte_alignment() starts at."""
    first = r.bits[0] == "1"
    dependent = False
    if not first:
        if pps.dependent_slices:
            dependent = bool(r.u(1))
        r.u(max(sps.ctb_count - 1, 0).bit_length())  # slice_segment_address
    if not dependent:
        r.u(pps.extra_bits)
        slice_type = r.ue()  # 0 B, 1 P, 2 I
        if slice_type > 2:
            raise SmartRenderError("a slice's type is not B, P or I")
        if pps.output_flag:
            r.u(1)
        if sps.separate_planes:
            r.u(2)
        temporal_mvp = False
        if nal_type not in HEVC_IDR:
            r.u(sps.poc_lsb_bits)
            if not r.u(1):  # short_term_ref_pic_set_sps_flag
                _st_ref_pic_set(r, len(sps.st_sets), len(sps.st_sets), sps.st_sets)
            elif len(sps.st_sets) > 1:
                r.u((len(sps.st_sets) - 1).bit_length())
            if sps.long_term:
                raise SmartRenderError("the encoder's slices use long-term references")
            if sps.temporal_mvp:
                temporal_mvp = bool(r.u(1))
        sao = False
        if sps.sao:
            sao = bool(r.u(1))
            if sps.chroma_array_type:
                sao |= bool(r.u(1))
        if slice_type < 2:
            l0, l1 = pps.ref_idx_default
            if r.u(1):  # num_ref_idx_active_override_flag
                l0 = r.ue()
                if slice_type == 0:
                    l1 = r.ue()
            if slice_type == 0:
                r.u(1)  # mvd_l1_zero_flag
            if pps.cabac_init:
                r.u(1)
            if temporal_mvp:
                from_l0 = r.u(1) if slice_type == 0 else 1
                if (l0 if from_l0 else l1) > 0:
                    r.ue()
            r.ue()  # five_minus_max_num_merge_cand
        r.se()  # slice_qp_delta
        if pps.chroma_qp_offsets:
            r.se()
            r.se()
        deblocking_off = pps.deblocking_disabled
        if pps.deblocking_override and r.u(1):
            deblocking_off = bool(r.u(1))
            if not deblocking_off:
                r.se()
                r.se()
        if pps.loop_filter_across_slices and (sao or not deblocking_off):
            r.u(1)
    if pps.entry_points:
        count = r.ue()
        if count:
            r.u((r.ue() + 1) * count)
    if pps.header_extension:
        r.u(8 * r.ue())
    return r.pos


def _with_bits(nal: bytes, edits: list[tuple[int, int, str]]) -> bytes:
    """A parameter-set NAL unit with RBSP bits [a, b) replaced by each edit's bits."""
    rbsp, _ = _unescape(nal[2:])
    bits = "".join(f"{b:08b}" for b in rbsp).rstrip("0")[:-1]  # (without the stop bit)
    for a, b, new in sorted(edits, reverse=True):
        bits = bits[:a] + new + bits[b:]
    return nal[:2] + _escape(_rbsp_bytes(bits))


class _Renumber:
    """The runs' parameter sets under the ids a ``Plan`` gives them, and their slices pointing at them."""

    def __init__(self, vps: bytes, sps: bytes, pps: bytes, ids: tuple[int, int, int]):
        self.vps_id, self.sps_id, self.pps_id = ids
        self.sps = _parse_sps(_unescape(sps[2:])[0])
        self.pps = _parse_pps(_unescape(pps[2:])[0])
        self.old_pps = self.pps.pps_id
        self.vps = _with_bits(vps, [(0, 4, f"{self.vps_id:04b}")])
        a, b = self.sps.id_bits
        self.sps_nal = _with_bits(sps, [(0, 4, f"{self.vps_id:04b}"), (a, b, _ue_bits(self.sps_id))])
        _, m, e = self.pps.id_bits
        self.pps_nal = _with_bits(pps, [(0, m, _ue_bits(self.pps_id)), (m, e, _ue_bits(self.sps_id))])

    def slice(self, nal: bytes) -> bytes:
        try:  # (the header is read from the unit's first kilobyte, or if it is longer from all of it)
            return self._slice(nal, 1024)
        except SmartRenderError:
            if len(nal) <= 1026:
                raise
            return self._slice(nal, len(nal))

    def _slice(self, nal: bytes, limit: int) -> bytes:
        kind = _hevc_type(nal)
        rbsp, where = _unescape(nal[2:2 + limit])
        r = _Bits(rbsp, 1 + (16 <= kind <= 23))
        start = r.pos
        if r.ue() != self.old_pps:
            raise SmartRenderError("a re-encoded slice refers to a PPS the encoder did not give")
        id_end = r.pos
        end = _slice_header_end(r, kind, self.sps, self.pps)
        size = -(-(end + 1) // 8)  # the header's bytes, its alignment included
        if size >= len(rbsp) or r.bits[end] != "1" or "1" in r.bits[end + 1:size * 8]:
            raise SmartRenderError("a re-encoded slice header does not end where it should")
        bits = r.bits[:start] + _ue_bits(self.pps_id) + r.bits[id_end:end]
        # (the header's last byte holds its alignment's 1 bit: the slice data's escaping is unchanged)
        return nal[:2] + _escape(_rbsp_bytes(bits)) + nal[2 + where[size - 1] + 1:]

    def packet(self, payload: bytes) -> bytes:
        out = bytearray()
        for nal in _nal_units(payload):
            kind = _hevc_type(nal)
            if kind in (HEVC_VPS, HEVC_SPS, HEVC_PPS):
                raise SmartRenderError("the encoder put parameter sets inside the stream")
            if kind < 32:
                nal = self.slice(nal)
            out += len(nal).to_bytes(4, "big") + nal
        return bytes(out)


def _hvcc(extradata: Optional[bytes]):
    """(header 22 bytes, [[type byte, [NAL units]]]) of an hvcC box's payload, or None."""
    if not extradata or len(extradata) < 23 or extradata[0] != 1:
        return None
    b, i = bytes(extradata), 23
    arrays = []
    try:
        for _ in range(b[22]):
            kind, count = b[i], struct.unpack(">H", b[i + 1:i + 3])[0]
            i += 3
            units = []
            for _ in range(count):
                n = struct.unpack(">H", b[i:i + 2])[0]
                if n < 2 or i + 2 + n > len(b):
                    return None
                units.append(b[i + 2:i + 2 + n])
                i += 2 + n
            arrays.append([kind, units])
    except (IndexError, struct.error):
        return None
    return b[:22], arrays


def _hvcc_bytes(head: bytes, arrays) -> bytes:
    out = bytearray(head) + bytes([len(arrays)])
    for kind, units in arrays:
        out += bytes([kind]) + struct.pack(">H", len(units))
        for unit in units:
            out += struct.pack(">H", len(unit)) + unit
    return bytes(out)


def _hvcc_units(arrays, kind: int) -> list[bytes]:
    return [u for k, units in arrays if k & 63 == kind for u in units]


def _hevc_ids(units: Iterable[bytes]) -> tuple[set, set, set]:
    """The VPS, SPS and PPS ids that parameter-set NAL units use."""
    vps, sps, pps = set(), set(), set()
    for unit in units:
        kind, rbsp = _hevc_type(unit), _unescape(unit[2:])[0]
        if kind == HEVC_VPS:
            vps.add(rbsp[0] >> 4)
        elif kind == HEVC_SPS:
            sps.add(_parse_sps(rbsp, whole=False).sps_id)
        elif kind == HEVC_PPS:
            pps.add(_parse_pps(rbsp, whole=False).pps_id)
    return vps, sps, pps


def _hevc_free_ids(cc) -> tuple[Optional[tuple[int, int, int]], str]:
    """(VPS, SPS, PPS ids the source's hvcC box leaves free, "") or (None, why not)."""
    if str(cc.profile) != "Main":
        return None, f"its profile ({cc.profile}) is not HEVC Main"
    hvcc = _hvcc(cc.extradata)
    if hvcc is None or (hvcc[0][21] & 3) != 3:
        return None, "its hvcC box is not one with 4-byte NAL lengths"
    units = [u for _, us in hvcc[1] for u in us]
    try:
        used = _hevc_ids(units)
    except (SmartRenderError, IndexError):
        return None, "its parameter sets could not be read"
    if not all(_hvcc_units(hvcc[1], kind) for kind in (HEVC_VPS, HEVC_SPS, HEVC_PPS)):
        return None, "its hvcC box lacks a parameter set"
    free = [sorted(set(range(limit)) - ids) for limit, ids in zip((16, 16, 64), used)]
    if not all(free):
        return None, "no parameter-set id is free"
    return (free[0][0], free[1][0], free[2][0]), ""


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
    hevc = cc.name == "hevc"
    if cc.name not in ("h264", "hevc") or not any(k in fmt.split(",") for k in ("mp4", "mov")):
        return None, f"the video is {cc.name} in {fmt}, not H.264 in an MP4 / MOV (nor HEVC in one)"
    if cc.pix_fmt != "yuv420p":
        return None, f"its pixels are {cc.pix_fmt}, not 8-bit 4:2:0"
    if reader.field_order or reader.width % 2 or reader.height % 2:
        return None, "it is interlaced or odd-sized"
    if hevc:
        ids, why = _hevc_free_ids(cc)
        if ids is None:
            return None, why
    else:
        profile = X264_PROFILES.get(str(cc.profile))
        avcc = _avcc(cc.extradata)
        if profile is None or avcc is None or (avcc[0][4] & 3) != 3:
            return None, f"its profile ({cc.profile}) or parameter sets are not ones x264 can match"
        free = sorted(set(range(1, 32)) - _ids(avcc[1], avcc[2]))
        if not free:
            return None, "no parameter-set id is free"
        ids = (0, free[0], 0)
    timing = reader.timing
    if timing is None or len(timing) != n:
        return None, "its frames have no timestamps"
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
                types = _nal_types(bytes(packet), hevc=True) if hevc else ()
                if hevc and any(t in (HEVC_VPS, HEVC_SPS, HEVC_PPS) for t in types):
                    return None, "its parameter sets are inside the stream, not only in its hvcC box"
                if packet.is_keyframe or not gops:
                    if not packet.is_keyframe:
                        return None, "it does not start with a keyframe"
                    idr = any(t in HEVC_IDR for t in types) if hevc else IDR in _nal_types(bytes(packet))
                    gops.append([i, i, idr, 1])
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
    return Plan(spans, set(starts), n, ids[1], "hevc" if hevc else "h264", ids[0], ids[2]), ""


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
        self._renumber: Optional[_Renumber] = None  # (HEVC: the runs' slices given their new PPS id)
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
            hevc = plan_.codec == "hevc"
            stream = self._out.add_stream("libx265" if hevc else "libx264", rate=reader.rate)
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
            if hevc:
                stream.options = {"crf": str(min(51, self.crf + X265_CRF_OFFSET)), "preset": preset,
                                  "profile": "main", "forced-idr": "1", "x265-params": X265_PARAMS}
            else:
                stream.options = {
                    "crf": str(self.crf), "preset": preset, "profile": X264_PROFILES[str(cc.profile)],
                    "forced-idr": "1",
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
        if self.plan.codec == "hevc":
            return self._hvcc(run_stream)
        src_avcc = _avcc(self.reader._stream.codec_context.extradata)
        run_avcc = _avcc(run_stream.codec_context.extradata)
        if run_avcc is None or (run_avcc[0][4] & 3) != 3:
            raise SmartRenderError("x264's parameter sets are not in avcC form")
        return _avcc_bytes(src_avcc[0], src_avcc[1] + run_avcc[1], src_avcc[2] + run_avcc[2], src_avcc[3])

    def _hvcc(self, run_stream) -> bytes:
        """The hvcC box's payload: the source's, with the runs' VPS, SPS and PPS under their new ids
        added to its arrays (all marked complete: none are in the stream, as 'hvc1' wants)."""
        head, arrays = _hvcc(self.reader._stream.codec_context.extradata)
        run = _hvcc(run_stream.codec_context.extradata)
        if run is None or (run[0][21] & 3) != 3:
            raise SmartRenderError("x265's parameter sets are not in hvcC form")
        sets = [_hvcc_units(run[1], kind) for kind in (HEVC_VPS, HEVC_SPS, HEVC_PPS)]
        if any(len(units) != 1 for units in sets):
            raise SmartRenderError("x265 gave other than one VPS, SPS and PPS")
        try:
            self._renumber = _Renumber(*(units[0] for units in sets),
                                       (self.plan.vps_id, self.plan.sps_id, self.plan.pps_id))
        except IndexError:
            raise SmartRenderError("x265's parameter sets could not be read") from None
        new = {HEVC_VPS: self._renumber.vps, HEVC_SPS: self._renumber.sps_nal, HEVC_PPS: self._renumber.pps_nal}
        merged = [[0x80 | kind, _hvcc_units(arrays, kind) + [new[kind]]] for kind in new]
        merged += [a for a in arrays if a[0] & 63 not in new]
        # the level is the higher of the two; the parallelism hints (which the runs may not keep) unknown
        head = bytearray(head)
        head[12] = max(head[12], run[0][12])
        head[13:16] = b"\xf0\x00\xfc"
        return _hvcc_bytes(bytes(head), merged)

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
                if self._renumber is not None:
                    try:
                        data = self._renumber.packet(bytes(p))
                    except IndexError:
                        raise SmartRenderError("a re-encoded slice header could not be read") from None
                    key, p = p.is_keyframe, av.Packet(data)
                    p.is_keyframe = key
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
