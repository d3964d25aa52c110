"""Temporal PatchGAN discriminator (T-PatchGAN, paper supplement Table 5).

Six 3-D convolutions, kernel (3, 5, 5) over (time, height, width), stride (1, 2, 2): time is
never subsampled, space is halved six times. Channels 64-128-256-256-256-256 (``base_channels``
= 64; smaller values only for tests and experiments). The first five
convolutions use spectral normalisation (and no bias) and are followed by LeakyReLU(0.2); the
last is a plain convolution with bias and no nonlinearity, so its output is an unbounded score
per spatio-temporal patch (the hinge losses in ``app/core/train/losses.py`` expect that).

Module and parameter names (``conv.{0,2,4,6,8,10}.weight_orig`` ...) follow the layout of the
authors' discriminator so that their training checkpoints could be loaded.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils import spectral_norm

#: output channels of the six 3-D convolutions, as multiples of the base width (64 in Table 5)
CHANNEL_MULTIPLIERS = (1, 2, 4, 4, 4, 4)


class Discriminator(nn.Module):
    """T-PatchGAN.

    forward(frames, b=None):
      frames: (B, T, 3, H, W), or (B*T, 3, H, W) together with ``b`` = B (default 1);
              values in [-1, 1]
      returns (B, T, 4 * base_channels, h, w) raw scores, h and w about H/64 and W/64 (240x432 gives 4x7)
    Frames of different samples never mix: each sample is a (3, T, H, W) volume.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 64, use_spectral_norm: bool = True,
                 init_gain: float = 0.02):
        super().__init__()
        self.base_channels = int(base_channels)
        layers = []
        cin = in_channels
        channels = [m * self.base_channels for m in CHANNEL_MULTIPLIERS]
        for i, cout in enumerate(channels):
            last = i == len(channels) - 1
            padding = 1 if i == 0 else (1, 2, 2)
            conv = nn.Conv3d(cin, cout, kernel_size=(3, 5, 5), stride=(1, 2, 2), padding=padding,
                             bias=last or not use_spectral_norm)
            self._init(conv, init_gain)
            if not last and use_spectral_norm:
                conv = spectral_norm(conv)
            layers.append(conv)
            if not last:
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = cout
        self.conv = nn.Sequential(*layers)

    @staticmethod
    def _init(conv: nn.Conv3d, gain: float) -> None:
        # N(0, gain) weights and zero bias, the initialisation the STTN authors use for both networks.
        nn.init.normal_(conv.weight, 0.0, gain)
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)

    def forward(self, frames: torch.Tensor, b: int | None = None) -> torch.Tensor:
        if frames.dim() == 5:
            x = frames
        elif frames.dim() == 4:
            b = 1 if b is None else int(b)
            bt, c, h, w = frames.shape
            if bt % b:
                raise ValueError(f"{bt} frames cannot be split into {b} samples")
            x = frames.reshape(b, bt // b, c, h, w)
        else:
            raise ValueError(f"expected (B, T, 3, H, W) or (B*T, 3, H, W) frames, got shape {tuple(frames.shape)}")
        feat = self.conv(x.transpose(1, 2))  # (B, C, T, h, w)
        return feat.transpose(1, 2)  # (B, T, C, h, w)
