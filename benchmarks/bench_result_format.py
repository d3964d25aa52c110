"""How to store the inpainted frames the compare view shows: encode time (on the worker), decode time
(on the GUI thread, to the RGB array the view takes), and bytes a frame, for each candidate format.

Frames: FRAMES frames spread over VIDEO (default ``../shared/data/clips/running_car.mp4``, 972x540),
at their own size and scaled up to 1920x1080 (INTER_CUBIC; smoother than a camera's own 1080p, so its
PNGs are smaller than a real clip's). Each frame is encoded and written as ``ResultCache.put`` does
(encode, write a temp file, rename), then read back ``--repeat`` times from the page cache; the
figures are medians over frames and repeats. ``--busy`` keeps the other core decoding the video
meanwhile, as the frame loader does during playback.

    .venv/bin/python benchmarks/bench_result_format.py [--video VIDEO] [--frames 8] [--repeat 3] [--busy]

Figures go to docs/LOAD.md ("Playback in the compare views").
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips" / "running_car.mp4"


def _png(level, filt=None, strategy=None):
    params = [cv2.IMWRITE_PNG_COMPRESSION, level]
    if filt is not None:
        params += [cv2.IMWRITE_PNG_FILTER, filt]
    if strategy is not None:
        params += [cv2.IMWRITE_PNG_STRATEGY, strategy]
    return ".png", params


def _cv_read(path, flags=cv2.IMREAD_COLOR):
    return cv2.cvtColor(cv2.imread(str(path), flags), cv2.COLOR_BGR2RGB)


def _cv_write(ext, params, shrink=1):
    def encode(rgb):
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if shrink > 1:
            bgr = cv2.resize(bgr, (bgr.shape[1] // shrink, bgr.shape[0] // shrink), interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(ext, bgr, params)
        assert ok, ext
        return data
    return encode


def _raw_write(rgb):
    h, w, _ = rgb.shape
    return np.concatenate([np.array([h, w], "<u4").view(np.uint8), np.ascontiguousarray(rgb).reshape(-1)])


def _raw_read(path):
    data = np.fromfile(path, np.uint8)
    h, w = data[:8].view("<u4")
    return data[8:].reshape(h, w, 3)


def _zraw_write(rgb):
    h, w, _ = rgb.shape
    return np.array([h, w], "<u4").tobytes() + zlib.compress(np.ascontiguousarray(rgb).tobytes(), 1)


def _zraw_read(path):
    data = Path(path).read_bytes()
    h, w = np.frombuffer(data[:8], "<u4")
    return np.frombuffer(zlib.decompress(data[8:]), np.uint8).reshape(h, w, 3)


# name: (suffix, encode(rgb) -> bytes-like, decode(path) -> RGB, lossless)
CANDIDATES = {
    "png level 1 (before)": (".png", _cv_write(*_png(1)), _cv_read, True),
    "png level 1, filter none": (".png", _cv_write(*_png(1, cv2.IMWRITE_PNG_FILTER_NONE)), _cv_read, True),
    "png level 1, filter sub": (".png", _cv_write(*_png(1, cv2.IMWRITE_PNG_FILTER_SUB)), _cv_read, True),
    "png level 1, filter up": (".png", _cv_write(*_png(1, cv2.IMWRITE_PNG_FILTER_UP)), _cv_read, True),
    "png level 1, rle": (".png", _cv_write(*_png(1, None, cv2.IMWRITE_PNG_STRATEGY_RLE)), _cv_read, True),
    "png level 1, filter up, rle": (".png", _cv_write(*_png(1, cv2.IMWRITE_PNG_FILTER_UP,
                                                            cv2.IMWRITE_PNG_STRATEGY_RLE)), _cv_read, True),
    "png level 1, fast filters": (".png", _cv_write(*_png(1, cv2.IMWRITE_PNG_FAST_FILTERS)), _cv_read, True),
    "png level 3": (".png", _cv_write(*_png(3)), _cv_read, True),
    "png level 0 (stored)": (".png", _cv_write(*_png(0)), _cv_read, True),
    "tiff none": (".tif", _cv_write(".tif", [cv2.IMWRITE_TIFF_COMPRESSION, cv2.IMWRITE_TIFF_COMPRESSION_NONE]),
                  _cv_read, True),
    "tiff lzw": (".tif", _cv_write(".tif", [cv2.IMWRITE_TIFF_COMPRESSION, cv2.IMWRITE_TIFF_COMPRESSION_LZW]),
                 _cv_read, True),
    "tiff packbits": (".tif", _cv_write(".tif", [cv2.IMWRITE_TIFF_COMPRESSION,
                                                 cv2.IMWRITE_TIFF_COMPRESSION_PACKBITS]), _cv_read, True),
    "webp lossless": (".webp", _cv_write(".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]), _cv_read, True),
    "bmp": (".bmp", _cv_write(".bmp", []), _cv_read, True),
    "raw RGB (np.fromfile)": (".rgb", _raw_write, _raw_read, True),
    "raw RGB + zlib 1": (".rgbz", _zraw_write, _zraw_read, True),
    "jpeg q90 full size": (".jpg", _cv_write(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]), _cv_read, False),
    "jpeg q90 full, read at 1/2": (".jpg", _cv_write(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]),
                                   lambda p: _cv_read(p, cv2.IMREAD_REDUCED_COLOR_2), False),
    "jpeg q90 full, optimized": (".jpg", _cv_write(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_OPTIMIZE, 1]),
                                 _cv_read, False),
    "jpeg q90 full, optimized, read at 1/2": (".jpg", _cv_write(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90,
                                                                         cv2.IMWRITE_JPEG_OPTIMIZE, 1]),
                                              lambda p: _cv_read(p, cv2.IMREAD_REDUCED_COLOR_2), False),
    "jpeg q85 full size": (".jpg", _cv_write(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 85]), _cv_read, False),
    "jpeg q85 full, read at 1/2": (".jpg", _cv_write(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 85]),
                                   lambda p: _cv_read(p, cv2.IMREAD_REDUCED_COLOR_2), False),
    "jpeg q90 at 1/2 size": (".jpg", _cv_write(".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90], shrink=2), _cv_read, False),
}


def frames_of(video: Path, n: int) -> list[np.ndarray]:
    from app.core.video import VideoReader

    reader = VideoReader(video)
    step = max(1, len(reader) // n)
    return [reader[i] for i in range(0, step * n, step)][:n]


def _busy(video: str, stop) -> None:
    from app.core.video import VideoReader

    reader = VideoReader(video)
    while not stop.is_set():
        for _ in reader.iter_frames():
            if stop.is_set():
                break


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR)
    mse = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def texture(n: int) -> list[np.ndarray]:
    """bench_compare_playback.py's made clip (a smooth texture panning 2 px a frame), inverted as its results."""
    small = np.random.default_rng(0).integers(0, 255, (1080 // 8 + 2, (1920 + 150) // 8 + 2, 3), np.uint8)
    big = cv2.resize(small, (small.shape[1] * 8, small.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    return [255 - np.ascontiguousarray(big[:1080, 2 * i: 2 * i + 1920]) for i in range(0, 9 * n, 9)]


def measure(title: str, frames: list[np.ndarray], folder: Path, repeat: int, only: list[str]) -> None:
    h, w = frames[0].shape[:2]
    print(f"\n{title}: {w}x{h}, {len(frames)} frames (raw {w * h * 3 / 1e6:.2f} MB a frame)")
    print(f"{'format':38} {'encode ms':>10} {'decode ms':>10} {'KB/frame':>9} {'vs raw':>7}  exact / PSNR")
    for name, (suffix, encode, decode, lossless) in CANDIDATES.items():
        if only and not any(o in name for o in only):
            continue
        enc, dec, sizes, quality = [], [], [], []
        for k, rgb in enumerate(frames):
            path, tmp = folder / f"{k:06d}{suffix}", folder / f".{k:06d}.tmp{suffix}"
            t = time.perf_counter()
            data = encode(rgb)
            with open(tmp, "wb") as f:
                f.write(memoryview(data))
            os.replace(tmp, path)
            enc.append(time.perf_counter() - t)
            sizes.append(path.stat().st_size)
            for _ in range(repeat):
                t = time.perf_counter()
                back = np.ascontiguousarray(decode(path))
                dec.append(time.perf_counter() - t)
            quality.append(np.array_equal(back, rgb) if lossless else psnr(rgb, back))
            path.unlink()
        row(name, enc, dec, sizes, ("exact" if all(quality) else "NOT EXACT") if lossless else
            f"{statistics.median(quality):.1f} dB", w * h * 3)
    if only and not any(o in "ResultCache" for o in only):
        return
    # what the application does now: ResultCache.put writes the PNG and its JPEG proxy; get reads the
    # PNG (Export, a paused frame), proxy the JPEG at the scale shown (playback)
    from app.ui.results import ResultCache

    cache = ResultCache(folder / "cache")
    enc, sizes, reads = [], [], {"get": [], "proxy(1.0)": [], "proxy(0.4)": []}
    quality = []
    for k, rgb in enumerate(frames):
        t = time.perf_counter()
        cache.put(k, rgb)
        enc.append(time.perf_counter() - t)
        sizes.append(sum(f.stat().st_size for f in cache.folder.glob(f"{k:06d}*")))
        for _ in range(repeat):
            for what, read in (("get", cache.get), ("proxy(1.0)", cache.proxy),
                               ("proxy(0.4)", lambda i: cache.proxy(i, 0.4))):
                cache._last = None  # (each read from the file, as for a new frame)
                t = time.perf_counter()
                read(k)
                reads[what].append(time.perf_counter() - t)
        quality.append(np.array_equal(cache.get(k), rgb))
    for what, times in reads.items():
        row(f"ResultCache.put / {what}", enc, times, sizes,
            ("exact" if all(quality) else "NOT EXACT") if what == "get" else "(proxy)", w * h * 3)
    cache.dispose()


def row(name, enc, dec, sizes, quality, raw):
    kb = statistics.median(sizes) / 1024
    print(f"{name:38} {statistics.median(enc) * 1e3:10.1f} {statistics.median(dec) * 1e3:10.1f} "
          f"{kb:9.0f} {kb * 1024 / raw:7.2f}  {quality}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--busy", action="store_true", help="keep the other core decoding VIDEO meanwhile")
    ap.add_argument("--only", nargs="*", default=[], help="candidates whose name contains one of these words")
    args = ap.parse_args()
    small = frames_of(args.video, args.frames)
    hd = [cv2.resize(f, (1920, 1080), interpolation=cv2.INTER_CUBIC) for f in small]
    rng = np.random.default_rng(0)
    grain = [np.clip(f + rng.normal(0, 2.0, f.shape), 0, 255).astype(np.uint8) for f in hd]
    sets = {"VIDEO scaled up to 1080p": hd, "VIDEO scaled up to 1080p, camera grain (noise sd 2)": grain,
            "bench_compare_playback.py's clip, inverted (its results)": texture(args.frames),
            "VIDEO at its own size": small}
    stop = mp.Event()
    worker = mp.Process(target=_busy, args=(str(args.video), stop), daemon=True) if args.busy else None
    if worker:
        worker.start()
        time.sleep(1.0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-format-") as folder:
            for title, frames in sets.items():
                measure(title, frames, Path(folder), args.repeat, args.only)
    finally:
        if worker:
            stop.set()
            worker.join(5)


if __name__ == "__main__":
    main()
