"""Status-bar messages have two ranks: a warning (damage met in the video, an autosave that failed)
holds the bar for its time; a routine message said meanwhile ("3 candidate(s)", "Tracked ...") waits
and shows after it, where it wiped the warning within milliseconds before. The bar's own timer, a
real event loop, short times."""
from __future__ import annotations

import time

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow

from app.ui.statusbar import MessageBar, MessageLog

HOLD = 300  # ms a warning holds the bar in these tests
EPS = 1e-6  # (float rounding of monotonic seconds)


@pytest.fixture
def bar(qtbot):
    """A window's MessageBar with a ``log`` (MessageLog: warnings held ``HOLD`` ms, no reading-time
    floor) and ``shown``: (time.monotonic(), message) as the bar shows them."""
    w = QMainWindow()
    w.setStatusBar(MessageBar())
    qtbot.addWidget(w)
    w.show()
    b = w.statusBar()
    b.log = MessageLog(b, warning_ms=HOLD, ms_per_char=0)
    b.shown = []
    b.messageChanged.connect(lambda m: b.shown.append((time.monotonic(), m)))
    return b


def shown_at(bar, text: str) -> float:
    return next(t for t, m in bar.shown if m == text)


def test_routine_messages_said_during_a_warning_wait_and_the_latest_shows_after_it(bar, qtbot):
    bar.log.warn("clip.mpg is damaged near frame 16")
    bar.log.show("Segmenting…")
    bar.log.show("3 candidate(s): Tab shows the next", 200)
    assert bar.currentMessage() == "clip.mpg is damaged near frame 16" and bar.warning
    assert bar.log.text().splitlines()[-1].endswith("3 candidate(s): Tab shows the next")  # (kept at once)
    qtbot.waitUntil(lambda: bar.currentMessage() == "3 candidate(s): Tab shows the next", timeout=HOLD + 5_000)
    held = shown_at(bar, "3 candidate(s): Tab shows the next") - shown_at(bar, "clip.mpg is damaged near frame 16")
    assert held >= HOLD / 1000 - EPS and not bar.warning
    assert "Segmenting…" not in [m for _, m in bar.shown]  # (out of date by then: the latest alone)
    qtbot.waitUntil(lambda: bar.currentMessage() == "", timeout=5_000)  # then its own time, counted from there
    assert bar.shown[-1][0] - shown_at(bar, "3 candidate(s): Tab shows the next") >= 0.2 - EPS


def test_a_newer_warning_replaces_an_older_and_the_routine_message_still_waits(bar, qtbot):
    bar.log.warn("Autosave failed", 600_000)
    bar.log.show("Saved work.sttnproj")
    bar.log.warn("clip.mpg is damaged near frame 40")
    assert bar.currentMessage() == "clip.mpg is damaged near frame 40" and bar.pending[0] == "Saved work.sttnproj"
    qtbot.waitUntil(lambda: bar.currentMessage() == "Saved work.sttnproj", timeout=HOLD + 5_000)
    assert shown_at(bar, "Saved work.sttnproj") - shown_at(bar, "clip.mpg is damaged near frame 40") >= HOLD / 1000 - EPS


def test_a_routine_message_a_warning_cut_short_comes_back_for_the_rest_of_its_time(bar, qtbot):
    bar.log.show("Opened clip.mpg: 30 frames", 600_000)
    bar.log.warn("clip.mpg is cut short")
    qtbot.waitUntil(lambda: bar.currentMessage() == "Opened clip.mpg: 30 frames", timeout=HOLD + 5_000)
    assert bar.pending is None
    bar.log.show("Nearly over", 500)  # less than RESUME_MS left when the warning comes: not brought back
    bar.log.warn("Autosave failed")
    qtbot.waitUntil(lambda: not bar.warning, timeout=HOLD + 5_000)
    assert bar.currentMessage() == ""


def test_a_routine_message_waiting_behind_a_warning_is_revised_there(bar):
    """The Grow hint after Track names the value Grow has: changed while it waits, it says the new one."""
    bar.log.warn("clip.mpg is damaged near frame 4")
    bar.log.show("Tracked 7 frames. Grow 8 px (now 4)")
    bar.log.revise("Tracked 7 frames. Grow 8 px (now 4)", "Tracked 7 frames. Grow 8 px (now 6)")
    assert bar.currentMessage() == "clip.mpg is damaged near frame 4"
    assert bar.pending[0] == "Tracked 7 frames. Grow 8 px (now 6)"
    assert bar.log.text().splitlines()[-1].endswith("(now 4)")  # (the history keeps what was said)


def test_a_menus_status_tip_leaves_a_warning_in_the_bar(bar, qtbot):
    """Qt sends an empty status tip as a menu's item is hovered, which wiped any message."""
    menu = bar.window().menuBar().addMenu("File")
    action = QAction("Open", bar.window())
    menu.addAction(action)

    def hover():
        menu.popup(bar.window().pos())
        qtbot.waitUntil(menu.isVisible, timeout=5_000)
        menu.setActiveAction(action)
        menu.hide()

    bar.log.show("Saved work.sttnproj", 600_000)
    hover()
    assert bar.currentMessage() == ""  # (a routine message goes, as Qt has it: the hover did send a tip)
    bar.log.warn("Autosave failed", 600_000)
    hover()
    assert bar.currentMessage() == "Autosave failed"


def until_cancelled(host, progress, cancel):
    while True:
        cancel.check()
        time.sleep(0.01)


def test_a_job_started_drops_routine_messages_but_not_a_warning(window, clip, qtbot):
    """A job's start clears the bar (a hint for the step before, "Kept: ... Track", is out of date);
    a warning said just before stays, and the hint waiting behind it is dropped."""
    window.open_path(clip)
    window.messages.warn("clip.mp4 is damaged near frame 4", 600_000)
    window.messages.show("Kept: Shift+click another object to add it, or Track through range")
    jobs, bar = window.controller.engine, window.statusBar()
    with qtbot.waitSignal(jobs.cancelled, timeout=10_000):
        jobs.submit("Track", until_cancelled)
        qtbot.waitUntil(window.job_bar.isVisible, timeout=5_000)
        assert bar.currentMessage() == "clip.mp4 is damaged near frame 4" and bar.pending is None
        window.cancel_action.trigger()
