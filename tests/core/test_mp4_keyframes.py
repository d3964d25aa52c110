"""An MP4's keyframes from its sync-sample table (``mp4index.video_sync``): the GOPs its damage is placed by,
and where a random read decodes from.

Real files written through PyAV: H.264 with and without B-frames, open GOPs, the moov first, MOV, an
intra-only file (no ``stss`` box: every sample a keyframe); and the ones the tables cannot say, where the
reader keeps what it did before (fragmented: demuxed; a table out of order: no keyframes, one stretch).
"""
from __future__ import annotations

import contextlib
import random

import av
import numpy as np
import pytest

from app.core import video as video_module
from app.core.mp4index import video_pts, video_sync
from app.core.video import VideoReader, write_test_clip
from conftest import make_frames
from mediafiles import encode_frames, overwritten

W, H = 160, 120


def flagged(path) -> tuple[list[int], list[int]]:
    """The packets the demuxer flags as keyframes: (in decode order, in display order)."""
    with av.open(str(path)) as c:
        packets = [(p.pts, p.is_keyframe) for p in c.demux(c.streams.video[0]) if p.size]
    shown = sorted(t for t, _ in packets)
    return [k for k, (_, key) in enumerate(packets) if key], sorted(shown.index(t) for t, key in packets if key)


def in_order(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def x264(gop: int, bframes: int, *extra: str) -> dict:
    return {"x264-params": ":".join((f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}", *extra))}


LAYOUTS = {
    "no B-frames": dict(codec_options=x264(8, 0)),
    "B-frames (composition offsets, an edit list)": dict(codec_options=x264(8, 2)),
    "open GOPs (B-frames shown before their keyframe)": dict(codec_options=x264(8, 3, "open-gop=1")),
    "moov first": dict(codec_options=x264(9, 3), container_options={"movflags": "faststart"}),
    "mov container": dict(codec_options=x264(8, 2), suffix=".mov"),
    "intra-only (no stss box)": dict(codec_options=x264(1, 0)),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_sync_samples_are_the_keyframes_the_demuxer_flags(tmp_path, layout):
    opts = dict(LAYOUTS[layout])
    path = write_test_clip(tmp_path / f"clip{opts.pop('suffix', '.mp4')}", make_frames(50, 64, 48), **opts)
    decode_order, display_order = flagged(path)
    assert video_pts(path) is not None and video_sync(path) == decode_order
    assert (b"stss" in path.read_bytes()) == (layout != "intra-only (no stss box)")
    with VideoReader(path) as r:
        assert r._pts_index == {}  # (indexed from the tables, not by demuxing)
        assert r.keyframes == tuple(display_order) and len(display_order) > 1
        if layout.startswith("open GOPs"):  # (its keyframes are decoded before B-frames shown before them)
            assert decode_order != display_order


def test_what_the_tables_cannot_say_keeps_the_frames_as_before(tmp_path, monkeypatch):
    """A fragmented MP4 is demuxed (its keyframes as the packets flag them); a sync-sample table out of
    order (FFmpeg walks it along the samples), or one the first and last packets contradict, leaves the
    keyframes unknown: the tables still index the frames, and all the file is one stretch of damage."""
    frames = make_frames(40, 64, 48)
    frag = write_test_clip(tmp_path / "frag.mp4", frames, container_options={"movflags": "frag_keyframe+empty_moov"},
                           codec_options=x264(8, 2))
    assert video_sync(frag) is None
    with VideoReader(frag) as r:
        assert r.keyframes == tuple(flagged(frag)[1]) and len(r) == 40

    path = write_test_clip(tmp_path / "clip.mp4", frames, codec_options=x264(8, 2))
    data = path.read_bytes()
    at = data.index(b"stss") + 16  # (version and flags, the count, then the entries: the second's)
    assert [int.from_bytes(data[k:k + 4], "big") for k in range(at - 8, at + 12, 4)] == [5, 1, 9, 17, 25]
    swapped = data[:at] + data[at + 4:at + 8] + data[at:at + 4] + data[at + 8:]  # (9 and 17 swapped)
    disordered = tmp_path / "disordered.mp4"
    disordered.write_bytes(swapped)
    assert video_sync(disordered) is None and video_pts(disordered) == video_pts(path)
    whole = in_order(path)
    with VideoReader(disordered) as r:
        assert r._pts_index == {} and r.keyframes == () and len(r) == 40
        assert all(np.array_equal(r.read(i), whole[i]) for i in (39, 3, 17))

    monkeypatch.setattr(video_module, "video_tables",  # (keyframes not as flagged)
                        lambda _path: (video_pts(path), [0, 9, 17, 25, 33]))
    with VideoReader(path) as r:
        assert r._pts_index == {} and r.keyframes == () and len(r) == 40


def test_a_sync_table_numbered_from_0_or_empty_is_taken_as_ffmpeg_takes_it(tmp_path):
    """Numbered from 0 (as some writers do), the entries are the same keyframes; an empty table leaves
    them to FFmpeg's parser (the picture data says them): unknown here, one stretch as before."""
    path = write_test_clip(tmp_path / "clip.mp4", make_frames(40, 64, 48), codec_options=x264(8, 2))
    data = path.read_bytes()
    at = data.index(b"stss") + 8  # (version and flags, then the count, then the entries)
    entries = [int.from_bytes(data[k:k + 4], "big") for k in range(at + 4, at + 24, 4)]
    assert int.from_bytes(data[at:at + 4], "big") == 5 and entries == [1, 9, 17, 25, 33]
    zero = tmp_path / "from0.mp4"
    zero.write_bytes(data[:at + 4] + b"".join((k - 1).to_bytes(4, "big") for k in entries) + data[at + 24:])
    assert video_sync(zero) == flagged(zero)[0] == [0, 8, 16, 24, 32]
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(data[:at] + bytes(4) + data[at + 4:])
    assert video_sync(empty) is None and flagged(empty)[1] == [0, 8, 16, 24, 32]
    with VideoReader(zero) as r, VideoReader(empty) as e:
        assert r.keyframes == (0, 8, 16, 24, 32) and e.keyframes == () and len(e) == 40 and e._pts_index == {}


def write_two_glitches_mp4(folder, n: int, bframes: int, keys=(1, 6)) -> tuple:
    """An H.264 MP4 of ``n`` frames (GOPs of 8) with the keyframes ``keys`` (the second and the seventh:
    frames 8 and 48) overwritten in part: (its path, the frames each keyframe starts)."""
    rng = np.random.default_rng(3)  # (a coarse texture panning 2 px a frame)
    big = np.kron(rng.integers(0, 255, (H // 8, (W + 2 * n) // 8 + 1, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
    src = folder / "whole.mp4"
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = x264(8, bframes, "threads=1")
        encode_frames(out, s, [np.ascontiguousarray(big[:, 2 * i:2 * i + W]) for i in range(n)])
    data = src.read_bytes()
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.is_keyframe]
    for k in keys:
        data = overwritten(data, *packets[k])
    path = folder / "glitches.mp4"
    path.write_bytes(data)
    return path, [8 * k for k in keys]


@pytest.mark.parametrize("bframes", [0, 2])
def test_each_damaged_stretch_of_an_mp4_is_found_once_whatever_the_order_of_the_reads(tmp_path, bframes):
    """An MP4 with two glitches far apart was one stretch (its keyframes were not indexed: from the frame
    found damaged to the end of the file), so the second was never said. Now each is a stretch of its
    own, from the frame found damaged to the keyframe after it, in order and at random."""
    n = 64
    path, (a, b) = write_two_glitches_mp4(tmp_path, n, bframes)
    one, two = (a, a + 8), (b, b + 8)  # (a keyframe overwritten: its GOP concealed, up to the next keyframe)
    with VideoReader(path) as r:
        assert r.notice is None and r.keyframes == tuple(range(0, n, 8))  # (the tables are whole: nothing at open)
        met = []
        r.on_damage = lambda reader, damage: met.append(damage)
        for i in range(n):
            r.read(i)
        assert [d[:2] for d in r.damages] == [one, two] and met == list(r.damages)
        assert f"near frame {b}:" in r.notice and r.damaged_span() == two
        for i in (*range(n), *range(*one)):  # met again: no news
            r.read(i)
        assert len(r.damages) == 2 and len(met) == 2
    with VideoReader(path) as fresh, contextlib.closing(fresh.reopen()) as other:  # at random, by a cursor
        for i in random.Random(1).sample(range(n), n):
            other.read(i)
        # (the overwritten frame is a keyframe, decoded first whichever frame of its GOP is read)
        assert sorted(d[:2] for d in other.damages) == [one, two] and fresh.damages == ()


def test_an_open_gop_mp4_reads_the_frames_shown_before_a_keyframe_at_random(tmp_path):
    """Open GOPs: the B-frames shown before a keyframe are decoded after it, from the GOP before too. A
    seek to such a frame's time landed on that keyframe (MP4's index is searched by decode time), and
    the keyframe was given in their place, silently (3 frames of each GOP of 8). A random read now
    decodes from the keyframe shown at or before the frame."""
    path = write_test_clip(tmp_path / "open.mp4", make_frames(48, 64, 48), codec_options=x264(8, 3, "open-gop=1"))
    whole = in_order(path)
    assert flagged(path)[0] != flagged(path)[1]  # (B-frames shown before keyframes)
    order = list(range(48))
    random.Random(2).shuffle(order)
    with VideoReader(path) as r:
        got = {i: r.read(i) for i in order}
    assert [i for i in range(48) if not np.array_equal(got[i], whole[i])] == []


def test_a_read_further_on_decodes_on_where_no_keyframe_lies_between(tmp_path, monkeypatch):
    """Where the keyframes are known, a read further on than the one before decodes on from there where no
    keyframe lies between (a seek would start from one before: more to decode, in a long GOP past the
    120 frames that were decoded on at most), and seeks to the keyframe where one lies well between."""
    path = write_test_clip(tmp_path / "long.mp4", make_frames(300, 64, 48), codec_options=x264(250, 2))
    short = write_test_clip(tmp_path / "short.mp4", make_frames(100, 64, 48), codec_options=x264(25, 2))
    whole, whole_short = in_order(path), in_order(short)
    seeks = []
    with VideoReader(path) as r, VideoReader(short) as s:
        for reader in (r, s):
            monkeypatch.setattr(reader, "_container", _Seeks(reader._container, seeks))
        r.read(10)
        del seeks[:]
        assert np.array_equal(r.read(200), whole[200]) and seeks == []  # (same GOP: decoded on)
        assert np.array_equal(r.read(260), whole[260]) and len(seeks) == 1  # (a keyframe at 250: a seek)
        s.read(3)
        del seeks[:]
        assert np.array_equal(s.read(60), whole_short[60]) and len(seeks) == 1  # (from keyframe 50, not 56 on)
        assert np.array_equal(s.read(70), whole_short[70]) and len(seeks) == 1  # (same GOP: decoded on)
        assert np.array_equal(s.read(80), whole_short[80]) and len(seeks) == 1  # (keyframe 75, 4 frames on: decoded on)


class _Seeks:
    """A container whose seeks are counted."""

    def __init__(self, container, seeks: list):
        self._c, self._seeks = container, seeks

    def seek(self, *a, **k):
        self._seeks.append(a)
        return self._c.seek(*a, **k)

    def __getattr__(self, name):
        return getattr(self._c, name)
