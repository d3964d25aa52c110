"""A packet the decoder refuses mid-video (bytes overwritten in an H.264 P-frame: FFmpeg's decode error,
not a frame it conceals): a read in order stopped there with "damaged near frame N (its picture data there
cannot be decoded)", and an Inpaint / export over a long clip with it. The read now goes on: the frames lost
show the frame before (as players hold the last picture), every other frame stays in its place, the stretch
is said once, and a read at random gives the same pixels as a read in order.

Real files written through PyAV (MP4 and Matroska, GOPs of 12 with two B-frames), with 64 bytes of a
P-frame's packet overwritten where the decoder refuses it; and an AVI (MPEG-4 Part 2), whose frame times
FFmpeg guesses from the frame types: it goes on only where the frames lost can be placed for sure.
"""
from __future__ import annotations

import random

import av
import numpy as np
import pytest

from app.core.errors import VideoError
from app.core.video import VideoReader, write_test_clip
from conftest import make_frames

N, W, H = 36, 160, 120
X264 = {"x264-params": "keyint=12:min-keyint=12:scenecut=0:bframes=2:threads=1"}
#: where in a packet the bytes are overwritten: MP4's packet starts with the NAL unit's size, Matroska's
#: position is its block's header (overwritten, the demuxer drops the block: no refusal)
OFFSET = {".mp4": 0, ".mkv": 4}


def raw_decode(path) -> tuple[list[int], int]:
    """(the times of the frames FFmpeg's decoder gives, in the order given; how many packets it refuses)."""
    times, refused = [], 0
    with av.open(str(path)) as c:
        for packet in c.demux(c.streams.video[0]):
            try:
                times += [f.pts for f in packet.decode()]
            except av.error.FFmpegError:
                refused += 1
    return times, refused


def overwrite(data: bytes, at: int, size: int = 64) -> bytes:
    bad = bytearray(data)
    bad[at:at + size] = np.random.default_rng(7).integers(0, 256, size, dtype=np.uint8).tobytes()
    return bytes(bad)


def refused_clip(folder, suffix: str, keyframe: bool = False):
    """(whole file, damaged file, indices of the frames lost) for the first packet mid-clip (a P- or B-frame,
    or with ``keyframe`` a keyframe after the first) whose overwrite the decoder refuses, the frames lost one
    run, every other frame coming out in order (a keyframe: any frames lost, in any order)."""
    src = write_test_clip(folder / f"whole{suffix}", make_frames(N, W, H), codec_options=X264)
    data = src.read_bytes()
    with av.open(str(src)) as c:
        packets = [(p.pos, p.is_keyframe, p.pts) for p in c.demux(c.streams.video[0]) if p.size]
    times = sorted(t for _, _, t in packets)
    bad = folder / f"bad{suffix}"
    for k, (pos, key, _) in enumerate(packets):
        if k < 3 or key != keyframe or k > len(packets) - 6:
            continue
        bad.write_bytes(overwrite(data, pos + OFFSET[suffix]))
        given, refused = raw_decode(bad)
        lost = sorted(times.index(t) for t in set(times) - set(given))
        if refused and given[:1] == times[:1] and lost and (keyframe or given == sorted(given) and
                                                            lost == list(range(lost[0], lost[-1] + 1))):
            return src, bad, lost
    pytest.fail("no overwrite of a packet mid-clip made the decoder refuse it")


def read_all(path) -> list[np.ndarray]:
    with VideoReader(path) as r:
        return [r.read(i) for i in range(len(r))]


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_refused_p_frame_mid_clip_shows_the_frame_before_and_the_read_goes_on(tmp_path, suffix):
    src, bad, lost = refused_clip(tmp_path, suffix)
    whole = read_all(src)
    first, last = lost[0], lost[-1]
    assert first > 0
    with VideoReader(bad) as r:
        # (Matroska's demuxer runs H.264's parser, which logs the broken NAL unit: the open finds the stretch)
        at_open = r.damages
        assert len(r) == N and len(at_open) == (suffix == ".mkv"), at_open
        met = []
        r.on_damage = lambda reader, damage: met.append(damage)
        seq = [r.read(i) for i in range(N)]  # (stopped at the refused packet before)
        assert len(seq) == N
        for i in lost:  # each frame lost is the frame before it, as decoded
            assert np.array_equal(seq[i], seq[first - 1]), i
        keys = r.keyframes
        # every frame outside the lost one's GOP is the whole file's frame with that time: nothing shifted
        before = max((k for k in keys if k <= first), default=0)
        after = min((k for k in keys if k > last), default=N)
        assert after < N or suffix == ".mp4", keys
        for i in [*range(before), *range(after, N)]:
            assert np.array_equal(seq[i], whole[i]), i
        assert len(r.damages) == 1  # said once
        damage = r.damages[0]
        if at_open:  # (the frames lost join the stretch said at open: nothing more said)
            assert r.damages == at_open and met == [] and damage.first <= first and last < damage.end, damage
        else:
            assert damage.first == first and met == [damage], damage
            span = f"frame {first} could not be decoded and shows" if first == last else \
                f"frames {first}-{last} could not be decoded and show"
            assert f"is damaged near frame {first}: {span} frame {first - 1}" in damage.notice, damage.notice
            assert "copy it again from the original" in damage.notice and r.notice == damage.notice
        for i in (*range(N), *lost):  # read again: no news
            assert np.array_equal(r.read(i), seq[i]), i
        assert r.damages == (damage,) and len(met) == (not at_open)

    order = list(range(N))
    random.Random(3).shuffle(order)
    with VideoReader(bad) as r:  # at random: the same pixels, the same stretch
        for i in order:
            assert np.array_equal(r.read(i), seq[i]), i
        assert [d.first for d in r.damages] == [damage.first]
    for i in (first, last, last + 1, first - 1):  # each the first read of a fresh reader
        with VideoReader(bad) as r:
            assert np.array_equal(r.read(i), seq[i]), i


def test_a_refused_keyframe_mid_clip_reads_the_same_in_order_and_at_random(tmp_path, monkeypatch):
    """A keyframe refused: a read at random that lands in its GOP starts a decoder with no frame before the
    lost ones to show; it reads the frame before the GOP and decodes on, as a read in order does."""
    import app.core.video as video

    _, bad, lost = refused_clip(tmp_path, ".mp4", keyframe=True)
    seq = read_all(bad)
    assert len(seq) == N
    assert np.array_equal(seq[lost[0]], seq[lost[0] - 1])  # (the first lost shows the one before)
    calls = []
    spy = video.VideoReader._shown_from_before
    monkeypatch.setattr(video.VideoReader, "_shown_from_before", lambda self, i: calls.append(i) or spy(self, i))
    for i in (lost[0], lost[-1], *range(lost[-1] + 1, min(N, lost[-1] + 4))):
        with VideoReader(bad) as r:
            r.read(N - 1)  # (the decoder elsewhere: the read below seeks)
            assert np.array_equal(r.read(i), seq[i]), i
            assert len(r.damages) == 1 and r.damages[0].first <= lost[0]
    assert calls  # (the way a seek into the stretch goes)


def test_a_file_whose_first_frame_is_refused_says_so_in_one_line(tmp_path):
    src = write_test_clip(tmp_path / "whole.mp4", make_frames(N, W, H), codec_options=X264)
    with av.open(str(src)) as c:
        pos = next(p.pos for p in c.demux(c.streams.video[0]) if p.size)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(overwrite(src.read_bytes(), pos))
    assert raw_decode(bad)[1]  # (refused)
    with pytest.raises(VideoError) as exc:
        VideoReader(bad)
    text = str(exc.value)
    assert "\n" not in text and "damaged" in text and "repair it" in text, text


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_an_export_over_a_refused_frame_finishes_and_says_it(tmp_path, suffix):
    """Inpaint's export over a clip with a refused P-frame stopped at it; it now writes every frame and its
    summary says the stretch."""
    from app.core.engine import inpaint_video
    from app.core.masks import MaskStore

    _, bad, lost = refused_clip(tmp_path, suffix) if suffix == ".mp4" else refused_avi(tmp_path)
    box = np.zeros((H, W), bool)
    box[40:60, 50:90] = True
    masks = MaskStore(N, W, H)
    for i in range(lost[0] + 1):  # (the frames inpainted reach over the first one lost)
        masks.set(i, box)
    out = tmp_path / "clean.mp4"
    result = inpaint_video(bad, masks, out, config=None, start=0, end=lost[0] + 1, preset="ultrafast")
    with VideoReader(out) as r:
        assert len(r) == N  # (it stopped at the refused packet before)
    said = [w for w in result.warnings if "could not be decoded and show" in w]
    assert len(said) == 1 and f"near frame {lost[0]}:" in said[0], result.warnings


def test_the_engines_sequential_cursor_reads_past_a_refused_packet_near_the_end(tmp_path):
    """The engine's main pass reads through ``reopen(sequential=True)``, whose decoder works on several
    frames at once (frame threads): a packet's refusal can be told for a later one, or only at the
    flush after the last packet, where it still stopped the export; every frame is now given."""
    src = write_test_clip(tmp_path / "whole.mp4", make_frames(N, W, H), codec_options=X264)
    data = src.read_bytes()
    with av.open(str(src)) as c:
        packets = [(p.pos, p.is_keyframe) for p in c.demux(c.streams.video[0]) if p.size]
    bad, tried = tmp_path / "bad.mp4", 0
    for pos, key in packets[-6:-1]:
        if key:
            continue
        bad.write_bytes(overwrite(data, pos))
        if not raw_decode(bad)[1]:
            continue
        tried += 1
        with VideoReader(bad) as r:
            cursor = r.reopen(sequential=True)
            try:
                frames = [cursor.read(i) for i in range(N)]
                assert len(frames) == N and len(cursor.damages) == 1, cursor.damages
                assert "is damaged near frame" in cursor.notice, cursor.notice
            finally:
                cursor.close()
    assert tried


def avi_clip(folder, bframes: int = 2):
    """(whole file, (position, pts, dts) of each video packet in the file's order): an XviD-like AVI (MPEG-4
    Part 2, GOPs of 12, two B-frames), whose packets' times FFmpeg guesses from their frame types."""
    from mediafiles import encode_frames

    src = folder / "whole.avi"
    with av.open(str(src), "w") as out:
        s = out.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"g": "12", "bf": str(bframes), "qscale": "3", "threads": "1"}
        encode_frames(out, s, make_frames(N, W, H))
    with av.open(str(src)) as c:
        packets = [(p.pos, p.pts, p.dts) for p in c.demux(c.streams.video[0]) if p.size]
    return src, packets


def refused_avi(folder):
    """(whole file, damaged file, indices of the frames lost) for an AVI (``avi_clip``) with the P-frame after
    its first keyframe refused (its first bytes overwritten)."""
    src, packets = avi_clip(folder)
    pos = next(pos for pos, pts, dts in packets[1:] if pts != dts)  # (a reference: its time is not its place)
    bad = folder / "bad.avi"
    bad.write_bytes(overwrite(src.read_bytes(), pos))
    given, refused = raw_decode(bad)
    times = sorted(t for _, t, _ in packets)
    assert refused
    return src, bad, sorted(times.index(t) for t in set(times) - set(given))


def test_an_avi_with_a_refused_p_frame_reads_to_its_end(tmp_path):
    """The P-frame after the first keyframe refused (its first bytes overwritten): the read in order stopped
    there ("damaged near frame 0": at open, the keyframe comes out after it). Its frame and the two B-frames
    shown before it, which the decoder drops, now show the keyframe; the rest are in their places, the
    stretch said once; the engine's sequential cursor (frame threads) reads the same."""
    src, bad, lost = refused_avi(tmp_path)
    whole = read_all(src)
    assert lost == [1, 2, 3], lost
    with VideoReader(bad) as r:
        assert len(r) == N
        met = []
        r.on_damage = lambda reader, damage: met.append(damage)
        seq = [r.read(i) for i in range(N)]
        for i in lost:
            assert np.array_equal(seq[i], seq[0]), i
        assert not np.array_equal(whole[1], whole[0])  # (the clip moves: a frame shown twice is told)
        with VideoReader(src) as w:  # (the damaged packet's flag is its parser's guess too)
            keys = w.keyframes
        assert keys and keys[0] == 0 and len(keys) > 1, keys
        for i in [0, *range(keys[1], N)]:  # (the P-frames after it in its GOP refer to it: concealed)
            assert np.array_equal(seq[i], whole[i]), i
        # (said once: the concealed frames after it join the stretch, which may reach further then)
        assert len(met) == 1 and len(r.damages) == 1 and r.damages[0][::2] == met[0][::2], (met, r.damages)
        assert met[0].first == 1 and "frames 1-3 could not be decoded and show frame 0" in met[0].notice, met[0]
        for i in range(N):  # (read again in order: no news)
            assert np.array_equal(r.read(i), seq[i]), i
        assert len(r.damages) == 1
        cursor = r.reopen(sequential=True)
        try:
            assert [np.array_equal(cursor.read(i), seq[i]) for i in range(N)] == [True] * N
            assert len(cursor.damages) == 1 and cursor.damages[0].first == 1, cursor.damages
        finally:
            cursor.close()


def avi_overwritten(folder, around: tuple, size: int = 64):
    """(the whole file's frames, its packets, their types "B" / "R", k, the damaged file) for an AVI
    (``avi_clip``) with ``size`` bytes overwritten at the start of packet k, the first from 3 on whose type and
    its neighbours' are ``around`` (before it, it, after it), which the decoder refuses."""
    src, packets = avi_clip(folder)
    kind = [("B" if pts == dts else "R") for _, pts, dts in packets]
    k = next(k for k in range(3, len(packets) - 3) if tuple(kind[k - 1:k + 2]) == around)
    bad = folder / "bad.avi"
    bad.write_bytes(overwrite(src.read_bytes(), packets[k][0], size))
    assert raw_decode(bad)[1]  # (refused)
    return read_all(src), packets, kind, k, bad


@pytest.mark.parametrize("case", ["B-frame read as a reference", "reference read as a B-frame"])
def test_an_avi_frame_refused_with_its_type_misread_is_placed_by_what_the_decoder_did(tmp_path, case):
    """A refused packet's type (hence its time) is what its overwritten header told FFmpeg's parser, which keeps
    the type of the packet before: a B-frame after a reference is read as one, a reference after a B-frame as a
    B-frame, and the reference before it gets the wrong time too (it came out 2 frames early, or 3 late). What
    the decoder did tells the type (it drops the B-frames after a reference lost, not after a B-frame): the
    frames lost show the frame before, every other frame in its place."""
    around = ("R", "B", "B") if case.startswith("B-frame") else ("B", "R", "B")
    whole, packets, kind, k, bad = avi_overwritten(tmp_path, around, size=16)  # (a small B-frame's header alone)
    times = sorted(t for _, t, _ in packets)
    with av.open(str(bad)) as c:  # (the times guessed for it and the reference before it are not the file's)
        assert [p.pts for p in c.demux(c.streams.video[0]) if p.size] != [t for _, t, _ in packets]
    place = lambda j: times.index(packets[j][1])  # noqa: E731  (a packet's place in the undamaged file)
    lost = [place(k)] if kind[k] == "B" else sorted([place(k), place(k + 1), place(k + 2)])
    with VideoReader(bad) as r:
        seq = [r.read(i) for i in range(N)]  # (stopped at it before)
        assert len(r.damages) == 1 and r.damages[0].first == lost[0], r.damages
    for i in lost:
        assert np.array_equal(seq[i], seq[lost[0] - 1]) and not np.array_equal(whole[i], whole[lost[0] - 1]), i
    after = min(t for t in range(lost[-1] + 1, N) if t % 12 == 0)  # (the next keyframe: GOPs of 12)
    shown = [i for i in range(N) if i not in lost and (kind[k] == "B" or i < lost[0] or i >= after)]
    assert [i for i in shown if not np.array_equal(seq[i], whole[i])] == []  # (a B-frame: nothing refers to it)


@pytest.mark.parametrize("case", ["two frames' headers overwritten", "frame just before a reference"])
def test_an_avi_frame_refused_where_it_cannot_be_placed_still_stops(tmp_path, case):
    """64 bytes over the start of a small B-frame after a reference reach the next one's header (the decoder
    then makes a P-frame of it): neither type fits what the decoder did. A frame right before a reference is a
    B-frame shown before the reference before it or a P-frame shown after it, both fit: the read stops at it
    with one line, as before, every frame given before that the whole file's."""
    whole, _, _, _, bad = avi_overwritten(tmp_path, ("R", "B", "B") if case.startswith("two") else ("B", "B", "R"))
    with VideoReader(bad) as r:
        for reader in (r, r.reopen(sequential=True)):
            seq = []
            with pytest.raises(VideoError) as exc:
                for i in range(N):
                    seq.append(reader.read(i))
            text = str(exc.value)
            assert "\n" not in text and f"is damaged near frame {len(seq)} (its picture data there cannot be " \
                                           f"decoded)" in text and "repair it" in text, text
            assert 0 < len(seq) < N and all(np.array_equal(seq[i], whole[i]) for i in range(len(seq)))
            reader.close()


def test_an_avi_without_b_frames_reads_past_any_refused_frame(tmp_path):
    """Without B-frames each frame's time is its place in the file whatever its type: a P-frame mid-GOP
    refused (which stopped the read) shows the frame before, the frames after it in their places."""
    src, packets = avi_clip(tmp_path, bframes=0)
    assert all(pts == dts for _, pts, dts in packets)
    whole = read_all(src)
    bad = tmp_path / "bad.avi"
    bad.write_bytes(overwrite(src.read_bytes(), packets[17][0]))  # (the sixth P-frame of the second GOP)
    given, refused = raw_decode(bad)
    assert refused and sorted(t for _, t, _ in packets if t not in given) == [packets[17][1]]
    with VideoReader(bad) as r:
        assert len(r) == N
        seq = [r.read(i) for i in range(N)]  # (stopped at frame 17 before)
        assert np.array_equal(seq[17], seq[16]) and not np.array_equal(whole[17], whole[16])
        for i in [*range(17), *range(24, N)]:  # (the P-frames after it up to the next keyframe are concealed)
            assert np.array_equal(seq[i], whole[i]), i
        assert len(r.damages) == 1 and "frame 17 could not be decoded and shows frame 16" in r.notice, r.notice


def test_an_avi_whose_demuxer_lost_frames_still_stops_at_a_refused_one(tmp_path):
    """Bytes overwritten over chunk headers: the demuxer skips to the next chunk it finds, so the frames after
    are read a place early for each lost (a read at random does not count them alike). A refusal there is not
    placed for sure, even without B-frames: the read stops with one line, as before."""
    src, packets = avi_clip(tmp_path, bframes=0)
    data, bad = src.read_bytes(), tmp_path / "bad.avi"
    for pos, _, _ in packets[3:-6]:
        blob = bytearray(data)
        blob[pos:pos + 2000] = np.random.default_rng(7).integers(0, 256, 2000, dtype=np.uint8).tobytes()
        bad.write_bytes(bytes(blob))
        with av.open(str(bad)) as c:
            found = sum(1 for p in c.demux(c.streams.video[0]) if p.size)
        if found < len(packets) and raw_decode(bad)[1]:
            break
    else:
        pytest.fail("no overwrite lost packets to the demuxer and had one refused")
    with VideoReader(bad) as r:
        seq = []
        with pytest.raises(VideoError) as exc:
            for i in range(len(r)):
                seq.append(r.read(i))
    text = str(exc.value)
    assert "\n" not in text and "(its picture data there cannot be decoded)" in text, text
    assert 0 < len(seq) < len(r)
