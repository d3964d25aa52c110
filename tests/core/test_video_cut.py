"""Videos cut off (an interrupted copy, download or recording) and damaged mid-file, in every
container users bring: either a one-line VideoError saying what to do, or a length n whose every
frame 0..n-1 reads, in order and at random, is the whole file's frame with that timestamp, and
exports (fill="telea") as n frames with sound that decodes to its end."""
import random

import av
import cv2
import numpy as np
import pytest

from app.core.engine import EngineConfig, inpaint_video
from app.core.errors import VideoError
from app.core.masks import MaskStore
from app.core.video import VideoReader, open_video
from conftest import make_frames
from mediafiles import encode_audio, encode_frames

N, W, H = 30, 64, 48
#: name: (suffix, video encoder, its options, audio encoder, container options)
CONTAINERS = {
    "mp4-faststart": (".mp4", "libx264", {}, "aac", {"movflags": "faststart"}),
    "mov": (".mov", "libx264", {}, "aac", {"movflags": "faststart"}),
    "mkv": (".mkv", "libx264", {}, "aac", {}),
    "webm-vp8": (".webm", "libvpx", {"g": "10", "deadline": "realtime", "cpu-used": "8"}, "libopus", {}),
    "webm-vp9": (".webm", "libvpx-vp9", {"g": "10", "deadline": "realtime", "cpu-used": "8"}, "libopus", {}),
    "ts": (".ts", "libx264", {}, "aac", {}),
    "mpeg-ps": (".mpg", "mpeg2video", {"g": "10", "bf": "2", "qscale": "3"}, "mp2", {}),  # (open GOPs)
    "avi": (".avi", "mpeg4", {"g": "10", "qscale": "3"}, "mp3", {}),  # (with B-frames: the tests below)
}
#: containers that say how long the video is: a cut file is said to end early (MP4 / MOV: frame count,
#: Matroska / WebM: duration)
SAY_LENGTH = {"mp4-faststart", "mov", "mkv", "webm-vp8", "webm-vp9"}
X264 = {"x264-params": "keyint=10:min-keyint=10:scenecut=0:bframes=2:threads=1"}
AUDIO = {"aac": (16000, "fltp", 1024), "libopus": (48000, "s16", 960), "mp3": (16000, "s16p", 1152),
         "mp2": (48000, "s16", 1152)}
#: its muxer writes the sound where it is given, after all the frames here: a cut loses it first
SOUND_LAST = {"mpeg-ps"}


def write(path, vcodec, voptions, acodec, options):
    """N frames, a keyframe every 10, with a tone as long as the video."""
    with av.open(str(path), "w", options=options) as out:
        s = out.add_stream(vcodec, rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = X264 if vcodec == "libx264" else {"threads": "1", **voptions}
        rate, fmt, chunk = AUDIO[acodec]
        a = out.add_stream(acodec, rate=rate)
        a.layout = "mono"
        encode_frames(out, s, make_frames(N, W, H, seed=1))
        tone = np.sin(np.arange(rate * N // 25) / 5) * 0.2
        encode_audio(out, a, (tone * 32767).astype(np.int16) if fmt.startswith("s16") else tone.astype(np.float32),
                     fmt, rate, chunk=chunk)
    return path


def cut_points(path) -> dict:
    """Byte offsets to cut at: in the header, between two packets, inside a keyframe, a P-frame, a
    B-frame (a packet shown before the one decoded before it) and the last packet."""
    with av.open(str(path)) as c:
        pk = [(p.pos, p.size, p.is_keyframe, p.pts) for p in c.demux(c.streams.video[0]) if p.size and p.pos]
    inside = lambda p: p[0] + p[1] // 2  # noqa: E731
    later = [p for p in pk if not p[2]]
    bs = [p for i, p in enumerate(pk[1:], 1) if not p[2] and p[3] < pk[i - 1][3]]
    keys = [p for p in pk if p[2]]
    points = {"header": 100, "between": pk[len(pk) // 2][0], "in-P": inside(later[len(later) // 3]),
              "in-last": inside(pk[-1])}
    if len(keys) > 1:  # (an MPEG-PS packet that starts in the middle of a pack has no position: not cut there)
        points["in-key"] = inside(keys[1])
    if bs:
        points["in-B"] = inside(bs[len(bs) // 2])
    return points


def masks_for(n):
    m = np.zeros((H, W), bool)
    m[10:20, 10:30] = True
    store = MaskStore(n, W, H)
    for i in range(n):
        store.set(i, m)
    return store


def check_reads_and_exports(cut, whole, tmp_path, label):
    """Every counted frame reads in order and at random and is ``whole``'s frame with its timestamp;
    the export has them all, and its sound decodes to its end, near the last frame's."""
    try:
        r = VideoReader(cut)
    except VideoError as exc:
        assert "\n" not in str(exc) and "; " in str(exc), (label, str(exc))  # (one line, then what to do)
        return None
    with r:
        n = len(r)
        assert 0 < n < N, label
        seq = [r.read(i) for i in range(n)]
        for i in range(n):
            assert np.array_equal(seq[i], whole[r._pts[i]]), (label, i)
        for i in [n - 1, 0, n // 2, *random.Random(n).sample(range(n), min(n, 6))]:
            assert np.array_equal(r.read(i), seq[i]), (label, "at random", i)
        last, notice = r.frame_times()[-1], r.notice
    out = tmp_path / "out.mp4"
    result = inpaint_video(cut, masks_for(n), out, config=EngineConfig(fill="telea"))
    assert notice is None or notice in result.warnings
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == n, label
    with av.open(str(out)) as c:
        end = 0.0
        for packet in c.demux(c.streams.audio[0]):
            for f in packet.decode():  # (raises at a damaged packet)
                end = max(end, float(f.pts * f.time_base) + f.samples / f.sample_rate)
    assert end > last - 0.25 or label.split()[0] in SOUND_LAST, (label, end, last)  # (to about the last frame)
    return n, notice


@pytest.mark.parametrize("name", list(CONTAINERS))
def test_a_file_cut_anywhere_reads_every_frame_it_counts(tmp_path, name):
    """A transport or program stream cut inside a frame's packet read that packet as a whole frame
    (the demuxer does not mark it corrupt): the last frame was half grey, and exported so. A Matroska / WebM file
    cut off was read and exported short without a word."""
    suffix, vcodec, voptions, acodec, options = CONTAINERS[name]
    if vcodec not in av.codecs_available or acodec not in av.codecs_available:
        pytest.skip(f"this PyAV has no {vcodec} / {acodec} encoder")
    src = write(tmp_path / f"whole{suffix}", vcodec, voptions, acodec, options)
    with VideoReader(src) as r:
        assert len(r) == N and r.notice is None
        whole = {t: r.read(i) for i, t in enumerate(r._pts)}
    data = src.read_bytes()
    counts = {}
    for label, pos in cut_points(src).items():
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(data[:pos])
        counts[label] = check_reads_and_exports(cut, whole, tmp_path, f"{name} {label}")
    assert counts.pop("header") is None
    assert all(counts.values()), counts  # (the frames before the cut are there)
    if name in SAY_LENGTH:  # (one frame short: a Matroska file's duration cannot tell it from a long last frame)
        assert all(f"cut{suffix} ends early: {n} " in notice for k, (n, notice) in counts.items()
                   if name.startswith("mp4") or name == "mov" or k != "in-last"), counts


def test_an_mp4_cut_before_its_index_says_so_in_one_line(tmp_path):
    """An MP4 whose index (moov) is written last, as cameras and plain exports do, cut anywhere: no
    frame can be found. It said "Cannot open ... (Invalid data found when processing input: ...);
    is it a complete video file?", and a web file cut inside its index "has no video stream; pick a
    video file"."""
    plain = write(tmp_path / "plain.mp4", "libx264", {}, "aac", {})
    fast = write(tmp_path / "fast.mp4", "libx264", {}, "aac", {"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    moov = plain.read_bytes().rfind(b"moov") - 4
    for src, at in ((plain, plain.stat().st_size // 2), (plain, moov), (plain, moov + 40), (fast, 100)):
        cut.write_bytes(src.read_bytes()[:at])
        with pytest.raises(VideoError) as err:
            VideoReader(cut)
        message = str(err.value)
        assert "\n" not in message and "is truncated: cut off before the end of its index" in message
        assert "copy or download it again" in message
    with pytest.raises(VideoError, match="Cannot open"):  # (not an MP4 at all: no word of an index)
        (tmp_path / "junk.mp4").write_bytes(b"\x00" * 1000)
        VideoReader(tmp_path / "junk.mp4")


def test_an_avi_with_b_frames_cut_between_packets_reads_its_frames_in_place(tmp_path):
    """MPEG-4 ASP (XviD, DivX) in AVI with B-frames, cut after a P-frame and before all the B-frames
    shown before it: AVI keeps no presentation times, and FFmpeg guessed the P-frame's one frame
    early, so that it was read (and exported) in a lost B-frame's place. It is left out."""
    src = write(tmp_path / "whole.avi", "mpeg4", {"g": "10", "bf": "2", "qscale": "3"}, "mp3", {})
    with VideoReader(src) as r:
        whole = {t: r.read(i) for i, t in enumerate(r._pts)}
    data = src.read_bytes()
    with av.open(str(src)) as c:  # (decode order: each P-frame's packet is followed by its two B-frames')
        order = [(p.pos, p.size, p.pts) for p in c.demux(c.streams.video[0]) if p.size]
    shown_after = [k for k, p in enumerate(order) if all(p[2] > q[2] for q in order[:k])]  # (I- and P-frames)
    cuts = [k for k in range(1, len(order) - 1) if k - 1 in shown_after and k not in shown_after
            and k + 1 not in shown_after]
    assert len(cuts) > 3, order  # (after a P-frame and one of its B-frames: the other B-frame is lost)
    for k in cuts[:4]:
        cut = tmp_path / "cut.avi"
        cut.write_bytes(data[:order[k][0] + order[k][1]])
        n, notice = check_reads_and_exports(cut, whole, tmp_path, f"avi cut after packet {k}")
        assert notice is not None and "cut.avi is cut off" in notice


def test_an_avi_with_b_frames_reads_every_frame_after_any_other(tmp_path):
    """Frame j read after frame i, for every i and j, of an AVI with B-frames (its GOPs open: the
    B-frames after a keyframe in the file are shown before it): a jump back into the two frames
    before a keyframe seeked to that keyframe and counted from it as though they came after it, so
    that the frame read was a later one (143 of the 900 reads were wrong, 12 said the file ends early)."""
    src = write(tmp_path / "whole.avi", "mpeg4", {"g": "10", "bf": "2", "qscale": "3"}, "mp3", {})
    with VideoReader(src) as r:
        seq = [r.read(i) for i in range(len(r))]
    n = len(seq)
    wrong = []
    for i in range(n):
        with VideoReader(src) as r:
            for j in range(n):
                r.read(i)
                if not np.array_equal(r.read(j), seq[j]):
                    wrong.append((i, j))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_a_frame_folder_whose_last_image_is_cut_says_which(tmp_path, ext):
    """A frame folder copied with its last image cut off: a PNG was refused only when the export
    reached it, a JPEG was read with its lower part grey and exported so."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(make_frames(6, W, H)):
        cv2.imwrite(str(folder / f"{i:03d}.{ext}"), f[..., ::-1])
    last = folder / f"005.{ext}"
    last.write_bytes(last.read_bytes()[:last.stat().st_size // 2])
    with pytest.raises(VideoError) as err:
        with open_video(folder) as r:
            r.read(5)
    message = str(err.value)
    assert "\n" not in message and "005." + ext in message and "replace or remove it" in message


@pytest.mark.parametrize("suffix", [".mp4", ".ts"])
def test_garbage_in_the_middle_gives_a_notice_or_one_line(tmp_path, suffix):
    """A few KB overwritten with garbage mid-file. An MP4's decoder refuses the damaged packet: that
    stopped the export with a one-line error at that frame; the frames lost now show the one before
    and the export's summary says where (``tests/core/test_video_refused.py``). A transport stream marks
    it corrupt: its frames are read with a notice naming where (it exported a few frames short without
    a word, or failed with "Finishing out.mp4 failed (Invalid data ...); is the disk full?" at the
    damaged sound). A one-line error stays allowed (a file the reader refuses at open)."""
    options = {"movflags": "faststart"} if suffix == ".mp4" else {}
    src = write(tmp_path / f"whole{suffix}", "libx264", {}, "aac", options)
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(0)
    packets = _video_packets(src)
    for at in (len(packets) // 3, len(packets) // 2):  # (from a frame's first byte: where its encoding starts)
        bad = bytearray(data)
        pos = packets[at][0]
        bad[pos:pos + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
        damaged = tmp_path / f"damaged{suffix}"
        damaged.write_bytes(bytes(bad))
        out = tmp_path / "out.mp4"
        try:
            with VideoReader(damaged) as r:
                n, notice = len(r), r.notice
            result = inpaint_video(damaged, masks_for(n), out, config=EngineConfig(fill="telea"))
        except VideoError as exc:
            assert "\n" not in str(exc) and "damaged" in str(exc) and "repair" in str(exc), str(exc)
            assert "avcodec" not in str(exc) and "()" not in str(exc), str(exc)  # (FFmpeg's function names)
            assert not out.exists()
            continue
        said = [w for w in result.warnings if "is damaged near frame" in w]  # (never silently short)
        assert said and (notice is None or notice in said), (at, n, result.warnings)
        with av.open(str(out)) as c:
            assert sum(1 for _ in c.decode(video=0)) == n


def _video_packets(path) -> list:
    """(position, size, keyframe) of each video packet with data and a known position, in file order."""
    with av.open(str(path)) as c:
        return [(p.pos, p.size, p.is_keyframe) for p in c.demux(c.streams.video[0]) if p.size and p.pos is not None]


def test_a_damaged_mp4_frame_is_said_in_our_words(tmp_path):
    """An MP4 whose frame data is overwritten mid-file (a bad sector, a broken copy): reading got
    there raised "... is damaged at frame 14 (Invalid data found when processing input:
    'avcodec_send_packet()'); re-export or repair it.": FFmpeg's function name in a user's message.
    The decoder refuses the packet; the read now goes on (the frames lost show the one before,
    ``tests/core/test_video_refused.py``) and says so in our words, in the notice."""
    src = write(tmp_path / "whole.mp4", "libx264", {}, "aac", {"movflags": "faststart"})
    packets = _video_packets(src)
    k = len(packets) // 2
    pos = packets[k][0]
    data = bytearray(src.read_bytes())
    data[pos:pos + 4] = b"\x7f\xff\xff\xff"  # (its first NAL unit's length: far past the packet's end)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    with VideoReader(bad) as r:
        for i in range(len(r)):
            r.read(i)
        message = r.notice or ""
    assert "\n" not in message and message.startswith(f"{bad.name} is damaged near frame "), message
    near = int(message.split("near frame ")[1].split()[0].rstrip(":"))
    assert abs(near - k) <= 3, (near, k)  # (in decode order; B-frames move it a frame or two)
    assert "copy it again from the original" in message and "repair" in message
    for word in ("avcodec", "()", "Errno", "Invalid data"):
        assert word not in message, message


def test_ffmpegs_errors_are_given_by_their_reason_alone():
    """Every message that carries an FFmpeg error's text takes it through ``short``: not the
    function PyAV names after it, nor a path the message names already, nor the error number."""
    from app.core.errors import short
    exc = av.error.InvalidDataError(1094995529, "Invalid data found when processing input", "avcodec_send_packet()")
    assert short(exc) == "Invalid data found when processing input"
    exc = av.error.ExternalError(542398533, "Generic error in an external library",
                                 'avcodec_open2("libx265", {\'crf\': \'2\'})')
    assert short(exc) == "Generic error in an external library (libx265)"  # (which encoder would not start)
    with pytest.raises(av.error.FFmpegError) as err:
        av.open("/nonexistent/folder/clip.mp4")
    assert short(err.value) == "No such file or directory"
    assert short(OSError(28, "No space left on device")) == "No space left on device"


def test_a_transport_stream_cut_inside_its_last_frame_says_cut_off(tmp_path):
    """A .ts cut inside its last frame's data (an interrupted recording or download) said "is damaged
    after frame 20", or nothing (the demuxer drops a 188-byte packet the file ends inside, and a
    frame all in it, without a word); other containers say they were cut off."""
    src = write(tmp_path / "whole.ts", "libx264", {}, "aac", {})
    with VideoReader(src) as r:
        whole = {t: r.read(i) for i, t in enumerate(r._pts)}
    data = src.read_bytes()
    packets = _video_packets(src)
    last, key = packets[-1], [p for p in packets if p[2]][-1]
    cuts = {"inside the last frame": last[0] + min(100, last[1] - 1)}  # (a PES starts a 188-byte packet: not on one)
    if key[1] > 188:  # (on a packet's edge inside the last keyframe: its frame torn, the file whole to there)
        cuts["on a 188-byte edge in the last keyframe"] = key[0] + 188
    for label, at in cuts.items():
        cut = tmp_path / "cut.ts"
        cut.write_bytes(data[:at])
        n, notice = check_reads_and_exports(cut, whole, tmp_path, label)
        assert notice is not None and notice.startswith("cut.ts is cut off (an interrupted download or copy?)"), \
            (label, notice)
        assert "damaged" not in notice and f"the export has the {n} whole frames" in notice, (label, notice)


@pytest.mark.parametrize("name", ["mpeg-ps", "ts", "avi"])
def test_a_file_cut_in_its_header_says_it_is_cut_off(tmp_path, name):
    """An MPEG program stream cut inside its header said "has no video stream; pick a video file" or
    "contains no video frames; is the file truncated?" (by where the cut fell); a transport stream
    or AVI "Cannot open ... (Invalid data found when processing input: '...'); is it a complete
    video file?". Each now says it is cut off and what to do, cut anywhere from its first bytes
    to the end of its first frame (an .mpg cut at the edge of one of the frame's slices read as one
    whole frame, its lower part missing)."""
    suffix, vcodec, voptions, acodec, options = CONTAINERS[name]
    src = write(tmp_path / f"whole{suffix}", vcodec, voptions, acodec, options)
    data = src.read_bytes()
    pos, size, _ = _video_packets(src)[0]
    cut = tmp_path / f"cut{suffix}"
    # (from the first 12 bytes, which tell the kind of file, to the first frame; in it, at every byte)
    for at in sorted({*range(12, pos, max(1, pos // 40)), *range(pos, pos + size)}):
        cut.write_bytes(data[:at])
        with pytest.raises(VideoError) as err:
            VideoReader(cut)
        message = str(err.value)
        assert "\n" not in message and message.startswith(f"{cut} is not a complete video: "), (at, message)
        assert f"cut off before its first whole frame ({at} bytes; an interrupted download or copy?); copy or " \
               f"download it again." in message, (at, message)


def test_an_mpeg_program_stream_cut_inside_a_frame_says_cut_off_not_damaged(tmp_path):
    """An .mpg cut inside a pack: its demuxer marks every frame of the pack's data corrupt, and the
    file was said to be "damaged near frame 10: frames from there may show blocks or be missing"."""
    suffix, vcodec, voptions, acodec, options = CONTAINERS["mpeg-ps"]
    src = write(tmp_path / f"whole{suffix}", vcodec, voptions, acodec, options)
    with VideoReader(src) as r:
        whole = {t: r.read(i) for i, t in enumerate(r._pts)}
    data = src.read_bytes()
    packets = _video_packets(src)
    cut = tmp_path / "cut.mpg"
    for k, (pos, size, _) in enumerate(packets[1:], 1):  # (each pack of video after the first, cut in its middle)
        cut.write_bytes(data[:pos + size // 2])
        n, notice = check_reads_and_exports(cut, whole, tmp_path, f"mpeg-ps in packet {k}")
        assert notice is not None and "cut.mpg is cut off" in notice and "damaged" not in notice, (k, notice)
