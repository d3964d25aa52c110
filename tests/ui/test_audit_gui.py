"""Faults a new user hit in the window (GUI audit): a project whose video was moved, a file gone
from Open recent, Esc in the export dialog, a second export dialog, a crash followed by a move."""
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.core.video import open_video, probe
from test_segment_tool import disc_clip  # noqa: F401 - the clip (a fixture)
from uihelpers import square_mask

ROOT = Path(__file__).resolve().parents[2]


def saved_project(window, clip, tmp_path) -> tuple[Path, dict]:
    """``clip`` opened, a square painted on frames 2..7, saved as a project: (its path, the masks)."""
    window.open_path(clip)
    p = window.project
    p.set_range(2, 8)
    p.set_current(2)
    p.edit_mask(square_mask(), "range")
    path = window.project.save(tmp_path / "work.sttnproj")
    return path, {i: p.masks.get(i).copy() for i in p.masks.masked_frames()}


def locate(monkeypatch, video: Path | str):
    """The next Open dialog picks ``video``; returns the list of the dialogs' titles."""
    asked = []

    def pick(parent, title, *a, **k):
        asked.append(title)
        return str(video), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(pick))
    return asked


def test_a_project_whose_video_was_moved_opens_with_the_video_located(window, clip, tmp_path, dialogs,
                                                                       monkeypatch):
    """Reopening a project after its video had been moved or renamed was one message, "Video ...
    does not exist; check the path.", and no way on: the masks were out of reach. Now the window
    asks to locate it, opens the project with the video picked, and the next save records it."""
    path, masks = saved_project(window, clip, tmp_path)
    window.open_path(clip)  # another project open meanwhile (unchanged)
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    clip.rename(moved)
    dialogs.answer = QMessageBox.StandardButton.Yes
    asked = locate(monkeypatch, moved)
    assert window.open_path(path)
    assert asked == [f"Locate {clip.name}"]
    kind, text = dialogs[-1]
    assert kind == "question" and str(clip) in text and "Locate it?" in text
    p = window.project
    assert p.video_path == moved.resolve() and p.n_frames == 12
    assert (p.start, p.end) == (2, 8)
    assert sorted(masks) == p.masks.masked_frames() and all(np.array_equal(p.masks.get(i), m) for i, m in masks.items())
    assert p.dirty and window.windowTitle().startswith("work*")  # the project now names another video
    assert window.save()
    assert json.loads(path.read_text())["video"] == str(moved.resolve())
    dialogs.clear()
    assert window.open_path(path) and not dialogs  # opens as it is from now on


def test_a_project_whose_video_is_not_located_leaves_the_open_one(window, clip, make_clip, tmp_path, dialogs,
                                                                   monkeypatch):
    path, _ = saved_project(window, clip, tmp_path)
    other = make_clip(n=5, name="other.mp4")
    window.open_path(other)
    window.project.set_current(3)
    window.project.edit_mask(square_mask(), "frame")  # unsaved work in the project open now
    clip.unlink()
    dialogs.answer = QMessageBox.StandardButton.No  # do not locate it
    assert not window.open_path(path)
    assert [k for k, _ in dialogs] == ["question"]  # not asked to save first, for nothing
    assert window.project.video_path == other.resolve() and window.project.masks.masked_frames() == [3]
    assert window.statusBar().currentMessage() == f"work.sttnproj not opened: its video {clip.resolve()} is missing."
    dialogs.answer = QMessageBox.StandardButton.Yes  # locate it, but cancel the file dialog
    locate(monkeypatch, "")
    assert not window.open_path(path)
    assert window.project.video_path == other.resolve() and window.project.dirty


def test_a_file_gone_from_open_recent_says_so_without_asking_to_save(window, clip, make_clip, dialogs):
    """Open recent on a file deleted since asked "Save the changes first?", then failed, and the
    entry stayed in the menu: now one message, and the entry goes."""
    gone = make_clip(n=4, name="gone.mp4")
    window.open_path(gone)
    window.open_path(clip)
    window.project.edit_mask(square_mask(), "frame")
    gone.unlink()
    entry = next(a for a in window.recent_menu.actions() if a.text() == "gone.mp4")
    entry.trigger()
    assert window.notice.text() == (f"{gone.resolve()} is not there (moved, renamed or deleted); it is taken off "
                                    "File > Open recent.") and dialogs == []
    assert [a.text() for a in window.recent_menu.actions()] == ["clip.mp4"]
    assert window.project.video_path == clip.resolve() and window.project.dirty


def test_escape_in_the_export_dialog_cancels_the_export(window, make_clip, qtbot, tmp_path):
    """Esc (or the title bar's close button) while an export ran closed the dialog and let the
    export go on and write the file, though the dialog's button read Cancel at that moment: now it
    cancels, and the dialog stays to say so."""
    window.open_path(make_clip(n=80, width=96, height=64, name="long.mp4"))
    p = window.project
    p.edit_mask(square_mask(), "range")
    out = tmp_path / "out.mp4"
    dialog = window.export_dialog_show()
    dialog.path_edit.setText(str(out))
    jobs = window.controller.engine
    pressed = []

    def escape(job, progress):
        if not pressed:
            pressed.append(progress.done)
            QTest.keyClick(dialog, Qt.Key.Key_Escape)

    jobs.progress.connect(escape)
    with qtbot.waitSignal(jobs.cancelled, timeout=120_000):
        dialog.export_button.click()
    assert pressed and dialog.isVisible()
    assert dialog.status.text() == "Cancelled; nothing was written."
    assert not out.exists() and not list(tmp_path.glob("out*"))
    dialog.close()  # no export runs: it closes now
    assert not dialog.isVisible()


def test_export_again_while_an_export_runs_brings_up_its_dialog(window, make_clip, qtbot, tmp_path):
    """Ctrl+E while the export dialog was open made a second dialog, which showed the same job's
    progress with Export enabled (pressing it: "Export is still running"); with none running, the
    dialog is made anew for the video open now."""
    first = make_clip(n=40, fps=12, audio=True, name="first.mp4")
    window.open_path(first)
    window.project.edit_mask(square_mask(), "range")
    dialog = window.export_dialog_show()
    dialog.path_edit.setText(str(tmp_path / "out.mp4"))
    jobs = window.controller.engine
    with qtbot.waitSignal(jobs.finished, timeout=120_000):
        dialog.export_button.click()
        assert window.export_dialog_show() is dialog and dialog.running
    written = probe(tmp_path / "out.mp4")  # the file the job wrote meanwhile, whole
    assert (written["frames"], written["width"], written["height"], written["fps"], written["has_audio"]) == \
        (40, 96, 64, 12, True)
    window.open_path(make_clip(n=4, name="second.mp4"))
    again = window.export_dialog_show()
    assert again is not dialog and not dialog.isVisible()
    assert again.path_edit.text().endswith("second_inpainted.mp4")
    again.close()


CRASHING_SESSION = """
import os, signal, sys, time
from pathlib import Path
import numpy as np
from PySide6.QtCore import QSettings
from app.gui import make_app
from app.ui.main_window import MainWindow

QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[2])
app = make_app([])
w = MainWindow(autosave_ms=200)
w.show()
assert w.open_path(sys.argv[1])
m = np.zeros((64, 96), bool)
m[10:30, 20:60] = True
w.project.set_range(1, 9)
w.project.set_current(1)
w.project.edit_mask(m, "range")
deadline = time.monotonic() + 60
while not w.autosaver.path.exists() and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
w.autosaver.wait()
os.kill(os.getpid(), signal.SIGKILL)  # a crash: no closeEvent, no cleanup
"""


def test_after_a_crash_the_autosave_is_offered_and_a_moved_video_can_be_located(window, clip, tmp_path, dialogs,
                                                                                  monkeypatch):
    """A session killed after its edits were autosaved; its video moved before the next start. The
    next start offers the work, asks where the video is, and the masks come back unsaved."""
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(CRASHING_SESSION))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, str(script), str(clip), str(tmp_path / "settings")], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    assert [path.name for path, _ in window.autosaver.orphans()] == ["autosave-2.sttnproj"]  # (the window holds the first)
    moved = tmp_path / "moved.mp4"
    clip.rename(moved)
    dialogs.answer = QMessageBox.StandardButton.Yes
    locate(monkeypatch, moved)
    assert window.offer_recovery()
    assert [k for k, _ in dialogs] == ["question", "question"]  # recover? then: locate the video?
    p = window.project
    assert p.video_path == moved.resolve() and (p.start, p.end) == (1, 9)
    assert p.masks.masked_frames() == list(range(1, 9)) and p.masks.get(4)[20, 40] and not p.masks.get(4)[5, 5]
    assert p.dirty and p.path is None  # still to be saved somewhere
    with open_video(moved) as r:
        assert len(r) == 12


def test_the_single_key_shortcuts_work_from_the_start_and_after_a_tool_bar_field(window, clip, qtbot):
    """The brush Size box had the keyboard focus when the window opened and after a video was
    opened: Right, Space, E, 1/2/3 did nothing, and "3" (Split view) was typed into the brush size.
    The pictures keep the focus (Split view hid the canvas, and a tool bar button took it, where
    Space pressed the button; Space on the result view did nothing); a tool bar field hands it back
    once a value is entered or picked."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.open_path(clip)
    views = (window.canvas, window.result_view)

    def key(k):
        target = QApplication.focusWidget()
        assert target in views, target
        QTest.keyClick(target, k)

    size = window.tools.size_spin.value()
    key(Qt.Key.Key_Right)
    assert window.project.current == 1
    key(Qt.Key.Key_3)
    assert window.compare.mode == "split" and window.tools.size_spin.value() == size
    assert QApplication.focusWidget() is window.result_view
    key(Qt.Key.Key_Space)
    assert window.timeline.playing
    key(Qt.Key.Key_Space)
    assert not window.timeline.playing
    key(Qt.Key.Key_1)
    assert window.compare.mode == "original" and QApplication.focusWidget() is window.canvas
    key(Qt.Key.Key_E)
    assert window.tools.tool.name == "eraser"
    spin = window.tools.size_spin
    QTest.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    assert spin.hasFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "40")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == 40
    current = window.project.current
    key(Qt.Key.Key_Right)
    assert window.project.current == current + 1
    box = window.tools.scope_box
    box.setFocus()
    box.activated.emit(1)  # a choice picked from the list
    key(Qt.Key.Key_2)
    assert window.compare.mode == "side"


def test_closing_during_a_job_hides_the_window_before_waiting_for_the_job_to_stop(window, clip, qtbot, dialogs):
    """Yes to "Inpaint is still running. Stop and close the window?" left the window on screen,
    frozen, until the job's step ended (26 s for an STTN window of dogs_jump on a 2-core CPU)."""
    import threading
    import time

    window.open_path(clip)
    jobs = window.controller.engine
    seen = {}
    started = threading.Event()

    def slow_step(host, progress, cancel):
        started.set()
        while not cancel.cancelled:
            time.sleep(0.01)
        seen["visible"] = window.isVisible()  # the step the job is on still runs: the window?
        time.sleep(0.5)
        cancel.check()

    jobs.submit("Inpaint", slow_step)
    assert started.wait(10)
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert window.close()
    assert seen == {"visible": False}
    dialogs.answer = QMessageBox.StandardButton.Discard


def test_undoing_the_selection_while_tracking_runs_is_said_when_the_run_lands(window, disc_clip, qtbot):
    """Commit a selection, Track, Ctrl+Z at once (the selection was wrong): the run landed and put the
    undone object on the other frames, with "Tracked frames 0..N" as if all were well. It still
    lands (tracking with SAM costs minutes), and now says which keyframe changed and what to do."""
    from test_segment_tool import disc_centre, select_and_commit

    window.open_path(disc_clip)
    p = window.project
    select_and_commit(qtbot, window, *disc_centre(0))
    said = []
    window.controller.message.connect(said.append)
    with qtbot.waitSignal(window.segment.trackFinished, timeout=60_000):
        window.segment.track_action.trigger()
        assert window.controller.engine.busy
        p.undo.undo()  # before the run's answer can come (it is queued to this thread)
        assert p.masks.is_empty(0)
    assert said[-1].startswith("Tracked 7 frames from keyframe 0, frames 0..7") and said[-1].endswith(
        " Frame 0 changed while it ran (an undo or an edit): it followed its mask as it was; Track again "
        "follows it as it is now (Ctrl+Z takes this run away).")
    p.undo.undo()  # takes the run away, as it says
    assert p.masks.masked_frames() == []
    said.clear()
    with qtbot.waitSignal(window.segment.trackFinished, timeout=60_000):  # an ordinary run says nothing of it
        p.set_current(0)
        select_and_commit(qtbot, window, *disc_centre(0))
        window.segment.track_action.trigger()
    assert said[-1].startswith("Tracked 7 frames from keyframe 0, frames 0..7") and "changed while it ran" not in said[-1]


def test_a_located_video_of_another_size_is_refused_and_the_open_project_stays(window, clip, make_clip, tmp_path,
                                                                                 dialogs, monkeypatch):
    """Picking the wrong file when asked to locate a moved video opened it, then failed on the masks:
    the project open before was gone and the wrong video stood there, untitled."""
    path, _ = saved_project(window, clip, tmp_path)
    wrong = make_clip(n=12, width=64, height=48, name="wrong.mp4")
    window.open_path(make_clip(n=5, name="open.mp4"))
    clip.unlink()
    dialogs.answer = QMessageBox.StandardButton.Yes
    locate(monkeypatch, wrong)
    assert not window.open_path(path)
    assert window.notice.text() == ("wrong.mp4 is 64x48 but the masks of work.sttnproj are 96x64: it is not "
                                    "this project's video.") and "critical" not in dict(dialogs)
    assert window.project.video_path.name == "open.mp4" and window.project.n_frames == 5
