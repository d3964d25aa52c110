"""Tool bars that keep every button in sight as the window narrows."""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMainWindow, QSlider, QToolBar, QToolButton, QWidget

TEXT = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
ICON = Qt.ToolButtonStyle.ToolButtonIconOnly

#: how a bar gives up room, step by step: 0 as designed; 1 its buttons' words go (the icons stay);
#: 2 the captions before its fields go too (each field's tooltip names it); 3 its sliders narrow;
#: narrower still, its last buttons and fields go on to a row of their own below it (``_Bar.rows``)
FULL, ICONS, BARE, NARROW = 0, 1, 2, 3
NARROW_SLIDER = 48  # px: a slider's width at NARROW (the overlay's 0-100 % in steps of about 2 %)


@dataclass
class _Bar:
    bar: QToolBar
    styles: dict[QAction, Qt.ToolButtonStyle] = field(default_factory=dict)  # each button's, as designed
    captions: list[QAction] = field(default_factory=list)  # those of the words before its fields ("Size", "Apply to")
    sliders: dict[QSlider, int] = field(default_factory=dict)  # each with its width as designed
    need: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # its width at each level (measured there)
    level: int = FULL
    rows: list[QToolBar] = field(default_factory=list)  # those below it, for what does not fit at NARROW

    def button(self, action: QAction) -> QToolButton | None:
        """The button of ``action``, in the bar or a row below it."""
        for bar in (self.bar, *self.rows):
            w = bar.widgetForAction(action)
            if isinstance(w, QToolButton):
                return w
        return None


class CompactToolBars(QObject):
    """The buttons of ``bars`` that show their text beside the icon show the icon alone (their
    tooltips keep the name and key) while ``window`` is too narrow for the bar with the text: at
    1024 px wide, or half a 1920 screen, Settings, the compare modes, Preview, Cancel job, Commit,
    Track and Grow went behind the bars' » buttons. Narrower still (800 px: Track and Grow went
    again), the captions before the bar's fields go as well ("Size", "Overlay", "Apply to"; the
    fields' tooltips say what they are). At 640 px (a 1280 screen's half, a small laptop) the Grow
    box still went behind the »: the bar's sliders (Overlay) narrow as well. Below the 618 px the
    mask tools need then (the window goes down to about 340 px), the bar's last buttons and fields
    move to a row of their own under it, as many as it takes (at 560 px: Grow; at 400 px: Settings
    and, of the mask tools, 'Apply to' to Grow), where they stay in sight: behind the » they were
    shown only while the pointer stayed over the bar, and never to the keyboard. Each bar on its
    own; wide again, the row goes, and the words and widths are back."""

    def __init__(self, window: QWidget, bars: list[QToolBar]):
        super().__init__(window)
        self.window = window
        self.bars = [_Bar(bar, {a: w.toolButtonStyle() for a in bar.actions() for w in [bar.widgetForAction(a)]
                                if isinstance(w, QToolButton)},
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
            self._unwrap(b)  # (measured whole)
            level = FULL
            while level < NARROW:
                if b.level == level:  # (measured as it shows: a field's text may have changed)
                    b.need[level] = self._width(b.bar)
                if room >= b.need[level] and b.need[level]:
                    break
                self._show(b, level + 1)  # (the next level's width is measured as it shows)
                level += 1
            self._show(b, level)
            if level == NARROW:
                b.need[NARROW] = self._width(b.bar)
                if room < b.need[NARROW]:
                    self._wrap(b, room)

    @staticmethod
    def _width(bar: QToolBar) -> int:
        bar.layout().invalidate()
        return bar.sizeHint().width()

    def _wrap(self, b: _Bar, room: int) -> None:
        """Move the last of ``b``'s buttons and fields to rows below it until it fits ``room``, each
        row as full as ``room`` lets it be (a separator that would end a row goes with it)."""
        if not isinstance(self.window, QMainWindow):
            return  # (a lone tool bar keeps its »)
        moved: list[QAction] = []
        actions = b.bar.actions()
        while len(actions) > 1 and (self._width(b.bar) > room or _idle(actions[-1])):
            b.bar.removeAction(actions[-1])
            moved.insert(0, actions.pop())
        while moved and moved[0].isSeparator():
            b.bar.addAction(moved.pop(0))  # (a row does not begin with one: it ends the row above)
        row = -1
        while moved:
            row += 1
            if row == len(b.rows):
                b.rows.append(self._make_row(b))
            bar = b.rows[row]
            while moved:
                bar.addAction(moved.pop(0))
                if len(bar.actions()) > 1 and not _idle(bar.actions()[-1]) and self._width(bar) > room:
                    last = bar.actions()[-1]  # (the next row's)
                    bar.removeAction(last)
                    moved.insert(0, last)
                    break
            bar.show()
        for action in b.styles:
            if (button := b.button(action)) is not None and button.parent() is not b.bar:
                button.setToolButtonStyle(ICON)

    def _unwrap(self, b: _Bar) -> None:
        moved = [a for row in b.rows for a in row.actions()]
        if not moved:
            return
        for row in b.rows:
            for action in row.actions():
                row.removeAction(action)
            row.hide()
        b.bar.addActions(moved)
        self._style(b)

    def _make_row(self, b: _Bar) -> QToolBar:
        """A row under ``b.bar`` and its rows (above the next bar), hidden while it holds nothing."""
        row = QToolBar(f"{b.bar.windowTitle()} (continued)", self.window)
        row.setObjectName(f"{b.bar.objectName()}Row{len(b.rows) + 1}")
        row.setMovable(False)
        row.setToolButtonStyle(ICON)
        row.setIconSize(b.bar.iconSize())
        row.toggleViewAction().setVisible(False)  # (not offered in the bars' context menu)
        after = [x.bar for x in self.bars[self.bars.index(b) + 1:]]
        if after:
            self.window.insertToolBar(after[0], row)
            self.window.insertToolBarBreak(after[0])
        else:
            self.window.addToolBarBreak()
            self.window.addToolBar(row)
        return row

    def _show(self, b: _Bar, level: int) -> None:
        if level == b.level:
            return
        b.level = level
        self._style(b)
        for caption in b.captions:  # (by its action: a tool bar shows and hides its widgets itself)
            caption.setVisible(level < BARE)
        for slider, width in b.sliders.items():
            slider.setFixedWidth(min(width, NARROW_SLIDER) if level >= NARROW else width)

    @staticmethod
    def _style(b: _Bar) -> None:
        for action, style in b.styles.items():
            if (button := b.button(action)) is not None:
                button.setToolButtonStyle(ICON if b.level >= ICONS else style)


def _idle(action: QAction) -> bool:
    """A separator or a hidden caption: nothing to end a row with."""
    return action.isSeparator() or not action.isVisible()
