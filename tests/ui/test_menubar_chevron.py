"""At the window's narrowest (about 380 px; wider with a larger font) the menu bar has no room for
Help: Qt puts it behind the menu bar's » button, which the dark style drew dark on dark, so Help
(About, Recent messages, the keyboard help) was out of sight. The button shows its chevron."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QToolButton


def test_the_menu_bar_chevron_is_drawn_where_help_has_no_room(window, qtbot, clip):
    from app.core.paths import resources_dir
    from app.ui.qimage import qimage_to_rgb

    window.setStyleSheet((resources_dir() / "style.qss").read_text().replace(
        "@ICONS@", (resources_dir() / "icons").as_posix()))  # (the application's, as app.gui sets it)
    window.open_path(clip)
    font = window.font()
    font.setPointSizeF(font.pointSizeF() * 1.3)  # (a larger desktop font: the menus need more room)
    window.menuBar().setFont(font)
    window.resize(300, 600)  # (it stops at its narrowest)
    bar = window.menuBar()
    qtbot.waitUntil(lambda: bar.findChild(QToolButton, "qt_menubar_ext_button") is not None
                    and bar.findChild(QToolButton, "qt_menubar_ext_button").isVisible())
    help_menu = next(a for a in bar.actions() if a.text() == "&Help")
    assert bar.actionGeometry(help_menu).right() > bar.width()  # Help is behind the button
    button = bar.findChild(QToolButton, "qt_menubar_ext_button")
    assert 0 <= button.geometry().left() and button.geometry().right() < bar.width()  # (whole, in the bar)
    drawn = qimage_to_rgb(button.grab().toImage()).max(axis=2)
    assert (drawn > 150).sum() >= 8, int(drawn.max())  # a light chevron on the dark bar, not dark on dark
