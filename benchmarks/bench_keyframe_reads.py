"""Reads at random and further on in long H.264 files: how long ``VideoReader`` takes, how much it
decodes, and whether each frame is right.

``--make`` writes 640x360 H.264 files of ``--frames`` frames (a textured pan, 25 fps, three
B-frames): MP4s with closed GOPs of 250 (x264's default) and of 25, one with open GOPs of 24 (three
B-frames shown before each keyframe, decoded after it), and the GOPs of 25 in Matroska. Each is then
read, by a fresh reader each run, in three patterns:

- ``random``: ``--reads`` frames picked at random over the whole file;
- ``forward``: frames forward from 0 by random steps of 1 to 240 (scrubbing on), to the end;
- ``step3``: every third frame of the first 600 (a job reading its reference frames).

``decoded`` counts the frames the reader's decoder gave (``VideoReader._decode_packets``): the work,
whatever the load of a shared machine; ``wrong``, the reads whose picture differs from the frame
decoded in order. Median of ``--runs`` runs (each the same reads) of the wall clock and of the
process's CPU time, printed as JSON lines. Against two trees (``PYTHONPATH``) for a before / after:

    .venv/bin/python benchmarks/bench_keyframe_reads.py /tmp/kf --make
    PYTHONPATH=/tmp/before .venv/bin/python benchmarks/bench_keyframe_reads.py /tmp/kf --runs 5
    .venv/bin/python benchmarks/bench_keyframe_reads.py /tmp/kf --runs 5
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import av
import numpy as np

if not any(Path(p, "app", "core", "video.py").exists() for p in sys.path if p):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.video import VideoReader  # noqa: E402

FILES = {"gop250.mp4": "keyint=250:min-keyint=250:scenecut=0:bframes=3",
         "gop25.mp4": "keyint=25:min-keyint=25:scenecut=0:bframes=3",
         "gop24-open.mp4": "keyint=24:min-keyint=24:scenecut=0:bframes=3:open-gop=1",
         "gop25.mkv": "keyint=25:min-keyint=25:scenecut=0:bframes=3"}


def make(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    w, h = 640, 360
    # (a coarse texture panning 2 px a frame)
    rng = np.random.default_rng(0)
    big = np.kron(rng.integers(0, 255, (h // 8, (w + 2 * n) // 8 + 1, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
    for name, params in FILES.items():
        if (folder / name).exists():
            continue
        with av.open(str(folder / name), "w") as out:
            s = out.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"preset": "veryfast", "crf": "23", "x264-params": params}
            for i in range(n):
                f = av.VideoFrame.from_ndarray(np.ascontiguousarray(big[:, 2 * i:2 * i + w]), format="rgb24")
                f.pts = i
                for p in s.encode(f):
                    out.mux(p)
            for p in s.encode():
                out.mux(p)


def digests(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [hash(f.to_ndarray(format="rgb24").tobytes()) for f in c.decode(video=0)]


def pattern(kind: str, n: int, reads: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    if kind == "random":
        return [rng.randrange(n) for _ in range(reads)]
    if kind == "step3":
        return list(range(0, min(n, 600), 3))
    out, i = [], 0
    while i < n:
        out.append(i)
        i += rng.randint(1, 240)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--make", action="store_true")
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reads", type=int, default=40)
    a = ap.parse_args(argv)
    if a.make:
        make(a.folder, a.frames)
        return 0
    decoded = [0]
    plain = VideoReader._decode_packets

    def counted(self):
        for frame in plain(self):
            decoded[0] += 1
            yield frame

    VideoReader._decode_packets = counted
    for name in FILES:
        path = a.folder / name
        truth = digests(path)
        for kind in ("random", "forward", "step3"):
            times, cpu, wrong = [], [], 0
            for run in range(a.runs):
                order = pattern(kind, len(truth), a.reads, 0)  # (the same reads each run)
                with VideoReader(path) as r:
                    decoded[0] = 0
                    t0, c0 = time.perf_counter(), time.process_time()
                    got = [hash(r.read(i).tobytes()) for i in order]
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    count = decoded[0]
                wrong += sum(g != truth[i] for g, i in zip(got, order))
            print(json.dumps({"file": name, "pattern": kind, "reads": len(order),
                              "median_s": round(statistics.median(times), 3), "cpu_s": round(statistics.median(cpu), 3),
                              "runs_s": [round(t, 3) for t in times], "decoded": count, "wrong": wrong}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
