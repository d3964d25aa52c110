"""Evaluation API and the `evaluate` subcommand on a small clip made by the test."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import InpaintError, WeightsError
from app.core.evaluate import evaluate, stationary_test_mask, to_markdown

ROOT = Path(__file__).resolve().parents[2]
SIZE = (96, 64)


@pytest.fixture
def clip(make_clip):
    return make_clip(n=8, width=96, height=64, name="pan.mp4")


def test_evaluate_table_fields_and_ordering(clip):
    res = evaluate([clip], ["none", "telea", "propagate+telea"], seed=3, size=SIZE)
    assert set(res["methods"]) == {"none", "telea", "propagate+telea"}
    for m, r in res["methods"].items():
        (row,) = r["clips"]
        assert row["clip"] == "pan" and row["frames"] == 8
        for key in ("psnr", "ssim", "ewarp", "psnr_hole", "sec_per_frame", "mask_fraction"):
            assert np.isfinite(row[key])
        assert set(r["mean"]) >= {"psnr", "ssim", "ewarp", "psnr_hole", "propagated", "frames"}
    none, telea = res["methods"]["none"]["mean"], res["methods"]["telea"]["mean"]
    prop = res["methods"]["propagate+telea"]["mean"]
    assert none["psnr"] < telea["psnr"] and none["ssim"] < telea["ssim"]
    assert 0 < prop["propagated"] <= 1
    assert prop["psnr_hole"] > telea["psnr_hole"]  # the panning clip reveals what the mask hides
    assert res["vfid"] is None and "not computed" in res["vfid_note"]
    md = to_markdown(res)
    assert "| none |" in md and "| pan |" in md and "E_warp" in md


def test_masks_are_seeded_per_clip_not_per_method():
    a = stationary_test_mask("clip", 64, 96, 0)
    assert a.dtype == bool and a.shape == (64, 96) and a.any()
    assert np.array_equal(a, stationary_test_mask("clip", 64, 96, 0))
    assert not np.array_equal(a, stationary_test_mask("clip", 64, 96, 1))


def test_user_errors(clip, tmp_path):
    with pytest.raises(WeightsError):
        evaluate([clip], "sttn", size=SIZE)
    with pytest.raises(InpaintError):
        evaluate([clip], "bogus", size=SIZE)
    with pytest.raises(InpaintError):
        evaluate([tmp_path / "missing.mp4"], "none", size=SIZE)


def test_cli_end_to_end_writes_json_and_markdown(clip, tmp_path):
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    cmd = [sys.executable, "main.py", "evaluate", str(clip), "--masks", "stationary", "--seed", "1",
           "--method", "none,telea", "--method", "propagate", "--size", "96x64", "--max-frames", "6",
           "--json", str(out_json), "--markdown", str(out_md), "--samples", str(tmp_path / "samples")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out_json.read_text())
    assert list(data["methods"]) == ["none", "telea", "propagate"]
    assert data["methods"]["telea"]["clips"][0]["frames"] == 6
    assert data["settings"]["seed"] == 1
    assert out_md.read_text() == proc.stdout
    assert "VFID: not computed (needs I3D weights, see docs)" in proc.stdout
    # The sample image: ground truth, masked input and three methods, two tiles per row.
    import cv2

    grid = cv2.imread(str(tmp_path / "samples" / "pan.png"))
    assert grid is not None and grid.shape == (3 * 64, 2 * 96, 3)
    tiles = [grid[r * 64:(r + 1) * 64, c * 96:(c + 1) * 96] for r in range(3) for c in range(2)]
    # below the label, the "masked input" tile differs from the ground truth, "none" equals the input
    assert np.abs(tiles[0][30:].astype(int) - tiles[1][30:]).mean() > 1
    assert np.array_equal(tiles[1][30:], tiles[2][30:])
    assert not list((tmp_path / "samples").glob("*.tmp*"))

    # (without --weights the sttn methods use the bundled model: test_cli_newuser)
    bad = subprocess.run(cmd[:4] + ["--method", "sttn", "--weights", str(tmp_path / "gone.pth")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert bad.returncode != 0
    assert len(bad.stderr.strip().splitlines()) == 1 and "gone.pth" in bad.stderr
