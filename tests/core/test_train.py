"""Trainer: learning, exact resume, validation logs, export, fine-tuning the full model, CLI."""
import json

import pytest
import torch

from app.cli_train import main as train_main
from app.core.errors import Cancelled, DataError, OutputError
from app.core.sttn.checkpoint import build_from_checkpoint, load_generator, read_checkpoint, save_generator
from app.core.sttn.generator import GeneratorConfig, InpaintGenerator
from app.core.train import TrainConfig, Trainer
from app.core.train.losses import generator_loss
from app.core.train.trainer import VALIDATING

TINY = dict(channels=16, blocks=1, patch_sizes=[[8, 4], [4, 2]], width=64, height=32, sample_frames=3,
            disc_channels=8, checkpoint_every=0, log_every=1, val_every=0, val_at_start=False)


# The test machine is shared: one intra-op thread avoids oversubscription (10x faster here).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def data(make_clip):
    return make_clip(n=8, width=96, height=64, name="train.mp4")


def tiny(workdir, data, **kw):
    return TrainConfig(**{"data": [str(data)], "workdir": str(workdir), "steps": 4, **TINY, **kw})


def _states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_steps_reduce_loss_on_fixed_batch(tmp_path, data):
    # Reconstruction only: with beta1 = 0 (the paper's Adam) single steps are noisy, so the check
    # looks at the last few of 12 steps; the adversarial step is checked below.
    tr = Trainer(tiny(tmp_path / "w", data, lr=1e-3, adv_weight=0))
    frames, masks = (x.to(tr.device) for x in tr.sampler.batch(1))  # (recon() runs G on them itself)
    b, t, c, h, w = frames.shape

    def recon():
        with torch.no_grad():
            pred = tr.G(frames * (1 - masks), masks)
        return generator_loss(pred, frames.reshape(b * t, c, h, w), masks.reshape(b * t, 1, h, w), None)[0].item()

    before = recon()
    after = []
    for _ in range(12):
        out = tr.train_step(frames, masks)
        after.append(recon())
    assert set(out) == {"loss", "hole", "valid"}
    # (the mean of the last three: one step may jump back, as in a CI run: 0.769, 0.763, 0.851
    # after 0.865 before)
    assert sum(after[-3:]) / 3 < 0.95 * before, (before, after)
    assert tr.step == 12
    gan = Trainer(tiny(tmp_path / "g", data))
    assert set(gan.train_step(frames, masks)) == {"loss", "hole", "valid", "adv", "d_loss"}


def test_cancel_then_resume_equals_uninterrupted(tmp_path, data):
    # (on the CPU, whose kernels are deterministic: bit for bit; CUDA's atomics differ run to run)
    straight = Trainer(tiny(tmp_path / "a", data, steps=5, device="cpu"))
    straight.run()

    cancel_at = 2
    first = None

    def progress(p):
        if p.done == cancel_at:
            first.cancel.cancel()

    first = Trainer(tiny(tmp_path / "b", data, steps=5, device="cpu"), progress=progress)
    with pytest.raises(Cancelled, match="step 2"):
        first.run()
    ckpt = tmp_path / "b" / "checkpoints" / "last.pt"
    assert ckpt.exists()
    del first
    resumed = Trainer(tiny(tmp_path / "b", data, steps=5, device="cpu"), resume=ckpt)
    assert resumed.step == cancel_at
    resumed.run()
    assert resumed.step == 5
    assert _states_equal(straight.G.state_dict(), resumed.G.state_dict())
    assert _states_equal(straight.D.state_dict(), resumed.D.state_dict())
    sa, sb = straight.opt_g.state_dict()["state"], resumed.opt_g.state_dict()["state"]
    assert all(torch.equal(sa[k]["exp_avg_sq"], sb[k]["exp_avg_sq"]) for k in sa)
    # Batches are drawn ahead on a thread; the checkpointed sampler state is that after the last batch used.
    assert straight.state_dict()["rng"][0]["sampler"] == resumed.state_dict()["rng"][0]["sampler"]
    # a training checkpoint is also a generator file
    model, meta = build_from_checkpoint(ckpt)
    assert meta["config"]["channels"] == 16


def test_validation_log_samples_and_export(tmp_path, data, make_clip):
    val = make_clip(n=5, width=96, height=64, name="val.mp4")
    out = tmp_path / "tuned.pth"
    cfg = tiny(tmp_path / "w", data, steps=2, val_data=[str(val)], val_every=2, val_at_start=True,
               output=str(out), val_frames=4)
    seen = []
    result = Trainer(cfg, progress=seen.append).run()
    lines = [json.loads(s) for s in (tmp_path / "w" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [0, 1, 2]
    assert {"val_psnr", "val_ssim", "time"} <= set(lines[0]) and {"val_psnr", "loss", "hole"} <= set(lines[2])
    assert 5 < lines[2]["val_psnr"] < 60 and 0 < lines[2]["val_ssim"] <= 1
    assert len(list((tmp_path / "w" / "samples").glob("*.png"))) == 2
    # each clip is reported before it is read (decoding a folder of HD clips takes minutes), then each step
    assert [(p.stage, p.info["clip"]) for p in seen[:2]] == [("training clips", "train.mp4"), ("validation clips", "val.mp4")]
    steps = [p for p in seen if p.stage == "train"]
    assert [p.done for p in steps] == [0, 1, 2] and steps[-1].total == 2 and "loss" in steps[-1].info
    # each validation reports its clips, with the step it validates (with a folder of clips it takes minutes on a CPU)
    assert [(p.stage, p.done, p.total, p.info["step"]) for p in seen if p.stage == VALIDATING] == \
        [(VALIDATING, 0, 1, 0), (VALIDATING, 0, 1, 2)]
    assert result.output == out and result.val_psnr == lines[2]["val_psnr"]
    state, meta = read_checkpoint(out)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert meta["steps"] == 2 and meta["attention"] == "official" and "train.mp4" in meta["data"]
    g = load_generator(out)
    assert g.config.width == 64 and g.config.blocks == 1
    # a run that does not end on a validation step still validates at the end
    Trainer(TrainConfig.from_dict({**cfg.to_dict(), "steps": 3}), resume="auto").run()
    last = json.loads((tmp_path / "w" / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 3 and "val_psnr" in last
    assert read_checkpoint(out)[1]["val_psnr"] == last["val_psnr"]


@pytest.mark.slow
def test_finetune_full_size_from_fixture(tmp_path, fixture_weights, make_clip):
    clip = make_clip(n=4, width=216, height=120, name="clip.mp4")
    out = tmp_path / "ft.pth"
    cfg = TrainConfig(data=[str(clip)], workdir=str(tmp_path / "w"), init_weights=str(fixture_weights),
                      steps=1, sample_frames=2, output=str(out), checkpoint_every=0, val_every=0, log_every=1,
                      attention="masked", disc_channels=16)
    tr = Trainer(cfg)
    assert (tr.width, tr.height) == (432, 240)
    before = {k: v.clone() for k, v in tr.G.state_dict().items()}
    tr.run()
    g = load_generator(out)
    assert g.attention_mode == "masked" and g.config.channels == 256
    assert any(not torch.equal(before[k], v) for k, v in tr.G.state_dict().items())
    meta = read_checkpoint(out)[1]
    assert meta["trained_from"] == fixture_weights.name and meta["steps"] == 1


def test_bad_size_and_empty_data(tmp_path, data):
    with pytest.raises(DataError, match="does not fit"):
        Trainer(tiny(tmp_path / "w", data, width=60))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="No videos"):
        Trainer(tiny(tmp_path / "w", tmp_path / "empty"))
    with pytest.raises(DataError, match="shorter than 9"):
        Trainer(tiny(tmp_path / "w", data, sample_frames=9))


def test_cli_finetune_and_resume(tmp_path, data, capsys, no_bundled_weights):
    g = InpaintGenerator(GeneratorConfig(channels=16, blocks=1, patch_sizes=((8, 4), (4, 2)), width=64, height=32))
    weights = save_generator(g, tmp_path / "tiny.pth")
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"disc_channels": 8, "sample_frames": 3}))
    out = tmp_path / "out.pth"
    args = ["finetune", "--data", str(data), "--from", str(weights), "--steps", "2", "--output", str(out),
            "--config", str(cfg), "--device", "cpu"]
    assert train_main(args) == 0
    assert "generator written to" in capsys.readouterr().out
    assert load_generator(out).config.channels == 16
    # the same workdir again without --resume is refused; with --resume it continues
    assert train_main(args) == OutputError.exit_code
    assert "--resume" in capsys.readouterr().err
    assert train_main(args[:5] + ["--steps", "3", "--output", str(out), "--resume"]) == 0
    assert read_checkpoint(out)[1]["steps"] == 3
    # without --from: the bundled generator, and where there is none (no_bundled_weights) --from is asked for
    assert train_main(["finetune", "--data", str(data), "--output", str(tmp_path / "x.pth")]) == DataError.exit_code
    assert "--from" in capsys.readouterr().err


def test_time_limit_stops_early_with_checkpoint_and_export(tmp_path, data):
    out = tmp_path / "timed.pth"
    result = Trainer(tiny(tmp_path / "w", data, steps=10_000, time_limit=0.5, output=str(out))).run()
    assert 1 <= result.step < 10_000
    assert result.checkpoint.exists() and result.output == out
    assert read_checkpoint(out)[1]["steps"] == result.step


def test_time_limit_option_parses_durations():
    from app.cli_train import _duration

    assert [_duration(t) for t in ("90", "90s", "30m", "1.5h")] == [90, 90, 1800, 5400]
    for bad in ("soon", "-5m", "0"):
        with pytest.raises(Exception, match="duration|positive"):
            _duration(bad)


@pytest.mark.slow
def test_killed_training_resumes_from_its_last_checkpoint(tmp_path, data):
    """SIGKILL in the middle of a run (no chance to clean up): the checkpoint on disk is whole
    (written atomically) and --resume carries on from it."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({**{k: v for k, v in TINY.items() if k != "checkpoint_every"},
                               "checkpoint_every": 1, "device": "cpu"}))
    workdir = tmp_path / "w"
    ckpt = workdir / "checkpoints" / "last.pt"
    root = Path(__file__).resolve().parents[2]
    args = [sys.executable, "-m", "app.cli_train", "train", "--data", str(data), "--workdir", str(workdir),
            "--config", str(cfg), "--steps", "100000"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if ckpt.exists() and torch.load(ckpt, weights_only=True)["step"] >= 3:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    step = torch.load(ckpt, weights_only=True)["step"]  # loads: never half-written
    assert step >= 3
    r = subprocess.run(args[:-2] + ["--steps", str(step + 2), "--resume", "--output", str(tmp_path / "g.pth")],
                       cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert read_checkpoint(tmp_path / "g.pth")[1]["steps"] == step + 2
