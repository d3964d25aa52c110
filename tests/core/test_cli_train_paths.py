"""finetune/train refuse a --data or --val path that is not there before any clip is read."""
import pytest

from app.cli import main


@pytest.mark.parametrize("command", ["finetune", "train"])
def test_a_missing_val_path_is_refused_before_the_training_clips_are_read(command, make_clip, tmp_path, capsys):
    """A missing --val was found after the training clips were read (10 s for one 10-frame clip on a
    2-core CPU, minutes for a folder) and was called "Training data nothere"."""
    clip = make_clip(n=6)
    code = main([command, "--data", str(clip), "--val", str(tmp_path / "nothere"), "--steps", "1",
                 "-o", str(tmp_path / "t.pth"), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err  # (no "reading training clips 1/1" before it)
    assert err[0] == (f"error: --val {tmp_path / 'nothere'} does not exist; pass the validation clips: video files "
                      "or folders of videos or of frames."), err
    assert not (tmp_path / "t.train").exists()


def test_a_missing_data_path_among_several_is_named_by_its_option(make_clip, tmp_path, capsys):
    clip = make_clip(n=6)
    assert main(["train", "--data", str(clip), str(tmp_path / "gone"), "--steps", "1", "-o",
                 str(tmp_path / "t.pth"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --data {tmp_path / 'gone'} does not exist; pass the training clips: video files or "
                   "folders of videos or of frames."], err


@pytest.mark.parametrize("command", ["finetune", "train"])
def test_time_limit_help_says_the_step_under_way_ends_first(command, capsys):
    """`--time-limit 5s` on a CPU ran 166 s: the limit is checked before each step and a step takes
    minutes there; the help said only "stop after this much training time"."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "checked before each step, so the step under way ends first: up to one step (1-3 minutes on a CPU) " \
           "past it" in text, text


def test_ctrl_c_while_the_clips_are_read_says_nothing_is_saved(make_clip, tmp_path, capsys, monkeypatch):
    """Ctrl-C while the training clips were read (12 s into a run on data/train, clip 1 of 15) said
    "Stopping (the step under way is dropped, the last whole one is saved)": there was no step yet."""
    import signal

    import app.core.train
    from app.core.errors import Cancelled

    def reading(self, cfg, progress=None, cancel=None, resume=None):
        signal.raise_signal(signal.SIGINT)  # (Ctrl-C as a clip is read: the handler runs before this returns)
        assert cancel.cancelled
        raise Cancelled("Cancelled by the user; nothing was written.")

    monkeypatch.setattr(app.core.train.Trainer, "__init__", reading)
    assert main(["finetune", "--data", str(make_clip(n=6)), "--steps", "1", "-o", str(tmp_path / "t.pth"),
                 "--device", "cpu"]) == 130
    err = capsys.readouterr().err
    assert "Stopping: the clips are still being read, so nothing is saved; press Ctrl-C again to stop at once." \
           in err and "the last whole one is saved" not in err, err
    assert not (tmp_path / "t.train").exists() and not (tmp_path / "t.pth").exists()
