"""Do pixels left alone come out of an export as they went in? YUV of the source against the export's.

Twenty frames of bmx-trees (432x240) are written losslessly as a source, untagged (BT.601, what
the writer assumes) and as a BT.709-tagged file (what phones and cameras record); each is read
with ``VideoReader`` and written back with ``VideoWriter``, losslessly (crf 0: the conversions
alone) and at the default quality (crf 18), and the decoded YUV planes are compared: PSNR per
plane and the mean luma shift. ``before`` is the writer as it was: the source's colour ignored
(BT.601 matrix, untagged) and swscale's default flags.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_colour.py [--clips ../shared/data/clips]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "core"))

from app.core import video  # noqa: E402
from test_colour import planes_and_tags, psnr, write_source  # noqa: E402


def export(src: Path, out: Path, crf: int, before: bool) -> None:
    flags = video.WRITE_EXACT
    if before:
        video.WRITE_EXACT = int(av.video.reformatter.Interpolation.BILINEAR)
    try:
        with video.VideoReader(src) as r:
            preset = "ultrafast" if crf == 0 else "medium"
            with video.VideoWriter(out, r.width, r.height, fps=r.rate, crf=crf, preset=preset,
                                   colour=None if before else r.colour) as w:
                for frame in r:
                    w.write(frame)
    finally:
        video.WRITE_EXACT = flags


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    a = ap.parse_args(argv)
    files = sorted((a.clips / "bmx-trees").glob("*.jpg"))[:20]
    frames = [cv2.resize(cv2.imread(str(f))[..., ::-1], (432, 240)).copy() for f in files]
    print("| source | crf | writer | PSNR Y / U / V (dB) | mean luma shift |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, cs in (("untagged (BT.601)", None), ("BT.709-tagged", 1)):
            src = write_source(tmp / f"src{cs}.mp4", frames, cs, 1 if cs else None)
            a_planes, _ = planes_and_tags(src)
            h = a_planes[0].shape[0] * 2 // 3
            q = h // 4
            for crf in (0, 18):
                for before in (True, False):
                    out = tmp / f"out{cs}_{crf}_{before}.mp4"
                    export(src, out, crf, before)
                    b_planes, _ = planes_and_tags(out)
                    ys = np.mean([psnr(x[:h], y[:h]) for x, y in zip(a_planes, b_planes)])
                    us = np.mean([psnr(x[h:h + q], y[h:h + q]) for x, y in zip(a_planes, b_planes)])
                    vs = np.mean([psnr(x[h + q:], y[h + q:]) for x, y in zip(a_planes, b_planes)])
                    dy = np.mean([(y[:h] - x[:h]).mean() for x, y in zip(a_planes, b_planes)])
                    print(f"| {label} | {crf} | {'before' if before else '**now**'} | {ys:.1f} / {us:.1f} / {vs:.1f} "
                          f"| {dy:+.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
