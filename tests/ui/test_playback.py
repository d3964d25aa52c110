"""Playback as a user meets it: jumps while playing, and a variable-frame-rate clip's timing."""
import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from vfrclip import write_vfr_clip


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


def test_a_variable_frame_rate_clip_plays_and_reads_at_each_frames_own_time(window, tmp_path, qtbot):
    """12 frames of 20 ms, then 12 of 100 ms: played at the average rate (19.4 fps), the first part
    went 2.5 times too slow and the second 2 times too fast, and frame 12 (at 0.24 s) read 0.62 s."""
    clip = write_vfr_clip(tmp_path / "phone.mp4", [20] * 12 + [100] * 12, audio="")
    window.open_path(clip)
    tl, times = window.timeline, window.project.reader.frame_times()
    window.project.set_current(12)
    assert tl.label.text().endswith("00:00:00:04")  # 0.24 s: 4 frames into the second at 19.4 fps
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
