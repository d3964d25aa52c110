"""A refusal that needs no decision is said over the picture, not in an error dialog to dismiss."""
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from uihelpers import square_mask

CTRL = Qt.KeyboardModifier.ControlModifier
NO_MASK = "This frame has no mask; paint what should go (B), or click it with Select (C)."


def inside(widget, window) -> bool:
    """``widget`` is shown whole inside ``window`` (not cut off at its edges)."""
    top_left = widget.mapTo(window, QPoint(0, 0))
    return (widget.isVisible() and top_left.x() >= 0 and top_left.y() >= 0
            and top_left.x() + widget.width() <= window.width() and top_left.y() + widget.height() <= window.height())


def test_preview_with_no_mask_says_what_to_do_over_the_picture_without_a_dialog(window, clip, qtbot, dialogs):
    """Ctrl+P on a frame with no mask opened an error dialog (red icon) that had to be dismissed
    before anything else: for a mistake with nothing to decide. Now a notice over the picture says
    it, the window goes on taking input meanwhile, and it goes by itself or at ×."""
    window.open_path(clip)
    qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL)
    assert dialogs == [] and not window.controller.engine.busy
    notice = window.notice
    assert notice.text() == NO_MASK and inside(notice, window)
    assert notice.label.height() >= notice.label.heightForWidth(notice.label.width())  # (its words whole)
    assert notice.timer.isActive() and notice.timer.remainingTime() > 5000  # (time to read it)
    assert NO_MASK in window.messages.text()  # (Help > Recent messages keeps it)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)  # the window takes keys meanwhile
    assert window.project.current == 1
    qtbot.mouseClick(notice.close_button, Qt.MouseButton.LeftButton)
    assert not notice.isVisible() and notice.text() == ""
    window.project.edit_mask(square_mask(), "frame")  # a mask: Preview runs, and no notice
    with qtbot.waitSignal(window.controller.resultsReady, timeout=60_000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL)
    assert not notice.isVisible() and dialogs == []


def test_inpaint_with_no_mask_in_a_narrow_window_shows_the_whole_sentence(window, clip, qtbot, dialogs):
    """At 800 px wide the status bar has room for a word or two beside its fields: the notice wraps
    its sentence over the picture instead, whole, and goes by itself."""
    window.open_path(clip)
    window.resize(800, 600)
    qtbot.waitUntil(lambda: window.width() == 800)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)
    notice = window.notice
    assert dialogs == [] and notice.text().startswith("No frame in the range has a mask; paint what should go")
    assert inside(notice, window) and notice.label.height() >= notice.label.heightForWidth(notice.label.width())
    window.resize(1200, 700)  # (as wide as the picture's area, as that changes)
    qtbot.waitUntil(lambda: notice.width() > 1100)
    words = notice.label.mapTo(window, notice.label.rect().center())
    QTest.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, words)
    assert not notice.isVisible()  # a click on its words: read, and gone (and a brush dot where it was, taken back)
    assert window.project.masks.masked_frames() == [0] and window.project.undo.count() == 1
    window.project.undo.undo()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)
    notice.timer.setInterval(10)  # (by itself: after the time it takes to read)
    notice.timer.start()
    qtbot.waitUntil(lambda: not notice.isVisible())




def test_a_refused_mask_file_is_a_notice_not_an_error_dialog(window, clip, tmp_path, qtbot, dialogs, monkeypatch):
    """File > Import mask image… with a mask that looks inverted (white background) opened an error
    dialog: the user chose the wrong file, and nothing is to be decided. Now the notice says what
    to do and the masks stay as they were."""
    import cv2
    import numpy as np
    from PySide6.QtWidgets import QFileDialog

    window.open_path(clip)
    inverted = tmp_path / "inverted.png"
    cv2.imwrite(str(inverted), np.where(square_mask(), 0, 255).astype(np.uint8))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(inverted), "")))
    window.import_masks_action.trigger()
    assert dialogs == [] and window.notice.text() == (f"Mask {inverted} marks 91% of the frame, its whole edge included, "
                                                      "for removal: it looks inverted (white background); invert it "
                                                      "so that only what to remove is white.")
    assert window.project.masks.masked_frames() == []
