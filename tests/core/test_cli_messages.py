"""Lesser command-line messages: each says what to do, in one line, before any work."""
import os
from pathlib import Path

import pytest
from test_cli_safety import disc  # noqa: F401 - the small moving-disc clip fixture

from app.cli import main


def only_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    return err[0]


def test_track_summary_ends_with_a_pasteable_command(disc, tmp_path, capsys):
    out = tmp_path / "masks"
    assert main(["track", str(disc), "--click", "20,24", "-o", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"Next: python main.py inpaint {disc} --mask {out} --dilate 8 -o OUTPUT.mp4", last


def test_track_summary_over_a_range_inpaints_that_range(disc, tmp_path, capsys):
    """The masks outside --start/--end are empty: the command to paste inpaints only the frames tracked."""
    out = tmp_path / "masks"
    assert main(["track", str(disc), "--click", "20,24,1", "--start", "1", "--end", "3", "-o", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"Next: python main.py inpaint {disc} --mask {out} --start 1 --end 3 --dilate 8 -o OUTPUT.mp4", last


def test_clicks_outside_the_range_say_how_to_give_a_frame(disc, tmp_path, capsys):
    assert main(["track", str(disc), "--click", "20,24", "--start", "2", "-o", str(tmp_path / "m")]) == 2
    line = only_error(capsys)
    assert "X,Y,FRAME" in line and "--frame" in line and "2..3" in line, line


def test_sam_folder_is_not_called_missing(disc, tmp_path, capsys):
    assert main(["track", str(disc), "--click", "20,24", "--sam", str(tmp_path), "-o", str(tmp_path / "m")]) == 2
    line = only_error(capsys)
    assert "is a folder" in line and "does not exist" not in line, line


def test_download_sam_checks_url_and_dest_before_downloading(tmp_path, capsys):
    assert main(["download-sam", "--url", "127.0.0.1:8765/x.pth", "--dest", str(tmp_path)]) == 2
    assert "needs http:// or https://" in only_error(capsys)
    f = tmp_path / "file"
    f.write_text("mine")
    assert main(["download-sam", "--dest", str(f), "--url", "http://127.0.0.1:9/x.pth"]) == 2
    assert "is a file" in only_error(capsys)
    assert f.read_text() == "mine"


def test_cpu_note_comes_after_the_input_checks(disc, tmp_path, capsys):
    """With the bundled weights on a CPU, `--fill auto` notes its choice; a bad input is still one line."""
    from app.core import paths

    if paths.default_weights() is None:
        pytest.skip("no bundled weights in models/")
    assert main(["inpaint", str(disc), "--mask", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o.mp4"),
                 "--device", "cpu"]) == 2
    assert "does not exist" in only_error(capsys)


def test_unreadable_input_says_permission_denied(disc, tmp_path, capsys, monkeypatch):
    """(Root reads any file, so the file is made unreadable to the check itself.)"""
    import app.cliutil

    real = os.access
    monkeypatch.setattr(app.cliutil.os, "access",
                        lambda path, mode: False if Path(path) == disc and mode == os.R_OK else real(path, mode))
    assert main(["info", str(disc)]) == 2
    assert "permission denied" in only_error(capsys)
    assert main(["track", str(disc), "--click", "20,24", "-o", str(tmp_path / "m")]) == 2
    assert "permission denied" in only_error(capsys)
