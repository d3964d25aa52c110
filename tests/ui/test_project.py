"""Project model: open, masks with undo that stores changes, save and reopen, autosave."""
import numpy as np

from app.ui.project import Autosaver, Project
from uihelpers import square_mask


def test_open_video_shows_first_frame_without_decoding_all(qtbot, clip):
    p = Project()
    with qtbot.waitSignal(p.videoChanged):
        p.open_video(clip)
    assert (p.n_frames, p.start, p.end, p.current) == (12, 0, 12, 0)
    assert p.frame(0).shape == (64, 96, 3)


def test_edit_scope_and_undo_store_only_changed_frames(qtbot, clip):
    p = Project()
    p.open_video(clip)
    p.set_range(2, 6)
    p.set_current(3)
    p.edit_mask(square_mask(), "range")
    assert p.masks.masked_frames() == [2, 3, 4, 5]
    # frames painted together share one blob, and the undo command references it
    assert p.masks.blob(2) is p.masks.blob(5)
    cmd = p.undo.command(0)
    assert sorted(cmd.changes) == [2, 3, 4, 5]
    # an edit on one frame adds a command holding just that frame
    extra = square_mask(box=(60, 40, 70, 50)) | p.masks.get(3)
    p.edit_mask(extra, "frame")
    assert sorted(p.undo.command(1).changes) == [3]
    p.undo.undo()
    assert np.array_equal(p.masks.get(3), square_mask())
    p.undo.undo()
    assert p.masks.masked_frames() == []
    p.undo.redo()
    assert p.masks.masked_frames() == [2, 3, 4, 5]


def test_range_edit_keeps_each_frames_own_mask(qtbot, clip):
    p = Project()
    p.open_video(clip)
    p.set_current(1)
    own = square_mask(box=(0, 0, 8, 8))
    p.edit_mask(own, "frame")
    p.set_current(0)
    p.edit_mask(square_mask(), "onwards")
    assert np.array_equal(p.masks.get(1), own | square_mask())
    assert np.array_equal(p.masks.get(11), square_mask())


def test_a_long_edit_shows_the_busy_cursor_and_gives_it_back(qtbot, clip, monkeypatch):
    """A stroke over every frame of a long tracked clip takes seconds on the GUI thread: the
    cursor says so while it runs, and is the user's again after it, also when the edit fails."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    from app.core.masks import MaskStore

    p = Project()
    p.open_video(clip)
    seen, real = [], MaskStore.edit

    def edit(store, *a, **k):
        c = QGuiApplication.overrideCursor()
        seen.append(None if c is None else c.shape())
        return real(store, *a, **k)

    monkeypatch.setattr(MaskStore, "edit", edit)
    p.edit_mask(square_mask(), "range")  # 12 frames: quick, no busy cursor
    assert seen[0] is None
    monkeypatch.setattr(Project, "BUSY_FRAMES", 5)
    seen.clear()
    p.edit_mask(square_mask(box=(50, 30, 60, 40)) | p.masks.get(0), "range")
    assert seen and seen[0] == Qt.CursorShape.BusyCursor and QGuiApplication.overrideCursor() is None
    monkeypatch.setattr(MaskStore, "edit", lambda *a, **k: 1 / 0)
    try:
        p.edit_mask(square_mask(box=(70, 30, 80, 40)) | p.masks.get(0), "range")
    except ZeroDivisionError:
        pass
    assert QGuiApplication.overrideCursor() is None


def test_save_and_reopen(qtbot, clip, tmp_path):
    p = Project()
    p.open_video(clip)
    p.set_range(1, 9)
    p.edit_mask(square_mask(), "range")
    p.set_engine_settings({**p.engine_settings, "neighbor_radius": 3})
    assert p.dirty
    path = p.save(tmp_path / "proj")
    assert path.suffix == ".sttnproj" and not p.dirty
    assert (tmp_path / "proj.masks.npz").exists()
    q = Project()
    q.load(path)
    assert (q.start, q.end) == (1, 9)
    assert q.masks.masked_frames() == list(range(1, 9))
    assert np.array_equal(q.masks.get(4), square_mask())
    assert q.engine_settings["neighbor_radius"] == 3
    assert not q.dirty


def test_masks_file_holds_each_blob_once_in_one_member_and_older_files_still_read(tmp_path):
    """A watermark painted on every frame of a long video is one blob in the file, and the frames
    share it again when reopened (read once per frame it took 5.4 s at 90,000 frames). All blobs
    sit end to end in one member (a zip member per blob: 0.8 s to save and 1.5 s to read at 20,000
    tracked frames, on the GUI thread at every autosave); files of the earlier layout still read."""
    import zipfile

    from app.core.masks import MaskStore
    from app.ui.project import read_mask_blobs, save_mask_blobs

    store = MaskStore(3000, 96, 64)
    store.set_many(range(3000), square_mask())
    store.set(7, square_mask(box=(0, 0, 8, 8)))
    save_mask_blobs(store, tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        assert sorted(z.namelist()) == ["data.npy", "frames.npy", "ids.npy", "offsets.npy", "size.npy"]
    (w, h), frames = read_mask_blobs(tmp_path / "m.npz")
    assert (w, h) == (96, 64) and sorted(frames) == list(range(3000))
    assert frames[0] is frames[2999] and frames[0] == store.blob(0) and frames[7] == store.blob(7)
    shared, own = store.blob(0), store.blob(7)
    np.savez(tmp_path / "old.npz", frames=np.arange(3000), ids=np.array([1 if i == 7 else 0 for i in range(3000)]),
             size=np.array([3000, 96, 64]), blob_0=np.frombuffer(shared, np.uint8), blob_1=np.frombuffer(own, np.uint8))
    (w, h), old = read_mask_blobs(tmp_path / "old.npz")
    assert old == frames and old[0] is old[2999]
    empty = MaskStore(5, 96, 64)
    save_mask_blobs(empty, tmp_path / "e.npz")
    assert read_mask_blobs(tmp_path / "e.npz") == ((96, 64), {})


def test_tracking_keyframes_and_flags_survive_save_and_reopen(qtbot, clip, tmp_path):
    import json

    p = Project()
    p.open_video(clip)
    p.keyframes.update({2, 7})
    p.flagged.update({5: "lost", 6: "fallback"})
    path = p.save(tmp_path / "track")
    q = Project()
    with qtbot.waitSignal(q.trackingChanged):
        q.load(path)
    assert q.keyframes == {2, 7} and q.flagged == {5: "lost", 6: "fallback"}
    assert not (tmp_path / "track.tracked.npz").exists()  # nothing tracked yet: no file
    # what the tracker added comes back too, so tracking again after a reopen still replaces it
    part = np.zeros((p.masks.height, p.masks.width), bool)
    part[10:20, 30:50] = True
    p.tracked.set(4, part)
    p.save(path)
    q.load(path)
    assert q.tracked.masked_frames() == [4] and np.array_equal(q.tracked.get(4), part)
    (tmp_path / "track.tracked.npz").write_bytes(b"not an npz")  # damaged: ignored, not a traceback
    q.load(path)
    assert q.tracked.masked_frames() == [] and q.keyframes == {2, 7}
    q.save(path)  # nothing tracked any more: the file goes
    assert not (tmp_path / "track.tracked.npz").exists()
    # A hand-edited or older file: entries that do not fit the video are dropped, no traceback.
    data = json.loads(path.read_text())
    data["tracking"] = {"keyframes": [1, 99, "x", -1], "flagged": {"3": "lost", "400": "lost", "a": "b"}}
    path.write_text(json.dumps(data))
    q.load(path)
    assert q.keyframes == {1} and q.flagged == {3: "lost"}
    del data["tracking"]
    path.write_text(json.dumps(data))
    q.load(path)
    assert q.keyframes == set() and q.flagged == {}
    # A new video starts with none.
    q.keyframes.add(4)
    q.open_video(clip)
    assert q.keyframes == set()


def test_autosave_writes_only_when_dirty(qtbot, clip, tmp_path):
    p = Project()
    p.open_video(clip)
    saver = Autosaver(p, tmp_path / "auto", interval_ms=50)
    assert saver.save_now() is None
    p.edit_mask(square_mask(), "frame")
    p.tracked.set(0, square_mask())  # as if the tracker had added it
    with qtbot.waitSignal(saver.saved, timeout=10_000):  # (written on a thread: a loaded machine is slow)
        pass
    assert saver.path.exists() and p.dirty  # an autosave does not count as saving
    q = Project()
    q.load(saver.path)
    assert q.masks.masked_frames() == [0] and q.tracked.masked_frames() == [0]
    saver.discard()
    assert list((tmp_path / "auto").iterdir()) == [saver.path.with_suffix(".lock")]  # project, masks, tracked: gone


def test_the_autosave_is_written_on_a_thread_and_reopens_as_the_project_was(qtbot, clip, tmp_path):
    import threading

    p = Project()
    p.open_video(clip)
    p.set_range(2, 9)
    p.edit_mask(square_mask(), "range")
    p.tracked.set(4, square_mask(box=(0, 0, 10, 10)))
    p.set_current(4)
    p.edit_mask(p.masks.get(4) | square_mask(box=(50, 5, 60, 15)), "frame", keyframe=True,
                new_object=square_mask(box=(50, 5, 60, 15)))
    saver = Autosaver(p, tmp_path / "auto", interval_ms=3_600_000)
    threads = []
    saver.saved.connect(lambda _: threads.append(threading.current_thread()))
    with qtbot.waitSignal(saver.saved, timeout=10_000) as saved:
        assert saver.save_now() == saver.path and saver.writing
    assert saved.args == [saver.path] and not saver.writing
    assert threads == [threading.main_thread()]  # ``saved`` comes on the GUI thread
    q = Project()
    q.load(saver.path)
    for store, other in ((p.masks, q.masks), (p.tracked, q.tracked)):
        assert store.masked_frames() == other.masked_frames()
        assert all(store.blob(i) == other.blob(i) for i in store.masked_frames())
    assert q.keyframes == {4} and (q.start, q.end) == (2, 9)
    assert [np.array_equal(a, b) for a, b in zip(q.objects_on(4), p.objects_on(4))] == [True]
    assert p.dirty  # an autosave does not count as saving


def held_autosave(monkeypatch, clip, tmp_path):
    """(writes held, project, its Autosaver, the paths ``saved`` gave): frame 0 masked and the first
    autosave under way, held (uihelpers.HeldWrites) until ``release``."""
    from uihelpers import HeldWrites

    held = HeldWrites(monkeypatch)
    p = Project()
    p.open_video(clip)
    p.edit_mask(square_mask(), "frame")
    saver = Autosaver(p, tmp_path / "auto", interval_ms=3_600_000)
    saved = []
    saver.saved.connect(saved.append)
    saver.save_now()
    assert held.entered.wait(10)
    return held, p, saver, saved


def test_an_edit_made_while_the_autosave_is_written_is_in_the_next_one(qtbot, clip, tmp_path, monkeypatch):
    """One write at a time: autosaves asked for meanwhile make one more write, once it ends."""
    held, p, saver, saved = held_autosave(monkeypatch, clip, tmp_path)
    p.set_current(5)
    p.edit_mask(square_mask(box=(60, 40, 70, 50)), "frame")  # while frame 0 alone is being written
    assert saver.save_now() == saver.path and saver.save_now() == saver.path
    held.release()
    qtbot.waitUntil(lambda: len(saved) == 2 and not saver.writing, timeout=10_000)
    qtbot.wait(50)
    assert held.frames == [[0], [0, 5]] and held.most == 1 and len(saved) == 2
    q = Project()
    q.load(saver.path)
    assert q.masks.masked_frames() == [0, 5]


def test_discard_while_the_autosave_is_written_leaves_no_file(qtbot, clip, tmp_path, monkeypatch):
    from uihelpers import HeldWrites

    held, p, saver, saved = held_autosave(monkeypatch, clip, tmp_path)
    saver.discard()  # saved meanwhile: the files go as soon as they are written
    held.release(after_s=0.2)
    assert saver.wait(10) and not saver.writing
    assert list((tmp_path / "auto").iterdir()) == [saver.path.with_suffix(".lock")] and saved == []
    # Discarded while written, then changed again: the next autosave is written after the deletion.
    held = HeldWrites(monkeypatch)
    saver.save_now()
    assert held.entered.wait(10)
    saver.discard()
    p.set_current(3)
    p.edit_mask(square_mask(), "frame")
    saver.save_now()
    held.release()
    assert saver.wait(10)
    q = Project()
    q.load(saver.path)
    assert q.masks.masked_frames() == [0, 3] and held.frames == [[0], [0, 3]]


def test_an_autosave_that_cannot_be_written_says_so_and_keeps_the_last_one(qtbot, clip, tmp_path, monkeypatch):
    """A folder that cannot be made, a disk full mid-write: ``failed`` with a message (never an
    exception into Qt), and the previous autosave still whole, with no temporary file left."""
    import errno

    import app.ui.project as project

    p = Project()
    p.open_video(clip)
    p.edit_mask(square_mask(), "frame")
    (tmp_path / "file").write_text("")
    saver = Autosaver(p, tmp_path / "file" / "auto", interval_ms=3_600_000)  # (a file where a folder must be)
    with qtbot.waitSignal(saver.failed, timeout=10_000) as failed:
        saver.save_now()
    assert str(tmp_path / "file" / "auto") in failed.args[0] and "File > Save" in failed.args[0]
    assert not saver.writing
    saver.folder = tmp_path / "auto"
    with qtbot.waitSignal(saver.saved, timeout=10_000):
        saver.save_now()
    p.set_current(5)
    p.edit_mask(square_mask(), "frame")
    files = sorted(f.name for f in (tmp_path / "auto").iterdir())
    assert len(files) == 3 and files[0] == "autosave.lock" and files[1].startswith("autosave.masks.")

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(project, "save_mask_blobs", full)
    with qtbot.waitSignal(saver.failed, timeout=10_000) as failed:
        saver.save_now()
    assert "No space left on device" in failed.args[0]
    assert sorted(f.name for f in (tmp_path / "auto").iterdir()) == files
    q = Project()
    q.load(saver.path)
    assert q.masks.masked_frames() == [0]


def test_save_now_holds_the_gui_thread_for_the_snapshot_only(qtbot, clip, tmp_path):
    """20,000 frames with a mask and a tracker's record of their own (2 KB blobs): the GUI thread
    takes the snapshot (references) and returns; the writing takes far longer, on the thread."""
    import gc
    import time

    from app.core.masks import MaskStore

    p = Project()
    p.open_video(clip)
    rng = np.random.default_rng(0)
    n = 20_000
    p.masks, p.tracked = MaskStore(n, 96, 64), MaskStore(n, 96, 64)
    for i in range(n):
        p.masks.set_blob(i, rng.bytes(2000))
        p.tracked.set_blob(i, rng.bytes(2000))
    p.mark_dirty()
    saver = Autosaver(p, tmp_path / "auto", interval_ms=3_600_000)
    gc.collect()  # (the 40,000 blobs just made leave a full collection due: not the autosave's time)
    # The GUI thread's own CPU time: the writer thread starts at once and, on a busy 2-core machine,
    # the wall clock also counts the GUI thread waiting for the interpreter lock it holds.
    # The least of three saves: a collection or a page fault on a loaded machine only ever adds time.
    guis = []
    for _ in range(3):
        p.mark_dirty()  # (a change each time: one not changed since is not written again)
        with qtbot.waitSignal(saver.saved, timeout=60_000):
            t0 = time.thread_time()
            saver.save_now()
            guis.append(time.thread_time() - t0)
    t0 = time.thread_time()
    p.save(tmp_path / "sync", mark_clean=False)  # the same files written here: what an autosave held before
    sync = time.thread_time() - t0
    assert min(guis) < sync / 4, (guis, sync)


def test_a_damaged_project_is_one_message_and_changes_nothing(qtbot, clip, tmp_path):
    """A damaged masks file, a project file of another shape: InpaintError naming the file, and
    the project that was open stays open with its masks."""
    import json

    import pytest

    from app.core.errors import InpaintError

    p = Project()
    p.open_video(clip)
    p.edit_mask(square_mask(), "frame")
    path = p.save(tmp_path / "proj")
    masks_file = tmp_path / "proj.masks.npz"
    good = masks_file.read_bytes()
    q = Project()
    q.open_video(clip)
    q.set_range(2, 5)
    for damaged in (b"", good[: len(good) // 2], b"PK\x03\x04 not a zip"):
        masks_file.write_bytes(damaged)
        with pytest.raises(InpaintError, match="proj.masks.npz.*damaged"):
            q.load(path)
        assert (q.start, q.end) == (2, 5) and q.path is None  # nothing of the damaged project was taken
    masks_file.write_bytes(good)
    for text in ("[1, 2]", json.dumps({"format": json.loads(path.read_text())["format"]})):
        other = tmp_path / "other.sttnproj"
        other.write_text(text)
        with pytest.raises(InpaintError, match="other.sttnproj"):
            q.load(other)
    q.load(path)
    assert np.array_equal(q.masks.get(0), square_mask())
