"""The engine: schedule, streaming, paste-back, crop, cancel; run with a tiny real generator."""
import numpy as np
import pytest
import torch

from app.core.engine import (WINDOW_TRANSFORM_SHARE, EngineConfig, InpaintEngine, crop_around, inpaint_video,
                             neighbours, reference_ids, window_schedule)
from app.core.errors import Cancelled, MaskError, WeightsError
from app.core.jobs import CancelToken
from app.core.masks import MaskStore, dilate
from app.core.sttn import GeneratorConfig, InpaintGenerator, save_generator
from app.core.video import VideoReader


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch.manual_seed(0)
    cfg = GeneratorConfig(channels=32, blocks=2, patch_sizes=((27, 15), (9, 5)), width=108, height=60)
    return save_generator(InpaintGenerator(cfg), tmp_path_factory.mktemp("w") / "tiny.pth")


def box_mask(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_schedule_matches_authors_defaults():
    assert window_schedule(0, 23, 5) == [0, 5, 10, 15, 20]
    assert window_schedule(0, 23, 5, 11) == [5, 16, 27]  # tiles 0..10, 11..21, 22
    assert neighbours(0, 0, 23, 5) == list(range(0, 6))
    assert neighbours(10, 0, 23, 5) == list(range(5, 16))
    # Uncapped: every 10th frame of the video outside the neighbours, as in the authors' test.py.
    assert reference_ids(10, 0, 80, 10, None, neighbours(10, 0, 80, 5)) == [0, 20, 30, 40, 50, 60, 70]


def test_reference_cap_keeps_window_size_fixed_as_video_grows():
    sizes = set()
    for length in (200, 1_000, 10_000):
        for centre in (100, 150):
            nb = neighbours(centre, 0, length, 5)
            refs = reference_ids(centre, 0, length, 10, 6, nb)
            assert len(refs) == 6 and all(abs(r - centre) <= 40 for r in refs)
            sizes.add(len(nb) + len(refs))
    assert sizes == {17}
    uncapped = [len(reference_ids(100, 0, n, 10, None, neighbours(100, 0, n, 5))) for n in (200, 1_000)]
    assert uncapped[1] > uncapped[0]


def test_crop_box_has_model_aspect_and_fits_frame():
    c = crop_around((1700, 950, 1800, 1000), 1920, 1080, 432, 240, 32)
    assert c.x1 <= 1920 and c.y1 <= 1080 and c.x0 >= 0 and c.y0 >= 0
    assert abs(c.w / c.h - 432 / 240) < 0.02 and c.w >= 432
    assert c.x0 <= 1700 - 32 and c.x1 >= 1800 + 32 and c.y0 <= 950 - 32


def _run(engine, reader, masks, **kw):
    out = {}
    n = engine.run(reader, masks, lambda i, f: out.__setitem__(i, f), **kw)
    return out, n


@pytest.mark.parametrize("crop,step,precision", [(False, 5, "fp32"), (True, None, "bf16")])
def test_only_masked_pixels_change(make_clip, tiny_weights, crop, step, precision):
    path = make_clip(n=23, width=160, height=90)
    reader = VideoReader(path)
    masks = MaskStore(len(reader), reader.width, reader.height)
    m = box_mask(90, 160, 30, 50, 60, 90)
    masks.set_many(range(2, 21), m)
    engine = InpaintEngine(tiny_weights, EngineConfig(max_refs=2, dilate=2, crop_to_mask=crop, crop_margin=8,
                                                      window_step=step, precision=precision))
    seen = []
    out, n = _run(engine, reader, masks, progress=seen.append)
    assert n == 19 and sorted(out) == list(range(23))
    grown = dilate(m, 2)
    changed_frames = 0
    for i in range(23):
        original = reader[i]
        diff = (out[i] != original).any(axis=2)
        assert not diff[~grown].any(), f"frame {i}: pixels outside the mask changed"
        changed_frames += diff.any()
        if i < 2 or i > 20:
            assert np.array_equal(out[i], original)
    assert changed_frames == 19
    assert seen[-1].done == seen[-1].total == 23


def test_range_and_cancel(make_clip, tiny_weights):
    reader = VideoReader(make_clip(n=30, width=108, height=60))
    masks = MaskStore(30, 108, 60)
    masks.set_many(range(30), box_mask(60, 108, 10, 30, 10, 40))
    engine = InpaintEngine(tiny_weights, EngineConfig(max_refs=3))
    out, n = _run(engine, reader, masks, start=10, end=20)
    assert sorted(out) == list(range(10, 20)) and n == 10
    token = CancelToken()

    def progress(p):
        if p.done >= 3:
            token.cancel()

    with pytest.raises(Cancelled):
        _run(engine, reader, masks, progress=progress, cancel=token)


@pytest.mark.parametrize("how", ["run", "preview"])
def test_cancel_stops_a_window_between_the_transformers_blocks(make_clip, tiny_weights, how):
    """On a CPU a window of the real model takes 20-30 s: Cancel waited for it to end (an Inpaint
    stopped 29.5 s after Esc). It now stops after the block it is in (on a CPU: on CUDA a window
    takes milliseconds and is not split)."""
    reader = VideoReader(make_clip(n=12, width=108, height=60))
    masks = MaskStore(12, 108, 60)
    masks.set_many(range(12), box_mask(60, 108, 10, 30, 10, 40))
    engine = InpaintEngine(tiny_weights, EngineConfig(max_refs=3, device="cpu"))
    token, ran = CancelToken(), []

    def first_block_done(module, inputs, output):
        ran.append(module)
        token.cancel()  # Cancel pressed while the first block computes

    blocks = engine.model.transformer
    hooks = [b.register_forward_hook(first_block_done) for b in blocks]
    try:
        with pytest.raises(Cancelled):
            if how == "run":
                _run(engine, reader, masks, cancel=token)
            else:
                engine.preview_frame(reader, masks, 5, cancel=token)
    finally:
        for h in hooks:
            h.remove()
    assert ran == [blocks[0]]  # the second block never ran


def _four_block_engine(**kw):
    """A tiny real generator of four transformer blocks on the CPU, with ``ran``: the blocks computed."""
    torch.manual_seed(0)
    model = InpaintGenerator(GeneratorConfig(channels=16, blocks=4, patch_sizes=((27, 15), (9, 5)), width=108,
                                             height=60))
    engine = InpaintEngine(model, EngineConfig(max_refs=2, device="cpu", **kw))
    ran = []
    for b in engine.model.transformer:
        b.register_forward_hook(lambda module, inputs, output: ran.append(module))
    return engine, ran


@pytest.mark.parametrize("frames,windows", [(11, 1), (22, 2)])
def test_progress_rises_with_the_transformers_blocks_inside_a_window_on_a_cpu(make_clip, frames, windows):
    """On a CPU a window of the real model takes tens of seconds to minutes, and the work reported
    moved only when its frames were handed on: "0/80 frames" for 2 min 20 s, then an ETA of 02:40 at 47 %
    for a job that ended 20 s later. The work now rises after each block, the count staying at the
    frames handed on. A window's frames go on as soon as it is done (on a CPU nothing is queued), not
    after the next window's blocks."""
    reader = VideoReader(make_clip(n=frames, width=108, height=60))
    masks = MaskStore(frames, 108, 60)
    masks.set_many(range(frames), box_mask(60, 108, 10, 30, 10, 40))
    engine, ran = _four_block_engine(io_threads=False)
    seen, got = [], []
    engine.run(reader, masks, lambda i, f: got.append(i), progress=lambda p: seen.append(
        (p.done, p.total, p.work, len(ran), len(got))))
    steps = []  # (work, blocks run) as they change: the frames handed on between report the work reached
    for _, _, work, blocks, _ in seen:
        if work is not None and (not steps or steps[-1] != pytest.approx((work, blocks))):
            steps.append((work, blocks))
    # a report after each block of each window and one when the window is done, each with the window's
    # share of the job done so far (its blocks: WINDOW_TRANSFORM_SHARE of it)
    expect = [(w + WINDOW_TRANSFORM_SHARE * b / 4) / windows for w in range(windows) for b in range(1, 5)]
    expect = sorted(expect + [(w + 1) / windows for w in range(windows)])
    assert [work for work, _ in steps] == pytest.approx(expect)
    assert [blocks for _, blocks in steps] == [4 * w + b for w in range(windows) for b in (1, 2, 3, 4, 4)]
    assert all(done == handed for done, _, _, _, handed in seen)  # the count: frames handed on
    if windows > 1:  # the first window's final frames were handed on before the second window's first block
        assert next(handed for _, _, _, blocks, handed in seen if blocks == 5) > 0
    works = [work for _, _, work, _, _ in seen if work is not None]
    assert works == sorted(works) and works[-1] == 1.0  # (never back when the frames are handed on)
    dones = [done for done, *_ in seen]
    assert dones == sorted(dones) and set(dones) == set(range(frames + 1)) and {t for _, t, *_ in seen} == {frames}
    assert got == list(range(frames))


def test_a_cancel_asked_by_a_progress_report_inside_a_window_stops_it_there(make_clip):
    reader = VideoReader(make_clip(n=11, width=108, height=60))
    masks = MaskStore(11, 108, 60)
    masks.set_many(range(11), box_mask(60, 108, 10, 30, 10, 40))
    engine, ran = _four_block_engine()
    token, got = CancelToken(), []

    def progress(p):
        if p.work:  # the first block of the window is done
            token.cancel()

    with pytest.raises(Cancelled):
        engine.run(reader, masks, lambda i, f: got.append(i), progress=progress, cancel=token)
    assert len(ran) == 1 and got == []  # the second block never ran, no frame was handed on


def test_on_cuda_the_transform_runs_whole_without_a_callback(tiny_weights):
    """On CUDA a window takes milliseconds and a compiled transform keeps one graph: no cancel check
    nor progress between its blocks (the prediction is only queued there)."""
    engine = InpaintEngine(tiny_weights, EngineConfig(device="cpu"))
    engine.device, engine.autocast_dtype = torch.device("cuda"), None
    asked = []

    class Queued(Exception):
        pass

    def transform(feats, masks, b=1, between=None):
        asked.append(between)
        raise Queued

    engine.model.transform = transform
    feats, masks = torch.zeros(3, 32, 15, 27), torch.zeros(3, 1, 60, 108)
    with pytest.raises(Queued):
        engine._predict_start(feats, masks, 1, None, CancelToken(), lambda share: None)
    engine.device = torch.device("cpu")
    with pytest.raises(Queued):
        engine._predict_start(feats, masks, 1, None, CancelToken(), lambda share: None)
    assert asked[0] is None and callable(asked[1])


def test_streaming_keeps_feature_cache_bounded(make_clip, tiny_weights, monkeypatch):
    reader = VideoReader(make_clip(n=120, width=108, height=60))
    masks = MaskStore(120, 108, 60)
    masks.set_many(range(120), box_mask(60, 108, 10, 30, 10, 40))
    engine = InpaintEngine(tiny_weights, EngineConfig(max_refs=4))
    windows = []
    real = engine._predict_start

    def spy(feats, *args):
        windows.append(feats.shape[0])
        return real(feats, *args)

    monkeypatch.setattr(engine, "_predict_start", spy)
    encoded = []
    real_encode = engine._encode
    monkeypatch.setattr(engine, "_encode", lambda f, m: encoded.append(len(f)) or real_encode(f, m))
    _run(engine, reader, masks)
    assert max(windows) == 11 + 4 and len(set(windows[2:-2])) == 1
    assert sum(encoded) < 120 * 1.5  # each frame encoded about once, not once per window


def test_preview_frame_changes_only_the_mask(make_clip, tiny_weights):
    reader = VideoReader(make_clip(n=15, width=108, height=60))
    masks = MaskStore(15, 108, 60)
    m = box_mask(60, 108, 20, 40, 30, 60)
    masks.set_many(range(15), m)
    engine = InpaintEngine(tiny_weights, EngineConfig(dilate=0))
    out = engine.preview_frame(reader, masks, 7)
    diff = (out != reader[7]).any(axis=2)
    assert diff.any() and not diff[~m].any()


def test_inpaint_video_end_to_end(make_clip, tiny_weights, tmp_path):
    src = make_clip(n=12, width=108, height=60, audio=True)
    masks = MaskStore(12, 108, 60)
    masks.set_many(range(12), box_mask(60, 108, 20, 40, 30, 60))
    res = inpaint_video(src, masks, tmp_path / "o.mp4", weights=tiny_weights, start=2, end=9)
    assert res.inpainted == 7 and res.frames == 12
    with VideoReader(res.output) as o:
        assert (len(o), o.width, o.height, o.has_audio) == (12, 108, 60, True)


def test_inpaint_video_bad_inputs(make_clip, tiny_weights, tmp_path):
    src = make_clip(n=6, width=108, height=60)
    masks = MaskStore(6, 108, 60)
    masks.set(0, box_mask(60, 108, 0, 5, 0, 5))
    with pytest.raises(WeightsError, match="--weights"):
        inpaint_video(src, masks, tmp_path / "o.mp4", weights=None, config=EngineConfig(fill="sttn"))
    with pytest.raises(MaskError, match="Masks are 50x50"):
        inpaint_video(src, MaskStore(6, 50, 50), tmp_path / "o.mp4", weights=tiny_weights)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        inpaint_video(src, masks, tmp_path / "o.mp4", weights=tiny_weights, cancel=token)
    assert list(tmp_path.glob("*o.*")) == []


def test_empty_mask_copies_through(make_clip, tmp_path):
    src = make_clip(n=5, width=64, height=48, audio=True)
    res = inpaint_video(src, MaskStore(5, 64, 48), tmp_path / "o.mp4", weights=None)
    assert res.inpainted == 0 and "empty" in res.warnings[0]
    with VideoReader(res.output) as o, VideoReader(src) as i:
        assert len(o) == 5 and o.has_audio
        assert all(np.array_equal(o[k], i[k]) for k in range(5))  # stream copy: bit-exact


def test_bf16_output_close_to_fp32(make_clip, tiny_weights):
    reader = VideoReader(make_clip(n=8, width=108, height=60))
    masks = MaskStore(8, 108, 60)
    masks.set_many(range(8), box_mask(60, 108, 20, 40, 30, 60))
    a, _ = _run(InpaintEngine(tiny_weights, EngineConfig(precision="fp32")), reader, masks)
    b, _ = _run(InpaintEngine(tiny_weights, EngineConfig(precision="bf16")), reader, masks)
    mse = np.mean([(a[i].astype(float) - b[i]) ** 2 for i in range(8)])
    assert 10 * np.log10(255 ** 2 / max(mse, 1e-10)) > 40


@pytest.mark.parametrize("kernel", ["matmul", "sdpa"])
def test_io_threads_and_kernels_do_not_change_the_output(make_clip, tiny_weights, tmp_path, kernel):
    """Decoding ahead / encoding behind on threads and the attention kernel are speed-only choices."""
    src = make_clip(n=14, width=108, height=60, audio=True)
    masks = MaskStore(14, 108, 60)
    masks.set_many(range(14), box_mask(60, 108, 10, 40, 20, 70))
    outs = []
    for threads, k in ((False, "matmul"), (True, kernel)):
        engine = InpaintEngine(tiny_weights, EngineConfig(io_threads=threads, attention_kernel=k, precision="fp32",
                                                          device="cpu"))
        got = {}
        with VideoReader(src) as r:
            engine.run(r, masks, lambda i, f: got.__setitem__(i, f.copy()), 1, 12)
        outs.append(np.stack([got[i] for i in range(1, 12)]).astype(np.float32))
    assert np.abs(outs[0] - outs[1]).max() <= 1
    # End to end through the write-behind thread: every frame, in order, audio kept.
    cfg = EngineConfig(fill="sttn", io_threads=True, attention_kernel=kernel, precision="fp32", device="cpu")
    res = inpaint_video(src, masks, tmp_path / "o.mp4", weights=tiny_weights, config=cfg, start=1, end=12)
    with VideoReader(res.output) as o, VideoReader(src) as r:
        assert (len(o), o.has_audio) == (14, True)
        def err(a, b):
            return np.abs(a.astype(np.float32) - b).mean()

        # Each frame lands in its own place (closer to its source than to a neighbour's).
        assert err(o.read(0), r.read(0)) < err(o.read(0), r.read(1))
        assert err(o.read(6), outs[0][5]) < min(err(o.read(6), outs[0][4]), err(o.read(6), outs[0][6]))


@pytest.mark.parametrize("io_threads", [True, False])
def test_sink_order_errors_and_cancel_with_paste_behind(make_clip, tiny_weights, io_threads):
    """Paste-back runs on a thread with io_threads: frames still arrive in order, a failing sink's
    own error reaches the caller, and a cancel still delivers the frames already computed."""
    reader = VideoReader(make_clip(n=24, width=108, height=60))
    masks = MaskStore(24, 108, 60)
    masks.set_many(range(0, 24, 2), box_mask(60, 108, 10, 30, 10, 40))  # every other frame masked
    engine = InpaintEngine(tiny_weights, EngineConfig(max_refs=2, io_threads=io_threads))
    seen = []
    engine.run(reader, masks, lambda i, f: seen.append(i))
    assert seen == list(range(24))

    class DiskFull(OSError):
        pass

    def failing(i, frame):
        if i == 5:
            raise DiskFull("no space left")

    with pytest.raises(DiskFull):
        engine.run(reader, masks, failing)

    token = CancelToken()
    got = []

    def progress(p):
        if p.done >= 12:
            token.cancel()

    with pytest.raises(Cancelled):
        engine.run(reader, masks, lambda i, f: got.append(i), progress=progress, cancel=token)
    assert got == list(range(len(got))) and len(got) >= 12  # in order, nothing emitted is dropped


def test_paste_back_writes_only_the_masks_box_as_a_full_resize_would():
    # The paste resizes only the mask's bounding box (cv2.warpAffine with resize's pixel mapping);
    # the result must be the full cubic resize's pixels inside the mask, the frame's elsewhere.
    import cv2

    from app.core.config import EngineConfig
    from app.core.engine import InpaintEngine, crop_around
    from app.core.sttn import GeneratorConfig, InpaintGenerator

    gcfg = GeneratorConfig(channels=16, blocks=1, patch_sizes=((8, 8),), width=64, height=32)
    engine = InpaintEngine(InpaintGenerator(gcfg), EngineConfig(device="cpu", seam="none"))
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (90, 170, 3), dtype=np.uint8)
    pred = cv2.GaussianBlur(rng.uniform(0, 255, (32, 64, 3)).astype(np.float32), (0, 0), 2)
    mask = np.zeros((90, 170), bool)
    mask[20:47, 101:150] = True
    mask[60:63, 5:9] = True
    full = cv2.resize(np.clip(pred + 0.5, 0, 255).astype(np.uint8), (170, 90), interpolation=cv2.INTER_CUBIC)
    out = engine._paste(frame, pred, mask, None)
    assert np.abs(out[mask].astype(int) - full[mask].astype(int)).max() <= 1
    np.testing.assert_array_equal(out[~mask], frame[~mask])
    assert out is not frame and not np.shares_memory(out, frame)
    # with a crop: the same inside the crop's region
    crop = crop_around((100, 20, 150, 47), 170, 90, 64, 32, 4)
    region = np.ascontiguousarray(frame[crop.y0:crop.y1, crop.x0:crop.x1])
    full_c = cv2.resize(np.clip(pred + 0.5, 0, 255).astype(np.uint8), (crop.w, crop.h), interpolation=cv2.INTER_CUBIC)
    m = np.zeros_like(mask)
    m[25:40, 110:140] = True
    out = engine._paste(frame, pred, m, crop)
    mc = m[crop.y0:crop.y1, crop.x0:crop.x1]
    assert np.abs(out[crop.y0:crop.y1, crop.x0:crop.x1][mc].astype(int) - full_c[mc].astype(int)).max() <= 1
    np.testing.assert_array_equal(out[~m], frame[~m])
    assert region.shape[:2] == (crop.h, crop.w)
    # an empty mask pastes nothing
    np.testing.assert_array_equal(engine._paste(frame, pred, np.zeros_like(mask), None), frame)


def test_compile_option_compiles_the_transform_once_on_cuda_only(monkeypatch):
    # torch.compile itself is not run here (minutes of compiling on a CPU); what is checked is that the
    # option reaches it on CUDA with the measured arguments, once per model, and is ignored elsewhere.
    from app.core import engine as engine_mod
    from app.core.sttn import GeneratorConfig, InpaintGenerator

    calls = []

    def fake_compile(fn, **kw):
        calls.append(kw)

        def compiled(*a, **k):
            return fn(*a, **k)
        return compiled

    monkeypatch.setattr(engine_mod.torch, "compile", fake_compile)
    model = InpaintGenerator(GeneratorConfig(channels=16, blocks=1, patch_sizes=((8, 8),), width=32, height=32))
    assert not engine_mod.compile_transform(model, True, torch.device("cpu"))
    assert not engine_mod.compile_transform(model, False, torch.device("cuda"))
    assert calls == []
    assert engine_mod.compile_transform(model, True, torch.device("cuda"))
    assert engine_mod.compile_transform(model, True, torch.device("cuda"))  # already compiled: not again
    assert calls == [{"dynamic": True}]
    x = torch.zeros(2, 16, 8, 8)
    m = torch.zeros(2, 1, 32, 32)
    assert model.transform(x, m, 1).shape == x.shape  # the wrapper still runs the model
    # and the engine's option: on a CPU it runs eagerly
    eng = InpaintEngine(InpaintGenerator(model.config), EngineConfig(device="cpu", compile=True))
    assert not getattr(eng.model, "_compiled_transform", False)
    assert EngineConfig.from_dict({"compile": True}).compile is True
