"""researchmm/STTN ``test.py``'s inference schedule, re-implemented with this project's generator.

Shared by the benchmarks that compare the engine with it (``bench_inference.py`` on the CPU,
``bench_gpu.py`` on a GPU). Whole clip in memory, as the authors do: masks dilated 4 times with a
3x3 cross, the encoder on all frames at once, windows every 5 frames with neighbours +-5 and every
10th frame of the video as references, the decoder on all neighbours, overlaps blended 0.5/0.5.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch


def authors_inpaint(model, frames, masks, device="cpu", neighbor_stride: int = 5, ref_length: int = 10):
    """frames: RGB uint8 (H, W, 3) at the model's size; masks: bool (H, W), True = missing.
    Returns the composited frames, RGB uint8."""
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    binary = [cv2.dilate(m.astype(np.uint8), kernel, iterations=4)[..., None] for m in masks]
    length = len(frames)
    video = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255).mul(2).sub(1).to(device)
    mt = torch.from_numpy(np.stack(binary)).permute(0, 3, 1, 2).float().to(device)
    comp = [None] * length
    with torch.no_grad():
        enc = model.encode(video * (1 - mt))
        for f in range(0, length, neighbor_stride):
            nb = list(range(max(0, f - neighbor_stride), min(length, f + neighbor_stride + 1)))
            refs = [i for i in range(0, length, ref_length) if i not in nb]
            ids = nb + refs
            pred = model.decode(model.transform(enc[ids], mt[ids], 1)[:len(nb)])
            pred = ((pred + 1) / 2).permute(0, 2, 3, 1).cpu().numpy() * 255
            for k, idx in enumerate(nb):
                img = pred[k].astype(np.uint8) * binary[idx] + frames[idx] * (1 - binary[idx])
                comp[idx] = img if comp[idx] is None else comp[idx].astype(np.float32) * 0.5 + img.astype(np.float32) * 0.5
    return [np.asarray(c).astype(np.uint8) for c in comp]
