"""The STTN generator (paper Fig. 2, supplement Table 4).

Module and parameter names follow the authors' released checkpoint
(``encoder.*``, ``transformer.{0..7}.attention.*``, ``transformer.{i}.feed_forward.conv.*``,
``decoder.*``) so that their ``sttn.pth`` loads without renaming. The module knows
nothing of files, schedules or videos: see ``checkpoint.py`` and ``engine.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

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


class MultiHeadedAttention(nn.Module):
    """One head per patch size; each head owns ``channels / heads`` channels."""

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

    @staticmethod
    def _to_patches(x, b, t, d, ph, pw):
        """(B*T, d, H, W) -> (B, T*nh*nw, d*ph*pw)."""
        _, _, h, w = x.shape
        nh, nw = h // ph, w // pw
        x = x.reshape(b, t, d, nh, ph, nw, pw).permute(0, 1, 3, 5, 2, 4, 6)
        return x.reshape(b, t * nh * nw, d * ph * pw)

    def forward(self, x, m, b: int):
        """x: (B*T, C, h, w) features; m: (B*T, 1, h, w) mask at feature size, 1 = missing."""
        bt, c, h, w = x.shape
        t = bt // b
        heads = len(self.patch_sizes)
        d = c // heads
        qs = torch.chunk(self.query_embedding(x), heads, dim=1)
        ks = torch.chunk(self.key_embedding(x), heads, dim=1)
        vs = torch.chunk(self.value_embedding(x), heads, dim=1)
        outs = []
        for (pw, ph), q, k, v in zip(self.patch_sizes, qs, ks, vs):
            nh, nw = h // ph, w // pw
            missing = None
            if self.attention_mode == "masked":
                mp = self._to_patches(m, b, t, 1, ph, pw)  # (B, N, ph*pw)
                missing = mp.mean(-1) > 0.5
            y = patch_attention(
                self._to_patches(q, b, t, d, ph, pw),
                self._to_patches(k, b, t, d, ph, pw),
                self._to_patches(v, b, t, d, ph, pw),
                missing,
                d * ph * pw,
                self.kernel,
            )
            y = y.reshape(b, t, nh, nw, d, ph, pw).permute(0, 1, 4, 2, 5, 3, 6)
            outs.append(y.reshape(bt, d, h, w))
        return self.output_linear(torch.cat(outs, dim=1))


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

    def transform(self, feats, masks, b: int = 1):
        """feats: (B*T, C, h, w); masks: (B*T, 1, H, W) at frame size -> (B*T, C, h, w)."""
        m = F.interpolate(masks, scale_factor=0.25)  # nearest, as the authors do
        for block in self.transformer:
            feats = block(feats, m, b)
        return feats

    def decode(self, feats):
        """(N, C, h, w) -> (N, 3, H, W) in [-1, 1]."""
        return torch.tanh(self.decoder(feats))

    def forward(self, masked_frames, masks):
        b, t, c, h, w = masked_frames.shape
        feats = self.encode(masked_frames.reshape(b * t, c, h, w))
        feats = self.transform(feats, masks.reshape(b * t, 1, h, w), b)
        return self.decode(feats)
