"""Audit probes: is the inpainted result a user compares and exports always the right one?

Each probe is written as the behaviour the user is owed; each names, in its docstring, what went
wrong before the fix (a stale result shown as current, original frames exported as the result).
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QTimer

from app.core import cache
from app.core.sttn import GeneratorConfig, InpaintGenerator, save_generator
from app.core.video import open_video, write_test_clip
from uihelpers import square_mask

#: the tests' tiny generator (tests/ui/conftest.py)
TINY = GeneratorConfig(channels=32, blocks=1, patch_sizes=((27, 15), (9, 5)), width=108, height=60)


def paint(window, start, end, fill="telea"):
    p = window.project
    p.set_range(start, end)
    p.set_current(start)
    p.edit_mask(square_mask(), "range")
    p.set_engine_settings({**p.engine_settings, "fill": fill})
    return p, window.controller


def run_inpaint(window, qtbot):
    with qtbot.waitSignal(window.controller.engine.finished, timeout=60_000):
        assert window.controller.inpaint() is not None


def export(window, qtbot, out):
    dialog = window.export_dialog_show()
    summary = dialog.summary.text()
    dialog.path_edit.setText(str(out))
    with qtbot.waitSignal(window.controller.exportFinished, timeout=60_000):
        dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    dialog.close()
    return summary


def masked_diff(out, src, frames):
    """Mean absolute difference inside the square, per frame, between two videos."""
    with open_video(out) as r, open_video(src) as s:
        return [float(np.abs(r[i].astype(int) - s[i].astype(int))[square_mask()].mean()) for i in frames]


# --- 1. weights ---------------------------------------------------------------------------------

def test_other_weights_make_the_result_out_of_date(window, clip, qtbot, tmp_path):
    """Settings > General > Weights (or Fine-tune's *Use these weights*) after Inpaint: the result was
    made by the old network, so the compare view must say so and Export must inpaint again."""
    window.open_path(clip)
    p, c = paint(window, 0, 6, fill="sttn")
    run_inpaint(window, qtbot)
    before = p.results.get(3)
    torch.manual_seed(1)
    other = tmp_path / "other.pth"
    save_generator(InpaintGenerator(TINY), other)
    window.settings.weights = str(other)  # what SettingsDialog.accept / FinetunePage's button do
    p.set_current(3)
    stale_note, summary = window.result_view.note, window.export_summary(False)
    run_inpaint(window, qtbot)  # what the new weights give
    assert not np.array_equal(before, p.results.get(3))  # (so the earlier result was stale)
    assert "changed" in stale_note and "re-encoded" not in summary, (stale_note, summary)


def test_other_weights_outdate_a_preview_but_not_a_result_that_used_none(window, clip, qtbot, tmp_path):
    """Telea uses no weights: its result stays current when they change; an STTN preview does not."""
    window.open_path(clip)
    p, c = paint(window, 0, 6)  # telea
    run_inpaint(window, qtbot)
    p.set_current(5)
    p.set_engine_settings({**p.engine_settings, "fill": "sttn"})
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        assert c.preview() is not None
    assert not p.result_outdated(5)
    torch.manual_seed(2)
    save_generator(InpaintGenerator(TINY), tmp_path / "other.pth")
    window.settings.weights = str(tmp_path / "other.pth")
    assert p.result_outdated(5)  # (the same settings, other weights)
    p.set_engine_settings({**p.engine_settings, "fill": "telea"})
    assert not p.result_outdated(3) and not p.results_outdated(0, 5)
    p.set_range(0, 5)
    assert c.result_is_current(c.engine_config())


# --- 2. result PNGs deleted under the window --------------------------------------------------

@pytest.mark.parametrize("how", ["cache-clear-cli", "other-window-clear-cache", "other-window-trim", "by-hand"])
def test_result_files_deleted_elsewhere_are_never_exported_as_the_original(window, clip, qtbot, tmp_path, how,
                                                                          settings):
    """`sttn-inpaint cache clear` in a terminal, or a second window's cache trim (it keeps only its own
    results folder), deleted this window's result PNGs; Export said "The computed result is
    re-encoded" and wrote the source frames, object and all, where the PNGs had gone. Now the
    window holds its results folder (``cache.Hold``), which they leave alone; PNGs deleted all the
    same (by hand) are inpainted again."""
    import subprocess
    import sys

    window.open_path(clip)
    p, c = paint(window, 0, 6)
    run_inpaint(window, qtbot)
    p.set_current(0)  # (the frame shown is read; the others are not looked at)
    if how == "cache-clear-cli":  # (another process)
        done = subprocess.run([sys.executable, "-m", "app.cli", "cache", "clear"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    elif how == "other-window-clear-cache":
        from app.ui.main_window import MainWindow

        second = MainWindow(settings)  # a second window (Settings > Storage > Clear cache)
        qtbot.addWidget(second)
        assert second.controller.clear_cache().in_use == 2  # (keeps its own results folder, and this one's)
        second.close()
    elif how == "other-window-trim":  # a second window's trim after its Inpaint, the cache over its limit
        cache.enforce_limit(1, keep=[tmp_path / "another-window-results"], grace_s=0)
    else:
        for png in p.results.folder.glob("*.png"):
            png.unlink()
    kept = how != "by-hand"
    assert len(list(p.results.folder.glob("*.png"))) == (6 if kept else 0)
    summary = export(window, qtbot, tmp_path / "out.mp4")
    diff = masked_diff(tmp_path / "out.mp4", clip, range(6))
    assert min(diff) > 10, f"frames exported unchanged inside the mask: {diff}; the dialog said {summary!r}"
    assert ("re-encoded" in summary) == kept, summary


def test_a_result_file_deleted_while_export_reads_fails_the_export(window, clip, qtbot, tmp_path, monkeypatch):
    """Between the check and the read (a file deleted by hand during the export): one line, no file
    of original frames."""
    from app.ui import controller

    window.open_path(clip)
    p, c = paint(window, 0, 6)
    run_inpaint(window, qtbot)
    real = controller.export_results_job

    def deleting(*a, **k):
        fn = real(*a, **k)
        return lambda *b: ((p.results.folder / "000003.png").unlink(), fn(*b))[1]

    monkeypatch.setattr(controller, "export_results_job", deleting)
    out = tmp_path / "out.mp4"
    with qtbot.waitSignal(c.engine.failed, timeout=60_000) as blocker:
        assert c.export(controller.ExportOptions(out, preset="ultrafast")) is not None
    assert "frame 3 is gone" in blocker.args[1] and "export again" in blocker.args[1] and not out.exists()
    assert not c.result_is_current(c.engine_config())  # (the next Export inpaints again)


# --- 3. a job of the old video landing on the new one ---------------------------------------

def test_an_inpaint_of_the_old_video_never_shows_on_the_new_one(window, clip, qtbot, tmp_path, monkeypatch, dialogs):
    """Open a second video (indexing runs on a worker, the window stays live) and press Ctrl+Enter
    meanwhile: the Inpaint of the first video was allowed, its frames arrived after the switch, and
    once the same square was painted on the new video they counted as its up-to-date result. Now
    Inpaint, Preview and Export are off while a video opens, and the controller refuses them."""
    from app.ui import frames, workers

    other = tmp_path / "other.mp4"
    write_test_clip(other, [np.full((64, 96, 3), (20 * k) % 255, np.uint8) for k in range(12)], fps=12)
    window.open_path(clip)
    p, c = paint(window, 0, 6)
    slow_open, slow_fill = frames.open_with_first_frame, workers.fill_range
    held = threading.Event()  # (the open is held until the press: a loaded machine cannot end it first)
    monkeypatch.setattr(frames, "open_with_first_frame", lambda *a: (held.wait(30), slow_open(*a))[1])
    monkeypatch.setattr(workers, "fill_range", lambda *a, **k: (time.sleep(1.0), slow_fill(*a, **k))[1])
    pressed = []

    def press():  # Ctrl+Enter, and what it would run were the action on
        pressed.append([a.isEnabled() for a in (window.inpaint_action, window.preview_action, window.export_action)])
        window.inpaint_action.trigger()
        pressed.append((c.inpaint(), c.preview(), c.engine.busy))
        held.set()

    QTimer.singleShot(100, press)
    assert window.open_path(other)
    assert pressed == [[False] * 3, (None, None, False)], pressed
    assert window.notice.text().startswith("Another video is being opened; wait") and "critical" not in dict(dialogs)
    assert all(a.isEnabled() for a in (window.inpaint_action, window.preview_action, window.export_action))
    assert p.video_path.name == "other.mp4"
    landed = p.results.indices()
    paint(window, 0, 6)  # the same square and fill on the new video
    p.set_current(3)
    assert not landed and not c.result_is_current(c.engine_config()) and window.result_view.result_rgb is None


def test_a_job_of_a_video_closed_under_it_stops_and_leaves_nothing(window, clip, qtbot, tmp_path, monkeypatch):
    """The window never lets it happen; should a video change under a running Inpaint all the same
    (Project.open_video called directly), its frames go to the old video's results, which stop it."""
    from app.ui import workers

    other = tmp_path / "other.mp4"
    write_test_clip(other, [np.full((64, 96, 3), 128, np.uint8) for _ in range(12)], fps=12)
    window.open_path(clip)
    p, c = paint(window, 0, 6)
    slow_fill = workers.fill_range
    monkeypatch.setattr(workers, "fill_range", lambda *a, **k: (time.sleep(0.5), slow_fill(*a, **k))[1])
    old = p.results.folder
    ready, messages = [], []
    c.resultsReady.connect(ready.append)
    c.message.connect(messages.append)
    with qtbot.waitSignal(c.engine.cancelled, timeout=60_000):
        c.inpaint()
        p.open_video(other)
    assert p.results.indices() == [] and not ready and not old.exists(), (p.results.indices(), ready)
    assert messages[-1] == "Inpaint stopped: another video was opened."


# --- 4. a full disk while results are written -----------------------------------------------

@pytest.mark.parametrize("how", ["disk-full", "encoder-fails"])
def test_a_full_cache_folder_is_said_as_such(window, clip, qtbot, dialogs, monkeypatch, how):
    """cv2.imwrite returned False and left no file when the disk was full (checked under
    RLIMIT_FSIZE); ResultCache.put ignored that and os.replace failed on the missing temp file:
    "Inpaint failed unexpectedly (FileNotFoundError ...)". The frames already there stay."""
    import errno

    from app.ui import results

    window.open_path(clip)
    p, c = paint(window, 0, 6)
    run_inpaint(window, qtbot)
    before = p.results.get(2)
    p.set_engine_settings({**p.engine_settings, "dilate": p.engine_settings["dilate"] + 2})

    def full(path, data):
        open(path, "wb").close()  # (a file begun, then the disk is full)
        raise OSError(errno.ENOSPC, "No space left on device")

    if how == "disk-full":
        monkeypatch.setattr(results, "_write_file", full)
    else:
        monkeypatch.setattr(results.cv2, "imencode", lambda *a, **k: (False, None))
    with qtbot.waitSignal(c.engine.failed, timeout=60_000) as blocker:
        c.inpaint()
    message = blocker.args[1]
    assert "unexpectedly" not in message and "free space" in message and str(p.results.folder) in message, message
    assert "\n" not in message and not list(p.results.folder.glob(".*tmp*"))
    assert np.array_equal(p.results.get(2), before) and p.result_outdated(2)


# --- 5. what is right today (kept as checks) ----------------------------------------------------

def test_notes_at_the_ends_outside_the_range_and_on_a_frame_without_result(window, clip, qtbot):
    window.open_path(clip)
    p, c = paint(window, 2, 8)
    run_inpaint(window, qtbot)
    notes = {}
    for mode in ("side", "split"):
        window.compare.set_mode(mode)
        for i in (0, 2, 7, 8, 11):
            p.set_current(i)
            notes[mode, i] = (window.result_view.note, window.result_view.result_rgb is not None)
    for mode in ("side", "split"):
        assert notes[mode, 2] == ("", True) and notes[mode, 7] == ("", True)
        for i in (0, 8, 11):
            assert "outside the in/out range" in notes[mode, i][0] and not notes[mode, i][1]
    p.set_range(0, 12)
    p.set_current(11)
    assert window.result_view.note.startswith("No result for this frame yet")


def test_an_edit_outside_a_results_span_leaves_it_current_and_undo_redo_follow(window, clip, qtbot):
    window.open_path(clip)
    p, c = paint(window, 2, 8, fill="sttn")
    run_inpaint(window, qtbot)
    p.set_current(10)  # outside the range: Inpaint did not read it
    p.edit_mask(square_mask(), "frame")
    assert not p.results_outdated(2, 8) and c.result_is_current(c.engine_config())
    p.set_current(7)  # erase on the last frame: every frame of the run is out of date (conservative)
    p.edit_mask(np.zeros((64, 96), bool), "frame")
    p.set_current(2)
    assert all(p.result_outdated(i) for i in range(2, 8)) and "changed" in window.result_view.note
    p.undo.undo()
    assert not p.results_outdated(2, 8)
    p.undo.redo()
    assert p.results_outdated(2, 8) and not c.result_is_current(c.engine_config())


def test_results_are_dropped_when_the_window_closes(window, clip, qtbot, tmp_path, settings):
    from app.ui.main_window import MainWindow

    window.open_path(clip)
    p, c = paint(window, 0, 6)
    run_inpaint(window, qtbot)
    window.project.save(tmp_path / "work.sttnproj")
    folder = p.results.folder
    window.close()
    assert not folder.exists()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.open_path(tmp_path / "work.sttnproj")
    again.compare.set_mode("side")
    assert len(again.project.results) == 0 and again.result_view.note.startswith("No result")
    again.close()


# --- 6. smaller points ------------------------------------------------------------------------

def test_the_note_on_a_frame_not_reached_yet_while_inpaint_runs(window, clip, qtbot, monkeypatch):
    from app.ui import workers

    window.open_path(clip)
    p, c = paint(window, 0, 12)
    window.compare.set_mode("side")
    real = workers.fill_range
    monkeypatch.setattr(workers, "fill_range", lambda *a, **k: (time.sleep(0.5), real(*a, **k))[1])
    with qtbot.waitSignal(c.engine.finished, timeout=60_000):
        c.inpaint()
        p.set_current(11)
        note, enabled = window.result_view.note, window.inpaint_action.isEnabled()
    assert not enabled and note.startswith("Being inpainted"), note
    assert window.result_view.note == "" and window.result_view.result_rgb is not None  # (reached, and done)


def test_the_compare_view_and_export_agree_after_a_device_change(window, clip, qtbot):
    window.open_path(clip)
    p, c = paint(window, 0, 6)
    run_inpaint(window, qtbot)
    window.settings.device = "auto"  # was "cpu" (on this machine the same device)
    p.set_current(3)
    note, summary = window.result_view.note, window.export_summary(False)
    assert ("changed" in note) == ("Inpainting runs" in summary), (note, summary)


def test_an_export_started_while_another_video_opens_is_refused(window, clip, qtbot, tmp_path, monkeypatch,
                                                                 dialogs):
    """It was let start; the open cleared the ResultCache the export read, so it wrote the original
    frames and said "Exported"."""
    from app.ui import frames
    from app.ui.controller import ExportOptions

    other = tmp_path / "other.mp4"
    write_test_clip(other, [np.full((64, 96, 3), 128, np.uint8) for _ in range(12)], fps=12)
    window.open_path(clip)
    p, c = paint(window, 0, 6)
    run_inpaint(window, qtbot)
    assert c.result_is_current(c.engine_config())
    slow_open = frames.open_with_first_frame
    held = threading.Event()  # (the open is held until the export is asked for: a loaded machine cannot end it first)
    monkeypatch.setattr(frames, "open_with_first_frame", lambda *a: (held.wait(30), slow_open(*a))[1])
    out = tmp_path / "out.mp4"
    started = []
    QTimer.singleShot(100, lambda: (started.append(c.export(ExportOptions(out, preset="ultrafast"))), held.set()))
    assert window.open_path(other)
    assert started == [None] and not out.exists() and not c.engine.busy
    assert window.notice.text().startswith("Another video is being opened; wait") and "critical" not in dict(dialogs)


def test_a_frame_whose_mask_was_cleared_says_export_leaves_it_as_it_is(window, clip, qtbot, tmp_path):
    """Mask > Clear on a frame after Inpaint: the compare view said 'Masks, settings or weights changed
    since this result: press Inpaint to update it', and with no mask left in the range Inpaint then
    refused ('No frame in the range has a mask'). It says the frame has no mask now and Export leaves
    it as it is, which the export bears out; a frame whose mask was only changed still says to Inpaint."""
    window.open_path(clip)
    p, c = paint(window, 2, 8)
    run_inpaint(window, qtbot)
    window.compare.set_mode("side")
    p.set_current(4)
    window.tools.set_scope("frame")
    window.tools.clear_action.trigger()
    assert window.result_view.note == ("This frame has no mask now: Export leaves it as it is (the result shown is "
                                       "of the mask it had).")
    p.set_current(5)
    smaller = square_mask()
    smaller[:, :30] = False
    p.edit_mask(smaller, "frame")
    assert window.result_view.note.startswith("Masks, settings or weights changed since this result")
    export(window, qtbot, tmp_path / "out.mp4")
    src = window.project.video_path
    cleared, kept = masked_diff(tmp_path / "out.mp4", src, [4, 3])
    assert cleared < kept / 5  # (frame 4 as it is, up to the encoding: 2.6 against 74 for inpainted frame 3)
