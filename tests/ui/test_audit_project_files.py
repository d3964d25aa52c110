"""Faults a user whose work matters met with project files, saving and crash recovery (audit):
a second window that offered, and deleted, the live autosave of the first; a declined recovery
that deleted the autosave; ..."""
import numpy as np
from PySide6.QtWidgets import QMessageBox

from app.core.masks import MaskStore
from app.ui.project import project_masks, read_mask_blobs
from uihelpers import square_mask


def second_window(qtbot, settings):
    from app.ui.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    return w


def autosaved(window, clip, frame: int):
    """``clip`` opened in ``window``, frame ``frame`` painted, autosaved: the autosave's path."""
    assert window.open_path(clip)
    window.project.set_current(frame)
    window.project.edit_mask(square_mask(), "frame")
    assert window.autosaver.save_now() is not None and window.autosaver.wait()
    return window.autosaver.path


def close(window, dialogs):
    dialogs.answer = QMessageBox.StandardButton.Discard
    window.close()


def test_a_second_window_neither_offers_nor_overwrites_nor_deletes_the_live_autosave_of_the_first(
        window, clip, make_clip, qtbot, settings, dialogs):
    """Two sessions shared one autosave file: the second one's start said "The last session ended
    without saving. Recover?" of the first one's live work, and No (or opening a video) deleted
    it; its own edits then overwrote it. Each session now has its own, locked while it runs."""
    first = autosaved(window, clip, 3)
    before = first.read_bytes()
    other = second_window(qtbot, settings)
    dialogs.clear()
    assert not other.offer_recovery() and dialogs == []  # nothing asked: the first session is alive
    assert autosaved(other, make_clip(n=5, name="other.mp4"), 1) != first
    assert first.read_bytes() == before
    assert project_masks(first).keys() == {3}
    close(other, dialogs)
    assert first.exists()


def test_a_declined_recovery_keeps_the_autosave_for_the_next_start(window, clip, make_clip, qtbot, settings,
                                                                   dialogs):
    """No to "Recover its work?" deleted the autosave at once; and where recovery did not happen (its
    video not located), the next video opened deleted it anyway ("the next start offers it again"
    was not true). Now No keeps it, Discard deletes it, and each session's edits go elsewhere."""
    crashed = second_window(qtbot, settings)
    path = autosaved(crashed, clip, 4)
    crashed.controller.shutdown()
    crashed.autosaver.release()  # a crash: the files stay, the lock is free (its process is gone)
    dialogs.answer = QMessageBox.StandardButton.No
    dialogs.clear()
    assert not window.offer_recovery()
    assert [k for k, _ in dialogs] == ["question"] and "No keeps it" in dialogs[0][1]
    assert window.open_path(make_clip(n=5, name="other.mp4"))  # (clean: the window deletes its own autosave)
    window.project.edit_mask(square_mask(), "frame")
    assert window.autosaver.save_now() != path and window.autosaver.wait()
    assert path.exists()

    dialogs.answer = QMessageBox.StandardButton.Yes  # the next start recovers it
    later = second_window(qtbot, settings)
    assert later.offer_recovery()
    assert later.project.video_path == clip.resolve() and later.project.masks.masked_frames() == [4]
    assert later.autosaver.path == path  # its next autosaves replace it; closing deletes it
    close(later, dialogs)
    assert not path.exists()

    crashed.project.undo.setClean()
    crashed.project._dirty = False


def project_files(path) -> dict:
    return {f.name: f.read_bytes() for f in sorted(path.parent.iterdir()) if f.name.startswith(path.stem)}


def test_a_save_that_fails_midway_leaves_every_file_of_the_saved_project_as_it_was(window, clip, dialogs,
                                                                                 tmp_path, monkeypatch):
    """Ctrl+S onto a disk that filled up while the project file itself was written: the masks file had
    been replaced already (and the tracker's record deleted), so the old project file met newer masks,
    or none. Now nothing replaces its file before all are written."""
    import errno
    import pathlib

    assert window.open_path(clip)
    p = window.project
    p.edit_mask(square_mask(), "frame")
    p.tracked.set(0, square_mask())  # as if the tracker had added it
    path = p.save(tmp_path / "work")
    before = project_files(path)
    assert sorted(before) == ["work.masks.npz", "work.sttnproj", "work.tracked.npz"]
    p.clear_masks("frame")  # (the tracker's record goes too: the save would delete its file)
    p.set_current(6)
    p.edit_mask(square_mask(box=(0, 0, 30, 30)), "frame")
    real = pathlib.Path.write_text

    def full(self, *a, **k):
        if self.name.endswith(".sttnproj"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    dialogs.clear()
    window.save_action.trigger()
    assert len(dialogs) == 1 and dialogs[0][1].startswith(f"Cannot save the project as {path} (No space left")
    assert project_files(path) == before  # the saved project whole, no temporary file left
    assert sorted(f.name for f in tmp_path.iterdir() if f.name.startswith(".")) == []
    assert p.dirty and window.windowTitle().startswith("work*") and p.masks.masked_frames() == [6]
    monkeypatch.undo()
    assert window.save() and not p.dirty and window.windowTitle().startswith("work —")
    assert sorted(project_files(path)) == ["work.masks.npz", "work.sttnproj"]
    assert read_mask_blobs(path.with_name("work.masks.npz"))[1].keys() == {6}


def test_a_damaged_foreign_or_newer_project_file_is_one_line_saying_what_to_do(window, clip, dialogs, tmp_path):
    """A project file cut short or emptied, a PNG renamed, and one of a newer version all said "(Expecting
    value: line 1 column 1 (char 0)); is it a project saved by this application?" (the newer one: it
    was); one edited by hand (a range of words) opened half and ended in a traceback. Now each is
    one line saying what to do; the project open stays, and the file is left as it was."""
    import json

    assert window.open_path(clip)
    p = window.project
    p.edit_mask(square_mask(), "frame")
    good = p.save(tmp_path / "work").read_text()
    data = json.loads(good)
    damaged = "it is damaged or not a project file; open a copy of it, or open its video with File > Open video."
    cases = [(good[: len(good) // 2], damaged), ("", damaged), (b"\x89PNG\r\n\x1a\n\x00\x00\xff", damaged),
             (json.dumps({**data, "range": ["a", "b"]}), damaged), (json.dumps({**data, "engine": [1]}), damaged),
             (json.dumps({**data, "format": "sttn-inpaint-project/2", "new": 1}),
              "was saved by a newer version of this application (format 2); update the application to open it.")]
    other = tmp_path / "other.sttnproj"
    for content, said in cases:
        (other.write_bytes if isinstance(content, bytes) else other.write_text)(content)
        before = other.read_bytes()
        dialogs.clear()
        window.notice.dismiss()
        assert not window.open_path(other)
        assert dialogs == [] and window.notice.text().endswith(said), (content, window.notice.text())
        assert str(other) in window.notice.text() and "\n" not in window.notice.text()
        assert other.read_bytes() == before
        assert p.path == tmp_path / "work.sttnproj" and p.masks.masked_frames() == [0]
    other.write_text(json.dumps({**data, "new": {"from": "a newer version"}}))  # an unknown key: opens
    assert window.open_path(other) and p.masks.masked_frames() == [0]


def test_a_project_whose_masks_file_is_gone_says_so(window, clip, dialogs, tmp_path):
    """It opened without a word and without masks, as if none had been painted."""
    assert window.open_path(clip)
    window.project.edit_mask(square_mask(), "frame")
    path = window.project.save(tmp_path / "work")
    path.with_name("work.masks.npz").rename(tmp_path / "elsewhere.npz")
    assert window.open_path(path) and window.project.masks.masked_frames() == []
    assert window.statusBar().currentMessage() == ("work.masks.npz, the masks of work.sttnproj, is missing: the "
                                                   "project opened without masks. Put that file back beside it and "
                                                   "open it again before saving.")


def test_recovered_work_of_a_saved_project_is_saved_where_that_project_is(window, clip, qtbot, settings, dialogs,
                                                                          tmp_path, monkeypatch):
    """The autosave did not say which project it was the work of: after a crash, the recovered work's
    Save offered "clip.sttnproj" beside the video, and a user who took it had two projects, the
    saved one without the recovered work. Save As now starts at the project (and so does Save As
    of a saved project, which also started beside the video)."""
    from PySide6.QtWidgets import QFileDialog

    crashed = second_window(qtbot, settings)
    assert crashed.open_path(clip)
    (tmp_path / "projects").mkdir()
    path = crashed.project.save(tmp_path / "projects" / "work")
    autosaved(crashed, path, 5)
    crashed.controller.shutdown()
    crashed.autosaver.release()  # a crash
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert window.offer_recovery() and window.project.path is None and window.project.dirty
    starts = []

    def pick(parent, title, start, *a, **k):
        starts.append(start)
        return start, ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(pick))
    assert window.save() and starts == [str(path)]
    assert window.project.path == path and not window.project.dirty
    assert read_mask_blobs(path.with_name("work.masks.npz"))[1].keys() == {5}
    assert window.save_as() and starts[-1] == str(path)
    crashed.project.undo.setClean()
    crashed.project._dirty = False


def test_a_project_moved_with_its_video_in_a_folder_beside_it_opens_without_asking(window, make_clip, dialogs,
                                                                                   tmp_path):
    """Only a video right beside the project was found after both moved (the path saved is absolute):
    a project kept with its footage in a "media" folder asked to locate the video after the folder
    was moved or copied to another disk."""
    shot = tmp_path / "shot"
    (shot / "media").mkdir(parents=True)
    video = make_clip(n=6, name="take.mp4").rename(shot / "media" / "take.mp4")
    assert window.open_path(video)
    window.project.edit_mask(square_mask(), "frame")
    window.project.save(shot / "work")
    shot.rename(tmp_path / "moved")
    dialogs.clear()
    assert window.open_path(tmp_path / "moved" / "work.sttnproj") and dialogs == []
    assert window.project.video_path == tmp_path / "moved" / "media" / "take.mp4"
    assert window.project.masks.masked_frames() == [0]
