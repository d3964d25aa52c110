"""An autosave writes only what changed since the one before it in its slot: every autosave used to
rewrite every file whole (106 MB at 20,000 tracked 1080p frames, while the brush changed one frame's
mask). Now a file unchanged since (the tracker's record while one paints, the objects) is named again
by the new project file, and of the masks only the frames changed since their whole file go to a
small delta file, which recovery applies. Each file gets a name of its own and the project file is
renamed last, so a write cut short anywhere leaves the files of one whole autosave."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import app.core.fsutil as fsutil
import app.ui.project as project
from app.ui.project import Autosaver, Project, mask_digest, project_masks
from uihelpers import square_mask


def digests(store) -> dict:
    return {i: mask_digest(store.blob(i)) for i in store.masked_frames()}


def listing(folder: Path) -> list[str]:
    return sorted(f.name for f in folder.iterdir() if not f.name.endswith(".lock"))


def named(path: Path) -> dict:
    """The files project file ``path`` names beside it: {key: name}."""
    data = json.loads(path.read_text())
    tracking = data.get("tracking", {})
    found = {"masks": data.get("masks"), "masks_delta": data.get("masks_delta"),
             "tracked": tracking.get("tracked"), "tracked_delta": tracking.get("tracked_delta"),
             "objects": tracking.get("objects")}
    return {k: v for k, v in found.items() if v}


@pytest.fixture
def tracked_project(clip):
    """A project whose every frame has a mask and a tracker's record of its own (as after Track)."""
    p = Project()
    p.open_video(clip)
    for i in range(p.n_frames):
        box = (10 + 2 * i, 8, 40 + 2 * i, 30)
        p.masks.set(i, square_mask(box=box))
        p.tracked.set(i, square_mask(box=box))
    p.mark_dirty()
    return p


def autosave(qtbot, saver) -> Path:
    with qtbot.waitSignal(saver.saved, timeout=10_000) as saved:
        assert saver.save_now() is not None
    return Path(saved.args[0])


def written_files(monkeypatch) -> list[str]:
    """The names of the files each autosave from now on writes (their temporary files' targets)."""
    out: list[str] = []
    real = fsutil.atomic_path

    def noting(path, *a, **k):
        out.append(Path(path).name)
        return real(path, *a, **k)
    monkeypatch.setattr(project, "atomic_path", noting)
    return out


def test_painting_on_a_tracked_project_writes_the_project_file_and_a_delta_only(qtbot, tracked_project, tmp_path,
                                                                              monkeypatch):
    """A stroke on frame 2 (a correction: the tracker's record of the frame goes), frame 4 cleared,
    a stroke on frame 7 undone, a new range, each autosaved: neither whole file (masks, tracker's
    record) is written again: each autosave writes its project file and the small delta of each
    that changed (none for the range), and a recovery after each brings back exactly the masks and
    the tracker's record of that moment."""
    p = tracked_project
    saver = Autosaver(p, tmp_path / "auto", interval_ms=3_600_000)
    path = autosave(qtbot, saver)
    first = named(path)
    assert set(first) == {"masks", "tracked"}
    writes = written_files(monkeypatch)
    delta_sizes = []
    for step in ("paint 2", "clear 4", "paint 7", "undo", "range"):
        if step == "undo":
            p.undo.undo()
        elif step == "range":
            p.set_range(2, 9)
        elif step.startswith("paint"):
            p.set_current(int(step[-1]))
            p.edit_mask(square_mask(box=(60, 40, 90, 60)), "frame")
        else:
            p.set_current(4)
            p.clear_masks("frame")
        before = len(writes)
        assert autosave(qtbot, saver) == path
        now = named(path)
        assert now["masks"] == first["masks"] and now["tracked"] == first["tracked"]
        deltas = [now["masks_delta"], now["tracked_delta"]]
        assert sorted(writes[before:]) == sorted([path.name] + ([] if step == "range" else deltas))
        assert listing(path.parent) == sorted({path.name, *now.values()})  # (the deltas before them went)
        delta_sizes += [(path.parent / name).stat().st_size for name in deltas]
        q = Project()
        q.load(path)
        assert digests(q.masks) == digests(p.masks) and digests(q.tracked) == digests(p.tracked)
        assert (q.start, q.end) == (p.start, p.end)
    assert 4 not in p.masks.masked_frames() and 4 not in q.masks.masked_frames()  # (a cleared frame stays so)
    whole = (path.parent / first["masks"]).stat().st_size
    assert max(delta_sizes) < whole  # (a few frames, not all 12)
    saver.discard()
    assert listing(path.parent) == []


def test_an_autosave_cut_short_before_its_project_file_leaves_the_one_before_whole(qtbot, tracked_project, tmp_path,
                                                                                 monkeypatch):
    """The files of an autosave are all in place but its project file is not (a kill or a full disk
    just then): the folder holds the autosave before it, whole, and a recovery brings back its masks,
    not a mix; this for a delta and for a whole rewrite of the masks (the delta grown too large).
    The next autosave writes the work and sweeps the files left over."""
    p = tracked_project
    saver = Autosaver(p, tmp_path / "auto", interval_ms=3_600_000)
    path = autosave(qtbot, saver)
    p.set_current(3)
    p.edit_mask(square_mask(box=(60, 40, 90, 60)), "frame")
    autosave(qtbot, saver)
    good = (digests(p.masks), digests(p.tracked))
    real_replace = os.replace

    def cut(src, dst, *a, **k):
        if str(dst).endswith(project.PROJECT_SUFFIX):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *a, **k)

    for whole in (False, True):
        if whole:  # (any change outweighs the delta's share: the masks are written whole)
            monkeypatch.setattr(project, "DELTA_SHARE", 0)
            monkeypatch.setattr(project, "DELTA_SLACK", 0)
        was = named(path)
        p.set_current(5 if whole else 6)
        p.edit_mask(square_mask(box=(0, 0, 30, 20)), "frame")
        monkeypatch.setattr(fsutil.os, "replace", cut)
        with qtbot.waitSignal(saver.failed, timeout=10_000) as failed:
            saver.save_now()
        monkeypatch.setattr(fsutil.os, "replace", real_replace)
        assert "No space left on device" in failed.args[0]
        left = set(listing(path.parent)) - set(was.values()) - {path.name}
        # (its new masks and tracker's record, renamed into place, named by no project file)
        assert sorted(n.split(".")[1] for n in left) == ["masks", "tracked"]
        assert [".delta." in n for n in left if ".masks." in n] == [not whole]
        assert named(path) == was
        q = Project()
        q.load(path)
        assert (digests(q.masks), digests(q.tracked)) == good  # (the autosave before, not a mix)
        autosave(qtbot, saver)
        good = (digests(p.masks), digests(p.tracked))
        q = Project()
        q.load(path)
        assert (digests(q.masks), digests(q.tracked)) == good
        assert listing(path.parent) == sorted({path.name, *named(path).values()})
    assert named(path)["masks"] != was["masks"] and "masks_delta" not in named(path)
    saver.discard()


def test_a_delta_grown_past_its_share_is_folded_into_a_new_whole_file(qtbot, tracked_project, tmp_path, monkeypatch):
    """The delta holds every frame changed since the masks were last written whole; once it weighs
    more than its share of them the masks are written whole again (a new file), and the old file
    and delta go. A tracking run (the tracker's record changed) writes that file again too."""
    monkeypatch.setattr(project, "DELTA_SLACK", 0)
    p = tracked_project
    saver = Autosaver(p, tmp_path / "auto", interval_ms=3_600_000)
    path = autosave(qtbot, saver)
    whole = sum(len(p.masks.blob(i)) for i in p.masks.masked_frames())
    bases = [named(path)["masks"]]
    for i in range(1, 5):
        p.set_current(i)
        p.edit_mask(square_mask(box=(60, 40, 90, 60)), "frame")
        if i == 1:  # (the frames painted weigh alike: two fit, not three)
            monkeypatch.setattr(project, "DELTA_SHARE", 2.5 * len(p.masks.blob(1)) / whole)
        autosave(qtbot, saver)
        bases.append(named(path)["masks"])
    assert bases[0] == bases[1] == bases[2] != bases[3] == bases[4]  # (frames 1, 2 as a delta; then whole)
    assert "masks_delta" not in named(path) or bases[4] == bases[3]
    tracked_before = named(path)["tracked"]
    p.tracked.set(0, square_mask(box=(0, 0, 10, 10)))
    p.mark_dirty()
    autosave(qtbot, saver)
    assert named(path)["tracked"] != tracked_before or "tracked_delta" in named(path)
    q = Project()
    q.load(path)
    assert digests(q.masks) == digests(p.masks) and digests(q.tracked) == digests(p.tracked)
    assert listing(path.parent) == sorted({path.name, *named(path).values()})
    saver.discard()


def test_file_save_after_autosaves_writes_a_whole_project_of_its_own(qtbot, tracked_project, tmp_path):
    """File > Save writes every file whole under the project's own names, naming no delta, whatever
    the autosaves wrote; it opens with the autosave folder gone."""
    p = tracked_project
    saver = Autosaver(p, tmp_path / "auto", interval_ms=3_600_000)
    autosave(qtbot, saver)
    p.set_current(2)
    p.edit_mask(square_mask(box=(60, 40, 90, 60)), "frame")
    assert "masks_delta" in named(autosave(qtbot, saver))
    work = p.save(tmp_path / "work.sttnproj")
    saver.discard()
    (tmp_path / "auto").rename(tmp_path / "gone")
    assert named(work) == {"masks": "work.masks.npz", "tracked": "work.tracked.npz"}
    q = Project()
    q.load(work)
    assert digests(q.masks) == digests(p.masks) and digests(q.tracked) == digests(p.tracked)


def test_an_autosave_written_by_the_version_before_still_opens_and_is_carried_on(qtbot, tracked_project, tmp_path):
    """An autosave of the version before (``autosave.masks.npz`` and the like, no delta) left by a
    crash: recovered, it opens with its masks; the next autosave of the session that adopted it
    writes the new way and its old files go, the recovered work kept."""
    p = tracked_project
    folder = tmp_path / "auto"
    folder.mkdir()
    old = project.write_snapshot(p.snapshot(past_end=True, origin=True), folder / "autosave.sttnproj")
    assert listing(folder) == ["autosave.masks.npz", "autosave.sttnproj", "autosave.tracked.npz"]
    saver = Autosaver(Project(), folder, interval_ms=3_600_000)
    (found, lock), = saver.orphans()
    assert found == old
    q = Project()
    q.load(found)
    assert digests(q.masks) == digests(p.masks) and digests(q.tracked) == digests(p.tracked)
    assert project_masks(found).keys() == set(p.masks.masked_frames())
    saver.release()
    saver = Autosaver(q, folder, interval_ms=3_600_000)
    saver.adopt(found, lock)
    q.set_current(1)
    q.edit_mask(square_mask(box=(60, 40, 90, 60)), "frame")
    assert autosave(qtbot, saver) == found
    assert "autosave.masks.npz" not in listing(folder) and "autosave.tracked.npz" not in listing(folder)
    r = Project()
    r.load(found)
    assert digests(r.masks) == digests(q.masks) and digests(r.tracked) == digests(q.tracked)
    saver.discard()
