"""The main window at a small size (640x480: half a 1280 screen, a small laptop), a file that cannot
be opened, and the notice over the picture, driven through the window as a user's mouse is."""
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox, QToolBar, QToolButton, QWidget

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


def out_of_sight(bar) -> list[str]:
    """The bar's buttons and fields not shown (for want of room: behind its » button)."""
    return [a.text() or bar.widgetForAction(a).toolTip()[:20] for a in bar.actions()
            if not a.isSeparator() and a.isVisible() and not bar.widgetForAction(a).isVisible()]


def resize(qtbot, window, width, height):
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.width() == width and window.height() == height)
    qtbot.wait(20)


def test_every_tool_bar_button_and_field_is_in_sight_in_a_640_px_window(window, clip, qtbot):
    """At 640 px wide the Grow box went behind the mask tools' » button (the bar needed 660 px with
    its words and captions gone). The Overlay slider narrows there: every button and field of both
    bars is in sight, drawn whole inside the window; wide again, the slider is as wide as before."""
    window.open_path(clip)
    main = window.findChild(QToolBar, "MainToolbar")
    tools = window.tools
    overlay = tools.opacity
    resize(qtbot, window, 1280, 800)
    designed = overlay.width()
    resize(qtbot, window, 640, 480)
    for bar in (main, tools):
        assert out_of_sight(bar) == [], bar.objectName()
        assert not bar.findChild(QToolButton, "qt_toolbar_ext_button").isVisible()
        for a in bar.actions():
            widget = bar.widgetForAction(a)
            if a.isVisible() and not a.isSeparator() and widget.isVisible():
                right = widget.mapTo(window, widget.rect().topRight()).x()
                assert right < window.width(), (a.text() or a.toolTip(), right)
    grow = window.segment.dilate_spin
    assert grow.isVisible() and grow.isEnabled() and grow.toolTip()
    assert 0 < overlay.width() < designed and overlay.toolTip()
    overlay.setValue(80)  # (still a slider a user can set)
    assert overlay.value() == 80
    resize(qtbot, window, 1280, 800)
    qtbot.waitUntil(lambda: overlay.width() == designed)
    assert out_of_sight(tools) == []


def test_a_truncated_video_is_refused_in_the_notice_and_the_open_video_stays(window, clip, make_clip, tmp_path,
                                                                             qtbot, monkeypatch):
    """Opening a file that is no video (here an mp4 cut short by an interrupted copy) opened an error
    dialog to dismiss, with nothing to decide. The notice over the picture says it in one line, Help >
    Recent messages keeps it, and the video open before is still open and can be painted on; with no
    video open the notice shows over the empty picture area as well."""
    critical = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a, **k: critical.append(a[2])))
    whole = make_clip(n=12, name="whole.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    resize(qtbot, window, 640, 480)
    notice = window.notice

    assert not window.open_path(cut)  # nothing open yet
    said = notice.text()
    assert critical == [] and said and "cut.mp4" in said and "\n" not in said
    assert notice.isVisible() and notice.isVisibleTo(window) and notice.geometry().intersects(window.compare.rect())
    assert notice.timer.remainingTime() > 5000 and said in window.messages.text()
    assert not window.project.has_video
    notice.dismiss()

    assert window.open_path(clip)
    window.project.set_current(3)
    assert not window.open_path(cut)
    assert critical == [] and notice.text() == said
    assert window.project.video_path == clip.resolve() and window.project.n_frames == 12
    assert window.project.current == 3 and window.inpaint_action.isEnabled() and window.open_action.isEnabled()
    canvas = window.canvas
    qtbot.waitUntil(lambda: canvas.image is not None)
    QTest.mouseClick(canvas, LEFT, NONE, canvas.rect().center())  # (the video open before takes a brush stroke)
    assert window.project.masks.masked_frames() == [3]


def test_a_press_on_the_notice_dismisses_it_and_paints_on_the_picture_beneath(window, clip, qtbot):
    """The notice covers the top of the picture; a click on it dismissed it and that was all: a brush
    stroke begun there was lost. Now the press dismisses it and goes on to the picture at that point,
    which keeps the mouse until release: the stroke paints from where it began to where it ends."""
    window.open_path(clip)
    resize(qtbot, window, 640, 480)
    canvas, notice = window.canvas, window.notice
    qtbot.waitUntil(lambda: canvas.image is not None)
    qtbot.keyClick(canvas, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)  # no mask: a notice
    assert notice.text().startswith("This frame has no mask")
    handle = window.windowHandle()
    start = notice.label.mapTo(window, notice.label.rect().center())
    top = canvas.to_image(canvas.mapFrom(window, start))
    assert 0 <= top.y() < 20 and 0 <= top.x() < 96  # (over the picture's top rows)
    end = canvas.mapTo(window, canvas.to_widget(type(top)(top.x(), 50)).toPoint())
    window.tools.size_spin.setFocus()  # (a field had the keys: the picture takes them, as at any click on it)
    QTest.mousePress(handle, LEFT, NONE, start)
    assert not notice.isVisible() and canvas.hasFocus()
    for step in range(1, 6):
        QTest.mouseMove(handle, start + (end - start) * step / 5)
    QTest.mouseRelease(handle, LEFT, NONE, end)
    mask = window.project.masks.get(0)
    x = int(top.x())
    assert mask[int(top.y()), x] and mask[50, x] and mask[30, x]  # where it began, ended and between
    assert not mask[:, :max(0, x - 20)].any()  # (one stroke, nothing else)
    assert window.project.undo.count() == 1
    QTest.mouseClick(handle, LEFT, NONE, QPoint(window.width() // 2, window.height() // 2))  # no notice: as ever
    assert window.project.undo.count() == 2


def test_the_status_bar_fields_drop_their_names_to_leave_room_for_the_message(window, make_clip, qtbot):
    """At 640 px wide the status bar's fields ('Device: CPU', 'Weights: sttn_inpaint.pth (unused on
    a CPU)', 'Memory: 665 MB') left its messages 155 px: 'Opened schoolgirls.mp4: 80 frames, ...'
    showed as 'Opened schoolgirls.mp4: '. There the fields drop their names (their tooltips keep
    them) and the message shows whole; wide again, the names are back."""
    window.settings.weights = ""  # the bundled model, on a CPU: the longest field there is
    window.settings.device = "cpu"
    window.status.refresh()
    status, bar = window.status, window.statusBar()
    resize(qtbot, window, 640, 480)
    assert window.open_path(make_clip(n=12, fps=12, name="beach_holiday.mp4"))
    message = bar.currentMessage()
    assert message.startswith("Opened beach_holiday.mp4: 12 frames, 96x64, 12 fps")
    qtbot.wait(20)
    fields = [w for w in bar.findChildren(QWidget) if w.parent() is bar and w.isVisible() and w.width() > 0]
    room = min(w.x() for w in fields) - 8  # (the message is drawn left of the permanent fields)
    assert bar.fontMetrics().horizontalAdvance(message) <= room, room
    assert status.device.text() == "CPU" and status.weights.text() == "sttn_inpaint.pth (unused)"
    assert status.memory.text().endswith(" MB") and status.memory.text()[0].isdigit()
    for field in (status.device, status.weights, status.memory):  # whole, and named in its tooltip
        assert field.fontMetrics().horizontalAdvance(field.text()) <= field.contentsRect().width(), field.text()
        assert field.toolTip()
    assert "on a CPU" in status.weights.toolTip()
    resize(qtbot, window, 1280, 800)
    assert status.device.text() == "Device: CPU" and status.memory.text().startswith("Memory: ")
    assert status.weights.text() == "Weights: sttn_inpaint.pth (unused on a CPU)"
