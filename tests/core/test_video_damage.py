"""MPEG program streams starting inside a GOP: every frame is read in its place, in order and at random
(damage of every kind over all containers is counted by ``benchmarks/bench_damage.py``)."""
import random

import av
import numpy as np
import pytest

from app.core.errors import VideoError
from app.core.video import VideoReader
from conftest import make_frames
from mediafiles import encode_audio, encode_frames, write_two_glitches

N, W, H = 36, 160, 120


def write_mpg(path):
    """N frames of MPEG-2 in a program stream, open GOPs of 10 with two B-frames, and a tone."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("mpeg2video", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"g": "10", "bf": "2", "qscale": "4", "threads": "1"}
        a = out.add_stream("mp2", rate=48000)
        a.layout = "mono"
        encode_frames(out, s, make_frames(N, W, H, seed=3))
        tone = (np.sin(np.arange(48000 * N // 25) / 5) * 0.2 * 32767).astype(np.int16)
        encode_audio(out, a, tone, "s16", 48000, chunk=1152)
    return path


def whole_frames(path):
    with VideoReader(path) as r:
        return [r.read(i) for i in range(len(r))]


def place(frame, whole):
    return next((i for i, f in enumerate(whole) if np.array_equal(f, frame)), None)


def write_mkv(path, seed: int) -> None:
    """N frames of H.264 in a Matroska file, closed GOPs of 10 with two B-frames."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"x264-params": "keyint=10:min-keyint=10:scenecut=0:bframes=2:threads=1"}
        encode_frames(out, s, make_frames(N, W, H, seed=seed))


def test_an_mpg_starting_inside_an_open_gop_reads_its_frames_in_place(tmp_path):
    """An .mpg whose first bytes are gone (a recording joined late, a file cut at its start): it starts
    in the middle of a frame, and its first keyframe's B-frames refer to a frame it lacks. The decoder
    drops them, but they were counted: every frame was read in the place of the one before it (frame
    k in order was frame k + 3 at random), and the last three said "ends early: frame 24 of 27 cannot
    be decoded; the file is truncated"."""
    src = write_mpg(tmp_path / "whole.mpg")
    whole = whole_frames(src)
    data = src.read_bytes()
    keys, at = [], 0
    with av.open(str(src)) as c:
        for p in c.demux(c.streams.video[0]):
            at = p.pos or at  # (a packet that starts inside a pack has no position: the one before's)
            if p.size and p.is_keyframe:
                keys.append(at)
    headless = tmp_path / "headless.mpg"
    headless.write_bytes(data[keys[1] // 2048 * 2048:])  # (from the pack the second keyframe starts in or before)
    with VideoReader(headless) as r:
        n = len(r)
        seq = [place(r.read(i), whole) for i in range(n)]
        assert seq[0] is not None and seq == list(range(seq[0], seq[0] + n)), seq
        assert seq[-1] == N - 1 and r.notice is None
        for i in random.Random(0).sample(range(n), n):
            assert place(r.read(i), whole) == seq[i], i



def write_ts(path):
    """N frames of H.264 in a transport stream, closed GOPs of 10 with two B-frames, and a tone."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"x264-params": "keyint=10:min-keyint=10:scenecut=0:bframes=2:threads=1"}
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        encode_frames(out, s, make_frames(N, W, H, seed=3))
        encode_audio(out, a, (np.sin(np.arange(16000 * N // 25) / 5) * 0.2).astype(np.float32), "fltp", 16000)
    return path


def test_a_frame_lost_to_damage_leaves_the_frames_after_it_in_place(tmp_path):
    """A transport stream with a frame's packet overwritten (a bad sector, a broken copy): the decoder
    gives no frame for it, and every frame after it was read in the place of the one before (the
    export a frame short at the end, its picture a frame early from the damage on, under a notice
    that said only "frames from there may show blocks or be missing"). The frame after the lost one
    now stands in for it, and every later frame is in its place."""
    src = write_ts(tmp_path / "whole.ts")
    with VideoReader(src) as r:
        whole = {t: r.read(i) for i, t in enumerate(r._pts)}
    data = bytearray(src.read_bytes())
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size, p.pts) for p in c.demux(c.streams.video[0]) if p.size and p.pos]
    pos = packets[len(packets) // 2][0]
    data[pos:pos + 2000] = np.random.default_rng(2).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.ts"
    bad.write_bytes(bytes(data))
    with VideoReader(bad) as r:
        assert r.notice is not None and "bad.ts is damaged near frame" in r.notice, r.notice
        n, times = len(r), r._pts
        seq = [r.read(i) for i in range(n)]
        keys = sorted(whole)[::10]  # (the keyframes' times: from the next one on, nothing refers to the damage)
        near = times[int(r.notice.split("near frame ")[1].split(":")[0])]
        later = min(t for t in keys if t > near)
        same = [i for i in range(n) if times[i] < near or times[i] >= later]
        assert len(same) > n // 2
        for i in same:
            assert np.array_equal(seq[i], whole[times[i]]), i  # (the frame with that time, not the next one)
        for i in random.Random(0).sample(range(n), n):
            assert np.array_equal(r.read(i), seq[i]), i


@pytest.mark.parametrize("name", ["mpg", "ts"])
def test_bytes_overwritten_mid_file_are_said_before_a_wrong_picture_is_given(tmp_path, name):
    """A run of bytes overwritten inside a frame's data (a bad sector, a broken copy), the file's length
    kept. The decoder conceals what it cannot decode (a frame marked corrupt), or gives no frame for it
    at all: an .mpg was read without a word, the pictures from there wrong (frames shifted one place
    early), and a lost frame said "ends early: frame 35 of 37 cannot be decoded; the file is
    truncated" at the end. Every frame read is now the whole file's, up to a one-line error that
    says where the file is damaged and what to do (or a notice that said so at the open)."""
    src = (write_mpg if name == "mpg" else write_ts)(tmp_path / f"whole.{name}")
    with VideoReader(src) as r:
        whole = {t: r.read(i) for i, t in enumerate(r._pts)}
    data = src.read_bytes()
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.pos]
    rng = np.random.default_rng(5)
    said = 0
    for k, (pos, size) in enumerate(packets[1:-1:3], 1):
        for at, run in ((pos, 2000), (pos + size // 2, 64)):
            bad = bytearray(data)
            bad[at:at + run] = rng.integers(0, 256, run, dtype=np.uint8).tobytes()
            path = tmp_path / f"bad.{name}"
            path.write_bytes(bytes(bad))
            message = notice = None
            try:
                with VideoReader(path) as r:
                    for i in range(len(r)):
                        if not np.array_equal(r.read(i), whole.get(r._pts[i])):  # (never a wrong picture silently:
                            assert "is damaged near frame" in (r.notice or ""), (k, at, i, r._pts[i])  # said by then)
                    notice = r.notice
            except VideoError as exc:
                message = str(exc)
            for text in (message, notice):
                if text:
                    said += 1
                    assert "damaged near frame" in text and "cut off" not in text and "truncated" not in text, text
                    assert "copy it again from the original" in text or "repair it" in text, text
    assert said


def test_a_matroska_file_whose_frames_stop_early_but_is_whole_says_damaged(tmp_path):
    """A Matroska file with a run of bytes overwritten near its end, its length kept: its frames stop
    before its duration, and it was said to end early as "an interrupted download or copy?". Its
    Segment's size says the file is all there: it is damaged. Cut off, it still says it ends early."""
    write_mkv(tmp_path / "whole.mkv", seed=3)
    data = bytearray((tmp_path / "whole.mkv").read_bytes())
    start, end = len(data) * 7 // 10, len(data) * 97 // 100
    data[start:end] = np.random.default_rng(4).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(bytes(data))
    with VideoReader(bad) as r:
        assert len(r) < N and r.notice.startswith(f"bad.mkv is damaged near frame {len(r)}: its frames stop at "), \
            r.notice
        assert "copy it again from the original" in r.notice and "interrupted" not in r.notice
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(bytes(data[:start]))
    with VideoReader(cut) as r:
        assert r.notice.startswith(f"cut.mkv ends early: {len(r)} frames"), r.notice


def test_a_matroska_file_that_lost_frames_to_overwritten_bytes_says_so(tmp_path):
    """A Matroska file with bytes overwritten at the start of a frame's block (a bad sector, a broken
    copy): its demuxer cannot read the block, skips to the next cluster, and the frames in between
    are lost. It opened with no word, 26 of its 36 frames read as if that were the whole file (an
    export short by 10 frames, its sound running on past its picture). It now says where it is
    damaged, and again when opened a second time (libav logs the same line once, then counts
    repeats); PyAV's log is left as it was, off."""
    write_mkv(tmp_path / "whole.mkv", seed=3)
    src = tmp_path / "whole.mkv"
    with av.open(str(src)) as c:
        blocks = [p.pos for p in c.demux(c.streams.video[0]) if p.size]
    with VideoReader(src) as r:
        assert len(r) == N and r.notice is None, r.notice
    data = bytearray(src.read_bytes())
    data[blocks[10]:blocks[10] + 8] = np.random.default_rng(10).integers(0, 256, 8, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(bytes(data))
    for _ in range(2):
        with VideoReader(bad) as r:
            assert len(r) < N
            assert r.notice is not None and r.notice.startswith("bad.mkv is damaged near frame 10: "), r.notice
            assert "missing" in r.notice and "repair it" in r.notice, r.notice
            assert r.read(len(r) - 1).shape == (H, W, 3)
    assert av.logging.get_level() is None and av.logging.get_skip_repeated()


def test_a_file_whose_log_was_read_is_not_logged_again_when_reopened(tmp_path, monkeypatch):
    """PyAV's log callback, on while a Matroska or transport stream file is opened, takes the GIL for
    what every thread's decoder logs, and a decoder freed with the GIL held waits for its threads: a
    window for a hang. The engine opens the video the window has open again at each Inpaint; that
    open reuses what the first one read from the log (the same damage said), and turns nothing on.
    A file changed since (another size or time) is read afresh."""
    src = tmp_path / "clip.mkv"
    write_mkv(src, seed=4)
    with av.open(str(src)) as c:
        blocks = [p.pos for p in c.demux(c.streams.video[0]) if p.size]
    data = bytearray(src.read_bytes())
    data[blocks[10]:blocks[10] + 8] = np.random.default_rng(10).integers(0, 256, 8, dtype=np.uint8).tobytes()
    src.write_bytes(bytes(data))
    levels = []
    real = av.logging.set_level
    monkeypatch.setattr(av.logging, "set_level", lambda level: (levels.append(level), real(level))[1])
    with VideoReader(src) as r:
        first = r.notice
    assert first is not None and "damaged near frame 10" in first, first
    assert levels, "the first open reads libav's log"
    levels.clear()
    with VideoReader(src) as r:
        assert r.notice == first
    assert levels == [], "the same file opened again turns PyAV's log on again"
    write_mkv(src, seed=5)  # (rewritten whole: no damage now)
    with VideoReader(src) as r:
        assert r.notice is None and len(r) == N, r.notice
    assert levels, "a file changed since is read afresh"


def test_a_transport_stream_that_lost_a_frame_to_its_overwritten_header_says_so(tmp_path):
    """A transport stream with the first bytes of a frame's packet overwritten (its PES header): the
    demuxer joins what is left of the frame to the keyframe before it and logs that packet as
    corrupt, but the parser after it drops the mark. A frame was lost, and the frames that refer
    to it came out wrong, with no word at all; it now says where the file is damaged."""
    src = write_ts(tmp_path / "whole.ts")
    with VideoReader(src) as r:
        assert len(r) == N and r.notice is None, r.notice
    with av.open(str(src)) as c:
        packets = [p.pos for p in c.demux(c.streams.video[0]) if p.size and p.pos]
    data = bytearray(src.read_bytes())
    data[packets[1]:packets[1] + 64] = np.random.default_rng(1).integers(0, 256, 64, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.ts"
    bad.write_bytes(bytes(data))
    with VideoReader(bad) as r:
        assert len(r) == N - 1
        assert r.notice is not None and r.notice.startswith("bad.ts is damaged near frame 0: "), r.notice
        assert "missing" in r.notice and "repair it" in r.notice, r.notice
    assert av.logging.get_level() is None and av.logging.get_skip_repeated()


def test_a_frame_concealed_in_an_unflagged_file_is_exported_with_a_warning(tmp_path):
    """A recording with a glitch no check at open finds (a TV capture, a camera's dropped packets):
    the decoder conceals a frame. Its export stopped at that frame with an error, the whole
    recording refused for damage it already had; it now goes through, every frame as players show
    it, and the summary says where the file is damaged (the notice, set when the frame was met)."""
    from app.core.engine import inpaint_video
    from app.core.masks import MaskStore

    src = write_mpg(tmp_path / "whole.mpg")
    data = src.read_bytes()
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.pos]
    rng = np.random.default_rng(5)
    for pos, size in packets[1:-1]:
        bad = bytearray(data)
        bad[pos + size // 2:pos + size // 2 + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        path = tmp_path / "glitch.mpg"
        path.write_bytes(bytes(bad))
        with VideoReader(path) as r:
            if r.notice is not None:
                continue
            n = len(r)
            try:
                for i in range(n):
                    r.read(i)
            except VideoError:
                continue
            if r.notice and "picture data there is broken" in r.notice:
                break
    else:
        pytest.fail("no overwrite made the decoder conceal a frame")
    masks = MaskStore(n, W, H)
    masks.set(0, np.pad(np.ones((8, 8), bool), ((0, H - 8), (0, W - 8))))
    out = tmp_path / "clean.mp4"
    result = inpaint_video(path, masks, out, config=None, end=1, preset="ultrafast")
    with VideoReader(out) as r:
        assert len(r) == n
    assert any("is damaged near frame" in w and "picture data there is broken" in w for w in result.warnings), \
        result.warnings


def test_each_separate_damaged_stretch_is_found_once_whatever_the_order_of_the_reads(tmp_path, monkeypatch):
    """A recording with two glitches far apart, neither found at open: the reader looked for damage
    only until it met the first, so the second went unsaid (Inpaint's summary, the window's status
    bar). Each stretch is found and said once, with its own frames, whatever the order the frames
    are read in; a stretch met again adds nothing, and a reader keeps at most MAX_DAMAGES of them."""
    import app.core.video as video
    from app.core.engine import inpaint_video
    from app.core.masks import MaskStore

    n = 60
    path, (one, two) = write_two_glitches(tmp_path, n, W, H)

    with VideoReader(path) as r:
        assert r.notice is None and r.damages == () and r.damaged_span() is None  # (nothing found at open)
        met = []
        r.on_damage = lambda reader, damage: met.append((reader, damage))
        for i in range(n):
            r.read(i)
        assert [d[:2] for d in r.damages] == [one, two]
        assert [d.notice for d in r.damages] == [
            f"glitches.mpg is damaged near frame {one[0]}: its picture data there is broken, and frames from there to "
            f"the next keyframe show it as players do (they are read and exported as they are); copy it again from the "
            f"original, or re-export or repair it, if that matters.", r.notice]
        assert f"near frame {two[0]}:" in r.notice and r.damaged_span() == two  # (the latest: as callers knew it)
        assert met == [(r, r.damages[0]), (r, r.damages[1])]
        for i in (*range(n), *range(one[0], one[1])):  # met again: no news
            r.read(i)
        assert len(r.damages) == 2 and len(met) == 2
        cursor = r.reopen()  # (a cursor starts from what its reader found, and tells the same listener)
        assert cursor.damages == r.damages and cursor.on_damage is r.on_damage
        cursor.close()
    order = list(range(n))
    random.Random(1).shuffle(order)
    with VideoReader(path) as fresh:  # read at random by a cursor: each stretch once, the cursor's own
        other = fresh.reopen()
        try:
            for i in order:
                other.read(i)
            # (a seek into a stretch may find it from another keyframe on: the same stretch, other ends)
            found = sorted(d[:2] for d in other.damages)
            assert len(found) == 2 and all(a < d and c < b for (a, b), (c, d) in zip(found, (one, two))), found
            assert fresh.damages == ()
        finally:
            other.close()

    monkeypatch.setattr(video, "MAX_DAMAGES", 1)  # bounded: past the most kept, reads look for no more
    with VideoReader(path) as r:
        for i in (*range(n), *range(n)):
            r.read(i)
        assert [d[:2] for d in r.damages] == [one] and f"near frame {one[0]}:" in r.notice
    monkeypatch.undo()

    masks = MaskStore(n, W, H)  # the export's summary says both
    masks.set(0, np.pad(np.ones((8, 8), bool), ((0, H - 8), (0, W - 8))))
    result = inpaint_video(path, masks, tmp_path / "clean.mp4", config=None, end=1, preset="ultrafast")
    said = [w for w in result.warnings if "picture data there is broken" in w]
    assert [w.split(":")[0] for w in said] == [f"glitches.mpg is damaged near frame {f}" for f, _ in (one, two)]
