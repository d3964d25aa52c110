"""The in/out slider's handle labels and the frame label are whole: at the window's minimum width
and with 5-digit frame numbers (superqt centres a handle's label over it, and the slider's edge cut
the out point's "99997" to "999"; at the minimum width the labels overlapped)."""
import pytest
from PySide6.QtCore import QRect, Qt


def text_rect(label) -> QRect:
    """Where ``label``'s text is drawn, in its parent (centred, or right-aligned as the frame label)."""
    width = label.fontMetrics().horizontalAdvance(label.text())
    box = label.contentsRect()
    x = box.right() - width if label.alignment() & Qt.AlignmentFlag.AlignRight else box.center().x() - width // 2
    return QRect(label.x() + x, label.y() + box.y(), width, box.height())


def whole(label, inside: QRect) -> bool:
    """``label``'s text fits its width, and lies inside ``inside`` (its parent's rect)."""
    return (label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()
            and inside.contains(text_rect(label)))


@pytest.mark.parametrize("in_out", [(0, 99999), (12345, 99997), (99990, 99999), (0, 1), (50000, 50001)])
@pytest.mark.parametrize("narrow", [True, False])
def test_the_range_labels_are_whole_at_the_minimum_width_with_5_digit_frames(window, qtbot, in_out, narrow):
    timeline = window.timeline
    timeline.set_length(100_000, 25.0)
    timeline.set_current(99_999)
    timeline.set_range(in_out[0], in_out[1] + 1)
    if narrow:
        window.resize(1, window.height())  # (Qt holds it at the minimum size; with the tool bars wrapped
        # on to rows below them that is a few px less, reached as a user's drag goes on)
        qtbot.waitUntil(lambda: window.resize(1, window.height()) or window.width() == window.minimumSizeHint().width())
    qtbot.wait(50)  # (the layout settles, the labels are placed)
    slider = timeline.range_slider
    labels = slider._handle_labels
    assert [label.text() for label in labels] == [str(v) for v in in_out]
    for label in labels:
        assert label.isVisible() and whole(label, slider.rect()), (label.text(), label.geometry(), slider.width())
    first, second = (text_rect(label) for label in labels)
    assert first.right() < second.left()  # side by side, in order
    assert whole(timeline.label, timeline.rect()), timeline.label.text()


@pytest.mark.parametrize("count", [2, 5, 30])
def test_the_range_handles_stand_over_the_frames_they_name(window, qtbot, count):
    """The frame bar puts frame v at the middle of its cell and superqt put value v at
    v / (count - 1) of the groove: on a 5-frame clip the in and out handles stood 50 px outside
    the first and last frames' marks, and the ones between were off too."""
    from PySide6.QtCore import QPoint

    timeline = window.timeline
    timeline.set_length(count, 25.0)
    qtbot.wait(50)
    slider, bar = timeline.range_slider, timeline.bar
    inner = slider._slider
    for value in sorted({0, count // 2, count - 1}):
        timeline.set_range(value, count) if value < count - 1 else timeline.set_range(0, count)
        qtbot.wait(10)
        handle = inner._handleRect(0 if value < count - 1 else 1)
        x = inner.mapTo(timeline, handle.center()).x() + 0.5
        frame = bar.mapTo(timeline, QPoint(0, 0)).x() + bar.x_of(value)
        assert abs(x - frame) <= 1.5, (count, value, x, frame)
    window.resize(window.width() + 300, window.height())  # (and after a resize)
    qtbot.waitUntil(lambda: abs(inner.mapTo(timeline, inner._handleRect(1).center()).x() + 0.5
                                - bar.mapTo(timeline, QPoint(0, 0)).x() - bar.x_of(count - 1)) <= 1.5, timeout=2000)


def test_with_no_video_the_range_slider_is_hidden_in_its_place(window, qtbot, clip):
    """The empty window's range slider showed a lone handle mid-way and the numbers "0 0" under the
    scrub bar's left end; opening a video must not move the picture either."""
    timeline = window.timeline
    assert not timeline.range_slider.isVisible() and not window.project.has_video
    height, picture = timeline.height(), window.canvas.height()
    window.open_path(clip)
    qtbot.wait(20)
    assert timeline.range_slider.isVisible() and all(label.isVisible() for label in timeline.range_slider._handle_labels)
    assert timeline.height() == height and window.canvas.height() == picture


@pytest.mark.parametrize("count", [280, 100_000])
def test_the_in_point_label_is_whole_right_after_a_video_opens(window, qtbot, count):
    """Opening a 280-frame video showed the in point's "0" cut in half at the slider's left edge: the
    labels were placed while sized for the range before (one digit), then widened for "279" around
    their left edge, so the centred "0" moved left past it. Nothing else moves the range first."""
    timeline = window.timeline
    timeline.set_length(count, 25.0)
    qtbot.wait(50)
    slider = timeline.range_slider
    labels = slider._handle_labels
    assert [label.text() for label in labels] == ["0", str(count - 1)]
    for label in labels:
        assert label.isVisible() and whole(label, slider.rect()), (label.text(), label.geometry(), slider.width())


@pytest.mark.parametrize("count", [70, 100_000])
def test_the_range_labels_are_whole_under_the_applications_style_sheet(window, qtbot, count):
    """Under the application's style sheet (the tests' window has none) a line edit's padding made
    superqt's handle labels 28 px tall, and superqt stands a label 1.5 of its heights above the
    handle's centre: its top went 10 px past the slider's, and the top of every number was cut off
    ("69" and "79" at the end of the paraglider and bmx-trees read with flat tops, "7" as "/")."""
    from app.gui import make_app

    app = make_app([])
    try:
        timeline = window.timeline
        timeline.set_length(count, 25.0)
        timeline.set_range(count // 10, count - 3)
        slider = timeline.range_slider
        labels = slider._handle_labels
        qtbot.waitUntil(lambda: [label.text() for label in labels] == [str(count // 10), str(count - 4)])
        qtbot.wait(50)  # (the layout settles, the labels are placed)
        for label in labels:
            text = label.fontMetrics().height()
            assert label.y() >= 0 and label.height() >= text and whole(label, slider.rect()), (
                label.text(), label.geometry(), slider.rect())
            # and above the groove, where a press on a handle must reach the slider
            assert label.geometry().bottom() < slider._slider.geometry().top(), (label.geometry(), slider._slider.geometry())
    finally:
        app.setStyleSheet("")


def test_one_frame_is_said_as_one_in_messages():
    """Messages said "Keyframes outside the in/out range (0..3): frames 6;" and "Inpainted 1 frames
    again (frames 5)" of a single frame (frames_text, used by every message that lists frames)."""
    from app.ui.timeline import frames_text

    assert frames_text([6]) == "frame 6"
    assert frames_text([5, 6]) == "frames 5..6"
    assert frames_text([3, 4, 5, 9]) == "frames 3..5, 9"
