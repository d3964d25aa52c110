"""The results cache reads a frame's PNG once while it stays the frame shown, and never serves a stale
one; what it gives back for Export is what was put, bit for bit; its JPEG proxies are shown only while
playing."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.ui import results as results_module
from app.ui.results import ResultCache
from uihelpers import show_results, wait_exact


def test_the_frame_shown_is_read_once_and_a_new_result_replaces_it(tmp_path, monkeypatch):
    reads = []
    real = cv2.imread
    monkeypatch.setattr(results_module.cv2, "imread", lambda *a: reads.append(a[0]) or real(*a))
    cache = ResultCache(tmp_path / "r")
    red = np.zeros((8, 12, 3), np.uint8)
    red[..., 0] = 200
    cache.put(3, red)
    first = cache.get(3)
    first[:] = 0  # (a caller drawing on its copy changes nothing for the next one)
    again = cache.get(3)
    assert np.array_equal(again, red) and len(reads) == 1  # a step and the original's arrival: one read
    blue = np.zeros_like(red)
    blue[..., 2] = 100
    cache.put(3, blue)  # a new Inpaint wrote the frame again
    assert np.array_equal(cache.get(3), blue) and len(reads) == 2
    cache.put(4, red)
    assert np.array_equal(cache.get(4), red) and np.array_equal(cache.get(3), blue) and len(reads) == 4
    cache.clear()
    assert cache.get(3) is None and cache.get(4) is None


# --- the lossless frame and its playback proxy ---------------------------------------------------

def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth texture with per-pixel noise on top: what a JPEG approximates and a PNG keeps exactly."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 8 + 2, w // 8 + 2, 3), np.uint8)
    big = cv2.resize(small, (small.shape[1] * 8, small.shape[0] * 8), interpolation=cv2.INTER_CUBIC)[:h, :w]
    return np.clip(big.astype(int) + rng.integers(-3, 4, big.shape), 0, 255).astype(np.uint8)


def _files(cache: ResultCache) -> list[str]:
    return sorted(p.name for p in cache.folder.iterdir())


def test_a_frame_comes_back_bit_for_bit_and_its_proxy_only_looks_like_it(tmp_path):
    """Export re-encodes what ``get`` returns: it must be the inpainted frame exactly, whatever the
    proxy beside it (a JPEG) does to it; the proxy keeps the frame's look at the size asked."""
    cache = ResultCache(tmp_path / "r")
    frame = _textured(135, 241)  # (odd sizes: the reduced proxies round up)
    cache.put(7, frame)
    assert np.array_equal(cache.get(7), frame) and cache.get(7).dtype == np.uint8
    assert _files(cache) == [".in-use.lock", "000007-proxy.jpg", "000007.png"]
    full = cache.proxy(7, 1.0)
    error = np.abs(full.astype(int) - frame.astype(int))
    assert full.shape == frame.shape and error.max() > 0 and error.mean() < 6.0  # lossy, and close (a wrong frame: ~80)
    assert cache.proxy(7, 0.4).shape == (68, 121, 3)  # shown at 0.4: half the pixels each way do
    assert cache.proxy(7, 0.2).shape == (34, 61, 3) and cache.proxy(7, 0.1).shape == (17, 31, 3)
    assert cache.proxy(7, 3.0).shape == frame.shape  # zoomed in: all of them
    assert np.array_equal(cache.get(7), frame)  # (a proxy read never stands in for the exact frame)
    assert cache.proxy(8) is None and cache.get(8) is None


def _held_write(monkeypatch, suffix: str):
    """Make ResultCache.put stop half-way through writing its temporary ``suffix`` file until released."""
    import threading

    halfway, release = threading.Event(), threading.Event()
    real = results_module._write_file

    def write(path, data):
        if not path.name.endswith(suffix):
            return real(path, data)
        data = memoryview(data).cast("B")
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            halfway.set()
            assert release.wait(10)
            f.write(data[len(data) // 2:])

    monkeypatch.setattr(results_module, "_write_file", write)
    return halfway, release


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_frame_half_written_is_never_read(tmp_path, monkeypatch, suffix):
    """The GUI reads while the worker writes: until both files of a frame are whole and in place, a
    reader sees the earlier result of that frame (exact, and its proxy), or no result at all."""
    import threading

    cache = ResultCache(tmp_path / "r")
    old, new = _textured(64, 96, seed=1), _textured(64, 96, seed=2)
    cache.put(3, old)
    halfway, release = _held_write(monkeypatch, suffix)

    def while_written(index, check):
        writer = threading.Thread(target=cache.put, args=(index, new))
        writer.start()
        try:
            assert halfway.wait(10)
            assert any(".tmp" in name for name in _files(cache))  # (the half-written file is there)
            check()
        finally:
            release.set()
            writer.join(10)
            halfway.clear()
            release.clear()

    def nearer_old(rgb):
        return np.abs(rgb.astype(int) - old).mean() < np.abs(rgb.astype(int) - new).mean()

    while_written(3, lambda: (np.array_equal(cache.get(3), old) or pytest.fail("get: not the earlier frame"),
                              nearer_old(cache.proxy(3)) or pytest.fail("proxy: not the earlier frame")))
    assert np.array_equal(cache.get(3), new)
    while_written(4, lambda: (4 not in cache and cache.get(4) is None and cache.proxy(4) is None
                              and not cache.covers(4, 5)) or pytest.fail("a frame being written was seen"))
    assert np.array_equal(cache.get(4), new) and cache.covers(3, 5)
    assert not any(".tmp" in name for name in _files(cache))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_full_disk_on_either_file_leaves_the_frame_as_it_was(tmp_path, monkeypatch, suffix):
    import errno

    from app.core.errors import OutputError

    cache = ResultCache(tmp_path / "r")
    old = _textured(64, 96, seed=1)
    cache.put(2, old)
    before = _files(cache)
    real = results_module._write_file

    def full(path, data):
        if path.name.endswith(suffix):
            open(path, "wb").close()
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(results_module, "_write_file", full)
    with pytest.raises(OutputError) as failed:
        cache.put(2, _textured(64, 96, seed=2))
    assert "free space" in str(failed.value) and "\n" not in str(failed.value)
    assert _files(cache) == before and np.array_equal(cache.get(2), old)
    assert np.abs(cache.proxy(2).astype(int) - old).mean() < 6.0


def test_every_file_of_a_frame_goes_with_it(tmp_path):
    """clear, dispose, and a PNG deleted by hand (the frame is forgotten: Export inpaints it again)
    leave no proxy behind; a proxy deleted by hand costs only speed."""
    cache = ResultCache(tmp_path / "r")
    frame = _textured(64, 96)
    for i in range(4):
        cache.put(i, frame)
    (cache.folder / "000001.png").unlink()
    assert cache.proxy(1) is None and 1 not in cache and "000001-proxy.jpg" not in _files(cache)
    (cache.folder / "000002.png").unlink()
    assert not cache.covers(0, 4) and "000002-proxy.jpg" not in _files(cache)
    (cache.folder / "000003-proxy.jpg").unlink()
    assert np.array_equal(cache.proxy(3), frame)  # (the PNG in its place)
    cache.clear()
    assert _files(cache) == [".in-use.lock"] and len(cache) == 0
    cache.put(5, frame)
    cache.dispose()
    assert not cache.folder.exists()


@pytest.mark.parametrize("mode", ["side", "split"])
def test_playback_shows_proxies_and_a_stopped_frame_is_the_exact_result(window, clip, qtbot, monkeypatch, mode):
    """Playing, the compare view reads the JPEG proxies (a 1080p PNG held playback to 10-13 frames a
    second); stopped, on the frame it stopped at and on each step after, the exact result."""
    p, put = show_results(window, clip)
    window.compare.set_mode(mode)
    view = window.result_view
    p.set_current(2)
    assert np.array_equal(wait_exact(window, qtbot), put[2])
    reads = []
    real = cv2.imread
    monkeypatch.setattr(results_module.cv2, "imread", lambda path, *a: reads.append(Path(path).name) or real(path, *a))
    shown = []
    p.currentChanged.connect(lambda i: shown.append((i, view.proxy_of, view.result_rgb)))
    window.timeline.play()
    qtbot.waitUntil(lambda: len(shown) >= 3, timeout=5_000)
    playing, read = list(shown), list(reads)
    window.timeline.stop()
    assert all(size == (96, 64) for _, size, _ in playing), [s for _, s, _ in playing]
    assert all(np.abs(rgb.astype(int) - put[i]).mean() < 8.0 for i, _, rgb in playing)
    assert read and all(name.endswith("-proxy.jpg") for name in read), read
    here = p.current
    assert np.array_equal(wait_exact(window, qtbot), put[here]) and p.current == here
    assert view.image_size() == (96, 64)
    window.timeline.step(1)
    assert np.array_equal(wait_exact(window, qtbot), put[p.current]) and p.current != here


def test_export_writes_the_exact_frames_inpaint_put(window, clip, qtbot, tmp_path, monkeypatch):
    """The proxies are for the eyes only: the frames handed to the encoder are those Inpaint put."""
    from app.core.smartrender import SmartWriter
    from app.core.video import VideoWriter
    from test_audit_results import export, paint, run_inpaint

    window.open_path(clip)
    p, _ = paint(window, 0, 6)
    put = {}
    real_put = p.results.put
    monkeypatch.setattr(p.results, "put", lambda i, rgb, *a: (put.__setitem__(i, rgb.copy()), real_put(i, rgb, *a)))
    run_inpaint(window, qtbot)
    written = {}
    real_smart, real_plain = SmartWriter.write, VideoWriter.write
    monkeypatch.setattr(SmartWriter, "write", lambda w, i, f: (written.__setitem__(i, f.copy()), real_smart(w, i, f)))
    monkeypatch.setattr(VideoWriter, "write", lambda w, f: (written.__setitem__(len(written), f.copy()),
                                                            real_plain(w, f)))
    assert "re-encoded" in export(window, qtbot, tmp_path / "out.mp4")
    assert sorted(put) == list(range(6))
    assert all(np.array_equal(written[i], put[i]) for i in range(6))
