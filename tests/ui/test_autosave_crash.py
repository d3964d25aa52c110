"""Nothing lost on a crash: what the autosave keeps, and what a session killed hard (SIGKILL, in a
process of its own running the real window offscreen) leaves for the next start."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.ui.project import Autosaver, Project, mask_digest
from uihelpers import square_mask

ROOT = Path(__file__).resolve().parents[2]


def test_the_last_tracking_run_past_the_end_lives_in_the_autosave_until_a_save(qtbot, clip, make_clip, tmp_path):
    """A stopped tracking run over frames 2..10, opened with a 6-frame video: its record (what it
    tracked, the frames it had still to reach) reaches past the end. It was dropped at once, so the
    autosave had none and, recovered with the longer video, Track ran over the whole range again
    instead of finishing where the run had stopped. Now it is kept as the masks past the end are."""
    p = Project()
    p.open_video(clip)
    p.set_range(2, 10)
    p.edit_mask(square_mask(), "range")
    for i in range(2, 6):
        p.tracked.set(i, square_mask(box=(20, 16, 30, 40)))
    p.record_track((2, 10), None, {2: "d2"}, pending=range(6, 10))
    path = p.save(tmp_path / "work.sttnproj")
    run = dict(p.last_track)

    short = make_clip(n=6, width=96, height=64, fps=12, name="short.mp4")
    q = Project()
    q.load(path, video=short)
    saver = Autosaver(q, tmp_path / "auto", interval_ms=3_600_000)
    assert saver.save_now() is not None and saver.wait(30)
    r = Project()  # recovered after a crash, with the original video located again
    r.load(saver.path, video=clip)
    assert r.last_track == run
    assert r.last_track["pending"] == [6, 7, 8, 9]  # Track finishes the stopped run

    q.save(path)  # an explicit save drops it, with the masks past the end
    s = Project()
    s.load(path, video=clip)
    assert s.last_track is None
    saver.discard()


def test_an_unchanged_project_is_not_autosaved_again(qtbot, clip, tmp_path, monkeypatch):
    """A dirty project left alone was written whole at every tick of the autosave timer (477 MB a
    minute at 90,000 tracked 1080p frames, and each write a moment a kill leaves part files). Now a
    tick writes only what changed since the last autosave: a stroke, an undo, the range, a tracking
    run recorded; and an autosave deleted meanwhile is written again."""
    import app.ui.project as project

    written, real = [], project.write_snapshot
    monkeypatch.setattr(project, "write_snapshot", lambda snap, path: written.append(path) or real(snap, path))
    p = Project()
    p.open_video(clip)
    saver = Autosaver(p, tmp_path / "auto", interval_ms=3_600_000)

    def tick() -> int:
        assert saver.save_now() is not None and saver.wait(30)
        return len(written)

    p.edit_mask(square_mask(), "frame")
    assert tick() == 1 and tick() == 1 and tick() == 1  # (unchanged: not written again)
    p.set_current(5)
    assert tick() == 1  # (moving about is no change to the work)
    p.edit_mask(square_mask(box=(50, 5, 60, 15)), "frame")
    assert tick() == 2
    p.undo.undo()
    assert tick() == 3
    p.set_range(2, 9)
    assert tick() == 4
    p.record_track((2, 9), None, {})
    assert tick() == 5
    saver.path.unlink()
    assert tick() == 6 and saver.path.exists()
    saver.discard()
    p.edit_mask(square_mask(box=(60, 5, 70, 15)), "frame")
    assert tick() == 7


# --- a session killed hard ----------------------------------------------------------------------
# The child (this file run as a script) opens the real window offscreen, does what ``scenario`` names,
# and prints one JSON line, READY, at the moment a user could lose work: a worker thread then stays
# there (held), the event loop goes on; the test kills it with SIGKILL and starts again in-process.

def _child(scenario: str, clip: str, weights: str, settings_dir: str, out: str) -> None:
    from PySide6.QtCore import QPointF, QSettings, Qt
    from PySide6.QtTest import QTest

    from app.gui import keep_singletons_alive, make_app

    keep_singletons_alive()
    app = make_app([])
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    from app.ui import project as project_module
    from app.ui import segment_tool
    from app.core import video as video_module
    from app.ui.appsettings import AppSettings
    from app.ui.controller import ExportOptions
    from app.ui.main_window import MainWindow
    from app.ui.results import ResultCache

    settings = AppSettings()
    settings.weights, settings.device = weights, "cpu"
    w = MainWindow(settings, autosave_ms=500 if scenario == "strokes" else 3_600_000)
    w.resize(900, 600)
    w.show()
    p, saver = w.project, w.autosaver

    def state() -> dict:
        return {"masks": {i: project_module.mask_digest(p.masks.blob(i)) for i in p.masks.masked_frames()},
                "tracked": {i: project_module.mask_digest(p.tracked.blob(i)) for i in p.tracked.masked_frames()},
                "keyframes": sorted(p.keyframes), "autosave": str(saver.path), "pid": os.getpid()}

    def ready(**info) -> None:
        print("READY " + json.dumps({**state(), **info}), flush=True)
        if threading.current_thread() is not threading.main_thread():
            time.sleep(3600)  # (held here until killed)

    def held_after(count: int, fn, **info):
        """``fn`` as it is, but its ``count``-th call says READY once done, and is held there."""
        calls = [0]

        def wrapper(*a, **k):
            result = fn(*a, **k)
            calls[0] += 1
            if calls[0] == count:
                ready(**info)
            return result
        return wrapper

    def autosaved() -> None:
        assert saver.save_now() is not None and saver.wait(30)

    def drag(points) -> None:  # a left-button stroke through image pixels
        at = [w.canvas.to_widget(QPointF(x + 0.5, y + 0.5)).toPoint() for x, y in points]
        QTest.mousePress(w.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[0])
        for point in at[1:]:
            QTest.mouseMove(w.canvas, point)
        QTest.mouseRelease(w.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[-1])

    assert w.open_path(Path(clip))
    QTest.qWaitForWindowExposed(w)
    if scenario == "strokes":  # several strokes on frames 0, 2 and 5; the timer's autosave writes them
        # (the timer ticks every 0.5 s from the window's start: a tick between two strokes, in
        # processEvents, began an autosave of the first ones only, whose end then said READY)
        saver.timer.stop()
        for i, y in ((0, 10), (2, 20), (5, 30)):
            p.set_current(i)
            app.processEvents()
            drag([(10, y), (40, y), (70, y + 10)])
        assert len(p.masks.masked_frames()) == 3, p.masks.masked_frames()
        saver.saved.connect(lambda _: ready())
        saver.timer.start()
    elif scenario in ("autosave", "save"):  # the second write (a stroke later) is killed mid-way
        p.edit_mask(square_mask(), "frame")
        if scenario == "autosave":
            autosaved()
        else:
            p.save(Path(out))
        before = state()
        p.set_current(3)
        p.edit_mask(square_mask(box=(50, 5, 60, 15)), "frame")
        project_module.save_mask_blobs = held_after(1, project_module.save_mask_blobs, before=before)
        if scenario == "autosave":
            saver.save_now()
        else:
            threading.Thread(target=p.save, args=(Path(out),), daemon=True).start()  # (held off the GUI thread)
    elif scenario == "renames":  # masks and tracker's record autosaved, both changed, the next one killed
        p.edit_mask(square_mask(), "range")  # as its masks file is flushed to the disk
        p.tracked.set(3, square_mask(box=(20, 16, 30, 40)))
        autosaved()
        before = state()
        p.tracked.set(3, square_mask(box=(30, 16, 44, 40)))
        p.edit_mask(square_mask(box=(50, 5, 60, 15)), "frame")
        fsync = os.fsync

        def held_fsync(fd):
            if ".masks." in os.readlink(f"/proc/self/fd/{fd}"):
                ready(before=before)
            fsync(fd)
        os.fsync = held_fsync
        saver.save_now()
    elif scenario in ("export", "inpaint"):  # frames 4.. of the export written, frames 2.. of Inpaint
        p.edit_mask(square_mask(), "range")
        p.set_engine_settings({**p.engine_settings, "fill": "telea"})
        autosaved()
        if scenario == "export":
            video_module.VideoWriter.write = held_after(4, video_module.VideoWriter.write)
            w.controller.export(ExportOptions(Path(out), copy_unchanged=False))
        else:
            ResultCache.put = held_after(2, ResultCache.put)
            w.controller.inpaint()
    elif scenario == "tracking":  # a click-tool commit (keyframe and object), autosaved, then Track
        sel = square_mask()
        p.edit_mask(sel, "frame", keyframe=True, new_object=sel)
        autosaved()
        segment_tool.track_job = lambda *a, **k: (lambda host, progress, cancel: ready())
        w.segment.track_action.trigger()
    elif ":" in scenario:  # another test module's scenario, "module:function": function(w, ready)
        import importlib

        module, name = scenario.split(":")
        getattr(importlib.import_module(module), name)(w, ready)
    else:
        sys.exit(f"no scenario {scenario}")
    app.exec()


def killed(scenario: str, clip: Path, weights: Path, tmp_path: Path, out: Path, timeout_s: float = 120) -> dict:
    """Run ``scenario`` in a window of its own process and SIGKILL it at its READY: what it said then."""
    if not sys.platform.startswith("linux"):
        pytest.skip("kills with SIGKILL and reads /proc")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, __file__, scenario, str(clip), str(weights), str(tmp_path / "settings"),
                              str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in child.stdout] + [lines.put(None)], daemon=True).start()
    deadline, said = time.monotonic() + timeout_s, None
    try:
        while said is None:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                break
            if line.startswith("READY "):
                said = json.loads(line[6:])
    except queue.Empty:
        pass
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        errors = child.stderr.read()
    assert said is not None, f"the {scenario} session never got there:\n{errors[-3000:]}"
    assert child.returncode == -signal.SIGKILL
    return said


def leftovers(*folders) -> list[str]:
    """The temporary files (``fsutil.make_temp_beside``'s hidden ``.part`` files) in ``folders``."""
    return sorted(f.name for folder in folders if folder.is_dir() for f in folder.iterdir() if ".part" in f.name)


def reopened(qtbot, settings, dialogs):
    """The next start after the kill: a window offered the autosave, answering Yes; (window, recovered)."""
    from PySide6.QtWidgets import QMessageBox

    from app.ui.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    dialogs.answer = QMessageBox.StandardButton.Yes
    recovered = w.offer_recovery()
    assert w.autosaver.wait(30)  # (the work recovered is written again at once)
    return w, recovered


def masks_of(p) -> dict:
    return {str(i): mask_digest(p.masks.blob(i)) for i in p.masks.masked_frames()}


@pytest.fixture
def after(qtbot, settings, dialogs):
    """Closes the reopened windows, their work discarded."""
    windows = []
    yield windows
    for w in windows:
        w.project.undo.setClean()
        w.project._dirty = False
        w.close()


def test_strokes_killed_after_the_autosave_are_all_recovered(qtbot, settings, dialogs, clip, tiny_weights, tmp_path,
                                                           after):
    """Three strokes with the mouse on three frames, the timer's autosave written, then SIGKILL:
    the next start offers the work and brings back each stroke; nothing half-written lies about."""
    said = killed("strokes", clip, tiny_weights, tmp_path, tmp_path / "unused")
    autosave = Path(said["autosave"])
    assert autosave.exists() and sorted(said["masks"]) == ["0", "2", "5"]
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    assert recovered and masks_of(w.project) == said["masks"] and w.project.dirty
    assert w.autosaver.path == autosave  # (adopted: its next autosaves replace it)
    assert leftovers(autosave.parent, clip.parent) == []


def test_killed_while_the_autosave_is_written_the_one_before_is_offered_whole_and_no_part_file_stays(
        qtbot, settings, dialogs, clip, tiny_weights, tmp_path, after):
    """SIGKILL while an autosave's masks file is written (a stroke after the last autosave): the
    previous autosave stays whole and is what the next start recovers. Its half-written files, hidden
    beside it (as big as the masks written so far: hundreds of MB for a long tracked clip), stayed
    for good; the next start deletes them."""
    said = killed("autosave", clip, tiny_weights, tmp_path, tmp_path / "unused")
    autosave = Path(said["autosave"])
    assert len(leftovers(autosave.parent)) == 2  # (the project file's and the masks')
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    assert recovered and masks_of(w.project) == said["before"]["masks"] == {"0": mask_digest(square_blob())}
    assert leftovers(autosave.parent) == []


def test_killed_between_the_files_of_an_autosave_its_files_are_all_of_one_autosave(
        qtbot, settings, dialogs, clip, tiny_weights, tmp_path, after):
    """An autosave replaced its files one by one, each flushed to the disk first: killed while the
    masks file was flushed (a second for hundreds of MB), the tracker's record was already the new
    one and the masks and project file the old ones, so the recovered tracking did not match its
    masks. Now all are flushed before the first is replaced: the files are all the old autosave's."""
    said = killed("renames", clip, tiny_weights, tmp_path, tmp_path / "unused")
    before = said["before"]
    assert said["tracked"] != before["tracked"]
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    p = w.project
    assert recovered and masks_of(p) == before["masks"]
    assert {str(i): mask_digest(p.tracked.blob(i)) for i in p.tracked.masked_frames()} == before["tracked"]


def test_killed_while_the_project_is_saved_the_saved_file_stays_whole_and_no_part_file_stays(
        qtbot, settings, dialogs, clip, tiny_weights, tmp_path, after):
    """File > Save over a saved project, killed while its masks are written: the project as it was
    saved before opens whole; the half-written files beside it go at the next start."""
    from app.ui.main_window import MainWindow

    work = tmp_path / "work" / "work.sttnproj"
    work.parent.mkdir()
    said = killed("save", clip, tiny_weights, tmp_path, work)
    assert len(leftovers(work.parent)) == 2
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    assert not recovered  # (nothing was autosaved: the session had saved)
    assert leftovers(work.parent) == []
    assert w.open_path(work) and masks_of(w.project) == said["before"]["masks"]


def test_killed_mid_export_leaves_no_file_at_the_output_and_no_part_file(qtbot, settings, dialogs, clip,
                                                                       tiny_weights, tmp_path, after):
    """SIGKILL with 4 frames of an export written: nothing lies at the output path (no truncated
    video a player would open), the work is recovered; the hidden half-written export beside the
    output stayed until an export to that very name; the next start deletes it."""
    out = tmp_path / "out" / "clean.mp4"
    out.parent.mkdir()
    said = killed("export", clip, tiny_weights, tmp_path, out)
    assert not out.exists() and leftovers(out.parent)
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    assert recovered and masks_of(w.project) == said["masks"] and len(said["masks"]) == 12
    assert os.listdir(out.parent) == []


def test_killed_mid_inpaint_the_masks_are_recovered(qtbot, settings, dialogs, clip, tiny_weights, tmp_path, after):
    """SIGKILL with 2 frames inpainted: the masks (autosaved before) come back; the result does not
    (it lives in the cache, per session): Inpaint computes it again."""
    said = killed("inpaint", clip, tiny_weights, tmp_path, tmp_path / "unused")
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    assert recovered and masks_of(w.project) == said["masks"] and len(w.project.results) == 0


def test_killed_mid_tracking_the_keyframe_and_its_object_are_recovered(qtbot, settings, dialogs, clip, tiny_weights,
                                                                      tmp_path, after):
    """SIGKILL while Track runs: the click-tool commit it started from (mask, keyframe, the object
    selected) comes back (what the run had tracked by the last autosave too: test_track_crash.py)."""
    said = killed("tracking", clip, tiny_weights, tmp_path, tmp_path / "unused")
    w, recovered = reopened(qtbot, settings, dialogs)
    after.append(w)
    p = w.project
    assert recovered and masks_of(p) == said["masks"] and sorted(p.keyframes) == said["keyframes"] == [0]
    assert [o.sum() for o in p.objects_on(0)] == [square_mask().sum()]


def test_only_the_part_files_of_a_killed_process_are_swept(tmp_path):
    """A clean exit leaves no note behind; a live process's half-written file (this one's) stays;
    a killed one's goes, and so does its note."""
    from app.core.fsutil import JOURNAL, make_temp_beside, sweep_orphans
    from app.core.paths import user_data_dir

    folder = tmp_path / "out"
    folder.mkdir()
    write = ("import sys, time; from pathlib import Path; from app.core.fsutil import make_temp_beside; "
             f"make_temp_beside(Path({str(folder / 'a.mp4')!r}), 'enc'); print('made', flush=True); "
             "time.sleep(float(sys.argv[1]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", write, "0"], check=True, env=env, capture_output=True)
    notes = user_data_dir() / JOURNAL
    assert list(notes.iterdir()) == [] and len(leftovers(folder)) == 1  # (a clean exit that left its file)
    for f in folder.iterdir():
        f.unlink()
    child = subprocess.Popen([sys.executable, "-c", write, "60"], env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "made\n"
    mine = make_temp_beside(folder / "b.mp4", "enc")
    assert sweep_orphans() == 0 and len(leftovers(folder)) == 2  # (both alive)
    child.kill()
    child.wait(30)
    assert sweep_orphans() == 1 and leftovers(folder) == [mine.name]
    assert [n.name for n in notes.iterdir()] == [f"{os.getpid()}.txt"]


def square_blob() -> bytes:
    from app.core.masks import MaskStore

    store = MaskStore(1, 96, 64)
    store.set(0, square_mask())
    return store.blob(0)


if __name__ == "__main__":
    _child(*sys.argv[1:])
