"""The progress a training run reports last carries its final validation scores (the validation
after the last step), in the trainer's reports and in the CLI's lines without a terminal."""
import io
import json

import pytest
import torch

from app.cli_train import TrainProgress, main as train_main
from app.core.jobs import Progress
from app.core.sttn.checkpoint import save_generator
from app.core.sttn.generator import GeneratorConfig, InpaintGenerator
from app.core.train import Trainer
from test_train import data, tiny  # noqa: F401 - data: the training clip (a fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _validations(workdir):
    lines = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [line["val_psnr"] for line in lines if "val_psnr" in line]


def test_the_last_report_has_the_final_validation_and_the_losses(tmp_path, data):
    reports = []
    cfg = tiny(tmp_path / "w", data, steps=3, val_data=[str(data)], val_at_start=True, lr=1e-3)
    result = Trainer(cfg, progress=reports.append).run()
    first, final = _validations(tmp_path / "w")
    assert round(first, 3) != round(final, 3)  # (three steps at this rate change the scores)
    steps = [p for p in reports if p.stage == "train"]
    last = steps[-1]
    assert last is reports[-1]
    assert last.done == 3 and last.info["val_psnr"] == round(final, 3) == round(result.val_psnr, 3)
    assert last.info["loss"] == steps[-2].info["loss"] and "d_loss" in last.info  # the last step's losses


def test_cli_last_line_shows_the_final_validation_psnr(tmp_path, data, capsys):
    torch.manual_seed(0)
    g = InpaintGenerator(GeneratorConfig(channels=16, blocks=1, patch_sizes=((8, 4), (4, 2)), width=64, height=32))
    weights = save_generator(g, tmp_path / "tiny.pth")
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"disc_channels": 8, "sample_frames": 3, "log_every": 1, "lr": 1e-3}))
    out = tmp_path / "out.pth"
    assert train_main(["finetune", "--data", str(data), "--val", str(data), "--from", str(weights), "--steps", "3",
                       "--output", str(out), "--config", str(config), "--device", "cpu"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert not [line for line in err if "validating" in line]  # (the page's report between steps: no CLI line)
    lines = [line for line in err if line.startswith("finetune: step")]
    first, final = _validations(tmp_path / "out.train")
    assert f"val_psnr {first:.4g}," in lines[0] and f"{first:.4g}" != f"{final:.4g}"
    assert lines[-1].startswith("finetune: step 3/3") and f"val_psnr {final:.4g}," in lines[-1], lines


def test_a_line_held_back_by_the_interval_is_printed_at_the_end():
    stream = io.StringIO()
    with TrainProgress("train", stream=stream, every=3600) as bar:
        for step in (1, 2, 3):
            bar(Progress(step, 10, "train", info={"loss": 1.0 / step, "sec_per_step": 1.0, "eta": 10.0 - step}))
        bar(Progress(3, 10, "train", info={"loss": 1.0 / 3, "sec_per_step": 1.0, "eta": 7.0}))  # (no news)
    assert [line.split(",")[0] for line in stream.getvalue().splitlines()] == ["train: step 1/10", "train: step 3/10"]
