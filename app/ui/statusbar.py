"""Status bar: permanent fields (device, weights in use, memory of this process) and the log of
its messages (a message may be longer than the bar, and it goes after a while; a warning holds the
bar for its time against routine messages, with a warning sign and a × that dismisses it)."""
from __future__ import annotations

import os
import sys
import time
from collections import deque

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QApplication, QDialog, QLabel, QPlainTextEdit, QSizeGrip, QSizePolicy, QStatusBar,
                               QStyle, QStyleOption, QToolButton, QWidget)
from shiboken6 import isValid

from app.core import paths
from app.core.engine import resolve_device, resolve_fill
from app.core.errors import InpaintError

from .deadline import DeadlineTimer
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
#: (a warning's words want it beside its sign and ×: ``MessageBar.marks_width``)
MESSAGE_ROOM = 240
DIRECT = Qt.FindChildOption.FindDirectChildrenOnly
#: where QStatusBar draws its message: from 6 px in to 2 px before the first field shown (or the size grip)
MESSAGE_LEFT, MESSAGE_GAP = 6, 2
#: px between a warning's sign and its words
SIGN_GAP = 4
#: the object name of a warning's × (a part of the message, not one of the bar's fields)
DISMISS = "DismissWarning"


def fields_of(bar: QStatusBar) -> list[QWidget]:
    """The bar's permanent widgets shown (its fields, a job's progress), left to right."""
    return sorted((w for w in bar.findChildren(QWidget, options=DIRECT)
                   if not isinstance(w, QSizeGrip) and w.objectName() != DISMISS and w.isVisibleTo(bar)),
                  key=lambda w: w.x())


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


#: a routine message a warning displaced comes back after it for the rest of its time, unless less than this is left
RESUME_MS = 1000


class DismissButton(QToolButton):
    """A warning's ×: a click dismisses it without taking the focus from the picture; Tab reaches it
    (while a warning shows), and Space, Enter or Return press it. Hidden while it has the focus (the
    warning went), it gives the focus back to where Tab took it from."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.came_from: QWidget | None = None  # where the focus was before Tab brought it here
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        QApplication.instance().focusChanged.connect(self._focus_moved)

    def _focus_moved(self, old, new) -> None:
        if new is self:
            self.came_from = old

    def keyPressEvent(self, e) -> None:
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not e.isAutoRepeat():
            e.accept()
            self.click()
            return
        super().keyPressEvent(e)  # (Space: a button's own key)

    def give_focus_back(self) -> None:
        back, self.came_from = self.came_from, None
        if back is not None and isValid(back) and back.isVisible() and back.window() is self.window():
            back.setFocus(Qt.FocusReason.OtherFocusReason)


class MessageBar(QStatusBar):
    """A status bar whose message, where longer than the room beside its fields, ends in "…" (its
    tooltip holds it whole); QStatusBar cut it off mid-letter.

    Its messages have two ranks. ``warn``: a warning (damage met in the video, an autosave that
    failed) shows at once and holds the bar for its time; a newer warning replaces it. A routine
    message (``showMessage``, every other call) that arrives meanwhile waits and shows when the
    warning's time is over, or it is dismissed (its ×: ``dismiss``), for its own time; of several, the
    latest (the ones before it describe a state already gone: "Segmenting…" before "3 candidate(s)");
    one the warning displaced comes back for the rest of its time. A warning shows the style's warning
    sign before its words and a × after them; a click on its sign or words emits ``warningClicked``
    (the window opens Help > Recent messages: the warning whole, with what was said around it).
    ``clearMessage`` drops routine messages alone (a job started: a hint for the step before is out
    of date, a warning is not). Menus' status tips (Qt sends an empty one as a menu opens, which wiped
    any message) leave a warning be. Times are the bar's own (a precise timer that, fired early, waits
    out the rest): QStatusBar's own timeout is never used."""

    warningClicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        # (as QMainWindow makes its own: the fields' widths never hold the window wider)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.warning = False  # the message shown is a warning, held for its time
        self.pending: tuple[str, int] | None = None  # (text, ms): the routine message shown after the warning
        self._shown_ms = 0  # the time the message shown was given (0: until replaced)
        self._until: float | None = None  # time.monotonic() at which the message shown goes
        self._timer = DeadlineTimer(self)  # (a precise timer that, fired early, waits out the rest)
        self._timer.due.connect(self._expire)
        self._filtered: QWidget | None = None  # the window whose status tips pass here first
        self._said = ""  # the last message shown, the bar's tooltip
        self._pressed = False  # a press on a warning's sign or words, a click if released there
        self.dismiss_button = DismissButton(self)  # (not in the bar's layout: placed after a warning's words)
        self.dismiss_button.setObjectName(DISMISS)
        self.dismiss_button.setText("×")
        self.dismiss_button.setAutoRaise(True)
        self.dismiss_button.setToolTip("Dismiss this warning (Help > Recent messages keeps it)")
        self.dismiss_button.setAccessibleName("Dismiss warning")
        self.dismiss_button.clicked.connect(self.dismiss)
        self.dismiss_button.hide()
        self.setMouseTracking(True)  # (the pointing hand over a warning)

    def showMessage(self, text: str, timeout: int = 0) -> None:
        """A routine message, for ``timeout`` ms (0: until another): now, or after a warning held."""
        if self.warning:
            self.pending = (text, timeout) if text else None
            return
        self._display(text, timeout)

    def warn(self, text: str, timeout: int) -> None:
        """A warning, shown now and held for ``timeout`` ms against routine messages."""
        if not self.warning and self.currentMessage() and self.pending is None:
            rest = self._shown_ms and round(1000 * (self._until - time.monotonic()))
            if not self._shown_ms or rest >= RESUME_MS:  # (a routine message cut short comes back after)
                self.pending = (self.currentMessage(), rest)
        self.warning = True
        self._display(text, max(1, timeout))

    def dismiss(self) -> None:
        """The warning shown goes now (its ×, or its time is over): the routine message waiting behind
        it shows, for its own time, or the bar is cleared."""
        if not self.warning:
            return
        self.warning = False
        text, ms = self.pending or ("", 0)
        self.pending = None
        self._display(text, ms)

    def clearMessage(self) -> None:
        """Drop the routine message shown and any waiting; a warning stays for its time."""
        self.pending = None
        if not self.warning:
            self._display("", 0)

    def revise(self, old: str, new: str, timeout: int) -> None:
        """Put ``new`` in place of the routine message ``old`` where it shows (for ``timeout`` ms from
        now) or waits behind a warning."""
        if new == old:
            return
        if self.pending is not None and self.pending[0] == old:
            self.pending = (new, timeout)
        elif not self.warning and self.currentMessage() == old:
            self._display(new, timeout)

    def _display(self, text: str, ms: int) -> None:
        super().showMessage(text)  # (no timeout: the bar's timer has it)
        self._said = text or self._said
        self.setToolTip(f"{self._said}\n\nA click on the warning opens Help > Recent messages; × dismisses it."
                        if self.warning else self._said)
        if not self.warning:
            self.unsetCursor()
        self._place()
        self._shown_ms = ms if text else 0
        # (from after it shows: a clock taken at messageChanged reads no later than this)
        self._until = time.monotonic() + ms / 1000 if self._shown_ms else None
        if self._until is None:
            self._timer.stop()
        else:
            self._timer.start_at(self._until)

    def _expire(self) -> None:
        if self.warning:
            self.dismiss()
            return
        self._display("", 0)

    def sign_size(self) -> int:
        return self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize, None, self)  # (16 px: the job bar's)

    def marks_width(self) -> int:
        """The px a warning's sign and × take from the room for its words."""
        return self.sign_size() + SIGN_GAP + self.dismiss_button.sizeHint().width()

    def warning_parts(self) -> tuple[QRect, QRect, str]:
        """Where the warning shown draws its sign and its words (as wide as they are drawn), and the
        words as drawn (ending in "…" where the sign, the words and the × after them are wider than the
        message's room)."""
        rect = message_rect(self)
        size = self.sign_size()
        sign = QRect(rect.left(), rect.top() + (rect.height() - size) // 2, size, size)
        left = sign.right() + 1 + SIGN_GAP
        room = max(0, rect.width() - self.marks_width())
        fm = self.fontMetrics()
        words = fm.elidedText(self.currentMessage(), Qt.TextElideMode.ElideRight, room)
        return sign, QRect(left, rect.top(), min(room, fm.horizontalAdvance(words)), rect.height()), words

    def _place(self) -> None:
        """The × right after a warning's words, hidden with any other message."""
        button = self.dismiss_button
        if not (self.warning and self.currentMessage()):
            if button.hasFocus():
                button.give_focus_back()
            button.hide()
            return
        size = button.sizeHint()
        words = self.warning_parts()[1]
        button.setGeometry(words.right() + 1, (self.height() - size.height()) // 2, size.width(), size.height())
        button.show()
        button.raise_()

    def _on_warning(self, pos) -> bool:
        if not (self.warning and self.currentMessage()):
            return False
        sign, words, _ = self.warning_parts()
        return sign.united(words).adjusted(0, 0, SIGN_GAP, 0).contains(pos)

    def mousePressEvent(self, e) -> None:
        self._pressed = e.button() == Qt.MouseButton.LeftButton and self._on_warning(e.position().toPoint())
        if self._pressed:
            e.accept()  # (its release comes here: a click)
        else:
            super().mousePressEvent(e)

    def mouseReleaseEvent(self, e) -> None:
        clicked = self._pressed and e.button() == Qt.MouseButton.LeftButton and self._on_warning(e.position().toPoint())
        self._pressed = False
        super().mouseReleaseEvent(e)
        if clicked:
            self.warningClicked.emit()

    def mouseMoveEvent(self, e) -> None:
        if self._on_warning(e.position().toPoint()):
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.unsetCursor()
        super().mouseMoveEvent(e)

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ParentChange and self.window() is not self._filtered:
            if self._filtered is not None:
                self._filtered.removeEventFilter(self)
            self._filtered = self.window()
            self._filtered.installEventFilter(self)  # (its status tips: a menu's wiped a warning)
        done = super().event(e)
        if e.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Resize, QEvent.Type.FontChange,
                        QEvent.Type.StyleChange):  # (the fields moved, or the words' room changed)
            self._place()
        return done

    def eventFilter(self, obj, e) -> bool:
        return obj is self._filtered and e.type() == QEvent.Type.StatusTip and self.warning

    def paintEvent(self, e):
        text = self.currentMessage()
        rect = message_rect(self)
        if not text or (not self.warning and self.fontMetrics().horizontalAdvance(text) <= rect.width()):
            super().paintEvent(e)
            return
        p = QPainter(self)  # (as QStatusBar paints, but for the words of the message)
        opt = QStyleOption()
        opt.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, opt, p, self)
        for field in fields_of(self):  # (while a message shows, only the permanent widgets do)
            opt.rect = field.geometry().adjusted(-2, -1, 2, 1)
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameStatusBarItem, opt, p, field)
        flags = Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextSingleLine
        if self.warning:
            sign, rect, words = self.warning_parts()
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning, None, self).paint(p, sign)
            flags |= Qt.TextFlag.TextDontClip  # (elided to its room already; its rect is as wide as it measures)
        else:
            words = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        p.setPen(self.palette().windowText().color())
        p.drawText(rect, flags, words)
        p.end()


class StatusFields(QObject):
    """The device, the weights in use and the memory of this process, at the right of the bar. In a
    narrow window (640 px: 155 px were left for the bar's messages, and 'Opened schoolgirls.mp4: 80
    frames, ...' showed as 'Opened schoolgirls.mp4: ') they drop their names ('CPU', 'sttn_inpaint.pth
    (unused)', '665 MB'; the tooltips name them) while the names would leave a warning's words, beside
    its sign and ×, less than ``MESSAGE_ROOM``. The sign and × (47 px in the Fusion style: a 16-px
    sign, 4 px and a 27-px ×) count whether a warning shows or not: counted only while one showed, the
    names went and came back with each warning at the widths of a 47-px band.

    A routine message wider than its room beside them takes their room too while it shows
    (``make_room``): at 1440 px wide, "Tracked 14 frames ... check the 2 flagged frame(s) (G goes to the
    next), then Inpaint range (Ctrl+Enter). Grow 8 px ..." lost all after "(Ctrl+Enter). Gro", and at
    1280 px "then Inpaint range (Ctrl+Enter)", the next step; an import's "; Ctrl+Z undoes it." went too."""

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
        bar.messageChanged.connect(lambda _: self.make_room())

    @property
    def fields(self) -> tuple[QLabel, ...]:
        return self.device, self.weights, self.memory

    def make_room(self) -> None:
        """The fields hidden while the bar shows a routine message wider than its room beside them,
        shown again when it goes (a warning leaves them: its sign and × are placed by that room). A
        job's progress and Cancel stay in sight either way."""
        for field in self.fields:
            field.show()  # (the room is measured beside them, as the window's width has them)
        text = self.bar.currentMessage()
        if not text or getattr(self.bar, "warning", False) or not self.bar.isVisible():
            self.fit()
            return
        self.fit()
        self.bar.layout().activate()
        if self.bar.fontMetrics().horizontalAdvance(text) > message_rect(self.bar).width():
            for field in self.fields:
                field.hide()
            self.bar.layout().activate()  # (the message is drawn in the room they leave at once)

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
        before = self.texts.get(self.memory)
        self._say(self.memory, f"Memory: {rss_bytes() / 2**20:.0f} MB")
        if before is not None and len(before[0]) != len(self.texts[self.memory][0]):
            self.fit()  # (a digit more or fewer: the message's room changed with it, as on a resize)

    def _say(self, field: QLabel, named: str, short: str = "") -> None:
        """Show ``named`` (``short``, or ``named`` past its "Name: ", in a narrow window)."""
        self.texts[field] = (named, short or named.partition(": ")[2] or named)
        field.setText(self.texts[field][self.short])

    def fit(self) -> None:
        """The fields named unless that leaves the bar's messages less than ``MESSAGE_ROOM`` (by the
        window's width and the fields' words alone: a job's progress bar beside them, while it runs,
        does not change their words). Measured where the bar draws its message (6 px in, 2 px left of
        the device): the sum of the fields' widths, spacing and grip it was judged by left it 3 px
        more than the bar does, and a message that wide was cut (at 800 px: 318 px for 315). A warning's
        sign and × count always (``MessageBar.marks_width``), so that a warning's coming or going never
        changes the fields."""
        if not self.bar.isVisible() or self.device.isHidden():
            return  # (its width is not the window's yet; or a long message has the fields' room: make_room)
        self.bar.layout().activate()  # (the fields placed as their words are now)
        room = message_rect(self.bar, self.device).width()
        wider = sum(f.fontMetrics().horizontalAdvance(texts[0]) - f.fontMetrics().horizontalAdvance(f.text())
                    for f, texts in self.texts.items())  # (named, than as they show now)
        short = room - wider < MESSAGE_ROOM + getattr(self.bar, "marks_width", int)()
        if short != self.short:
            self.short = short
            for field, texts in self.texts.items():
                field.setText(texts[short])

    def eventFilter(self, obj, e) -> bool:
        if obj is self.bar and e.type() == QEvent.Type.Resize:
            self.make_room()  # (the fields named or not by the new width, then hidden if the message needs it)
        return False


class MessageLog:
    """The one way a message reaches the status bar: ``show`` (routine) or ``warn`` (a warning,
    which routine messages do not displace: ``MessageBar``), each long enough to read it (8 s and
    ``warning_ms``, more for a long one: ``ms_per_char``), kept as the bar's tooltip (the whole text
    where the bar cuts it off) and in a history of the last ``size`` messages (Help > Recent
    messages), at the time it was said, whenever it shows."""

    def __init__(self, bar: MessageBar, size: int = 200, warning_ms: int = 15_000, ms_per_char: int = 60):
        self.bar = bar
        self.items: deque[tuple[str, str]] = deque(maxlen=size)
        self.warning_ms = warning_ms
        self.ms_per_char = ms_per_char  # (60: about 16 characters a second)

    def show(self, text: str, timeout_ms: int = 8000) -> None:
        """A routine message: now, or when a warning shown ends."""
        self.items.append((time.strftime("%H:%M:%S"), text))
        self.bar.showMessage(text, self._time(text, timeout_ms))

    def warn(self, text: str, timeout_ms: int | None = None) -> None:
        """A warning (damage met, an autosave failed): now, held ``warning_ms`` against routine messages."""
        self.items.append((time.strftime("%H:%M:%S"), text))
        self.bar.warn(text, self._time(text, self.warning_ms if timeout_ms is None else timeout_ms))

    def _time(self, text: str, timeout_ms: int) -> int:
        return max(timeout_ms, self.ms_per_char * len(text))

    def note(self, text: str) -> None:
        """Keep ``text``, said elsewhere (a notice over the picture), in the history alone."""
        self.items.append((time.strftime("%H:%M:%S"), text))

    def revise(self, old: str, new: str) -> None:
        """Put ``new`` in place of ``old`` where the bar still shows it, or will after a warning (a
        setting it named has changed since); the history keeps what was said."""
        self.bar.revise(old, new, self._time(new, 8000))

    def text(self) -> str:
        return "\n".join(f"{t}  {m}" for t, m in self.items)

    def dialog(self, parent=None) -> QDialog:
        """The history, newest last, in a dialog one can copy from."""
        view = QPlainTextEdit(self.text() or "No messages yet.")
        view.setReadOnly(True)
        view.moveCursor(view.textCursor().MoveOperation.End)
        return text_dialog(parent, "Recent messages", view, 760, 360)
