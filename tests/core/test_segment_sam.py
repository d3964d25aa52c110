"""SAM path with a tiny random-weight model (64 px input, 1-block encoder): real code, fast."""
from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch

from app.core.errors import SegmentError
from app.core.segment import Segmenter
from app.core.segment.sam import SAM_CHECKPOINTS, SamSegmenter, find_sam_checkpoint, load_sam


def tiny_sam(seed: int = 0):
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(seed)
    img, patch, dim = 64, 16, 32
    grid = img // patch
    return Sam(
        image_encoder=ImageEncoderViT(img_size=img, patch_size=patch, embed_dim=32, depth=1, num_heads=1,
                                      mlp_ratio=2, out_chans=dim, qkv_bias=True,
                                      norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)),
        prompt_encoder=PromptEncoder(embed_dim=dim, image_embedding_size=(grid, grid),
                                     input_image_size=(img, img), mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=dim, iou_head_depth=1,
                                 iou_head_hidden_dim=16,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=dim, mlp_dim=64, num_heads=1)),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375],
    ).eval()


class CountingSam:
    """A SamSegmenter whose image encoder counts its forward passes."""

    def __init__(self, cache_size=4):
        model = tiny_sam()
        self.calls = 0
        enc_forward = model.image_encoder.forward

        def counted(x):
            self.calls += 1
            return enc_forward(x)

        model.image_encoder.forward = counted
        self.seg = SamSegmenter(model, cache_size=cache_size)


def frame(seed=0, h=48, w=80):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_click_gives_candidates_of_frame_size_best_first():
    seg = SamSegmenter(tiny_sam())
    assert isinstance(seg, Segmenter)
    seg.set_image(frame(), index=0)
    cands = seg.predict([(20, 12, 1), (70, 40, 0)])
    assert len(cands) == 3  # multimask output: the GUI cycles through these
    for c in cands:
        assert c.mask.shape == (48, 80) and c.mask.dtype == bool
    scores = [c.score for c in cands]
    assert scores == sorted(scores, reverse=True)
    box_cands = seg.predict([], box=(5, 5, 40, 30))
    assert box_cands[0].mask.shape == (48, 80)


def test_embedding_cache_skips_encoder_and_restores_same_result():
    c = CountingSam(cache_size=2)
    seg = c.seg
    seg.set_image(frame(0), index=0)
    first = seg.predict([(20, 12, 1)])
    seg.set_image(frame(0), index=0)
    again = seg.predict([(20, 12, 1)])
    assert c.calls == 1
    seg.set_image(frame(1), index=1)
    assert c.calls == 2
    seg.set_image(frame(0), index=0)  # back to frame 0: restored, not recomputed
    assert c.calls == 2
    restored = seg.predict([(20, 12, 1)])
    for a, b in zip((first, again), (restored, restored)):
        assert all(np.array_equal(x.mask, y.mask) for x, y in zip(a, b))
    seg.set_image(frame(2), index=2)  # cache bound 2 evicts frame 1 (least recently used)
    seg.set_image(frame(1), index=1)
    assert c.calls == 4
    seg.set_image(frame(3))  # no index: never cached
    seg.set_image(frame(3))
    assert c.calls == 6


def test_predict_before_set_image_and_without_prompt():
    seg = SamSegmenter(tiny_sam())
    with pytest.raises(RuntimeError):
        seg.predict([(1, 1, 1)])
    seg.set_image(frame())
    with pytest.raises(ValueError):
        seg.predict([])


def test_find_checkpoint_by_official_names(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert find_sam_checkpoint([a, b]) is None
    (b / "sam_vit_h_4b8939.pth").write_bytes(b"x")
    (b / "sam_vit_b_01ec64.pth").write_bytes(b"x")
    assert find_sam_checkpoint([a, b]) == b / "sam_vit_b_01ec64.pth"  # ViT-B first: fastest on CPU
    assert find_sam_checkpoint([a, b], "vit_h") == b / "sam_vit_h_4b8939.pth"
    assert find_sam_checkpoint([a, b], "vit_l") is None
    assert {c.filename for c in SAM_CHECKPOINTS.values()} == {
        "sam_vit_b_01ec64.pth", "sam_vit_l_0b3195.pth", "sam_vit_h_4b8939.pth"}
    with pytest.raises(SegmentError):
        find_sam_checkpoint([a], "vit_x")


def test_wrong_files_give_clear_errors(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(SegmentError, match="nope.pth"):
        load_sam(missing)
    junk = tmp_path / "junk.pth"
    for content in (b"not a checkpoint at all", b"junk\n", b"K"):  # the last two: KeyError, IndexError inside torch
        junk.write_bytes(content)
        with pytest.raises(SegmentError, match="junk.pth.*download it again"):
            load_sam(junk)
    # a real checkpoint holding a class weights_only refuses: torch's own text suggests
    # weights_only=False, which must never reach the user for a downloaded file
    import argparse

    torch.save({"model": argparse.Namespace(a=1)}, junk)
    with pytest.raises(SegmentError, match="junk.pth.*download it again") as err:
        load_sam(junk)
    assert "weights_only" not in str(err.value)
    other = tmp_path / "sttn.pth"
    torch.save({"netG": {"w": torch.zeros(2)}}, other)
    with pytest.raises(SegmentError, match="sttn.pth.*not a Segment Anything"):
        load_sam(other)
    # an official file cut short (a download stopped by hand, a partial copy): one line that says
    # so, not torch's paragraph cut off mid-sentence ("PytorchStreamReader failed reading zip ...")
    full = tmp_path / "full.pth"
    torch.save({"image_encoder.patch_embed.proj.weight": torch.zeros(768, 3, 16, 16)}, full)
    cut = tmp_path / "sam_vit_b_01ec64.pth"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(SegmentError) as err:
        load_sam(cut)
    said = str(err.value)
    assert f"it has {cut.stat().st_size:,} of the official file's 375,042,383 bytes, so it was cut short" in said
    assert "download it again" in said and "PytorchStreamReader" not in said and "\n" not in said
    odd = tmp_path / "odd.pth"
    torch.save({"image_encoder.patch_embed.proj.weight": torch.zeros(5, 3, 16, 16)}, odd)
    with pytest.raises(SegmentError, match="odd.pth"):
        load_sam(odd)


def test_load_checkpoint_round_trip_into_registry_model(tmp_path, monkeypatch):
    """load_sam builds the registry model and loads the file (registry patched to the tiny model)."""
    import segment_anything

    model = tiny_sam(seed=3)
    path = tmp_path / "tiny.pth"
    torch.save(model.state_dict(), path)
    monkeypatch.setitem(segment_anything.sam_model_registry, "vit_b", lambda: tiny_sam(seed=9))
    loaded = load_sam(path, model_type="vit_b")
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    seg = SamSegmenter(loaded)
    seg.set_image(frame(), 0)
    assert seg.predict([(3, 3, 1)])[0].mask.shape == (48, 80)


def test_previous_answer_is_refined_through_sams_mask_prompt():
    """Correcting a shown candidate feeds SAM's own low-resolution logits back as the mask prompt."""
    seg = SamSegmenter(tiny_sam())
    seg.set_image(frame(), index=0)
    first = seg.predict([(20, 12, 1)])
    seen = []
    real = seg.predictor.predict

    def spy(**kw):
        seen.append(kw)
        return real(**kw)

    seg.predictor.predict = spy
    refined = seg.predict([(20, 12, 1), (60, 30, 0)], previous=first[1].mask)
    assert seen[-1]["mask_input"] is not None and seen[-1]["mask_input"].shape[0] == 1  # (1, 4 x grid, 4 x grid)
    assert len(refined) == 1 and refined[0].mask.shape == (48, 80)
    # a mask SAM did not produce (e.g. painted) cannot be turned back into its logits: plain clicks
    seg.predict([(20, 12, 1), (60, 30, 0)], previous=np.ones((48, 80), bool))
    assert seen[-1]["mask_input"] is None
    # a new frame forgets the last answers
    seg.set_image(frame(1), index=1)
    seg.predict([(20, 12, 1)], previous=refined[0].mask)
    assert seen[-1]["mask_input"] is None
