"""What a new user meets on the command line with their own files: a keyframe mask painted over
the whole frame, training settings mistyped on the command line or in a --config file, the
options that name outputs, folders given where a file belongs. Every input is a real file made
here (PyAV clips, PNG masks, torch checkpoints of tiny generators)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from app.core.video import write_test_clip
from conftest import make_frames
from mediafiles import encode_audio, encode_frames

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


def _train_argv(tmp_path, *extra):
    clip = tmp_path / "clip.mp4"
    if not clip.exists():
        write_test_clip(clip, make_frames(6, W, H))
    return ["train", "--data", str(clip), "--output", str(tmp_path / "out.pth"), "--steps", "1", "--channels", "16",
            "--blocks", "1", "--device", "cpu", *extra]


@pytest.mark.parametrize("option, value, said", [
    ("--lr", "-1", "lr"), ("--lr", "0", "lr"), ("--adv-weight", "-0.5", "adv_weight"),
    ("--lr-decay-gamma", "0", "lr_decay_gamma"),
])
def test_a_training_setting_out_of_range_is_one_line_before_any_work(tmp_path, capsys, option, value, said):
    # --lr -1 ended in Adam's ValueError traceback after the clips were read; a negative adversarial
    # weight or a decay to 0 trained on without a word
    assert main(_train_argv(tmp_path, option, value)) == 2
    line = _one_error_line(capsys)
    assert said in line and value in line
    assert not (tmp_path / "out.train").exists() and not (tmp_path / "out.pth").exists()


@pytest.mark.parametrize("text, said", [
    ('{"lr": "abc"}', "lr"),  # a string where a number belongs: TypeError in Adam
    ('{"steps": 2.5}', "steps"),
    ('{"flip": "no"}', "flip"),
    ('[1, 2]', "JSON object"),  # not an object: TypeError in dict.update
    ('{"learning_rate": 1e-5}', "learning_rate"),  # a misspelt field was dropped without a word
])
def test_a_config_file_with_a_wrong_field_is_one_line(tmp_path, capsys, text, said):
    config = tmp_path / "cfg.json"
    config.write_text(text)
    assert main(_train_argv(tmp_path, "--config", str(config))) == 2
    line = _one_error_line(capsys)
    assert said in line and "cfg.json" in line
    assert not (tmp_path / "out.train").exists()


def test_a_misspelt_config_field_is_named_with_the_likely_one(tmp_path, capsys):
    config = tmp_path / "cfg.json"
    config.write_text('{"batchsize": 2}')
    assert main(_train_argv(tmp_path, "--config", str(config))) == 2
    assert "batch_size" in _one_error_line(capsys)


def test_evaluate_scores_the_sttn_methods_with_the_bundled_weights_by_default(tmp_path, capsys):
    """As `inpaint` does: the sttn methods asked for a --weights the project ships."""
    import json

    from app.core import paths

    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(3, W, H))
    out = tmp_path / "scores.json"
    assert main(["evaluate", str(clip), "--method", "sttn", "--max-frames", "2", "--json", str(out)]) == 0
    scores = json.loads(out.read_text())
    assert scores["settings"]["weights"] == str(paths.default_weights())
    assert scores["methods"]["sttn"]["mean"]["psnr"] > 10


def test_evaluate_without_bundled_weights_asks_for_them_in_one_line(tmp_path, capsys, no_bundled_weights):
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(3, W, H))
    assert main(["evaluate", str(clip), "--method", "telea,sttn", "--max-frames", "2"]) == 2
    assert "--weights" in _one_error_line(capsys)


def test_track_json_naming_the_mask_folder_itself_says_it_is_the_output(tmp_path, capsys):
    """It said "is the input mask folder" of the folder the command was about to create."""
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(4, W, H))
    out = tmp_path / "masks"
    assert main(["track", str(clip), "--click", "40,30", "-o", str(out), "--json", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "--output" in line and "input" not in line and "masks/flags.json" in line
    assert not out.exists()


def test_download_sam_from_a_file_url_says_to_copy_the_file_instead(tmp_path, capsys):
    """It suggested http://file:///... as the address to use."""
    local = tmp_path / "sam_vit_b_01ec64.pth"
    local.write_bytes(b"checkpoint")
    assert main(["download-sam", "--dest", str(tmp_path / "models"), "--url", local.as_uri()]) == 2
    line = _one_error_line(capsys)
    assert "http://file" not in line and "copy" in line and str(tmp_path / "models") in line


def test_download_sam_into_a_folder_that_cannot_be_made_says_what_to_do(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where the folder would go")
    assert main(["download-sam", "--dest", str(blocker / "models"), "--url", "http://127.0.0.1:9/sam.pth"]) == 2
    line = _one_error_line(capsys)
    assert "notes.txt" in line and "choose another" in line


def test_a_file_that_is_no_video_is_said_without_ffmpegs_error_number(tmp_path, capsys):
    """`[Errno 1094995529] Invalid data found ...`: the number means nothing to a user."""
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(30, W, H))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[:2000])  # an interrupted download: the index at the end is gone
    assert main(["info", str(cut)]) == 2
    line = _one_error_line(capsys)
    assert "cut.mp4 is truncated" in line and "copy or download it again" in line and "Errno" not in line
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)  # (no MP4 layout at all: FFmpeg's words, less the number)
    assert main(["info", str(junk)]) == 2
    line = _one_error_line(capsys)
    assert "junk.mp4" in line and "Invalid data" in line and "Errno" not in line


def _folder_of_videos(tmp_path, stills: int) -> Path:
    """A user's footage folder: two clips and ``stills`` stray images (a thumbnail, a cover)."""
    folder = tmp_path / "footage"
    folder.mkdir()
    write_test_clip(folder / "a.mp4", make_frames(6, W, H))
    write_test_clip(folder / "b.mov", make_frames(6, W, H, seed=1))
    for i in range(stills):
        cv2.imwrite(str(folder / f"cover{i}.png"), make_frames(1, W * 2, H * 2, seed=2 + i)[0])
    return folder


@pytest.mark.parametrize("stills", [0, 2])
def test_a_folder_of_videos_given_as_the_video_is_named_for_what_it_is(tmp_path, capsys, stills):
    """`info footage/` said frames=2 (its two stills); `inpaint footage/` exported them as a video."""
    folder = _folder_of_videos(tmp_path, stills)
    mask = _write_mask(tmp_path / "m.png", np.pad(np.ones((10, 10), bool), ((20, H - 30), (30, W - 40))))
    assert main(["info", str(folder)]) == 2
    line = _one_error_line(capsys)
    assert "a.mp4" in line and "b.mov" in line
    out = tmp_path / "out.mp4"
    assert main(["inpaint", str(folder), "--mask", str(mask), "-o", str(out), "--fill", "telea"]) == 2
    assert "a.mp4" in _one_error_line(capsys) and not out.exists()


def test_training_on_a_footage_folder_with_stray_stills_reads_its_videos(tmp_path):
    """Two stray images made the whole folder one 2-frame "clip", and its videos were never read."""
    from app.core.train.dataset import find_clips

    folder = _folder_of_videos(tmp_path, 2)
    assert [p.name for p in find_clips([folder])] == ["a.mp4", "b.mov"]
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i}.png"), make_frames(1, W, H, seed=i)[0])
    assert find_clips([frames]) == [frames.resolve()]  # a frame folder is still one clip


@pytest.fixture
def log_handlers():
    """The root logger's handlers and level as they were, back after the test (--log-file adds one)."""
    import logging
    from logging.handlers import RotatingFileHandler

    root = logging.getLogger()
    before = list(root.handlers), root.level
    yield
    for h in [h for h in root.handlers if h not in before[0] and isinstance(h, RotatingFileHandler)]:
        root.removeHandler(h)
        h.close()
    root.setLevel(before[1])


def test_the_log_file_keeps_the_line_a_command_ended_with(tmp_path, capsys, log_handlers):
    """--log-file kept the command line and nothing of why it failed: the error went to stderr alone."""
    log = tmp_path / "run.log"
    assert main(["--log-file", str(log), "info", str(tmp_path / "holiday.mp4")]) == 2
    line = _one_error_line(capsys)  # stderr: the same single line as without a log file
    text = log.read_text()
    assert "info" in text and line.removeprefix("error: ") in text and "ERROR" in text


def test_the_log_file_keeps_the_traceback_of_a_bug(tmp_path, capsys, log_handlers, monkeypatch):
    import app.cli

    def broken(args):
        raise RuntimeError("a bug in info")

    monkeypatch.setattr(app.cli, "cmd_info", broken)
    log = tmp_path / "run.log"
    with pytest.raises(RuntimeError):
        main(["--log-file", str(log), "info", str(tmp_path / "holiday.mp4")])
    text = log.read_text()
    assert "Traceback" in text and "a bug in info" in text


def test_resuming_with_steps_already_reached_says_nothing_is_trained(tmp_path, capsys):
    """`--resume --steps 1` after 2 steps said "resuming at step 2 of 1" and "step 2/1"."""
    import json

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(dict(channels=16, blocks=1, patch_sizes=[[8, 4], [4, 2]], width=64, height=32,
                                      sample_frames=2, disc_channels=8, val_every=0, val_at_start=False)))
    assert main(_train_argv(tmp_path, "--config", str(config), "--steps", "2")) == 0
    capsys.readouterr()
    assert main(_train_argv(tmp_path, "--config", str(config), "--steps", "1", "--resume")) == 0
    err = capsys.readouterr().err
    assert "step 2 already" in err and "--steps" in err and "2 of 1" not in err and "2/1" not in err


@pytest.mark.parametrize("when", ["after the first clip", "before any clip"])
def test_evaluate_stopped_says_what_it_left_in_the_samples_folder(tmp_path, when):
    """Ctrl-C said "no partial output was left" over a --samples folder holding the first clip's image
    (or an empty folder the run had made)."""
    import signal
    import subprocess
    import sys
    import time

    first = write_test_clip(tmp_path / "first.mp4", make_frames(3, W, H))
    second = write_test_clip(tmp_path / "second.mp4", make_frames(150, W, H, seed=3))  # seconds at 432x240
    samples = tmp_path / "samples"
    clips = [first, second] if when == "after the first clip" else [second, first]
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parents[2] / "main.py"), "evaluate",
                             *map(str, clips), "--samples", str(samples), "--json", str(tmp_path / "r.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    ready = (lambda: (samples / "first.png").exists()) if when == "after the first clip" else samples.exists
    deadline = time.monotonic() + 120
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be stopped: give the long clip more frames"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    last = err.strip().splitlines()[-1]
    assert proc.returncode == 130 and last.startswith("cancelled:") and not (tmp_path / "r.json").exists()
    if when == "after the first clip":
        assert "first.png" in last and str(samples) in last and "no partial output" not in last
        assert sorted(p.name for p in samples.iterdir()) == ["first.png"]
    else:
        assert "nothing was written" in last and not samples.exists()


@pytest.mark.parametrize("argv", [
    ["inpaint", "CLIP", "--mask", "", "-o", "OUT"],  # read the current folder's images as the masks
    ["inpaint", "", "--mask", "MASK", "-o", "OUT"],  # the current folder as a frame folder
    ["inpaint", "CLIP", "--mask", "MASK", "-o", ""],  # "Cannot write .: it is a folder"
    ["info", ""],
    ["track", "CLIP", "--click", "10,10", "-o", ""],
    ["evaluate", "CLIP", "--samples", ""],
    ["train", "--data", "", "--output", "OUT"],  # would train on everything under the current folder
    ["finetune", "--data", "CLIP", "--from", "", "--output", "OUT"],
])
def test_an_empty_path_is_a_usage_error_not_the_current_folder(tmp_path, capsys, monkeypatch, argv):
    """`-o "$OUT"` with OUT unset: an empty argument was taken as "." (the current folder)."""
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(3, W, H))
    mask = _write_mask(tmp_path / "m.png", np.pad(np.ones((10, 10), bool), ((20, H - 30), (30, W - 40))))
    names = {"CLIP": str(clip), "MASK": str(mask), "OUT": str(tmp_path / "out.mp4")}
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([names.get(a, a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "empty" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "m.png"]


def test_cache_trim_that_must_keep_fresh_files_says_the_cache_is_still_over(capsys):
    """`cache trim --limit 1M` right after a run said "Evicted 0 files (0 bytes)" over 64 MB and no more."""
    import os
    import time

    from app.core.cache import cache_dir

    frames = cache_dir("train-frames")
    frames.mkdir(parents=True)
    old, fresh = frames / "old.npy", frames / "fresh.npy"
    old.write_bytes(bytes(1 << 20))
    fresh.write_bytes(bytes(2 << 20))  # a clip decoded a moment ago (or being decoded now)
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    assert main(["cache", "trim", "--limit", "1M"]) == 0
    out = capsys.readouterr().out
    assert "Evicted 1 files" in out and not old.exists() and fresh.exists()
    assert "still 2.0 MB" in out and "last minute" in out, out
    fresh.unlink()
    assert main(["cache", "trim", "--limit", "1M"]) == 0
    out = capsys.readouterr().out  # (it said "Evicted 0 files (0 bytes)" under the limit too)
    assert "still" not in out and "Evicted" not in out and "is under the limit of 1.0 MB: nothing to delete" in out


def _frame_folder(tmp_path, n=4) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(make_frames(n, W, H)):
        cv2.imwrite(str(folder / f"{i:04d}.png"), f)
    return folder


def _box(width=W, height=H) -> np.ndarray:
    m = np.zeros((height, width), bool)
    m[10:20, 10:30] = True
    return m


def test_a_frame_folder_is_written_at_the_fps_given(tmp_path, capsys):
    """A frame folder has no rate: it was written at 25 frames/s, with no option to say 30."""
    import av

    frames, mask = _frame_folder(tmp_path), _write_mask(tmp_path / "m.png", _box())
    out = tmp_path / "out.mp4"
    assert main(["inpaint", str(frames), "--mask", str(mask), "-o", str(out), "--fill", "telea", "--fps", "30"]) == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].average_rate == 30 and c.streams.video[0].frames == 4
    assert "frames/s" not in capsys.readouterr().err  # (no note on the rate: it was given)


def test_without_fps_a_frame_folder_export_says_its_rate_and_the_option(tmp_path, capsys):
    frames, mask = _frame_folder(tmp_path), _write_mask(tmp_path / "m.png", _box())
    assert main(["inpaint", str(frames), "--mask", str(mask), "-o", str(tmp_path / "o.mp4"), "--fill", "telea"]) == 0
    err = capsys.readouterr().err
    assert "note:" in err and "25 frames/s" in err and "--fps" in err, err


def test_fps_given_for_a_video_file_is_refused(tmp_path, capsys):
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(3, W, H))
    mask = _write_mask(tmp_path / "m.png", _box())
    out = tmp_path / "out.mp4"
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fps", "30"]) == 2
    assert "--fps" in _one_error_line(capsys) and not out.exists()


def test_an_export_that_changes_the_picture_or_the_sound_says_so(tmp_path, capsys):
    """The export dialog says what an export changes besides the frames inpainted; the CLI said nothing:
    an odd size padded, 4:4:4 colour made 4:2:0, PCM sound made AAC in an .mp4."""
    import av

    odd = write_test_clip(tmp_path / "odd.mp4", make_frames(3, 61, 47), pix_fmt="yuv444p")
    mask = _write_mask(tmp_path / "m.png", _box(61, 47))
    assert main(["inpaint", str(odd), "--mask", str(mask), "-o", str(tmp_path / "o.mp4"), "--fill", "telea"]) == 0
    err = capsys.readouterr().err
    assert "note: This 61x47 video is written as 62x48" in err and "4:2:0" in err, err

    pcm = tmp_path / "pcm.mov"  # a camera's MOV: uncompressed sound
    with av.open(str(pcm), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        aus = out.add_stream("pcm_s16le", rate=16000)
        aus.layout = "mono"
        encode_frames(out, vs, make_frames(3, W, H))
        encode_audio(out, aus, np.zeros(16000 * 3 // 25, np.int16), "s16", 16000)
    mask = _write_mask(tmp_path / "m2.png", _box())
    assert main(["inpaint", str(pcm), "--mask", str(mask), "-o", str(tmp_path / "p.mp4"), "--fill", "telea"]) == 0
    err = capsys.readouterr().err
    assert "note:" in err and "AAC" in err and ".mov" in err, err
    assert main(["inpaint", str(pcm), "--mask", str(mask), "-o", str(tmp_path / "p.mov"), "--fill", "telea"]) == 0
    assert "AAC" not in capsys.readouterr().err


def test_help_texts_say_what_the_commands_do(capsys):
    """evaluate's description said every clip is resized to 432x240, which --size changes; info's
    argument had no word on taking a folder of frames."""
    for argv in (["evaluate", "--help"], ["info", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
    text = " ".join(capsys.readouterr().out.split())
    assert "(resized to --size, 432x240 by default)" in text
    assert "video file or folder of frames" in text


def test_the_temporary_files_of_a_killed_export_go_at_the_next_export_of_that_name(tmp_path, capsys):
    """kill -9 (the OOM killer, a power cut) left hidden .out.*.part.mp4 files, as big as what was
    encoded, that no later run removed; a temporary file of a run still going is kept."""
    import signal
    import subprocess
    import sys
    import time

    from app.core.fsutil import make_temp_beside

    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(150, 320, 180))
    mask = _write_mask(tmp_path / "m.png", _box(320, 180))
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parents[2] / "main.py"), "inpaint",
                             str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea", "--reencode-all"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.*.part.mp4")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the export ended before it could be killed: give the clip more frames"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = list(tmp_path.glob(".out.*.part.mp4"))
    assert left  # what a kill leaves (nothing can remove it then)
    running = make_temp_beside(out, "video")  # (this process's: an export still going)
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea", "--end", "2"]) == 0
    assert not any(p.exists() for p in left) and running.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["clip.mp4", "m.png", "out.mp4", running.name])


def test_the_system_python_without_the_packages_says_to_use_the_virtual_environment(tmp_path):
    """`python3 main.py ...` with a Python that has none of the packages (the system's, before
    `source .venv/bin/activate`) ended in a ModuleNotFoundError traceback for av or cv2."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    bare = tmp_path / "bare"  # a Python with the standard library alone, as the system's is
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(2, W, H))
    for argv in (["info", str(clip)], ["demo", "-o", str(tmp_path / "demo.mp4")]):
        done = subprocess.run([str(bare / "bin" / "python"), str(repo / "main.py"), *argv], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        line = done.stderr.strip().splitlines()[-1]
        assert "Traceback" not in done.stderr and line.startswith("error: this Python (")
        assert f"`{repo / '.venv' / 'bin' / 'python'} {repo / 'main.py'} ...`" in line
    assert not (tmp_path / "demo.mp4").exists()


def test_a_package_missing_from_the_virtual_environment_says_to_install_again(tmp_path, capsys, monkeypatch):
    import sys

    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(2, W, H))
    monkeypatch.setitem(sys.modules, "av", None)  # (`import av` fails as with the package not installed)
    monkeypatch.delitem(sys.modules, "app.core.video")
    monkeypatch.setattr(sys, "prefix", str(Path(__file__).resolve().parents[2] / ".venv"))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert main(["info", str(clip)]) == 2
    line = _one_error_line(capsys)
    assert "av is missing from" in line and "`.venv/bin/pip install -e .`" in line


def test_an_installed_program_missing_a_package_says_to_install_it_with_its_dependencies(tmp_path, capsys, monkeypatch):
    """Installed from the wheel with --no-deps there is no checkout and no .venv to point to."""
    import sys

    import app.cli

    installed = tmp_path / "site-packages" / "app"
    installed.mkdir(parents=True)
    monkeypatch.setattr(app.cli, "__file__", str(installed / "cli.py"))
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(2, W, H))
    monkeypatch.setitem(sys.modules, "av", None)
    monkeypatch.delitem(sys.modules, "app.core.video")
    assert main(["info", str(clip)]) == 2
    line = _one_error_line(capsys)
    assert "has no av module" in line and "with its dependencies" in line and "main.py" not in line


@pytest.mark.parametrize("name", ["tuned.mp4", "tuned.PNG"])
def test_a_training_output_named_as_a_video_is_refused_before_any_work(tmp_path, capsys, name):
    """finetune -o tuned.mp4 trained for a minute a step, then wrote the weights under a video's name."""
    argv = _train_argv(tmp_path)
    argv[argv.index("--output") + 1] = str(tmp_path / name)
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert name in line and "give a .pth file" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_under_torchrun_only_the_first_process_reports_the_steps(tmp_path):
    """docs/TRAINING.md's torchrun line: every process printed its own step lines (two different
    losses for one step, and a stray "step 0/1" from the second while the first read the clips)."""
    import json
    import subprocess
    import sys

    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(6, W, H))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(dict(channels=16, blocks=1, patch_sizes=[[8, 4], [4, 2]], width=64, height=32,
                                      sample_frames=2, disc_channels=8, val_every=0, val_at_start=False)))
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "app.cli_train",
                           "train", "--data", str(clip), "--config", str(config), "--steps", "2", "--device", "cpu",
                           "--log-every", "1", "-o", str(tmp_path / "out.pth")],
                          cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [line for line in done.stderr.splitlines() if line.startswith("train: step")]
    said = [line.split(",")[0] for line in steps]  # (lines at most every 10 s: step 1 may be held back)
    assert said[-1] == "train: step 2/2" and len(said) == len(set(said)) and "step 0/2" not in done.stderr, steps
    assert done.stdout.count("trained to step 2") == 1 and (tmp_path / "out.pth").is_file()


def test_the_video_given_as_its_own_mask_is_refused_before_any_work(tmp_path, capsys):
    """--mask clip.mp4 (the video again) read each frame's bright pixels as the mask and inpainted
    most of every frame: 292 frames at 972x540 had not finished after ten minutes on the CPU."""
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(4, W, H))
    assert main(["inpaint", str(clip), "--mask", str(clip), "-o", str(tmp_path / "o.mp4")]) == 2
    line = _one_error_line(capsys)
    assert "is the video itself" in line and "white = what to remove" in line
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("command", [["info"], ["inpaint", "--mask", "m.png", "-o", "o.mp4"],
                                     ["track", "--click", "5,5", "-o", "masks"]])
def test_a_project_given_as_the_video_names_its_video(tmp_path, capsys, monkeypatch, command):
    """A saved project (.sttnproj) given to the command line was 'Cannot open ... as a video; is it a
    complete video file?'."""
    import json

    monkeypatch.chdir(tmp_path)
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(2, W, H))
    _write_mask(tmp_path / "m.png", _box())
    project = tmp_path / "beach.sttnproj"
    project.write_text(json.dumps({"format": 1, "video": str(clip)}))
    assert main([command[0], str(project), *command[1:]]) == 2
    line = _one_error_line(capsys)
    assert "beach.sttnproj is a project of the window, not a video; give its video, " + str(clip) in line
    assert "Export masks as PNGs" in line and not (tmp_path / "o.mp4").exists() and not (tmp_path / "masks").exists()


@pytest.mark.parametrize("empty", ["video", "mask"])
def test_an_empty_file_is_said_to_be_empty(tmp_path, capsys, empty):
    """A 0-byte video was 'Cannot open clip.mp4 as a video (Invalid data found when processing
    input); is it a complete video file?', a 0-byte mask 'Cannot read mask image'."""
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(2, W, H))
    mask = _write_mask(tmp_path / "m.png", _box())
    (clip if empty == "video" else mask).write_bytes(b"")
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "o.mp4")]) == 2
    line = _one_error_line(capsys)
    assert f"{clip if empty == 'video' else mask} is empty (0 bytes)" in line and "again" in line
