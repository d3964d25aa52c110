"""evaluate --i3d with clips shorter than a real I3D takes: a note and a one-line refusal, no traceback."""
import json

import numpy as np
import torch

from app.cli import main
from app.core.video import write_test_clip
from test_cli_eval_i3d import save_scripted


class RealShaped(torch.nn.Module):
    """(N, 3, T, H, W) -> (N, 3), failing on fewer than 16 frames as InceptionI3d does (its pools)."""

    def forward(self, x):
        return torch.nn.functional.avg_pool3d(x, kernel_size=(16, 1, 1)).mean(dim=(2, 3, 4))


def clip(path, n, seed):
    rng = np.random.default_rng(seed)
    return write_test_clip(path, [rng.integers(0, 255, (64, 96, 3), np.uint8) for _ in range(n)], fps=10)


def test_a_clip_too_short_for_the_i3d_is_left_out_of_vfid_with_a_note(tmp_path, capsys):
    """A 10-frame clip among 16-frame ones: every method was scored, then a RuntimeError traceback
    ("Output size is too small") and no table."""
    i3d = save_scripted(RealShaped(), tmp_path / "i3d.pt")
    clips = [clip(tmp_path / "a.mp4", 16, 1), clip(tmp_path / "short.mp4", 10, 2), clip(tmp_path / "b.mp4", 16, 3)]
    report = tmp_path / "r.json"
    assert main(["evaluate", *map(str, clips), "--method", "none,telea", "--size", "96x64", "--i3d", str(i3d),
                 "--json", str(report)]) == 0
    captured = capsys.readouterr()
    assert [line for line in captured.err.splitlines() if line.startswith("warning: ")] == [
        "warning: VFID leaves out short (fewer than the 16 frames the I3D needs); give clips of 16 frames or more to "
        "have it counted."], captured.err
    result = json.loads(report.read_text())
    assert set(result["vfid"]) == {"none", "telea"} and all(np.isfinite(v) for v in result["vfid"].values())
    assert result["vfid_note"] == ("Frechet distance of I3D features over 2 clips; left out: short (fewer than the "
                                   "16 frames the I3D needs)"), result["vfid_note"]
    assert "left out: short" in captured.out and [r["clip"] for r in result["methods"]["telea"]["clips"]] == \
        ["a", "short", "b"]  # (still scored on PSNR, SSIM, E_warp)


def test_vfid_is_not_computed_when_too_few_clips_are_long_enough(tmp_path, capsys):
    i3d = save_scripted(RealShaped(), tmp_path / "i3d.pt")
    clips = [clip(tmp_path / "a.mp4", 16, 1), clip(tmp_path / "s1.mp4", 6, 2), clip(tmp_path / "s2.mp4", 6, 3)]
    assert main(["evaluate", *map(str, clips), "--method", "none", "--size", "96x64", "--i3d", str(i3d)]) == 0
    out = capsys.readouterr().out
    assert "VFID: not computed (needs at least 2 clips; left out: s1, s2 (fewer than the 16 frames the I3D " \
           "needs))" in out, out


def test_max_frames_below_what_the_i3d_takes_is_refused_before_scoring(tmp_path, capsys):
    i3d = save_scripted(RealShaped(), tmp_path / "i3d.pt")
    clips = [clip(tmp_path / "a.mp4", 16, 1), clip(tmp_path / "b.mp4", 16, 2)]
    assert main(["evaluate", *map(str, clips), "--method", "telea", "--size", "96x64", "--i3d", str(i3d),
                 "--max-frames", "8"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert captured.out == "" and len(err) == 1, captured
    assert err[0].startswith(f"error: --i3d {i3d} needs clips of 16 frames or more, but --max-frames is 8 ("), err
    assert err[0].endswith("); give --max-frames 16 or more, or leave --i3d out."), err
