"""benchmarks/bench_segment.py, the issue-6 measurement, on a tiny clip written to disk: the
weight-free run and the ``--sam CHECKPOINT`` run (a tiny random-weight SAM saved as a checkpoint)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_segment  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_segment_sam import tiny_sam  # noqa: E402


def toy_clips(root: Path, n: int = 4, h: int = 72, w: int = 96) -> Path:
    """``root/toy/`` frames (a red disc moving right over a textured background) and
    ``root/toy_mask/`` its binary masks, as the shared clips are laid out."""
    rng = np.random.default_rng(1)
    tex = cv2.resize(rng.integers(0, 140, (h // 8 + 2, w // 8 + 4, 3), dtype=np.uint8), (w + 32, h + 16),
                     interpolation=cv2.INTER_CUBIC)
    (root / "toy").mkdir(parents=True)
    (root / "toy_mask").mkdir()
    for i in range(n):
        img = np.ascontiguousarray(tex[:h, :w])
        m = np.zeros((h, w), np.uint8)
        cv2.circle(m, (30 + 4 * i, 36), 14, 255, -1)
        img[m > 0] = (40, 50, 210)  # BGR: red
        cv2.imwrite(str(root / "toy" / f"{i:05d}.png"), img)
        cv2.imwrite(str(root / "toy_mask" / f"{i:05d}.png"), m)
    return root


def test_weight_free_run_tracks_the_disc_and_writes_json(tmp_path):
    clips = toy_clips(tmp_path / "clips")
    out = tmp_path / "r.json"
    assert bench_segment.main(["--clips", str(clips), "--only", "toy", "--json", str(out), "--together", "mask"]) == 0
    res = json.loads(out.read_text())
    assert res["segmenter"] == "grabcut" and res["rows"][0]["frames"] == 4
    assert res["overall"] > 0.7  # one click on a plain red disc, tracked over 4 frames
    # one object: tracked "together" is the same run as alone
    assert res["together"] and abs(res["rows"][0]["together_iou"] - res["rows"][0]["union_iou"]) < 0.02


def test_sam_run_uses_the_checkpoint_for_clicks_and_tracking(tmp_path, monkeypatch):
    import segment_anything

    from app.core.segment import sam
    from app.core.segment.sam import SamSegmenter

    clips = toy_clips(tmp_path / "clips")
    ckpt = tmp_path / "sam_tiny.pth"
    torch.save(tiny_sam(seed=3).state_dict(), ckpt)
    # the tiny encoder's width (32) stands for ViT-B, whose registry entry builds the tiny model
    monkeypatch.setitem(sam._EMBED_DIM, 32, "vit_b")
    monkeypatch.setitem(segment_anything.sam_model_registry, "vit_b", lambda: tiny_sam(seed=9))
    embedded = []
    real = SamSegmenter._embed
    monkeypatch.setattr(SamSegmenter, "_embed", lambda self, rgb: embedded.append(rgb.shape) or real(self, rgb))
    out = tmp_path / "r.json"
    argv = ["--clips", str(clips), "--only", "toy", "--sam", str(ckpt), "--device", "cpu", "--clicks", "2",
            "--frames", "3", "--json", str(out)]
    assert bench_segment.main(argv) == 0
    res = json.loads(out.read_text())
    assert res["segmenter"] == "sam:sam_tiny.pth" and res["rows"][0]["frames"] == 3
    # SAM embedded the click frame and every tracked frame (random weights: the IoU means nothing)
    assert len(embedded) >= 3 and set(embedded) == {(72, 96, 3)}
    assert 0.0 <= res["overall"] <= 1.0 and len(res["rows"][0]["per_click"]["1"][0]) == 2


def test_an_unusable_sam_checkpoint_stops_in_one_line(tmp_path):
    clips = toy_clips(tmp_path / "clips")
    bad = tmp_path / "junk.pth"
    bad.write_bytes(b"junk\n")
    for path in (bad, tmp_path / "missing.pth"):
        with pytest.raises(SystemExit) as e:
            bench_segment.main(["--clips", str(clips), "--only", "toy", "--sam", str(path)])
        assert str(e.value).startswith("error: ") and path.name in str(e.value) and "\n" not in str(e.value)


def test_sam_embed_benchmark_times_each_registry_model(tmp_path, monkeypatch):
    """bench_sam_embed.py builds each requested size from the registry (patched to the tiny model)
    and reports embedding and click times per frame of a real video file."""
    import segment_anything

    import bench_sam_embed

    clips = toy_clips(tmp_path / "clips", n=3)
    video = tmp_path / "toy.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 72))
    for f in sorted((clips / "toy").iterdir()):
        w.write(cv2.imread(str(f)))
    w.release()
    for t in ("vit_b", "vit_l"):
        monkeypatch.setitem(segment_anything.sam_model_registry, t, lambda: tiny_sam(seed=5))
    out = tmp_path / "sam.json"
    assert bench_sam_embed.main([str(video), "--types", "vit_b", "vit_l", "--device", "cpu",
                                 "--frames", "3", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["type"] for r in rows] == ["vit_b", "vit_l"]
    assert all(r["frames"] == 3 and r["embed_median_s"] > 0 and r["click_median_s"] > 0 for r in rows)
    with pytest.raises(SystemExit, match="no frames"):
        bench_sam_embed.main([str(tmp_path / "missing.mp4"), "--device", "cpu"])


def test_first_click_benchmark_compares_the_first_and_the_best_candidate(tmp_path):
    """bench_first_click.py clicks each object on every step-th frame and reports the first
    candidate's IoU beside the best one's; on a plain red disc both are high."""
    import bench_first_click

    clips = toy_clips(tmp_path / "clips", n=4)
    out = tmp_path / "fc.json"
    assert bench_first_click.main(["--clips", str(clips), "--only", "toy", "--step", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["frame"] for r in rows] == [0, 2]
    assert all(0.7 < r["first"] <= r["best"] <= 1.0 for r in rows)


class _ThreeCandidates:
    """A segmenter whose first candidate misses the object, whose second holds half of it and whose
    third is the object: what ``--tabs`` measures (a user who looks and presses Tab) and the default
    does not."""

    def __init__(self, gt):
        self.wrong = np.zeros_like(gt)
        self.wrong[:, :10] = True
        self.half = gt.copy()
        self.half[:, 35:] = False
        self.right = gt

    def set_image(self, rgb, index=None):
        pass

    def predict(self, points, previous=None):
        from app.core.segment import Candidate

        return [Candidate(self.wrong, 0.9), Candidate(self.half, 0.8), Candidate(self.right, 0.1)]


def test_tabs_keeps_the_best_of_the_first_n_candidates_and_the_default_the_first():
    gt = np.zeros((40, 60), bool)
    gt[10:30, 25:45] = True
    frames = [np.zeros((40, 60, 3), np.uint8)] * 3
    seg = _ThreeCandidates(gt)
    mask, ious = bench_segment.click_keyframe(seg, frames, gt)
    assert mask is seg.wrong and ious == [0.0]
    mask, ious = bench_segment.click_keyframe(seg, frames, gt, tabs=2)  # the third is not looked at
    assert mask is seg.half and ious == [0.5]
    mask, ious = bench_segment.click_keyframe(seg, frames, gt, tabs=3)
    assert mask is seg.right and ious == [1.0]


def test_tabs_is_a_command_line_option_written_to_the_json(tmp_path):
    clips = toy_clips(tmp_path / "clips")
    out = tmp_path / "r.json"
    assert bench_segment.main(["--clips", str(clips), "--only", "toy", "--tabs", "3", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["tabs"] == 3 and res["overall"] > 0.7
