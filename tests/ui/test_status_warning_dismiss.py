"""A warning in the status bar (damage met, a failed autosave) held it for 15 s with no way to
dismiss it: a routine hint said meanwhile ("3 candidate(s)") waited all that time behind it; and it
looked like any other message. It has the style's warning sign before its words and a × after them,
which dismisses it (the message waiting shows at once, for its own time); a click on its words opens
Help > Recent messages. Real event loop, the bar's own timer, short times."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel, QPlainTextEdit, QStyle

from app.ui.statusbar import fields_of, message_rect
from test_status_priority import EPS, bar, shown_at  # noqa: F401 (bar: the fixture)

CANDIDATES = "3 candidate(s): Tab shows the next"
DAMAGED = "clip.mpg is damaged near frame 16"
LONG = ("clip.mpg is damaged near frame 16: the decoder conceals it, so the frames from there up to the next "
        "keyframe (frame 24) may show blocks or smears; check them before you export")


def sign_rect(bar) -> QRect:
    """Where a warning's sign belongs: at the start of the message's room, the style's small icon size,
    centred in the bar's height."""
    room, size = message_rect(bar), bar.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
    return QRect(room.left(), room.top() + (room.height() - size) // 2, size, size)


def test_the_x_dismisses_a_warning_and_the_routine_message_waiting_shows_at_once_for_its_own_time(bar, qtbot):
    bar.log.warn(DAMAGED, 600_000)
    bar.log.show("Segmenting…")
    bar.log.show(CANDIDATES, 300)
    assert bar.currentMessage() == DAMAGED and bar.dismiss_button.isVisible()
    qtbot.mouseClick(bar.dismiss_button, Qt.MouseButton.LeftButton)
    assert bar.currentMessage() == CANDIDATES and not bar.warning and bar.pending is None  # at once
    assert not bar.dismiss_button.isVisible()  # (a routine message goes by itself)
    assert DAMAGED in bar.log.text()  # (Help > Recent messages keeps it)
    qtbot.waitUntil(lambda: bar.currentMessage() == "", timeout=5_000)
    assert bar.shown[-1][0] - shown_at(bar, CANDIDATES) >= 0.3 - EPS  # its own time, from the dismissal
    assert "Segmenting…" not in [m for _, m in bar.shown]  # (the latest alone, as at a warning's end)

    bar.log.warn("Autosave failed", 600_000)  # nothing waiting: the bar is cleared, and the next shows at once
    qtbot.mouseClick(bar.dismiss_button, Qt.MouseButton.LeftButton)
    assert bar.currentMessage() == "" and not bar.warning
    bar.log.show("Saved work.sttnproj")
    assert bar.currentMessage() == "Saved work.sttnproj"


def test_a_warning_shows_the_warning_sign_and_a_routine_message_after_it_does_not(bar, qtbot):
    sign = sign_rect(bar)
    blank = bar.grab().toImage()
    expected = QImage(blank)  # the bar with nothing said, the style's warning sign painted where it belongs
    p = QPainter(expected)
    bar.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning, None, bar).paint(p, sign)
    p.end()
    assert expected.copy(sign) != blank.copy(sign)  # (the sign has pixels of its own)
    bar.log.show("Saved work.sttnproj", 600_000)
    routine = bar.grab().toImage()
    assert routine.copy(sign) != expected.copy(sign)

    bar.log.warn(DAMAGED, 600_000)
    warned = bar.grab().toImage()
    assert warned.copy(sign) == expected.copy(sign)  # the sign before the words
    words = bar.warning_parts()[1]
    assert words.left() > sign.right() and bar.dismiss_button.geometry().left() > words.left()

    qtbot.mouseClick(bar.dismiss_button, Qt.MouseButton.LeftButton)  # the routine message it cut short is back
    assert bar.currentMessage() == "Saved work.sttnproj"
    assert bar.grab().toImage() == routine  # drawn as before the warning: no sign, no ×


def x_placed(bar, width=None) -> bool:
    """The warning's × is right after its words, as drawn, and off the fields."""
    sign, words_rect, words = bar.warning_parts()
    x, room = bar.dismiss_button.geometry(), message_rect(bar)
    return (width in (None, bar.width()) and bar.dismiss_button.isVisible() and room.left() <= sign.left()
            and x.left() == words_rect.left() + bar.fontMetrics().horizontalAdvance(words)
            and x.right() <= room.right() and bar.dismiss_button not in fields_of(bar))


def test_an_elided_warning_keeps_its_whole_text_in_the_tooltip_and_its_x_beside_the_fields(bar, qtbot):
    field = QLabel("Device: CPU")
    bar.addPermanentWidget(field)
    window = bar.window()
    window.resize(900, 300)
    qtbot.waitUntil(lambda: bar.width() == 900)
    bar.log.warn(LONG, 600_000)
    for width in (900, 520):  # (narrowed while it shows: the words and the × follow)
        window.resize(width, 300)
        qtbot.waitUntil(lambda: x_placed(bar, width))
        words = bar.warning_parts()[2]
        assert words.endswith("…") and words[:-1] in LONG and len(words) < len(LONG), width
        assert LONG in bar.toolTip()  # the whole of it
        assert bar.dismiss_button.geometry().right() < field.x()
    field.setText("Device: CUDA (unavailable)")  # a field wider: the room narrows, the × with it
    qtbot.waitUntil(lambda: x_placed(bar) and bar.dismiss_button.geometry().right() < field.x())
    bar.log.warn("Autosave failed", 600_000)  # short: whole, the × right after it
    assert bar.warning_parts()[2] == "Autosave failed" and x_placed(bar)
    assert bar.toolTip().startswith("Autosave failed\n")


def test_a_click_on_a_warning_opens_recent_messages_and_a_routine_message_is_no_button(window, qtbot):
    bar = window.statusBar()
    clicks = []
    bar.warningClicked.connect(lambda: clicks.append(bar.currentMessage()))
    middle = bar.height() // 2
    window.messages.show("Opened clip.mp4: 12 frames", 600_000)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPoint(message_rect(bar).left() + 20, middle))
    assert clicks == []  # (a routine message: nothing to open)

    window.messages.warn("clip.mp4 is damaged near frame 4", 600_000)
    seen = []

    def look():
        box = QApplication.activeModalWidget()
        if box is not None:
            seen.append((box.windowTitle(), box.findChild(QPlainTextEdit).toPlainText()))
            box.reject()

    QTimer.singleShot(0, look)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.warning_parts()[1].center())
    assert clicks == ["clip.mp4 is damaged near frame 4"]
    assert seen and seen[0][0] == "Recent messages" and seen[0][1].splitlines()[-1].endswith(
        "clip.mp4 is damaged near frame 4"), seen
    assert bar.warning and bar.currentMessage() == "clip.mp4 is damaged near frame 4"  # (read, not dismissed: ×)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPoint(message_rect(bar).right() - 2, middle))
    assert len(clicks) == 1  # (the bar past the words and the × is not the warning)
