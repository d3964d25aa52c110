"""The window narrower than its tool bars (tiled beside an editor, a small screen at 200 %): every
button and field stays where a user can reach it, down to the narrowest width the window takes."""
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolBar, QToolButton

LEFT = Qt.MouseButton.LeftButton


def resize(qtbot, window, width, height=480):
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.height() == height and window.width() in (width, window.minimumSizeHint().width()))
    qtbot.wait(20)


def shown_whole(widget, window) -> bool:
    at = widget.mapTo(window, QPoint(0, 0))
    return (widget.isVisible() and at.x() >= 0 and at.y() >= 0 and at.x() + widget.width() <= window.width()
            and at.y() + widget.height() <= window.height())


def widget_of(window, action):
    """The button or field that shows ``action``, in whichever tool bar row it is."""
    for bar in window.findChildren(QToolBar):
        w = bar.widgetForAction(action)
        if w is not None and bar.isVisible():
            return w
    return None


def test_every_tool_bar_button_and_field_is_reachable_down_to_the_narrowest_window(window, clip, qtbot):
    """Below 618 px the mask tools' last buttons and fields went behind the bar's » (Grow at 560 px;
    at 400 px also 'Apply to', Clear, Select, Commit, Track, and Settings of the main bar): shown
    only while the pointer stayed on the expanded bar, never to the keyboard. They go on to rows of
    their own below the bar: at every width down to the window's narrowest each is in sight, whole,
    and works; no » is left; wide again the rows go and the bars are as before."""
    window.open_path(clip)
    main = window.findChild(QToolBar, "MainToolbar")
    resize(qtbot, window, 1280, 800)
    designed = {bar: [a for a in bar.actions() if not a.isSeparator()] for bar in (main, window.tools)}
    styles = {a: bar.widgetForAction(a).toolButtonStyle() for bar, acts in designed.items() for a in acts
              if isinstance(bar.widgetForAction(a), QToolButton)}
    resize(qtbot, window, 200)
    narrowest = window.width()
    assert 300 < narrowest < 560
    rows_seen = 0
    for width in (narrowest, 400, 480, 560, 600, 640):
        resize(qtbot, window, width)
        rows = [b for b in window.findChildren(QToolBar) if b.isVisible()]
        rows_seen = max(rows_seen, len(rows))
        for bar in rows:
            assert not bar.findChild(QToolButton, "qt_toolbar_ext_button").isVisible(), (width, bar.objectName())
        for bar, actions in designed.items():
            for a in actions:
                if a.isVisible():  # (a caption hidden in a narrow window: its field's tooltip names it)
                    w = widget_of(window, a)
                    assert w is not None and shown_whole(w, window), (width, a.text() or a.toolTip())
        # they work where they are: a compare mode, a mask tool, the Grow field
        side = widget_of(window, window.compare.mode_actions["side"])
        QTest.mouseClick(side, LEFT)
        assert window.compare.mode == "side"
        QTest.mouseClick(widget_of(window, window.compare.mode_actions["original"]), LEFT)
        assert window.compare.mode == "original"
        eraser = next(a for a in window.tools.tool_actions() if a.data() == "eraser")
        QTest.mouseClick(widget_of(window, eraser), LEFT)
        assert eraser.isChecked()
        QTest.mouseClick(widget_of(window, next(a for a in window.tools.tool_actions() if a.data() == "brush")), LEFT)
        grow = window.segment.dilate_spin
        assert shown_whole(grow, window)
        grow.setFocus()
        grow.selectAll()
        QTest.keyClicks(grow, str(10 + width % 7))
        QTest.keyClick(grow, Qt.Key.Key_Return)
        assert window.project.engine_settings["dilate"] == 10 + width % 7
    assert rows_seen >= 4  # (the main bar and the mask tools, each with a row below at the narrowest)
    resize(qtbot, window, 1280, 800)
    assert sorted(b.objectName() for b in window.findChildren(QToolBar) if b.isVisible()) == ["MainToolbar", "ToolPanel"]
    for bar, actions in designed.items():
        assert [a for a in bar.actions() if not a.isSeparator()] == actions
    assert {a: widget_of(window, a).toolButtonStyle() for a in styles} == styles
    assert main.geometry().bottom() < window.tools.geometry().top() < window.compare.mapTo(window, QPoint(0, 0)).y()
