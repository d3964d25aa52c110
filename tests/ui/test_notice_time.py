"""How long the notice over the picture stays, and the pointer over it: it reaches the picture."""
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.notice import reading_ms

CTRL = Qt.KeyboardModifier.ControlModifier


def band(window, notice, rows=range(4, 16)) -> list[int]:
    """The window's pixels in a band just under the notice, as drawn now."""
    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    bottom = notice.mapTo(window, QPoint(0, notice.height())).y()
    left, right = notice.mapTo(window, QPoint(0, 0)).x(), notice.mapTo(window, QPoint(notice.width(), 0)).x()
    return [image.pixel(x, bottom + dy) for dy in rows for x in range(left, right, 2)]


def test_the_notice_stays_as_long_as_its_text_takes_to_read(window, clip, qtbot):
    """The notice stayed 10 s whatever it said (a sentence read in 5 s sat there for another 5, over
    the top of the picture). It stays the time it takes to see it and read it: 1.5 s, and 60 ms a
    character, at least 4 s and at most 20 s (Help > Recent messages keeps it)."""
    window.open_path(clip)
    notice = window.notice
    qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL)  # no mask on this frame: a notice
    said = notice.text()
    assert len(said) == 78 and notice.timer.interval() == 1500 + 60 * 78 == 6180
    qtbot.wait(5400)
    assert notice.isVisible()  # (not gone before it could be read)
    qtbot.waitUntil(lambda: not notice.isVisible(), timeout=3000)  # (gone when read, not at 10 s)
    assert said in window.messages.text()
    assert reading_ms("No.") == 4000 and reading_ms("x" * 230) == 15_300 and reading_ms("x" * 600) == 20_000


def test_the_pointer_on_the_notice_holds_it_and_its_moves_reach_the_picture(window, clip, qtbot):
    """The pointer on the notice took its moves and the wheel from the picture: the brush outline
    stopped where the notice began (the half of it under the notice gone), and the wheel did nothing.
    Now the moves and the wheel go on to the picture beneath: the outline follows the pointer (drawn
    round the notice's edge), the wheel zooms; the notice stays while the pointer is on it, and goes
    after at least 2 s more once the pointer leaves; and the outline goes when the pointer leaves the
    picture from the notice."""
    window.open_path(clip)
    window.resize(800, 600)
    qtbot.waitUntil(lambda: window.width() == 800)
    canvas, notice = window.canvas, window.notice
    qtbot.waitUntil(lambda: canvas.image is not None)
    window.tools.size_spin.setValue(30)  # (in the video's pixels: about 190 px on the screen)
    handle = window.windowHandle()
    away = window.statusBar().mapTo(window, QPoint(20, 5))
    QTest.mouseMove(handle, away)
    notice.show_text("Nothing to track here; paint the object first.", 400)  # (short: it would go at once)
    QApplication.processEvents()
    plain = band(window, notice)
    over = notice.label.mapTo(window, QPoint(notice.label.width() // 2, notice.label.height() // 2))
    QTest.mouseMove(handle, over - QPoint(0, 3))
    QTest.mouseMove(handle, over)
    assert notice.underMouse() and not notice.timer.isActive()
    QApplication.processEvents()
    outlined = band(window, notice)
    assert sum(a != b for a, b in zip(plain, outlined)) > 20  # the brush outline drawn under the notice
    qtbot.wait(900)
    assert notice.isVisible()  # held while the pointer is on it (it was to go after 0.4 s)
    scale = canvas.scale()
    at = QPointF(notice.mapFromGlobal(window.mapToGlobal(over)))
    QApplication.sendEvent(notice, QWheelEvent(at, QPointF(window.mapToGlobal(over)), QPoint(), QPoint(0, 120),
                                               Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                               Qt.ScrollPhase.NoScrollPhase, False))
    assert canvas.scale() > scale * 1.05  # the wheel over it zooms the picture
    QTest.mouseMove(handle, away)  # off the notice and the picture
    QApplication.processEvents()
    assert notice.isVisible() and 1000 < notice.timer.remainingTime() <= 2000  # (2 s from the leave; and load)
    assert canvas._mouse is None  # (the outline is gone with the pointer)
    qtbot.waitUntil(lambda: not notice.isVisible(), timeout=6000)
    assert not notice.isVisible()
