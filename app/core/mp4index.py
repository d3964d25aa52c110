"""Frame timestamps of an MP4 / MOV file from its sample tables, without reading the media.

``VideoReader`` needs every frame's presentation timestamp to seek frame-accurately. Demuxing
the file for them reads all of it: a 10 GB camera file is a minute on a USB disk. An MP4 keeps
the same facts in its ``moov`` box (a few MB at most): per sample its duration (``stts``), its
composition offset (``ctts``), its size (``stsz``) and where its chunk starts (``stsc``,
``stco``/``co64``). ``video_pts`` reads them for the file's one video track and gives the
timestamps FFmpeg's demuxer would give its packets, in decode order, in the track's time base;
``video_sync`` reads which of them are keyframes (``stss``, ``stps``), as the demuxer flags them;
``video_tables`` gives both from one read of the file.

It answers only for the plain layouts it can read exactly (one video track, no fragments, at
most one edit starting at a media time >= 0 at normal rate) and returns None otherwise; the
reader then checks the answer against packets it does demux (the first few and the last few)
and falls back to demuxing everything if anything differs. A file whose samples end past its
end (truncated) also gets None, so that the demux pass finds where it really ends.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
MAX_MOOV = 512 << 20  # a moov larger than this is not read into memory (none is, in practice)


def _boxes(data: bytes, start: int = 0, end: Optional[int] = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            return
        yield kind, pos + head, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> Optional[tuple[int, int]]:
    for k, a, b in _boxes(data, start, end):
        if k == kind:
            return a, b
    return None


def _top_boxes(f: BinaryIO, size: int) -> Iterator[tuple[Optional[bytes], int, int, int]]:
    """(type, start, size, header size) of each top-level box of the open file ``f`` of ``size``
    bytes, in order (a box of size 0 runs to the end); a header that cannot be read ends it with a
    type of None."""
    pos = 0
    while pos + 8 <= size:
        f.seek(pos)
        head = f.read(16)
        if len(head) < 8:
            break
        n, kind = struct.unpack_from(">I4s", head)
        hl = 8
        if n == 1:
            if len(head) < 16:
                break
            n, hl = struct.unpack_from(">Q", head, 8)[0], 16
        elif n == 0:
            n = size - pos
        if n < hl:
            break
        yield kind, pos, n, hl
        pos += n
    else:
        return
    yield None, pos, 0, 0


def index_cut_off(path) -> bool:
    """An MP4 / MOV file (it starts with an ftyp box) cut off before its whole moov box: the index
    every frame is found by, written last by a camera or a plain export and so missing from a
    recording or copy that stopped early, or cut inside where a web file has it first."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if f.read(8)[4:8] != b"ftyp":
                return False
            for kind, pos, n, _ in _top_boxes(f, size):
                if kind is None:  # (a box header cut short, or no box structure: some other damage)
                    return pos + 16 > size
                if kind in (b"moov", b"moof"):
                    return pos + n > size
    except OSError:
        return False
    return True  # (no index at all)


def _find_moov(f: BinaryIO, size: int) -> Optional[bytes]:
    """The payload of the file's top-level moov box (None: none, or a fragmented file)."""
    moov = None
    for kind, pos, n, hl in _top_boxes(f, size):
        if kind is None:
            return None
        if kind == b"moof":
            return None  # fragmented: the sample tables are spread over the file
        if kind == b"moov":
            if n - hl > MAX_MOOV or pos + n > size:
                return None
            f.seek(pos + hl)
            moov = f.read(n - hl)
    return moov


def _full(data: bytes, a: int) -> tuple[int, int]:
    """(version, payload start after the version/flags word) of a full box."""
    return data[a], a + 4


def _table(data: bytes, box: tuple[int, int], fields: str) -> list[tuple]:
    """Entries of a table box (payload ``box``): version/flags, a count, then ``fields`` per entry;
    ValueError where the count does not fit the box (a damaged file)."""
    a, b = box
    _, p = _full(data, a)
    (count,) = struct.unpack_from(">I", data, p)
    size = struct.calcsize(">" + fields)
    if p + 4 + count * size > b:
        raise ValueError("table larger than its box")
    return [struct.unpack_from(">" + fields, data, p + 4 + k * size) for k in range(count)]


def _video_trak(moov: bytes):
    traks = []
    for kind, a, b in _boxes(moov):
        if kind != b"trak":
            continue
        mdia = _child(moov, a, b, b"mdia")
        if mdia is None:
            continue
        hdlr = _child(moov, *mdia, b"hdlr")
        if hdlr is not None and moov[hdlr[0] + 8:hdlr[0] + 12] == b"vide":
            traks.append((a, b, mdia))
    return traks


def video_pts(path) -> Optional[list[int]]:
    """Presentation timestamps of the video track's samples in decode order, in the track's time
    base (1 / its ``mdhd`` timescale, PyAV's ``stream.time_base``), as FFmpeg's demuxer gives
    them; None where the file is not a plain MP4 / MOV this reads exactly."""
    return _read(path, _pts_of)


def video_sync(path) -> Optional[list[int]]:
    """The video track's sync samples (keyframes) as FFmpeg's demuxer flags its packets: their
    numbers in decode order from 0, ascending (index ``video_pts``'s list with them). The ``stss``
    box lists them (from 1, or from 0 as some writers do); without one every sample is a keyframe
    (intra-only video: ProRes, MJPEG); the ``stps`` box (partial sync samples: MPEG-2's open GOPs
    in a MOV) adds its own. None where the file is not a plain MP4 / MOV ``video_pts`` reads, or
    its keyframes are said where this does not look (an empty ``stss``: FFmpeg's parser finds them
    in the picture data; sample groups of random-access points: HEVC's open GOPs) or in no order
    FFmpeg matches them in."""
    return _read(path, _sync_of)


def video_tables(path) -> tuple[Optional[list[int]], Optional[list[int]]]:
    """``(video_pts(path), video_sync(path))`` from one read of the file: ``VideoReader`` wants both,
    and each alone opens the file, walks its top-level boxes (a seek and a read per box) and reads
    the moov box (a few MB on a long camera file) again."""
    moov, size = _moov(path)
    return _parsed(moov, size, _pts_of), _parsed(moov, size, _sync_of)


def _read(path, parse) -> Optional[list[int]]:
    """``parse(moov, file size)`` of the file's moov box; None where there is none, or it is not
    as ``parse`` reads it."""
    return _parsed(*_moov(path), parse)


def _moov(path) -> tuple[Optional[bytes], int]:
    """(the payload of the file's moov box, or None where it has none this reads, the file's size)."""
    path = Path(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            return _find_moov(f, size), size
    except OSError:
        return None, 0


def _parsed(moov: Optional[bytes], size: int, parse) -> Optional[list[int]]:
    if moov is None:
        return None
    try:
        return parse(moov, size)
    except (struct.error, IndexError, ValueError):
        return None


def _sample_boxes(moov: bytes) -> Optional[tuple[int, int, list[tuple[bytes, int, int]]]]:
    """(video trak's payload start, its end, (type, payload start, end) of each box of its ``stbl``)
    of a file with one video track and no fragments; None otherwise."""
    if _child(moov, 0, len(moov), b"mvex") is not None:
        return None  # fragments may follow
    traks = _video_trak(moov)
    if len(traks) != 1:
        return None
    ta, tb, (ma, mb) = traks[0]
    minf = _child(moov, ma, mb, b"minf")
    stbl = minf and _child(moov, *minf, b"stbl")
    if stbl is None:
        return None
    return ta, tb, list(_boxes(moov, *stbl))


def _sync_of(moov: bytes, file_size: int) -> Optional[list[int]]:
    found = _sample_boxes(moov)
    box = {k: (a, b) for k, a, b in found[2]} if found is not None else {}
    if b"stsz" not in box or any(k in (b"sbgp", b"sgpd") and moov[a + 4:a + 8] in (b"rap ", b"sync")
                                 for k, a, _ in found[2]):
        return None  # (random-access sample groups: FFmpeg flags their samples too)
    _, p = _full(moov, box[b"stsz"][0])
    n = struct.unpack_from(">I", moov, p + 4)[0]
    if b"stss" not in box:
        return list(range(n)) if 0 < n <= file_size else None
    stss, stps = ([e[0] for e in _table(moov, box[k], "I")] if k in box else [] for k in (b"stss", b"stps"))
    if not stss:
        return None  # (an empty stss: FFmpeg's parser finds the keyframes in the picture data)
    if any(a >= b for t in (stss, stps) for a, b in zip(t, t[1:])) or set(stss) & set(stps):
        return None  # (FFmpeg walks each list along the samples: one out of order, or in both, is not what it flags)
    # numbered from 1, or from 0 where neither list starts above 0 (as FFmpeg takes them); an entry
    # before the first sample stops FFmpeg's walk of its list there
    off = int(stss[0] > 0 or bool(stps and stps[0] > 0))
    return sorted(k - off for t in (stss, stps) if t and t[0] >= off for k in t if k - off < n)


def _pts_of(moov: bytes, file_size: int) -> Optional[list[int]]:
    found = _sample_boxes(moov)
    if found is None:
        return None
    ta, tb, box = found[0], found[1], {k: (a, b) for k, a, b in found[2]}
    if not {b"stts", b"stsz", b"stsc"} <= box.keys() or not ({b"stco", b"co64"} & box.keys()):
        return None

    # edit list: none, or one edit of the media from media_time >= 0 at rate 1
    shift = 0
    edts = _child(moov, ta, tb, b"edts")
    if edts is not None:
        elst = _child(moov, *edts, b"elst")
        if elst is not None:
            version, p = _full(moov, elst[0])
            fields = "QqhH" if version == 1 else "IihH"
            entries = _table(moov, elst, fields)
            if len(entries) != 1:
                return None
            _, media_time, rate, frac = entries[0]
            if media_time < 0 or (rate, frac) != (1, 0):
                return None
            shift = media_time

    # durations and composition offsets per sample (counts checked first: a damaged count of 2^32
    # must not be expanded; every sample takes at least a byte of the file)
    _, p = _full(moov, box[b"stsz"][0])
    uniform, n = struct.unpack_from(">II", moov, p)
    stts = _table(moov, box[b"stts"], "II")
    if sum(c for c, _ in stts) != n or not 0 < n <= file_size:
        return None
    dts, t = [], 0
    for count, delta in stts:
        for _ in range(count):
            dts.append(t)
            t += delta
    offsets = [0] * n
    if b"ctts" in box:
        version, _ = _full(moov, box[b"ctts"][0])
        k = 0
        for count, off in _table(moov, box[b"ctts"], "Ii" if version else "II"):
            if version == 0 and off >= 1 << 31:  # (a few writers put negative offsets in version 0)
                off -= 1 << 32
            offsets[k:k + count] = [off] * min(count, n - k)
            k += count
        if min(offsets) < 0:
            return None  # FFmpeg shifts dts by the most negative offset: not reproduced here

    # the samples must lie inside the file (else it is truncated: let the demuxer find its end)
    if not uniform and p + 8 + 4 * n > box[b"stsz"][1]:
        return None
    sizes = [uniform] * n if uniform else list(struct.unpack_from(f">{n}I", moov, p + 8))
    chunks = ([c[0] for c in _table(moov, box[b"stco"], "I")] if b"stco" in box
              else [c[0] for c in _table(moov, box[b"co64"], "Q")])
    runs = _table(moov, box[b"stsc"], "III")  # (first chunk, samples per chunk, description)
    end, sample = 0, 0
    for r, (first, per, _) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else len(chunks)
        for c in range(first - 1, last):
            pos = chunks[c]
            for _ in range(per):
                if sample >= n:
                    break
                pos += sizes[sample]
                sample += 1
            end = max(end, pos)
    if sample != n or end > file_size:
        return None
    return [d + o - shift for d, o in zip(dts, offsets)]
