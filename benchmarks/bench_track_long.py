"""Click to remove on a long 1080p clip in the real main window (offscreen): click, commit, track
(cancelled part way, then again), scrub, per-action costs (cProfile), a correction in the middle
and tracking again, save, autosave, reopen. Event-loop gaps come from bench_gui_responsiveness's
Probe (10 ms timer), memory from a 0.5 s RSS sampler. One run, JSON to OUT (and OUT.*.prof.txt).

Make the clip first (schoolgirls upscaled to 1920x1080 and played forth and back; never in the
repository):

    .venv/bin/python benchmarks/bench_track_long.py --make-clip /tmp/sg2000.mp4 2000
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_track_long.py /tmp/sg2000.mp4 1500 200 /tmp/long.json

Arguments: CLIP, END (track frames 0..END-1), CANCEL_AT (cancel the first run after this many
frames; 0: no cancelled run), OUT. The click (572, 593) is on the left girl. Figures: docs/LOAD.md.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QTimer, QPointF, Qt
from PySide6.QtTest import QTest
from bench_gui_responsiveness import Probe, cpu_window, wait, spin, summary
from app.ui.statusbar import rss_bytes
import numpy as np


def make_clip(out: str, n: int) -> None:
    """schoolgirls.mp4 (432x240, 80 frames) upscaled to 1920x1080 and played forth and back to ``n`` frames."""
    import av
    import cv2

    with av.open(str(ROOT.parent / "shared/data/clips/schoolgirls.mp4")) as src:
        frames = [cv2.resize(f.to_ndarray(format="rgb24"), (1920, 1080)) for f in src.decode(video=0)]
    seq = frames + frames[-2:0:-1]
    with av.open(out, "w", format="mp4") as dst:
        vs = dst.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 1920, 1080, "yuv420p"
        vs.options = {"preset": "ultrafast", "x264-params": "keyint=250:min-keyint=250:scenecut=0"}
        for i in range(n):
            f = av.VideoFrame.from_ndarray(seq[i % len(seq)], format="rgb24")
            f.pts = i
            for p in vs.encode(f):
                dst.mux(p)
        for p in vs.encode():
            dst.mux(p)


if sys.argv[1] == "--make-clip":
    make_clip(sys.argv[2], int(sys.argv[3]))
    sys.exit(0)

CLIP = sys.argv[1]
END = int(sys.argv[2])
CANCEL_AT = int(sys.argv[3])
OUT = sys.argv[4]
CX, CY = 572, 593
app, w, tmp = cpu_window("scale-gui-")
probe = Probe(app)
rss = []
rt = QTimer()
rt.timeout.connect(lambda: rss.append((time.perf_counter(), rss_bytes() / 2**20)))
rt.start(500)
res = {"clip": CLIP, "range_end": END}
p, seg, eng = w.project, w.segment, w.controller.engine
progress = []
eng.progress.connect(lambda job, pr: progress.append((time.perf_counter(), pr.done, pr.total, pr.eta)))
ended = []
seg.trackFinished.connect(lambda r: ended.append(("finished", time.perf_counter(), r)))
eng.cancelled.connect(lambda job: ended.append(("cancelled", time.perf_counter(), None)))
eng.failed.connect(lambda job, m: ended.append(("failed", time.perf_counter(), m)))


def phase(name):
    probe.start(name)
    return time.perf_counter()


def mark_rss():
    return round(rss_bytes() / 2**20, 1)


phase("idle")
spin(app, 0.3)
res["rss_start"] = mark_rss()
t = phase("open")
w.open_path(CLIP)
wait(app, lambda: p.cached_frame(0) is not None, 30)
res["open_s"] = time.perf_counter() - t
res["rss_opened"] = mark_rss()
p.set_range(0, END)
# click + commit
w.tools.set_tool("segment")
got = []
seg.candidatesChanged.connect(lambda: got.append(time.perf_counter()))
t = phase("click")
QTest.mouseClick(
    w.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, w.canvas.to_widget(QPointF(CX, CY)).toPoint()
)
wait(app, lambda: got and seg.tool.candidates, 120)
res["click_s"] = got[-1] - t
QTest.keyClick(w.canvas, Qt.Key.Key_Return)
spin(app, 0.2)
res["committed_px"] = int(p.masks.get(0).sum())


def run_track(name, cancel_at=None):
    n0 = len(ended)
    progress.clear()
    r0 = len(rss)
    t = phase(name)
    job = seg.track()
    assert job is not None
    t_cancel = None

    def done():
        return len(ended) > n0

    if cancel_at is not None:
        wait(app, lambda: (progress and progress[-1][1] >= cancel_at) or done(), 3600)
        t_cancel = time.perf_counter()
        w.controller.cancel()
    wait(app, done, 3600)
    kind, t_end, r = ended[-1]
    out = {"kind": kind, "wall_s": t_end - t, "reports": len(progress)}
    if progress:
        out["frames_done"] = progress[-1][1]
        out["total"] = progress[-1][2]
        first = progress[0][0] - t
        out["first_report_s"] = first
        dts = [b[0] - a[0] for a, b in zip(progress, progress[1:])]
        out["report_gap_max_s"] = max(dts) if dts else None
        fr = [(a, d) for a, d, _, _ in progress]
        if len(fr) > 20:
            a, b = fr[len(fr) // 10], fr[-1]
            out["s_per_frame_steady"] = (b[0] - a[0]) / max(1, b[1] - a[1])
        etas = [(round(a - t, 1), round(e or 0, 1)) for a, _, _, e in progress[:: max(1, len(progress) // 8)]]
        out["eta_samples(t,eta)"] = etas
        out["tail_after_last_report_s"] = t_end - progress[-1][0]
    if t_cancel is not None:
        out["cancel_latency_s"] = t_end - t_cancel
    out["rss_series"] = [round(v) for _, v in rss[r0 :: max(1, (len(rss) - r0) // 12)]]
    out["rss_peak"] = max(v for _, v in rss[r0:]) if len(rss) > r0 else mark_rss()
    out["undo_count"] = p.undo.count()
    out["masked_frames"] = len(p.masks.masked_frames())
    if isinstance(r, dict):  # (long lists as their length)
        r = {k: (v if not isinstance(v, list) or len(v) < 10 else f"{len(v)} items") for k, v in r.items()}
    out["result"] = r
    return out


if CANCEL_AT > 0:
    res["track_cancel"] = run_track("track1", CANCEL_AT)
res["track_full"] = run_track("track2")
res["flagged"] = len(seg.flagged)

# scrub: 40 random tracked frames, each waiting for its picture
random.seed(1)
lat = []
t = phase("scrub")
for _ in range(40):
    i = random.randrange(0, END)
    t0 = time.perf_counter()
    w.timeline.bar.frameClicked.emit(i)
    wait(app, lambda: p.cached_frame(i) is not None and w.canvas.frame_index == i, 30)
    lat.append((time.perf_counter() - t0) * 1000)
res["scrub_ms"] = summary(lat)


# per-action costs on the GUI thread (cProfile)
def prof(name, fn, n=20):
    pr = cProfile.Profile()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        pr.enable()
        fn()
        pr.disable()
        ts.append((time.perf_counter() - t0) * 1000)
    s = pstats.Stats(pr)
    s.sort_stats("cumulative")
    import io

    buf = io.StringIO()
    s.stream = buf
    s.print_stats(12)
    Path(OUT).with_suffix(f".{name}.prof.txt").write_text(buf.getvalue())
    return {"median_ms": round(statistics.median(ts), 2), "max_ms": round(max(ts), 2)}


phase("perframe")
k = [0]


def step():
    k[0] += 1
    p.set_current((k[0] * 37) % END)


res["set_current"] = prof("set_current", step)
res["timeline_repaint"] = prof("timeline_repaint", lambda: w.timeline.bar.repaint())
res["next_flagged"] = prof("next_flagged", lambda: seg.go_to_flagged(1))

# correction in the middle: a brush stroke (frame scope) on frame END//2, then track again
mid = END // 2
p.set_current(mid)
spin(app, 0.3)
m = p.masks.get(mid)
ys, xs = np.nonzero(m)
cy, cx = int(ys.mean()), int(xs.mean())
stroke = m.copy()
stroke[cy - 40 : cy + 40, cx + 100 : cx + 180] = True
t0 = time.perf_counter()
pr = cProfile.Profile()
pr.enable()
p.edit_mask(stroke, "frame", "Paint")
app.processEvents()
pr.disable()
res["stroke_ms"] = (time.perf_counter() - t0) * 1000
import io

buf = io.StringIO()
s = pstats.Stats(pr, stream=buf)
s.sort_stats("cumulative").print_stats(15)
Path(OUT).with_suffix(".stroke.prof.txt").write_text(buf.getvalue())
res["retrack"] = run_track("track3")

# save / reopen / autosave
proj = tmp / "long.sttnproj"
t0 = time.perf_counter()
p.save(proj)
res["save_s"] = time.perf_counter() - t0
res["files"] = {f.name: f.stat().st_size for f in tmp.iterdir() if f.is_file()}
p.mark_dirty()
t = phase("autosave")
t0 = time.perf_counter()
w.autosaver.save_now()
res["autosave_gui_s"] = time.perf_counter() - t0  # the snapshot; the files are written on a thread
wait(app, lambda: not w.autosaver.writing, 60)
res["autosave_s"] = time.perf_counter() - t0
spin(app, 0.2)
p.undo.setClean()
p._dirty = False
t = phase("reopen")
t0 = time.perf_counter()
ok = w.open_path(proj)
wait(app, lambda: p.cached_frame(p.current) is not None, 60)
res["reopen_s"] = time.perf_counter() - t0
res["reopen_ok"] = ok
res["reopen_masked"] = len(p.masks.masked_frames())
res["reopen_flagged"] = len(seg.flagged)
phase("end")
spin(app, 0.1)
g = probe.gaps()
b = probe.gaps(busy=True)
res["gaps"] = {k: {"wall": summary(v), "busy_max": round(max(b[k] or [0]), 1)} for k, v in g.items()}
res["rss_peak_all"] = max(v for _, v in rss)
Path(OUT).write_text(json.dumps(res, indent=1, default=str))
print(json.dumps(res, indent=1, default=str))
p.undo.setClean()
p._dirty = False
w.close()
