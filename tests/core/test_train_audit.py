"""Fine-tuning as a user meets it: Stop in the middle of a step, torn and leftover checkpoints,
unwritable outputs, progress lines in a log, time-based checkpoints, real clips of odd sizes."""
import json
import shutil

import pytest
import torch

from app.cli_train import main as train_main
from app.core.errors import Cancelled, OutputError, WeightsError
from app.core.jobs import CancelToken
from app.core.sttn.checkpoint import load_generator, read_checkpoint, save_generator
from app.core.sttn.generator import GeneratorConfig, InpaintGenerator
from app.core.train import TrainConfig, Trainer
from test_train import TINY, data, tiny  # noqa: F401 - data: the training clip (a fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def tiny_weights(tmp_path):
    torch.manual_seed(0)
    g = InpaintGenerator(GeneratorConfig(channels=16, blocks=1, patch_sizes=((8, 4), (4, 2)), width=64, height=32))
    return save_generator(g, tmp_path / "tiny start.pth")


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("where", ["generator forward", "after the discriminator's update"])
def test_stop_in_the_middle_of_a_step_keeps_the_last_whole_step(tmp_path, data, where):
    """Stop pressed while a step runs (a step is minutes on a CPU) ends it at the next layer; the
    checkpoint is that of the previous step, and resuming from it gives exactly the run that was
    never stopped: the discriminator, updated before the generator's backward pass, is put back."""
    # (on the CPU: the comparison is bit for bit, and CUDA's atomics differ run to run)
    straight = Trainer(tiny(tmp_path / "a", data, steps=4, device="cpu"))
    straight.run()

    stopped = Trainer(tiny(tmp_path / "b", data, steps=4, device="cpu"))
    d_calls = []

    def press_stop_mid_step(module, args, output):
        if stopped.step == 2 and not stopped.cancel.cancelled:
            d_calls.append(module)
            # the D step's forward is the first call of step 3, the G step's adversarial forward the second
            if where == "generator forward" or len(d_calls) == 2:
                stopped.cancel.cancel()

    net = stopped.G if where == "generator forward" else stopped.D
    first_layer = next(m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d)))
    first_layer.register_forward_hook(press_stop_mid_step)
    with pytest.raises(Cancelled, match="stopped at step 2 of 4"):
        stopped.run()
    if where != "generator forward":
        assert len(d_calls) == 2  # the D update of step 3 had happened when Stop came
    ckpt = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 2
    metrics = tmp_path / "b" / "metrics.jsonl"
    with open(metrics, "a") as f:  # as a kill leaves it: a step logged after the checkpoint, a torn line
        f.write('{"step": 3, "loss": 0.5}\n{"step": 4, "lo')
    resumed = Trainer(tiny(tmp_path / "b", data, steps=4, device="cpu"), resume="auto")
    resumed.run()
    assert resumed.step == 4
    assert [json.loads(line)["step"] for line in metrics.read_text().splitlines()] == [1, 2, 3, 4]
    assert _same(straight.G.state_dict(), resumed.G.state_dict())
    assert _same(straight.D.state_dict(), resumed.D.state_dict())


def test_a_checkpoint_torn_by_a_kill_is_never_loaded(tmp_path, data, capsys):
    """kill -9 while a checkpoint is written leaves its temporary file: resuming loads the last
    whole checkpoint and deletes the leftover (each is as big as a checkpoint). A damaged last.pt
    itself is refused with a one-line message saying what to do."""
    cfg = tiny(tmp_path / "w", data, steps=2)
    Trainer(cfg).run()
    ckpt = cfg.checkpoint_path
    whole = ckpt.read_bytes()
    leftover = ckpt.parent / ".last.k2j3_x.tmp.part.pt"
    leftover.write_bytes(whole[: len(whole) // 2])  # what a killed torch.save leaves
    resumed = Trainer(tiny(tmp_path / "w", data, steps=3), resume="auto")
    assert resumed.step == 2 and not leftover.exists()
    resumed.close()

    ckpt.write_bytes(whole[: len(whole) // 3])  # torn in place (a copy cut short, a full disk)
    with pytest.raises(WeightsError, match="damaged or incomplete"):
        Trainer(tiny(tmp_path / "w", data, steps=3), resume="auto")
    code = train_main(["train", "--data", str(data), "--workdir", str(tmp_path / "w"), "--resume", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == WeightsError.exit_code and len(err.splitlines()) == 1
    assert "start again without --resume" in err


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path, data, tiny_weights, capsys):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    (tmp_path / "a folder").mkdir()
    for output in (blocker / "tuned.pth", tmp_path / "a folder"):
        code = train_main(["finetune", "--data", str(data), "--from", str(tiny_weights), "--steps", "1",
                           "--output", str(output), "--device", "cpu"])
        err = capsys.readouterr().err.strip()
        assert code == OutputError.exit_code, err
        assert len(err.splitlines()) == 1 and ("choose another" in err or "give a file name" in err), err
    # a folder that does not exist yet is created, with the work folder beside the output
    out = tmp_path / "new folder ü" / "tuned ü.pth"
    assert train_main(["finetune", "--data", str(data), "--from", str(tiny_weights), "--steps", "1",
                       "--output", str(out), "--config", str(_config_file(tmp_path)), "--device", "cpu"]) == 0
    assert load_generator(out).config.channels == 16
    capsys.readouterr()
    # starting weights that do not exist: the message names --from, the option the user gave
    code = train_main(["finetune", "--data", str(data), "--from", str(tmp_path / "nope.pth"),
                       "--output", str(tmp_path / "x.pth")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "--from" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.train").exists()


def _config_file(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"disc_channels": 8, "sample_frames": 3, "log_every": 1}))
    return path


def test_cli_progress_in_a_log_and_resume_eta(tmp_path, data, tiny_weights, capsys):
    """Under nohup or a pipe (no terminal) the CLI still prints step, losses, s/step and ETA; after
    --resume the rate counts only the steps of this run (not the resumed ones as done in no time)."""
    out = tmp_path / "t.pth"
    base = ["finetune", "--data", str(data), "--from", str(tiny_weights), "--output", str(out),
            "--config", str(_config_file(tmp_path)), "--device", "cpu"]
    assert train_main(base + ["--steps", "2"]) == 0
    err = capsys.readouterr().err
    assert "starting at step 0 of 2" in err
    last = [line for line in err.splitlines() if line.startswith("finetune: step 2/2")]
    assert last and "loss" in last[0] and "s/step" in last[0] and "ETA 0:00:00" in last[0], err

    reports = []
    cfg = TrainConfig.from_dict({**read_checkpoint_config(tmp_path / "t.train"), "steps": 5})
    Trainer(cfg, progress=reports.append, resume="auto").run()
    first = next(p for p in reports if p.done == 3)
    per_step = first.info["sec_per_step"]
    assert 0 < per_step < 60 and first.info["eta"] == pytest.approx(2 * per_step, abs=0.06)
    assert reports[-1].done == 5 and reports[-1].info["eta"] == 0


def read_checkpoint_config(workdir):
    return torch.load(workdir / "checkpoints" / "last.pt", weights_only=True)["config"]


def test_checkpoints_by_time_even_without_a_step_interval(tmp_path, data):
    """checkpoint_seconds (the GUI's way, --checkpoint-time on the command line): a slow run is
    saved every so often although checkpoint_every is 0 (only at the end)."""
    seen = {}
    cfg = tiny(tmp_path / "w", data, steps=3, checkpoint_every=0, checkpoint_seconds=0)

    def progress(p):
        if p.done >= 2:  # reported before the step's checkpoint is written: the previous one is there
            seen[p.done] = torch.load(cfg.checkpoint_path, weights_only=True)["step"]

    Trainer(cfg, progress=progress).run()
    assert seen == {2: 1, 3: 2}


def test_stop_during_validation_ends_it_and_saves(tmp_path, data, make_clip):
    """Validation of many clips takes minutes on a CPU: Stop does not wait for all of them."""
    val = [make_clip(n=3, width=96, height=64, name=f"val{i}.mp4") for i in range(5)]
    cfg = tiny(tmp_path / "w", data, steps=5, val_every=2, val_data=[str(v) for v in val])
    trainer = Trainer(cfg)
    validated = []

    def press_stop_in_validation(module, args, output):
        if not module.training:
            validated.append(trainer.step)
            trainer.cancel.cancel()

    trainer.G.register_forward_hook(press_stop_in_validation)
    with pytest.raises(Cancelled, match="step 2 of 5"):
        trainer.run()
    assert validated == [2]  # one clip of five: the other four were not run
    assert torch.load(cfg.checkpoint_path, weights_only=True)["step"] == 2
    assert "val_psnr" not in trainer.last_val  # incomplete scores are not kept


def test_finetune_on_real_clips_of_odd_sizes_and_a_truncated_one(tmp_path, train_dir, tiny_weights, caplog):
    """Real footage: a 368x480 portrait mp4 and a 320x240 avi, plus a copy of a clip cut off in
    the middle of its data: the run uses what is readable, and the weights it writes load."""
    footage = tmp_path / "my footage ü"
    footage.mkdir()
    shutil.copy(train_dir / "cotracker_cat.mp4", footage)
    shutil.copy(train_dir / "mmaction_test.avi", footage)
    whole = (train_dir / "mmaction_test.avi").read_bytes()
    (footage / "cut.avi").write_bytes(whole[: len(whole) // 2])
    (footage / "notes.txt").write_text("not a video")
    out = tmp_path / "tuned.pth"
    cfg = TrainConfig(data=[str(footage)], workdir=str(tmp_path / "w"), steps=2, init_weights=str(tiny_weights),
                      output=str(out), **{k: v for k, v in TINY.items() if k not in ("channels", "blocks", "patch_sizes")})
    trainer = Trainer(cfg)
    assert trainer.data_description.startswith("3 clips")
    assert {c.path.name: len(c) for c in trainer.clips}["cut.avi"] < 164
    result = trainer.run()
    assert result.step == 2 and load_generator(out).config.width == 64


def test_finetune_starts_at_the_fine_tuning_rate_as_the_gui_page_does(tmp_path, tiny_weights):
    """The page started at 1e-5 ("smaller than training from scratch") and the CLI's finetune at
    training's 1e-4: the same footage fine-tuned ten times harder from the command line."""
    import argparse

    from app.cli_train import build_config, register
    from app.core.config import FINETUNE_LR

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    out = str(tmp_path / "o.pth")
    common = ["--data", str(tmp_path), "--output", out]
    lr = lambda argv: build_config(parser.parse_args(argv))[0].lr  # noqa: E731
    assert lr(["finetune", "--from", str(tiny_weights)] + common) == FINETUNE_LR == 1e-5
    assert lr(["finetune", "--from", str(tiny_weights), "--lr", "3e-4"] + common) == 3e-4
    assert lr(["train"] + common) == TrainConfig().lr == 1e-4


def test_rate_and_eta_leave_out_the_first_step(tmp_path, data, tiny_weights):
    """On CUDA the first step holds cuDNN's kernel search (27-28 s on an H100, then 0.27 s a step):
    counted in the rate, the ETA after the first steps said hundreds of hours."""
    import time

    reports = []
    cfg = TrainConfig(data=[str(data)], workdir=str(tmp_path / "w"), init_weights=str(tiny_weights), steps=4,
                      sample_frames=3, disc_channels=8, device="cpu", checkpoint_every=0, val_every=0, log_every=1)
    tr = Trainer(cfg, progress=reports.append)
    real = tr.train_step

    def slow_first(*a, **k):
        if tr.step == 0:
            time.sleep(6.0)
        return real(*a, **k)

    tr.train_step = slow_first
    tr.run()
    after = {p.done: p.info for p in reports if "sec_per_step" in p.info}
    assert after[1]["sec_per_step"] >= 6.0  # one step done: all there is to go by
    # steps 2-3 alone: with step 1 in it the rate would be a third of step 1's time or more (a bound of
    # 1.5 s held a step of 0.36 s, taken with two busy loops on 2 cores, by 4x only)
    first = after[1]["sec_per_step"]
    assert after[3]["sec_per_step"] < first / 3 and after[3]["eta"] < first / 3, after


def test_a_run_killed_before_it_saved_anything_leaves_no_work_folder(tmp_path, data, tiny_weights, capsys,
                                                                     monkeypatch):
    """A kill (or a second Ctrl-C) during the first step said "no partial output was left" and left
    the work folder it had made, empty, beside the output; a work folder that was there before, or
    one holding a file, stays."""
    from app.cli import main

    def killed(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "run", killed)
    out = tmp_path / "t.pth"
    base = ["finetune", "--data", str(data), "--from", str(tiny_weights), "--output", str(out),
            "--config", str(_config_file(tmp_path)), "--device", "cpu"]
    assert main(base) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "cancelled: interrupted; no partial output was left."
    assert not (tmp_path / "t.train").exists() and not out.exists()
    kept = tmp_path / "mine"
    (kept / "notes").mkdir(parents=True)
    assert main(base + ["--workdir", str(kept)]) == 130
    assert (kept / "notes").is_dir()  # (not made by this run: as it was, its empty folders too)


def test_the_logged_step_time_leaves_out_the_validation_before_the_first_step(tmp_path, data, tiny_weights,
                                                                                monkeypatch):
    """metrics.jsonl's sec_per_step (what the fine-tune page's estimate reads) counted the validation
    before step 1 in the first step: 415 s logged for a 257 s CPU step. The clock here jumps 1000 s
    during that validation, so only a step time that leaves it out is under 1000."""
    import time
    import types

    from app.core.train import trainer as trainer_module

    offset = [0.0]
    clock = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("_")})
    clock.monotonic = lambda: time.monotonic() + offset[0]
    monkeypatch.setattr(trainer_module, "time", clock)
    cfg = TrainConfig(data=[str(data)], workdir=str(tmp_path / "w"), init_weights=str(tiny_weights), steps=2,
                      sample_frames=3, disc_channels=8, device="cpu", checkpoint_every=0, val_every=0, log_every=1,
                      val_data=[str(data)], val_at_start=True)
    tr = Trainer(cfg)
    real = tr.validate

    def validate(*a, **k):
        if tr.step == 0:
            offset[0] += 1000.0  # (a validation of 1000 s, as far as the trainer's clock says)
        return real(*a, **k)

    tr.validate = validate
    tr.run()
    lines = [json.loads(x) for x in (tmp_path / "w" / "metrics.jsonl").read_text().splitlines()]
    assert lines[0]["step"] == 0 and lines[0]["time"] >= 1000  # the validation before step 1 was run
    steps = [x["sec_per_step"] for x in lines if "sec_per_step" in x]
    assert len(steps) == 2 and max(steps) < 1000, lines
