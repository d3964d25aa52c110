"""The generator shipped in models/: it loads, fills a hole, and 'auto' uses it only where it wins."""
import numpy as np
import pytest
import torch

from app.cli import main
from app.core import paths
from app.core.engine import BUNDLED_AUTO_FILL, BUNDLED_AUTO_FILL_CPU, resolve_fill
from app.core.sttn import checkpoint_meta, load_generator
from app.core.video import VideoReader


def test_bundled_generator_loads_and_inpaints():
    path = paths.default_weights()
    assert path is not None and path.name == "sttn_inpaint.pth", "models/sttn_inpaint.pth is missing"
    meta = checkpoint_meta(path)
    assert meta["steps"] > 0 and meta["config"]["width"] == 432 and meta["val_psnr"] > 25
    model = load_generator(path)
    torch.manual_seed(0)
    # A bright smooth gradient with a hole: a trained model fills it with the colours around it.
    ramp = torch.linspace(0.3, 0.7, 432).view(1, 1, 1, 1, 432).expand(1, 3, 3, 240, 432).clone()
    masks = torch.zeros(1, 3, 1, 240, 432)
    masks[..., 90:150, 180:250] = 1
    with torch.no_grad():
        out = model(ramp * (1 - masks), masks)
    assert out.shape == (3, 3, 240, 432) and torch.isfinite(out).all()
    hole = out[:, :, 90:150, 180:250]
    truth = ramp[0, :, :, 90:150, 180:250]
    err = float((hole - truth).abs().mean())
    assert err < 0.5 * float(truth.abs().mean()), err  # far closer than the blank (0) it was given


def test_auto_fill_with_the_bundled_model_depends_on_the_device():
    # GPU: the model (it beats the classical fill, docs/QUALITY.md); CPU: the classical fill (10x faster).
    assert resolve_fill("auto", True, bundled=True, device="cuda") == BUNDLED_AUTO_FILL == "propagate+sttn"
    assert resolve_fill("auto", True, bundled=True, device=torch.device("mps")) == "propagate+sttn"
    assert resolve_fill("auto", True, bundled=True, device="cpu") == BUNDLED_AUTO_FILL_CPU == "propagate+telea"
    assert resolve_fill("auto", True, bundled=True) == "propagate+telea"
    assert resolve_fill("auto", True, bundled=False, device="cpu") == "propagate+sttn"
    assert resolve_fill("propagate+sttn", True, bundled=True) == "propagate+sttn"
    assert paths.is_bundled(paths.default_weights()) and not paths.is_bundled(None)


def test_cli_says_which_fill_auto_chose(make_clip, tmp_path, capsys):
    import cv2

    clip = make_clip(n=5, width=96, height=64)
    m = np.zeros((64, 96), np.uint8)
    m[20:40, 30:60] = 255
    cv2.imwrite(str(tmp_path / "m.png"), m)
    # (on a CPU: where CUDA is present auto runs propagate+sttn, and there is nothing to say)
    assert main(["inpaint", str(clip), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.mp4"),
                 "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "bundled STTN model" in captured.err and "--fill propagate+sttn" in captured.err
    assert "propagate+telea" in captured.out
    with VideoReader(tmp_path / "o.mp4") as o:
        assert len(o) == 5
