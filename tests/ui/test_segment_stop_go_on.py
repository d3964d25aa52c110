"""Track stopped with Esc and Track pressed again, nothing changed in between: the frames come out as
the unbroken run's, bit for bit (what the stopped run knew is kept in memory); an edit in between
releases that and Track goes on from the masks as before."""
from __future__ import annotations

import sys
import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core.video import write_test_clip

N, W, H, R = 24, 200, 96, 15


def disc(i):
    yy, xx = np.mgrid[:H, :W]
    return (xx - (35 + 3 * i)) ** 2 + (yy - (40 + i)) ** 2 <= R ** 2


@pytest.fixture
def noisy_clip(tmp_path):
    """A textured red disc moving over a panning, noisy background (GrabCut's draws count there)."""
    rng = np.random.default_rng(1)
    tex = rng.integers(0, 160, (H // 8 + 2, (W + 2 * N) // 8 + 2, 3), dtype=np.uint8)
    big = cv2.resize(tex, (tex.shape[1] * 8, tex.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[:H, :W]
    frames = []
    for i in range(N):
        f = np.ascontiguousarray(big[:H, i:i + W]).astype(np.int16)
        s = (35 * np.sin((xx - 35 - 3 * i) / 2.5) * np.cos((yy - 40 - i) / 3.5)).astype(np.int16)
        m = disc(i)
        f[m] = np.stack([200 + s, 60 + s // 2, 50 + s // 2], -1)[m]
        frames.append(np.clip(f + rng.normal(0, 16, f.shape), 0, 255).astype(np.uint8))
    return write_test_clip(tmp_path / "noisy.mp4", frames, fps=10)


def places(monkeypatch) -> list:
    """The frames a run went on from with ``_Follower.place`` (from the masks alone), as it does so."""
    track_mod = sys.modules["app.core.segment.track"]
    real, called = track_mod._Follower.place, []
    monkeypatch.setattr(track_mod._Follower, "place", lambda self, *a, **k: called.append(1) or real(self, *a, **k))
    return called


def stopped_with_esc(qtbot, window, monkeypatch, after: int):
    """Track, with Esc pressed once ``after`` frames are done (the worker waits there for it)."""
    from app.ui import segment_tool

    real, reached, go = segment_tool.track_job, threading.Event(), threading.Event()

    def held(*a, **k):
        fn = real(*a, **k)

        def run(host, progress, cancel):
            def report(r):
                progress(r)
                if r.done >= after and not reached.is_set():
                    reached.set()
                    go.wait(30)
            return fn(host, report, cancel)
        return run

    monkeypatch.setattr(segment_tool, "track_job", held)
    seg = window.segment
    with qtbot.waitSignal(seg.trackFinished, timeout=120_000) as blocker:
        seg.track_action.trigger()
        qtbot.waitUntil(reached.is_set, timeout=60_000)
        job = window.controller.engine.current
        assert job is not None and job.name == "Track" and not job.cancel.cancelled
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)  # (the Cancel action's key; no selection to drop)
        qtbot.waitUntil(lambda: job.cancel.cancelled, timeout=10_000)
        go.set()
    monkeypatch.setattr(segment_tool, "track_job", real)
    assert blocker.args[0]["stopped"]


def tracked(window, qtbot) -> dict:
    with qtbot.waitSignal(window.segment.trackFinished, timeout=120_000) as blocker:
        window.segment.track_action.trigger()
    assert not blocker.args[0]["stopped"]
    p = window.project
    return {"blobs": [p.masks.blob(i) for i in range(N)], "flags": dict(p.flagged)}


@pytest.mark.parametrize("keys, after", [((0,), 8), ((0, N - 1), 16)])  # (two: stopped on the way back from N - 1)
def test_track_stopped_with_esc_and_pressed_again_gives_the_unbroken_runs_masks(window, noisy_clip, qtbot,
                                                                                 monkeypatch, keys, after):
    window.open_path(noisy_clip)
    p = window.project
    for k in keys:
        p.set_current(k)
        p.edit_mask(disc(k), keyframe=True)
    unbroken = tracked(window, qtbot)
    assert sorted(p.last_track["keys"]) == list(keys)
    window.undo_action.trigger()  # (the run undone: the next Track tracks the whole range again)
    assert p.masks.masked_frames() == list(keys)
    stopped_with_esc(qtbot, window, monkeypatch, after)
    assert p.stopped_run is not None and 0 < len(p.last_track["pending"]) < N - 1
    said, went_on_from_masks = [], places(monkeypatch)
    window.controller.message.connect(said.append)
    again = tracked(window, qtbot)
    assert said[-1].split(",")[0].startswith("Tracked") and "on from where the stopped run had got to" in said[-1]
    assert not went_on_from_masks and p.stopped_run is None
    assert again["flags"] == unbroken["flags"]
    assert [i for i in range(N) if again["blobs"][i] != unbroken["blobs"][i]] == []


def test_an_edit_after_the_stop_releases_what_the_run_knew(window, noisy_clip, qtbot, monkeypatch):
    window.open_path(noisy_clip)
    p = window.project
    p.edit_mask(disc(0))
    stopped_with_esc(qtbot, window, monkeypatch, 8)
    assert p.stopped_run is not None
    done = p.masks.masked_frames()
    window.undo_action.trigger()
    window.redo_action.trigger()  # (the masks as they were, yet edited since: what it knew is let go)
    assert p.stopped_run is None and p.masks.masked_frames() == done
    went_on_from_masks = places(monkeypatch)
    tracked(window, qtbot)
    assert went_on_from_masks and p.masks.masked_frames() == list(range(N))  # (from the masks: resume_spans)
