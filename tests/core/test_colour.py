"""Exports keep the source's colours: the YUV matrix, range and tags of the file read.

The reader turns YUV into RGB with each frame's own matrix (a BT.709 phone or camera file by
BT.709's); the writer went back with BT.601's and left the file untagged, so every untouched pixel
of a BT.709 source came out shifted (chroma PSNR 42.5 dB even written losslessly).
"""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from app.core.video import Colour, VideoReader, VideoWriter


def natural(n=4, w=160, h=96):
    """Frames with the colours of a real clip: a scene shifted a little each frame."""
    yy, xx = np.mgrid[:h, :w]
    base = np.stack([120 + 80 * np.sin(xx / 9.0), 110 + 70 * np.cos(yy / 7.0), 90 + 60 * np.sin((xx + yy) / 11.0)], -1)
    frames = []
    for i in range(n):
        img = np.clip(np.roll(base, 3 * i, axis=1), 0, 255).astype(np.uint8)
        cv2.circle(img, (40 + 10 * i, 50), 18, (200, 40, 60), -1)  # a saturated red: where a matrix error shows
        frames.append(img)
    return frames


def write_source(path, frames, colorspace=None, color_range=None, primaries=None, trc=None):
    """A lossless H.264 file whose YUV is made with ``colorspace``'s matrix and tagged so."""
    kw = {}
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.options = {"crf": "0", "preset": "ultrafast"}
        if colorspace is not None:
            cc = s.codec_context
            cc.colorspace, cc.color_primaries, cc.color_trc = colorspace, primaries or colorspace, trc or colorspace
            kw["dst_colorspace"] = colorspace
        if color_range is not None:
            s.codec_context.color_range = color_range
            kw["dst_color_range"] = color_range
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p", **kw)
            if colorspace is not None:
                f.colorspace = colorspace
            if color_range is not None:
                f.color_range = color_range
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def planes_and_tags(path):
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        tags = (int(cc.colorspace), int(cc.color_range), int(cc.color_primaries), int(cc.color_trc))
        return [f.to_ndarray(format="yuv420p").astype(float) for f in c.decode(video=0)], tags


def psnr(a, b):
    m = np.mean((a - b) ** 2)
    return 99.0 if m == 0 else 10 * np.log10(255 ** 2 / m)


def round_trip(src, out):
    with VideoReader(src) as r:
        with VideoWriter(out, r.width, r.height, fps=r.rate, crf=0, preset="ultrafast", colour=r.colour) as w:
            for frame in r:
                w.write(frame)
    return r.colour


@pytest.mark.parametrize("colorspace, color_range, trc", [(None, None, None), (1, 1, 1), (1, 2, 1), (9, 1, 14),
                                                         (9, 1, 18)],
                         ids=["untagged", "BT.709", "BT.709 full range", "BT.2020", "BT.2020 HLG"])
def test_pixels_left_alone_come_out_as_they_went_in(tmp_path, colorspace, color_range, trc):
    src = write_source(tmp_path / "src.mp4", natural(), colorspace, color_range, trc=trc)
    colour = round_trip(src, tmp_path / "out.mp4")
    (a, src_tags), (b, out_tags) = planes_and_tags(src), planes_and_tags(tmp_path / "out.mp4")
    assert out_tags == src_tags  # players show it as they show the source
    if colorspace is not None:
        assert colour.colorspace == colorspace and not colour.plain
    h = a[0].shape[0] * 2 // 3
    for x, y in zip(a, b):
        assert psnr(x[h:], y[h:]) > 50, "chroma"  # (a BT.601 write of a BT.709 file: 42.5 dB)
        assert psnr(x[:h], y[:h]) > 44, "luma"
        assert abs((y[:h] - x[:h]).mean()) < 1.5


def test_a_reader_without_colour_tags_writes_as_before(tmp_path):
    """Frame folders and untagged files: nothing to carry, the file stays untagged (BT.601)."""
    assert Colour().plain and Colour(colorspace=5, color_range=1).plain
    assert not Colour(colorspace=1).plain and not Colour(color_range=2).plain
    src = write_source(tmp_path / "src.mp4", natural(2))
    round_trip(src, tmp_path / "out.mp4")
    _, tags = planes_and_tags(tmp_path / "out.mp4")
    assert tags[0] == 2 and tags[2] == 2 and tags[3] == 2
