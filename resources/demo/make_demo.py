"""Regenerate the demo clip: a camera panning over a synthetic landscape, with a logo burnt in.

The clip is procedural (no third-party footage), so it can ship with the application.
Run from the repository root: `.venv/bin/python resources/demo/make_demo.py`.
"""
from pathlib import Path

import cv2
import numpy as np

from app.core.video import write_test_clip

W, H, N, FPS = 432, 240, 48, 25
HERE = Path(__file__).resolve().parent


def fractal_noise(h, w, rng, octaves=5):
    out = np.zeros((h, w), np.float32)
    for o in range(octaves):
        cell = 2 ** (octaves - o + 1)
        small = rng.standard_normal((h // cell + 2, w // cell + 2)).astype(np.float32)
        out += cv2.resize(small, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)[:h, :w] / (o + 1)
    return out


def landscape(rng, w, h):
    """A wide RGB scene: sky with clouds, two mountain ridges, a textured meadow."""
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    sky = np.stack([110 + 90 * y, 160 + 60 * y, 235 + 0 * y], -1) * np.ones((1, w, 1), np.float32)
    clouds = np.clip(fractal_noise(h, w, rng) * 0.8 - 0.3, 0, 1)[..., None]
    img = sky * (1 - clouds) + 245 * clouds
    for base, amp, colour, texture in ((0.45, 0.18, (95, 105, 125), 18), (0.62, 0.12, (60, 95, 55), 28)):
        ridge = base * h + amp * h * fractal_noise(1, w, rng, 6)[0] / 2
        rows = np.arange(h)[:, None]
        inside = rows > ridge[None, :]
        tex = fractal_noise(h, w, rng)[..., None] * texture
        img = np.where(inside[..., None], np.array(colour, np.float32) + tex, img)
    grass = (np.arange(h)[:, None] > 0.8 * h)[..., None]
    img = np.where(grass, np.array((85, 130, 50), np.float32) + fractal_noise(h, w, rng)[..., None] * 30, img)
    return np.clip(img, 0, 255).astype(np.uint8)


def logo_layer():
    """The burnt-in logo (RGBA-like: colour and alpha) and the mask a user would paint."""
    alpha = np.zeros((H, W), np.float32)
    cv2.rectangle(alpha, (292, 14), (418, 46), 0.55, -1)
    text = np.zeros((H, W), np.uint8)
    cv2.putText(text, "SAMPLE", (302, 39), cv2.FONT_HERSHEY_DUPLEX, 0.8, 255, 2, cv2.LINE_AA)
    alpha = np.maximum(alpha, text / 255.0 * 0.9)
    mask = (alpha > 0).astype(np.uint8) * 255
    return alpha, mask


def main():
    rng = np.random.default_rng(2024)
    scene = landscape(rng, W + 4 * N + 40, H + 20)
    alpha, mask = logo_layer()
    frames = []
    for i in range(N):
        x, yoff = 3 * i, int(round(6 * np.sin(i / 12)))
        f = scene[10 + yoff:10 + yoff + H, x:x + W].astype(np.float32)
        f = f * (1 - alpha[..., None]) + 255 * alpha[..., None]
        frames.append(f.astype(np.uint8))
    write_test_clip(HERE / "demo.mp4", frames, fps=FPS, audio=True, crf=20)
    cv2.imwrite(str(HERE / "demo_mask.png"), mask)
    print("wrote", HERE / "demo.mp4", HERE / "demo_mask.png")


if __name__ == "__main__":
    main()
