"""Playback as a user meets it: jumps while playing, and a variable-frame-rate clip's timing."""
import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from vfrclip import write_vfr_clip

from app.ui.timeline import timecode


def test_a_jump_while_playing_plays_on_from_there(window, make_clip, qtbot):
    """A click on the bar, Home or a jump of the project's (G) while playing: playback went back to
    where its clock had got to at the next tick."""
    window.open_path(make_clip(n=250, fps=25))
    tl, bar = window.timeline, window.timeline.bar
    window.project.set_current(100)
    tl.play()
    qtbot.wait(100)
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(int(bar.x_of(200)), bar.height() // 2))
    qtbot.wait(200)
    assert tl.playing and 200 <= window.project.current == tl.current
    tl.home_action.trigger()
    qtbot.wait(200)
    assert tl.playing and window.project.current < 100
    window.project.set_current(150)
    qtbot.wait(200)
    assert tl.playing and window.project.current >= 150
    tl.stop()


def test_an_in_point_moved_past_the_playhead_while_playing_plays_from_the_in_point(window, make_clip, qtbot):
    """The in handle dragged past the playing frame: playback went on through the frames before the
    new in point (outside the range) until the out point, and only then looped to the in point."""
    window.open_path(make_clip(n=250, fps=25))
    tl = window.timeline
    window.project.set_current(10)
    shown = []
    tl.currentChanged.connect(shown.append)
    tl.play()
    qtbot.wait(100)
    tl.range_slider.setValue((150, 249))  # (as a drag of the in handle ends)
    moved = len(shown)
    qtbot.wait(300)
    tl.stop()
    after = shown[moved:]
    assert after and all(i >= 150 for i in after), after[:10]


def test_a_variable_frame_rate_clip_plays_and_reads_at_each_frames_own_time(window, tmp_path, qtbot):
    """12 frames of 20 ms, then 12 of 100 ms: played at the average rate (19.4 fps), the first part
    went 2.5 times too slow and the second 2 times too fast, and frame 12 (at 0.24 s) read 0.62 s."""
    clip = write_vfr_clip(tmp_path / "phone.mp4", [20] * 12 + [100] * 12, audio="")
    window.open_path(clip)
    tl, times = window.timeline, window.project.reader.frame_times()
    window.project.set_current(12)
    assert tl.label.text().endswith("00:00:00:04")  # 0.24 s: 4 frames into the second at 19.4 fps
    assert timecode(0, 25, 1.001 - 0.001) == timecode(25, 25) == "00:00:01:00"  # (0.9999999999999999 s)
    window.project.set_current(0)
    shown = {}
    tl.currentChanged.connect(lambda i: shown.setdefault(i, time.monotonic()) if i >= max(shown, default=0) else None)
    t0 = time.monotonic()
    tl.play()
    qtbot.waitUntil(lambda: 23 in shown, timeout=10_000)
    tl.stop()
    early = {i: round(at - t0 - (times[i] - times[0]), 3) for i, at in shown.items() if at - t0 < times[i] - times[0] - 0.005}
    assert not early, f"frames shown before their time (s early): {early}"
    assert len(shown) > 12  # (not a jump to the end)


def test_i_and_o_set_their_point_at_the_current_frame_even_past_the_other(window, make_clip):
    """O before the in point made the old in point the out point (O at frame 10 with the in point at
    30 gave 10..30); I after the out point left a one-frame range."""
    window.open_path(make_clip(n=100, fps=25))
    p, tl = window.project, window.timeline
    p.set_current(30)
    tl.set_in_action.trigger()
    p.set_current(60)
    tl.set_out_action.trigger()
    assert (p.start, p.end) == (30, 61) and (tl.bar.start, tl.bar.end) == (30, 61)
    p.set_current(10)
    tl.set_out_action.trigger()  # out at 10: the in point goes back to the start
    assert (p.start, p.end) == (0, 11) and tuple(tl.range_slider.value()) == (0, 10)
    p.set_current(70)
    tl.set_in_action.trigger()  # in at 70: the out point goes on to the end
    assert (p.start, p.end) == (70, 100) and tuple(tl.range_slider.value()) == (70, 99)


def test_side_by_side_panes_of_different_widths_show_the_picture_at_one_size(window, make_clip, qtbot):
    """Each fitted view fitted its own pane: dragged apart unevenly, before and after were shown at
    different sizes, and the first pan (which makes the panned view's scale the zoom of both) made
    the other view jump (0.93x to 2.8x)."""
    from PySide6.QtCore import QPointF

    from app.ui.qimage import rgb_to_qimage

    window.open_path(make_clip(n=4, width=320, height=240))
    window.result_view.set_image(rgb_to_qimage(window.project.reader[0]))
    window.compare.set_mode("side")
    window.compare.splitter.setSizes([250, 650])
    qtbot.waitUntil(lambda: window.result_view.width() > 2 * window.canvas.width())
    small, big = window.canvas, window.result_view

    def fit(v):  # what fits the 320x240 picture to that pane alone
        return min(v.width() / 320, v.height() / 240)

    assert fit(big) > 1.5 * fit(small)  # (the panes do differ)
    assert small.scale() == big.scale() == fit(small)
    before = small.scale()
    centre = QPointF(big.width() / 2, big.height() / 2)
    QTest.mousePress(big, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, centre.toPoint())
    QTest.mouseMove(big, (centre + QPointF(1, 0)).toPoint())  # a one-pixel pan with the middle button
    QTest.mouseRelease(big, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier,
                       (centre + QPointF(1, 0)).toPoint())
    assert window.canvas.state.zoom is not None  # panned: an explicit zoom now
    assert small.scale() == big.scale() == before  # nothing jumped
    window.compare.set_mode("original")  # alone again, the canvas fits its pane
    window.canvas.state.fit()
    qtbot.waitUntil(lambda: not big.isVisible())
    assert small.scale() == fit(small)
