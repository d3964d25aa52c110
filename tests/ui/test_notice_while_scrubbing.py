"""A file whose damage no check at open finds (a TV capture with a glitch): the decoder meets it when
the user scrubs to it, and the reader says so then. Frames for display are decoded on a cursor of
their own (``reader.reopen()``) on a worker thread; what that cursor said stayed there, and the
window never showed it: the user saw blocks in the picture and no word why."""
from __future__ import annotations

import time

import av
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.core.errors import VideoError
from app.core.video import VideoReader
from mediafiles import encode_frames

N, W, H = 30, 160, 120
BROKEN = "picture data there is broken"


@pytest.fixture(scope="module")
def glitch(tmp_path_factory):
    """An MPEG-2 program stream with 64 bytes overwritten in one frame, such that opening it says
    nothing and reading every frame says the file is damaged (the first overwrite that does)."""
    folder = tmp_path_factory.mktemp("glitch")
    src = folder / "whole.mpg"
    with av.open(str(src), "w") as out:
        s = out.add_stream("mpeg2video", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"g": "10", "bf": "2", "qscale": "4", "threads": "1"}
        rng = np.random.default_rng(3)  # (a coarse texture panning 2 px a frame)
        big = np.kron(rng.integers(0, 255, (H // 8, (W + 2 * N) // 8 + 1, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
        encode_frames(out, s, [np.ascontiguousarray(big[:, 2 * i:2 * i + W]) for i in range(N)])
    data = src.read_bytes()
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.pos]
    rng = np.random.default_rng(5)
    path = folder / "glitch.mpg"
    for pos, size in packets[len(packets) // 2:-1]:  # (past the first frames the window reads at open)
        bad = bytearray(data)
        bad[pos + size // 2:pos + size // 2 + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        path.write_bytes(bytes(bad))
        with VideoReader(path) as r:
            if r.notice is not None:
                continue
            try:
                for i in range(len(r)):
                    r.read(i)
            except VideoError:
                continue
            if r.notice and BROKEN in r.notice:
                return path
    pytest.fail("no overwrite made the decoder conceal a frame")


def test_damage_met_while_scrubbing_is_said_in_the_window(window, glitch, qtbot):
    assert window.open_path(glitch)
    assert BROKEN not in window.messages.text()  # (nothing found at open)
    bar, p = window.timeline.bar, window.project
    at = lambda f: QPoint(round(bar.x_of(f)), bar.height() // 2)  # noqa: E731
    qtbot.mousePress(bar, Qt.MouseButton.LeftButton, pos=at(0))
    for f in range(1, p.n_frames):  # the scrub bar dragged over every frame, each one decoded
        qtbot.mouseMove(bar, at(f))
        qtbot.waitUntil(lambda: window.frames.pending is None and not window.frames.decoder.busy, timeout=10_000)
    qtbot.mouseRelease(bar, Qt.MouseButton.LeftButton, pos=at(p.n_frames - 1))
    qtbot.waitUntil(lambda: BROKEN in window.statusBar().currentMessage(), timeout=5_000)
    said = window.statusBar().currentMessage()
    assert said.startswith(f"{glitch.name} is damaged near frame ") and BROKEN in window.messages.text()
    count = window.messages.text().count(BROKEN)
    for f in (p.n_frames - 1, 0, p.n_frames // 2 + 2):  # said once: not again at each frame shown
        p.set_current(f)
        qtbot.waitUntil(lambda: window.frames.pending is None and not window.frames.decoder.busy, timeout=10_000)
    assert window.messages.text().count(BROKEN) == count == 1


def test_damage_met_by_a_read_on_the_gui_thread_is_said_once_for_the_frames_it_spoils(glitch, qtbot):
    """``Project.frame`` reads on the GUI thread (a frame not cached: the click tool's); what its read
    found was kept in the reader's notice and never said. It is said once for the frames the damage
    spoils: not again at each frame read there, nor where another cursor on the file meets it."""
    from app.ui.project import Project

    p = Project()
    said = []
    p.damageMet.connect(said.append)
    p.open_video(glitch)
    assert p.reader.notice is None and p.reader.damaged_span() is None  # (nothing found at open)
    for i in range(p.n_frames):  # (no frame loader: each frame is decoded here)
        p.frame(i)
    assert said == [p.reader.notice] and BROKEN in said[0] and said[0].startswith(f"{glitch.name} is damaged near")
    first, end = p.reader.damaged_span()
    assert first < end <= p.n_frames
    with VideoReader(glitch) as other:  # another cursor meets the same damage: no news
        for i in range(p.n_frames):
            other.read(i)
        assert BROKEN in other.notice and other.damaged_span() == (first, end)
        p.met_damage(other)
    assert len(said) == 1
    p.close_video()


def test_damage_met_by_a_click_on_a_frame_not_decoded_yet_is_said_in_the_window(window, glitch, qtbot):
    """A click on a frame the window has not decoded yet (a jump, then a click before the picture
    came) reads it on the GUI thread: damage met there is said in the status bar as scrubbing's is,
    and the frame loader meeting it again while the user scrubs over it says nothing more."""
    assert window.open_path(glitch)
    p, loader = window.project, window.frames
    loader.set_reader(None)  # (the loader decodes nothing: every frame the click tool needs is read here)
    window.tools.set_tool("segment")
    p.set_current(p.n_frames - 1)
    assert p.cached_frame(p.current) is None and BROKEN not in window.messages.text()
    shown = []  # (the bar's messages as they come: the click's own "candidates" message follows)
    window.statusBar().messageChanged.connect(shown.append)
    with qtbot.waitSignal(window.segment.candidatesChanged, timeout=30_000):
        qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=window.canvas.rect().center())
    assert p.cached_frame(p.current) is not None  # (read for the click, on this thread)
    damage = [m for m in shown if BROKEN in m]
    assert len(damage) == 1 and damage[0].startswith(f"{glitch.name} is damaged near frame ")
    assert window.messages.text().count(BROKEN) == 1  # (kept in Help > Recent messages)
    loader.set_reader(p.reader)  # the loader's own cursor meets the damage again: no second message
    for f in range(p.n_frames):
        p.set_current(f)
        qtbot.waitUntil(lambda: loader.pending is None and not loader.decoder.busy, timeout=10_000)
    assert loader.decoded and loader._said is not None and BROKEN in loader._said  # (it did meet it)
    assert window.messages.text().count(BROKEN) == 1


def test_a_damage_warning_holds_the_status_bar_against_the_clicks_candidates_message(window, glitch, qtbot):
    """The click's read met the damage and the bar said it; a moment later the click tool's routine
    "N candidate(s)" message replaced it, and the user never got to read the warning. The warning
    holds the bar for its time; the candidates' message, said meanwhile, shows when that is over."""
    hold = 5000  # (short for the test; a click is answered in well under a second here)
    window.messages.warning_ms, window.messages.ms_per_char = hold, 0
    assert window.open_path(glitch)
    p, bar = window.project, window.statusBar()
    window.frames.set_reader(None)  # (the click's own read on the GUI thread meets the damage)
    window.tools.set_tool("segment")
    p.set_current(p.n_frames - 1)
    shown = []  # (time, message) as the bar shows them
    bar.messageChanged.connect(lambda m: shown.append((time.monotonic(), m)))
    heard = []  # (time, routine message, what the bar shows once it arrived, what waits)
    window.controller.message.connect(lambda m: heard.append((time.monotonic(), m, bar.currentMessage(), bar.pending)))
    with qtbot.waitSignal(window.segment.candidatesChanged, timeout=30_000):
        qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=window.canvas.rect().center())
    qtbot.waitUntil(lambda: any("candidate(s)" in h[1] for h in heard), timeout=10_000)
    [(said_at, damage)] = [(t, m) for t, m in shown if BROKEN in m]
    heard_at, candidates, on_bar, waiting = next(h for h in heard if "candidate(s)" in h[1])
    assert heard_at - said_at < hold / 1000  # (it came while the warning was held: the case in question)
    assert on_bar == damage and waiting[0] == candidates  # the warning stays; the candidates wait
    assert window.messages.text().splitlines()[-1].endswith(candidates)  # (kept in Recent messages at once)
    qtbot.waitUntil(lambda: bar.currentMessage() == candidates, timeout=hold + 10_000)
    shown_at = next(t for t, m in shown if m == candidates)
    assert shown_at - said_at >= hold / 1000 - 1e-6  # not before the warning's time was over
    assert [m for _, m in shown if m][-2:] == [damage, candidates]  # (nothing else in between)
