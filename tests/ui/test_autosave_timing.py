"""When the autosave is written. It came every minute whatever the user did, so a kill lost up to a
minute of strokes, and the first autosave of a Track run came anywhere from 0 to 60 s after Track
started. Now an autosave follows the edits: a moment after they stop (``quiet_ms``), at most
``max_wait_ms`` after the first one while they go on, never while a mouse button is held, never
sooner after a write than that write's cost allows, and never when nothing changed; a Track run's
frames are first autosaved ``run_first_ms`` after it starts, then every ``interval_ms``.
Intervals here are short (set on the window's Autosaver), the clips a few small frames."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.ui.project import Project, mask_digest, project_masks
from test_autosave_crash import after, killed, masks_of, reopened  # noqa: F401 - after: a fixture
from test_segment_tool import N, disc_centre, disc_mask, select_and_commit
from test_segment_tool import disc_clip  # noqa: F401 - the clip (a fixture)


def drag(canvas, points, hold_s: float = 0.0, qtbot=None) -> None:
    """A left-button stroke through image pixels ``points``; ``hold_s``: the button stays down that
    long in the middle of it, the event loop running (``qtbot``)."""
    at = [canvas.to_widget(QPointF(x + 0.5, y + 0.5)).toPoint() for x, y in points]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[0])
    QTest.mouseMove(canvas, at[1])
    if hold_s:
        qtbot.wait(round(hold_s * 1000))
    for point in at[2:]:
        QTest.mouseMove(canvas, point)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[-1])


class Writes:
    """Each autosave write as it starts on its thread: (monotonic seconds, frames masked, the
    digest of frame 0's mask)."""

    def __init__(self, monkeypatch):
        import app.ui.project as project

        real, self.log = project.write_snapshot, []

        def write(snap, path):
            self.log.append((time.monotonic(), snap.masks.masked_frames(), mask_digest(snap.masks.blob(0))))
            return real(snap, path)
        monkeypatch.setattr(project, "write_snapshot", write)

    def since(self, t0: float) -> list[float]:
        return [t - t0 for t, *_ in self.log if t >= t0]


def opened(window, clip, **timing):
    """The window with ``clip`` open, its Autosaver's timing set (ms); (project, Autosaver)."""
    assert window.open_path(clip)
    saver = window.autosaver
    for name, value in timing.items():
        setattr(saver, name, value)
    return window.project, saver


def test_an_autosave_follows_a_stroke_once_the_edits_stop(window, clip, qtbot, monkeypatch):
    """Three strokes 0.1 s apart, then nothing: one autosave, ``quiet_ms`` after the last stroke
    (not the minute's tick, not one per stroke), holding all three; none after, nothing changed.
    (A quiet of 1 s: a loaded 2-core machine can stall the event loop for a quarter of a second.)"""
    writes = Writes(monkeypatch)
    p, saver = opened(window, clip, quiet_ms=1_000, max_wait_ms=5_000)
    assert saver.timer.interval() == 60_000
    for y in (10, 20, 30):
        drag(window.canvas, [(10, y), (40, y), (70, y + 5)])
        last = time.monotonic()
        qtbot.wait(100)
    assert writes.log == []  # (stopped 0.1 s ago: not yet)
    qtbot.waitUntil(lambda: bool(writes.log) and not saver.writing, timeout=5_000)
    (t, frames, digest), = writes.log
    assert 1.0 * 0.9 <= t - last < 1.0 + 2.0 and frames == [0] and digest == mask_digest(p.masks.blob(0))
    qtbot.wait(800)
    p.set_current(4)  # (moving about changes nothing a save writes)
    qtbot.wait(800)
    assert len(writes.log) == 1
    recovered = Project()
    recovered.load(saver.path)
    assert masks_of(recovered) == masks_of(p)


def test_edits_that_go_on_are_autosaved_every_max_wait(window, clip, qtbot, monkeypatch):
    """A stroke every 0.15 s for 2.4 s (never a pause of ``quiet_ms``): an autosave at most
    ``max_wait_ms`` after the first edit it does not hold, while the strokes go on."""
    writes = Writes(monkeypatch)
    p, saver = opened(window, clip, quiet_ms=1_000, max_wait_ms=600, cost_factor=0)
    t0, made = time.monotonic(), []
    for k in range(16):
        drag(window.canvas, [(5 + 5 * k, 5), (5 + 5 * k, 30), (6 + 5 * k, 55)])
        made.append((time.monotonic(), mask_digest(p.masks.blob(0))))
        qtbot.wait(150)
    during = writes.since(t0)
    assert 2 <= len(during) < len(made) / 2, during  # (~every 0.6 s, and not every stroke)
    qtbot.waitUntil(lambda: writes.log[-1][2] == made[-1][1] and not saver.writing, timeout=5_000)
    # each edit is in an autosave started at most max_wait (plus the loop's slack) after it
    for when, digest in made:
        later = [t for t, _, d in writes.log if t >= when]
        assert later and later[0] - when < 0.6 + 1.2, (when - t0, [t - t0 for t, *_ in writes.log])


def test_no_autosave_starts_while_a_stroke_is_under_way(window, clip, qtbot, monkeypatch):
    """A stroke, then another begun before ``quiet_ms`` has passed and held down for three times
    that, the timer due every 0.25 s too: nothing is written while the button is down (the snapshot
    would take the GUI thread from the stroke, and the stroke is not in the project yet); the
    autosave after the release holds both."""
    writes = Writes(monkeypatch)
    p, saver = opened(window, clip, quiet_ms=300, max_wait_ms=300)
    saver.timer.start(250)
    drag(window.canvas, [(10, 10), (40, 10), (70, 15)])
    first = mask_digest(p.masks.blob(0))
    pressed = time.monotonic()
    drag(window.canvas, [(10, 40), (40, 40), (70, 45)], hold_s=1.0, qtbot=qtbot)
    released = time.monotonic()
    assert released - pressed >= 0.9 and writes.log == []
    qtbot.waitUntil(lambda: bool(writes.log) and not saver.writing, timeout=5_000)
    qtbot.wait(300)
    (t, _, digest), = writes.log  # (one: the tick's and the edits' looks after the release find it written)
    assert t - released < 0.3 + 1.2 and digest == mask_digest(p.masks.blob(0)) != first


def test_no_autosave_of_edits_starts_sooner_than_the_last_write_cost_allows(window, clip, qtbot, monkeypatch):
    """Writes made slow (0.3 s on their thread) with ``cost_factor`` 4: after a write, a stroke is
    autosaved no sooner than 4 x 0.3 s after that write ended, though ``quiet_ms`` is 0.1 s."""
    import app.ui.project as project

    real, ended = project.write_snapshot, []

    def slow(snap, path):
        time.sleep(0.3)
        try:
            return real(snap, path)
        finally:
            ended.append(time.monotonic())
    monkeypatch.setattr(project, "write_snapshot", slow)
    p, saver = opened(window, clip, quiet_ms=100, max_wait_ms=100, cost_factor=4)
    writes = Writes(monkeypatch)
    drag(window.canvas, [(10, 10), (40, 10), (70, 15)])
    qtbot.waitUntil(lambda: len(ended) == 1 and not saver.writing, timeout=5_000)
    drag(window.canvas, [(10, 40), (40, 40), (70, 45)])
    qtbot.waitUntil(lambda: len(ended) == 2 and not saver.writing, timeout=10_000)
    gap = writes.log[1][0] - ended[0]
    assert 4 * 0.3 <= gap < 4 * 0.3 + 1.5, gap
    assert writes.log[1][2] == mask_digest(p.masks.blob(0))


def test_an_unchanged_project_starts_no_write_on_the_edit_cue_nor_the_timer(window, clip, qtbot, monkeypatch):
    """Autosaved, then the frame moved about while the timer ticks every 0.2 s: nothing written;
    a stroke: written once, ``quiet_ms`` later, and not again while the timer goes on."""
    writes = Writes(monkeypatch)
    p, saver = opened(window, clip, quiet_ms=150, max_wait_ms=150)
    drag(window.canvas, [(10, 10), (40, 10), (70, 15)])
    qtbot.waitUntil(lambda: bool(writes.log) and not saver.writing, timeout=5_000)
    saver.timer.start(200)
    for i in (3, 5, 2):
        p.set_current(i)
        qtbot.wait(250)
    assert len(writes.log) == 1
    p.set_current(0)
    drag(window.canvas, [(10, 40), (40, 40), (70, 45)])
    qtbot.waitUntil(lambda: len(writes.log) == 2 and not saver.writing, timeout=5_000)
    assert writes.log[1][2] == mask_digest(p.masks.blob(0)) != writes.log[0][2]
    qtbot.wait(700)
    assert len(writes.log) == 2


# --- Track -------------------------------------------------------------------------------------------

def slowed_track(monkeypatch, per_frame_s: float):
    """Track made to take ``per_frame_s`` a frame (the run lasts long enough to be timed): each
    frame's result is held that long (not each read: the background plate reads frames ahead)."""
    from app.ui import segment_tool

    real = segment_tool.track
    monkeypatch.setattr(segment_tool, "track", lambda get, *a, on_mask, **k: real(
        get, *a, on_mask=lambda step: time.sleep(per_frame_s) or on_mask(step), **k))


def test_a_track_run_is_first_autosaved_run_first_ms_after_it_starts_then_every_interval(
        window, disc_clip, qtbot, monkeypatch, tmp_path):
    """The timer (every 1.5 s) is 0.1 s from its tick when Track starts: it used to write the run's
    first frames then, or at any other moment of its minute. Now the first autosave of the run comes
    ``run_first_ms`` (1 s) after the start, the next one an interval after that; the run ends as
    one step, autosaved in turn, and what each autosave holds is recovered as a stopped run."""
    slowed_track(monkeypatch, 0.5)
    p, saver = opened(window, disc_clip, quiet_ms=300, max_wait_ms=300, run_first_ms=1_000)
    select_and_commit(qtbot, window, *disc_centre(0))
    p.save(tmp_path / "work.sttnproj")  # (clean: the run's frames alone are autosaved)
    writes = Writes(monkeypatch)
    saved = []
    saver.saved.connect(lambda path: saved.append(json.loads(Path(path).read_text())))
    saver.timer.start(1_500)
    qtbot.wait(1_400)
    assert writes.log == []
    t0 = time.monotonic()
    with qtbot.waitSignal(window.segment.trackFinished, timeout=60_000):
        window.segment.track_action.trigger()
    landed = lambda: bool(saved) and not saved[-1]["tracking"]["last_run"].get("pending")  # noqa: E731
    qtbot.waitUntil(lambda: not saver.writing and landed(), timeout=5_000)
    times = writes.since(t0)
    # (both timers are coarse, 5 % early at most: when a run's frames are written is no floor)
    assert 1.0 * 0.95 <= times[0] < 1.0 + 1.0, times  # (not 0.1 s in, the timer's old phase)
    assert 1.5 * 0.95 - 0.1 <= times[1] - times[0] < 1.5 + 1.0, times
    # all but the last: a stopped run, its frames tracked so far (fewer pending each time); the
    # last: the run landed
    pending = [sum(b - a for a, b in s["tracking"]["last_run"]["pending"]) for s in saved[:-1]]
    assert len(pending) >= 2 and pending == sorted(pending, reverse=True) and pending[-1] < pending[0], pending
    assert p.masks.masked_frames() == list(range(N))
    masks = project_masks(saver.path)  # (the last one written)
    assert sorted(masks) == list(range(N))


def test_a_run_with_nothing_tracked_yet_is_looked_at_again_run_first_ms_later(window, disc_clip, qtbot, monkeypatch,
                                                                            tmp_path):
    """The run's job held before its first frame (a model loading): nothing to write at
    ``run_first_ms``; the frames are written ``run_first_ms`` after that look, not a minute later."""
    from uihelpers import hold_jobs

    gate = hold_jobs(monkeypatch, "track_job")
    slowed_track(monkeypatch, 0.5)
    p, saver = opened(window, disc_clip, quiet_ms=300, max_wait_ms=300, run_first_ms=700)
    select_and_commit(qtbot, window, *disc_centre(0))
    p.save(tmp_path / "work.sttnproj")
    writes = Writes(monkeypatch)
    saved = []
    saver.saved.connect(lambda path: saved.append(json.loads(Path(path).read_text())))
    t0 = time.monotonic()
    with qtbot.waitSignal(window.segment.trackFinished, timeout=60_000):
        window.segment.track_action.trigger()
        qtbot.wait(900)  # (the first look: nothing tracked)
        assert writes.log == []
        gate.set()
        qtbot.waitUntil(lambda: bool(saved), timeout=10_000)
        # (0.7 s apart from the start, a coarse timer: 5 % early at most)
        assert 2 * 0.7 * 0.95 <= writes.since(t0)[0] < 4.0, writes.since(t0)  # (landed: 5 s or more)
        assert saved[0]["tracking"]["last_run"]["pending"]  # (the run's frames so far)


# --- killed for real ---------------------------------------------------------------------------------

def strokes_then_kill(w, ready) -> None:
    """In a process of its own (``test_autosave_crash._child``): quiet 0.3 s, the minute's timer off.
    Two strokes, autosaved once the edits stop; then a third, and READY at once (the kill): what the
    autosave held, what the project held, and how long before the kill each stroke was made."""
    from PySide6.QtCore import QTimer

    saver, p, canvas = w.autosaver, w.project, w.canvas
    saver.quiet_ms, saver.max_wait_ms = 300, 3_000
    saver.timer.stop()
    made = []

    def stroke(y):
        drag(canvas, [(10, y), (40, y), (70, y + 5)])
        made.append((time.monotonic(), mask_digest(p.masks.blob(0))))

    def written(path) -> None:
        masks = project_masks(path)
        if len(made) == 2 and mask_digest(masks.get(0)) == made[-1][1]:
            stroke(40)
            now = time.monotonic()
            ready(autosaved=mask_digest(masks.get(0)), made=[(now - t, d) for t, d in made])

    saver.saved.connect(written)
    stroke(10)
    QTimer.singleShot(100, lambda: stroke(25))


def test_killed_after_the_edits_stopped_only_the_stroke_after_the_autosave_is_lost(
        qtbot, settings, dialogs, clip, tiny_weights, tmp_path, after):  # noqa: F811 - after: a fixture
    """The real window SIGKILLed: the two strokes made before the edits paused 0.3 s are recovered
    without any tick of the minute's timer; the one made just before the kill is the work lost."""
    said = killed("test_autosave_timing:strokes_then_kill", clip, tiny_weights, tmp_path, tmp_path / "unused")
    (age_1, _), (age_2, second), (age_3, third) = said["made"]
    assert said["autosaved"] == second != third and age_3 < 0.3 * 0.9 <= age_2  # (a coarse timer: 5% early at most)
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    assert recovered and masks_of(w.project) == {"0": second}
