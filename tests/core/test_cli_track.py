"""`track` on the command line: click, track, then `inpaint --mask` on the folder it writes."""
import json

import cv2
import numpy as np
import pytest

from app.cli import main
from app.core.segment import mask_iou
from app.core.video import VideoReader, write_test_clip

N, W, H, R = 8, 128, 96, 14
ORANGE = (240, 120, 20)


def disc_mask(i):
    yy, xx = np.mgrid[:H, :W]
    return (xx - (34 + 6 * i)) ** 2 + (yy - (46 + 2 * i)) ** 2 <= R ** 2


@pytest.fixture
def disc_clip(tmp_path):
    """An orange disc moving right over a grey, smoothly textured background."""
    rng = np.random.default_rng(1)
    tex = cv2.resize(rng.integers(60, 150, (H // 8, W // 8), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    frames = []
    for i in range(N):
        f = np.repeat(tex[..., None], 3, axis=2)
        f[disc_mask(i)] = ORANGE
        frames.append(f)
    return write_test_clip(tmp_path / "disc.mp4", frames, fps=10)


def read_masks(folder):
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 0 for p in sorted(folder.glob("*.png"))]


def test_click_track_then_inpaint(disc_clip, tmp_path, capsys, no_bundled_weights):
    out, info = tmp_path / "masks", tmp_path / "flags.json"
    assert main(["track", str(disc_clip), "--click", "34,46", "-o", str(out), "--json", str(info)]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {N} masks to {out}" in printed and "inpaint" in printed
    masks = read_masks(out)
    assert len(masks) == N
    assert min(mask_iou(m, disc_mask(i)) for i, m in enumerate(masks)) > 0.7
    assert json.loads(info.read_text())["keyframes"] == [0]
    assert not list(tmp_path.glob(".masks.partial-*"))

    # the folder is what `inpaint --mask` takes: the disc is gone from the result
    result = tmp_path / "clean.mp4"
    assert main(["inpaint", str(disc_clip), "--mask", str(out), "--dilate", "3", "-o", str(result)]) == 0
    with VideoReader(result) as r:
        assert len(r) == N
        for i in (0, 4, 7):
            inside = r[i][disc_mask(i)].astype(int)
            # orange is far from the grey background in red minus blue; the fill is grey
            assert np.median(inside[:, 0] - inside[:, 2]) < 40, i


def test_range_keyframes_box_and_corrections(disc_clip, tmp_path, capsys):
    """Clicks on two frames make two keyframes; frames outside --start/--end get empty masks so
    the folder still has one mask per frame (and the summary says so); a box alone selects too;
    --not corrects."""
    out = tmp_path / "m"
    code = main(["track", str(disc_clip), "--click", "46,50,2", "--box", "50,38,86,74,5", "--not", "120,90,2",
                 "--start", "1", "--end", "7", "-o", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"Wrote {N} masks to {out} (tracked frames 1..6 in " in printed and f"; the other {N - 6} empty)." in printed
    masks = read_masks(out)
    assert len(masks) == N and not masks[0].any() and not masks[7].any()
    assert min(mask_iou(masks[i], disc_mask(i)) for i in range(1, 7)) > 0.7


@pytest.mark.parametrize("argv, says", [
    (["--click", "500,20"], "outside the 128x96 frame"),
    (["--click", "30,30,99"], "outside the video"),
    (["--not", "30,30"], "only --not points"),
    (["--click", "34,46", "--not", "90,40#2"], "only --not points for object 2"),
    (["--box", "20,30,50,60#2", "--box", "22,30,50,60#2"], "Two boxes for object 2"),
    ([], "Nothing to track"),
    (["--click", "34,46,6", "--end", "5"], "outside the range"),
    (["--click", "34,46,20"], "Frame 20 is outside the video (frames 0..7); give a frame in that range"),
    (["--click", "34,46", "--start", "5", "--end", "5"], "--end 5 is not after --start 5: --end is the frame after the "
                                                         "last to track (--start 5 --end 6 tracks frame 5 alone)"),
    (["--click", "34,46", "--start", "8"], "--start 8 is past the last frame of this 8-frame video (frames 0 to 7); "
                                           "give a --start below 8"),  # (was: "Empty range 8..8", nothing to do)
    (["--click", "34,46", "-o", "disc.mp4/masks"], "disc.mp4 is a file, not a folder"),  # (was: "does not exist")
])
def test_bad_input_gets_one_line_and_leaves_nothing(disc_clip, tmp_path, capsys, argv, says):
    out = tmp_path / "masks"
    argv = [str(tmp_path / a) if a.startswith("disc.mp4/") else a for a in argv]
    assert main(["track", str(disc_clip), "-o", str(out), *argv]) != 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and says in err[0], err
    assert not out.exists() and not list(tmp_path.glob(".masks.partial-*"))


def test_existing_output_is_never_overwritten(disc_clip, tmp_path, capsys):
    out = tmp_path / "masks"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["track", str(disc_clip), "--click", "34,46", "-o", str(out)]) != 0
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


def test_json_inside_the_new_mask_folder_is_written_there_and_inpaint_takes_the_folder(disc_clip, tmp_path, capsys):
    """`--json masks/flags.json` was refused ("folder masks does not exist; create it"), and a masks
    folder created for it was then refused as existing: the two advices went round in a circle."""
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), "--click", "34,46", "--end", "3", "-o", str(out),
                 "--json", str(out / "flags.json")]) == 0
    assert json.loads((out / "flags.json").read_text())["range"] == [0, 3] and len(read_masks(out)) == N
    result = tmp_path / "clean.mp4"
    assert main(["inpaint", str(disc_clip), "--mask", str(out), "--end", "3", "--fill", "telea", "-o",
                 str(result)]) == 0
    assert "error" not in capsys.readouterr().err


def test_output_that_is_a_link_to_nothing_is_refused_before_any_work(disc_clip, tmp_path, capsys):
    """A dangling symlink does not exist for Path.exists(): the run tracked every frame, then its rename
    onto the link failed with a traceback (NotADirectoryError) and the masks were lost."""
    out = tmp_path / "masks"
    out.symlink_to(tmp_path / "gone")
    assert main(["track", str(disc_clip), "--click", "34,46", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "already exists" in err and "selected" not in err
    assert out.is_symlink() and not list(tmp_path.glob(".masks.partial-*"))


@pytest.mark.parametrize("click", ["34;46", "34,46#x", "34,46#0", "34,46,1,2"])
def test_malformed_click_is_a_usage_error(disc_clip, tmp_path, capsys, click):
    with pytest.raises(SystemExit) as exc:
        main(["track", str(disc_clip), "--click", click, "-o", str(tmp_path / "m")])
    assert exc.value.code == 2 and "X,Y or X,Y,FRAME" in capsys.readouterr().err


def test_two_objects_by_number_are_each_selected_and_followed(tmp_path, capsys):
    """Two discs touching on frame 0 and moving apart: ``#2`` marks the clicks on the second, so
    each is selected from its own click and followed on its own (one click on each without a
    number would make the second correct the first)."""
    def pair(i, which):
        yy, xx = np.mgrid[:H, :W]
        cx = 44 - i if which == 0 else 70 + 4 * i
        return (xx - cx) ** 2 + (yy - 48) ** 2 <= 13 ** 2

    rng = np.random.default_rng(3)
    tex = cv2.resize(rng.integers(60, 150, (H // 8, W // 8), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    frames = []
    for i in range(N):
        f = np.repeat(tex[..., None], 3, axis=2)
        f[pair(i, 0)], f[pair(i, 1)] = ORANGE, (30, 60, 230)
        frames.append(f)
    clip = write_test_clip(tmp_path / "pair.mp4", frames, fps=10)
    out = tmp_path / "m"
    assert main(["track", str(clip), "--click", "44,48", "--click", "70,48#2", "-o", str(out)]) == 0
    assert "for object 2" in capsys.readouterr().err
    masks = read_masks(out)
    for i in range(N):
        assert mask_iou(masks[i], pair(i, 0) | pair(i, 1)) > 0.75, i


def test_interrupted_tracking_leaves_no_folder(disc_clip, tmp_path, monkeypatch, capsys):
    """A run stopped half-way (Ctrl+C, a crash in the tracker) removes its partial folder."""
    import app.core.segment as segment

    real = segment.track

    def stop_half_way(get_frame, n, keys, seg, on_mask=None, **kw):
        def first_three(step):
            on_mask(step)
            if step.index >= 3:
                raise KeyboardInterrupt
        return real(get_frame, n, keys, seg, on_mask=first_three, **kw)

    monkeypatch.setattr(segment, "track", stop_half_way)
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), "--click", "34,46", "-o", str(out)]) != 0
    assert "cancelled" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".masks.partial-*"))


def test_sam_device_defaults_to_the_gpu_when_present(disc_clip, tmp_path, monkeypatch, capsys):
    """Without --device, SAM goes to CUDA when PyTorch sees a GPU (as the GUI does); the CPU otherwise."""
    import torch

    from app.core.errors import InpaintError
    from app.core.segment.sam import SamSegmenter

    asked = []

    def record(path, model_type=None, device="cpu", cache_size=4):
        asked.append(device)
        raise InpaintError("stopped after choosing the device")

    monkeypatch.setattr(SamSegmenter, "from_checkpoint", staticmethod(record))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)  # the same answer on a Mac
    argv = ["track", str(disc_clip), "--click", "34,46", "--sam", str(tmp_path / "sam_vit_b_01ec64.pth")]
    for gpu, want in ((True, "cuda"), (False, "cpu")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
        assert main([*argv, "-o", str(tmp_path / f"masks_{want}")]) != 0
        assert asked[-1] == want
        assert not (tmp_path / f"masks_{want}").exists()
    assert "stopped after choosing the device" in capsys.readouterr().err


def test_unavailable_sam_device_is_one_line_before_any_work(disc_clip, tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "masks"
    code = main(["track", str(disc_clip), "--click", "34,46", "--sam", str(tmp_path / "sam_vit_b_01ec64.pth"),
                 "--device", "cuda", "-o", str(out)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code != 0 and len(err) == 1 and "CUDA was asked for" in err[0] and "--device cpu" in err[0], err
    assert not out.exists()


def test_keyframe_masks_from_files_start_the_tracking(disc_clip, tmp_path, capsys):
    """A mask drawn elsewhere (half the video's size, same shape) is a keyframe: tracked from it
    like from a click. Fixing a folder without the GUI: a frame of a run's output, corrected,
    given back with --keyframe MASK,FRAME comes back exactly and the tracking starts from it."""
    drawn = tmp_path / "drawn.png"
    cv2.imwrite(str(drawn), cv2.resize(disc_mask(0).astype(np.uint8) * 255, (W // 2, H // 2),
                                       interpolation=cv2.INTER_NEAREST))
    out, info = tmp_path / "a", tmp_path / "a.json"
    assert main(["track", str(disc_clip), "--keyframe", str(drawn), "-o", str(out), "--json", str(info)]) == 0
    masks = read_masks(out)
    assert min(mask_iou(m, disc_mask(i)) for i, m in enumerate(masks)) > 0.7
    assert json.loads(info.read_text())["keyframes"] == [0]
    fixed = tmp_path / "fixed_5.png"
    cv2.imwrite(str(fixed), disc_mask(5).astype(np.uint8) * 255)  # frame 5, corrected by hand
    again = tmp_path / "b"
    assert main(["track", str(disc_clip), "--click", "34,46", "--keyframe", f"{fixed},5", "-o", str(again)]) == 0
    masks = read_masks(again)
    assert np.array_equal(masks[5], disc_mask(5))
    assert min(mask_iou(m, disc_mask(i)) for i, m in enumerate(masks)) > 0.7


@pytest.mark.parametrize("kind, says", [
    ("missing", "does not exist"),
    ("shape", "another shape"),
    ("empty", "is empty"),
    ("frame", "outside the video"),
    ("folder", "is a folder; give one image of it"),  # (it said the folder "does not exist")
])
def test_bad_keyframe_mask_gets_one_line(disc_clip, tmp_path, capsys, kind, says):
    path = tmp_path / "k.png"
    if kind == "folder":
        path = tmp_path / "earlier"
        path.mkdir()
    elif kind != "missing":
        mask = np.zeros((H, H) if kind == "shape" else (H, W), np.uint8)
        if kind != "empty":
            mask[40:50, 30:40] = 255
        cv2.imwrite(str(path), mask)
    spec = f"{path},{N + 3}" if kind == "frame" else str(path)
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), "--keyframe", spec, "-o", str(out)]) != 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and says in err[0], err
    assert not out.exists() and not list(tmp_path.glob(".masks.partial-*"))


@pytest.mark.parametrize("box", ["200,10,300,60", "-50,-50,-10,-10", "10,100,60,120"])
def test_box_outside_the_frame_is_one_line(disc_clip, tmp_path, capsys, box):
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), f"--box={box}", "-o", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and f"Box {box} on frame 0 lies outside the 128x96 frame" in err[0], err
    assert not out.exists()


def test_box_partly_outside_is_clipped_to_the_frame(disc_clip, tmp_path):
    """A box that runs past the frame's edge selects what lies inside it (the disc touches no edge
    of the clipped box, so the cut is the disc)."""
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), "--box=-5,28,52,64", "--end", "2", "-o", str(out)]) == 0
    assert mask_iou(read_masks(out)[0], disc_mask(0)) > 0.7


def test_negative_coordinates_are_values_not_options(disc_clip, tmp_path, capsys):
    """`--box -5,28,52,64` (the way the help writes it, without `=`) was a usage error, "expected one
    argument": argparse took the value for an option. A click left of the frame is said as such."""
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), "--box", "-5,28,52,64", "--end", "2", "-o", str(out)]) == 0
    assert mask_iou(read_masks(out)[0], disc_mask(0)) > 0.7
    assert main(["track", str(disc_clip), "--click", "-3,40", "-o", str(tmp_path / "m2")]) == 2
    assert "Click -3,40 on frame 0 lies outside the 128x96 frame" in capsys.readouterr().err


def test_a_box_alone_selects_the_dog(clips_dir, tmp_path, capsys):
    """dogs_jump frame 0: a box around the big dog selected 0 px, a looser one 2 px (the cut's
    background was only a narrow margin around the box, sky and grass like the dog's colours)."""
    for i, box in enumerate(("230,120,280,190", "215,110,290,195")):
        out = tmp_path / f"masks{i}"
        assert main(["track", str(clips_dir / "dogs_jump.mp4"), "--box", box, "--end", "1", "-o", str(out)]) == 0
        m = cv2.imread(str(out / "00000.png"), cv2.IMREAD_GRAYSCALE) > 0
        x0, y0, x1, y1 = map(int, box.split(","))
        inside = np.zeros_like(m)
        inside[y0 - 2:y1 + 2, x0 - 2:x1 + 2] = True  # (the cut runs on a scaled copy: a pixel or two over)
        assert 1500 < m.sum() < 3000 and not (m & ~inside).any(), (box, m.sum())  # the dog: about 2,000 px
    assert "frame 0: selected" in capsys.readouterr().err


def test_a_box_that_selects_nothing_is_named(disc_clip, tmp_path, capsys, monkeypatch):
    from app.core.segment import Candidate, GrabCutSegmenter

    monkeypatch.setattr(GrabCutSegmenter, "predict",
                        lambda self, *a, **k: [Candidate(np.zeros((H, W), bool), 0.0)])
    assert main(["track", str(disc_clip), "--box", "20,30,50,60", "-o", str(tmp_path / "m")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "The box 20,30,50,60 on frame 0 selected nothing" in err[0], err
    assert "click" not in err[0].split("selected nothing")[0]
    # --preview says the same (it said "The clicks ... selected nothing; click inside the object" to a box)
    assert main(["track", str(disc_clip), "--box", "20,30,50,60", "--preview", str(tmp_path / "s.png")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "The box 20,30,50,60 on frame 0 for object 1 selected nothing" in err[0], err
    assert "draw the box closely" in err[0] and not (tmp_path / "s.png").exists()


def test_frame_folder_numbered_without_padding_is_read_in_frame_order(tmp_path, capsys):
    """frame_1.png .. frame_12.png (no leading zeros, as many exporters name them) are frames 1..12, as a file
    manager shows them: sorted as text, frame_10 came right after frame_1, so the disc jumped about, the tracker
    lost it on the frame after frame_12 and the masks (and `inpaint`'s output) followed that order. A hidden
    ._frame_1.png (macOS copies them onto other disks) is no frame: it stopped the run as an unreadable image."""
    n = 12
    rng = np.random.default_rng(1)
    tex = cv2.resize(rng.integers(60, 150, (H // 8, W // 8), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    folder = tmp_path / "frames"
    folder.mkdir()
    discs = []
    for i in range(n):
        discs.append(disc_mask(i))
        f = np.repeat(tex[..., None], 3, axis=2)
        f[discs[-1]] = ORANGE
        cv2.imwrite(str(folder / f"frame_{i + 1}.png"), f[..., ::-1])
    (folder / "._frame_1.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    out = tmp_path / "masks"
    assert main(["track", str(folder), "--click", "34,46", "-o", str(out)]) == 0
    masks = read_masks(out)
    assert len(masks) == n
    assert min(mask_iou(m, d) for m, d in zip(masks, discs)) > 0.7
    assert "flagged" not in capsys.readouterr().out
    result = tmp_path / "clean.mp4"
    assert main(["inpaint", str(folder), "--mask", str(out), "--fill", "telea", "-o", str(result)]) == 0
    with VideoReader(result) as r:
        assert len(r) == n
        inside = r[9][discs[9]].astype(int)  # frame_10.png, the disc removed where it is on that frame
        assert np.median(inside[:, 0] - inside[:, 2]) < 40


def test_progress_without_a_terminal_is_lines_of_text(disc_clip, tmp_path, capsys, monkeypatch):
    """Under nohup, a scheduler or a pipe stderr is no terminal: the tqdm bar was turned off and a
    long run said nothing between its selection and its end. Now a plain line at most every
    ``TqdmProgress.every`` seconds (30; none for a run done sooner) gives the count and the time left."""
    from app.cliutil import TqdmProgress

    monkeypatch.setattr(TqdmProgress, "every", 0.0)
    assert main(["track", str(disc_clip), "--click", "34,46", "-o", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err.splitlines()
    lines = [line for line in err if line.startswith("track: ")]
    assert lines and all("\r" not in line and "\x1b" not in line for line in err), err
    assert f"(1/{N} frames)" in lines[0] and "left" in lines[0], lines
    assert not any(f"({N}/{N}" in line for line in lines)  # the summary says the end


def test_progress_lines_count_each_stage_on_its_own(capsys, monkeypatch):
    """`inpaint` reports its frames, then the copy of the rest: the copy's first line was timed from the
    start of the run ("1/292 frames, about 1:35:34 left")."""
    from app.cliutil import TqdmProgress
    from app.core.jobs import Progress

    monkeypatch.setattr(TqdmProgress, "every", 0.0)
    with TqdmProgress("inpaint", disable=None) as bar:
        bar.lines = True
        bar(Progress(100, 224, "inpaint", elapsed=20.0))
        bar(Progress(146, 292, "copy", elapsed=1.0))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("inpaint: 45% (100/224 frames), 00:20 so far, about 00:24 left"), lines
    assert lines[1].startswith("inpaint (copy): 50% (146/292 frames), 00:01 so far, about 00:01 left"), lines


def test_a_killed_runs_hidden_folder_is_removed_and_a_live_ones_kept(disc_clip, tmp_path, no_bundled_weights):
    """kill -9 (or a power cut) during `track` leaves its hidden .NAME.partial-PID folder: the next
    run into the same output deletes it once its process is gone, and leaves a running one's."""
    import os
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # (reaped: its id names no process now)
    dead = tmp_path / f".masks.partial-{child.pid}"
    live = tmp_path / f".masks.partial-{os.getppid()}"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "00000.png").write_bytes(b"half")
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), "--click", "34,46", "-o", str(out)]) == 0
    assert not dead.exists() and live.exists() and len(read_masks(out)) == N


def test_verbose_logs_each_frame_tracked(disc_clip, tmp_path, caplog, no_bundled_weights):
    """`-v track` says what it does frame by frame (it logged nothing): the pixels found, the
    keyframe followed and any flag, for a user working out where a run went wrong."""
    import logging

    caplog.set_level(logging.INFO, logger="app.track")
    assert main(["-v", "track", str(disc_clip), "--click", "34,46", "-o", str(tmp_path / "masks")]) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "app.track"]
    assert len(lines) == N and lines[0].startswith("frame 0: ") and "from keyframe 0" in lines[-1], lines


def test_a_stage_reported_by_its_work_shows_the_share_of_work_and_its_frames(capsys, monkeypatch):
    """An inpaint of 10 frames in a 292-frame clip reports half its work done at frame 10: the line
    and the bar say 50 % and the time left by it, not 3 % and 'about 10:24 left' (the count's
    reckoning: ten times the real time), and still count the frames."""
    from app.cliutil import TqdmProgress
    from app.core.jobs import Progress

    monkeypatch.setattr(TqdmProgress, "every", 0.0)
    with TqdmProgress("inpaint", disable=None) as bar:
        bar.lines = True
        bar(Progress(10, 292, "inpaint", elapsed=20.0, work=0.5))
    line = capsys.readouterr().err.splitlines()[0]
    assert line == "inpaint: 50% (10/292 frames written), 00:20 so far, about 00:20 left", line
    with TqdmProgress("inpaint", disable=False) as bar:  # (the bar on a terminal)
        bar(Progress(10, 292, "inpaint", elapsed=20.0, work=0.5))
        bar(Progress(146, 292, "copy", elapsed=1.0))
    drawn = capsys.readouterr().err.replace("\r", "\n").splitlines()
    assert any(d.startswith("inpaint:  50%|") and d.endswith("| 10/292 frames written, 00:20 so far, about 00:20 left")
               for d in drawn), drawn
    assert any(d.startswith("inpaint (copy):  50%|") and "146/292" in d for d in drawn), drawn


def test_an_end_past_the_video_says_tracking_runs_to_its_last_frame(disc_clip, tmp_path, capsys):
    """``--end 50`` on an 8-frame clip was cut to its end without a word."""
    out = tmp_path / "m"
    assert main(["track", str(disc_clip), "--click", "64,56,5", "--start", "5", "--end", "50", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"note: --end 50 is past this {N}-frame video's end; tracking to its last frame ({N - 1})." in err, err
    masks = read_masks(out)
    assert len(masks) == N and not masks[4].any() and masks[7].any()
    # a bad input is still one line: the note comes after the checks, with the work
    assert main(["track", str(disc_clip), "--click", "34,46", "--start", "5", "--end", "50", "-o",
                 str(tmp_path / "n")]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "outside the range 5..7" in lines[0], lines


def test_a_json_that_cannot_be_written_after_the_tracking_says_where_the_masks_are(disc_clip, tmp_path, capsys,
                                                                                    monkeypatch):
    """The --json folder passes the check before tracking but refuses the file after it (a read-only
    mount seen as writable, a permission changed meanwhile): the line said only "Cannot write in
    DIR", as if nothing had been written, while the masks were complete in their folder."""
    from app.core import fsutil
    from app.core.errors import OutputError

    made = fsutil.make_temp_beside

    def refuse(path, tag):
        if path.name == "flags.json":
            raise OutputError(f"Cannot write in {path.parent} (Permission denied); choose another folder.")
        return made(path, tag)

    monkeypatch.setattr(fsutil, "make_temp_beside", refuse)
    out, info = tmp_path / "masks", tmp_path / "flags.json"
    assert main(["track", str(disc_clip), "--click", "34,46", "--end", "3", "-o", str(out), "--json", str(info)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert err == [f"error: The masks are in {out}, but --json {info} was not written: Cannot write in {tmp_path} "
                   "(Permission denied); choose another folder."], err
    assert len(read_masks(out)) == N and not info.exists()


def test_preview_numbers_the_candidates_and_candidate_k_tracks_the_one_shown(disc_clip, tmp_path, capsys):
    from app.core.segment import GrabCutSegmenter, prepare_click

    sheet = tmp_path / "cands.png"
    assert main(["track", str(disc_clip), "--click", "34,46", "--click", "90,20#2", "--preview", str(sheet)]) == 0
    said = capsys.readouterr()
    assert f"Wrote the candidates to {sheet}" in said.out and "--candidate K" in said.out
    assert "frame 0, object 1:" in said.err and "frame 0, object 2:" in said.err
    picture = cv2.imread(str(sheet))
    assert picture is not None and picture.shape[0] > 2 * 180  # a row of pictures per object
    assert not list(tmp_path.glob("*masks*"))  # nothing tracked, no folder

    # the numbers are the GUI's order (the background plate's candidate second): candidate K of the
    # same click, made here as the GUI makes it, is the keyframe the tracker starts from
    with VideoReader(disc_clip) as r:
        seg = GrabCutSegmenter()
        seg.set_image(r[0], index=0)
        prepare_click(seg, lambda i: r[i], 0, len(r), plate=10)
        cands = seg.predict([(34, 46, 1)])
    n = int(said.err.split("object 1: ")[1].split(" candidate")[0])
    assert n == len(cands) >= 2
    k = next(j for j in range(2, n + 1) if cands[j - 1].mask.sum() != cands[0].mask.sum())  # one unlike the first
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), "--click", "34,46", "--candidate", str(k), "-o", str(out), "--end", "1"]) == 0
    assert "frame 0: selected %d px" % cands[k - 1].mask.sum() in capsys.readouterr().err
    assert np.array_equal(read_masks(out)[0], cands[k - 1].mask)



def test_preview_of_several_clicks_shows_the_mask_they_make(disc_clip, tmp_path, capsys):
    """With more clicks on an object, the sheet adds the mask they make from the kept candidate:
    what tracking starts from (a user saw only the first click's candidates and had to track a frame
    to see what the rest did). It is the mask `track --end 1` writes."""
    sheet = tmp_path / "cands.png"
    clicks = ["--click", "34,46", "--not", "110,80"]
    assert main(["track", str(disc_clip), *clicks, "--preview", str(sheet)]) == 0
    err = capsys.readouterr().err
    assert "frame 0, object 1: candidate 1 with all 2 clicks: " in err
    px = int(err.split("with all 2 clicks: ")[1].split(" px")[0])
    one = tmp_path / "one.png"
    assert main(["track", str(disc_clip), "--click", "34,46", "--preview", str(one)]) == 0
    assert "with all" not in capsys.readouterr().err
    assert cv2.imread(str(sheet)).shape[0] > cv2.imread(str(one)).shape[0] + 180  # a row more: that mask
    out = tmp_path / "masks"
    assert main(["track", str(disc_clip), *clicks, "-o", str(out), "--end", "1"]) == 0
    assert "frame 0: selected %d px" % px in capsys.readouterr().err and read_masks(out)[0].sum() == px

@pytest.mark.parametrize("argv, says", [
    (["--candidate", "9", "-o", "{out}"], "--candidate 9 on frame 0: that click has"),
    (["--candidate", "2#3", "-o", "{out}"], "--candidate 2 is for object 3 on frame 0, which has no --click"),
    (["--candidate", "1", "--candidate", "2", "-o", "{out}"], "Two --candidate for object 1 on frame 0"),
    ([], "Give --output DIR"),
    (["--preview", "{tmp}/cands.txt"], "--preview {tmp}/cands.txt: give a picture file"),
])
def test_a_bad_candidate_or_preview_is_one_line_and_leaves_nothing(disc_clip, tmp_path, capsys, argv, says):
    argv = [a.format(out=tmp_path / "masks", tmp=tmp_path) for a in argv]
    assert main(["track", str(disc_clip), "--click", "34,46"] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert says.format(tmp=tmp_path) in err and err.count("\n") == 0, err
    assert not (tmp_path / "masks").exists() and not list(tmp_path.glob("cands*"))


@pytest.mark.parametrize("prompt, says", [
    (["--click", "500,20"], "Click 500,20 on frame 0 lies outside the 128x96 frame"),
    (["--box", "200,10,260,40"], "Box 200,10,260,40 on frame 0 lies outside the 128x96 frame"),
])
def test_a_preview_of_a_click_or_box_outside_the_frame_is_one_line(disc_clip, tmp_path, capsys, prompt, says):
    sheet = tmp_path / "cands.png"
    assert main(["track", str(disc_clip), *prompt, "--preview", str(sheet)]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and err.count("\n") == 0, err
    assert not sheet.exists()


def test_a_preview_with_a_folder_for_sam_is_the_same_one_line(disc_clip, tmp_path, capsys):
    folder = tmp_path / "sam"
    folder.mkdir()
    assert main(["track", str(disc_clip), "--click", "34,46", "--sam", str(folder),
                 "--preview", str(tmp_path / "cands.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--sam {folder} is a folder" in err and err.count("\n") == 0, err
    assert not (tmp_path / "cands.png").exists()


def test_the_preview_sheet_holds_four_pictures_a_row():
    """Six candidates of a wide frame made one row some 2,000 px wide; the sheet wraps them four to a
    row (the last row padded), each number on its own picture, the title above."""
    from app.cli_segment import SHEET_COLUMNS, _candidate_sheet
    from app.core.segment import Candidate

    rgb = np.full((480, 854, 3), 120, np.uint8)
    cands = []
    for k in range(6):
        m = np.zeros((480, 854), bool)
        m[100:300, 200:440] = True  # (the same extent: one crop whatever the count)
        m[120 + 25 * k:140 + 25 * k, 220:420] = False
        cands.append(Candidate(m, 1.0 - k / 10))
    def sheet(n):
        return _candidate_sheet(rgb, cands[:n], [(300, 200, 1)], "t", height=90)

    six, four = sheet(6), sheet(4)
    tile = (four.shape[1] - 3 * 6) // 4  # (6-px gaps)
    assert SHEET_COLUMNS == 4 and six.shape[1] == four.shape[1] == 4 * tile + 3 * 6 and tile > 90
    assert six.shape[0] == four.shape[0] + 90 + 6  # two rows of pictures under the title
    assert (six[-90:, 2 * tile + 2 * 6:] == 255).all()  # (the second row's two empty places)
    assert not (six[-90:, :tile] == 255).all()  # (the fifth picture)
