"""The GUI's Export of computed results keeps a variable-frame-rate source's frame times and audio."""
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
    assert job(Host(), lambda p: None, CancelToken()) == {"output": out, "frames": 24}
    got, want = video_times(out), video_times(src)
    assert len(got) == 24 and max(abs(a - b) for a, b in zip(got, want)) <= 0.001
    assert np.allclose(audio_span(out), audio_span(src), atol=0.001)
    assert abs(flash_time(out) - click_time(out)) < 0.002
    with open_video(out) as r:
        assert r[4].mean() < 8 and r.variable_rate
