"""Damage met by a job's reads on a worker thread (Inpaint and Track on the engine thread, the click
tool's look at the frames around a click on its own): the job's reader kept what it found, and the
window said nothing; the user saw blocks in the result and no word why. Each damaged stretch is said
in the status bar and kept in Recent messages, once, on the GUI thread, as damage met scrubbing is."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QThread, Qt

from app.core.video import VideoReader
from mediafiles import write_two_glitches
from uihelpers import square_mask

N, W, H = 60, 160, 120
BROKEN = "picture data there is broken"


@pytest.fixture(scope="module")
def glitches(tmp_path_factory):
    """(path, [(first, end)] of its two damaged stretches, far apart), neither found at open."""
    return write_two_glitches(tmp_path_factory.mktemp("glitches"), N, W, H)


def said(window) -> list[str]:
    """The damage the window said (Recent messages), in order."""
    return [line.split("  ", 1)[1] for line in window.messages.text().splitlines() if BROKEN in line]


def on_gui_thread() -> bool:
    return QThread.currentThread() is QCoreApplication.instance().thread()


def test_damage_met_by_inpaint_on_the_engine_thread_is_said_once_for_each_stretch(window, glitches, qtbot):
    path, (one, two) = glitches
    assert window.open_path(path)
    p, c = window.project, window.controller
    assert said(window) == []  # (nothing found at open)
    threads = []
    p.damageMet.connect(lambda note: threads.append(on_gui_thread()))
    p.set_range(0, N)
    p.edit_mask(square_mask(H, W), "range")
    p.set_engine_settings({**p.engine_settings, "fill": "telea"})  # (reads every frame of the range)
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.inpaint()
    qtbot.waitUntil(lambda: len(said(window)) >= 2, timeout=10_000)
    assert [s.split(":")[0] for s in said(window)] == [f"{path.name} is damaged near frame {f}" for f, _ in (one, two)]
    assert threads == [True, True]  # (queued to the GUI thread)
    assert p.reader.damages == ()  # (the window's reader met none: the engine's reads found them)
    p.set_current(one[0] + 1)  # a Preview there, and the picture shown, meet the first again: no news
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.preview()
    qtbot.waitUntil(lambda: window.frames.pending is None and not window.frames.decoder.busy, timeout=10_000)
    assert window.frames._said is not None and BROKEN in window.frames._said  # (the loader's cursor met it too)
    assert len(said(window)) == 2


def test_damage_met_by_the_click_tools_look_at_the_frames_around_a_click_is_said(window, glitches, qtbot):
    """A click with the GrabCut tool reads the frames around the one clicked on the click worker (2, 4
    and 6 after it for its motion, 10 either side for its background plate); a click just before a
    damaged stretch meets it there, nowhere else."""
    path, (one, _) = glitches
    clicked = None
    for f in range(one[0] - 1, max(one[0] - 8, 0), -1):  # (a frame read whole, the ones 2-6 after it not)
        with VideoReader(path) as r:
            r.read(f)
            if r.damages:
                continue
            for g in (f + 2, f + 4, f + 6):
                r.read(g)
            if r.damages:
                clicked = f
                break
    assert clicked is not None
    assert window.open_path(path)
    p, loader = window.project, window.frames
    window.tools.set_tool("segment")
    p.set_current(clicked)
    qtbot.waitUntil(lambda: p.cached_frame(clicked) is not None and loader.pending is None
                    and not loader.decoder.busy, timeout=10_000)
    assert said(window) == []
    threads = []
    p.damageMet.connect(lambda note: threads.append(on_gui_thread()))
    with qtbot.waitSignal(window.segment.candidatesChanged, timeout=30_000):
        qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=window.canvas.rect().center())
    qtbot.waitUntil(lambda: said(window) != [], timeout=10_000)
    assert len(said(window)) == 1 and said(window)[0].startswith(f"{path.name} is damaged near frame ")
    assert threads == [True]
    assert p.reader.damages == () and loader._said is None  # (neither the window's reads nor the picture's met it)


def test_damage_met_by_track_on_the_engine_thread_is_said_once_and_outlasts_tracks_message(window, glitches, qtbot):
    """Track follows a mask through the first damaged stretch on the engine thread: the damage is
    said once (a second run over it is no news), and "Tracked ..." at the run's end waits behind it
    instead of wiping it from the status bar."""
    path, (one, _) = glitches
    window.messages.warning_ms = 600_000  # (held past the run's end however slow the machine)
    assert window.open_path(path)
    p, seg, bar = window.project, window.segment, window.statusBar()
    threads = []
    p.damageMet.connect(lambda note: threads.append(on_gui_thread()))
    p.set_range(0, one[1] + 1)
    p.edit_mask(square_mask(H, W), "frame")  # (frame 0's: the mask Track follows)
    with qtbot.waitSignal(seg.trackFinished, timeout=120_000):
        seg.track_action.trigger()
    assert [s.split(":")[0] for s in said(window)] == [f"{path.name} is damaged near frame {one[0]}"]
    assert threads == [True] and p.reader.damages == ()  # (queued to the GUI thread; the engine's reads met it)
    assert bar.currentMessage() == said(window)[0] and bar.pending[0].startswith("Tracked ")
    window.segment.keyframes.add(0)
    p.set_range(0, one[1] + 2)  # another run over it: no second message
    with qtbot.waitSignal(seg.trackFinished, timeout=120_000):
        seg.track_action.trigger()
    assert len(said(window)) == 1 and threads == [True]
