"""The command line as a user runs it: one line on stderr and a non-zero exit for bad input."""
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from app.core.video import VideoReader

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clip_and_mask(make_clip, tmp_path):
    clip = make_clip(n=6, width=160, height=90, audio=True)
    m = np.zeros((90, 160), np.uint8)
    m[30:50, 60:100] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), m)
    return clip, tmp_path / "mask.png"


@pytest.mark.slow
def test_end_to_end_with_fixture_weights(clip_and_mask, fixture_weights, tmp_path):
    clip, mask = clip_and_mask
    out = tmp_path / "result.mp4"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "inpaint", str(clip), "--mask", str(mask), "--output", str(out),
         "--weights", str(fixture_weights), "--device", "cpu", "--max-refs", "0", "--dilate", "2"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Wrote" in proc.stdout and "6 inpainted" in proc.stdout
    with VideoReader(out) as o, VideoReader(clip) as i:
        assert (len(o), o.width, o.height, o.has_audio) == (6, 160, 90, True)
        diff = np.abs(o[3].astype(int) - i[3]).mean(axis=2)
        assert diff[30:50, 60:100].mean() > 10 * max(diff[:20].mean(), 0.5)


def run_cli(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def one_error_line(err):
    lines = [line for line in err if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in "\n".join(err), err
    return lines[0]


def test_bad_inputs_get_one_line(clip_and_mask, fixture_weights, tmp_path, capsys, make_clip, no_bundled_weights):
    clip, mask = clip_and_mask
    out = str(tmp_path / "o.mp4")
    w = ["--weights", str(fixture_weights)]
    cases = {
        "does not exist": ["inpaint", str(tmp_path / "nope.mp4"), "--mask", str(mask), "-o", out, *w],
        "Cannot open|no video stream": ["inpaint", str(ROOT / "pyproject.toml"), "--mask", str(mask), "-o", out, *w],
        "is the input video": ["inpaint", str(clip), "--mask", str(mask), "-o", str(clip), *w],
        "folder .* does not exist": ["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "x" / "o.mp4"), *w],
        "Mask .* does not exist": ["inpaint", str(clip), "--mask", str(tmp_path / "m.png"), "-o", out, *w],
        "not an STTN generator|Cannot read weights": ["inpaint", str(clip), "--mask", str(mask), "-o", out,
                                                      "--weights", str(mask)],
        "pass --weights": ["inpaint", str(clip), "--mask", str(mask), "-o", out, "--fill", "sttn"],
    }
    square = tmp_path / "square.png"
    cv2.imwrite(str(square), np.full((50, 50), 255, np.uint8))
    cases["another shape"] = ["inpaint", str(clip), "--mask", str(square), "-o", out, *w]
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((90, 160), 255, np.uint8))
    cases["has 3 images but the video has 6"] = ["inpaint", str(clip), "--mask", str(folder), "-o", out, *w]
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(clip.read_bytes()[:2000])
    cases["Cannot open|truncated|damaged"] = ["inpaint", str(truncated), "--mask", str(mask), "-o", out, *w]
    before = clip.read_bytes()
    import re

    for pattern, argv in cases.items():
        code, err = run_cli(capsys, *argv)
        assert code != 0, pattern
        assert re.search(pattern, one_error_line(err)), (pattern, err)
    assert clip.read_bytes() == before
    assert not Path(out).exists()


def test_bad_arguments_get_one_line_not_the_usage(capsys):
    """argparse's own errors (a malformed option, a missing argument) are one line naming --help."""
    for argv, what in ((["track", "x.mp4", "--click", "1a,100", "-o", "m"], "a click is X,Y"),
                       (["download-sam", "--sha256", "00"], "64 hexadecimal digits"),
                       (["inpaint"], "required")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert exc.value.code == 2 and len(err) == 1 and what in err[0] and "--help" in err[0], err


@pytest.mark.parametrize("given", [["--log-file", "run.log"], ["--log-file=run.log"], ["-v"]])
def test_a_program_option_after_the_command_says_where_it_goes(clip_and_mask, tmp_path, capsys, monkeypatch, given):
    """``inpaint ... --log-file run.log`` (as most tools take it) said "unrecognized arguments (did you
    mean --compile?)". The line says it is the program's option and gives the command with it in
    front, which runs."""
    clip, mask = clip_and_mask
    monkeypatch.chdir(tmp_path)
    argv = ["inpaint", str(clip), "--mask", str(mask), "-o", "o.mp4", "--fill", "telea", *given]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "did you mean" not in err[0], err
    assert f"{given[0].split('=')[0]} is an option of python main.py itself" in err[0], err
    fixed = err[0].split("put it before the command: ", 1)[1].split(" (see ")[0]
    assert fixed.startswith("python main.py " + " ".join(given) + " inpaint "), fixed
    assert main(shlex.split(fixed)[2:]) == 0 and (tmp_path / "o.mp4").is_file()
    assert "--log-file" not in given[0] or (tmp_path / "run.log").is_file()


def test_empty_mask_warns_and_copies(clip_and_mask, tmp_path, capsys):
    clip, _ = clip_and_mask
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), np.zeros((90, 160), np.uint8))
    code = main(["inpaint", str(clip), "--mask", str(empty), "-o", str(tmp_path / "copy.mp4")])
    captured = capsys.readouterr()
    assert code == 0 and "warning: The mask is empty" in captured.err
    assert "(6 frames, none inpainted, " in captured.out  # (it said "0 inpainted with nothing")
    with VideoReader(tmp_path / "copy.mp4") as o:
        assert len(o) == 6 and o.has_audio


def test_a_mask_empty_in_the_range_given_says_so_and_what_marks_a_removal(clip_and_mask, tmp_path, capsys):
    """A mask folder whose objects lie after --end said "The mask is empty", as if the file were
    wrong (measured: 10 masks, the first 5 black, --end 5); and no warning said what marks a removal."""
    clip, _ = clip_and_mask
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(6):
        m = np.zeros((90, 160), np.uint8)
        m[30:50, 60:100] = 255 if i >= 3 else 0
        cv2.imwrite(str(folder / f"{i:03d}.png"), m)
    assert main(["inpaint", str(clip), "--mask", str(folder), "-o", str(tmp_path / "a.mp4"), "--fill", "telea",
                 "--end", "3"]) == 0
    err = capsys.readouterr().err
    assert ("warning: The mask is empty in frames 0 to 2, the range given: nothing to remove, the video was copied "
            "through unchanged; white (non-zero) pixels mark what to remove.") in err, err
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), np.zeros((90, 160), np.uint8))
    assert main(["inpaint", str(clip), "--mask", str(empty), "-o", str(tmp_path / "b.mp4")]) == 0
    assert "warning: The mask is empty: nothing to remove, the video was copied through unchanged; white " \
           "(non-zero) pixels mark what to remove." in capsys.readouterr().err


def test_ctrl_c_over_a_file_to_replace_says_that_file_is_as_it_was(clip_and_mask, tmp_path, capsys, monkeypatch):
    """Ctrl-C in an inpaint to a name where a file was said only "no partial output was left": a user
    who had asked to replace a file did not know whether it was lost. The file is kept (the run
    writes beside it) and the line says so; a new name's line is unchanged."""
    import app.core.engine

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(app.core.engine, "fill_range", interrupted)  # (Ctrl-C in the middle of the fill)
    clip, mask = clip_and_mask
    out = tmp_path / "old.mp4"
    out.write_bytes(clip.read_bytes())
    argv = ["inpaint", str(clip), "--mask", str(mask), "--fill", "telea", "-o"]
    assert main(argv + [str(out)]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"cancelled: interrupted; no partial output was left; the file that was at {out} is as it was.")
    assert out.read_bytes() == clip.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["old.mp4", clip.name, mask.name])  # (no .part)
    assert main(argv + [str(tmp_path / "new.mp4")]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "cancelled: interrupted; no partial output was left."
    assert not (tmp_path / "new.mp4").exists()


def test_a_one_frame_result_is_said_in_the_singular(tmp_path, capsys):
    """A clip cut off after its first frame (a 30 % copy of a faststart mp4) ended "Wrote a.mp4 (1 frames,
    1 inpainted with telea, ...)"."""
    frame = tmp_path / "still.png"
    cv2.imwrite(str(frame), np.full((48, 64, 3), 90, np.uint8))
    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 10:30] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    assert main(["inpaint", str(frame), "--mask", str(tmp_path / "mask.png"), "-o", str(tmp_path / "a.mp4"),
                 "--fill", "telea"]) == 0
    assert f"Wrote {tmp_path / 'a.mp4'} (1 frame, 1 inpainted with telea, " in capsys.readouterr().out


def test_an_output_named_only_by_its_suffix_asks_for_a_name(clip_and_mask, tmp_path, capsys):
    """-o out/.mp4 said "end the name with .mp4" of a name that does (".mp4" alone: a hidden file with
    no suffix)."""
    clip, mask = clip_and_mask
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / ".mp4"), "--fill", "telea"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / '.mp4'}: give the file a name before .mp4, e.g. clean.mp4."], err
    assert not (tmp_path / ".mp4").exists()


def test_without_weights_fills_by_propagation(clip_and_mask, tmp_path, capsys, no_bundled_weights):
    clip, mask = clip_and_mask
    code = main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "p.mp4")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "note: no STTN weights" in captured.err and "propagate+telea" in captured.out
    with VideoReader(tmp_path / "p.mp4") as o:
        assert len(o) == 6 and o.has_audio


def test_the_summary_of_a_sub_range_gives_the_rate_of_the_whole_file(clip_and_mask, tmp_path, capsys):
    """Over a sub-range most frames are only copied: "0.18 inpainted frames/s" (the frames inpainted
    over the time of the whole file) read as if inpainting were that slow. The count inpainted is
    said once ("10 inpainted with telea, ..., 97.0 frames/s written, 10 of them inpainted" said it twice)."""
    clip, mask = clip_and_mask
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "r.mp4"), "--fill", "telea",
                 "--start", "2", "--end", "4"]) == 0
    out = capsys.readouterr().out
    assert "(6 frames, 2 inpainted with telea" in out and "frames/s written)" in out, out
    assert "inpainted frames/s" not in out and "of them inpainted" not in out  # (said once, at the front)


def test_demo_runs_headless(tmp_path, capsys):
    (tmp_path / "demo.mp4").write_bytes(b"an earlier demo")  # (replaced, and said: "it replaced the file there")
    code = main(["demo", "--output", str(tmp_path / "demo.mp4")])
    out = capsys.readouterr().out
    assert code == 0 and f"{(tmp_path / 'demo.mp4').resolve()} (it replaced the file there)." in out, out
    from app.core import paths

    with VideoReader(tmp_path / "demo.mp4") as o, VideoReader(paths.demo_clip()) as i:
        assert len(o) == len(i) and o.has_audio
        logo = cv2.imread(str(paths.demo_mask()), cv2.IMREAD_GRAYSCALE) > 0
        # The burnt-in logo is white; after inpainting the masked area is no longer bright text.
        assert o[20][logo].mean() < i[20][logo].mean() - 20


def test_help_explains_options(capsys):
    with pytest.raises(SystemExit):
        main(["inpaint", "--help"])
    text = capsys.readouterr().out
    for option in ("--mask", "--weights", "--device", "--dilate", "--start", "--end", "--max-refs", "--crop-to-mask"):
        assert option in text


def test_info(clip_and_mask, capsys):
    clip, _ = clip_and_mask
    assert main(["info", str(clip)]) == 0
    assert "frames=6 width=160 height=90" in capsys.readouterr().out


def test_info_gives_an_ntsc_rate_as_people_write_it(make_clip, capsys):
    """A 30000/1001 clip said fps=29.97002997002997."""
    clip = make_clip(n=3, fps=30000 / 1001, name="ntsc.mp4")
    assert main(["info", str(clip)]) == 0
    assert " fps=29.97 " in capsys.readouterr().out


def test_encoder_preset_option(clip_and_mask, tmp_path, capsys):
    clip, mask = clip_and_mask
    out = tmp_path / "fast.mp4"
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea",
                 "--preset", "ultrafast"]) == 0
    with VideoReader(out) as o:
        assert (len(o), o.has_audio) == (6, True)
    with pytest.raises(SystemExit) as exc:
        main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "x.mp4"), "--preset", "warp"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_a_mask_of_another_size_is_scaled_and_says_so(clip_and_mask, tmp_path, capsys):
    """A mask drawn at another size (the video's shape, e.g. on a 1080p copy of a 720p clip) is scaled
    to the video; the command line said nothing, so a mask drawn for another video went unnoticed."""
    clip, _ = clip_and_mask
    big = np.zeros((180, 320), np.uint8)
    big[60:100, 120:200] = 255  # (the same box at twice the size)
    cv2.imwrite(str(tmp_path / "big.png"), big)
    assert main(["inpaint", str(clip), "--mask", str(tmp_path / "big.png"), "-o", str(tmp_path / "s.mp4"),
                 "--fill", "telea"]) == 0
    err = capsys.readouterr().err
    assert "warning: The mask is 320x180 and was scaled to the video's 160x90" in err, err
    assert main(["inpaint", str(clip), "--mask", str(clip_and_mask[1]), "-o", str(tmp_path / "t.mp4"),
                 "--fill", "telea"]) == 0
    assert "scaled" not in capsys.readouterr().err  # (a mask of the video's size says nothing)


def test_an_end_past_the_video_says_it_was_cut_to_the_last_frame(clip_and_mask, tmp_path, capsys):
    """``--end 400`` on a 6-frame clip was cut to the clip's end without a word: a --end counted on
    another video (or at another rate) went unnoticed."""
    clip, mask = clip_and_mask
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "e.mp4"), "--fill", "telea",
                 "--start", "3", "--end", "400"]) == 0
    captured = capsys.readouterr()
    assert "(6 frames, 3 inpainted with telea" in captured.out, captured.out
    notes = [line for line in captured.err.splitlines() if "--end" in line]
    assert notes == ["note: --end 400 is past this 6-frame video's end; inpainting to its last frame (5)."], notes
    with VideoReader(tmp_path / "e.mp4") as o:
        assert len(o) == 6
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "f.mp4"), "--fill", "telea",
                 "--start", "3", "--end", "6"]) == 0
    assert "--end" not in capsys.readouterr().err  # (the frame after the last: exactly the end, no note)


def test_the_end_past_note_comes_before_the_work_not_after_it(clip_and_mask, tmp_path, capsys, monkeypatch):
    """The ``--end`` note was printed after the run (minutes on a long clip, the mistake seen only
    then); it comes before the first progress line, and an empty mask (no progress: the video is
    copied) still says it, after."""
    from app.cliutil import TqdmProgress

    monkeypatch.setattr(TqdmProgress, "every", 0.0)  # (a progress line at every report, as under nohup)
    clip, mask = clip_and_mask
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "e.mp4"), "--fill", "telea",
                 "--end", "400"]) == 0
    err = capsys.readouterr().err.splitlines()
    note = [i for i, line in enumerate(err) if line.startswith("note: --end 400")]
    progress = [i for i, line in enumerate(err) if line.startswith("inpaint: ")]
    assert len(note) == 1 and progress and note[0] < progress[0], err
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), np.zeros((90, 160), np.uint8))
    assert main(["inpaint", str(clip), "--mask", str(empty), "-o", str(tmp_path / "c.mp4"), "--end", "9"]) == 0
    err = capsys.readouterr().err
    assert "note: --end 9 is past this 6-frame video's end; copied to its last frame (5)." in err, err


def test_the_end_past_note_counts_on_the_run_s_own_reader(make_clip, tmp_path, capsys, monkeypatch):
    """The ``--end`` note opened and indexed the input a second time to count its frames (and the
    export notes a third, after the run): on an hour of video on a slow disk, a pass over the whole
    file each. The run's reader is indexed once, and the note still comes before the first frame is
    worked on."""
    import app.core.engine as engine
    from app.core import video

    clip = make_clip(n=6, width=64, height=48, name="clip.mkv")  # (Matroska: indexed by a pass over it)
    mask = tmp_path / "m.png"
    m = np.zeros((48, 64), np.uint8)
    m[10:20, 20:40] = 255
    cv2.imwrite(str(mask), m)
    indexed = []
    index = video.VideoReader._index_timestamps
    monkeypatch.setattr(video.VideoReader, "_index_timestamps",
                        lambda self, *a: (indexed.append(self.path), index(self, *a))[1])
    said = []
    fill = engine.fill_range
    monkeypatch.setattr(engine, "fill_range", lambda *a, **k: (said.append(capsys.readouterr().err), fill(*a, **k))[1])
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "o.mp4"), "--fill", "telea",
                 "--end", "400"]) == 0
    assert indexed == [clip], indexed  # (the export notes too are taken from the run's reader)
    assert len(said) == 1 and "note: --end 400 is past this 6-frame video's end" in said[0], said


def test_an_output_that_exists_is_replaced_and_the_summary_says_so(clip_and_mask, tmp_path, capsys):
    """A file at -o was replaced without a word (a typo'd name over last week's export went
    unnoticed). It is still replaced (scripts run again rely on that), and the line the run ends
    with says so; a new name says nothing of the kind."""
    clip, mask = clip_and_mask
    out = tmp_path / "clean.mp4"
    argv = ["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea", "--end", "2"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert first.startswith(f"Wrote {out} (6 frames") and "replacing" not in first, first
    out.write_bytes(b"last week's export")
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"Wrote {out}, replacing the file there (6 frames"), out
    with VideoReader(out) as o:
        assert len(o) == 6


def _options(parser, command=()):
    """(command words, option action) for every option taking a value, in every subcommand."""
    import argparse

    for action in parser._actions:  # noqa: SLF001 - argparse has no public API for its actions
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                yield from _options(sub, (*command, name))
        elif action.option_strings and action.nargs != 0:
            yield command, action


def test_every_option_shows_a_meaningful_placeholder_not_its_name(capsys):
    """``--dilate DILATE``, ``--start START``, ``--end END``: argparse's placeholder (the option's
    own name upper-cased) says nothing; each option names what it takes (PX, FRAME, PATH, N, ...)."""
    from app.cli import build_parser

    options = list(_options(build_parser()))
    assert {c[0] for c, _ in options if c} >= {"inpaint", "demo", "track", "train", "finetune", "evaluate"}
    bare = [f"{' '.join(c)} {a.option_strings[0]}" for c, a in options
            if a.choices is None and (a.metavar or a.dest.upper()) == a.dest.upper()]
    assert not bare, bare
    with pytest.raises(SystemExit):
        main(["inpaint", "--help"])
    text = capsys.readouterr().out
    for shown in ("--dilate PX", "--start FRAME", "--end FRAME", "--mask PATH", "--fps RATE", "--crop-margin PX"):
        assert shown in text, shown
    assert "DILATE" not in text and "START" not in text


def test_top_level_help_lists_the_first_commands_first_with_examples_that_parse(capsys):
    """``--help`` listed track eighth, after finetune, train and evaluate, and showed no example; it
    lists inpaint, track, info and demo first, then examples to paste, which this parser takes."""
    import shlex

    from app.cli import build_parser

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    listed = [line.split()[0] for line in text.split("COMMAND\n", 1)[1].split("\noptions:")[0].splitlines()
              if line.startswith("    ") and not line.startswith("     ")]
    assert listed[:5] == ["inpaint", "track", "info", "demo", "gui"], listed
    assert sorted(listed) == sorted(build_parser()._subparsers._group_actions[0].choices), listed  # noqa: SLF001
    examples = [line.strip() for line in text.split("examples:", 1)[1].splitlines()
                if line.strip().startswith("python main.py") and "COMMAND" not in line]
    assert len(examples) == 3 and max(len(line) for line in text.splitlines()) <= 80, text
    for line in examples:
        args = build_parser().parse_args(shlex.split(line)[2:])
        assert args.command in ("inpaint", "track"), line


def _progress_lines(monkeypatch, reports):
    """The lines a progress sink prints without a terminal (nohup, a pipe), a line at every report."""
    from app.cliutil import TqdmProgress

    printed = []
    monkeypatch.setattr(TqdmProgress, "every", 0.0)
    monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    sink = TqdmProgress("inpaint", disable=True)
    sink.lines = True
    for p in reports:
        sink._line(p)  # noqa: SLF001 - the line-printing half alone, without a tqdm bar
    return printed


def test_work_done_before_the_first_frame_is_written_prints_a_progress_line(monkeypatch):
    """Inpainting from frame 0 reports its work (propagating, then filling a chunk of up to 60
    frames) before the first frame is written; without a terminal those reports printed no line:
    with the STTN fill on a CPU, one line in 3 minutes (a 24-frame chunk, README: every 30 s)."""
    from app.core.jobs import Progress

    printed = _progress_lines(monkeypatch, [Progress(0, 80, "inpaint", 30.0, work=0.4)])
    assert printed == ["inpaint: 40% (0/80 frames written), 00:30 so far, about 00:45 left"], printed
    printed = _progress_lines(monkeypatch, [Progress(0, 80, "inpaint", 5.0, work=0.0),
                                            Progress(80, 80, "inpaint", 90.0, work=1.0),
                                            Progress(0, 80, "tracking", 5.0)])  # (by the count: no ETA at 0)
    assert printed == [], printed


def test_inpainting_from_frame_0_says_its_progress_before_a_frame_is_written(clip_and_mask, tmp_path, capsys,
                                                                            monkeypatch):
    from app.cliutil import TqdmProgress

    monkeypatch.setattr(TqdmProgress, "every", 0.0)  # (a line at every report, as under nohup)
    clip, mask = clip_and_mask
    assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(tmp_path / "o.mp4"),
                 "--fill", "propagate+telea"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("inpaint: ")]
    assert any("(0/6 frames written)" in line for line in lines), lines


def test_a_count_that_waits_for_a_batch_says_it_counts_frames_written(monkeypatch, capsys):
    """propagate+sttn on a 10-frame clip printed "inpaint: 97% (0/10 frames), 00:28 so far" (measured
    on schoolgirls, a 2-core CPU): the frames are written when their chunk (up to 60) is filled, so
    the count stayed 0 until the end while the share of the work moved, and read as stuck. The line
    and the bar now say what is counted."""
    from app.cliutil import TqdmProgress
    from app.core.jobs import Progress

    printed = _progress_lines(monkeypatch, [Progress(0, 10, "inpaint", 28.0, work=0.97)])
    assert printed == ["inpaint: 97% (0/10 frames written), 00:28 so far, about 00:00 left"], printed
    capsys.readouterr()
    with TqdmProgress("inpaint", disable=False) as bar:  # (the bar on a terminal)
        bar(Progress(0, 10, "inpaint", elapsed=28.0, work=0.97))
    drawn = capsys.readouterr().err.replace("\r", "\n").splitlines()
    assert any(d.startswith("inpaint:  97%|") and d.endswith("| 0/10 frames written, 00:28 so far, about 00:00 left")
               for d in drawn), drawn


def test_finetune_help_names_the_work_folder_the_run_uses(tmp_path, capsys):
    """--workdir's help said "OUT.pth's name + '.train'", read as tuned.pth.train; the folder is
    tuned.train beside tuned.pth (the one --resume looks in)."""
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: OUT.train beside OUT.pth)" in text, text
    assert main(["finetune", "--resume", "--output", str(tmp_path / "tuned.pth")]) == 2
    assert str(tmp_path / "tuned.train" / "checkpoints" / "last.pt") in capsys.readouterr().err
