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


@pytest.mark.parametrize("span, said", [
    (["--start", "100", "--end", "400"], "error: --start 100 is past the last frame of this 4-frame video "
                                         "(frames 0 to 3); give a --start below 4."),
    (["--start", "3", "--end", "2"], "error: --end 2 is not after --start 3: --end is the frame after the last to "
                                     "inpaint (--start 3 --end 4 inpaints frame 3 alone)."),
])
def test_a_range_that_selects_no_frame_says_which_end_to_move(disc, tmp_path, capsys, span, said):
    """README's `--start 100 --end 400` on a short clip said '--start 100 / --end 4 select no frames'
    (an --end the user never gave, and nothing to do about it)."""
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "m.png"), np.full((48, 64), 255, np.uint8))
    assert main(["inpaint", str(disc), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.mp4"),
                 "--fill", "telea", *span]) == 2
    assert only_error(capsys) == said
    assert not (tmp_path / "o.mp4").exists()


def test_compile_on_a_cpu_says_it_does_nothing_there(disc, tmp_path, capsys):
    """README's fastest export (`--fill sttn --preset veryfast --compile`) run on a CPU compiled nothing
    without a word (torch.compile is used on CUDA only)."""
    import cv2
    import numpy as np

    m = np.zeros((48, 64), np.uint8)
    m[16:32, 12:28] = 255
    cv2.imwrite(str(tmp_path / "m.png"), m)
    assert main(["inpaint", str(disc), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.mp4"),
                 "--fill", "telea", "--device", "cpu", "--compile"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "--compile" in line]
    assert notes == ["note: --compile works on CUDA only; this run is on the CPU and is not compiled (leave "
                     "--compile out)."], notes


def test_a_usage_error_names_the_command_the_user_typed(tmp_path):
    """`python main.py inpaint` without its arguments said '(see sttn-inpaint inpaint --help)': a command
    that is on the PATH only in an activated virtual environment."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "main.py", "inpaint"], capture_output=True, text=True, cwd=root,
                          timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.strip() == ("python main.py inpaint: error: the following arguments are required: input, "
                                   "--mask, --output/-o (see python main.py inpaint --help)"), proc.stderr


@pytest.mark.parametrize("device, said", [
    ("gpu", "write cuda (an NVIDIA GPU) or auto"), ("cuda:7", "CUDA_VISIBLE_DEVICES=7 in front of the command"),
    ("mps", "training runs on CUDA or the CPU, not on MPS"), ("tpu", "write one of auto, cpu, cuda")])
def test_train_device_named_another_way_is_one_line_before_any_file_is_read(device, said, tmp_path, capsys):
    """``finetune --device gpu`` (or cuda:7, or mps) was a free string: it was refused only once the
    settings and weights had been checked (here a missing --from was said instead), or, cuda:7 with
    CUDA present, was handed to torch as it was."""
    for command in ("finetune", "train"):
        with pytest.raises(SystemExit) as stop:
            main([command, "--data", str(tmp_path / "missing"), "--from", str(tmp_path / "missing.pth"),
                  "-o", str(tmp_path / "o.pth"), "--device", device])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "argument --device" in err[0] and said in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_every_command_takes_the_same_device_names(tmp_path, capsys):
    """inpaint, demo and track take auto/cpu/cuda/mps in any case, say what to write for a GPU named
    another way, as training does; training takes auto/cpu/cuda."""
    from app.cli import build_parser

    parser = build_parser()
    base = {"inpaint": ["inpaint", "v.mp4", "--mask", "m.png", "-o", "o.mp4"], "demo": ["demo"],
            "track": ["track", "v.mp4", "--click", "1,1", "-o", "m"], "train": ["train", "-o", "o.pth"]}
    for command, argv in base.items():
        assert parser.parse_args(argv + ["--device", "CPU"]).device == "cpu"
        with pytest.raises(SystemExit):
            parser.parse_args(argv + ["--device", "gpu"])
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "'gpu' is not a device name; write cuda" in err[0], err
    assert parser.parse_args(base["track"]).device == "auto"


def test_train_on_cuda_without_a_gpu_is_refused_before_the_data_is_read(tmp_path, capsys, monkeypatch):
    """``--device cuda`` on a machine without CUDA: one line naming the way out, before the data
    and the weights are looked at and before any folder is made."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["finetune", "--data", str(tmp_path / "missing"), "--from", str(tmp_path / "missing.pth"),
                 "-o", str(tmp_path / "o.pth"), "--device", "cuda"]) == 2
    line = only_error(capsys)
    assert "no CUDA GPU is available; use --device cpu or auto" in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, said", [
    (["inpaint", "v.mp4", "--mask", "m.png", "-o", "o.mp4", "--strat", "3"],
     "inpaint: error: unrecognized arguments: --strat 3 (did you mean --start?) (see python main.py inpaint --help)"),
    (["track", "v.mp4", "--clik", "3,3", "-o", "m"],
     "track: error: unrecognized arguments: --clik 3,3 (did you mean --click?) (see python main.py track --help)"),
    (["cache", "trim", "--limt", "5G"], "cache trim: error: unrecognized arguments: --limt 5G (did you mean --limit?) "
                                        "(see python main.py cache trim --help)"),
    (["inpaint", "v.mp4", "w.mp4", "--mask", "m.png", "-o", "o.mp4"],
     "inpaint: error: unrecognized arguments: w.mp4 (see python main.py inpaint --help)"),
])
def test_a_misspelt_option_points_to_the_commands_help_and_the_option_meant(argv, said, capsys):
    """``inpaint ... --strat 3`` said "python main.py: error: unrecognized arguments: --strat 3 (see
    python main.py --help)": the main help, which lists no inpaint option."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(said), err


def test_the_standalone_training_entry_says_a_mistake_in_one_line(tmp_path, capsys):
    """``python -m app.cli_train`` (torchrun's entry) printed argparse's usage block for a bad option
    and a traceback for a second Ctrl-C; it is the main command line's train and finetune now."""
    from app.cli_train import main as train_main

    with pytest.raises(SystemExit) as stop:
        train_main(["finetune", "--data", str(tmp_path), "--device", "gpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1 and "'gpu' is not a device name; write cuda" in err[0], err
    assert train_main([]) == 2
    line = only_error(capsys)
    assert "runs `train ...` or `finetune ...`" in line, line
    assert train_main(["finetune", "--data", str(tmp_path / "none"), "--from", str(tmp_path / "g.pth"),
                       "-o", str(tmp_path / "o.pth")]) == 2
    assert "--from" in only_error(capsys)


def test_the_standalone_training_entry_answers_help_with_its_commands(capsys):
    """``python -m app.cli_train --help`` (what a user tries first with the torchrun line of
    docs/TRAINING.md) was the error line for a missing command."""
    from app.cli_train import main as train_main

    assert train_main(["--help"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and out.out.startswith("usage: python -m app.cli_train ")
    assert "train --help" in out.out and "finetune --help" in out.out


@pytest.mark.parametrize("order", [("{video}", "{mask}", "{out}"), ("{video}", "{mask}", "-o", "{out}"),
                                   ("{video}", "--mask", "{mask}", "{out}", "--fill", "telea")])
def test_values_given_without_their_options_get_the_command_line_that_names_them(disc, tmp_path, capsys, order):
    """``inpaint clip.mp4 logo.png out.mp4`` (the order other tools take) said only "the following
    arguments are required: --mask, --output/-o"; the line now holds the command with the options
    put in, and that command runs."""
    import shlex

    import cv2
    import numpy as np

    mask = tmp_path / "logo.png"
    cv2.imwrite(str(mask), np.pad(np.full((8, 8), 255, np.uint8), ((4, 36), (4, 52))))
    out = tmp_path / "out.mp4"
    argv = ["inpaint"] + [w.format(video=disc, mask=mask, out=out) for w in order]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1 and "without" in err[0] and not out.exists(), err
    fixed = shlex.split(err[0].split("): ", 1)[1].rsplit(" (see ", 1)[0])
    assert fixed[:2] == ["python", "main.py"] and f"{mask}" in fixed and f"{out}" in fixed
    assert main(fixed[2:] + ["--fill", "telea"] * ("--fill" not in fixed)) == 0
    assert out.exists()


def test_a_misspelt_option_among_loose_values_is_still_named(disc, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["inpaint", str(disc), "--mask", "m.png", "-o", "o.mp4", "--weigths", "x.pth"])
    assert "did you mean --weights?" in capsys.readouterr().err
