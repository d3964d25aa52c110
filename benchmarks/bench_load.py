"""Load: a 1-hour 1920x1080 25 fps H.264 clip with audio, opened, sought and inpainted on CPU.

The clip is generated once into --workdir (low-complexity synthetic picture: a static
gradient, a moving box and the frame number burnt in; a 440 Hz AAC tone; libx264
ultrafast with a 250-frame GOP like a camera's) and reused by later runs. Each
measurement runs in a fresh process and reads that child's own peak RSS with os.wait4:

  baseline  python + app.core.video imported, nothing opened (what every run pays);
            baseline-engine: app.core.engine (torch) imported, what the CLI pays before work
  open      VideoReader construction: the demux index of every packet + the first frame;
            open-cold: the same after evicting the clip from the page cache (posix_fadvise)
  seek      30 random frames across the hour (seeded), median / p95 / max latency
  inpaint   `python main.py inpaint CLIP --mask LOGO.png -o OUT.mp4 --fill telea ...`
            stopped with SIGINT after --box seconds (and a run 2x as long); frames/s
            from the CLI's own progress bar (read through a pty), peak RSS.
            inpaint-middle: the same with --start at the middle (the CLI first copies
            the frames before --start through, re-encoding them)
  fill-middle  the core's fill loop (fill_range, telea, encoding behind on a thread)
            from the middle frame for --box seconds: throughput and memory there

    nice -n 15 .venv/bin/python benchmarks/bench_load.py --workdir /tmp --runs 3 --json load.json
    nice -n 15 .venv/bin/python benchmarks/bench_load.py --only generate       # just make the clip
    nice -n 15 .venv/bin/python benchmarks/bench_load.py --delete               # remove the clip

Figures go to docs/LOAD.md.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import pty
import random
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

W, H, FPS = 1920, 1080, 25
GOP = 250
SAMPLE_RATE = 44100
CLIP_NAME = "load_{minutes}min_1080p25.mp4"


# --- the clip -------------------------------------------------------------------------------

def clip_path(workdir: Path, minutes: float) -> Path:
    return Path(workdir) / CLIP_NAME.format(minutes=f"{minutes:g}")


def generate(path: Path, minutes: float) -> dict:
    """Encode the synthetic clip to ``path`` (via a temporary name: a killed run leaves no half file)."""
    import av
    import cv2
    import numpy as np

    n = int(round(minutes * 60 * FPS))
    tmp = path.with_name(path.stem + ".partial.mp4")
    yy, xx = np.mgrid[0:H, 0:W]
    background = (16 + xx * 200 // W + yy * 40 // H).astype(np.uint8)  # luma gradient
    chroma = np.full((H // 2, W), 128, np.uint8)  # U and V planes (H/2 x W/2 each), grey
    per_frame = SAMPLE_RATE // FPS  # 1764 samples of audio per video frame
    t0 = time.monotonic()
    with av.open(str(tmp), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.options = {"preset": "ultrafast", "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"}
        aus = out.add_stream("aac", rate=SAMPLE_RATE)
        audio_pts = 0
        pending = np.zeros(0, np.float32)
        for i in range(n):
            y = background.copy()
            x0 = (i * 8) % (W - 240)
            y[420:660, x0:x0 + 240] = 235
            cv2.putText(y, f"{i:06d}", (80, 180), cv2.FONT_HERSHEY_SIMPLEX, 4, 235, 8)
            frame = av.VideoFrame.from_ndarray(np.concatenate([y, chroma]), format="yuv420p")
            frame.pts = i
            for p in vs.encode(frame):
                out.mux(p)
            t = (np.arange(i * per_frame, (i + 1) * per_frame) / SAMPLE_RATE).astype(np.float64)
            pending = np.concatenate([pending, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)])
            while len(pending) >= 1024:
                af = av.AudioFrame.from_ndarray(pending[None, :1024].copy(), format="flt", layout="mono")
                af.sample_rate, af.pts = SAMPLE_RATE, audio_pts
                audio_pts += 1024
                pending = pending[1024:]
                for p in aus.encode(af):
                    out.mux(p)
            if i % (FPS * 60) == 0:
                print(f"  generating: minute {i // (FPS * 60)} of {minutes:g}, {time.monotonic() - t0:.0f} s",
                      flush=True)
        for p in vs.encode():
            out.mux(p)
        for p in aus.encode():
            out.mux(p)
    os.replace(tmp, path)
    return {"frames": n, "seconds": time.monotonic() - t0, "bytes": path.stat().st_size}


def ensure_clip(workdir: Path, minutes: float) -> Path:
    path = clip_path(workdir, minutes)
    if path.exists():
        print(f"reusing {path} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"generating {path} ...", flush=True)
    info = generate(path, minutes)
    print(f"generated {info['frames']} frames in {info['seconds']:.0f} s, {info['bytes'] / 1e6:.0f} MB", flush=True)
    return path


def logo_mask(path: Path) -> Path:
    """A stationary 'logo' in the top-right corner: 200x80 white on black, the video's size."""
    import cv2
    import numpy as np

    m = np.zeros((H, W), np.uint8)
    m[40:120, W - 260:W - 60] = 255
    cv2.imwrite(str(path), m)
    return path


# --- measurements, each in a fresh process ----------------------------------------------------

def fill_middle(r, mask: Path, out: Path, box_s: float) -> dict:
    """The core's fill loop (what `inpaint` runs on its range and the GUI's Inpaint runs) from the
    middle of the clip, encoding as the CLI does (behind, on a thread), stopped after ``box_s``."""
    from app.core.config import EngineConfig
    from app.core.engine import fill_range
    from app.core.errors import Cancelled
    from app.core.iothreads import BackgroundSink
    from app.core.jobs import CancelToken
    from app.core.masks import load_masks
    from app.core.video import VideoWriter

    start = len(r) // 2
    masks = load_masks(mask, len(r), r.width, r.height)
    samples = []
    t0 = time.perf_counter()
    token = CancelToken()
    threading.Timer(box_s, token.cancel).start()
    writer = VideoWriter(out, r.width, r.height, fps=r.rate)
    sink = BackgroundSink(lambda i, frame: writer.write(frame))
    try:
        fill_range(r, masks, sink, start, len(r), EngineConfig(fill="telea"), cancel=token,
                   progress=lambda p: samples.append((time.perf_counter() - t0, p.done)))
    except Cancelled:
        pass
    sink.abort()
    writer.abort()
    return {"start": start, **rate(samples)}


def rate(samples) -> dict:
    """Frames done and frames/s from (seconds, done) samples; 'steady' leaves out the first 10 s."""
    if not samples:
        return {"frames_done": None, "fps_steady": None, "fps_overall": None, "first_progress_s": None}
    first_t, last_t, last_done = samples[0][0], samples[-1][0], samples[-1][1]
    settled = next((s for s in samples if s[0] >= first_t + 10), samples[0])
    return {"frames_done": last_done, "first_progress_s": first_t,
            "fps_steady": (last_done - settled[1]) / max(1e-9, last_t - settled[0]),
            "fps_overall": last_done / max(1e-9, last_t)}


def child(kind: str, clip: Path, seeks: int, seed: int, box_s: float = 0, mask=None, out_path=None) -> dict:
    """Runs in the child process; prints one JSON line."""
    t0 = time.perf_counter()
    from app.core.video import VideoReader

    out = {"import_s": time.perf_counter() - t0}
    if kind == "baseline":
        return out
    if kind == "baseline-engine":  # what `main.py inpaint` imports before any work (torch)
        import app.core.engine  # noqa: F401

        out["import_s"] = time.perf_counter() - t0
        return out
    if kind == "open-cold":  # drop this file's pages from the page cache (only this file's)
        fd = os.open(clip, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    t0 = time.perf_counter()
    r = VideoReader(clip)
    out.update(open_s=time.perf_counter() - t0, frames=len(r))
    if kind == "seek":
        rng = random.Random(seed)
        latencies = []
        for index in (rng.randrange(len(r)) for _ in range(seeks)):
            t0 = time.perf_counter()
            r[index]
            latencies.append((time.perf_counter() - t0) * 1000)
        out["seek_ms"] = latencies
    if kind == "fill-middle":
        out.update(fill_middle(r, mask, out_path, box_s))
    r.close()
    return out


def run_json_child(cmd: list, env=None) -> dict:
    """Run ``cmd``, parse the JSON of its last stdout line, add its own peak RSS (os.wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's rusage, not every child's so far
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd[:4])} ... failed:\n{err.read().decode(errors='replace')[-3000:]}")
        out.seek(0)
        result = json.loads(out.read().decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def run_child(kind: str, clip: Path, seeks: int = 30, seed: int = 0, *extra) -> dict:
    return run_json_child([sys.executable, __file__, "--child", kind, "--clip", str(clip), "--seeks", str(seeks),
                           "--seed", str(seed), *extra])


PROGRESS = re.compile(rb"(\d+)/(\d+) \[")


def run_cli_boxed(args: list, box_s: float) -> dict:
    """`python main.py ARGS` with stderr on a pty (so the CLI draws its progress bar), stopped
    with SIGINT after ``box_s`` seconds. Returns progress samples (seconds, frames done), the
    exit code and the child's peak RSS."""
    cmd = [sys.executable, str(ROOT / "main.py"), *args]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # tqdm sizes its bar by it
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    samples, tail = [], bytearray()

    def read():
        while True:
            try:
                ready, _, _ = select.select([master], [], [], 1.0)
                if not ready:
                    continue
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the pty
                return
            if not chunk:
                return
            now = time.monotonic() - t0
            tail.extend(chunk)
            del tail[:-4000]
            for m in PROGRESS.finditer(chunk):
                samples.append((now, int(m.group(1)), int(m.group(2))))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    interrupted = killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        elapsed = time.monotonic() - t0
        if elapsed > box_s and not interrupted:
            proc.send_signal(signal.SIGINT)  # the CLI cleans up its partial output and exits 130
            interrupted = True
        elif elapsed > box_s + 60 and not killed:
            proc.kill()
            killed = True
        time.sleep(0.2)
    seconds = time.monotonic() - t0
    reader.join(5)
    os.close(master)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 130) and not killed:
        raise SystemExit(f"CLI failed ({code}):\n{tail.decode(errors='replace')[-2000:]}")
    return {"samples": samples, "seconds": seconds, "exit_code": code, "interrupted": interrupted,
            "peak_rss_mb": usage.ru_maxrss / 1024}


def inpaint_run(clip: Path, mask: Path, out_dir: Path, box_s: float, start: int, end, fill: str) -> dict:
    out = out_dir / "out.mp4"
    args = ["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", fill, "--start", str(start)]
    if end is not None:
        args += ["--end", str(end)]
    r = run_cli_boxed(args, box_s)
    samples = r.pop("samples")
    r.update(command="python main.py " + " ".join(args), box_s=box_s, start=start, fill=fill)
    r.update(rate([(t, done) for t, done, _ in samples]))
    return r


def percentile(values, q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp"), help="where the clip is made (kept for reuse)")
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--runs", type=int, default=3, help="runs of the open and seek measurements (median)")
    ap.add_argument("--seeks", type=int, default=30)
    ap.add_argument("--box", type=float, default=120, help="seconds of CLI inpaint; a second run gets twice that")
    ap.add_argument("--box-runs", type=int, default=2, help="runs of the --box inpaint (median)")
    ap.add_argument("--fill", default="telea", help="--fill for the CLI (telea: no weights needed)")
    ap.add_argument("--only", default="generate,baseline,open,open-cold,seek,inpaint,inpaint-middle,fill-middle",
                    help="comma-separated steps")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--delete", action="store_true", help="delete the generated clip and exit")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--clip", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--mask", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.clip, args.seeks, args.seed, args.box, args.mask, args.out)),
              flush=True)
        return
    path = clip_path(args.workdir, args.minutes)
    if args.delete:
        path.unlink(missing_ok=True)
        print(f"deleted {path}")
        return
    steps = args.only.split(",")
    clip = ensure_clip(args.workdir, args.minutes)
    report = {"clip": {"path": str(clip), "bytes": clip.stat().st_size, "minutes": args.minutes,
                       "size": f"{W}x{H}", "fps": FPS, "gop": GOP},
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version()}}

    def runs_of(kind):
        rs = []
        for k in range(args.runs):
            rs.append(run_child(kind, clip, args.seeks, seed=k))
            print(f"{kind} run {k + 1}: " + ", ".join(f"{key} {v:.3f}" for key, v in rs[-1].items()
                                                     if isinstance(v, float)), flush=True)
        return rs

    if "baseline" in steps:
        for kind in ("baseline", "baseline-engine"):
            rs = runs_of(kind)
            report[kind] = {"peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs),
                            "import_s": statistics.median(r["import_s"] for r in rs)}
    for kind in ("open", "open-cold"):
        if kind in steps:
            rs = runs_of(kind)
            report[kind] = {"median_s": statistics.median(r["open_s"] for r in rs),
                            "runs_s": [r["open_s"] for r in rs], "frames": rs[0]["frames"],
                            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs)}
    if "seek" in steps:
        rs = runs_of("seek")
        every = [ms for r in rs for ms in r["seek_ms"]]
        report["seek"] = {"seeks": len(every), "median_ms": statistics.median(every),
                          "p95_ms": percentile(every, 0.95), "max_ms": max(every),
                          "per_run_median_ms": [statistics.median(r["seek_ms"]) for r in rs],
                          "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs)}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        mask = logo_mask(tmp / "logo.png")
        if "inpaint" in steps:
            runs = []
            for box in [args.box] * args.box_runs + [2 * args.box]:
                r = inpaint_run(clip, mask, tmp, box, 0, None, args.fill)
                print(f"inpaint {box:.0f} s box: {r['frames_done']} frames, steady {r['fps_steady'] or 0:.2f} frames/s, "
                      f"peak {r['peak_rss_mb']:.0f} MB", flush=True)
                runs.append(r)
            short, long = runs[:-1], runs[-1]
            report["inpaint"] = {
                "box_s": args.box, "fps_steady_median": statistics.median(r["fps_steady"] or 0 for r in short),
                "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in short),
                "double_box": {"fps_steady": long["fps_steady"], "peak_rss_mb": long["peak_rss_mb"],
                               "frames_done": long["frames_done"]},
                "runs": runs}
        if "inpaint-middle" in steps:
            middle = int(args.minutes * 60 * FPS) // 2
            r = inpaint_run(clip, mask, tmp, args.box, middle, middle + 60 * FPS, args.fill)
            print(f"inpaint from the middle (frame {middle}), {args.box:.0f} s box: progress "
                  f"{r['frames_done']}, peak {r['peak_rss_mb']:.0f} MB", flush=True)
            report["inpaint_middle"] = r
        if "fill-middle" in steps:
            r = run_child("fill-middle", clip, 0, 0, "--box", str(args.box), "--mask", str(mask),
                          "--out", str(tmp / "middle.mp4"))
            print(f"core fill from frame {r['start']}, {args.box:.0f} s box: {r['frames_done']} frames, "
                  f"steady {r['fps_steady'] or 0:.2f} frames/s, peak {r['peak_rss_mb']:.0f} MB", flush=True)
            report["fill_middle"] = r
    print(json.dumps(report, indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
