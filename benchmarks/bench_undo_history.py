"""What the undo history keeps at 1080p, and what bounding it costs (``UndoHistory``).

A clip's true object masks (``--clip``, the union of its objects) scaled to ``--size`` (nearest)
and cycled to ``--frames`` frames stand for a tracked clip: each frame's mask and the tracker's
record of it hold that mask. Then, on a real ``Project`` (no video: its stores are set directly):

- a one-frame brush stroke (a 30 px round brush dragged 300 px across the object), on 50 frames;
- a stroke applied to every frame in range (a subtitle band across the object);
- tracking again, as the click tool's run lands: every frame's mask and record replaced by the
  object shifted 4 px (fresh blobs each run), one step, ``--runs`` times under a budget of
  ``--budget-mb``: the steps kept, what the history counts (``held``) and what tracemalloc finds
  the process holding beyond the project's own masks;
- the bookkeeping of a step beside its blobs (tracemalloc of a step of ``--frames`` frames whose
  blobs exist already), which ``ENTRY_BYTES`` stands for;
- the time of a push that drops the oldest step from a full stack of ``UndoHistory``'s 1000 steps
  (the stack rebuilt) against one that drops none.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_undo_history.py [--frames 1000] [--runs 12] [--budget-mb 32]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.core.masks import MaskStore  # noqa: E402
from bench_mask_edit import clip_masks, clip_options  # noqa: E402

MB = 1 << 20


def fresh(blob):
    """The same bytes as a new object (a run's blobs are its own, not shared with the last run's)."""
    return None if blob is None else bytes(bytearray(blob))


def tracked_project(truth, n, w, h):
    from app.ui.project import Project

    p = Project()
    p.masks, p.tracked = MaskStore(n, w, h), MaskStore(n, w, h)
    scaled = [cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0 for m in truth]
    blobs = []
    for i, m in enumerate(scaled):
        p.masks.set(i, m)
        blobs.append(p.masks.blob(i))
    shifted = []
    for m in scaled:
        scratch = MaskStore(1, w, h)
        scratch.set(0, np.roll(m, 4, axis=1))
        shifted.append(scratch.blob(0))
    for i in range(n):
        p.masks.set_blob(i, fresh(blobs[i % len(blobs)]))
        p.tracked.set_blob(i, fresh(blobs[i % len(blobs)]))
    return p, scaled, (blobs, shifted)


def brush(w, h, centre, radius=30, length=300):
    m = np.zeros((h, w), np.uint8)
    x, y = centre
    cv2.line(m, (x - length // 2, y), (x + length // 2, y), 1, 2 * radius)
    return m > 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    clip_options(ap, 1000)
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--budget-mb", type=int, default=32)
    args = ap.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from app.ui.project import ENTRY_BYTES, MaskEditCommand

    app = QApplication.instance() or QApplication([])  # noqa: F841 - the busy cursor of long edits
    objects, truth, w, h = clip_masks(args)
    n = args.frames
    p, scaled, (blobs, shifted) = tracked_project(truth, n, w, h)
    print(f"{args.clip}'s masks ({len(truth)} frames, {len(objects)} objects) at {w}x{h}, cycled to {n} frames")
    print(f"mask blob: {statistics.mean(map(len, blobs)) / 1024:.1f} KB a frame on average "
          f"({min(map(len, blobs)) / 1024:.1f} to {max(map(len, blobs)) / 1024:.1f} KB); "
          f"the object covers {100 * statistics.mean(m.mean() for m in scaled):.1f}% of the frame")

    weights = []
    for i in range(0, min(n, 50)):
        ys, xs = np.nonzero(scaled[i % len(scaled)])
        p.apply_delta([i], brush(w, h, (int(xs.mean()), int(ys.mean()))), None, "Paint")
        weights.append(p.undo.command(p.undo.count() - 1).weight)
    print(f"one-frame brush stroke: {statistics.mean(weights) / 1024:.1f} KB a step "
          f"(the frame's mask and the tracker's record it replaced)")

    band = np.zeros((h, w), bool)
    band[int(0.55 * h):int(0.65 * h), :] = True
    t0 = time.perf_counter()
    p.apply_delta(range(n), band, None, "Paint")
    step = p.undo.command(p.undo.count() - 1)
    print(f"stroke on every frame in range: {step.weight / MB:.1f} MB ({step.weight / n / 1024:.1f} KB a frame, "
          f"{len(step.changes)} masks and {len(step.tracked)} records replaced; {time.perf_counter() - t0:.1f} s)")

    p.undo.clear()
    p.undo.budget = args.budget_mb * MB
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    untraced = {id(b) for store in (p.masks, p.tracked) for b in store._blobs.values()}
    for run in range(args.runs):
        source = shifted if run % 2 == 0 else blobs
        new = [fresh(source[i % len(source)]) for i in range(n)]
        changes = {i: (p.masks.blob(i), new[i]) for i in range(n)}
        tracked = {i: (p.tracked.blob(i), new[i]) for i in range(n)}
        flags = (dict(p.flagged), {i: "shrunk" for i in range(0, n, 50)})
        t0 = time.perf_counter()
        p.undo.push(MaskEditCommand(p, changes, "Track object", tracked, flags))
        took = time.perf_counter() - t0
        del new, changes, tracked, flags
        now = tracemalloc.get_traced_memory()[0] - base
        mine = sum(sys.getsizeof(b) for k, b in {id(b): b for store in (p.masks, p.tracked)
                                                 for b in store._blobs.values()}.items() if k not in untraced)
        print(f"  re-track {run + 1:2d}: step {p.undo.command(p.undo.count() - 1).weight / MB:5.1f} MB, "
              f"{p.undo.count():2d} steps kept, history counts {p.undo.held() / MB:6.1f} MB; traced beyond "
              f"the project's masks {(now - mine) / MB:6.1f} MB; push {1000 * took:.0f} ms")
    tracemalloc.stop()

    existing = [fresh(b) for b in blobs]
    big = 100_000  # (frames enough that Python's free lists of small tuples hardly count)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    pairs = lambda: {i: (existing[i % len(existing)], existing[(i + 1) % len(existing)]) for i in range(big)}  # noqa: E731
    cmd = MaskEditCommand(p, pairs(), "Track object", pairs())
    spent = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"bookkeeping: {spent / (2 * big):.0f} bytes a recorded frame (a step of {big} frames whose blobs "
          f"exist; ENTRY_BYTES = {ENTRY_BYTES})")
    del cmd

    p.undo.clear()
    p.undo.budget = 1 << 40
    one = MaskStore(1, w, h)
    one.set(0, scaled[0])
    small = one.blob(0)
    for k in range(1000):
        p.undo.push(MaskEditCommand(p, {0: (fresh(small), small)}, "Paint"))
    times = {}
    for name, budget in (("drops none", 1 << 40), ("drops the oldest", p.undo.held() - 1)):
        spent = []
        for _ in range(20):
            p.undo.budget = budget if name == "drops none" else p.undo.held() - 1
            t0 = time.perf_counter()
            p.undo.push(MaskEditCommand(p, {0: (fresh(small), small)}, "Paint"))
            spent.append(time.perf_counter() - t0)
        times[name] = statistics.median(spent)
    print("push onto 1000 steps: " + ", ".join(f"{k} {1000 * v:.2f} ms" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
