"""evaluate --i3d: a TorchScript file that is no feature extractor is refused before scoring."""
import warnings

import numpy as np
import pytest
import torch

from app.cli import main
from app.core.video import write_test_clip


class Pool(torch.nn.Module):
    """(N, 3, T, H, W) -> (N, 3): what VFID needs of an I3D, without its weights."""

    def forward(self, x):
        return x.mean(dim=(2, 3, 4))


def save_scripted(module, path):
    with warnings.catch_warnings():  # (torch.jit.script's deprecation notice would be a line of stderr)
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.script(module).save(str(path))
    return path


@pytest.fixture
def clip(tmp_path):
    rng = np.random.default_rng(0)
    return write_test_clip(tmp_path / "clip.mp4", [rng.integers(0, 255, (64, 96, 3), np.uint8) for _ in range(6)],
                           fps=10)


def test_a_torchscript_file_of_another_network_is_refused_before_scoring(clip, tmp_path, capsys):
    """A scripted linear layer loaded, every method ran, and VFID ended in a RuntimeError traceback."""
    path = save_scripted(torch.nn.Linear(2, 2), tmp_path / "linear.pt")
    assert main(["evaluate", str(clip), "--method", "telea", "--size", "96x64", "--i3d", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "", captured.out  # (nothing scored)
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: --i3d {path} does not turn a clip into features ("), err
    assert err[0].endswith("give a TorchScript I3D that maps (N, 3, T, H, W) RGB in [-1, 1] to features (N, D) "
                           "(docs/QUALITY.md), or leave --i3d out."), err


def test_a_feature_extractor_passes_the_check_and_gives_vfid(clip, tmp_path, capsys):
    path = save_scripted(Pool(), tmp_path / "pool.pt")
    other = write_test_clip(tmp_path / "other.mp4", [np.full((64, 96, 3), 40 * i, np.uint8) for i in range(6)], fps=10)
    assert main(["evaluate", str(clip), str(other), "--method", "telea", "--size", "96x64", "--i3d", str(path)]) == 0
    out = capsys.readouterr().out
    assert "VFID" in out and "not computed" not in out, out
