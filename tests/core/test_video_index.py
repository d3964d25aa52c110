"""The demux index of a long video: progress, cancel, and cursors that share it."""
import numpy as np
import pytest

from app.core import video
from app.core.errors import Cancelled
from app.core.jobs import CancelToken
from app.core.video import VideoReader, open_video


@pytest.fixture
def clip(make_clip, monkeypatch):
    monkeypatch.setattr(video, "INDEX_REPORT_EVERY", 5)
    return make_clip(n=23, width=64, height=48)


def test_index_reports_progress_up_to_the_frame_count(clip, monkeypatch):
    reports = []
    with open_video(clip, progress=reports.append) as r:  # an MP4: its sample tables, at once
        assert len(r) == 23
    assert [p.done for p in reports] == [23]
    monkeypatch.setattr(VideoReader, "_sample_table_pts", lambda self: None)  # a file demuxed through
    reports.clear()
    with open_video(clip, progress=reports.append) as r:
        assert len(r) == 23
    assert [p.done for p in reports] == [5, 10, 15, 20, 23]
    assert {p.stage for p in reports} == {"index"} and reports[-1].total == 23


def test_cancel_stops_indexing_and_closes_the_file(clip, monkeypatch):
    token = CancelToken()
    closed = []
    real_open = video.av.open

    def tracking_open(*a, **k):
        c = real_open(*a, **k)
        closed.append(c)
        return c

    monkeypatch.setattr(video.av, "open", tracking_open)
    token.cancel()
    with pytest.raises(Cancelled):
        VideoReader(clip, cancel=token)
    with pytest.raises(Exception):  # the container was closed: reading it fails
        next(closed[0].demux())
    monkeypatch.setattr(VideoReader, "_sample_table_pts", lambda self: None)  # and while demuxing
    reports = []

    def cancel_at_ten(p):
        reports.append(p.done)
        if p.done >= 10:
            token.cancel()

    token = CancelToken()
    with pytest.raises(Cancelled):
        VideoReader(clip, progress=cancel_at_ten, cancel=token)
    assert reports == [5, 10]
    with pytest.raises(Exception):
        next(closed[-1].demux())


def test_reopen_shares_the_index_and_reads_independently(clip, monkeypatch):
    with VideoReader(clip) as r:
        monkeypatch.setattr(VideoReader, "_index_timestamps", lambda *a: pytest.fail("reopen demuxed again"))
        with r.reopen() as other:
            assert len(other) == len(r) and other.size == r.size and other.fps == r.fps
            a = r[17]
            assert np.array_equal(other[17], a)
            assert np.array_equal(r[18], other[18])  # each cursor keeps its own position
            assert np.array_equal(other[3], r[3])
        with r.reopen() as again:  # closing one cursor leaves the others usable
            assert np.array_equal(r[19], again[19])
