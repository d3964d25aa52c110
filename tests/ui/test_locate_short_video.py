"""A project's video located (or replaced) by one with fewer frames than its masks reach: the
masks past its end were dropped without a word. Now the user is told how many before anything
changes, and chooses: open it anyway (the project file and the autosave keep those masks until a
save), choose another video, or cancel. A longer video or another frame rate is said in the status bar."""
import json

import pytest
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app.core.masks import encode_labels
from app.ui.project import Autosaver, Project, project_masks, read_mask_blobs
from uihelpers import square_mask
from test_audit_gui import locate, saved_project

QUESTION = ("short.mp4 has 6 frames; work.sttnproj has masks on 2 frame(s) after that (frames 6..7). Open it "
            "anyway? Those masks are dropped when you save; until then nothing is lost.")


def press(*buttons):
    """The next message boxes (the real ones, modal) are answered with these buttons, in turn;
    returns the list of their texts."""
    seen, todo, tries = [], list(buttons), [3000]  # (30 s at the most: a box that never comes)

    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            tries[0] -= 1
            if tries[0] > 0:
                QTimer.singleShot(10, click)
            return
        seen.append(box.text())
        name = todo.pop(0)
        next(b for b in box.buttons() if b.text() == name).click()
        if todo:
            QTimer.singleShot(10, click)

    QTimer.singleShot(0, click)
    return seen


def files(path):
    """The bytes of project ``path`` and the masks file it names."""
    return path.read_bytes(), path.with_name(json.loads(path.read_text())["masks"]).read_bytes()


@pytest.fixture
def moved(window, clip, make_clip, tmp_path, dialogs):
    """A saved project (masks on frames 2..7 of a 12-frame clip), its video gone, another video
    open; a same-size "short.mp4" of 6 frames to locate. (project path, masks, short video)."""
    path, masks = saved_project(window, clip, tmp_path)
    short = make_clip(n=6, width=96, height=64, fps=12, name="short.mp4")
    window.open_path(make_clip(n=5, name="open.mp4"))
    clip.rename(tmp_path / "kept.mp4")
    dialogs.answer = QMessageBox.StandardButton.Yes  # locate it
    return path, masks, short


def test_cancel_leaves_the_open_project_and_the_files_as_they_were(window, moved, monkeypatch):
    path, _, short = moved
    before = files(path)
    locate(monkeypatch, short)
    seen = press("Cancel")
    assert not window.open_path(path)
    assert seen == [QUESTION]
    assert window.project.video_path.name == "open.mp4" and not window.project.dirty
    assert files(path) == before
    assert window.statusBar().currentMessage() == "Opening work.sttnproj cancelled."


def test_choose_another_asks_for_the_video_again(window, moved, tmp_path, monkeypatch):
    path, masks, short = moved
    asked, picks = [], iter([short, tmp_path / "kept.mp4"])  # the second time, the real video (renamed)

    def pick(parent, title, *a, **k):
        asked.append(title)
        return str(next(picks)), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(pick))
    seen = press("Choose another video…")
    assert window.open_path(path)
    assert seen == [QUESTION] and asked == ["Locate clip.mp4", "Locate clip.mp4"]
    p = window.project
    assert p.video_path.name == "kept.mp4" and p.masks.masked_frames() == sorted(masks)
    assert not p.past_end and p.dirty


def test_open_anyway_keeps_the_masks_past_the_end_until_a_save(window, moved, monkeypatch, qtbot):
    path, masks, short = moved
    before = files(path)
    locate(monkeypatch, short)
    seen = press("Open anyway")
    assert window.open_path(path)
    assert seen == [QUESTION]
    p = window.project
    assert p.n_frames == 6 and p.masks.masked_frames() == [2, 3, 4, 5] and p.dirty
    assert files(path) == before  # the project file still holds them
    saver = window.autosaver
    assert saver.save_now() is not None and saver.wait(30)
    frames = project_masks(saver.path)
    assert sorted(frames) == sorted(masks)  # and so does the autosave

    # a crash now: the next start offers the autosave; it asks again, and Cancel keeps it whole
    autosaved = files(saver.path)
    p.undo.setClean()
    p._dirty = False
    saver.release()  # (its lock free, as a dead process's)
    seen = press("Cancel")
    assert not window.offer_recovery()
    assert seen == [QUESTION.replace("work.sttnproj", "autosave.sttnproj")]
    assert files(saver.path) == autosaved
    # (said last; the bar shows it once the warning from the open, the video shorter, has had its time)
    bar = window.statusBar()
    assert "the autosave is kept" in window.messages.text().splitlines()[-1]
    assert bar.warning and "the autosave is kept" in bar.pending[0]
    seen = press("Open anyway")
    assert window.offer_recovery()
    assert saver.wait(30) and sorted(project_masks(saver.path)) == sorted(masks)
    assert p.masks.masked_frames() == [2, 3, 4, 5] and p.dirty and p.path is None

    # the save drops them, as it said; reopened, nothing is asked
    assert window._save_to(path)
    assert sorted(read_mask_blobs(path.with_name("work.masks.npz"))[1]) == [2, 3, 4, 5]
    assert not saver.path.exists()  # (saved: nothing to recover)
    seen = press()
    assert window.open_path(path) and seen == [] and not p.past_end
    q = Project()  # (the file names the located video now)
    q.load(path)
    assert q.video_path == short.resolve() and q.masks.masked_frames() == [2, 3, 4, 5]


def test_a_longer_video_at_another_frame_rate_opens_and_says_so(window, moved, make_clip, monkeypatch, dialogs):
    path, masks, _ = moved
    longer = make_clip(n=20, width=96, height=64, fps=25, name="longer.mp4")
    locate(monkeypatch, longer)
    seen = press()
    assert window.open_path(path)
    assert seen == [] and window.project.masks.masked_frames() == sorted(masks)
    said = [text for _, text in window.messages.items]
    assert ("longer.mp4 has 20 frames, 8 more than the project's video had: those have no masks yet." in said)
    assert ("longer.mp4 runs at 25 fps, the project's video at 12 fps: the masks stay on their frame numbers, so "
            "check that they still lie on the object." in said)


def test_keyframes_flags_and_selections_past_the_end_live_in_the_autosave_until_a_save(clip, make_clip, tmp_path):
    """Not the masks alone: what tracking knew of the frames past the shorter video's end (keyframes,
    flags, the objects selected, which tracked pixel was whose) is autosaved, so that recovering the
    work with the longer video brings it all back; a save drops it, as the question said."""
    p = Project()
    p.open_video(clip)
    p.set_range(2, 10)
    p.edit_mask(square_mask(), "range")
    sel = square_mask(box=(50, 5, 60, 15))
    for i in (3, 8):  # a click-tool commit on each: keyframe and object
        p.set_current(i)
        p.edit_mask(p.masks.get(i) | sel, "frame", keyframe=True, new_object=sel)
    p.flagged.update({4: "lost", 9: "shrunk"})
    p.tracked.set(9, square_mask(box=(20, 16, 30, 40)))
    labels = encode_labels([square_mask(box=(20, 16, 30, 40)), square_mask(box=(30, 16, 44, 40))])
    p.set_tracked_objects(5, labels)
    p.set_tracked_objects(9, labels)
    path = p.save(tmp_path / "work.sttnproj")

    short = make_clip(n=6, width=96, height=64, fps=12, name="short.mp4")
    q = Project()
    q.load(path, video=short)
    assert q.keyframes == {3} and q.flagged == {4: "lost"} and sorted(q.objects) == [3]
    assert sorted(q.tracked_objects) == [5] and q.dirty
    assert q.past_end.keyframes == {8} and q.past_end.flagged == {9: "shrunk"}

    saver = Autosaver(q, tmp_path / "auto", interval_ms=3_600_000)
    assert saver.save_now() is not None and saver.wait(30)
    r = Project()  # recovered after a crash, with the original video located again
    r.load(saver.path, video=clip)
    assert r.masks.masked_frames() == list(range(2, 10)) and r.tracked.masked_frames() == [9]
    assert r.keyframes == {3, 8} and r.flagged == {4: "lost", 9: "shrunk"}
    assert [np.array_equal(a, b) for a, b in zip(r.objects_on(8), p.objects_on(8))] == [True]
    assert r.tracked_objects == {5: labels, 9: labels}

    q.save(path)  # an explicit save drops them
    assert not q.past_end
    s = Project()
    s.load(path, video=clip)
    assert s.masks.masked_frames() == [2, 3, 4, 5] and s.keyframes == {3} and s.flagged == {4: "lost"}
    assert sorted(s.objects) == [3] and sorted(s.tracked_objects) == [5]
    saver.discard()
