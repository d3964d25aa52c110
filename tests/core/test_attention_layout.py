"""The multi-head patch attention against a plain, loop-by-patch reference (issue 8).

``MultiHeadedAttention.forward`` is written for few re-layout copies (one fused query/key/value
convolution, one copy in and one out per head, patch vectors ordered by the memory layout). The
reference below takes every patch out by slicing, one at a time, as the paper describes it, so that
any change to the fast path that alters the function shows up here.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from app.core.sttn.generator import GeneratorConfig, InpaintGenerator, MultiHeadedAttention

PATCHES = ((8, 6), (4, 3), (2, 1))  # (width, height) on an 8x6 feature map: 1, 4 and 24 patches a frame
CHANNELS, H, W = 12, 6, 8


def reference_attention(att, x, m, b):
    """Paper Sec. 3.2 / the authors' code, patch by patch; x (B*T, C, h, w), m (B*T, 1, h, w)."""
    bt, c, h, w = x.shape
    t = bt // b
    d = c // len(att.patch_sizes)
    q = F.conv2d(x, att.query_embedding.weight, att.query_embedding.bias)
    k = F.conv2d(x, att.key_embedding.weight, att.key_embedding.bias)
    v = F.conv2d(x, att.value_embedding.weight, att.value_embedding.bias)
    out = torch.zeros_like(q)
    for i, (pw, ph) in enumerate(att.patch_sizes):
        ch = slice(i * d, (i + 1) * d)
        for bi in range(b):
            where = [(bi * t + f, slice(r * ph, (r + 1) * ph), slice(s * pw, (s + 1) * pw))
                     for f in range(t) for r in range(h // ph) for s in range(w // pw)]
            qm = torch.stack([q[f, ch, ys, xs].reshape(-1) for f, ys, xs in where])
            km = torch.stack([k[f, ch, ys, xs].reshape(-1) for f, ys, xs in where])
            vm = torch.stack([v[f, ch, ys, xs].reshape(-1) for f, ys, xs in where])
            scores = qm @ km.T / math.sqrt(d * ph * pw)
            if att.attention_mode == "masked":
                missing = torch.tensor([bool(m[f, 0, ys, xs].mean() > 0.5) for f, ys, xs in where])
                scores = scores.masked_fill(missing[None, :], -1e9)
            y = torch.softmax(scores, dim=-1) @ vm
            for j, (f, ys, xs) in enumerate(where):
                out[f, ch, ys, xs] = y[j].view(d, ph, pw)
    return att.output_linear(out)


def make_attention(mode, kernel, seed=0):
    torch.manual_seed(seed)
    att = MultiHeadedAttention(PATCHES, CHANNELS, mode).eval()
    att.kernel = kernel
    for p in att.parameters():
        torch.nn.init.normal_(p, 0.0, 0.3)  # large enough that attention is far from uniform
    return att


def inputs(b=2, t=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b * t, CHANNELS, H, W, generator=g)
    m = (torch.rand(b * t, 1, H, W, generator=g) > 0.6).float()
    m[t:2 * t] = 1  # the second clip entirely missing: every key masked, output must stay finite
    m[0, :, :3, :4] = 1
    return x, m


@pytest.mark.parametrize("kernel", ["matmul", "sdpa"])
@pytest.mark.parametrize("mode", ["official", "masked"])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_attention_matches_reference(mode, kernel, layout):
    att = make_attention(mode, kernel)
    x, m = inputs()
    with torch.no_grad():
        ref = reference_attention(att, x, m, b=2)
        if layout == "channels_last":
            att = att.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        out = att(x, m, 2)
    assert out.shape == ref.shape and torch.isfinite(out).all()
    assert (out - ref).abs().max() < 1e-5
    assert ref.std() > 0.1  # not a degenerate comparison


def test_masked_and_official_differ_in_the_reference_too():
    x, m = inputs()
    with torch.no_grad():
        a = make_attention("official", "matmul")(x, m, 2)
        b = make_attention("masked", "matmul")(x, m, 2)
    assert (a - b).abs().max() > 1e-3


def test_gradients_reach_the_three_embeddings_as_in_the_reference():
    """Training updates the authors' three convolutions: the fused one is built from them on each call."""
    x, m = inputs()
    grads = []
    for fn in (lambda a: a(x, m, 2), lambda a: reference_attention(a, x, m, 2)):
        att = make_attention("masked", "matmul")
        fn(att).square().sum().backward()
        grads.append({n: p.grad.clone() for n, p in att.named_parameters()})
    fast, ref = grads
    assert set(fast) == set(ref)
    for name in ref:
        assert torch.allclose(fast[name], ref[name], rtol=1e-4, atol=1e-4), name


def test_weight_changes_are_seen_at_once():
    att = make_attention("official", "matmul")
    x, m = inputs()
    with torch.no_grad():
        before = att(x, m, 2)
        att.key_embedding.weight.mul_(2)
        att.value_embedding.bias.add_(0.5)
        after = att(x, m, 2)
        ref = reference_attention(att, x, m, 2)
    assert (after - before).abs().max() > 1e-3
    assert (after - ref).abs().max() < 1e-5


def test_state_dict_keeps_three_embeddings():
    keys = set(make_attention("official", "matmul").state_dict())
    assert {"query_embedding.weight", "key_embedding.weight", "value_embedding.weight",
            "query_embedding.bias", "key_embedding.bias", "value_embedding.bias"} <= keys
    assert not any("qkv" in k for k in keys)


@pytest.mark.parametrize("mode", ["official", "masked"])
def test_channels_last_generator_computes_the_same_function(mode):
    """A channels-last model (how the engine runs reduced precision) takes its features into that
    layout in ``transform``; in float32 it gives the NCHW model's output."""
    torch.manual_seed(2)
    cfg = GeneratorConfig(channels=32, blocks=2, patch_sizes=((27, 15), (9, 5)), width=108, height=60,
                          attention=mode)
    model = InpaintGenerator(cfg).eval()
    model.init_weights(gain=0.05)  # outputs well away from both zero and tanh's saturation
    x = torch.rand(1, 4, 3, 60, 108) * 2 - 1
    mk = torch.zeros(1, 4, 1, 60, 108)
    mk[..., 10:50, 20:70] = 1
    with torch.no_grad():
        a = model(x * (1 - mk), mk)
        model = model.to(memory_format=torch.channels_last)
        feats = model.encode((x * (1 - mk))[0]).contiguous()  # the engine hands over stacked NCHW features
        y = model.transform(feats, mk[0], 1)
        b = model.decode(y)
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert a.std() > 0.01
    assert (a - b).abs().max() < 1e-5
