import logging

import cv2
import numpy as np
import pytest

from app.core.errors import DataError
from app.core.train import dataset as ds
from app.core.train.dataset import ClipSampler, FrameCache, find_clips, load_clips
from conftest import make_frames


def _frame_folder(path, n, w=80, h=48):
    path.mkdir(parents=True)
    for i, f in enumerate(make_frames(n, w, h, seed=3)):
        cv2.imwrite(str(path / f"{i:04d}.png"), f[..., ::-1])
    return path


def test_find_clips_videos_and_frame_folders_skipping_masks(tmp_path, make_clip):
    clip = make_clip(n=6, name="a.mp4")
    _frame_folder(tmp_path / "frames", 6)
    _frame_folder(tmp_path / "a_mask", 6)
    (tmp_path / "notes.txt").write_text("x")
    found = find_clips([tmp_path])
    assert [p.name for p in found] == ["a.mp4", "frames"]
    assert find_clips(clip) == [clip.resolve()]


def test_hidden_copies_are_not_frames(tmp_path, monkeypatch):
    """macOS leaves ._NAME copies beside files copied from its disks: a folder of them alone is not
    a clip, and they do not make a frame folder's decoded cache look changed."""
    hidden = tmp_path / "copies"
    hidden.mkdir()
    (hidden / "._frame_0.png").write_bytes(b"\0\5junk")
    _frame_folder(tmp_path / "clip", 4)
    assert find_clips([tmp_path]) == [(tmp_path / "clip").resolve()]
    cache = FrameCache(tmp_path / "cache", 32, 16)
    frames = cache.get(tmp_path / "clip")
    (tmp_path / "clip" / "._frame_9.png").write_bytes(b"\0\5junk")

    def boom(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(ds, "open_video", boom)
    assert np.array_equal(np.asarray(FrameCache(tmp_path / "cache", 32, 16).get(tmp_path / "clip")),
                          np.asarray(frames))


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="No videos or frame folders"):
        find_clips(tmp_path / "empty")
    # (said "Training data …" of the validation clips too, which the fine-tune page reads through it)
    with pytest.raises(DataError, match=r"^Footage .*nope does not exist; pass a folder of videos"):
        find_clips(tmp_path / "nope")


def test_cache_decodes_once(tmp_path, make_clip, monkeypatch):
    clip = make_clip(n=6, width=96, height=64)
    cache = FrameCache(tmp_path / "cache", 64, 32)
    frames = cache.get(clip)
    assert frames.shape == (6, 32, 64, 3) and frames.dtype == np.uint8
    assert np.abs(frames[2].astype(int) - cv2.resize(make_frames(6, 96, 64)[2], (64, 32),
                                                       interpolation=cv2.INTER_AREA)).mean() < 6

    def boom(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(ds, "open_video", boom)
    again = FrameCache(tmp_path / "cache", 64, 32).get(clip)
    assert np.array_equal(np.asarray(again), np.asarray(frames))
    with pytest.raises(AssertionError):  # another resolution is another cache entry
        FrameCache(tmp_path / "cache", 32, 16).get(clip)


def test_unreadable_skipped_or_fatal_and_short_clips(tmp_path, make_clip, caplog):
    data = tmp_path / "data"
    data.mkdir()
    (data / "broken.mp4").write_bytes(b"not a video at all")
    good = make_clip(n=6, name="good.mp4")
    good.rename(data / "good.mp4")
    with caplog.at_level(logging.WARNING):
        clips = load_clips([data], tmp_path / "c", 64, 32, min_frames=5)
    assert [c.path.name for c in clips] == ["good.mp4"]
    assert "broken.mp4" in caplog.text
    assert not any(p.name.startswith("broken") for p in (tmp_path / "c").iterdir())
    with pytest.raises(DataError, match="broken.mp4"):
        load_clips([data], tmp_path / "c", 64, 32, min_frames=5, skip_unreadable=False)
    with pytest.raises(DataError, match=r"1 unreadable .*1 shorter than 7 frames"):
        load_clips([data], tmp_path / "c", 64, 32, min_frames=7)


def test_sampler_reproducible_both_index_modes_and_flip(tmp_path):
    frames = np.arange(20, dtype=np.uint8)[:, None, None, None] * np.ones((1, 8, 16, 3), np.uint8)
    frames[:, :, :8] += 100  # left half brighter: a flip is visible
    clips = [ds.Clip(tmp_path / "x", frames)]
    a, b = ClipSampler(clips, 5, 1), ClipSampler(clips, 5, 1)
    consecutive = spread = flipped = 0
    for _ in range(30):
        fa, ma = a.sample()
        fb, mb = b.sample()
        assert np.array_equal(fa, fb) and np.array_equal(ma, mb)
        assert fa.shape == (5, 8, 16, 3) and ma.shape == (5, 8, 16)
        idx = fa[:, 0, -1, 0].astype(int)
        assert list(idx) == sorted(set(idx))
        consecutive += int(np.all(np.diff(idx) == 1))
        spread += int(np.any(np.diff(idx) > 1))
        flipped += int(fa[0, 0, 0, 0] < fa[0, 0, -1, 0])
    assert consecutive > 5 and spread > 5 and 5 < flipped < 25
    state = a.state_dict()
    x = a.batch(2)
    a.load_state_dict(state)
    y = a.batch(2)
    assert x[0].shape == (2, 5, 3, 8, 16) and x[1].shape == (2, 5, 1, 8, 16)
    assert float(x[0].min()) >= -1 and float(x[0].max()) <= 1
    assert all(map(lambda p: bool((p[0] == p[1]).all()), zip(x, y)))


def test_clip_cut_short_trains_on_the_frames_it_holds(tmp_path, caplog):
    from app.core.video import write_test_clip
    from tests.conftest import make_frames

    src = write_test_clip(tmp_path / "cut.mp4", make_frames(30, 64, 48), container_options={"movflags": "faststart"})
    data = src.read_bytes()
    (tmp_path / "data").mkdir()
    cut = tmp_path / "data" / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    with caplog.at_level(logging.WARNING):
        clips = load_clips([tmp_path / "data"], tmp_path / "c", 64, 32, min_frames=5)
    assert len(clips) == 1 and 5 <= len(clips[0]) < 30
    assert "first" in caplog.text and "cut.mp4" in caplog.text
