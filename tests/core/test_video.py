"""Real files through PyAV: round trips, random access, audio, odd sizes, rotation, bad files."""
import shutil
from fractions import Fraction

import av
import numpy as np
import pytest

from app.core.engine import EngineConfig, inpaint_video
from app.core.errors import OutputError, VideoError
from app.core.masks import MaskStore
from app.core.video import FrameFolderReader, VideoReader, VideoWriter, open_video, write_test_clip
from conftest import make_frames
from mediafiles import encode_audio, encode_frames


def test_round_trip_keeps_count_size_fps_audio(make_clip, tmp_path):
    src = make_clip(n=12, width=96, height=64, fps=30, audio=True)
    with VideoReader(src) as r:
        assert (len(r), r.width, r.height, r.fps, r.has_audio) == (12, 96, 64, 30.0, True)
        with VideoWriter(tmp_path / "out.mp4", r.width, r.height, fps=r.rate, audio_from=src, inputs=(src,)) as w:
            for f in r:
                w.write(f)
    with VideoReader(tmp_path / "out.mp4") as o:
        assert (len(o), o.width, o.height, o.fps, o.has_audio) == (12, 96, 64, 30.0, True)
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert c.streams.audio[0].codec_context.name == "aac"


def test_random_access_is_frame_accurate(make_clip):
    src = make_clip(n=40, width=64, height=48)
    with VideoReader(src) as r:
        seq = list(r)
        for i in (37, 3, 20, 21, 0, 39, 10):
            assert np.array_equal(r[i], seq[i]), i
        assert np.array_equal(r[-1], seq[-1])
        with pytest.raises(IndexError):
            r[40]


def test_frames_follow_the_source(make_clip):
    frames = make_frames(6, 64, 48)
    src = make_clip(n=6, width=64, height=48)
    with VideoReader(src) as r:
        for i, f in enumerate(r):
            assert np.abs(f.astype(int) - frames[i]).mean() < 8  # lossy, but the same picture


def test_running_car_round_trip(clips_dir, tmp_path):
    src = clips_dir / "running_car.mp4"
    with VideoReader(src) as r:
        assert (len(r), r.width, r.height, r.fps, r.has_audio) == (292, 972, 540, 25.0, True)
        with VideoWriter(tmp_path / "car.mp4", r.width, r.height, fps=r.rate, preset="ultrafast",
                         audio_from=src, inputs=(src,)) as w:
            for f in r:
                w.write(f)
    with VideoReader(tmp_path / "car.mp4") as o:
        assert (len(o), o.width, o.height, o.fps, o.has_audio) == (292, 972, 540, 25.0, True)
    with av.open(str(src)) as a, av.open(str(tmp_path / "car.mp4")) as b:
        da, db = float(a.streams.audio[0].duration * a.streams.audio[0].time_base), \
            float(b.streams.audio[0].duration * b.streams.audio[0].time_base)
        assert abs(da - db) < 0.05


def test_odd_size_is_padded_to_even(tmp_path):
    frames = [np.ascontiguousarray(f[:47, :63]) for f in make_frames(4, 64, 48)]
    with VideoWriter(tmp_path / "odd.mp4", 63, 47, fps=25) as w:
        for f in frames:
            w.write(f)
    with VideoReader(tmp_path / "odd.mp4") as r:
        assert (len(r), r.width, r.height) == (4, 64, 48)


def test_variable_frame_rate_counts_every_frame(tmp_path):
    path = tmp_path / "vfr.mp4"
    frames = make_frames(10, 64, 48)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = pts, Fraction(1, 1000)
            pts += 20 if i % 2 else 50  # alternating frame durations
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    with VideoReader(path) as r:
        assert len(r) == 10
        seq = list(r)
        assert np.array_equal(r[7], seq[7]) and np.array_equal(r[2], seq[2])


def test_rotation_metadata_is_applied(tmp_path):
    frames = make_frames(3, 64, 48)
    path = write_test_clip(tmp_path / "rot.mp4", frames, rotation=90)
    with VideoReader(path) as r:
        assert (r.width, r.height) == (48, 64)
        assert np.abs(r[0].astype(int) - np.rot90(frames[0])).mean() < 10


@pytest.mark.parametrize("degrees,turns", [(44, 0), (-91, 3), (136, 2)])
def test_a_rotation_between_quarter_turns_is_read_as_the_nearest(tmp_path, degrees, turns):
    """A damaged display matrix (found by the fuzz test) said 45-odd degrees: opening the file
    raised KeyError. Players show the nearest quarter turn; so does the reader."""
    frames = make_frames(3, 64, 48)
    path = write_test_clip(tmp_path / "rot.mp4", frames, rotation=degrees)
    with VideoReader(path) as r:
        assert np.abs(r[0].astype(int) - np.rot90(frames[0], turns)).mean() < 10


def test_frame_folder(tmp_path):
    import cv2

    for i, f in enumerate(make_frames(5, 40, 30)):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), f[..., ::-1])
    r = open_video(tmp_path, fps=12)
    assert isinstance(r, FrameFolderReader) and (len(r), r.width, r.height, r.fps) == (5, 40, 30, 12.0)
    assert np.array_equal(r[2], make_frames(5, 40, 30)[2])


def test_unreadable_and_truncated(tmp_path, make_clip):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoError, match="Cannot open"):
        VideoReader(bad)
    with pytest.raises(VideoError, match="does not exist"):
        VideoReader(tmp_path / "missing.mp4")
    src = make_clip(n=20, width=64, height=48)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(VideoError):
        r = VideoReader(cut)
        list(r)


def test_truncated_tail_of_a_streamable_file(tmp_path):
    """A file whose index comes first (faststart) but whose data is cut: an error at the missing frame."""
    src = write_test_clip(tmp_path / "fast.mp4", make_frames(30, 64, 48), container_options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: int(src.stat().st_size * 0.6)])
    with pytest.raises(VideoError, match="truncated|damaged|no video frames"):
        r = VideoReader(cut)
        for _ in r:
            pass


def test_writer_is_atomic_and_refuses_input(tmp_path, make_clip):
    src = make_clip(n=4, width=64, height=48)
    before = src.read_bytes()
    with pytest.raises(OutputError, match="is the input"):
        VideoWriter(src, 64, 48, inputs=(src,))
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous result")
    with pytest.raises(RuntimeError):
        with VideoWriter(target, 64, 48) as w:
            w.write(np.zeros((48, 64, 3), np.uint8))
            raise RuntimeError("crash mid-way")
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert src.read_bytes() == before


def test_unwritable_destination(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        VideoWriter(tmp_path / "no" / "such" / "dir.mp4", 64, 48)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        VideoWriter(blocker / "x.mp4", 64, 48)
    with pytest.raises(OutputError, match="is a folder"):
        VideoWriter(tmp_path, 64, 48)
    # an mp4 named .mkv or .avi: players go by the name and misread it
    for name in ("out.mkv", "out.avi", "out"):
        with pytest.raises(OutputError, match=f"^{name}: exports are MP4 or QuickTime files; end the name with .mp4"):
            VideoWriter(tmp_path / name, 64, 48)
    assert list(tmp_path.iterdir()) == [blocker]


def test_audio_reencoded_when_mp4_cannot_hold_it(tmp_path):
    """PCM audio (as in many .avi/.mov files) becomes AAC in the mp4."""
    src = tmp_path / "pcm.mov"
    frames = make_frames(10, 64, 48)
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("pcm_s16le", rate=16000)
        a.layout = "mono"
        encode_frames(out, s, frames)
        encode_audio(out, a, (np.sin(np.arange(6400) / 5) * 8000).astype(np.int16), "s16", 16000)
    with VideoReader(src) as r, VideoWriter(tmp_path / "o.mp4", 64, 48, fps=r.rate, audio_from=src) as w:
        for f in r:
            w.write(f)
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert c.streams.audio[0].codec_context.name == "aac"


def test_every_audio_track_is_kept(tmp_path):
    """A screen recording's microphone and system sound, a camera's two channels: two audio tracks.
    The export kept the first only; now both, in order, with their language (one AAC copied, one
    PCM re-encoded), each as long as the source's."""
    src = tmp_path / "two_tracks.mov"
    frames = make_frames(25, 64, 48)
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        mic = out.add_stream("aac", rate=48000)
        mic.layout = "mono"
        mic.metadata["language"] = "eng"
        system = out.add_stream("pcm_s16le", rate=16000)
        system.layout = "mono"
        encode_frames(out, s, frames)
        for stream, rate, fmt, dtype, scale in ((mic, 48000, "fltp", np.float32, 0.2),
                                                (system, 16000, "s16", np.int16, 8000)):
            encode_audio(out, stream, (np.sin(np.arange(rate) / 7) * scale).astype(dtype), fmt, rate)  # a second
    with VideoReader(src) as r, VideoWriter(tmp_path / "o.mp4", 64, 48, fps=r.rate, audio_from=src) as w:
        for f in r:
            w.write(f)
    with av.open(str(tmp_path / "o.mp4")) as c:
        tracks = c.streams.audio
        assert [t.codec_context.name for t in tracks] == ["aac", "aac"]
        assert tracks[0].language == "eng" and [t.codec_context.sample_rate for t in tracks] == [48000, 16000]
        seconds = {t.index: 0.0 for t in tracks}
        for p in c.demux(*tracks):
            if p.duration:
                seconds[p.stream.index] += float(p.duration * p.time_base)
    assert all(abs(v - 1.0) < 0.1 for v in seconds.values()), seconds


def test_output_permissions_follow_umask(tmp_path, make_clip):
    import os
    import stat

    old = os.umask(0o022)
    try:
        src = make_clip(n=3, width=64, height=48)
        with VideoReader(src) as r, VideoWriter(tmp_path / "o.mp4", 64, 48, fps=r.rate) as w:
            for f in r:
                w.write(f)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "o.mp4").stat().st_mode) == 0o644


def test_unknown_encoder_preset_is_refused_before_anything_is_written(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(OutputError, match="Unknown encoder preset 'quick'; use one of ultrafast"):
        VideoWriter(target, 64, 48, preset="quick")
    assert list(tmp_path.iterdir()) == []


def test_an_anamorphic_file_is_written_with_its_pixel_shape(tmp_path):
    """HDV's 1440x1080 (or a DVD) stores wide pictures in narrow pixels: the export kept the pixels
    and dropped their shape, so it played squeezed, 4:3 instead of 16:9."""
    src = tmp_path / "anamorphic.mp4"
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 144, 108, "yuv420p"
        s.codec_context.sample_aspect_ratio = Fraction(4, 3)
        encode_frames(out, s, make_frames(3, 144, 108))
    with VideoReader(src) as r:
        assert r.sample_aspect == Fraction(4, 3) and r.size == (144, 108)
    masks = MaskStore(3, 144, 108)
    for i in range(3):
        m = np.zeros((108, 144), bool)
        m[40:60, 50:80] = True
        masks.set(i, m)
    inpaint_video(src, masks, tmp_path / "out.mp4", config=EngineConfig(fill="telea"))
    with av.open(str(tmp_path / "out.mp4")) as c:
        st = c.streams.video[0]
        assert st.sample_aspect_ratio == Fraction(4, 3) and st.display_aspect_ratio == Fraction(16, 9)
    square = write_test_clip(tmp_path / "square.mp4", make_frames(2, 64, 48))
    with VideoReader(square) as r:
        assert r.sample_aspect is None


@pytest.mark.parametrize("keep_audio", [True, False])
def test_the_export_keeps_when_and_where_the_source_was_shot(tmp_path, keep_audio):
    """A gallery files a video by its creation time (and maps it by its location): the export
    dropped every tag, so an inpainted clip showed up as shot today, nowhere."""
    src = write_test_clip(tmp_path / "shot.mp4", make_frames(4, 64, 48), audio=True)
    tagged = tmp_path / "tagged.mp4"
    with av.open(str(src)) as inp, av.open(str(tagged), "w") as out:
        out.metadata.update({"creation_time": "2024-05-01T10:20:30.000000Z", "location": "+48.8584+002.2945/",
                             "title": "Holiday"})
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for p in inp.demux():
            if p.dts is None:
                continue
            p.stream = streams[p.stream.index]
            out.mux(p)
    with VideoReader(tagged) as r:
        assert r.metadata["creation_time"].startswith("2024-05-01T10:20:30") and "encoder" not in r.metadata
    masks = MaskStore(4, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    for i in range(4):
        masks.set(i, m)
    inpaint_video(tagged, masks, tmp_path / "out.mp4", config=EngineConfig(fill="telea"), keep_audio=keep_audio)
    with av.open(str(tmp_path / "out.mp4")) as c:
        tags = dict(c.metadata)
        assert bool(c.streams.audio) == keep_audio
    assert tags["creation_time"].startswith("2024-05-01T10:20:30") and tags["title"] == "Holiday"
    assert tags["location"] == "+48.8584+002.2945/"
    # nothing to inpaint: the streams are copied as they are, and the tags with them
    inpaint_video(tagged, MaskStore(4, 64, 48), tmp_path / "copy.mp4", config=EngineConfig(fill="telea"),
                  keep_audio=keep_audio)
    with av.open(str(tmp_path / "copy.mp4")) as c:
        assert c.metadata["title"] == "Holiday" and c.metadata["creation_time"].startswith("2024-05-01")


@pytest.mark.parametrize("order", ["tff", "bff"])
def test_interlaced_footage_is_exported_interlaced(tmp_path, order):
    """A camcorder's 1080i: coded progressive, the export told players not to deinterlace, so every
    moving edge showed both fields (combing); it is now coded interlaced with the same field first."""
    src = tmp_path / "interlaced.mp4"
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.options = {"flags": "+ildct+ilme", "x264-params": f"{order}=1"}
        encode_frames(out, s, make_frames(4, 64, 48))
    masks = MaskStore(4, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    for i in range(4):
        masks.set(i, m)
    with VideoReader(src) as r:
        assert r.field_order == order
    inpaint_video(src, masks, tmp_path / "out.mp4", config=EngineConfig(fill="telea"))
    with av.open(str(tmp_path / "out.mp4")) as c:
        frame = next(c.decode(video=0))
        assert frame.interlaced_frame and c.streams.video[0].codec_context.field_order == {"tff": 2, "bff": 3}[order]
    with VideoReader(write_test_clip(tmp_path / "progressive.mp4", make_frames(2, 64, 48))) as r:
        assert r.field_order is None


@pytest.mark.parametrize("keep_audio", [True, False])
def test_the_export_keeps_the_timecode_and_the_chapters(tmp_path, keep_audio):
    """A camera stamps its start timecode, which an editor syncs several cameras by; a long recording
    may have chapters. The export dropped both: the inpainted shot no longer lined up with the
    others. Both are kept, inpainted or copied through."""
    src = tmp_path / "camera.mov"
    tb = Fraction(1, 1000)
    with av.open(str(src), "w") as out:
        out.set_chapters([{"id": 0, "start": 0, "end": 200, "time_base": tb, "metadata": {"title": "Take 1"}},
                          {"id": 1, "start": 200, "end": 400, "time_base": tb, "metadata": {"title": "Take 2"}}])
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.metadata["timecode"] = "10:20:30:12"
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        encode_frames(out, s, make_frames(10, 64, 48))
        encode_audio(out, a, (np.sin(np.arange(6400) / 5) * 0.2).astype(np.float32), "fltp", 16000)
    with VideoReader(src) as r:
        assert r.timecode == "10:20:30:12" and [c["metadata"]["title"] for c in r.chapters] == ["Take 1", "Take 2"]
    masks = MaskStore(10, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    for i in range(10):
        masks.set(i, m)
    empty = MaskStore(10, 64, 48)
    for name, store in (("out.mp4", masks), ("copy.mp4", empty)):  # inpainted; nothing to do: copied
        inpaint_video(src, store, tmp_path / name, config=EngineConfig(fill="telea"), keep_audio=keep_audio)
        with VideoReader(tmp_path / name) as o:
            assert o.timecode == "10:20:30:12", name
            assert [(float(c["start"] * c["time_base"]), float(c["end"] * c["time_base"]), c["metadata"]["title"])
                    for c in o.chapters] == [(0.0, 0.2, "Take 1"), (0.2, 0.4, "Take 2")], name
            assert len(o) == 10 and o.has_audio == keep_audio
    with VideoReader(write_test_clip(tmp_path / "plain.mp4", make_frames(2, 64, 48))) as r:
        assert r.timecode is None and r.chapters == []


@pytest.mark.parametrize("name, fmt, codec, options, audio", [
    ("broadcast.ts", "mpegts", "libx264", {"g": "12"}, "aac"),  # a camcorder's AVCHD, a TV recording
    ("camcorder.m2ts", "mpegts", "libx264", {"g": "12"}, "ac3"),
    ("dvd.mpg", "vob", "mpeg2video", {"g": "12", "bf": "2"}, "mp2"),
    ("download.avi", "avi", "mpeg4", {"g": "12", "bf": "2", "qscale": "3"}, None),  # XviD
    ("bframes.avi", "avi", "libx264", {"g": "12"}, None),  # frames come out with other times than packets
    ("stream.flv", "flv", "libx264", {"g": "12"}, "aac"),
])
def test_reading_any_frame_of_other_containers_gives_that_frame(tmp_path, name, fmt, codec, options, audio):
    """A seek in an MPEG-TS or MPEG-PS file lands on the next keyframe, not the one before, and an AVI
    with B-frames gives its frames other times than its packets: ``read(15)`` returned frame 24, the
    STTN model got wrong reference frames, and reads near the end said the file was truncated."""
    src = tmp_path / name
    frames = make_frames(72, 128, 72)
    with av.open(str(src), "w", format=fmt) as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 128, 72, "yuv420p"
        s.options = options
        if codec == "mpeg4":
            s.codec_tag = "XVID"
        a = out.add_stream(audio, rate=48000) if audio else None
        if a is not None:
            a.layout = "mono"
        encode_frames(out, s, frames)
        if a is not None:
            samples = np.sin(np.arange(48000 * 3) / 9) * 0.2
            if audio == "mp2":
                encode_audio(out, a, (samples * 8000).astype(np.int16), "s16", 48000, chunk=1152)
            else:
                encode_audio(out, a, samples.astype(np.float32), "fltp", 48000, chunk=1536 if audio == "ac3" else 1024)
    with VideoReader(src) as r:
        assert len(r) == 72
        in_order = list(r)
        for i in (15, 3, 12, 40, 25, 61, 70, 71, 33, 5, 50, 0):
            cursor = r.reopen()  # a fresh cursor: every read seeks
            try:
                assert np.array_equal(cursor.read(i), in_order[i]), i
            finally:
                cursor.close()


def test_a_matroska_recording_with_nothing_to_remove_is_not_copied_broken(tmp_path):
    """OBS records H.264 with B-frames into .mkv, whose packets carry no decode times; the copy made
    when the mask is empty dropped them and wrote an mp4 in which no frame decodes. It is encoded
    instead (and so is a codec players do not expect in an mp4, here MJPEG)."""
    frames = make_frames(20, 64, 48)
    mkv = tmp_path / "obs.mkv"
    with av.open(str(mkv), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        encode_frames(out, s, frames)
    mjpeg = tmp_path / "camera.avi"
    with av.open(str(mjpeg), "w") as out:
        s = out.add_stream("mjpeg", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        encode_frames(out, s, frames)
    for src in (mkv, mjpeg):
        out = tmp_path / f"{src.stem}.mp4"
        result = inpaint_video(src, MaskStore(20, 64, 48), out, config=EngineConfig(fill="telea"))
        assert "copied through unchanged" in result.warnings[0]
        with av.open(str(out)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
        with VideoReader(out) as r, VideoReader(src) as a:
            err = np.abs(r[19].astype(int) - a[19]).mean()
            assert len(r) == 20 and err < 8 and err < np.abs(r[19].astype(int) - a[9]).mean() / 2


def test_a_file_cut_inside_a_frame_reads_every_whole_frame(tmp_path):
    """Cut off inside a frame's packet (where the cut lands depends on the bytes before it, so the
    same half-way cut fell between packets or inside one as x264 wrote the file): the demuxer hands
    over the part there is, which the decoder refused, so reading the last frames raised "damaged at
    frame 26" for a file whose length the reader itself gave. Every frame it counts must read, in
    order and at random, and be the whole file's frame with that timestamp."""
    src = tmp_path / "whole.mp4"
    with av.open(str(src), "w", options={"movflags": "faststart"}) as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        encode_frames(out, s, make_frames(40, 64, 48))
    data = src.read_bytes()
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]
    with VideoReader(src) as r:
        whole = {t: r.read(i) for i, t in enumerate(r._pts)}
    cut = tmp_path / "cut.mp4"
    for k in (17, 18, 19, len(packets) - 1):  # (inside a B-frame, a P-frame..., and the file's last packet)
        pos, size = packets[k]
        cut.write_bytes(data[:pos + size // 2])
        with VideoReader(cut) as r:
            n = len(r)
            assert n == k and r.notice.startswith(f"cut.mp4 ends early: {k} of its 40 frames can be read")
            for i in [*range(n), n - 1, 2, n - 2, 0, n // 2]:
                assert np.array_equal(r.read(i), whole[r._pts[i]]), (k, i)


def test_a_cut_off_download_says_so_and_its_torn_audio_is_left_out(tmp_path):
    """An mp4 with its index at the front (web and phone files), cut off half-way: it read and
    exported what was there without a word, and copied the torn last audio packet, at which players
    stop the sound."""
    src = tmp_path / "whole.mp4"
    with av.open(str(src), "w", options={"movflags": "faststart"}) as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        encode_frames(out, s, make_frames(60, 64, 48))
        encode_audio(out, a, (np.sin(np.arange(16000 * 3) / 5) * 0.2).astype(np.float32), "fltp", 16000)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[:src.stat().st_size // 2])
    with VideoReader(src) as r:
        assert r.notice is None
    with VideoReader(cut) as r:
        n = len(r)
        assert 10 < n < 60 and r.notice == (f"cut.mp4 ends early: {n} of its 60 frames can be read (an interrupted "
                                            f"download or copy?); the export has the {n} there are.")
    masks = MaskStore(n, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    for i in range(n):
        masks.set(i, m)
    result = inpaint_video(cut, masks, tmp_path / "out.mp4", config=EngineConfig(fill="telea"))
    assert any("ends early" in w for w in result.warnings)
    with av.open(str(tmp_path / "out.mp4")) as c:
        for packet in c.demux(c.streams.audio[0]):
            packet.decode()  # (raised at the torn packet)


def write_with_subtitles(path, tracks, fmt=None, n=20):
    """H.264 frames with text subtitle ``tracks`` [(codec, language, [(start ms, end ms, payload)])]."""
    from app.core.video import MOV_TEXT_HEADER

    with av.open(str(path), "w", format=fmt) as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.options = {"x264-params": "keyint=5:min-keyint=5:scenecut=0"}
        subs = []
        for codec, language, _ in tracks:
            st = out.add_stream(codec)
            st.codec_context.subtitle_header = MOV_TEXT_HEADER
            st.metadata["language"] = language
            subs.append(st)
        encode_frames(out, s, make_frames(n, 64, 48))
        for st, (_, _, cues) in zip(subs, tracks):
            for start, end, payload in cues:
                p = av.Packet(payload)
                p.stream, p.time_base, p.pts, p.dts, p.duration = st, Fraction(1, 1000), start, start, end - start
                out.mux(p)
    return path


def subtitles_of(path) -> list:
    """[(codec, language, [(start s, end s, text)])] of a file's subtitle tracks (mov_text's text
    unwrapped; the empty samples the muxer puts between cues left out)."""
    out = []
    with av.open(str(path)) as c:
        count = len(c.streams.subtitles)
    for k in range(count):
        with av.open(str(path)) as c:  # (one pass each: a demux reads the file to its end)
            st = c.streams.subtitles[k]
            cues = []
            for p in c.demux(st):
                raw = bytes(p)
                if len(raw) > 2:
                    cues.append((round(float(p.pts * p.time_base), 3), round(float((p.pts + p.duration) * p.time_base), 3),
                                 raw[2:2 + int.from_bytes(raw[:2], "big")].decode()))
            out.append((st.codec_context.name, st.language, cues))
    return out


def test_text_subtitles_are_kept_as_mp4_timed_text(tmp_path):
    """A download's .mkv carries SubRip or ASS subtitles, a phone or an editor's .mp4 timed text;
    exports left them all out. They are kept as mp4 timed text, each track with its language, over
    every export path: encoded, copied by GOP, copied whole."""
    mkv = write_with_subtitles(tmp_path / "film.mkv", [
        ("subrip", "eng", [(0, 300, b"<i>Hello</i> there"), (400, 700, b"General Kenobi")]),
        ("ass", "fra", [(100, 500, b"0,0,Default,,0,0,0,,{\\i1}Bonjour{\\i0}\\Nla compagnie")]),
    ])
    mov_text = MaskStore(20, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    mov_text.set(7, m)
    expected = [("mov_text", "eng", [(0.0, 0.3, "Hello there"), (0.4, 0.7, "General Kenobi")]),
                ("mov_text", "fra", [(0.1, 0.5, "Bonjour\nla compagnie")])]
    result = inpaint_video(mkv, mov_text, tmp_path / "film.mp4", config=EngineConfig(fill="telea"))
    assert result.copied == 0 and subtitles_of(tmp_path / "film.mp4") == expected
    # an mp4 with timed text: by GOP (frame 7's GOP encoded, the rest copied), whole, and as it is
    mp4 = write_with_subtitles(tmp_path / "phone.mp4", [("mov_text", "deu", [
        (0, 300, len(b"Hallo").to_bytes(2, "big") + b"Hallo")])])
    kept = [("mov_text", "deu", [(0.0, 0.3, "Hallo")])]
    result = inpaint_video(mp4, mov_text, tmp_path / "gops.mp4", config=EngineConfig(fill="telea"))
    assert result.copied == 15 and subtitles_of(tmp_path / "gops.mp4") == kept
    inpaint_video(mp4, mov_text, tmp_path / "whole.mp4", config=EngineConfig(fill="telea"), copy_unchanged=False,
                  keep_audio=False)
    assert subtitles_of(tmp_path / "whole.mp4") == kept
    inpaint_video(mp4, MaskStore(20, 64, 48), tmp_path / "copy.mp4", config=EngineConfig(fill="telea"))
    assert subtitles_of(tmp_path / "copy.mp4") == kept
    with VideoReader(tmp_path / "gops.mp4") as r:
        assert len(r) == 20
