"""The status-bar warning's × was for the mouse alone (no focus, so no key reached it), and the room
the fields leave a message (``MESSAGE_ROOM``) was counted without the warning's sign and ×: in a
window just wide enough for the fields' names, a warning's words had 47 px less than a routine
message's. The × is reached by Tab and pressed by Space or Enter (a click still leaves the focus
where it was), and while a warning shows the fields drop their names where its sign and × would
leave its words less than ``MESSAGE_ROOM``."""
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


def test_the_warnings_sign_and_x_count_in_the_room_the_fields_leave_its_words(window, qtbot):
    window.settings.weights = ""
    window.settings.device = "cpu"
    window.status.refresh()
    bar, status = window.statusBar(), window.status
    marks = bar.marks_width()  # the sign, its gap and the ×
    assert marks > 20

    def named() -> bool:
        return status.device.text().startswith("Device: ")

    width = 700
    resize(qtbot, window, width)
    assert not named()
    while not named():  # the narrowest width where the fields keep their names beside a routine message
        width += 2
        resize(qtbot, window, width)
        assert width < 1000
    resize(qtbot, window, width + marks // 2)  # a little wider: where the sign and × make the difference
    room = message_rect(bar).width()
    assert named() and MESSAGE_ROOM <= room < MESSAGE_ROOM + marks  # (a routine message has its room)

    window.messages.warn(LONG, 600_000)
    # the fields drop their names for the warning: its words have their room beside its sign and ×
    qtbot.waitUntil(lambda: not named() and message_rect(bar).width() - marks >= MESSAGE_ROOM and x_placed(bar))
    words = bar.warning_parts()[2]
    assert words.endswith("…") and len(words) > len("clip.mpg is damaged")
    qtbot.mouseClick(bar.dismiss_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: named() and message_rect(bar).width() == room)  # the warning gone, the names are back
