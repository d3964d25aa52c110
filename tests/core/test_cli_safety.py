"""The command line never overwrites what it reads, checks its outputs before the work, and
says in one line what to do: outputs that are inputs, a full disk, no display, out-of-range
numbers, files that are not weights."""
import errno
import json
import os
import pickle
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from app.core.sttn.checkpoint import load_generator
from test_train import data  # noqa: F401 - the training clip (a fixture)
from test_train_audit import tiny_weights  # noqa: F401 - a small generator to fine-tune (a fixture)


def error_line(capsys):
    """The one error line (progress lines such as "frame 0: selected ..." may come before it)."""
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1 and err[-1] == errors[0] and "Traceback" not in "\n".join(err), err
    return errors[0]


@pytest.fixture
def clip_and_mask(make_clip, tmp_path):
    clip = make_clip(n=4, width=64, height=48)
    m = np.zeros((48, 64), np.uint8)
    m[10:20, 20:40] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), m)
    return clip, tmp_path / "mask.png"


def snapshot(*paths):
    return {p: p.read_bytes() for p in paths}


@pytest.mark.parametrize("which", ["mask", "mask via symlink", "mask relative", "mask video", "weights"])
def test_inpaint_output_is_never_an_input(clip_and_mask, fixture_weights, tmp_path, capsys, monkeypatch, which):
    clip, mask = clip_and_mask
    weights = tmp_path / "w.pth"
    weights.write_bytes(fixture_weights.read_bytes())
    argv = ["inpaint", str(clip), "--mask", str(mask), "--weights", str(weights), "--fill", "telea"]
    if which == "mask":
        out = mask
    elif which == "mask via symlink":
        out = tmp_path / "link.png"
        out.symlink_to(mask)
    elif which == "mask relative":
        monkeypatch.chdir(tmp_path)
        out = Path("sub/../mask.png")
        (tmp_path / "sub").mkdir()
    elif which == "mask video":
        mask_video = tmp_path / "maskvid.mp4"
        mask_video.write_bytes(clip.read_bytes())
        argv[3] = str(mask_video)
        out = mask_video
    else:
        out = weights
    before = snapshot(clip, mask, weights, *( [out] if out.exists() else []))
    assert main([*argv, "-o", str(out)]) == 2
    line = error_line(capsys)
    assert "is the input " + ("weights file" if which == "weights" else "mask") in line, line
    assert "choose another" in line
    assert snapshot(*before) == before


def test_inpaint_output_is_never_an_image_in_the_mask_folder(clip_and_mask, tmp_path, capsys):
    """``-o masks/00000.png`` (a slip of the shell's completion) would replace a tracked mask by an
    mp4; an image name inside the input mask folder is refused, an mp4 beside the masks is not."""
    clip, mask = clip_and_mask
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i:05d}.png").write_bytes(mask.read_bytes())
    before = snapshot(*folder.iterdir())
    argv = ["inpaint", str(clip), "--mask", str(folder), "--fill", "telea"]
    assert main([*argv, "-o", str(folder / "00000.png")]) == 2
    line = error_line(capsys)
    assert "is an image inside the input mask" in line and "choose a path outside it" in line, line
    assert snapshot(*folder.iterdir()) == before
    assert main([*argv, "-o", str(folder / "clean.mp4")]) == 0


def test_demo_output_is_never_the_weights(fixture_weights, tmp_path, capsys):
    weights = tmp_path / "w.pth"
    weights.write_bytes(fixture_weights.read_bytes())
    assert main(["demo", "-o", str(weights), "--weights", str(weights)]) == 2
    assert "is the input weights file" in error_line(capsys)
    assert weights.read_bytes() == fixture_weights.read_bytes()


def test_evaluate_and_finetune_outputs_are_never_inputs(clip_and_mask, fixture_weights, tmp_path, capsys):
    clip, _ = clip_and_mask
    weights = tmp_path / "w.pth"
    weights.write_bytes(fixture_weights.read_bytes())
    before = snapshot(clip, weights)
    assert main(["evaluate", str(clip), "--weights", str(weights), "--json", str(weights)]) == 2
    assert "is the input weights file" in error_line(capsys)
    assert main(["evaluate", str(clip), "--markdown", str(clip)]) == 2
    assert "is the input" in error_line(capsys)
    assert main(["finetune", "--data", str(tmp_path), "--from", str(weights), "-o", str(weights)]) == 2
    assert "is the input" in error_line(capsys)
    assert main(["finetune", "--data", str(clip), "--from", str(weights), "-o", str(clip)]) == 2
    assert "is the input" in error_line(capsys)
    assert snapshot(*before) == before


def test_log_file_is_never_an_input(clip_and_mask, tmp_path, capsys):
    clip, mask = clip_and_mask
    before = snapshot(clip, mask)
    assert main(["--log-file", str(mask), "inpaint", str(clip), "--mask", str(mask), "-o",
                 str(tmp_path / "o.mp4")]) == 2
    assert "--log-file" in error_line(capsys)
    assert snapshot(*before) == before and not (tmp_path / "o.mp4").exists()


@pytest.fixture
def disc(tmp_path):
    from app.core.video import write_test_clip

    yy, xx = np.mgrid[:48, :64]
    frames = []
    for i in range(4):
        f = np.full((48, 64, 3), 110, np.uint8)
        f[(xx - 20 - 3 * i) ** 2 + (yy - 24) ** 2 <= 64] = (240, 120, 20)
        frames.append(f)
    return write_test_clip(tmp_path / "disc.mp4", frames, fps=10)


def test_track_json_is_never_the_input_and_is_checked_first(disc, tmp_path, capsys, monkeypatch):
    import app.core.segment as segment

    monkeypatch.setattr(segment, "track", lambda *a, **k: pytest.fail("tracked before the --json check"))
    before = snapshot(disc)
    (tmp_path / "folder").mkdir()
    for json_path, says in ((disc, "is the input video"), (tmp_path / "nope" / "f.json", "does not exist"),
                            (tmp_path / "folder", "it is a folder")):
        out = tmp_path / "masks"
        assert main(["track", str(disc), "--click", "20,24", "-o", str(out), "--json", str(json_path)]) == 2
        assert says in error_line(capsys)
        assert not out.exists() and not list(tmp_path.glob(".masks.partial-*"))
    assert snapshot(*before) == before


@pytest.mark.parametrize("which", ["keyframe as --json", "keyframe as -o", "SAM checkpoint as --json"])
def test_track_outputs_are_never_a_keyframe_mask_or_the_sam_checkpoint(disc, tmp_path, capsys, monkeypatch, which):
    """Every file track reads is refused as an output, before any tracking: a --keyframe PNG
    (corrected by hand: an hour's work) and the SAM checkpoint as well as the video."""
    import app.core.segment as segment

    monkeypatch.setattr(segment, "track", lambda *a, **k: pytest.fail("tracked before the output check"))
    key = tmp_path / "fixed.png"
    cv2.imwrite(str(key), np.pad(np.full((16, 16), 255, np.uint8), ((16, 16), (12, 36))))  # (the disc on frame 0)
    sam = tmp_path / "sam_vit_b.pth"
    sam.write_bytes(b"a checkpoint")
    before = snapshot(disc, key, sam)
    argv = ["track", str(disc), "--keyframe", f"{key},0"]
    if which == "keyframe as --json":
        argv += ["-o", str(tmp_path / "masks"), "--json", str(key)]
    elif which == "keyframe as -o":
        argv += ["-o", str(key)]
    else:
        argv += ["--sam", str(sam), "-o", str(tmp_path / "masks"), "--json", str(sam)]
    assert main(argv) == 2
    line = error_line(capsys)
    assert ("is the input SAM checkpoint" if "SAM" in which else "is the input keyframe mask") in line, line
    assert snapshot(*before) == before and not (tmp_path / "masks").exists()


def full_disk(monkeypatch, where):
    """Writes under paths containing ``where`` fail as on a full disk; OpenCV's imwrite, as it does
    there, leaves an empty file and reports success."""
    real_write_bytes, real_write_text, real_open = Path.write_bytes, Path.write_text, open

    def enospc(path):
        if where in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    def write_bytes(self, data):
        enospc(self)
        return real_write_bytes(self, data)

    def write_text(self, data, *a, **k):
        enospc(self)
        return real_write_text(self, data, *a, **k)

    def imwrite(path, img, *a):
        if where in str(path):
            real_open(path, "wb").close()
            return True
        return cv2.imwrite.__wrapped__(path, img, *a)

    imwrite.__wrapped__ = cv2.imwrite
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.setattr(Path, "write_text", write_text)
    monkeypatch.setattr(cv2, "imwrite", imwrite)


def test_track_on_a_full_disk_fails_in_one_line_and_leaves_nothing(disc, tmp_path, capsys, monkeypatch):
    full_disk(monkeypatch, ".masks.partial-")
    out = tmp_path / "masks"
    assert main(["track", str(disc), "--click", "20,24", "-o", str(out)]) == 2
    assert "disk full" in error_line(capsys)
    assert not out.exists() and not list(tmp_path.glob(".masks.partial-*"))


def test_track_json_on_a_full_disk_is_one_line(disc, tmp_path, capsys, monkeypatch):
    full_disk(monkeypatch, "flags")
    out = tmp_path / "masks"
    assert main(["track", str(disc), "--click", "20,24", "-o", str(out), "--json", str(tmp_path / "flags.json")]) == 2
    assert "disk full" in error_line(capsys)
    assert not (tmp_path / "flags.json").exists() and not list(tmp_path.glob(".flags*"))


def test_track_json_is_written(disc, tmp_path, capsys):
    out, flags = tmp_path / "masks", tmp_path / "flags.json"
    flags.write_text("old")
    assert main(["track", str(disc), "--click", "20,24", "-o", str(out), "--json", str(flags)]) == 0
    assert json.loads(flags.read_text())["keyframes"] == [0]


@pytest.fixture
def no_display(monkeypatch):
    import app.gui

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(app.gui, "run_gui", lambda argv=None: pytest.fail("Qt started without a display"))


def test_the_gui_launcher_without_a_display_names_the_command_line_program(no_display, capsys, monkeypatch):
    """`sttn-inpaint-gui` on a server pointed to `python main.py --help`, which an installed program has not."""
    from app.cli import gui_main

    monkeypatch.setattr(sys, "argv", ["/opt/venv/bin/sttn-inpaint-gui"])
    assert gui_main([]) == 2
    assert "`sttn-inpaint --help`" in error_line(capsys)


def test_the_gui_launcher_given_a_file_without_a_display_names_the_commands_for_it(no_display, disc, capsys,
                                                                                     monkeypatch):
    """`sttn-inpaint-gui clip.mp4` gave the generic line, where `python main.py clip.mp4` names the
    commands to run on that file; both say the same now."""
    from app.cli import gui_main

    monkeypatch.setattr(sys, "argv", ["/opt/venv/bin/sttn-inpaint-gui"])
    assert gui_main([str(disc)]) == 2
    line = error_line(capsys)
    assert f"sttn-inpaint track {disc}" in line and f"sttn-inpaint inpaint {disc}" in line, line
    assert gui_main([str(disc) + ".missing"]) == 2 and "does not exist" in error_line(capsys)


def test_without_a_display_a_file_argument_names_the_commands(no_display, disc, capsys):
    assert main([str(disc)]) == 2
    line = error_line(capsys)
    assert "display" in line and f"track {disc}" in line and f"inpaint {disc}" in line, line


def test_without_a_display_a_project_names_its_video_for_the_commands(no_display, tmp_path, capsys):
    """It offered `track holiday.sttnproj --click ...`, which reads no project."""
    import json

    project = tmp_path / "holiday.sttnproj"
    project.write_text(json.dumps({"format": 1, "video": "/footage/my holiday.mp4"}))
    assert main([str(project)]) == 2
    line = error_line(capsys)
    assert "projects open in the window only" in line and "sttnproj --click" not in line, line
    assert "track '/footage/my holiday.mp4' --click X,Y" in line and "inpaint '/footage/my holiday.mp4' --mask" in line


def test_without_a_display_a_path_that_is_not_there_is_said_so(no_display, tmp_path, capsys):
    """It offered `track holiday.mp4 ...` and `inpaint holiday.mp4 ...` for a file that does not exist."""
    missing = tmp_path / "holiday.mp4"
    assert main([str(missing)]) == 2
    line = error_line(capsys)
    assert f"{missing} does not exist" in line and "track" not in line, line


def test_without_a_display_a_mistyped_command_is_argparses_one_line(no_display, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["segment", "x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "'segment' is no command" in err[0], err


@pytest.mark.parametrize("display", [False, True])
def test_a_misspelt_command_names_the_one_meant_and_opens_no_window(display, monkeypatch, capsys):
    """With a display `main.py inpiant clip.mp4` opened the window on a file named "inpiant"."""
    import app.cli
    import app.gui

    monkeypatch.setattr(app.cli, "has_display", lambda: display)
    monkeypatch.setattr(app.gui, "run_gui", lambda argv=None: pytest.fail("the window opened on a command"))
    with pytest.raises(SystemExit) as exc:
        main(["inpiant", "clip.mp4", "--mask", "m.png", "-o", "o.mp4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "'inpiant' is no command (did you mean inpaint?)" in err[0], err


def test_the_gui_command_leaves_sigterm_to_end_the_window(monkeypatch):
    """`main.py gui` ran the window with SIGTERM raising KeyboardInterrupt (as the commands do, to
    remove their temporary files): raised in a Qt slot it was printed and the window went on, so
    `kill PID` left it running; opened as `main.py clip.mp4` it ended."""
    import signal

    import app.cli
    import app.gui

    seen = []
    monkeypatch.setattr(app.cli, "has_display", lambda: True)
    monkeypatch.setattr(app.cli, "display_problem", lambda: None)
    monkeypatch.setattr(app.gui, "run_gui", lambda argv=None: seen.append(signal.getsignal(signal.SIGTERM)) or 0)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["gui"]) == 0 and seen == [before]
    assert main([]) == 0 and seen == [before, before]


def test_a_display_no_x_server_answers_is_one_line_not_qts_abort(no_display, monkeypatch, capsys):
    """DISPLAY left pointing nowhere (an SSH login without X forwarding) let Qt abort the process
    (SIGABRT, exit 134) with a page of plugin advice ending "Reinstalling the application may fix
    this problem"; a display that answers still opens the window."""
    import socket

    from app.cli import gui_main, has_display

    number = 7000 + os.getpid() % 1000
    monkeypatch.setenv("DISPLAY", f":{number}")
    assert gui_main([]) == 2
    assert f"no X server answers at DISPLAY=:{number}" in error_line(capsys)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:  # an X server's abstract socket
        server.bind(f"\0/tmp/.X11-unix/X{number}")
        server.listen(1)
        assert has_display()
    monkeypatch.setenv("DISPLAY", "127.0.0.1:1")  # (TCP port 6001: nothing there)
    assert not has_display()


def test_gui_command_without_a_display_is_one_line(no_display, capsys, monkeypatch):
    assert main(["gui"]) == 2
    line = error_line(capsys)
    assert "no display" in line and "DISPLAY" in line and "command-line" in line
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")  # the X11 plugin needs DISPLAY all the same
    assert main(["gui"]) == 2 and "no display" in error_line(capsys)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # needs none
    from app.cli import has_display

    assert has_display()


@pytest.mark.parametrize("argv, says", [
    (["--crf", "99"], "argument --crf: 99 is out of range: give a whole number, from 0 to 51"),
    (["--crf", "-1"], "argument --crf"),
    (["--dilate=-1"], "argument --dilate: -1 is out of range"),
    (["--start=-5"], "argument --start: -5 is out of range"),
    (["--max-refs=-1"], "argument --max-refs"),
])
def test_numbers_out_of_range_are_refused_when_parsed(clip_and_mask, tmp_path, capsys, argv, says):
    clip, mask = clip_and_mask
    with pytest.raises(SystemExit) as exc:
        main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "o.mp4"), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and says in err[0], err
    assert not (tmp_path / "o.mp4").exists()


def test_track_start_must_not_be_negative(disc, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["track", str(disc), "--click", "20,24", "-o", str(tmp_path / "m"), "--start=-1"])
    assert "argument --start" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["pickled dict", "pickled model", "text"])
def test_weights_that_are_not_an_sttn_checkpoint_are_one_clear_line(clip_and_mask, tmp_path, capsys, kind):
    import torch

    clip, mask = clip_and_mask
    w = tmp_path / "w.pth"
    if kind == "pickled dict":
        w.write_bytes(pickle.dumps({"x": 1}))
    elif kind == "pickled model":
        torch.save(torch.nn.Linear(2, 2), w)
    else:
        w.write_text("not weights")
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "o.mp4"), "--weights", str(w),
                 "--fill", "sttn", "--device", "cpu"]) == 2
    line = error_line(capsys)
    assert "not a PyTorch checkpoint of an STTN generator" in line and "sttn.pth" in line, line
    assert not re.search(r"Re-running|torch\.load|weights_only", line), line


def test_a_cut_off_video_is_named_in_the_error_it_causes(tmp_path, capsys):
    """A video cut off (an interrupted copy) reads as fewer frames: its mask folder was refused as
    the wrong count ("66 images but the video has 36 frames"), a --start past the frames there are as
    past its end, and track said "Empty range 40..36" (nothing to do); the line now says the file is
    cut off, and track warns of it before the work. Nothing is written."""
    from app.core.video import write_test_clip
    from tests.conftest import make_frames

    whole = write_test_clip(tmp_path / "whole.mp4", make_frames(30, 64, 48), container_options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.8)])  # (14 frames of 30)
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in range(30):
        cv2.imwrite(str(masks / f"{i:05d}.png"), np.full((48, 64), 255 * (i == 3), np.uint8))
    out = tmp_path / "o.mp4"
    assert main(["inpaint", str(cut), "--mask", str(masks), "-o", str(out)]) == 2
    line = error_line(capsys)
    assert "has 30 images but the video has" in line and "cut.mp4 ends early" in line, line
    assert main(["inpaint", str(cut), "--mask", str(masks / "00003.png"), "-o", str(out), "--start", "29"]) == 2
    line = error_line(capsys)
    assert "--start 29 is past the last frame" in line and "cut.mp4 ends early" in line, line
    assert main(["track", str(cut), "--click", "10,10", "-o", str(tmp_path / "m"), "--start", "29"]) == 2
    line = error_line(capsys)
    assert "--start 29 is past the last frame" in line and "give a --start below" in line, line
    assert "cut.mp4 ends early" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4", "masks", "whole.mp4"]
    assert main(["track", str(cut), "--click", "10,10", "-o", str(tmp_path / "m"), "--end", "2"]) == 0
    err = capsys.readouterr().err
    assert "warning: cut.mp4 ends early" in err, err


def test_track_says_when_its_json_replaced_a_file(disc, tmp_path, capsys):
    """track --json over a file replaced it without a word (inpaint and demo say so)."""
    flags = tmp_path / "flags.json"
    assert main(["track", str(disc), "--click", "20,24", "-o", str(tmp_path / "a"), "--json", str(flags)]) == 0
    first = capsys.readouterr().out
    assert f"and the keyframes and flagged frames to {flags}." in first and "replacing" not in first, first
    flags.write_text("last week's")
    assert main(["track", str(disc), "--click", "20,24", "-o", str(tmp_path / "b"), "--json", str(flags)]) == 0
    again = capsys.readouterr().out
    assert f"and the keyframes and flagged frames to {flags}, replacing the file there." in again, again
    assert json.loads(flags.read_text())["keyframes"] == [0]


def test_evaluate_says_which_files_it_wrote_and_which_it_replaced(clip_and_mask, tmp_path, capsys):
    """evaluate --json / --markdown over a file replaced it without a word; the lines go to stderr,
    so that the table on stdout can still be piped or redirected as it is."""
    clip, _ = clip_and_mask
    table, numbers = tmp_path / "scores.md", tmp_path / "scores.json"
    argv = ["evaluate", str(clip), "--method", "telea", "--max-frames", "2", "--size", "64x48",
            "--json", str(numbers), "--markdown", str(table)]
    numbers.write_text("{}")
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out == table.read_text(encoding="utf-8") and "Wrote" not in out
    assert f"Wrote {numbers}, replacing the file there." in err and f"Wrote {table}." in err, err
    assert json.loads(numbers.read_text())  # (the scores, not the "{}" there before)
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"Wrote {numbers}, replacing the file there." in err and f"Wrote {table}, replacing the file there." \
        in err, err


def test_finetune_says_it_replaced_the_output_and_never_writes_it_over_its_checkpoint(tmp_path, data, tiny_weights,
                                                                                       capsys):
    """finetune -o over a file replaced it without a word; -o naming the run's own training
    checkpoint (or log) in --workdir was taken, and the generator was written over the checkpoint
    at the end, so that --resume found no run to continue."""
    from test_train_audit import _config_file

    work = tmp_path / "w"
    base = ["finetune", "--data", str(data), "--from", str(tiny_weights), "--steps", "1", "--workdir", str(work),
            "--config", str(_config_file(tmp_path)), "--device", "cpu"]
    for own in (work / "checkpoints" / "last.pt", work / "metrics.jsonl"):
        assert main(base + ["-o", str(own)]) == 2
        line = error_line(capsys)
        assert f"--output {own} is the input training" in line and "choose another path" in line, line
    assert not (work / "checkpoints").exists()
    out = tmp_path / "tuned.pth"
    out.write_bytes(b"an earlier run's generator")
    assert main(base + ["-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"generator written to {out}, replacing the file there" in printed, printed
    assert load_generator(out).config.channels == 16
