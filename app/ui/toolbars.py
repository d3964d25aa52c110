"""Tool bars that keep every button in sight as the window narrows."""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QToolBar, QToolButton, QWidget

TEXT = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
ICON = Qt.ToolButtonStyle.ToolButtonIconOnly


@dataclass
class _Bar:
    bar: QToolBar
    buttons: list[QToolButton] = field(default_factory=list)  # those that show their text when there is room
    need: int = 0  # the bar's width with their text (measured while it shows)
    compact: bool = False


class CompactToolBars(QObject):
    """The buttons of ``bars`` that show their text beside the icon show the icon alone (their
    tooltips keep the name and key) while ``window`` is too narrow for the bar with the text: at
    1024 px wide, or half a 1920 screen, Settings, the compare modes, Preview, Cancel job, Commit,
    Track and Grow went behind the bars' » buttons. Each bar on its own; wide again, the text is back."""

    def __init__(self, window: QWidget, bars: list[QToolBar]):
        super().__init__(window)
        self.window = window
        self.bars = [_Bar(bar, [w for a in bar.actions() if a.text()
                                for w in [bar.widgetForAction(a)]
                                if isinstance(w, QToolButton) and w.toolButtonStyle() == TEXT]) for bar in bars]
        window.installEventFilter(self)

    def eventFilter(self, obj, e) -> bool:
        if obj is self.window and e.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.fit()
        return False

    def fit(self) -> None:
        room = self.window.width() - 8  # (the tool bar area's margins)
        for b in self.bars:
            if not b.compact:
                b.need = b.bar.sizeHint().width()
            compact = room < b.need
            if compact != b.compact:
                b.compact = compact
                for button in b.buttons:
                    button.setToolButtonStyle(ICON if compact else TEXT)
