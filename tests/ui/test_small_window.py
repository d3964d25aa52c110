"""The main window at a small size (640x480: half a 1280 screen, a small laptop), a file that cannot
be opened, and the notice over the picture, driven through the window as a user's mouse is."""
from PySide6.QtWidgets import QToolBar, QToolButton


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
