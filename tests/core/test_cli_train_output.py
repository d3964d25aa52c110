"""finetune/train refuse an --output that is not named as weights, in one line, before any clip is read."""
import pytest

from app.cli import main


@pytest.mark.parametrize("command", ["finetune", "train"])
@pytest.mark.parametrize("name", ["t.txt", "tuned", "t.json"])
def test_an_output_not_named_pth_or_pt_is_refused_before_the_clips_are_read(command, name, make_clip, tmp_path,
                                                                              capsys):
    """`finetune -o t.txt` was taken (`-o x.mp4` was refused): minutes of training wrote the generator
    to t.txt, a name no weights picker (*.pth *.pt) shows."""
    clip = make_clip(n=6)
    weights = tmp_path / "start.pth"
    weights.write_bytes(b"not read: the output is refused first")
    start = ["--from", str(weights)] if command == "finetune" else []
    out = tmp_path / name
    code = main([command, "--data", str(clip), *start, "--steps", "1", "-o", str(out), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        f"error: --output {out} does not end in .pth or .pt, but {command} writes the trained generator (weights): "
        "give a .pth file, e.g. tuned.pth, and inpaint with --weights tuned.pth."], err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([clip.name, "start.pth"])


def test_a_video_name_is_still_called_a_video(make_clip, tmp_path, capsys):
    clip = make_clip(n=6)
    assert main(["train", "--data", str(clip), "--steps", "1", "-o", str(tmp_path / "x.mp4"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: --output {tmp_path / 'x.mp4'} names a video or an image, "), err
