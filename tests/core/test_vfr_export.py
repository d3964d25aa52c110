"""Variable-frame-rate sources (phone footage): an export shows every frame when the source does,
so the picture stays in sync with the sound. Real files through PyAV, read back as a player would."""
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from app.cli import main
from app.core.config import EngineConfig
from app.core.engine import inpaint_video
from app.core.video import FrameTiming, VideoReader, VideoWriter, open_video, probe
from vfrclip import audio_span, click_time, flash_time, video_times, write_vfr_clip

# 12 frames of 20 ms then 12 of 60 ms: at the average rate (25 fps) frame 12 would be shown at
# 0.48 s instead of 0.24 s, a quarter of a second after its sound.
DURATIONS = [20] * 12 + [60] * 12
TICK = 0.001  # the clips' time base
AAC_FRAME = 1024 / 44100


@pytest.fixture
def vfr_clip(tmp_path):
    return write_vfr_clip(tmp_path / "phone.mp4", DURATIONS, flash=12, click_ms=240)


@pytest.fixture
def mask(tmp_path):
    m = np.zeros((48, 64), np.uint8)
    m[4:14, 4:20] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), m)
    return tmp_path / "mask.png"


def assert_same_timing(out, src, tol=TICK):
    got, want = video_times(out), video_times(src)
    assert len(got) == len(want)
    assert max(abs(a - b) for a, b in zip(got, want)) <= tol + 1e-9, list(zip(got, want))


def assert_same_audio(out, src):
    (s0, d0), (s1, d1) = audio_span(src), audio_span(out)
    assert abs(s0 - s1) <= TICK and abs(d0 - d1) <= TICK


def test_the_reader_gives_each_frames_time_and_tells_a_variable_rate(vfr_clip, make_clip, tmp_path):
    with VideoReader(vfr_clip) as r:
        assert r.variable_rate
        assert r.frame_times() == pytest.approx(np.cumsum([0] + DURATIONS[:-1]) / 1000, abs=1e-9)
        assert r.timing.start == 0 and len(r.timing) == 24
    assert probe(vfr_clip)["variable_rate"] is True
    with VideoReader(make_clip(n=6, fps=25)) as r:
        assert not r.variable_rate and r.frame_times() == pytest.approx([i / 25 for i in range(6)])
    # One tick of jitter (29.97 fps on a 1/1000 time base: 33, 33, 34 ms) is still a constant rate.
    assert not FrameTiming(Fraction(1, 1000), [0, 33, 67, 100, 133, 167]).variable
    assert FrameTiming(Fraction(1, 1000), [0, 20, 70, 90, 140]).variable
    (tmp_path / "frames").mkdir()  # (a folder of its own: one that holds videos is no frame folder)
    for i, f in enumerate(np.zeros((3, 8, 8, 3), np.uint8)):
        cv2.imwrite(str(tmp_path / "frames" / f"{i}.png"), f)
    folder = open_video(tmp_path / "frames", fps=10)
    assert folder.timing is None and not folder.variable_rate and folder.frame_times() == [0, 0.1, 0.2]


def test_cli_inpaint_keeps_every_frames_time_and_the_audio(vfr_clip, mask, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    assert main(["inpaint", str(vfr_clip), "--mask", str(mask), "-o", str(out), "--fill", "telea"]) == 0, \
        capsys.readouterr().err
    assert_same_timing(out, vfr_clip)
    assert_same_audio(out, vfr_clip)


def test_a_flash_stays_on_its_click(vfr_clip, mask, tmp_path):
    """The sync a viewer sees: a white frame at 0.24 s and a click at 0.24 s stay together
    (written at an even 25 fps the frame came 190 ms after its click)."""
    assert flash_time(vfr_clip) == pytest.approx(0.24) and click_time(vfr_clip) == pytest.approx(0.24, abs=1e-3)
    out = inpaint_video(vfr_clip, mask, tmp_path / "out.mp4", config=EngineConfig(fill="telea")).output
    assert flash_time(out) == pytest.approx(0.24, abs=TICK)
    assert abs(flash_time(out) - click_time(out)) < 0.002


def test_a_sub_range_export_keeps_the_times_of_every_frame(vfr_clip, mask, tmp_path):
    """Frames outside [start, end) are copied through: the file is the whole clip, on the source's clock."""
    res = inpaint_video(vfr_clip, mask, tmp_path / "out.mp4", config=EngineConfig(fill="telea"), start=8, end=16)
    assert res.frames == 24 and res.inpainted == 8
    assert_same_timing(res.output, vfr_clip)
    assert_same_audio(res.output, vfr_clip)


def packets(path):
    with av.open(str(path)) as c:
        return [(p.stream.type, p.pts, p.dts, p.duration) for p in c.demux() if p.size]


def test_a_constant_rate_source_is_written_as_before(make_clip, tmp_path):
    """Frame i at i / fps, on the same stream time base: the timing changes nothing there."""
    src = make_clip(n=10, fps=25, audio=True)
    outs = []
    for timing in (False, True):
        with VideoReader(src) as r, VideoWriter(tmp_path / f"o{timing}.mp4", r.width, r.height, fps=r.rate,
                                                audio_from=src, timing=r.timing if timing else None) as w:
            for f in r:
                w.write(f)
        outs.append(tmp_path / f"o{timing}.mp4")
    assert packets(outs[0]) == packets(outs[1])
    assert video_times(outs[1]) == pytest.approx([i / 25 for i in range(10)], abs=1e-9)


def test_a_clock_that_starts_late_keeps_sound_and_picture_together(tmp_path):
    """An MPEG-TS clock starts anywhere: the export starts at the earlier of the two streams and
    keeps the distance between them (mp4's 1 ms edit lists round a late start)."""
    src = write_vfr_clip(tmp_path / "cam.ts", DURATIONS, flash=12, click_ms=740, fmt="mpegts", start_ms=500,
                         audio_start_ms=500)
    src_v, src_a = video_times(src), audio_span(src)[0]
    assert src_v[0] >= 0.5 and src_a > 0.45  # (AAC primes its encoder a frame ahead)
    with VideoReader(src) as r, VideoWriter(tmp_path / "o.mp4", r.width, r.height, fps=r.rate, audio_from=src,
                                            timing=r.timing) as w:
        for f in r:
            w.write(f)
    out_v, out_a = video_times(tmp_path / "o.mp4"), audio_span(tmp_path / "o.mp4")[0]
    assert min(out_v[0], out_a) == pytest.approx(0, abs=TICK)
    assert (out_v[0] - out_a) == pytest.approx(src_v[0] - src_a, abs=TICK)
    assert [t - out_v[0] for t in out_v] == pytest.approx([t - src_v[0] for t in src_v], abs=1e-6)
    assert abs(flash_time(tmp_path / "o.mp4") - click_time(tmp_path / "o.mp4")) < 0.002


def test_re_encoded_audio_that_starts_late_keeps_its_place(tmp_path):
    """PCM (re-encoded to AAC) starting 100 ms after the picture starts 100 ms after it in the export
    (the encoder had restarted it at 0)."""
    src = write_vfr_clip(tmp_path / "pcm.mov", DURATIONS, flash=12, click_ms=240, audio="pcm_s16le",
                         audio_start_ms=100)
    with VideoReader(src) as r, VideoWriter(tmp_path / "o.mp4", r.width, r.height, fps=r.rate, audio_from=src,
                                            timing=r.timing) as w:
        for f in r:
            w.write(f)
    out = tmp_path / "o.mp4"
    assert_same_timing(out, src)
    assert audio_span(out)[0] == pytest.approx(0.1 - AAC_FRAME, abs=TICK)  # AAC's priming frame before it
    assert abs(flash_time(out) - click_time(out)) < 0.002
