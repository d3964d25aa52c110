"""The click tool's candidates side by side: a strip of numbered thumbnails over the picture, a
click on one (or Alt+N) shows it as Tab does; it follows the candidates (the plate's, added
second, too) and goes with them (Enter, Esc, another tool or frame)."""
import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QTextBrowser, QWidget

from app.core.segment import Candidate, mask_iou
from app.core.video import write_test_clip
from app.core.segment.thumbs import candidates_box, crop_box
from app.ui.candidate_strip import MIN_THUMB_H, THUMB_H, WIDTH_SHARE, CandidateStrip, thumbnails

from test_segment_tool import click, disc_centre, disc_clip, disc_mask, heard  # noqa: F401 (fixture)


def three_candidates(qtbot, window):
    """A real click on the disc, then three candidates of our own (the disc on frames 0, 1 and 2:
    each a different place), shown as an answer is: the strip follows."""
    seg = window.segment
    window.tools.set_tool("segment")
    click(qtbot, window, *disc_centre(0))
    qtbot.waitUntil(lambda: not seg.jobs.busy, timeout=30_000)  # (the plate's candidate, if any, is in)
    masks = [disc_mask(0), disc_mask(1), disc_mask(2)]
    seg.tool.candidates, seg.tool.index = [Candidate(m, 0.9 - i / 10) for i, m in enumerate(masks)], 0
    seg.candidatesChanged.emit()
    return masks


def thumb_centre(strip, i):
    return strip.thumb_rect(i).center()


def blueness(window, x, y) -> int:
    """How much bluer than red the picture is drawn at image point (x, y) (the cyan tint raises it)."""
    c = window.canvas.grab().toImage().pixelColor(window.canvas.to_widget(QPointF(x, y)).toPoint())
    return c.blue() - c.red()


def test_the_candidates_arrive_as_numbered_thumbnails_and_go_with_enter_or_esc(window, disc_clip, qtbot):
    window.open_path(disc_clip)
    seg, strip = window.segment, window.segment.strip
    assert not strip.isVisible()
    window.tools.set_tool("segment")
    click(qtbot, window, *disc_centre(0))
    qtbot.waitUntil(lambda: not seg.jobs.busy, timeout=30_000)
    n = len(seg.tool.candidates)
    assert n >= 2  # (GrabCut's answers to a click on the disc)
    assert strip.isVisible() and len(strip.images) == n and strip.current == 0
    assert all(img.height() >= THUMB_H for img in strip.images)
    assert strip.parent() is window.canvas and strip.focusPolicy() == Qt.FocusPolicy.NoFocus
    # each thumbnail is its candidate: the crop around them all, tinted where its own region is
    x0, y0, x1, y1 = crop_box([c.mask for c in seg.tool.candidates])
    for img, cand in zip(strip.images, seg.tool.candidates):
        w, h = img.width(), img.height()
        a = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())[:, :3 * w].reshape(h, w, 3)
        base = cv2.resize(np.ascontiguousarray(window.project.frame(0)[y0:y1, x0:x1]), (w, h),
                          interpolation=cv2.INTER_AREA)
        m = cv2.resize(cand.mask[y0:y1, x0:x1].astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
        tinted = np.abs(a.astype(int) - base).sum(-1) > 30
        assert mask_iou(tinted, m.astype(bool)) > 0.6
    strip.grab()  # (it paints)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not seg.tool.candidates and not strip.isVisible() and not strip.images
    click(qtbot, window, *disc_centre(0))
    qtbot.waitUntil(lambda: not seg.jobs.busy, timeout=30_000)
    assert strip.isVisible() and len(strip.images) == len(seg.tool.candidates) == n
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert not seg.tool.candidates and not strip.isVisible() and not window.project.masks.is_empty(0)


def test_a_click_on_thumbnail_3_shows_candidate_3_as_tab_would_and_enter_keeps_it(window, disc_clip, qtbot):
    window.open_path(disc_clip)
    p, seg, strip = window.project, window.segment, window.segment.strip
    masks = three_candidates(qtbot, window)
    assert len(strip.images) == 3 and strip.current == 0
    # (58, 50): inside the disc of frame 2, outside that of frame 0
    assert masks[2][50, 58] and not masks[0][50, 58]
    before = blueness(window, 58, 50)
    said = heard(window)
    steps = p.undo.count()
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=thumb_centre(strip, 2))
    assert seg.tool.index == 2 and seg.tool.candidate is masks[2] and strip.current == 2
    assert said[-1].startswith("Candidate 3 of 3: Tab shows the next, Enter keeps it")  # (Tab's words)
    assert blueness(window, 58, 50) > before + 20  # the picture shows candidate 3 in cyan there
    assert p.masks.is_empty(0) and len(seg.tool.points) == 1 and not seg.jobs.busy  # (no click on the picture)
    assert p.undo.count() == steps and QApplication.focusWidget() is window.canvas  # (the keys stay there)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Tab)  # Tab goes on from there, and the strip's frame with it
    assert seg.tool.index == 0 and strip.current == 0
    qtbot.keyClick(window.canvas, Qt.Key.Key_Tab)
    assert seg.tool.index == 1 and strip.current == 1
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=thumb_centre(strip, 2))
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert (p.masks.get(0) == masks[2]).all() and p.undo.count() == steps + 1 and not strip.isVisible()


def test_alt_and_a_digit_picks_that_candidate_the_digit_alone_stays_the_views_key(window, disc_clip, qtbot):
    window.open_path(disc_clip)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    seg, strip = window.segment, window.segment.strip
    three_candidates(qtbot, window)
    said = heard(window)
    qtbot.keyClick(window.canvas, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert seg.tool.index == 1 and strip.current == 1 and said[-1].startswith("Candidate 2 of 3")
    qtbot.keyClick(window.canvas, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert seg.tool.index == 2 and strip.current == 2
    qtbot.keyClick(window.canvas, Qt.Key.Key_5, Qt.KeyboardModifier.AltModifier)  # (there are 3)
    assert seg.tool.index == 2 and said[-1].startswith("There is no candidate 5")
    qtbot.keyClick(window.canvas, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert seg.tool.index == 0
    assert window.compare.mode == "original"
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)  # 2 alone: Side by side, as ever; the candidate stays
    assert window.compare.mode == "side" and seg.tool.index == 0
    dialog = window.shortcuts_dialog()  # F1's list says it
    text = dialog.findChild(QTextBrowser).toPlainText()
    dialog.close()
    assert "Alt+1..9 or a click on its thumbnail over the picture: candidate 1..9" in text


def test_the_strip_goes_with_another_tool_or_frame_and_comes_back_with_the_tool(window, disc_clip, qtbot):
    window.open_path(disc_clip)
    p, seg, strip = window.project, window.segment, window.segment.strip
    three_candidates(qtbot, window)
    assert strip.isVisible()
    window.tools.set_tool("brush")
    assert not strip.isVisible() and seg.tool.candidates  # (kept, not shown, as the candidate on the picture)
    window.tools.set_tool("segment")
    assert strip.isVisible() and len(strip.images) == 3
    p.set_current(1)
    assert not strip.isVisible()


def test_the_plates_candidate_added_second_adds_a_thumbnail_there(window, tmp_path, qtbot):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from test_segment_cues import limb_clip

    frames, masks = limb_clip()
    assert window.open_path(write_test_clip(tmp_path / "limb.mp4", frames, fps=10))
    p, seg, strip = window.project, window.segment, window.segment.strip
    window.tools.set_tool("segment")
    p.set_current(10)
    qtbot.waitUntil(lambda: p.cached_frame(10) is not None, timeout=10_000)
    click(qtbot, window, 82, 56)
    first = list(seg.tool.candidates)
    assert (strip.isVisible() and len(strip.images) == len(first)) or (len(first) == 1 and not strip.isVisible())
    qtbot.waitUntil(lambda: len(seg.tool.candidates) == len(first) + 1, timeout=30_000)
    assert strip.isVisible() and len(strip.images) == len(first) + 1 and strip.current == 0
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=thumb_centre(strip, 1))  # the plate's, second
    assert seg.tool.index == 1 and mask_iou(seg.tool.candidate, masks[10]) > 0.85


@pytest.mark.parametrize("width", [900, 560])
def test_the_strip_keeps_off_the_candidates_and_fits_a_narrow_window(window, disc_clip, qtbot, width):
    window.resize(width, 600)
    qtbot.waitUntil(lambda: window.width() == width)
    window.open_path(disc_clip)
    canvas, strip = window.canvas, window.segment.strip
    masks = three_candidates(qtbot, window)
    x0, y0, x1, y1 = candidates_box(masks)
    box = QRectF(canvas.to_widget(QPointF(x0, y0)), canvas.to_widget(QPointF(x1, y1)))
    geo = QRectF(strip.geometry())
    assert strip.isVisible() and len(strip.images) == 3
    assert not geo.intersects(box)  # (the disc is top left here: the strip is elsewhere)
    assert canvas.rect().contains(strip.geometry()) and geo.width() <= canvas.width() * WIDTH_SHARE + 1
    assert strip.thumb_rect(2).right() < geo.width()


def test_thumbnails_crop_around_all_the_candidates():
    rgb = np.zeros((90, 160, 3), np.uint8)
    a, b = np.zeros((90, 160), bool), np.zeros((90, 160), bool)
    a[40:50, 100:110], b[45:60, 105:120] = True, True
    x0, y0, x1, y1 = crop_box([a, b])
    assert x0 <= 100 and x1 >= 120 and y0 <= 40 and y1 >= 60 and 0 <= x0 and x1 <= 160 and 0 <= y0 and y1 <= 90
    assert 0.75 <= (x1 - x0) / (y1 - y0) <= 16 / 9 + 0.01
    imgs = thumbnails(rgb, [a, b], 64)
    assert [i.height() for i in imgs] == [64, 64] and imgs[0] != imgs[1]


def spots(n: int, wide: bool) -> list[np.ndarray]:
    """``n`` small square candidates in a 180x320 frame, in a row (``wide``: the crop as wide as
    ``ASPECT`` lets it be) or a column (as narrow)."""
    masks = []
    for i in range(n):
        m = np.zeros((180, 320), bool)
        at = 10 + (300 if wide else 160) * i // n
        if wide:
            m[80:88, at:at + 8] = True
        else:
            m[at:at + 8, 150:158] = True
        masks.append(m)
    return masks


@pytest.mark.parametrize("wide", [True, False])
@pytest.mark.parametrize("n", [2, 8, 9, 12, 20])
@pytest.mark.parametrize("size", [(400, 300), (160, 120), (560, 400), (1280, 720)])
def test_the_strip_stays_inside_the_view_at_any_size_and_count(qtbot, size, n, wide):
    """With more than about 8 candidates in a 560-px window the strip ran past the view's edge (one
    row, thumbnails never under ``MIN_THUMB_H``). They wrap into rows now: each thumbnail inside the
    view (160x120 is the picture's least size), its centre picks it (index_at, a click), none over
    another, and at the floor at least wherever the view has room for it (400x300 has for 12)."""
    view = QWidget()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    strip = CandidateStrip(view)
    strip.show_for(np.full((180, 320, 3), 90, np.uint8), spots(n, wide), 0)
    geo = strip.geometry()
    assert strip.isVisible() and len(strip.images) == n and view.rect().contains(geo), (geo, size)
    picked = []
    strip.picked.connect(picked.append)
    rects = [strip.thumb_rect(i) for i in range(n)]
    for i, r in enumerate(rects):
        assert r.isValid() and strip.rect().contains(r) and view.rect().contains(r.translated(geo.topLeft())), i
        assert strip.index_at(QPointF(r.center())) == i
        assert not any(r.intersects(o) for o in rects[:i]), i
        assert QRectF(r).contains(strip.badge_rect(i, QFontMetrics(strip.number_font()))), i  # (its number whole)
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=r.center())
    assert picked == list(range(n))
    if size != (160, 120):
        assert strip.thumb_size().height() >= MIN_THUMB_H
    if n <= 4 and size[0] >= 560:  # (as before: one row of them, in the panel's share of the width)
        assert {r.top() for r in rects} == {rects[0].top()} and geo.width() <= size[0] * WIDTH_SHARE + 1
    strip.grab()  # (it paints)


def test_twelve_candidates_in_a_narrow_window_wrap_and_each_is_picked_by_its_thumbnail_or_alt(
        window, disc_clip, qtbot):
    window.resize(560, 600)
    qtbot.waitUntil(lambda: window.width() == 560)
    window.open_path(disc_clip)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    canvas, seg, strip = window.canvas, window.segment, window.segment.strip
    three_candidates(qtbot, window)
    masks = [disc_mask(i) for i in range(12)]  # (the disc as it is on frames 0..11: each a different place)
    seg.tool.candidates, seg.tool.index = [Candidate(m, 0.9 - i / 100) for i, m in enumerate(masks)], 0
    seg.candidatesChanged.emit()
    assert strip.isVisible() and len(strip.images) == 12
    assert canvas.rect().contains(strip.geometry())
    assert len({strip.thumb_rect(i).top() for i in range(12)}) > 1  # (in rows)
    said = heard(window)
    for i in (11, 8, 4):
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=thumb_centre(strip, i))
        assert seg.tool.index == i and seg.tool.candidate is masks[i] and strip.current == i
        assert said[-1].startswith(f"Candidate {i + 1} of 12")
    qtbot.keyClick(canvas, Qt.Key.Key_9, Qt.KeyboardModifier.AltModifier)
    assert seg.tool.index == 8 and strip.current == 8 and said[-1].startswith("Candidate 9 of 12")
