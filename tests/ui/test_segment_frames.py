"""A first click's frames are decoded once: the click's motion (``click_motion``: frames 2, 4 and 6
away) and its background plate (``click_plate``: the 10 either side) read them through one
``ClickFrames`` that lives for that click alone."""
import weakref

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.core.errors import Cancelled
from app.core.jobs import CancelToken
from app.core.segment import PLATE_SIDE, click_motion, click_plate, plate_copy
from app.core.video import open_video, write_test_clip
from app.ui import segment_tool as st
from app.ui.workers import EngineHost

N, W, H, R = 30, 128, 96, 14


def centre(i):
    return 20 + 3 * i, 48


def clip(path):
    """An orange disc moving right over a grey, smoothly textured background, ``N`` frames."""
    import cv2

    rng = np.random.default_rng(3)
    tex = cv2.resize(rng.integers(60, 150, (H // 8, W // 8), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[:H, :W]
    frames = []
    for i in range(N):
        f = np.repeat(tex[..., None], 3, axis=2)
        cx, cy = centre(i)
        f[(xx - cx) ** 2 + (yy - cy) ** 2 <= R ** 2] = (240, 120, 20)
        frames.append(f)
    return write_test_clip(path, frames, fps=10)


class Counting:
    """A reader that notes each frame read from it (``reads``)."""

    def __init__(self, reader, reads):
        self._r, self.reads = reader, reads

    def __getitem__(self, i):
        self.reads.append(i)
        return self._r[i]

    def __len__(self):
        return len(self._r)

    def __getattr__(self, name):
        return getattr(self._r, name)


def test_a_first_click_decodes_each_frame_once_and_the_next_click_its_own(window, tmp_path, qtbot, monkeypatch):
    """A first click read frames 2, 4 and 6 away for its motion, then its plate job read them again
    with the 10 frames either side, from the keyframe on again: each is read once now, in order (the
    frames the decoder passes on its way to the motion's are kept for the plate), and the frames go
    when the click is done.
    A click on another frame reads that frame's neighbours (nothing of the first click's is reused),
    and every frame the segmenter is given is the frame asked for."""
    path = clip(tmp_path / "disc.mp4")
    reads: list[int] = []
    wrapped = {}
    real_reader = EngineHost.reader
    monkeypatch.setattr(EngineHost, "reader", lambda self, p: wrapped.setdefault(
        id(real_reader(self, p)), Counting(real_reader(self, p), reads)))
    given = []  # (frame asked for, the picture given) by the click's get_frame

    def noting(fn):
        def call(seg_or_get, *a, **k):
            if callable(seg_or_get):  # click_plate(get_frame, ...)
                return fn(lambda i: given.append((i, seg_or_get(i))) or given[-1][1], *a, **k)
            get = a[0]  # prepare_click(segmenter, get_frame, ...)
            return fn(seg_or_get, lambda i: given.append((i, get(i))) or given[-1][1], *a[1:], **k)
        return call

    monkeypatch.setattr(st, "prepare_click", noting(st.prepare_click))
    monkeypatch.setattr(st, "click_plate", noting(st.click_plate))
    assert window.open_path(path)
    p, seg = window.project, window.segment
    truth = open_video(path)
    window.tools.set_tool("segment")
    held = []
    for index, window_frames in ((12, range(2, 23)), (20, range(9, 30))):
        p.set_current(index)
        qtbot.waitUntil(lambda: p.cached_frame(index) is not None, timeout=10_000)
        reads.clear()
        given.clear()
        with qtbot.waitSignal(seg.candidatesChanged, timeout=30_000):
            qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton,
                             pos=window.canvas.to_widget(QPointF(*centre(index))).toPoint())
        assert seg.tool.candidates and seg.jobs.busy and seg._frames is not None  # (the plate job runs)
        held.append(seg._frames)
        qtbot.waitUntil(lambda: not seg.jobs.busy, timeout=30_000)
        assert sorted(reads) == [i for i in window_frames if i != index], (index, reads)
        assert reads == sorted(reads)  # (in order: the plate's read decodes on, no seek back to the keyframe)
        assert seg._frames is None and len(held[-1]) == 1  # (the click is done: its frames are gone)
        assert seg._read_at[1] == window_frames[-1] + 1  # (where the next click's read starts from)
        assert {index + 2, index + 4, index + 6} <= {i for i, _ in given} and len(given) > len(reads)
        for i, rgb in given:
            assert np.array_equal(rgb, truth[i]), (index, i)
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    truth.close()


def test_the_click_frames_hold_its_window_at_most_and_only_one_readers_frames():
    """At most the plate's window (21 frames, the click's own among them) is held; a reader opened
    afresh (the file replaced between the click's jobs) is read again, not answered from the old one's
    frames; the plate job's reads take the frames out as they are given."""
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(40)]
    reads: list[int] = []
    cache = st.ClickFrames(5, frames[5])
    read = cache.reading(Counting(frames, reads), CancelToken())
    assert all(read(i)[0, 0, 0] == i for i in range(40)) and 5 not in reads and len(reads) == 39
    assert len(cache) == 21 and all(read(i)[0, 0, 0] == i for i in range(40)) and len(reads) == 39 + 19
    again: list[int] = []
    other = cache.reading(Counting([f + 100 for f in frames], again), CancelToken(), keep=False)
    assert other(7)[0, 0, 0] == 107 and again == [7] and len(cache) == 1
    cache = st.ClickFrames(5, frames[5])
    reader = Counting(frames, [])
    read, last = cache.reading(reader, CancelToken()), cache.reading(reader, CancelToken(), keep=False)
    read(7), read(9)
    assert len(cache) == 3 and last(7)[0, 0, 0] == 7 and len(cache) == 2 and reader.reads == [7, 9]
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        cache.reading(reader, token)(9)


class Keyed(Counting):
    def __init__(self, frames, reads, keyframes):
        super().__init__(frames, reads)
        self.keyframes = keyframes


def test_the_plates_frames_the_decoder_passes_are_taken_on_the_way_and_no_more():
    """Where the reader says its keyframes, the click's first job also takes the plate's frames the
    decoder decodes on its way to the motion's (from the GOP's keyframe, or from where the last read
    left it, this click's or the click's before: none before it, which would want a seek back to the
    keyframe, a first answer seconds later in a long GOP), and only those: none before the keyframe,
    none outside the plate's window; the plate job then reads the rest, and no frame twice."""
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(40)]
    reads: list[int] = []
    reader = Keyed(frames, reads, (0, 8, 30))
    cache = st.ClickFrames(10, frames[10])
    motion = cache.reading(reader, CancelToken())
    assert [motion(i)[0, 0, 0] for i in (10, 12, 10, 14, 10, 16)] == [10, 12, 10, 14, 10, 16]
    assert reads == [8, 9, 11, 12, 13, 14, 15, 16] and len(cache) == 9
    plate = cache.reading(reader, CancelToken(), keep=False)
    assert [plate(i)[0, 0, 0] for i in range(21)] == list(range(21))
    assert reads == [8, 9, 11, 12, 13, 14, 15, 16] + list(range(8)) + [17, 18, 19, 20] and len(cache) == 1
    reads.clear()  # (a click near the end: its window slid inward, 19..39; a keyframe inside it)
    cache = st.ClickFrames(37, frames[37])
    motion = cache.reading(reader, CancelToken())
    assert [motion(i)[0, 0, 0] for i in (39, 33, 31)] == [39, 33, 31]  # (click_motion's: 2 on, 4 and 6 back)
    assert reads == [30, 31, 32, 33, 34, 35, 36, 38, 39] and len(cache) == 10
    reads.clear()  # (the next click, where the click before left the decoder: from there on)
    after_that = st.ClickFrames(15, frames[15], at=cache.position())
    assert cache.position()[1] == 40 and after_that.reading(reader, CancelToken())(17)[0, 0, 0] == 17
    assert reads == [8, 9, 10, 11, 12, 13, 14, 16, 17]  # (the decoder stood past it: it seeks to keyframe 8)
    reads.clear()
    moved = st.ClickFrames(15, frames[15], at=(weakref.ref(reader), 11))
    assert moved.reading(reader, CancelToken())(17)[0, 0, 0] == 17 and reads == [11, 12, 13, 14, 16, 17]
    reads.clear()
    elsewhere = st.ClickFrames(15, frames[15], at=(weakref.ref(Keyed(frames, [], (0,))), 11))  # (another reader's)
    assert elsewhere.reading(reader, CancelToken())(17)[0, 0, 0] == 17 and reads[0] == 8


def big_frames(n=40, w=960, h=540):
    """``n`` frames larger than the plate's copies: a textured background panning 1 px a frame, a
    disc moving right over it."""
    import cv2

    rng = np.random.default_rng(5)
    tex = cv2.resize(rng.integers(40, 200, (h // 12, (w + n) // 12), dtype=np.uint8), (w + n, h),
                     interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[:h, :w]
    out = []
    for i in range(n):
        f = np.repeat(tex[:, i:i + w, None], 3, axis=2)
        f[(xx - 200 - 12 * i) ** 2 + (yy - h // 2) ** 2 <= 60 ** 2] = (230, 110, 30)
        out.append(np.ascontiguousarray(f))
    return out


@pytest.mark.parametrize("index", [10, 37])
def test_the_click_frames_keep_the_plates_small_copies_and_give_the_motion_whole_frames(index):
    """The frames kept for the plate alone are its 320-px copies (a 960x540 frame held as 0.17 MB,
    not 1.5 MB; at 1080p about 100 MB less for a click's 16 frames), the motion is given whole
    frames (near the end its frames 4 and 6 back are passed on the way to 2 on and held whole until
    given), and the motion's flows and the plate are the same to the bit as from the frames read
    straight from the video; each frame is decoded once."""
    frames = big_frames()
    n = len(frames)
    reads: list[int] = []
    reader = Keyed(frames, reads, (0, 8, 30))
    cache = st.ClickFrames(index, frames[index])
    flows = click_motion(cache.reading(reader, CancelToken()), index, n)
    direct = click_motion(lambda i: frames[i], index, n)
    assert len(flows) == 3 and all(np.array_equal(a, b) for a, b in zip(flows, direct))
    copy_bytes = plate_copy(frames[0]).nbytes
    assert plate_copy(frames[0]).shape == (180, PLATE_SIDE, 3) and copy_bytes * 8 < frames[0].nbytes
    assert len(cache) > 4 and cache.held_bytes() == (len(cache) - 1) * copy_bytes  # (no whole frame held)
    z = click_plate(cache.reading(reader, CancelToken(), keep=False), index, n, st.PLATE_RADIUS)
    assert np.array_equal(z, click_plate(lambda i: frames[i], index, n, st.PLATE_RADIUS))
    lo, hi = (0, 20) if index == 10 else (19, 39)
    assert sorted(reads) == [i for i in range(lo, hi + 1) if i != index] and len(cache) == 1
