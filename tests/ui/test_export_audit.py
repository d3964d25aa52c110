"""Audit probes: exporting the inpainted video from the window as a user meets it.

Each probe is the behaviour the user is owed; its docstring says what went wrong before the fix.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox

from app.core.video import write_test_clip
from test_audit_results import paint

GOP4 = {"x264-params": "keyint=4:min-keyint=4:scenecut=0"}


def panning(n=12, w=96, h=64):
    """A smooth scene moving two pixels a frame (x264 codes it as a camera's footage)."""
    import cv2

    scene = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (h, w + 2 * n, 3), dtype=np.uint8), (0, 0), 2)
    return [np.ascontiguousarray(scene[:, 2 * i:2 * i + w]) for i in range(n)]


def press_export(window, qtbot, out):
    """Export to ``out`` from a fresh dialog, as a user types the path; the dialog's last line."""
    d = window.export_dialog_show()
    d.path_edit.setText(str(out))
    d.export_button.click()
    qtbot.waitUntil(lambda: not d.running, timeout=60_000)
    text = d.status.text()
    d.close()
    return text


def test_an_existing_file_is_replaced_only_when_the_user_says_so(window, qtbot, tmp_path, dialogs, monkeypatch):
    """A path typed into the dialog, or the offered NAME_inpainted.mp4 left from an earlier export,
    that named a file already there was written over without a word."""
    src = write_test_clip(tmp_path / "clip.mp4", panning(), fps=12, audio=True, codec_options=GOP4)
    window.open_path(src)
    paint(window, 4, 8)
    mine = tmp_path / "mine.mp4"
    mine.write_bytes(b"a film of mine")
    dialogs.answer = QMessageBox.StandardButton.No
    assert press_export(window, qtbot, mine) == ""  # (nothing started)
    assert dialogs == [("question", "mine.mp4 already exists. Replace it?")]
    assert mine.read_bytes() == b"a film of mine"
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert press_export(window, qtbot, mine).startswith(f"Wrote {mine}") and len(dialogs) == 2
    # Browse's own dialog has asked already; the source is refused, never offered to replace
    d = window.export_dialog_show()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(mine), a[4] if len(a) > 4 else ""))
    d._browse()
    d.export_button.click()
    qtbot.waitUntil(lambda: not d.running, timeout=60_000)
    assert len(dialogs) == 2 and d.status.text().startswith("Wrote")
    d.path_edit.setText(str(src))
    d.export_button.click()
    assert not d.running and d.status.text().endswith("is the input file; choose another output path.")
    assert [k for k, _ in dialogs] == ["question", "question"]  # (said once, in the dialog's line)
    d.close()


def test_a_name_is_checked_before_the_export_starts(window, qtbot, tmp_path, dialogs):
    """A name without a suffix, .mkv, the source or a missing folder started the export, which then
    failed in the dialog's line and again in a message box; a name without a suffix was refused
    though a file dialog would have made it NAME.mp4."""
    src = write_test_clip(tmp_path / "clip.mp4", panning(), fps=12, codec_options=GOP4)
    window.open_path(src)
    paint(window, 4, 8)
    d = window.export_dialog_show()
    for name, said in ((tmp_path / "film.mkv", "film.mkv: exports are MP4 or QuickTime files; end the name with .mp4"),
                       (src, "is the input file; choose another output path."),
                       (tmp_path / "none" / "x.mp4", f"folder {tmp_path / 'none'} does not exist")):
        d.path_edit.setText(str(name))
        d.export_button.click()
        assert not d.running and said in d.status.text(), (name, d.status.text())
    assert dialogs == [] and not (tmp_path / "film.mkv").exists()
    d.close()
    assert press_export(window, qtbot, tmp_path / "film").startswith(f"Wrote {tmp_path / 'film.mp4'}")
    assert (tmp_path / "film.mp4").is_file() and not (tmp_path / "film").exists() and dialogs == []


def test_a_name_too_long_for_the_disk_says_so_in_one_line(window, qtbot, tmp_path, dialogs):
    """A 300-character name failed 'unexpectedly (OSError: [Errno 36] …)'; one of 240 characters
    failed too, though the disk takes it: the temporary file beside it carried the whole name and
    more, and the message said to choose another folder."""
    src = write_test_clip(tmp_path / "clip.mp4", panning(), fps=12, audio=True, codec_options=GOP4)
    window.open_path(src)
    paint(window, 4, 8)
    text = press_export(window, qtbot, tmp_path / ("a" * 300 + ".mp4"))
    assert text == f"Cannot write {'a' * 40}…: File name too long; choose a shorter name or another folder."
    out = tmp_path / ("b" * 240 + ".mp4")
    assert press_export(window, qtbot, out).startswith(f"Wrote {out}") and out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["clip.mp4", out.name, "settings", "userdata"])


def test_the_dialog_says_what_the_export_changes_besides_the_fill(window, qtbot, tmp_path, dialogs):
    """An odd-sized clip came out a pixel wider and taller, a 4:4:4 one with coarser colour, and a
    frame folder at 25 frames/s, and the dialog said none of it (only the README did)."""
    import cv2

    odd = write_test_clip(tmp_path / "odd.mp4", [f[:63, :95] for f in panning(6)], fps=12, pix_fmt="yuv444p")
    window.open_path(odd)
    d = window.export_dialog_show()
    assert d.summary.text().endswith(" This 95x63 video is written as 96x64, its edge repeated (H.264 needs even "
                                     "sizes). Its colour detail is finer than the export's (4:2:0): colour edges "
                                     "soften a little.")
    d.close()
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(panning(4)):
        cv2.imwrite(str(folder / f"f{i}.png"), f)
    window.open_path(folder)
    d = window.export_dialog_show()
    assert d.summary.text().endswith(" A frame folder has no frame rate: it is written at 25 frames/s.")
    d.close()
    window.open_path(write_test_clip(tmp_path / "plain.mp4", panning(4), fps=12))
    d = window.export_dialog_show()
    assert d.summary.text().endswith("paint what should go first.")  # (nothing to say)
    d.close()


def test_with_nothing_masked_the_dialog_says_the_export_is_a_copy(window, qtbot, tmp_path, dialogs):
    """With no mask in the range the dialog said 'Frames 0..11 are inpainted … Inpainting runs during
    the export', and the file it wrote was the video as it was."""
    window.open_path(write_test_clip(tmp_path / "clip.mp4", panning(), fps=12))
    d = window.export_dialog_show()
    assert d.summary.text() == "No frame of 0..11 has a mask: the export is the video as it is; paint what should go first."
    d.close()
    paint(window, 4, 8)
    d = window.export_dialog_show()
    assert d.summary.text().startswith("Frames 4..7 are inpainted, the others copied. Inpainting runs")
    d.close()


def test_an_open_dialog_follows_the_range_and_goes_with_its_video(window, qtbot, tmp_path, dialogs):
    """The dialog stays open beside the window; its summary kept what it said when opened (another
    range, masks painted since), and after File > Open of another video its Export wrote the new
    video under the old one's name (a_inpainted.mp4), its audio box still the old video's."""
    a = write_test_clip(tmp_path / "a.mp4", panning(), fps=12, audio=True)
    b = write_test_clip(tmp_path / "b.mp4", panning(8), fps=12)
    window.open_path(a)
    d = window.export_dialog_show()
    assert d.summary.text().startswith("No frame of 0..11 has a mask")
    paint(window, 4, 8)
    assert d.summary.text().startswith("Frames 4..7 are inpainted")
    window.project.set_range(2, 10)
    assert d.summary.text().startswith("Frames 2..9 are inpainted")
    window.open_path(b)
    qtbot.waitUntil(lambda: not d.isVisible(), timeout=5_000)
    d = window.export_dialog_show()
    assert d.path_edit.text() == str(tmp_path / "b_inpainted.mp4") and not d.keep_audio.isEnabled()
    d.close()


def test_a_bare_name_is_written_beside_the_offered_one(window, qtbot, tmp_path, dialogs, monkeypatch):
    """A name typed without a folder was written into the folder the app was started from (from a
    desktop launcher: the home folder or /), and the dialog said 'Wrote rel.mp4'."""
    window.open_path(write_test_clip(tmp_path / "a.mp4", panning(), fps=12, codec_options=GOP4))
    paint(window, 4, 8)
    started = tmp_path / "started_in"
    started.mkdir()
    monkeypatch.chdir(started)
    assert press_export(window, qtbot, " rel.mp4").startswith(f"Wrote {tmp_path / 'rel.mp4'}")
    assert not any(started.iterdir())


def test_an_export_that_fails_says_so_once_in_its_dialog(window, qtbot, tmp_path, dialogs, monkeypatch):
    """A failure during the export (here the file system refusing the output once the job runs) was
    said in the dialog's line and again in a message box over it."""
    import os

    window.open_path(write_test_clip(tmp_path / "clip.mp4", panning(), fps=12, codec_options=GOP4))
    paint(window, 4, 8)
    real = os.replace

    def refused(src, dst, *a, **k):
        if str(dst).endswith("out.mp4"):
            raise PermissionError(13, "Permission denied")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", refused)
    text = press_export(window, qtbot, tmp_path / "out.mp4")
    assert "Permission denied" in text and not (tmp_path / "out.mp4").exists(), text
    assert dialogs == []


def shown_whole(dialog) -> list:
    """The dialog's labels that show less than their text needs (wrapped ones for their width): too
    low, or a line too wide for the label."""
    cut = []
    for label in dialog.findChildren(QLabel):
        if not label.isVisible() or not label.text():
            continue
        need = label.heightForWidth(label.width()) if label.wordWrap() else label.sizeHint().height()
        if label.height() < need:
            cut.append((label.text()[:40], label.height(), need))
        elif not label.wordWrap() and label.width() < label.sizeHint().width():
            cut.append((label.text()[:40], label.width(), label.sizeHint().width()))
    return cut


def test_the_export_dialog_grows_with_its_summary_and_progress(window, clip, qtbot, dialogs):
    """The dialog kept the height it opened with: when its summary grew to more lines (it follows the
    range and masks while open) and when Export showed the progress bar and status line, the form gave
    way and the two hint lines under Encoder speed were cut to half a line."""
    window.open_path(clip)
    d = window.export_dialog_show()
    qtbot.waitExposed(d)
    assert shown_whole(d) == []
    d.summarize = lambda _: "A summary long enough to wrap to several lines in the dialog. " * 6
    d.refresh_summary()
    qtbot.wait(20)
    assert shown_whole(d) == []
    d.job_started()
    qtbot.wait(20)
    assert shown_whole(d) == []
    d.job_ended("Wrote out.mp4", True)
    qtbot.wait(20)
    assert shown_whole(d) == []
    # (the line was cut at the dialog's edge: 'Wrote /tmp/…/running_car_clean.mp4 (259 of 292 frames copied as they we')
    d.job_ended("Wrote /home/someone/Videos/client work/2026-11 rally/exports/running_car_clean.mp4 "
                "(259 of 292 frames copied as they were)", True)
    qtbot.wait(20)
    assert shown_whole(d) == [] and d.width() <= 620
    d.close()
