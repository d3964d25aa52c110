"""An MP4's frame timestamps from its sample tables (``app.core.mp4index``), as the demuxer gives them.

Real files written through PyAV in the layouts users bring (B-frames with an edit list, variable
frame rate, rotation, audio, MOV, moov at the front), and the ones the fast path must refuse
(truncated, fragmented, tables that lie), where the reader falls back to demuxing everything.
"""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from app.core import video as video_module
from app.core.errors import VideoError
from app.core import mp4index
from app.core.mp4index import video_pts, video_sync, video_tables
from app.core.video import VideoReader, write_test_clip
from tests.core.test_video import make_frames


def demuxed(path) -> list[int]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [p.pts if p.pts is not None else p.dts for p in c.demux(s) if p.size]


def vfr_clip(path, n=12):
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i, f in enumerate(make_frames(n, 64, 48)):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = pts, Fraction(1, 1000)
            pts += 20 if i % 2 else 50
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


LAYOUTS = {
    "constant rate, no B-frames": dict(codec_options={"preset": "ultrafast"}),
    "B-frames (edit list, composition offsets)": dict(codec_options={"preset": "medium", "bf": "3"}),
    "rotation and audio": dict(rotation=90, audio=True),
    "moov at the front": dict(container_options={"movflags": "faststart"}),
    "mov container": dict(suffix=".mov"),
    "short keyframe interval": dict(codec_options={"g": "5"}),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_sample_tables_give_the_demuxers_timestamps(tmp_path, layout):
    opts = dict(LAYOUTS[layout])
    path = write_test_clip(tmp_path / f"clip{opts.pop('suffix', '.mp4')}", make_frames(30, 64, 48), **opts)
    pts = video_pts(path)
    assert pts is not None and pts == demuxed(path)
    with VideoReader(path) as r:  # and the reader reads every frame through that index
        assert len(r) == 30 and r._pts == sorted(pts)
        seq = list(r)
        for i in (29, 3, 17, 0):
            assert np.array_equal(r[i], seq[i]), i


def test_variable_frame_rate_timestamps_come_from_the_tables(tmp_path):
    path = vfr_clip(tmp_path / "vfr.mp4")
    assert video_pts(path) == demuxed(path)
    assert len(set(np.diff(sorted(video_pts(path))))) == 2  # two frame durations


def test_the_reader_indexes_an_mp4_without_demuxing_all_of_it(tmp_path, monkeypatch):
    """A long file: the index pass demuxes the first packets and the last GOP only."""
    path = write_test_clip(tmp_path / "long.mp4", make_frames(400, 64, 48), codec_options={"g": "50"})
    truth_pts = demuxed(path)
    with av.open(str(path)) as c:
        truth = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)][399]
    seen = []
    real_open = av.open

    class Counting:
        def __init__(self, c):
            self._c = c

        def demux(self, *a, **k):
            for p in self._c.demux(*a, **k):
                seen.append(p)
                yield p

        def __getattr__(self, name):
            return getattr(self._c, name)

    monkeypatch.setattr(video_module.av, "open", lambda *a, **k: Counting(real_open(*a, **k)))
    with VideoReader(path) as r:
        assert len(r) == 400 and r._pts == sorted(truth_pts)
        assert len(seen) < 150  # 48 from the start, the last GOP (50), and frame 0's read
        assert np.array_equal(r[399], truth)


def test_what_the_tables_cannot_say_falls_back_to_demuxing(tmp_path):
    frames = make_frames(40, 64, 48)
    # truncated: samples end past the end of the file; the demuxer finds where it really ends
    whole = write_test_clip(tmp_path / "whole.mp4", frames, container_options={"movflags": "faststart"})
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert video_pts(cut) is None
    with VideoReader(cut) as r:
        assert 0 < len(r) < 40
    # fragmented MP4: tables spread over the file
    frag = write_test_clip(tmp_path / "frag.mp4", frames,
                           container_options={"movflags": "frag_keyframe+empty_moov"}, codec_options={"g": "10"})
    assert video_pts(frag) is None
    with VideoReader(frag) as r:
        assert len(r) == 40
    # not an MP4 at all
    mkv = write_test_clip(tmp_path / "clip.mkv", frames)
    assert video_pts(mkv) is None and VideoReader(mkv)._count == 40
    assert video_pts(tmp_path / "missing.mp4") is None


def test_an_index_that_disagrees_with_the_packets_is_not_trusted(tmp_path, monkeypatch):
    """The reader checks what the tables say against the packets it demuxes (the first ones and
    the last GOP): a reading of the tables gone wrong (say an edit list read differently from
    FFmpeg) indexes by demuxing instead of seeking to wrong places."""
    path = write_test_clip(tmp_path / "clip.mp4", make_frames(60, 64, 48), codec_options={"g": "20"})
    real, sync = demuxed(path), video_sync(path)
    for wrong in ([p + 1 for p in real],                 # shifted: the first packets differ
                  real[:-1] + [real[-1] + 7],            # the last frame's time: only the tail differs
                  real[:-1]):                            # a frame short
        monkeypatch.setattr(video_module, "video_tables", lambda _path, w=wrong: (list(w), sync))
        with VideoReader(path) as r:
            assert r._pts == sorted(real) and len(r) == 60


def cut_without_reencoding(src, out, first_kept: int, keyframe: int, step: int):
    """What a lossless cutter does: the packets from the keyframe before the cut, shifted so that
    the cut is at 0; the muxer writes an edit list and the frames before it are never shown."""
    with av.open(str(src)) as inp, av.open(str(out), "w") as dst:
        s = inp.streams.video[0]
        o = dst.add_stream_from_template(s)
        for p in inp.demux(s):
            if p.dts is None or p.pts < keyframe * step:
                continue
            p.pts -= first_kept * step
            p.dts -= first_kept * step
            p.stream = o
            dst.mux(p)
    return out


@pytest.mark.parametrize("way", ["sample tables", "demux"])
def test_a_file_cut_without_reencoding_has_only_the_frames_it_shows(tmp_path, monkeypatch, way):
    """The frames from the keyframe to the cut are in the file (decoding needs them) but hidden
    by its edit list: they were counted as frames, so frame i was another frame read in order
    than read by seeking, and the last five could not be read at all."""
    frames = []
    for i in range(60):
        f = np.zeros((48, 64, 3), np.uint8)
        f[:, :, 0] = i * 4
        frames.append(f)
    src = write_test_clip(tmp_path / "src.mp4", frames, crf=0, codec_options={"g": "20", "preset": "ultrafast"})
    cut = cut_without_reencoding(src, tmp_path / "cut.mp4", first_kept=25, keyframe=20, step=512)
    with av.open(str(cut)) as c:
        shown = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(shown) == 35 and abs(int(shown[0][20, 20, 0]) - 100) <= 2  # frame 25 of the source first
    if way == "demux":
        monkeypatch.setattr(VideoReader, "_sample_table_pts", lambda self: None)
    with VideoReader(cut) as r:
        assert len(r) == 35 and r._pts[0] == 0
        in_order = list(r)
        for i in (34, 5, 0, 20, 33):
            assert np.array_equal(r[i], shown[i]), i
    assert all(np.array_equal(a, b) for a, b in zip(in_order, shown))


def test_a_file_that_refuses_the_seek_back_is_opened_afresh(tmp_path, monkeypatch):
    """A damaged file can refuse the seek back to its start after the sample-table check (the
    fuzz test found one: EPERM out of ``seek(0)``, not a VideoError): the reader opens the file
    afresh and indexes it."""
    path = write_test_clip(tmp_path / "clip.mp4", make_frames(20, 64, 48), codec_options={"g": "5"})
    real = demuxed(path)
    calls = []

    class Refusing:
        def __init__(self, c):
            self._c = c

        def seek(self, offset, *a, **k):
            calls.append(offset)
            if offset == 0 and len(calls) == 2:  # the rewind after the check
                raise av.error.PermissionError(1, "Operation not permitted")
            return self._c.seek(offset, *a, **k)

        def __getattr__(self, name):
            return getattr(self._c, name)

    real_open = av.open
    opened = []
    monkeypatch.setattr(video_module.av, "open", lambda *a, **k: opened.append(1) or (
        Refusing(real_open(*a, **k)) if len(opened) == 1 else real_open(*a, **k)))
    with VideoReader(path) as r:
        assert len(opened) == 2 and len(r) == 20 and r._pts == sorted(real)
        assert np.array_equal(r[19], list(r)[19])


def test_a_damaged_sample_count_is_refused_at_once(tmp_path):
    """A count of 2^32 - 1 in a damaged table is not expanded (that took minutes and gigabytes):
    the tables are refused and the reader demuxes the file, or says it cannot."""
    import struct
    import time

    path = write_test_clip(tmp_path / "clip.mp4", make_frames(10, 64, 48), codec_options={"preset": "ultrafast"})
    data = bytearray(path.read_bytes())
    at = data.find(b"stts")
    struct.pack_into(">I", data, at + 12, 0xFFFFFFFF)  # the first entry's sample count
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    t = time.monotonic()
    assert video_pts(bad) is None
    try:
        with VideoReader(bad) as r:
            len(r)
    except VideoError:
        pass
    assert time.monotonic() - t < 10


def test_the_reader_reads_the_moov_box_once_for_timestamps_and_keyframes(tmp_path, monkeypatch):
    """``video_tables`` gives what ``video_pts`` and ``video_sync`` give, from one opening of the
    file (the reader asked each in turn: the file opened, its boxes walked and its moov read twice)."""
    frames = make_frames(40, 64, 48)
    files = [write_test_clip(tmp_path / f"{name}{opts.pop('suffix', '.mp4')}", frames, **opts)
             for name, opts in ((k, dict(v)) for k, v in zip("abcdef", LAYOUTS.values()))]
    files += [vfr_clip(tmp_path / "vfr.mp4"),
              write_test_clip(tmp_path / "frag.mp4", frames,
                              container_options={"movflags": "frag_keyframe+empty_moov"}),
              write_test_clip(tmp_path / "clip.mkv", frames), tmp_path / "missing.mp4"]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(files[3].read_bytes()[:files[3].stat().st_size * 2 // 3])  # (moov at the front: tables, no samples)
    files.append(cut)
    answers = [(video_pts(f), video_sync(f)) for f in files]
    assert sum(pts is not None for pts, _ in answers) == 7 and sum(s is not None for _, s in answers) >= 7
    opened, moovs = [], []
    real_find = mp4index._find_moov
    monkeypatch.setattr(mp4index, "open", lambda *a, **k: opened.append(a[0]) or open(*a, **k), raising=False)
    monkeypatch.setattr(mp4index, "_find_moov", lambda *a: moovs.append(1) or real_find(*a))
    for f, answer in zip(files, answers):
        opened.clear()
        assert video_tables(f) == answer, f.name
        assert len(opened) == (f.name != "missing.mp4"), f.name
    moovs.clear()
    with VideoReader(files[0]) as r:
        assert len(r) == 40 and r.keyframes and r._pts == sorted(answers[0][0])
    assert len(moovs) == 1
