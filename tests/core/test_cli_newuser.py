"""What a new user meets on the command line with their own files: a keyframe mask painted over
the whole frame, training settings mistyped on the command line or in a --config file, the
options that name outputs, folders given where a file belongs. Every input is a real file made
here (PyAV clips, PNG masks, torch checkpoints of tiny generators)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.cli import main
from app.core.video import write_test_clip
from conftest import make_frames

W, H = 96, 64


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
    return err[0]


def _write_mask(path: Path, mask: np.ndarray) -> Path:
    cv2.imwrite(str(path), mask.astype(np.uint8) * 255)
    return path


def test_a_keyframe_mask_over_the_whole_frame_is_one_line_before_tracking(tmp_path, capsys):
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(4, W, H))
    white = _write_mask(tmp_path / "white.png", np.ones((H, W), bool))
    out = tmp_path / "masks"
    assert main(["track", str(clip), "--keyframe", str(white), "-o", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "white.png" in line and "whole frame" in line
    assert not out.exists() and not list(tmp_path.glob(".masks.partial-*"))


def test_a_keyframe_mask_drawn_black_on_white_is_refused_as_inverted(tmp_path, capsys):
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(4, W, H))
    inverted = np.ones((H, W), bool)
    inverted[20:40, 30:60] = False  # the object left black, the rest painted
    path = _write_mask(tmp_path / "inv.png", inverted)
    assert main(["track", str(clip), "--keyframe", str(path), "-o", str(tmp_path / "masks")]) == 2
    assert "inverted" in _one_error_line(capsys)


def test_tracking_an_object_that_covers_the_whole_frame_does_not_crash():
    """The colour cue has no background to learn from then; the GUI can commit such a mask (a
    frame painted all over), so the core tracks it on its other cues instead of raising."""
    from app.core.segment import GrabCutSegmenter, track

    frames = make_frames(4, W, H)
    result = track(lambda i: frames[i], len(frames), {0: np.ones((H, W), bool)}, GrabCutSegmenter())
    assert len(result.flags) == len(frames)
    assert result.mask(0).all()
