"""Outputs in a folder no file can be made in are refused before the work, by a real try.

``os.access`` says yes to root under /proc (and on a file system mounted read-only), so `track --json
/proc/flags.json` tracked the whole clip and only then failed to write the file, `evaluate --json
/proc/e.json` scored every clip first, and `track -o /proc/masks` selected the object first. The tests
make ``os.access`` answer as it does for root, so they mean the same for any user."""
import os
import sys

import numpy as np
import pytest

from app.cli import main
from app.core.errors import OutputError
from app.core.fsutil import cannot_write_in, check_writable
from app.core.video import write_test_clip

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.isdir("/proc"),
                                reason="needs Linux's /proc, a folder in which no file can be made")


@pytest.fixture
def root_access(monkeypatch):
    """``os.access`` as root sees it: every existing folder writable, /proc included."""
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: os.path.exists(path))


@pytest.fixture
def clip(tmp_path):
    frames = [np.full((64, 96, 3), 90 + 10 * i, np.uint8) for i in range(6)]
    for i, f in enumerate(frames):
        f[20:40, 30 + 4 * i:50 + 4 * i] = (240, 120, 20)
    return write_test_clip(tmp_path / "clip.mp4", frames, fps=10)


def test_a_folder_no_file_can_be_made_in_is_refused(root_access, tmp_path):
    assert cannot_write_in("/proc") and cannot_write_in(tmp_path) == ""
    assert list(tmp_path.iterdir()) == []  # (the try leaves nothing)
    with pytest.raises(OutputError, match=r"Cannot write /proc/out\.mp4: folder /proc is not writable \("):
        check_writable("/proc/out.mp4")


def test_track_refuses_a_json_under_proc_before_tracking(root_access, clip, tmp_path, capsys, no_bundled_weights):
    out = tmp_path / "masks"
    assert main(["track", str(clip), "--click", "40,30", "-o", str(out), "--json", "/proc/flags.json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: Cannot write /proc/flags.json: folder /proc is not "), err
    assert not out.exists() and not list(tmp_path.glob(".masks*"))  # (nothing tracked, nothing left)


def test_track_refuses_an_output_folder_under_proc_before_selecting(root_access, clip, capsys, no_bundled_weights):
    assert main(["track", str(clip), "--click", "40,30", "-o", "/proc/masks"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[-1]] and err[0].startswith("error: Cannot create a folder in /proc ("), err


def test_evaluate_refuses_a_json_under_proc_before_scoring(root_access, clip, capsys):
    assert main(["evaluate", str(clip), "--method", "telea", "--json", "/proc/e.json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "", captured.out  # (no table: nothing was scored)
    assert captured.err.strip().startswith("error: Cannot write /proc/e.json: folder /proc is not "), captured.err
