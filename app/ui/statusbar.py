"""Status bar: permanent fields (device, weights in use, memory of this process) and the log of
its messages (a message may be longer than the bar, and it goes after a while)."""
from __future__ import annotations

import os
import sys
import time
from collections import deque

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QSizeGrip, QSizePolicy, QStatusBar, QStyle, QStyleOption, QWidget

from app.core import paths
from app.core.engine import resolve_device, resolve_fill
from app.core.errors import InpaintError

from .dialogs.finetune_runs import weights_label
from .dialogs.text import text_dialog


def rss_bytes() -> int:
    """Resident memory now (Linux /proc), else the peak from getrusage."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


#: the bar's messages want this much room (px) beside the fields: "Opened schoolgirls.mp4: 80 frames, 432x240"
MESSAGE_ROOM = 240
DIRECT = Qt.FindChildOption.FindDirectChildrenOnly
#: where QStatusBar draws its message: from 6 px in to 2 px before the first field shown (or the size grip)
MESSAGE_LEFT, MESSAGE_GAP = 6, 2


def fields_of(bar: QStatusBar) -> list[QWidget]:
    """The bar's permanent widgets shown (its fields, a job's progress), left to right."""
    return sorted((w for w in bar.findChildren(QWidget, options=DIRECT)
                   if not isinstance(w, QSizeGrip) and w.isVisibleTo(bar)), key=lambda w: w.x())


def message_rect(bar: QStatusBar, first: QWidget | None = None) -> QRect:
    """Where ``bar`` draws its message, as QStatusBar has it: left of ``first`` (default: the first
    field shown) or of the size grip."""
    right = bar.width() - 12
    grips = [g for g in bar.findChildren(QSizeGrip, options=DIRECT) if g.isVisibleTo(bar)]
    if grips:
        right = grips[0].x()
    first = first or next(iter(fields_of(bar)), None)
    if first is not None:
        right = min(right, first.x() - MESSAGE_GAP)
    return QRect(MESSAGE_LEFT, 0, right - MESSAGE_LEFT, bar.height())


class MessageBar(QStatusBar):
    """A status bar whose message, where longer than the room beside its fields, ends in "…" (its
    tooltip holds it whole: ``MessageLog``); QStatusBar cut it off mid-letter."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        # (as QMainWindow makes its own: the fields' widths never hold the window wider)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def paintEvent(self, e):
        text = self.currentMessage()
        rect = message_rect(self)
        if not text or self.fontMetrics().horizontalAdvance(text) <= rect.width():
            super().paintEvent(e)
            return
        p = QPainter(self)  # (as QStatusBar paints, but for the words of the message)
        opt = QStyleOption()
        opt.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, opt, p, self)
        for field in fields_of(self):  # (while a message shows, only the permanent widgets do)
            opt.rect = field.geometry().adjusted(-2, -1, 2, 1)
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameStatusBarItem, opt, p, field)
        p.setPen(self.palette().windowText().color())
        p.drawText(rect, Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextSingleLine,
                   self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width()))
        p.end()


class StatusFields(QObject):
    """The device, the weights in use and the memory of this process, at the right of the bar. In a
    narrow window (640 px: 155 px were left for the bar's messages, and 'Opened schoolgirls.mp4: 80
    frames, ...' showed as 'Opened schoolgirls.mp4: ') they drop their names ('CPU', 'sttn_inpaint.pth
    (unused)', '665 MB'; the tooltips name them) while the names would leave the messages less than
    ``MESSAGE_ROOM``."""

    def __init__(self, bar: QStatusBar, settings, fill=None):
        super().__init__(bar)
        self.bar = bar
        self.settings = settings
        #: the fill mode jobs run with now (the project's engine settings); default: the stored ones
        self.fill = fill or (lambda: settings.engine().get("fill", "auto"))
        self.device = QLabel()
        self.weights = QLabel()
        self.memory = QLabel()
        self.texts: dict[QLabel, tuple[str, str]] = {}  # each field's words: (named, short)
        self.short = False
        for w in (self.device, self.weights, self.memory):
            w.setObjectName("StatusField")
            bar.addPermanentWidget(w)
        self.memory.setToolTip("Memory this program uses now")
        bar.installEventFilter(self)
        self.timer = QTimer(bar)
        self.timer.timeout.connect(self.update_memory)
        self.timer.start(2000)
        self.refresh()

    def refresh(self) -> None:
        try:
            resolved = resolve_device(self.settings.device)
            device = str(resolved).upper()
        except InpaintError:
            resolved, device = None, f"{self.settings.device} (unavailable)"
        self._say(self.device, f"Device: {device}")
        self.device.setToolTip("Device the jobs run on (Settings > General)")
        w = self.settings.weights_path()
        gone = w is not None and not w.exists()  # (moved or deleted since it was chosen)
        name, details = weights_label(w) if w else ("", "")  # (a fine-tune run's by its date and footage)
        unused, why = ("", "") if gone or not w else self.unused_by(resolved, w)
        self._say(self.weights, f"Weights: {name}{' (missing)' if gone else unused}" if w else "Weights: none (classic fill)",
                  f"{name}{' (missing)' if gone else unused.replace(' on a CPU', '')}" if w else "No weights")
        self.weights.setToolTip(f"{w} does not exist: choose the weights again in Settings > General" if gone else
                                (f"{details}\n{why}: the fill chosen in Settings > Engine does not use them; choose "
                                 "sttn or propagate+sttn there to fill with this model." if unused else details)
                                if w else "Choose a weights file in Settings > General")
        self.update_memory()
        self.fit()

    def unused_by(self, device, weights) -> tuple[str, str]:
        """(' (unused ...)', why) when the fill the engine settings choose runs no model on ``device``
        (telea, propagate+telea, or auto with the bundled weights on a CPU), else ('', ''). The words
        in the bar are short: at 800 px wide 'unused: auto fills with propagate+telea on a CPU' left
        the bar's messages a word ('Opened'); the tooltip says why. The bundled model is known by its
        path too (chosen as a file, it said 'Weights: sttn_inpaint.pth' while auto filled with
        propagate+telea, as ``Controller.fill_mode`` has it)."""
        chosen = str(self.fill())
        try:
            fill = resolve_fill(chosen, True, bundled=paths.is_bundled(weights), device=device)
        except InpaintError:
            return "", ""
        if fill.endswith("sttn"):
            return "", ""
        if chosen == "auto":
            return " (unused on a CPU)", f"Auto fills with {fill} on a CPU"
        return f" (unused by the {fill} fill)", f"The {fill} fill runs no model"

    def update_memory(self) -> None:
        self._say(self.memory, f"Memory: {rss_bytes() / 2**20:.0f} MB")

    def _say(self, field: QLabel, named: str, short: str = "") -> None:
        """Show ``named`` (``short``, or ``named`` past its "Name: ", in a narrow window)."""
        self.texts[field] = (named, short or named.partition(": ")[2] or named)
        field.setText(self.texts[field][self.short])

    def fit(self) -> None:
        """The fields named unless that leaves the bar's messages less than ``MESSAGE_ROOM`` (by the
        window's width and the fields' words alone: a job's progress bar beside them, while it runs,
        does not change their words). Measured where the bar draws its message (6 px in, 2 px left of
        the device): the sum of the fields' widths, spacing and grip it was judged by left it 3 px
        more than the bar does, and a message that wide was cut (at 800 px: 318 px for 315)."""
        if not self.bar.isVisible():
            return  # (its width is not the window's yet)
        self.bar.layout().activate()  # (the fields placed as their words are now)
        room = message_rect(self.bar, self.device).width()
        wider = sum(f.fontMetrics().horizontalAdvance(texts[0]) - f.fontMetrics().horizontalAdvance(f.text())
                    for f, texts in self.texts.items())  # (named, than as they show now)
        short = room - wider < MESSAGE_ROOM
        if short != self.short:
            self.short = short
            for field, texts in self.texts.items():
                field.setText(texts[short])

    def eventFilter(self, obj, e) -> bool:
        if obj is self.bar and e.type() == QEvent.Type.Resize:
            self.fit()
        return False


class MessageLog:
    """Shows a message in the status bar long enough to read it (8 s, more for a long one), keeps
    it as the bar's tooltip (the whole text where the bar cuts it off) and in a history of the last
    ``size`` messages (Help > Recent messages)."""

    def __init__(self, bar: QStatusBar, size: int = 200):
        self.bar = bar
        self.items: deque[tuple[str, str]] = deque(maxlen=size)

    def show(self, text: str, timeout_ms: int = 8000) -> None:
        self.items.append((time.strftime("%H:%M:%S"), text))
        self.bar.showMessage(text, max(timeout_ms, 60 * len(text)))  # about 16 characters a second
        self.bar.setToolTip(text)

    def note(self, text: str) -> None:
        """Keep ``text``, said elsewhere (a notice over the picture), in the history alone."""
        self.items.append((time.strftime("%H:%M:%S"), text))

    def revise(self, old: str, new: str) -> None:
        """Put ``new`` in place of ``old`` where the bar still shows it (a setting it named has changed
        since); the history keeps what was said."""
        if self.bar.currentMessage() == old and new != old:
            self.bar.showMessage(new, max(8000, 60 * len(new)))
            self.bar.setToolTip(new)

    def text(self) -> str:
        return "\n".join(f"{t}  {m}" for t, m in self.items)

    def dialog(self, parent=None) -> QDialog:
        """The history, newest last, in a dialog one can copy from."""
        view = QPlainTextEdit(self.text() or "No messages yet.")
        view.setReadOnly(True)
        view.moveCursor(view.textCursor().MoveOperation.End)
        return text_dialog(parent, "Recent messages", view, 760, 360)
