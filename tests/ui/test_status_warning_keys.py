"""The status-bar warning's × was for the mouse alone (no focus, so no key reached it), and the room
the fields leave a message (``MESSAGE_ROOM``) was counted without the warning's sign and ×: in a
window just wide enough for the fields' names, a warning's words had 47 px less than a routine
message's. The × is reached by Tab and pressed by Space or Enter (a click still leaves the focus
where it was), and the fields drop their names where a warning's sign and × would leave its words
less than ``MESSAGE_ROOM``, whether a warning shows or not (a warning no longer toggles them)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from app.ui.statusbar import MESSAGE_ROOM, message_rect
from test_status_message import resize
from test_status_priority import bar  # noqa: F401 (the fixture)
from test_status_warning_dismiss import CANDIDATES, DAMAGED, LONG, x_placed


def test_tab_reaches_the_warnings_x_and_space_or_enter_dismisses_it(bar, qtbot):
    window = bar.window()
    central = QWidget()
    layout = QVBoxLayout(central)
    edit = QLineEdit()  # (where the focus is, as the picture holds it in the main window)
    layout.addWidget(QLineEdit("before it in the focus chain, after the ×"))
    layout.addWidget(edit)
    window.setCentralWidget(central)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window and edit.isVisible())
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    x = bar.dismiss_button
    assert x.accessibleName() == "Dismiss warning"
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
        bar.log.warn(DAMAGED, 600_000)
        bar.log.show(CANDIDATES, 600_000)
        qtbot.keyClick(edit, Qt.Key.Key_Tab)
        assert x.hasFocus(), key
        qtbot.keyClick(x, key)
        assert not bar.warning and bar.currentMessage() == CANDIDATES, key  # dismissed: the message waiting shows
        assert not x.isVisible() and edit.hasFocus(), key  # (the focus back where Tab took it from)

    bar.log.warn(DAMAGED, 600_000)
    qtbot.mouseClick(x, Qt.MouseButton.LeftButton)  # a click dismisses it and leaves the focus where it was
    assert not bar.warning and edit.hasFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Tab)  # (no warning: no × to reach)
    assert not x.hasFocus()


def test_a_warning_coming_or_going_leaves_the_fields_names_as_they_were(window, qtbot):
    """The fields' names counted a warning's sign and × only while a warning showed: at the widths of a
    47-px band they went with each warning and came back when it went. They count always now: at every
    width around the narrowest that keeps the names (and in the old band below it) a warning showing,
    then dismissed, leaves the names as they were, and where they stay its words have their room."""
    window.settings.weights = ""
    window.settings.device = "cpu"
    window.status.refresh()
    window.status.timer.stop()  # (the memory field's figure, and so its width, stays put)
    bar, status = window.statusBar(), window.status
    marks = bar.marks_width()  # the sign, its gap and the ×
    assert marks > 20

    def named() -> bool:
        return status.device.text().startswith("Device: ")

    width = 700
    resize(qtbot, window, width)
    assert not named()
    while not named():  # the narrowest width where the fields keep their names
        width += 1
        resize(qtbot, window, width)
        assert width < 1100
    # a warning's words have their room beside the named fields, its sign and × (a routine message more)
    assert message_rect(bar).width() - marks >= MESSAGE_ROOM
    seen = set()
    for w in range(width - marks - 5, width + 7, 3):  # the old band (named while no warning showed), and on
        resize(qtbot, window, w)
        before = named()
        seen.add(before)
        assert before == (w >= width), w
        window.messages.warn(LONG, 600_000)
        qtbot.waitUntil(lambda w=w: x_placed(bar, w))
        assert named() == before, w  # the warning showing kept them
        if before:
            assert message_rect(bar).width() - marks >= MESSAGE_ROOM, w
        qtbot.mouseClick(bar.dismiss_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not bar.warning and not bar.dismiss_button.isVisible())
        assert named() == before, w  # and its going too
    assert seen == {True, False}
