"""Bad and unusual inputs: each gets one clear error (or works), and nothing is lost."""
import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.core.errors import InpaintError, MaskError, VideoError
from app.core.masks import load_masks
from app.core.video import VideoReader, open_video, write_test_clip
from conftest import make_frames

ROOT = Path(__file__).resolve().parents[2]


def test_ten_bit_video_decodes_to_8_bit_rgb(tmp_path):
    frames = make_frames(4, 64, 48)
    path = write_test_clip(tmp_path / "10bit.mp4", frames, pix_fmt="yuv420p10le")
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p10le"
    with VideoReader(path) as r:
        f = r[2]
        assert f.dtype == np.uint8 and f.shape == (48, 64, 3)
        assert np.abs(f.astype(int) - frames[2]).mean() < 8


def test_audio_only_file(tmp_path):
    path = tmp_path / "audio.m4a"
    with av.open(str(path), "w") as out:
        a = out.add_stream("aac", rate=44100)
        af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        af.sample_rate, af.pts = 44100, 0
        for p in a.encode(af):
            out.mux(p)
        for p in a.encode():
            out.mux(p)
    with pytest.raises(VideoError, match="no video stream"):
        VideoReader(path)


def test_zero_frame_video(tmp_path):
    path = tmp_path / "empty.mp4"
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()  # writes the header: a valid file with a video stream and no frames
    assert path.stat().st_size > 0
    with pytest.raises(VideoError, match="no video frames|no video stream"):
        VideoReader(path)


def test_full_mask_and_odd_sized_video(tmp_path, capsys):
    frames = [np.ascontiguousarray(f[:47, :63]) for f in make_frames(5, 64, 48)]
    src = tmp_path / "odd.mkv"
    write_test_clip(src, [cv2.resize(f, (62, 46)) for f in frames])  # encoders need even sizes; read back as is
    full = tmp_path / "full.png"
    nearly = np.full((46, 62), 255, np.uint8)
    nearly[:, -1] = 0  # (a mask of the whole frame is refused: nothing is left to fill it from)
    cv2.imwrite(str(full), nearly)
    assert main(["inpaint", str(src), "--mask", str(full), "-o", str(tmp_path / "out.mp4"), "--fill", "telea"]) == 0
    with VideoReader(tmp_path / "out.mp4") as r:
        assert len(r) == 5


def test_spaces_and_non_ascii_paths(tmp_path, capsys):
    folder = tmp_path / "my clips ünïcødé 视频"
    folder.mkdir()
    src = write_test_clip(folder / "clip été.mp4", make_frames(5, 64, 48), audio=True)
    mask = folder / "masque logo.png"
    m = np.zeros((48, 64), np.uint8)
    m[10:20, 10:30] = 255
    cv2.imwrite(str(mask), m)  # cv2.imwrite handles non-ASCII paths on Linux; Windows users go through the GUI
    out = folder / "résultat final.mp4"
    assert main(["inpaint", str(src), "--mask", str(mask), "-o", str(out), "--fill", "propagate+telea"]) == 0
    with VideoReader(out) as r:
        assert len(r) == 5 and r.has_audio


def test_large_frame_is_read_without_trouble(tmp_path):
    """An 8K frame: decoded, masked and filled by the crop path without holding more than a window."""
    frame = np.zeros((4320, 7680, 3), np.uint8)
    frame[:, :, 1] = 90
    path = write_test_clip(tmp_path / "8k.mp4", [frame, frame], codec_options={"preset": "ultrafast"})
    with VideoReader(path) as r:
        assert (r.width, r.height, len(r)) == (7680, 4320, 2)
        assert r[1].shape == (4320, 7680, 3)


def test_disk_full_leaves_nothing_behind(tmp_path, make_clip):
    """Writing stops at a file-size limit (as on a full disk): one error line, no partial files."""
    src = make_clip(n=30, width=160, height=90)
    m = np.zeros((90, 160), np.uint8)
    m[30:50, 60:100] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), m)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))\n"
        "from app.cli import main\n"
        f"sys.exit(main(['inpaint', {str(src)!r}, '--mask', {str(tmp_path / 'mask.png')!r}, '-o', "
        f"{str(out_dir / 'result.mp4')!r}, '--fill', 'telea', '--crf', '0']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert list(out_dir.iterdir()) == []


def test_kill_during_export_leaves_no_file_under_final_name(tmp_path, make_clip):
    src = make_clip(n=200, width=320, height=180)
    m = np.zeros((180, 320), np.uint8)
    m[30:90, 60:200] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), m)
    out = tmp_path / "result.mp4"
    out.write_bytes(b"an earlier result the user wants to keep")
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "inpaint", str(src), "--mask",
                             str(tmp_path / "mask.png"), "-o", str(out), "--fill", "telea"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(p.name.endswith(".part.mp4") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert out.read_bytes() == b"an earlier result the user wants to keep"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=4096), keep=st.integers(min_value=0, max_value=3000))
def test_fuzz_video_reader(tmp_path_factory, data, keep):
    """Random bytes, and real files with random corruption: only VideoError, never a crash."""
    folder = tmp_path_factory.mktemp("fuzz")
    base = folder / "base.mp4"
    if not base.exists():
        write_test_clip(base, make_frames(3, 32, 32))
    raw = bytearray(base.read_bytes())
    raw[keep:keep + len(data)] = data
    for blob in (data, bytes(raw)):
        p = folder / "f.mp4"
        p.write_bytes(blob)
        try:
            with open_video(p) as r:
                for _ in r:
                    pass
        except VideoError:
            pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=2048))
def test_fuzz_mask_reader(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("fuzzmask") / "m.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + data)
    try:
        load_masks(p, 3, 32, 32).get(0)
    except MaskError:
        pass
