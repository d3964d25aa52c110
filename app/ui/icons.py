"""Icons drawn by hand as SVG in resources/icons; QIcon renders them sharp at any DPI."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QProxyStyle

from app.core.paths import resources_dir

#: how much of a disabled icon shows: the light icons on the dark theme came out of Fusion at 88 % of
#: their brightness, so Play, Save or Undo with nothing to act on looked ready to click
DISABLED_OPACITY = 0.35


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


class DimDisabledIcons(QProxyStyle):
    """The application's style (``base``, Fusion) with the icons of disabled buttons, actions and
    menu items drawn faint (``DISABLED_OPACITY``), as the style sheet greys their text."""

    def generatedIconPixmap(self, mode, pixmap, option):
        if mode != QIcon.Mode.Disabled or pixmap.isNull():
            return super().generatedIconPixmap(mode, pixmap, option)
        out = QPixmap(pixmap.size())
        out.setDevicePixelRatio(pixmap.devicePixelRatio())
        out.fill(Qt.GlobalColor.transparent)
        painter = QPainter(out)
        painter.setOpacity(DISABLED_OPACITY)
        painter.drawPixmap(0, 0, pixmap)
        painter.end()
        return out
