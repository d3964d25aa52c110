"""10-bit sources (an iPhone's HDR video, a camera's log footage) keep their depth in an export.

The export was 8-bit H.264 whatever the source: the pixels left alone lost their low bits (smooth
skies banded) and, read through swscale's direct 10-bit -> rgb24 path, came out 1.8 levels darker
in red. Now the reader rounds 16-bit RGB to 8 bits, and the writer makes a 10-bit HEVC file that
takes the source's own 10-bit values wherever a frame was not changed.
"""
from __future__ import annotations

import av
import numpy as np
import pytest

from app.core.engine import EngineConfig, inpaint_video
from app.core.errors import OutputError
from app.core.masks import MaskStore
from app.core.video import VideoReader, VideoWriter, write_test_clip
from conftest import make_frames
from mediafiles import encode_audio

W, H, N = 96, 64, 6
HLG = dict(colorspace=9, color_range=1, color_primaries=9, color_trc=18)  # BT.2020, limited, HLG


def truth(i: int) -> np.ndarray:
    """Frame ``i`` as 16-bit RGB: a smooth ramp over few 8-bit levels (where 8 bits band)."""
    yy, xx = np.mgrid[:H, :W]
    g = 20000 + 3000 * (xx + 2 * i) / W + 500 * yy / H
    return np.stack([g, 0.9 * g, 1.1 * g], -1).astype(np.uint16)


def write_hdr_source(path, audio: bool = True):
    """A near-lossless 10-bit HEVC file tagged as an iPhone's HDR video, with a second of sound."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx265", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p10le"
        s.options = {"crf": "2", "preset": "ultrafast", "x265-params": "log-level=error"}
        for k, v in HLG.items():
            setattr(s.codec_context, k, v)
        a = None
        if audio:
            a = out.add_stream("aac", rate=16000)
            a.layout = "mono"
        for i in range(N):
            f = av.VideoFrame.from_ndarray(truth(i), format="rgb48le").reformat(
                format="yuv420p10le", dst_colorspace=9, dst_color_range=1)
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
        if a is not None:
            encode_audio(out, a, (np.sin(np.arange(16000) / 5) * 0.2).astype(np.float32), "fltp", 16000)
    return path


def luma10(path) -> tuple[tuple, list[np.ndarray]]:
    """(codec, pix_fmt, tag), and each frame's Y plane on the 10-bit scale."""
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        info = (st.codec_context.name, st.codec_context.pix_fmt, st.codec_tag)
        ys = []
        for f in c.decode(video=0):
            if f.format.name == "yuv420p10le":
                ys.append(f.to_ndarray(format="yuv420p10le")[:H].astype(int))
            else:
                ys.append(f.to_ndarray(format="yuv420p")[:H].astype(int) * 4)
    return info, ys


def box_masks():
    m = np.zeros((H, W), bool)
    m[20:44, 30:70] = True
    store = MaskStore(N, W, H)
    for i in range(N):
        store.set(i, m)
    return store, m


def test_a_10_bit_source_reads_without_the_darker_cast(tmp_path):
    src = write_hdr_source(tmp_path / "hdr.mp4", audio=False)
    with VideoReader(src) as r:
        assert r.bit_depth == 10
        frame = r[2].astype(float)
        narrow, wide = r.read_deep(2)
    expected = truth(2) / 257
    assert np.abs((frame - expected).mean(axis=(0, 1))).max() < 0.3  # was 1.8 levels darker in red
    assert np.array_equal(narrow, r_frame := frame.astype(np.uint8)) and wide.dtype == np.uint16
    assert np.abs(wide / 257 - r_frame).max() <= 0.5 + 1e-9


@pytest.mark.parametrize("keep_audio", [True, False])
def test_an_hdr_export_keeps_10_bits_where_nothing_was_removed(tmp_path, keep_audio):
    src = write_hdr_source(tmp_path / "hdr.mp4")
    masks, m = box_masks()
    inpaint_video(src, masks, tmp_path / "out.mp4", config=EngineConfig(fill="telea"), keep_audio=keep_audio)
    # the same export the way it was made before: 8 bits
    with VideoReader(src) as r, VideoWriter(tmp_path / "out8.mp4", W, H, fps=r.rate, source=r, depth=8) as w:
        with VideoReader(tmp_path / "out.mp4") as done:
            for i in range(N):
                w.write(done[i])
    (_, src_y), (info, out_y), (info8, out8_y) = luma10(src), luma10(tmp_path / "out.mp4"), luma10(tmp_path / "out8.mp4")
    assert info == ("hevc", "yuv420p10le", "hvc1") and info8[:2] == ("h264", "yuv420p")
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert bool(c.streams.audio) == keep_audio
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc) == tuple(HLG.values())
    kept = [np.abs(o - s)[~m].mean() for s, o in zip(src_y, out_y)]
    kept8 = [np.abs(o - s)[~m].mean() for s, o in zip(src_y, out8_y)]
    assert np.mean(kept) < 0.8 and np.mean(kept8) > 1.8 * np.mean(kept), (kept, kept8)  # (crf 18 both)
    # the smooth ramp keeps its steps: as many distinct values as the source, not a quarter
    assert len(np.unique(out_y[0][~m])) >= 0.9 * len(np.unique(src_y[0][~m])) > 2 * len(np.unique(out8_y[0][~m]))
    # the box was filled (Telea on a ramp: close to it), not left as the source's pixels by mistake
    assert all(np.abs(o - s)[m].mean() < 12 for s, o in zip(src_y, out_y))


def test_an_hdr_file_copied_through_stays_playable_on_apple_devices(tmp_path):
    """Nothing to remove: the HEVC stream is copied, tagged hvc1 (QuickTime refuses hev1)."""
    src = write_hdr_source(tmp_path / "hdr.mp4")
    inpaint_video(src, MaskStore(N, W, H), tmp_path / "copy.mp4", config=EngineConfig(fill="telea"))
    with av.open(str(tmp_path / "copy.mp4")) as c:
        assert c.streams.video[0].codec_tag == "hvc1" and c.streams.audio


def test_8_bit_sources_are_written_as_before(tmp_path):
    src = write_test_clip(tmp_path / "plain.mp4", make_frames(3, 64, 48))
    with VideoReader(src) as r:
        assert r.bit_depth == 8
        with VideoWriter(tmp_path / "o.mp4", 64, 48, fps=r.rate, source=r) as w:
            for f in r:
                w.write(f)
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert (c.streams.video[0].codec_context.name, c.streams.video[0].codec_context.pix_fmt) == ("h264", "yuv420p")
    with pytest.raises(OutputError, match="Cannot write 12-bit video; use 8 or 10"):
        VideoWriter(tmp_path / "x.mp4", 64, 48, depth=12)
