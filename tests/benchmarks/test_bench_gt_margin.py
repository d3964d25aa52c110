"""benchmarks/bench_gt_margin.py: where a ground-truth mask puts the object's edge."""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_gt_margin  # noqa: E402


def _disc_clip(margin: int, n: int = 3, size: int = 96):
    """Frames of a bright disc on a flat dark ground, and true masks of it grown by ``margin`` px."""
    frames, masks = [], []
    for i in range(n):
        img = np.full((size, size, 3), 40, np.uint8)
        cv2.circle(img, (40 + 3 * i, 48), 22, (220, 200, 180), -1)
        m = np.zeros((size, size), np.uint8)
        cv2.circle(m, (40 + 3 * i, 48), 22 + margin, 1, -1)
        frames.append(img)
        masks.append(m > 0)
    return frames, {1: masks}


def test_a_tight_truth_peaks_on_its_edge_and_a_grown_one_that_many_px_inside():
    for margin in (0, 3):
        frames, objects = _disc_clip(margin)
        prof = bench_gt_margin.edge_profile(frames, objects, step=1)
        peak = max(prof, key=prof.get)
        assert abs(peak + margin) <= 1, (margin, prof)
        assert prof[peak] > 4 * prof[5]  # the flat ground far outside has no gradient


def test_shrunk_iou_falls_with_the_shrink_and_the_command_prints_a_row_per_clip(tmp_path, capsys):
    frames, objects = _disc_clip(0)
    ious = [bench_gt_margin.shrunk_iou(objects, px) for px in (2, 3, 4)]
    assert 1.0 > ious[0] > ious[1] > ious[2] > 0.5
    clips = tmp_path / "clips"
    (clips / "disc").mkdir(parents=True)
    (clips / "disc_mask").mkdir()
    for i, (f, m) in enumerate(zip(frames, objects[1])):
        cv2.imwrite(str(clips / "disc" / f"{i:05d}.png"), f[..., ::-1])
        cv2.imwrite(str(clips / "disc_mask" / f"{i:05d}.png"), m.astype(np.uint8) * 255)
    assert bench_gt_margin.main(["--clips", str(clips), "--only", "disc"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| disc |")]
    assert len(row) == 1 and "+0 px" in row[0]
