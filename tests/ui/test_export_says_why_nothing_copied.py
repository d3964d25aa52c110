"""Export with "Copy unchanged parts as they are" ticked (the default) on a file whose parts cannot be
copied (here H.264 in Matroska; also MPEG-4 in an AVI, a camera's MOV in another codec) encodes every
frame again. The dialog said no more than "Wrote …", as after a copy, the reason in the log alone; it
now says every frame was encoded, and why. Both exports: with no result yet, and from the result."""
from __future__ import annotations

from PySide6.QtCore import Qt

from uihelpers import square_mask


def export(window, qtbot, out):
    d = window.export_dialog_show()
    d.path_edit.setText(str(out))
    qtbot.mouseClick(d.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not d.running, timeout=120_000)
    text = d.status.text()
    d.close()
    return text


def test_the_dialog_says_why_no_part_was_copied(window, make_clip, qtbot, tmp_path, dialogs):
    clip = make_clip(n=12, name="clip.mkv")
    window.open_path(clip)
    p = window.project
    p.set_current(3)
    p.edit_mask(square_mask(), "range")  # (on every frame: Inpaint asks nothing first)
    assert window.export_dialog_show().copy_unchanged.isChecked()
    window.export_dialog.close()
    said = export(window, qtbot, tmp_path / "first.mp4")  # (no result yet: inpainted while writing)
    assert (tmp_path / "first.mp4").exists()
    assert said.startswith(f"Wrote {tmp_path / 'first.mp4'} (every frame encoded: the video is h264 in matroska"), said
    assert "not H.264 in an MP4 / MOV" in said
    with qtbot.waitSignal(window.controller.resultsReady, timeout=120_000):
        window.inpaint()
    said = export(window, qtbot, tmp_path / "second.mp4")  # (from the result)
    assert "(every frame encoded: the video is h264 in matroska" in said, said


def test_an_mp4_whose_every_part_holds_a_change_says_so(window, make_clip, qtbot, tmp_path):
    """A 12-frame clip is one GOP: the mask on its first frame leaves no part to copy, and the dialog
    says why (an export that copies says how many frames: test_export_copy.py)."""
    clip = make_clip(n=12)
    window.open_path(clip)
    window.project.edit_mask(square_mask(), "frame")
    said = export(window, qtbot, tmp_path / "out.mp4")
    assert said.endswith("(every frame encoded: every GOP holds a changed frame)"), said


def test_a_frame_folder_is_not_offered_a_copy_of_its_unchanged_parts(window, make_clip, qtbot, tmp_path):
    """bmx-trees (a folder of JPGs) exported with "Copy unchanged parts as they are" offered and ticked,
    and the dialog ended "Wrote …/bmx_out.mp4 (every frame encoded: not a video file)", which read as
    if the file written were not a video. A folder has no stream to copy from: the box is off and
    says why, the export says only where it wrote, and the user's choice for video files is kept."""
    import cv2

    from test_export_audit import panning

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(panning(6)):
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), f)
    window.open_path(folder)
    window.project.edit_mask(square_mask(), "range")
    d = window.export_dialog_show()
    assert not d.copy_unchanged.isEnabled() and not d.copy_unchanged.isChecked()
    assert "frame folder" in d.copy_unchanged.toolTip()
    d.close()
    out = tmp_path / "out.mp4"
    said = export(window, qtbot, out)
    assert out.exists() and said == f"Wrote {out}", said
    assert window.settings.copy_unchanged  # (still ticked for the next video file)
    window.open_path(make_clip(n=12))
    assert window.export_dialog_show().copy_unchanged.isChecked()
    window.export_dialog.close()
