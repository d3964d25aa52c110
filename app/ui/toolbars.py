"""Tool bars that keep every button in sight as the window narrows."""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QSlider, QToolBar, QToolButton, QWidget

TEXT = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
ICON = Qt.ToolButtonStyle.ToolButtonIconOnly

#: how a bar gives up room, step by step: 0 as designed; 1 its buttons' words go (the icons stay);
#: 2 the captions before its fields go too (each field's tooltip names it); 3 its sliders narrow
FULL, ICONS, BARE, NARROW = 0, 1, 2, 3
NARROW_SLIDER = 48  # px: a slider's width at NARROW (the overlay's 0-100 % in steps of about 2 %)


@dataclass
class _Bar:
    bar: QToolBar
    buttons: list[QToolButton] = field(default_factory=list)  # those that show their text when there is room
    captions: list[QAction] = field(default_factory=list)  # those of the words before its fields ("Size", "Apply to")
    sliders: dict[QSlider, int] = field(default_factory=dict)  # each with its width as designed
    need: list[int] = field(default_factory=lambda: [0, 0, 0])  # its width at FULL, ICONS and BARE (measured there)
    level: int = FULL


class CompactToolBars(QObject):
    """The buttons of ``bars`` that show their text beside the icon show the icon alone (their
    tooltips keep the name and key) while ``window`` is too narrow for the bar with the text: at
    1024 px wide, or half a 1920 screen, Settings, the compare modes, Preview, Cancel job, Commit,
    Track and Grow went behind the bars' » buttons. Narrower still (800 px: Track and Grow went
    again), the captions before the bar's fields go as well ("Size", "Overlay", "Apply to"; the
    fields' tooltips say what they are). At 640 px (a 1280 screen's half, a small laptop) the Grow
    box still went behind the »: the bar's sliders (Overlay) narrow as well. Each bar on its own;
    wide again, the words and widths are back."""

    def __init__(self, window: QWidget, bars: list[QToolBar]):
        super().__init__(window)
        self.window = window
        self.bars = [_Bar(bar, [w for a in bar.actions() if a.text()
                                for w in [bar.widgetForAction(a)]
                                if isinstance(w, QToolButton) and w.toolButtonStyle() == TEXT],
                          [a for a in bar.actions() if isinstance(bar.widgetForAction(a), QLabel)],
                          {w: w.maximumWidth() for a in bar.actions() for w in [bar.widgetForAction(a)]
                           if isinstance(w, QSlider) and w.minimumWidth() == w.maximumWidth()})  # (fixed: designed so)
                     for bar in bars]
        window.installEventFilter(self)

    def eventFilter(self, obj, e) -> bool:
        if obj is self.window and e.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.fit()
        return False

    def fit(self) -> None:
        room = self.window.width() - 8  # (the tool bar area's margins)
        for b in self.bars:
            level = FULL
            while level < NARROW:
                if b.level == level:  # (measured as it shows: a field's text may have changed)
                    b.bar.layout().invalidate()
                    b.need[level] = b.bar.sizeHint().width()
                if room >= b.need[level] and b.need[level]:
                    break
                self._show(b, level + 1)  # (the next level's width is measured as it shows)
                level += 1
            self._show(b, level)

    @staticmethod
    def _show(b: _Bar, level: int) -> None:
        if level == b.level:
            return
        b.level = level
        for button in b.buttons:
            button.setToolButtonStyle(ICON if level >= ICONS else TEXT)
        for caption in b.captions:  # (by its action: a tool bar shows and hides its widgets itself)
            caption.setVisible(level < BARE)
        for slider, width in b.sliders.items():
            slider.setFixedWidth(min(width, NARROW_SLIDER) if level >= NARROW else width)
