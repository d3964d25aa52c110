"""The notice over the picture from the keyboard: Esc dismisses it (where Esc cancels no job), and
Help > Show last notice (Ctrl+Shift+N) brings the last one back, held until it is dismissed, for a
keyboard user to read a long one (it went after its reading time, and only the pointer held it)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from uihelpers import until_cancelled

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def _refused(window, qtbot):
    """Ctrl+P on a frame with no mask: a notice, the canvas keeping the keys."""
    qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL)
    assert window.notice.isVisible() and window.notice.timer.isActive()
    return window.notice.text()


def test_esc_dismisses_the_notice_and_ctrl_shift_n_shows_it_again_held(window, clip, qtbot):
    window.open_path(clip)
    notice = window.notice
    assert not notice.last_action.isEnabled()  # (nothing said yet)
    said = _refused(window, qtbot)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not notice.isVisible() and window.project.current == 0
    qtbot.keyClick(window.canvas, Qt.Key.Key_N, CTRL | SHIFT)  # again, whole, and held
    assert notice.isVisible() and notice.text() == said and not notice.timer.isActive()
    notice.enterEvent(None)  # the pointer on it and off: still held (no timer starts)
    notice.leaveEvent(None)
    assert not notice.timer.isActive()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)  # other keys work meanwhile
    assert window.project.current == 1 and notice.isVisible()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not notice.isVisible()
    assert "Show last &notice" in [a.text() for a in window.menuBar().actions()[-1].menu().actions()]


def test_shortcuts_list_names_the_notice_keys(window, qtbot):
    from PySide6.QtWidgets import QTextBrowser

    text = window.shortcuts_dialog().findChild(QTextBrowser).toPlainText()
    assert "Show last notice" in text and "Ctrl+Shift+N" in text
    assert "Dismiss the notice over the picture" in text and "Esc (while no job runs)" in text
    assert "the first Esc where a selection is held (the next drops it)" in text


def test_esc_cancels_a_running_job_and_leaves_the_notice(window, clip, qtbot):
    """While a job runs, Esc is Cancel job's (a notice may have said "cancel it (Esc) first")."""
    window.open_path(clip)
    engine = window.controller.engine
    engine.submit("Inpaint", until_cancelled)
    assert not window.open_path(clip)  # refused: "Inpaint is still running ...; wait for it or cancel it (Esc) first."
    said = window.notice.text()
    assert "cancel it (Esc)" in said
    with qtbot.waitSignal(engine.busyChanged, timeout=10_000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not engine.busy and window.notice.text() == said
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)  # no job now: Esc is the notice's
    assert not window.notice.isVisible()


def _select(window, qtbot):
    """A click with the click tool: a selection held (candidates on screen, not kept)."""
    window.tools.set_tool("segment")
    with qtbot.waitSignal(window.segment.candidatesChanged, timeout=30_000):
        qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=window.canvas.rect().center())
    assert window.segment.holds_selection()


def test_esc_dismisses_the_notice_before_it_drops_the_selection(window, clip, qtbot):
    """A selection held and a notice shown: the first Esc dismisses the notice (it comes back with
    Ctrl+Shift+N) and keeps the selection (its clicks would be gone), the second drops the selection.
    Esc dropped the selection and left the notice there, which no key dismissed while one was held."""
    window.open_path(clip)
    said = _refused(window, qtbot)  # "This frame has no mask; ..." (says nothing of Esc)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    _select(window, qtbot)
    qtbot.keyClick(window.canvas, Qt.Key.Key_N, CTRL | SHIFT)
    assert window.notice.text() == said and "Esc" not in said
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not window.notice.isVisible() and window.segment.holds_selection()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not window.segment.holds_selection() and not window.segment.tool.candidates
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)  # (nothing left to take it: no harm)
    assert not window.notice.isVisible() and window.project.has_video


def test_esc_does_what_a_notice_naming_it_says_and_then_dismisses_it(window, clip, qtbot):
    """The notice that stops Preview while a selection is not kept says "press Enter to keep it (Esc
    drops it)": Esc does that, as with a job's "cancel it (Esc)", and the next Esc dismisses it."""
    window.open_path(clip)
    _select(window, qtbot)
    qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL)
    said = window.notice.text()
    assert "(Esc drops it)" in said
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not window.segment.holds_selection() and window.notice.text() == said
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not window.notice.isVisible()
