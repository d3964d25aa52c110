"""Do the pixels left alone in an export of 10-bit video (an iPhone's HDR, a camera's log footage)
keep their values? The source's Y plane against the export's, on the 10-bit scale.

Two 10-bit HEVC sources, tagged BT.2020 / HLG like an iPhone's: ``ramp`` (a sky-like ramp over
few 8-bit levels, where 8 bits band) and ``bmx`` (twenty frames of bmx-trees, 432x240, raised to
10 bits with a smooth sub-8-bit shading). Each is exported the way the application does
(``inpaint_video``, Telea fill of a box in the middle, crf 18, preset medium) three ways:

* ``before``: as it was: frames read through swscale's direct 10-bit -> rgb24 path, 8-bit H.264;
* ``8-bit``: frames read through 16-bit RGB rounded to 8 bits (the reader now), 8-bit H.264;
* ``10-bit``: the export now: 10-bit HEVC with the source's own values where a frame is unchanged.

Figures, outside the box: mean |dY| and PSNR (peak 1023), the mean Y shift, the distinct Y values
of the first frame against the source's; and the export's seconds (median of ``--runs``) and size.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_depth.py [--clips ../shared/data/clips] [--runs 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import video  # noqa: E402
from app.core.engine import EngineConfig, inpaint_video  # noqa: E402
from app.core.masks import MaskStore  # noqa: E402


def ramp_frames(n=20, w=432, h=240):
    yy, xx = np.mgrid[:h, :w]
    for i in range(n):
        g = 18000 + 4000 * (xx + 3 * i) / w + 1500 * yy / h
        yield np.stack([0.85 * g, 0.95 * g, 1.15 * g], -1).astype(np.uint16)


def clip_frames(clip: Path, n=20):
    with video.open_video(clip) as r:
        h, w = r.height, r.width
        yy, xx = np.mgrid[:h, :w]
        shade = (128 * (np.sin(xx / 37.0) + np.cos(yy / 23.0)) + 256)[..., None]  # 0..512 of 65535: sub-8-bit
        for i in range(min(n, len(r))):
            yield np.clip(r[i].astype(np.float64) * 255 + shade, 0, 65535).astype(np.uint16)


def write_source(path: Path, frames) -> int:
    n = 0
    with av.open(str(path), "w") as out:
        s = None
        for i, rgb in enumerate(frames):
            if s is None:
                s = out.add_stream("libx265", rate=25)
                s.height, s.width = rgb.shape[:2]
                s.pix_fmt = "yuv420p10le"
                s.options = {"crf": "0", "preset": "ultrafast", "x265-params": "log-level=error:lossless=1"}
                cc = s.codec_context
                cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = 9, 1, 9, 18
            f = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(
                format="yuv420p10le", dst_colorspace=9, dst_color_range=1, interpolation=video.WRITE_EXACT)
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
            n += 1
        for p in s.encode():
            out.mux(p)
    return n


def luma10(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        out = []
        for f in c.decode(video=0):
            if f.format.name == "yuv420p10le":
                out.append(f.to_ndarray(format="yuv420p10le")[:f.height].astype(np.int64))
            else:
                out.append(f.to_ndarray(format="yuv420p")[:f.height].astype(np.int64) * 4)
    return out


def export(src: Path, out: Path, n: int, way: str) -> float:
    with video.VideoReader(src) as r:
        w, h = r.width, r.height
    m = np.zeros((h, w), bool)
    m[h // 3:2 * h // 3, w // 3:2 * w // 3] = True
    masks = MaskStore(n, w, h)
    for i in range(n):
        masks.set(i, m)
    init, wide = video.VideoWriter.__init__, video.VideoReader.__init__

    def writer8(self, *a, **k):
        init(self, *a, **{**k, "depth": 8})

    def reader_before(self, *a, **k):
        # the reader as it was: no 16-bit RGB, swscale's direct path to rgb24
        wide(self, *a, **k)
        self._wide = False

    try:
        if way != "10-bit":
            video.VideoWriter.__init__ = writer8
        if way == "before":
            video.VideoReader.__init__ = reader_before
        t = time.perf_counter()
        inpaint_video(src, masks, out, config=EngineConfig(fill="telea"))
        return time.perf_counter() - t
    finally:
        video.VideoWriter.__init__, video.VideoReader.__init__ = init, wide


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sources = {"ramp": ramp_frames()}
        clip = args.clips / "bmx-trees"
        if clip.exists():
            sources["bmx"] = clip_frames(clip)
        print("| source | export | mean abs dY (10-bit) | PSNR Y dB | mean dY | Y values, frame 0 | seconds | size KB |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, frames in sources.items():
            src = tmp / f"{name}.mp4"
            n = write_source(src, frames)
            src_y = luma10(src)
            h, w = src_y[0].shape
            keep = np.ones((h, w), bool)
            keep[h // 3:2 * h // 3, w // 3:2 * w // 3] = False
            for way in ("before", "8-bit", "10-bit"):
                out = tmp / f"{name}-{way}.mp4"
                secs = statistics.median(export(src, out, n, way) for _ in range(args.runs))
                ys = luma10(out)
                d = np.concatenate([(o - s)[keep] for s, o in zip(src_y, ys)]).astype(np.float64)
                psnr = 10 * np.log10(1023 ** 2 / max(np.mean(d ** 2), 1e-12))
                levels = f"{len(np.unique(ys[0][keep]))} / {len(np.unique(src_y[0][keep]))}"
                print(f"| {name} | {way} | {np.abs(d).mean():.2f} | {psnr:.1f} | {d.mean():+.2f} | {levels} | "
                      f"{secs:.2f} | {out.stat().st_size / 1024:.0f} |")


if __name__ == "__main__":
    main()
