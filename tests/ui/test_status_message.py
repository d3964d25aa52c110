"""The status bar's message beside its fields, at the widths a user gives the window."""
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizeGrip, QWidget

from app.ui.statusbar import MESSAGE_ROOM

LONG = ("Exported beach_holiday_inpainted.mp4 to /home/user/Videos/holiday/2026 summer/edited (H.264, CRF 18, "
        "preset medium, sound copied from the original; 1,440 frames, 57.6 s); Inpaint kept the result of frames "
        "0..1439, and the project is saved.")


def message_room(bar) -> int:
    """Where QStatusBar draws its message: from 6 px in to 2 px before the first widget right of it."""
    shown = [w for w in bar.findChildren(QWidget) if w.parent() is bar and w.isVisible() and w.width() > 0]
    fields = [w.x() for w in shown if not isinstance(w, QSizeGrip)]
    if not fields:  # (a long message has the fields' room too: up to the size grip)
        return min([w.x() for w in shown if isinstance(w, QSizeGrip)] or [bar.width() - 12]) - 6
    return min(fields) - 2 - 6


def resize(qtbot, window, width):
    window.resize(width, 600)
    qtbot.waitUntil(lambda: window.width() == width)
    qtbot.wait(20)


def test_a_long_message_ends_in_an_ellipsis_with_the_whole_of_it_in_the_tooltip(window, clip, qtbot):
    """A message longer than the room beside the fields was cut off mid-letter where the fields begin
    (no sign that more was said). It ends in "…" there, drawn as the bar draws a message that fits,
    and the bar's tooltip holds it whole; a message that fits is shown whole. The long one has the
    fields' room too while it shows (``StatusFields.make_room``): they come back with the next that fits."""
    window.settings.weights = ""
    window.settings.device = "cpu"
    window.status.refresh()
    window.status.timer.stop()  # (the memory field's figure stays put between the two pictures)
    window.open_path(clip)
    bar = window.statusBar()
    metrics = bar.fontMetrics()
    for width in (640, 800, 1024, 1280):
        resize(qtbot, window, width)
        window.messages.show("Opened clip.mp4: 12 frames, 96x64, 12 fps")
        room = message_room(bar)
        assert room >= MESSAGE_ROOM, width
        assert metrics.horizontalAdvance(bar.currentMessage()) <= room  # (whole)
        assert all(f.isVisible() for f in window.status.fields)
        window.messages.show(LONG)
        assert bar.currentMessage() == LONG and bar.toolTip() == LONG
        assert not any(f.isVisible() for f in window.status.fields)
        room = message_room(bar)
        shown = bar.grab().toImage()
        elided = metrics.elidedText(LONG, Qt.TextElideMode.ElideRight, room)
        assert elided.endswith("…") and len(elided) < len(LONG) and metrics.horizontalAdvance(elided) <= room
        bar.showMessage(elided)  # (fits: drawn by QStatusBar itself)
        assert bar.grab().toImage() == shown, width  # the long message, drawn as its ellipsed start
        assert elided[:-1] in LONG


def test_the_fields_keep_their_names_only_while_the_message_keeps_its_room(window, qtbot):
    """The fields dropped their names by a sum of their widths, spacing and size grip that left the
    message 3 px more than the bar gives it (at 800 px: 318 px for 315): between about 722 and 725 px
    wide the fields kept their names and the message had 237-239 px, less than the 240 it is due. By
    the room where the bar draws its message, names go exactly when it would have less (a warning's
    sign and × counted: ``marks_width``, whether a warning shows or not)."""
    window.settings.weights = ""
    window.settings.device = "cpu"
    window.status.refresh()
    bar, status = window.statusBar(), window.status
    due = MESSAGE_ROOM + bar.marks_width()
    seen = set()
    for width in range(740, 800, 2):
        resize(qtbot, window, width)
        room = message_room(bar)
        named = status.device.text().startswith("Device: ")
        seen.add(named)
        if named:
            assert room >= due, (width, room)
        else:
            named_room = room - sum(f.fontMetrics().horizontalAdvance(t[0]) - f.fontMetrics().horizontalAdvance(t[1])
                                    for f, t in status.texts.items())
            assert named_room < due, (width, named_room)
    assert seen == {True, False}


def test_the_memory_figure_growing_a_digit_is_room_checked_as_a_resize_is(window, qtbot, monkeypatch):
    """The fields' names were checked on a resize and a refresh only: at the narrowest width that keeps
    them, the memory figure going from 3 digits to 5 (checked every 2 s) took its room from the
    message, which then had less than it is due. It is checked when the figure changes width too."""
    from app.ui import statusbar

    window.settings.weights = ""
    window.settings.device = "cpu"
    monkeypatch.setattr(statusbar, "rss_bytes", lambda: 700 << 20)
    window.status.refresh()
    bar, status = window.statusBar(), window.status
    due = MESSAGE_ROOM + bar.marks_width()
    width = next(w for w in range(700, 900) if (resize(qtbot, window, w), status.device.text())[1].startswith("Device"))
    assert message_room(bar) >= due
    monkeypatch.setattr(statusbar, "rss_bytes", lambda: 70_000 << 20)
    status.update_memory()
    qtbot.wait(20)
    assert status.memory.text().endswith("70000 MB") and window.width() == width
    assert not status.device.text().startswith("Device"), message_room(bar)  # (names gone: the message keeps its room)
    assert message_room(bar) >= due
