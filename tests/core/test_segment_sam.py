"""SAM path with a tiny random-weight model (64 px input, 1-block encoder): real code, fast."""
from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch

from app.core.errors import Cancelled, SegmentError
from app.core.jobs import CancelToken
from app.core.segment import GrabCutSegmenter, Segmenter
from app.core.segment.sam import SAM_CHECKPOINTS, SamSegmenter, find_sam_checkpoint, load_sam


def tiny_sam(seed: int = 0, **encoder):
    """``encoder``: ImageEncoderViT arguments instead of the tiny ones (depth=12: more blocks)."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(seed)
    img, patch, dim = 64, 16, 32
    grid = img // patch
    return Sam(
        image_encoder=ImageEncoderViT(**{**dict(img_size=img, patch_size=patch, embed_dim=32, depth=1, num_heads=1,
                                                mlp_ratio=2, out_chans=dim, qkv_bias=True,
                                                norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)), **encoder}),
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


def test_a_cancelled_check_stops_the_embedding_between_encoder_blocks_and_keeps_nothing():
    """The click worker passes its cancel token's check to set_image: a token cancelled while
    encoder block k runs stops the pass before block k + 1 (the GUI's Esc, or a click on another
    frame, takes effect within one block instead of after the whole embedding); nothing is cached
    or half set (the frame prepared before answers as before), and the frame is computed anew when
    asked again. Unstopped, the block-by-block pass gives SamPredictor's features to the bit."""
    from segment_anything import SamPredictor

    # ViT-B's shape in small: windowed attention with relative positions, two global blocks
    model = tiny_sam(depth=6, window_size=2, global_attn_indexes=(2, 5), use_rel_pos=True)
    ran, token, stop_after = [], None, 3

    def block_ran(i):
        def hook(module, args, out):
            ran.append(i)
            if i == stop_after - 1 and token is not None:
                token.cancel()  # (as the GUI thread does while block i runs)
        return hook

    for i, blk in enumerate(model.image_encoder.blocks):
        blk.register_forward_hook(block_ran(i))
    seg = SamSegmenter(model)
    seg.set_image(frame(0), index=0)  # (no check: SamPredictor's own pass)
    first = seg.predict([(20, 12, 1)])
    features = seg.predictor.features
    ran.clear()
    token = CancelToken()  # (the hooks cancel this one)
    with pytest.raises(Cancelled):
        seg.set_image(frame(1, h=40, w=64), index=1, check=token.check)
    assert ran == [0, 1, 2]  # stop_after blocks of 6
    assert seg.is_cached(0) and not seg.is_cached(1) and seg.embed_calls == 1
    assert seg.predictor.features is features and seg.predictor.original_size == (48, 80)
    assert seg.image_shape == (48, 80)
    again = seg.predict([(20, 12, 1)])
    assert all(np.array_equal(a.mask, b.mask) and a.score == b.score for a, b in zip(first, again))

    ran.clear()
    seg.set_image(frame(1, h=40, w=64), index=1, check=CancelToken().check)
    assert ran == list(range(6)) and seg.embed_calls == 2 and seg.is_cached(1) and seg.image_shape == (40, 64)
    ref = SamPredictor(model)
    ref.set_image(frame(1, h=40, w=64))
    assert torch.equal(seg.predictor.features, ref.features)
    assert (seg.predictor.original_size, seg.predictor.input_size) == (ref.original_size, ref.input_size)
    assert [c.score for c in seg.predict([(20, 12, 1)])] == sorted(
        (float(s) for s in ref.predict(np.array([[20.0, 12.0]]), np.array([1]))[1]), reverse=True)


def test_a_cancelled_check_stops_a_one_step_embedding_before_it():
    """A segmenter whose preparation is one step (GrabCut) checks before it."""
    token = CancelToken()
    token.cancel()
    seg = GrabCutSegmenter()
    with pytest.raises(Cancelled):
        seg.set_image(frame(0), index=0, check=token.check)
    assert seg.embed_calls == 0 and not seg.is_cached(0) and seg.image_shape is None
    seg.set_image(frame(0), index=0, check=CancelToken().check)
    assert seg.embed_calls == 1 and seg.is_cached(0)
