"""Painting masks as a user does, with the real window: where a stroke lands, on which frames, and
masks exported and imported back."""
import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTextBrowser
from test_widgets import stroke, widget_point


def click_at(canvas, x: float, y: float) -> None:
    """A left click at image point (x, y) (fractions of a pixel count when zoomed in)."""
    at = canvas.to_widget(QPointF(x, y)).toPoint()
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)


def test_zoomed_in_the_brush_paints_the_pixels_under_its_circle(window, clip):
    """The brush rounded the cursor to the nearest pixel corner: at 32x a 1 px click on the right
    half of a pixel painted its neighbour; and cv2's thick line was a pixel wider each side than the
    size and the circle cursor (size 3 painted 5 px across)."""
    window.open_path(clip)
    canvas, p = window.canvas, window.project
    canvas.state.set(32.0, QPointF(20, 20))
    window.tools.size_spin.setValue(1)
    for fx, fy in ((0.2, 0.2), (0.8, 0.3), (0.7, 0.9)):
        click_at(canvas, 20 + fx, 20 + fy)
        assert np.argwhere(p.masks.get(0)).tolist() == [[20, 20]], (fx, fy)
        p.undo.undo()
    window.tools.size_spin.setValue(3)
    click_at(canvas, 20.5, 20.5)
    ys, xs = np.nonzero(p.masks.get(0))
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (19, 21, 19, 21)
    p.undo.undo()
    # a stroke: as wide as the brush, from the press to the release, one undo step
    window.tools.size_spin.setValue(4)
    canvas.state.fit()
    stroke(None, canvas, [(10, 30), (50, 30)])
    m = p.masks.get(0)
    assert m[28:32, 10:51].all() and m.sum() == m[28:32].sum() and not m[30, 53] and not m[30, 7]
    assert p.undo.count() == 1


def test_a_stroke_stays_on_its_frame_when_the_frame_changes_under_it(window, clip, qtbot):
    """Playback (or an arrow key) moving on while the mouse was held: the release gave the whole mask
    drawn on to the next frame and erased that frame's own mask."""
    window.open_path(clip)
    p, canvas = window.project, window.canvas
    own = np.zeros((64, 96), bool)
    own[40:60, 60:90] = True
    p.set_current(5)
    p.edit_mask(own)
    p.set_current(4)
    window.tools.size_spin.setValue(4)
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, 10, 10))
    QTest.mouseMove(canvas, widget_point(canvas, 30, 10))
    p.set_current(5)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, 30, 10))
    assert p.masks.get(4)[10, 10:31].all()
    assert np.array_equal(p.masks.get(5), own)  # frame 5's mask as it was
    assert np.array_equal(canvas.mask, own)  # and shown on frame 5
    p.undo.undo()
    assert p.masks.masked_frames() == [5]


def test_an_undo_during_a_stroke_is_not_taken_back_by_it(window, clip):
    window.open_path(clip)
    p, canvas = window.project, window.canvas
    first = np.zeros((64, 96), bool)
    first[40:60, 60:90] = True
    p.edit_mask(first)
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, 10, 10))
    QTest.mouseMove(canvas, widget_point(canvas, 20, 10))
    p.undo.undo()  # Ctrl+Z with the mouse held
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, 20, 10))
    m = p.masks.get(0)
    assert m[10, 10:21].all() and not m[40:60, 60:90].any()


def test_a_flick_paints_up_to_where_the_button_went_up(window, clip):
    """A release with no move before it (a fast flick) painted the press point only."""
    window.open_path(clip)
    canvas = window.canvas
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, 10, 10))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, 60, 10))
    assert window.project.masks.get(0)[10, 10:61].all()


def test_a_range_stroke_on_a_frame_outside_the_range_stays_under_the_brush(window, clip):
    window.open_path(clip)
    p = window.project
    window.timeline.range_slider.setValue((0, 3))
    p.set_current(8)
    window.tools.set_scope("range")
    stroke(None, window.canvas, [(10, 10), (30, 10)])
    assert p.masks.masked_frames() == [0, 1, 2, 3, 8]
    assert window.canvas.mask[10, 10:31].all()
    p.undo.undo()
    assert p.masks.masked_frames() == []


def test_masks_are_exported_into_an_empty_folder_only_and_import_back_the_same(window, clip, tmp_path, dialogs,
                                                                              monkeypatch, qtbot):
    from PySide6.QtWidgets import QFileDialog

    window.open_path(clip)
    p = window.project
    rng = np.random.default_rng(0)
    masks = {i: rng.random((64, 96)) > 0.7 for i in (0, 3, 11)}  # masks of their own, as after tracking
    for i, m in masks.items():
        p.set_current(i)
        p.edit_mask(m)
    p.set_current(0)
    p.edit_mask(masks[0] | masks[3], "range")  # ... and one shared by every frame
    expected = [p.masks.get(i) for i in range(12)]
    busy = tmp_path / "my_pictures"
    busy.mkdir()
    (busy / "00003.png").write_bytes(b"the user's own picture")
    chosen = [busy]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(chosen[0])))
    window.export_masks_action.trigger()
    assert "already holds 1 image" in window.notice.text() and "empty folder" in window.notice.text() and not dialogs
    assert [f.name for f in busy.iterdir()] == ["00003.png"] and (busy / "00003.png").read_bytes() == b"the user's own picture"
    chosen[0] = tmp_path / "empty"
    chosen[0].mkdir()
    window.export_masks_action.trigger()
    files = sorted(chosen[0].iterdir())
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(12)]
    assert cv2.imread(str(files[4]), cv2.IMREAD_UNCHANGED).dtype == np.uint8  # white = remove, for other programs
    p.clear_masks("range")
    window.import_folder_action.trigger()
    assert all(np.array_equal(p.masks.get(i), expected[i]) for i in range(12))


def test_the_mask_is_seen_on_footage_of_the_overlay_colour(window, tmp_path, qtbot):
    """The overlay was a fill of one colour (255, 40, 90): on a red logo or red clothes the mask could
    not be seen at all. Its edge is drawn dark and light, as the brush circle is."""
    from PySide6.QtGui import QImage

    from app.core.video import write_test_clip
    from app.ui.qimage import qimage_to_rgb

    c = window.canvas.color
    path = tmp_path / "red.mp4"
    write_test_clip(path, [np.full((64, 96, 3), (c.red(), c.green(), c.blue()), np.uint8)] * 2, fps=25)
    window.open_path(path)
    m = np.zeros((64, 96), bool)
    m[20:40, 30:60] = True
    window.project.edit_mask(m)
    canvas = window.canvas
    canvas._mouse = None  # (no brush circle in the picture)

    def standing_out() -> int:
        canvas.repaint()
        rgb = qimage_to_rgb(canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB888))
        inside = canvas.image_rect().toRect().adjusted(2, 2, -2, -2)
        rgb = rgb[inside.top():inside.bottom(), inside.left():inside.right()].astype(int)
        return int((np.abs(rgb - np.median(rgb.reshape(-1, 3), axis=0)).sum(axis=2) > 150).sum())

    assert standing_out() > 100
    window.tools.opacity.setValue(0)  # no overlay: the footage as it is
    assert standing_out() == 0


def test_clear_mask_has_the_delete_key_and_says_what_it_cleared(window, clip, qtbot):
    """Mask > Clear mask had no key and said nothing: with Apply to on Every frame in range a press
    took the masks of frames out of sight without a word. Del (and Backspace, a Mac's delete) clear
    what Apply to names and the status bar says which frames and that Ctrl+Z undoes it; in the brush
    Size box the keys edit the number and clear nothing."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.open_path(clip)
    p = window.project
    box = np.zeros((64, 96), bool)
    box[10:20, 10:30] = True
    p.set_range(2, 8)
    p.set_current(4)
    p.edit_mask(box, "range")  # frames 2..7
    p.set_current(9)
    p.edit_mask(box, "frame")
    p.set_current(4)
    owners: dict[str, list[str]] = {}  # each key of the window's actions: the actions that have it
    for a in set(window.findChildren(QAction)):
        for k in a.shortcuts():
            owners.setdefault(k.toString(), []).append(a.text())
    assert owners["Del"] == owners["Backspace"] == ["Clear mask"]
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}  # (no key is two actions')
    assert "Del" in window.tools.clear_action.toolTip()

    def said():
        return window.messages.items[-1][1]

    window.tools.set_scope("frame")
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Delete)
    assert p.masks.masked_frames() == [2, 3, 5, 6, 7, 9]
    assert said() == "Cleared the mask of frame 4; Ctrl+Z undoes it."
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Delete)
    assert said() == "Nothing to clear: frame 4 has no mask (Apply to: This frame)."
    window.tools.set_scope("range")
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backspace)
    assert p.masks.masked_frames() == [9]  # the range's, not frame 9's
    assert said() == "Cleared the masks of 5 frames in the in/out range (frames 2..7); Ctrl+Z undoes it."
    window.undo_action.trigger()
    assert p.masks.masked_frames() == [2, 3, 5, 6, 7, 9]
    window.tools.set_scope("onwards")
    window.tools.clear_action.trigger()
    assert p.masks.masked_frames() == [2, 3]
    assert said() == "Cleared the masks of 4 frames from this frame (4) to the last (11); Ctrl+Z undoes it."
    # typing in the brush size: the keys are the field's
    spin = window.tools.size_spin
    QTest.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    assert spin.hasFocus()
    spin.lineEdit().end(False)
    window.tools.set_scope("range")
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_Backspace)
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_Delete)
    assert p.masks.masked_frames() == [2, 3]
    # Help > Keyboard and mouse lists it
    dialog = window.shortcuts_dialog()
    text = dialog.findChild(QTextBrowser).toPlainText()
    dialog.close()
    assert "Clear mask" in text and "Del" in text


def test_a_mask_image_of_another_size_says_it_was_scaled(window, clip, tmp_path):
    """A logo mask drawn at 1296x720 for a 972x540 video was scaled without a word: the status bar
    says from what size to the video's; one drawn at the video's size says nothing of it, and a
    mask folder drawn at another size says it too."""
    window.open_path(clip)
    p = window.project
    h, w = p.masks.height, p.masks.width
    big = np.zeros((h * 3 // 2, w * 3 // 2), np.uint8)
    big[12:36, 18:54] = 255
    cv2.imwrite(str(tmp_path / "logo.png"), big)
    assert window._import(str(tmp_path / "logo.png"))
    assert window.messages.items[-1][1] == (f"logo.png, scaled from 144x96 to the video's {w}x{h}, is now the mask "
                                            "of every frame; Ctrl+Z undoes it.")
    m = p.masks.get(5)
    assert m[8:24, 12:36].all() and m.sum() == 16 * 24  # (the box at two thirds)
    same = np.zeros((h, w), np.uint8)
    same[8:24, 12:36] = 255
    cv2.imwrite(str(tmp_path / "same.png"), same)
    assert window._import(str(tmp_path / "same.png"))
    assert window.messages.items[-1][1] == ("same.png is now the mask of every frame in place of the masks there "
                                            "were; Ctrl+Z undoes it.")
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(p.n_frames):
        cv2.imwrite(str(folder / f"{i:05d}.png"), big)
    assert window._import(str(folder))
    assert window.messages.items[-1][1] == (f"Imported the masks of masks, scaled from 144x96 to the video's {w}x{h}, "
                                            "in place of the masks there were; Ctrl+Z undoes it.")


def test_inpaint_with_a_watermark_painted_on_one_frame_asks_to_put_it_on_every_frame(window, clip, qtbot,
                                                                                     monkeypatch):
    """A watermark painted with Apply to on This frame (the default), then Ctrl+Enter: the run went
    through the whole range and took the watermark off frame 0 alone, without a word that the other
    frames kept it. Inpaint asks first; the default answer puts the mask on every frame of the range
    (one undo step, said in the status bar), and Export's summary says it too."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.open_path(clip)
    p = window.project
    p.set_engine_settings({**p.engine_settings, "fill": "telea"})
    window.tools.size_spin.setValue(6)
    stroke(None, window.canvas, [(60, 50), (85, 50)])
    assert p.masks.masked_frames() == [0]
    questions, answers = [], []

    def ask(text, *choices):
        questions.append((text, choices))
        return answers.pop(0)

    monkeypatch.setattr(window, "_ask", ask)
    lone = ("Only frame 0 of the in/out range (0..11) has a mask: {} would leave the other 11 frames as they are "
            "(a watermark that stays put wants its mask on every frame: Apply to 'Every frame in range').")
    d = window.export_dialog_show()
    assert d.summary.text().startswith(lone.format("Export"))
    d.close()
    answers.append(2)  # Cancel
    QTest.keyClick(window.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert questions[-1] == (lone.format("Inpaint") + " Put this mask on every frame of the range first?",
                             ("Inpaint anyway", "Every frame, then Inpaint", "Cancel"))
    assert not window.controller.engine.busy and p.masks.masked_frames() == [0]
    answers.append(1)  # the default
    steps = p.undo.count()
    with qtbot.waitSignal(window.controller.engine.finished, timeout=60_000):
        QTest.keyClick(window.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert p.masks.masked_frames() == list(range(12)) and p.undo.count() == steps + 1
    assert all(np.array_equal(p.masks.get(i), p.masks.get(0)) for i in range(12))
    assert "The mask of frame 0 is now on every frame of 0..11 as well as theirs; Ctrl+Z undoes it." in [
        text for _, text in window.messages.items]
    assert len(questions) == 2  # (with a mask on every frame it asks no more)
    window.undo_action.trigger()
    assert p.masks.masked_frames() == [0]
