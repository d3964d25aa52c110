"""The window's tool bars and status bar at the widths a user gives it."""
from PySide6.QtWidgets import QLabel, QToolBar, QToolButton, QWidget


def hidden(bar) -> list[str]:
    """The bar's buttons and fields gone behind its » button (not shown for want of room)."""
    return [a.text() or a.toolTip() for a in bar.actions()
            if not a.isSeparator() and a.isVisible() and not bar.widgetForAction(a).isVisible()]


def test_every_tool_bar_button_stays_in_sight_in_a_narrow_window(window, clip, qtbot):
    """At 1024 px wide (or half a 1920 screen) Settings, the compare modes, Preview, Cancel job,
    Commit, Track and Grow went behind the bars' » buttons. The buttons drop the text beside their
    icon (the tooltip keeps it) while the window is too narrow for it, and show it again when wide."""
    window.open_path(clip)
    main = window.findChild(QToolBar, "MainToolbar")
    bars = (main, window.tools)
    inpaint = main.widgetForAction(window.inpaint_action)
    track = window.tools.widgetForAction(window.segment.track_action)
    window.resize(1440, 800)
    qtbot.waitUntil(lambda: inpaint.toolButtonStyle().name == "ToolButtonTextBesideIcon")
    assert hidden(main) == [] and hidden(window.tools) == []
    assert track.toolButtonStyle().name == "ToolButtonTextBesideIcon"
    for width in (1024, 960):
        window.resize(width, 700)
        qtbot.waitUntil(lambda: window.width() == width)
        qtbot.wait(20)
        assert [hidden(bar) for bar in bars] == [[], []], width
        assert inpaint.toolButtonStyle().name == "ToolButtonIconOnly" and "Inpaint" in inpaint.toolTip()
        assert all(not b.findChild(QToolButton, "qt_toolbar_ext_button").isVisible() for b in bars)
    window.resize(1440, 800)
    qtbot.waitUntil(lambda: inpaint.toolButtonStyle().name == "ToolButtonTextBesideIcon")
    assert track.toolButtonStyle().name == "ToolButtonTextBesideIcon" and hidden(main) == []


def test_grow_and_track_stay_in_sight_in_an_800_px_window(window, clip, qtbot):
    """At 800 px wide, with the buttons' words gone, the mask tools' bar still needed 924 px: Track
    and Grow went behind its » button. The captions before its fields go too (the fields keep their
    tooltips), and every button and field is back in sight; wide again, the captions are back."""
    window.open_path(clip)
    tools = window.tools
    grow = window.segment.dilate_spin
    captions = [a for a in tools.actions() if isinstance(tools.widgetForAction(a), QLabel)]
    assert [tools.widgetForAction(a).text().strip() for a in captions] == ["Size", "Overlay", "Apply to"]
    window.resize(800, 600)
    qtbot.waitUntil(lambda: window.width() == 800)
    qtbot.wait(20)
    assert hidden(tools) == [] and hidden(window.findChild(QToolBar, "MainToolbar")) == []
    assert grow.isVisible() and tools.widgetForAction(window.segment.track_action).isVisible()
    right = grow.mapTo(window, grow.rect().topRight()).x()
    assert right < window.width(), right  # (drawn inside the window, not cut off at its edge)
    assert not tools.findChild(QToolButton, "qt_toolbar_ext_button").isVisible()
    assert not any(a.isVisible() for a in captions)
    assert all(w.toolTip() for w in (tools.size_spin, tools.opacity, tools.scope_box, grow))
    window.resize(1440, 800)
    qtbot.waitUntil(lambda: all(a.isVisible() for a in captions) and hidden(tools) == [])
    assert all(tools.widgetForAction(a).isVisible() for a in captions)


def test_the_status_bar_keeps_room_for_its_message_in_an_800_px_window(window, clip, qtbot):
    """With the bundled weights on a CPU the weights field said 'unused: auto fills with
    propagate+telea on a CPU': at 800 px wide the bar's messages had room for one word ('Opened').
    The field says '(unused on a CPU)' (its tooltip says why), and 'Opened clip.mp4: ...' shows whole,
    as do the fields."""
    window.settings.weights = ""  # the bundled model, as after an install
    window.settings.device = "cpu"
    window.status.refresh()
    window.resize(800, 600)
    qtbot.waitUntil(lambda: window.width() == 800)
    window.open_path(clip)
    bar = window.statusBar()
    message = bar.currentMessage()
    assert message.startswith("Opened clip.mp4: 12 frames")
    fields = [w for w in bar.findChildren(QWidget) if w.parent() is bar and w.isVisible() and w.width() > 0]
    room = min(w.x() for w in fields) - 8  # (the message is drawn left of the permanent fields)
    assert bar.fontMetrics().horizontalAdvance(message) <= room, (room, window.status.weights.text())
    for field in (window.status.device, window.status.weights, window.status.memory):  # (and theirs whole)
        assert field.fontMetrics().horizontalAdvance(field.text()) <= field.contentsRect().width(), field.text()
