"""benchmarks/bench_smartrender.py: the --crfs rows' SSIM, and --source (any video file as the source)."""
from __future__ import annotations

import sys
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_smartrender  # noqa: E402


def _texture(h: int = 120, w: int = 220) -> np.ndarray:
    rng = np.random.default_rng(1)
    return cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (5, 5), 1)


def test_a_video_file_as_the_source_prints_a_row_per_crf_and_the_x264_row(tmp_path, capsys):
    """A 160x96 clip of 20 frames, looped into 300 frames of HEVC (GOPs 0-249 and 250-299): the removal
    is in the last 50 frames and only that GOP is encoded again."""
    clip = tmp_path / "clip.mp4"
    tex = _texture()
    with av.open(str(clip), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        for i in range(20):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(tex[i:i + 96, 2 * i:2 * i + 160]), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    bench_smartrender.main(["--source", str(clip), "--codec", "hevc", "--seconds", "12", "--crfs", "22",
                            "--x264", "18"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("source: clip.mp4, 300 frames 160x96 hevc"), lines
    assert "removal in frames 250-299" in lines[0] and lines[1] == "re-encoded: frames 250-299 (50 frames)"
    table = lines[lines.index(next(line for line in lines if line.startswith("| ---"))) + 1:]
    rows = {cells[0]: cells for cells in (line.strip("| ").split(" | ") for line in table)}
    assert set(rows) == {"22", "x264 18, every frame"}, lines
    assert rows["22"][1] == str(22 - bench_smartrender.X265_CRF_OFFSET) and rows["x264 18, every frame"][1] == "18"
    for cells in rows.values():
        psnr, low, sim, sim_low = (float(c) for c in cells[3:7])
        assert 35 < low <= psnr < 60 and 0.9 < sim_low <= sim < 1.0, cells
