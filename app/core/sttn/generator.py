"""The STTN generator (paper Fig. 2, supplement Table 4).

Module and parameter names follow the authors' released checkpoint
(``encoder.*``, ``transformer.{0..7}.attention.*``, ``transformer.{i}.feed_forward.conv.*``,
``decoder.*``) so that their ``sttn.pth`` loads without renaming. The module knows
nothing of files, schedules or videos: see ``checkpoint.py`` and ``engine.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

ATTENTION_MODES = ("official", "masked")
#: How the patch attention is computed: two explicit matrix products with a softmax between
#: ("matmul"), or torch's scaled_dot_product_attention ("sdpa"). Same function; which is
#: faster depends on the device (docs/BENCHMARKS.md). Patch vectors hold 2,880 to 414,720
#: numbers, beyond what fused (flash / memory-efficient) kernels take, so SDPA falls back to
#: its own math path on most devices.
ATTENTION_KERNELS = ("matmul", "sdpa")

#: (width, height) of the patches of each head on the 108x60 feature map (paper Sec. 3.2).
DEFAULT_PATCH_SIZES = ((108, 60), (36, 20), (18, 10), (9, 5))


@dataclass(frozen=True)
class GeneratorConfig:
    """Settings that define a generator; stored in checkpoints written by this project."""

    channels: int = 256
    blocks: int = 8
    patch_sizes: tuple = DEFAULT_PATCH_SIZES
    attention: str = "official"
    width: int = 432
    height: int = 240

    def __post_init__(self):
        if self.attention not in ATTENTION_MODES:
            raise ValueError(f"attention must be one of {ATTENTION_MODES}, not {self.attention!r}")
        object.__setattr__(self, "patch_sizes", tuple(tuple(int(v) for v in p) for p in self.patch_sizes))

    def to_dict(self) -> dict:
        return {
            "channels": self.channels,
            "blocks": self.blocks,
            "patch_sizes": [list(p) for p in self.patch_sizes],
            "attention": self.attention,
            "width": self.width,
            "height": self.height,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        known = {k: d[k] for k in ("channels", "blocks", "patch_sizes", "attention", "width", "height") if k in d}
        return cls(**known)


def patch_attention(query, key, value, key_missing, patch_dim: int, kernel: str = "matmul"):
    """Scaled dot-product attention over flattened patches.

    query/key/value: (B, N, D) with D = d_k * patch_h * patch_w; key_missing: (B, N) bool
    or None. Returns (B, N, D). The scale is 1/sqrt(D), as in the authors' code.
    """
    if kernel == "sdpa":
        bias = None
        if key_missing is not None:
            # An additive bias rather than a boolean mask: a row whose keys are all missing
            # then stays finite (as with the matmul kernel) instead of becoming NaN.
            bias = torch.zeros(key_missing.shape, dtype=query.dtype, device=query.device)
            bias = bias.masked_fill(key_missing, -1e9 if query.dtype != torch.float16 else -6e4).unsqueeze(1)
        return F.scaled_dot_product_attention(query, key, value, attn_mask=bias, scale=1.0 / math.sqrt(patch_dim))
    scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(patch_dim)
    if key_missing is not None:
        scores = scores.masked_fill(key_missing.unsqueeze(1), -1e9)
    attn = F.softmax(scores, dim=-1)
    return torch.matmul(attn, value)


def is_channels_last(x) -> bool:
    """True where a 4-d tensor is laid out channels-last (and not also plain contiguous)."""
    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


class MultiHeadedAttention(nn.Module):
    """One head per patch size; each head owns ``channels / heads`` channels.

    The work is mostly re-layout between the (B*T, C, h, w) feature maps and the (B, N, D)
    patch matrices (docs/BENCHMARKS.md), so the forward keeps it to one copy in per head
    (query, key and value together) and one copy out per head, with no concatenation:
    query, key and value come from one 1x1 convolution whose output channels are ordered
    head by head (the three weights are concatenated on each call, so the checkpoint keeps
    the authors' three modules and training updates them as before); each head's output is
    written straight into its channels of the output map. The order of the numbers inside a
    patch vector does not change the attention (a dot product and a weighted sum, both taken
    the same way for query, key and value), so it follows the memory layout: (d, ph, pw) for
    NCHW features, (ph, pw, d) for channels-last ones, which keeps each copy's inner loop on
    contiguous memory.
    """

    def __init__(self, patch_sizes, channels: int, attention: str = "official"):
        super().__init__()
        self.patch_sizes = tuple(patch_sizes)
        self.attention_mode = attention
        self.kernel = "matmul"
        self.query_embedding = nn.Conv2d(channels, channels, kernel_size=1)
        self.value_embedding = nn.Conv2d(channels, channels, kernel_size=1)
        self.key_embedding = nn.Conv2d(channels, channels, kernel_size=1)
        self.output_linear = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size=3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        )

    def _qkv_weight_bias(self):
        """The query, key and value convolutions as one: output channels (head, q/k/v, d)."""
        heads = len(self.patch_sizes)
        convs = (self.query_embedding, self.key_embedding, self.value_embedding)
        c_out, c_in = convs[0].weight.shape[:2]
        w = torch.stack([m.weight.reshape(c_out, c_in) for m in convs])  # (3, C, C)
        w = w.view(3, heads, c_out // heads, c_in).transpose(0, 1).reshape(3 * c_out, c_in, 1, 1)
        bias = torch.stack([m.bias for m in convs]).view(3, heads, c_out // heads).transpose(0, 1).reshape(-1)
        return w, bias

    def forward(self, x, m, b: int):
        """x: (B*T, C, h, w) features; m: (B*T, 1, h, w) mask at feature size, 1 = missing."""
        bt, c, h, w = x.shape
        t = bt // b
        heads = len(self.patch_sizes)
        d = c // heads
        qkv = F.conv2d(x, *self._qkv_weight_bias())  # (B*T, heads * 3 * d, h, w)
        cl = is_channels_last(qkv)
        # Dimension orders of one head's channels viewed as (b, t, [3,] d, nh, ph, nw, pw), to
        # ([3,] b, t, nh, nw, <patch vector>), the patch vector (ph, pw, d) or (d, ph, pw).
        in_order = (2, 0, 1, 4, 6, 5, 7, 3) if cl else (2, 0, 1, 4, 6, 3, 5, 7)
        out_order = (0, 1, 3, 5, 4, 6, 2) if cl else (0, 1, 3, 5, 2, 4, 6)
        out = None
        for i, (pw, ph) in enumerate(self.patch_sizes):
            nh, nw = h // ph, w // pw
            n, dim = t * nh * nw, d * ph * pw
            part = qkv[:, 3 * d * i:3 * d * (i + 1)].view(b, t, 3, d, nh, ph, nw, pw)
            q, k, v = part.permute(in_order).reshape(3, b, n, dim).unbind(0)  # one copy
            missing = None
            if self.attention_mode == "masked":
                mp = m.reshape(b, t, nh, ph, nw, pw).mean((3, 5))  # (B, T, nh, nw)
                missing = mp.reshape(b, n) > 0.5
            y = patch_attention(q, k, v, missing, dim, self.kernel)  # (B, N, D)
            if out is None:
                out = torch.empty((bt, c, h, w), dtype=y.dtype, device=y.device,
                                  memory_format=torch.channels_last if cl else torch.contiguous_format)
            dest = out[:, d * i:d * (i + 1)].view(b, t, d, nh, ph, nw, pw).permute(out_order)
            dest.copy_(y.reshape(dest.shape))
        return self.output_linear(out)


class FeedForward(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size=3, padding=2, dilation=2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(channels, channels, kernel_size=3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        )

    def forward(self, x):
        return self.conv(x)


class TransformerBlock(nn.Module):
    def __init__(self, patch_sizes, channels: int, attention: str = "official"):
        super().__init__()
        self.attention = MultiHeadedAttention(patch_sizes, channels, attention)
        self.feed_forward = FeedForward(channels)

    def forward(self, x, m, b: int):
        x = x + self.attention(x, m, b)
        return x + self.feed_forward(x)


class Upsample2xConv(nn.Module):
    """Bilinear x2 upsampling (align_corners=True) then a 3x3 conv; key name ``*.conv``."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))


class InpaintGenerator(nn.Module):
    """STTN generator.

    forward(masked_frames, masks):
      masked_frames: (B, T, 3, H, W) float in [-1, 1], already multiplied by (1 - mask)
      masks:         (B, T, 1, H, W) float, 1 = missing
      returns        (B*T, 3, H, W) in [-1, 1] (after tanh)
    H and W must be multiples of 4 * the patch sizes' lcm; the default model works at 240x432.
    """

    def __init__(self, config: GeneratorConfig | None = None):
        super().__init__()
        self.config = config or GeneratorConfig()
        c = self.config.channels
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, 64, kernel_size=3, stride=1, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, 128, kernel_size=3, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(128, c, kernel_size=3, stride=1, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.transformer = nn.ModuleList(
            TransformerBlock(self.config.patch_sizes, c, self.config.attention) for _ in range(self.config.blocks)
        )
        self.decoder = nn.Sequential(
            Upsample2xConv(c, 128),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(128, 64, kernel_size=3, stride=1, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            Upsample2xConv(64, 64),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, 3, kernel_size=3, stride=1, padding=1),
        )
        self.init_weights()

    def init_weights(self, gain: float = 0.02) -> None:
        """N(0, gain) convolution weights and zero biases, as the authors initialise STTN.

        PyTorch's default initialisation is far larger; with eight residual blocks and no
        normalisation it drives the tanh output into saturation within a few dozen training
        steps (seen on a GPU run: the output stuck at -1 and never recovered).
        """
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, gain)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @property
    def attention_mode(self) -> str:
        return self.config.attention

    def set_attention_mode(self, mode: str) -> None:
        if mode not in ATTENTION_MODES:
            raise ValueError(f"attention must be one of {ATTENTION_MODES}, not {mode!r}")
        self.config = GeneratorConfig(**{**self.config.to_dict(), "attention": mode})
        for block in self.transformer:
            block.attention.attention_mode = mode

    @property
    def attention_kernel(self) -> str:
        return self.transformer[0].attention.kernel if len(self.transformer) else "matmul"

    def set_attention_kernel(self, kernel: str) -> None:
        """"matmul" or "sdpa" (see ATTENTION_KERNELS); changes speed, not results."""
        if kernel not in ATTENTION_KERNELS:
            raise ValueError(f"attention kernel must be one of {ATTENTION_KERNELS}, not {kernel!r}")
        for block in self.transformer:
            block.attention.kernel = kernel

    # The three stages are public so that the engine can encode each frame once and
    # reuse the features across overlapping windows (as the authors' test procedure does).
    def encode(self, masked_frames):
        """(N, 3, H, W) -> (N, C, H/4, W/4)."""
        return self.encoder(masked_frames)

    def transform(self, feats, masks, b: int = 1, between: Optional[Callable[[], None]] = None):
        """feats: (B*T, C, h, w); masks: (B*T, 1, H, W) at frame size -> (B*T, C, h, w).
        ``between``: called after each block (a cancel check: a CPU window takes tens of seconds)."""
        m = F.interpolate(masks, scale_factor=0.25)  # nearest, as the authors do
        if len(self.transformer) and is_channels_last(self.transformer[0].feed_forward.conv[0].weight):
            # A channels-last model (the engine's reduced-precision setting) gets its features
            # in that layout once here, rather than a conversion in front of every convolution
            # and residual additions of mixed layouts in every block.
            feats = feats.contiguous(memory_format=torch.channels_last)
        for block in self.transformer:
            feats = block(feats, m, b)
            if between is not None:
                between()
        return feats

    def decode(self, feats):
        """(N, C, h, w) -> (N, 3, H, W) in [-1, 1]."""
        return torch.tanh(self.decoder(feats))

    def forward(self, masked_frames, masks):
        b, t, c, h, w = masked_frames.shape
        feats = self.encode(masked_frames.reshape(b * t, c, h, w))
        feats = self.transform(feats, masks.reshape(b * t, 1, h, w), b)
        return self.decode(feats)
