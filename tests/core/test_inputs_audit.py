"""Masks, audio and outputs as users bring them from other tools: numbered mask folders, JPEG and
anti-aliased masks, inverted masks, MP3 and multichannel PCM sound, a run stopped with ``kill``,
and ``evaluate``'s output folders. Every input is a real file made here and read through PyAV /
OpenCV as a user's would be."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from app.cli import main
from app.core.engine import EngineConfig, inpaint_video
from app.core.errors import MaskError
from app.core.masks import MaskStore, load_masks
from app.core.video import write_test_clip
from conftest import make_frames

REPO = Path(__file__).resolve().parents[2]
W, H = 64, 48


def _box_mask() -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[12:30, 20:44] = True
    return m


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
    return err[0]


def test_numbered_mask_files_follow_their_numbers_not_the_alphabet(tmp_path):
    # frame_1 .. frame_12 as most tools write them: sorted as text, frame_10 came second
    for i in range(12):
        m = np.zeros((H, W), np.uint8)
        m[0, i] = 255
        cv2.imwrite(str(tmp_path / f"frame_{i + 1}.png"), m)
    (tmp_path / "._frame_1.png").write_bytes(b"\0\5\26\7")  # macOS's resource fork copy on a USB disk
    src = load_masks(tmp_path, 12, W, H)
    assert [int(np.argwhere(src.get(i))[0][1]) for i in range(12)] == list(range(12))


def test_a_gap_in_the_numbers_is_refused_before_anything_is_written(tmp_path, capsys):
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(6, W, H))
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in (0, 1, 2, 4, 5, 6):  # frame 3 missing: the masks after it would move a frame early
        cv2.imwrite(str(folder / f"{i:05d}.png"), _box_mask().astype(np.uint8) * 255)
    out = tmp_path / "out.mp4"
    assert main(["inpaint", str(clip), "--mask", str(folder), "-o", str(out), "--fill", "telea"]) == 2
    line = _one_error_line(capsys)
    assert "frame number 3" in line and "add one" in line
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "masks"]


@pytest.mark.parametrize("kind", ["jpeg", "antialiased", "jpeg-rgb-large"])
def test_noisy_masks_are_read_as_drawn(tmp_path, kind):
    truth = _box_mask()
    img = truth.astype(np.uint8) * 255
    if kind == "jpeg":
        path = tmp_path / "m.jpg"
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 50])
    elif kind == "jpeg-rgb-large":  # drawn at twice the size in colour, saved as JPEG
        path = tmp_path / "m.jpg"
        big = cv2.resize(np.dstack([img] * 3), (W * 2, H * 2), interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 60])
    else:  # a soft brush: the edge fades over a few pixels
        path = tmp_path / "m.png"
        cv2.imwrite(str(path), cv2.GaussianBlur(img.astype(np.float32), (7, 7), 1.5).astype(np.uint8))
    got = load_masks(path, 3, W, H).get(1)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert (raw > 0).sum() > (raw > 127).sum()  # the file does hold faint pixels around the shape
    assert (got != truth).sum() <= 0.01 * truth.size


def test_label_masks_still_count_every_non_zero_pixel(tmp_path):
    labels = np.zeros((H, W), np.uint8)
    labels[2:8, 2:8] = 1
    labels[20:30, 30:40] = 2  # two objects of a label map: 1 and 2, both removed
    cv2.imwrite(str(tmp_path / "labels.png"), labels)
    got = load_masks(tmp_path / "labels.png", 2, W, H).get(0)
    assert np.array_equal(got, labels > 0)


def test_palette_masks_count_every_object_of_the_davis_palette(tmp_path):
    """A palette PNG is read as its colours: in DAVIS's palette object 1 is (128, 0, 0), object 8
    (64, 0, 0) and object 9 (192, 0, 0). Taken for intensities (over half the brightest), object 8
    was dropped."""
    from PIL import Image

    labels = np.zeros((H, W), np.uint8)
    labels[2:8, 2:8], labels[20:30, 30:40], labels[35:45, 5:15] = 1, 8, 9
    palette = [0] * 768
    palette[3:6], palette[24:27], palette[27:30] = [128, 0, 0], [64, 0, 0], [192, 0, 0]
    img = Image.fromarray(labels, mode="P")
    img.putpalette(palette)
    img.save(tmp_path / "davis.png")
    got = load_masks(tmp_path / "davis.png", 2, W, H).get(0)
    assert np.array_equal(got, labels > 0)


@pytest.mark.parametrize("source", ["image", "folder", "video"])
@pytest.mark.parametrize("drawn", ["inverted", "whole"])
def test_inverted_or_whole_frame_masks_are_refused(tmp_path, capsys, source, drawn):
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(4, W, H))
    img = (~_box_mask() if drawn == "inverted" else np.ones((H, W), bool)).astype(np.uint8) * 255
    if source == "image":
        mask = tmp_path / "mask.png"
        cv2.imwrite(str(mask), img)
    elif source == "folder":
        mask = tmp_path / "masks"
        mask.mkdir()
        for i in range(4):
            cv2.imwrite(str(mask / f"{i:03d}.png"), img)
    else:
        mask = write_test_clip(tmp_path / "mask.mkv", [np.dstack([img] * 3)] * 4)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an older export")
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea"]) == 2
    line = _one_error_line(capsys)
    assert ("looks inverted" if drawn == "inverted" else "whole frame") in line and "white" in line
    assert out.read_bytes() == b"an older export"


def test_a_large_mask_reaching_one_edge_is_not_taken_for_inverted(tmp_path):
    m = np.zeros((H, W), bool)
    m[:, : W * 3 // 4] = True  # three quarters of the frame, e.g. a passer-by close to the lens
    cv2.imwrite(str(tmp_path / "m.png"), m.astype(np.uint8) * 255)
    assert np.array_equal(load_masks(tmp_path / "m.png", 2, W, H).get(0), m)
    with pytest.raises(MaskError, match="whole frame"):
        cv2.imwrite(str(tmp_path / "all.png"), np.full((H, W), 255, np.uint8))
        load_masks(tmp_path / "all.png", 2, W, H)


def _clip_with_sound(path: Path, codec: str, layout: str, rate: int, container: str, keyint: int = 0) -> Path:
    """1 s of video and of sound, each channel a tone of its own (220, 330, 440 ... Hz; LFE 60 Hz);
    ``keyint``: a keyframe every so many frames (0: x264's default)."""
    frames = make_frames(25, W, H)
    with av.open(str(path), "w", format=container) as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        if keyint:
            vs.options = {"x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0"}
        a = out.add_stream(codec, rate=rate, layout=layout)
        packets = []
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            packets += vs.encode(vf)
        packets += vs.encode()
        t = np.arange(rate) / rate
        hz = [60 if ch.name == "LFE" else 220 + 110 * c for c, ch in enumerate(a.layout.channels)]  # (LFE: a bass)
        tones = np.stack([0.3 * np.sin(2 * np.pi * f * t) for f in hz]).astype(np.float32)
        for start in range(0, rate, 1152):
            chunk = tones[:, start:start + 1152]
            if a.format.name.startswith("s16"):
                chunk = (chunk * 32767).astype(np.int16)
            elif a.format.name.startswith("s32"):
                chunk = (chunk * 2147483647).astype(np.int32)
            if not a.format.is_planar:
                chunk = chunk.T.reshape(1, -1)
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=a.format.name, layout=a.layout.name)
            af.sample_rate, af.pts, af.time_base = rate, start, Fraction(1, rate)
            packets += a.encode(af)
        packets += a.encode()
        for p in sorted(packets, key=lambda q: float(q.dts * q.time_base)):
            out.mux(p)
    return path


def _audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


@pytest.mark.parametrize("masked", [True, False], ids=["inpainted", "nothing-to-remove"])
def test_mp3_sound_is_copied_bit_for_bit(tmp_path, masked):
    # PyAV names the stream by its decoder, "mp3float": the MP3 was re-encoded to AAC
    clip = _clip_with_sound(tmp_path / "clip.mp4", "libmp3lame", "stereo", 44100, "mp4")
    mask = tmp_path / "m.png"
    cv2.imwrite(str(mask), (_box_mask() if masked else np.zeros((H, W), bool)).astype(np.uint8) * 255)
    out = tmp_path / "out.mp4"
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea"]) == 0
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.codec.canonical_name == "mp3"
    assert _audio_packets(out) == _audio_packets(clip)


def _tones(path: Path) -> tuple[int, list[float]]:
    """(channels, each channel's strongest frequency in Hz) of the first audio track."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        rate = s.codec_context.sample_rate
        parts = [f.to_ndarray() for f in c.decode(s)]
        channels = s.codec_context.layout.nb_channels
    data = np.concatenate([p if p.shape[0] == channels else p.reshape(-1, channels).T for p in parts], axis=1)
    data = data.astype(np.float64)
    peaks = [float(np.argmax(np.abs(np.fft.rfft(ch))) * rate / len(ch)) for ch in data]
    return channels, peaks


@pytest.mark.parametrize("container,suffix", [("mov", "mov"), ("avi", "avi")])
def test_multichannel_pcm_keeps_every_channel(tmp_path, container, suffix):
    # a camera's 5.1 PCM: re-encoded to AAC it came out stereo, four channels mixed away
    clip = _clip_with_sound(tmp_path / f"clip.{suffix}", "pcm_s16le", "5.1", 48000, container)
    mask = tmp_path / "m.png"
    cv2.imwrite(str(mask), _box_mask().astype(np.uint8) * 255)
    out = tmp_path / "out.mp4"
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea"]) == 0
    n_in, tones_in = _tones(clip)
    n_out, tones_out = _tones(out)
    assert n_in == n_out == 6
    assert np.allclose(tones_out, tones_in, atol=3), (tones_in, tones_out)


def test_kill_removes_the_temporary_file_and_keeps_the_old_export(tmp_path):
    # SIGTERM (kill, a closed session) ended the process at once, leaving a hidden .part file
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(400, 320, 240))
    mask = tmp_path / "m.png"
    m = np.zeros((240, 320), np.uint8)
    m[60:180, 80:240] = 255
    cv2.imwrite(str(mask), m)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an older export")
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "inpaint", str(clip), "--mask", str(mask),
                             "-o", str(out), "--fill", "propagate+telea", "--reencode-all"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.*part*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be stopped: give it more frames"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().splitlines()[-1].startswith("cancelled:")
    assert out.read_bytes() == b"an older export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "m.png", "out.mp4"]


def test_evaluate_refuses_sample_folders_it_cannot_use(tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, f in enumerate(make_frames(4, W, H)):
        cv2.imwrite(str(frames / f"{i:05d}.png"), f)
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(4, W, H))
    cases = [
        (["evaluate", str(frames), "--samples", str(frames)], "is the input clip"),  # a 5th "frame" appeared there
        (["evaluate", str(clip), "--samples", str(clip)], "is a file"),  # FileExistsError traceback
        (["evaluate", str(clip), "--samples", str(clip / "sub")], "Cannot make"),
        (["evaluate", str(clip), "--json", str(tmp_path / "r.txt"), "--markdown", str(tmp_path / "r.txt")],
         "the second would replace the first"),
    ]
    for argv, said in cases:
        assert main(argv + ["--max-frames", "3"]) == 2, argv
        assert said in _one_error_line(capsys)
    assert sorted(p.name for p in frames.iterdir()) == [f"{i:05d}.png" for i in range(4)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "frames"]



@pytest.mark.parametrize("how", ["inpainted", "nothing-to-remove", "gops-copied"])
@pytest.mark.parametrize("codec,container", [("pcm_s16le", "mov"), ("pcm_s24le", "mov"), ("pcm_s16le", "avi")])
def test_pcm_sound_is_kept_bit_for_bit_in_a_mov_export(tmp_path, codec, container, how):
    """A camera's or recorder's uncompressed sound: an .mp4 can only take it as AAC, a QuickTime file
    (an export named .mov) keeps it as it is, whichever way the picture is made."""
    clip = _clip_with_sound(tmp_path / f"clip.{container}", codec, "stereo", 48000, container, keyint=5)
    out = tmp_path / "out.mov"
    if how == "gops-copied":  # one frame changed: only its GOP is encoded again (from an H.264 MOV)
        masks = MaskStore(25, W, H)
        masks.set(7, _box_mask())
        result = inpaint_video(clip, masks, out, config=EngineConfig(fill="telea"))
        assert result.copied == (20 if container == "mov" else 0)  # (AVI: no GOP copy, every frame encoded)
    else:
        mask = tmp_path / "m.png"
        cv2.imwrite(str(mask), (_box_mask() if how == "inpainted" else np.zeros((H, W), bool)).astype(np.uint8) * 255)
        assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea"]) == 0
    with av.open(str(out)) as c:
        assert "mov" in c.format.name and c.streams.audio[0].codec_context.name == codec
    # (the same samples; a MOV cuts PCM into packets of its own size)
    assert b"".join(_audio_packets(out)) == b"".join(_audio_packets(clip))
