"""PSNR and SSIM for validation (the usual definitions; images as uint8 RGB (H, W, 3) arrays).

If ``app/core/metrics.py`` appears later, the trainer should switch to it; these functions
follow the common conventions (skimage ``structural_similarity`` with ``gaussian_weights=True``,
``sigma=1.5``, ``use_sample_covariance=False``, ``data_range=255``, channels averaged) so the
numbers stay comparable.
"""
from __future__ import annotations

import math

import cv2
import numpy as np


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of two same-shape images; inf when identical."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(data_range ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean structural similarity (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5,
    K1 = 0.01, K2 = 0.03, averaged over channels and over the pixels at least 5 from the border.
    a, b: (H, W) or (H, W, C), H and W >= 11."""
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    pad = 5

    def blur(img):
        return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    scores = []
    for ch in range(x.shape[2]):
        xi, yi = x[..., ch], y[..., ch]
        mx, my = blur(xi), blur(yi)
        sxx = blur(xi * xi) - mx * mx
        syy = blur(yi * yi) - my * my
        sxy = blur(xi * yi) - mx * my
        s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        scores.append(s[pad:-pad, pad:-pad].mean())
    return float(np.mean(scores))
