"""The GUI's Export of computed results keeps what the source is besides its pixels: a variable-frame-rate
source's frame times and audio, its colour encoding, pixel shape, fields and file tags."""
import numpy as np

from app.core.jobs import CancelToken
from app.core.video import open_video
from app.ui.workers import export_results_job
from vfrclip import audio_span, click_time, flash_time, video_times, write_vfr_clip


class Host:
    def reader(self, path):
        return open_video(path)


def test_export_of_results_keeps_each_frames_time_and_the_audio(tmp_path):
    src = write_vfr_clip(tmp_path / "phone.mp4", [20] * 12 + [60] * 12, flash=12, click_ms=240)
    results = {i: np.zeros((48, 64, 3), np.uint8) for i in (3, 4, 5)}  # computed frames, exported re-encoded
    out = tmp_path / "out.mp4"
    job = export_results_job(src, results, out, crf=18, keep_audio=True, preset="ultrafast", start=0, end=24)
    assert job(Host(), lambda p: None, CancelToken()) == {"output": out, "frames": 24,
                                                          "encoded_all": "every GOP holds a changed frame"}
    got, want = video_times(out), video_times(src)
    assert len(got) == 24 and max(abs(a - b) for a, b in zip(got, want)) <= 0.001
    assert np.allclose(audio_span(out), audio_span(src), atol=0.001)
    assert abs(flash_time(out) - click_time(out)) < 0.002
    with open_video(out) as r:
        assert r[4].mean() < 8 and r.variable_rate


def test_export_of_results_looks_like_its_source(tmp_path):
    """The GUI's Export writes what the source is besides its pixels, as the command line does:
    its colour encoding, pixel shape, fields and file tags (VideoWriter(source=reader))."""
    from fractions import Fraction

    import av

    src = tmp_path / "camcorder.mp4"
    with av.open(str(src), "w") as out:
        out.metadata.update({"creation_time": "2023-08-14T09:00:00.000000Z", "title": "Wedding"})
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 96, 72, "yuv420p"
        s.options = {"flags": "+ildct+ilme", "x264-params": "tff=1"}
        cc = s.codec_context
        cc.colorspace = cc.color_primaries = cc.color_trc = 1
        cc.color_range, cc.sample_aspect_ratio = 1, Fraction(4, 3)
        for i in range(6):
            f = av.VideoFrame.from_ndarray(np.full((72, 96, 3), 40 * i, np.uint8), format="rgb24")
            f = f.reformat(format="yuv420p", dst_colorspace=1)
            f.colorspace, f.color_range, f.pts = 1, 1, i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    out_path = tmp_path / "out.mp4"
    job = export_results_job(src, {2: np.zeros((72, 96, 3), np.uint8)}, out_path, crf=18, keep_audio=False,
                             preset="ultrafast", start=0, end=6)
    job(Host(), lambda p: None, CancelToken())
    with av.open(str(out_path)) as c:
        st = c.streams.video[0]
        frame = next(c.decode(video=0))
        cc = st.codec_context
        assert (int(cc.colorspace), int(cc.color_primaries), int(cc.color_trc), int(cc.color_range)) == (1, 1, 1, 1)
        assert st.sample_aspect_ratio == Fraction(4, 3) and frame.interlaced_frame
        assert c.metadata["title"] == "Wedding" and c.metadata["creation_time"].startswith("2023-08-14")
