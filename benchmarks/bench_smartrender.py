"""Exporting a short removal from a long clip: copying the unchanged GOPs against encoding every frame.

The source is a minute of 1280x720 H.264 at 25 fps (``--fps``) (bmx-trees' frames, scaled up and looped, with
a second of sound a second; x264's defaults as a camera or phone writes them: a keyframe every 250
frames, B-frames). A box is removed from two seconds in the middle (frames 700-749, Telea fill over
that range), and the clip is exported with ``inpaint_video`` at crf 18, preset medium:

* ``every frame``: ``copy_unchanged=False``, every frame encoded again (the export as it was);
* ``copied``: only the GOPs that hold a masked frame are encoded again, the rest copied.

``--codec hevc``: the source is HEVC instead (x265's defaults but closed GOPs, as phones write them:
IDR keyframes up to 250 frames apart, B-frames); the runs are encoded with x265, and ``every frame``
gives H.264 as before.

Figures: the export's seconds (median of ``--runs``), frames encoded, the PSNR against the source's
decoded frames of the frames more than 100 away from the removal, the frames (of all) identical to
the source's, and the file's size.

``--source PATH``: any video file's frames instead of bmx-trees', at their own size (cropped to even), looped
the same way into the source; the removal's box is then ``BOX`` scaled to that size. ``--at FIRST``: the
removal's first frame (700 by default, or the last 50 frames of a source shorter than 750).

``--crfs 18 20 22``: instead, one ``copied`` export for each crf given on the runs' encoder's own scale
(x265's with ``--codec hevc``: the app's crf is x264's, and ``smartrender.X265_CRF_OFFSET`` is taken
off), measuring the re-encoded frames only: their Y PSNR against the source's decoded frames outside
the removal's box (grown by ``MARGIN`` pixels on the removal's frames; elsewhere every pixel), i.e.
the encoder's own loss, the lowest frame's, their Y SSIM (``metrics.ssim_map``: Gaussian window, sigma 1.5) over
the same pixels and the lowest frame's, and their bytes per frame against the source's packets of
the same frames; ``--x264 18`` besides, for an HEVC source, the same frames of the whole export at
x264 crf 18 (H.264 out): the same source through the other encoder. ``--seconds 32`` keeps the
minute's GOPs around the removal (frames 700-749).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_smartrender.py [--clips ../shared/data/clips] [--runs 3]
        [--fps 30] [--only copied] [--codec hevc] [--seconds 32 --crfs 18 20 22 24 [--x264 18]]
        [--source ../shared/data/train/cotracker_cat.mp4 --seconds 20 --at 300]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from app.core.engine import EngineConfig, inpaint_video  # noqa: E402
from app.core.masks import MaskStore  # noqa: E402
from app.core.metrics import ssim_map  # noqa: E402
from app.core.smartrender import X265_CRF_OFFSET, plan  # noqa: E402
from app.core.video import VideoReader, open_video  # noqa: E402
from mediafiles import encode_audio  # noqa: E402

W, H = 1280, 720  # the default source's size (bmx-trees' frames scaled up)
BOX = (slice(300, 420), slice(560, 720))  # the removal's box (rows, columns) at W x H
MARGIN = 32  # pixels around the box the fill may touch (the mask's dilation, Telea's reach)


def box_at(width: int, height: int) -> tuple[slice, slice]:
    """``BOX`` scaled to a ``width`` x ``height`` frame (``BOX`` itself at W x H)."""
    return (slice(BOX[0].start * height // H, BOX[0].stop * height // H),
            slice(BOX[1].start * width // W, BOX[1].stop * width // W))


def make_source(path: Path, clip: Path, seconds: int, fps: int = 25, codec: str = "h264",
                native: bool = False) -> tuple[int, int, int]:
    """``seconds`` of ``clip``'s frames (scaled to W x H, or at their own size cropped to even with
    ``native``), back and forth, written to ``path``; its frame count, width and height."""
    with open_video(clip) as r:
        frames = [np.ascontiguousarray(f[:f.shape[0] // 2 * 2, :f.shape[1] // 2 * 2]) if native
                  else cv2.resize(f, (W, H), interpolation=cv2.INTER_CUBIC) for f in r]
    height, width = frames[0].shape[:2]
    n = seconds * fps
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx265" if codec == "hevc" else "libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"crf": "20", "preset": "veryfast"}
        if codec == "hevc":  # (x265's GOPs are open by default, which the copy cannot keep)
            s.options["x265-params"] = "open-gop=0:log-level=error"
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        for i in range(n):
            k = i % (2 * len(frames) - 2)  # back and forth, no jump
            vf = av.VideoFrame.from_ndarray(frames[k if k < len(frames) else 2 * len(frames) - 2 - k], format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
        encode_audio(out, a, (np.sin(np.arange(48000 * seconds) / 9) * 0.2).astype(np.float32), "fltp", 48000)
    return n, width, height


def video_frames(path: Path) -> tuple[list[np.ndarray], dict[int, int]]:
    """The luma planes of ``path``'s frames, in order, and each frame's packet bytes by frame index."""
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        sizes = {p.pts: p.size for p in c.demux(st) if p.dts is not None and p.size}
    order = {pts: i for i, pts in enumerate(sorted(sizes))}
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        luma = [f.to_ndarray()[:f.height] for f in c.decode(video=0)]  # (yuv420p: the Y plane's rows first)
    return luma, {order[pts]: size for pts, size in sizes.items()}


def reencoded_quality(src: Path, out: Path, spans, first: int, last: int) -> tuple[float, ...]:
    """(Y PSNR over the re-encoded frames outside the removal, the lowest frame's, their mean Y SSIM, the
    lowest frame's, their bytes per frame, the source's bytes per frame for the same frames)."""
    a, a_bytes = video_frames(src)
    b, b_bytes = video_frames(out)
    assert len(a) == len(b), (len(a), len(b))
    rows, cols = box_at(a[0].shape[1], a[0].shape[0])
    keep = np.ones(a[0].shape, bool)
    keep[max(0, rows.start - MARGIN):rows.stop + MARGIN, max(0, cols.start - MARGIN):cols.stop + MARGIN] = False
    errs, sims, out_bytes, src_bytes = [], [], 0, 0
    for i in (i for s, e in spans for i in range(s, e)):
        where = keep if first <= i < last else ...
        errs.append(np.mean(((a[i].astype(np.float64) - b[i]) ** 2)[where]))
        sims.append(np.mean(ssim_map(a[i], b[i])[where]))
        out_bytes, src_bytes = out_bytes + b_bytes[i], src_bytes + a_bytes[i]
    db = lambda e: 10 * np.log10(255 ** 2 / max(e, 1e-12))  # noqa: E731
    count = len(errs)
    return db(np.mean(errs)), db(max(errs)), np.mean(sims), min(sims), out_bytes / count, src_bytes / count


def crf_sweep(src: Path, tmp: Path, masks, first: int, last: int, codec: str, crfs, x264_too: int = 0) -> None:
    with VideoReader(src) as r:
        p, why = plan(r, range(first, last))
    assert p is not None, why
    offset = X265_CRF_OFFSET if codec == "hevc" else 0
    enc = "x265" if codec == "hevc" else "x264"
    print(f"re-encoded: frames {', '.join(f'{a}-{b - 1}' for a, b in p.spans)} ({p.frames} frames)")
    print(f"| {enc} crf | app crf | seconds | Y PSNR outside the removal (dB) | lowest frame's (dB) | Y SSIM | "
          "lowest frame's | bytes/frame, re-encoded | bytes/frame, source | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def row(label, name: str, crf: int, copy: bool) -> None:
        """One export at the app's ``crf`` into ``tmp / name`` and its row of the table."""
        out = tmp / name
        t = time.perf_counter()
        result = inpaint_video(src, masks, out, config=EngineConfig(fill="telea"), start=first, end=last,
                               crf=crf, copy_unchanged=copy)
        seconds = time.perf_counter() - t
        if copy:
            assert result.copied == p.total - p.frames, "the export did not copy as planned"
        psnr, low, sim, sim_low, out_b, src_b = reencoded_quality(src, out, p.spans, first, last)
        print(f"| {label} | {crf} | {seconds:.1f} | {psnr:.2f} | {low:.2f} | {sim:.4f} | {sim_low:.4f} | "
              f"{out_b:,.0f} | {src_b:,.0f} | {out_b / src_b:.2f} |", flush=True)

    for crf in crfs:
        row(crf, f"crf{crf}.mp4", crf - offset, True)
    if codec == "hevc" and x264_too:  # the same frames through x264 (the whole export, H.264 out)
        row(f"x264 {x264_too}, every frame", "x264.mp4", x264_too, False)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--source", type=Path, help="a video file whose frames (at their own size, looped back and "
                                                "forth) make the source instead of bmx-trees' at 1280x720")
    ap.add_argument("--at", type=int, metavar="FIRST",
                    help="the removal's first frame (of 50; default 700, or the last 50 of a shorter source)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--fps", type=int, default=25,
                    help="the source's rate (at 30, 24 or 12 the removal starts between two milliseconds)")
    ap.add_argument("--only", choices=("every frame", "copied"), help="run one of the two exports")
    ap.add_argument("--codec", choices=("h264", "hevc"), default="h264", help="the source's codec")
    ap.add_argument("--crfs", type=int, nargs="+",
                    help="the runs' encoder's crf (x265's scale for hevc): one copied export each, the "
                         "re-encoded frames' quality and bytes")
    ap.add_argument("--x264", type=int, default=0, metavar="CRF",
                    help="with --codec hevc --crfs: the same frames of an export encoding every frame (x264 at "
                         "this crf, H.264 out) besides, on the same source")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "minute.mp4"
        n, width, height = make_source(src, args.source or args.clips / "bmx-trees", args.seconds, args.fps,
                                       args.codec, native=args.source is not None)
        first = args.at if args.at is not None else 700 if n >= 750 else n - 50
        last = first + 50
        if not 0 <= first < last <= n:
            ap.error(f"the removal (frames {first}-{last - 1}) is not inside the source's {n} frames")
        masks = MaskStore(n, width, height)
        box = np.zeros((height, width), bool)
        box[box_at(width, height)] = True
        for i in range(first, last):
            masks.set(i, box)
        print(f"source: {args.source.name if args.source else 'bmx-trees'}, {n} frames {width}x{height} "
              f"{args.codec} at {args.fps} fps, removal in frames {first}-{last - 1}")
        if args.crfs:
            crf_sweep(src, tmp, masks, first, last, args.codec, args.crfs, args.x264)
            return
        print("| export | seconds | frames encoded | PSNR away from the removal (dB) | frames identical | MB |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, copy in (("every frame", False), ("copied", True)):
            if args.only not in (None, name):
                continue
            out = tmp / f"out-{copy}.mp4"
            times, result = [], None
            for _ in range(args.runs):
                t = time.perf_counter()
                result = inpaint_video(src, masks, out, config=EngineConfig(fill="telea"), start=first, end=last,
                                       copy_unchanged=copy)
                times.append(time.perf_counter() - t)
            err, same, count = 0.0, 0, 0
            with VideoReader(src) as a, VideoReader(out) as b:
                for i, (x, y) in enumerate(zip(a, b)):
                    d = np.mean((x.astype(np.float64) - y) ** 2)
                    same += d == 0
                    if not first - 100 <= i < last + 100:
                        err, count = err + d, count + 1
            psnr = "identical" if err == 0 else f"{10 * np.log10(255 ** 2 / (err / count)):.1f}"
            print(f"| {name} | {statistics.median(times):.1f} | {n - result.copied} | {psnr} | {same} of {n} | "
                  f"{out.stat().st_size / 2 ** 20:.1f} |")


if __name__ == "__main__":
    main()
