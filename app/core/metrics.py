"""Video-inpainting quality metrics: PSNR, SSIM, flow warping error, and the VFID hook.

Conventions (the paper's Sec. 4.2 / supplement B setting, frames at 432x240):

* ``psnr``: whole frame, uint8 RGB, peak 255, in dB; a clip's score is the mean over frames.
* ``ssim``: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
  computed on each RGB channel and **averaged over the three channels** (not luma), over the
  pixels at least 5 from the border (the skimage ``gaussian_weights=True``,
  ``use_sample_covariance=False`` convention), in [-1, 1] (1 = identical).
* ``warp_error``: Lai et al. 2018 E_warp. For each pair (t, t+1) the optical flow is computed on
  the ORIGINAL (ground-truth) frames with OpenCV DIS; frame t+1 of the video under test is
  warped back to t with that flow; the error is the mean squared difference over the
  non-occluded pixels (forward-backward consistency + motion boundaries, Sundaram et al. 2010
  as in Lai et al.), on RGB scaled to [0, 1], averaged over channels, then over frame pairs.
  The paper's tables give it "(%)", i.e. times 100; ``warp_error`` returns the raw mean
  squared difference and ``EWARP_SCALE`` = 100 converts it to the paper's unit.
* VFID: ``frechet_distance`` is the Fréchet distance between two Gaussians fitted to feature
  sets; ``I3DFeatures`` loads a user-supplied TorchScript I3D feature extractor. No I3D weights
  ship with the project, so VFID is only computed when the user gives such a file.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from .errors import InpaintError

EWARP_SCALE = 100.0  # raw E_warp (on [0, 1] RGB) x 100 = the paper's "Ewarp (%)" column
VFID_MISSING = "VFID: not computed (needs I3D weights, see docs)"
#: the fewest frames an InceptionI3d turns into features: it pools 8 frames into 1 and ends with a
#: pool over 2 of those
I3D_MIN_FRAMES = 16


# ---- per-frame ------------------------------------------------------------------------------
def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference of two same-shape arrays, in the input's units."""
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(d * d))


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0, mask: Optional[np.ndarray] = None) -> float:
    """PSNR in dB of uint8 images (H, W[, 3]); ``inf`` when identical.

    mask: optional bool (H, W); when given, only those pixels count (the "hole PSNR").
    """
    if mask is not None:
        m = mask.astype(bool)
        if not m.any():
            return math.inf
        a, b = a[m], b[m]
    e = mse(a, b)
    return math.inf if e == 0 else 10.0 * math.log10(peak * peak / e)


def _gauss_blur(img: np.ndarray) -> np.ndarray:
    # Reflect padding only touches the 5-pixel border that is cropped away afterwards.
    return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)


def ssim_map(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """Per-pixel SSIM of one channel pair (H, W) as float64 (H, W), border not cropped."""
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    mx, my = _gauss_blur(x), _gauss_blur(y)
    sxx = _gauss_blur(x * x) - mx * mx
    syy = _gauss_blur(y * y) - my * my
    sxy = _gauss_blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Mean SSIM of (H, W) or (H, W, C) images (H, W >= 11), averaged over channels."""
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    if a.shape[0] < 11 or a.shape[1] < 11:
        raise ValueError("SSIM needs images of at least 11x11 pixels")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    pad = 5
    return float(np.mean([ssim_map(a[..., c], b[..., c], peak)[pad:-pad, pad:-pad].mean()
                          for c in range(a.shape[2])]))


# ---- temporal stability ---------------------------------------------------------------------
def _dis():
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis


def dis_flow(a: np.ndarray, b: np.ndarray, dis=None) -> np.ndarray:
    """Dense flow from RGB uint8 frame ``a`` to ``b`` (a(x) ~ b(x + flow(x))): float32 (H, W, 2), pixels."""
    dis = dis or _dis()
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    return dis.calc(ga, gb, None)


def sample(img: np.ndarray, pos: np.ndarray, border=cv2.BORDER_REPLICATE) -> np.ndarray:
    """Bilinear lookup of ``img`` (H, W[, C]) at float positions ``pos`` (..., 2) as (x, y)."""
    pos = np.asarray(pos, np.float32)
    shape = pos.shape[:-1]
    flat = pos.reshape(-1, 2)
    n, row = len(flat), 1024  # remap's maps must be < 32767 on each side
    rows = max(1, -(-n // row))
    grid = np.zeros((rows * row, 2), np.float32)
    grid[:n] = flat
    grid = grid.reshape(rows, row, 2)
    out = cv2.remap(img, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=border)
    return out.reshape((rows * row,) + img.shape[2:])[:n].reshape(shape + img.shape[2:])


def warp_back(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: out(x) = img(x + flow(x)); img (H, W[, C]), flow (H, W, 2)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def fb_inconsistent(fwd: np.ndarray, bwd: np.ndarray, alpha: float = 0.01, beta: float = 0.5) -> np.ndarray:
    """bool (H, W): where the forward flow t->t+1 and the backward flow t+1->t disagree.

    Sundaram et al.'s test: |f + b(x+f)|^2 > alpha (|f|^2 + |b(x+f)|^2) + beta, with ``b`` looked up
    at the forward-displaced position. Also true where x + f leaves the frame.
    """
    h, w = fwd.shape[:2]
    b_at = warp_back(bwd, fwd)
    s = fwd + b_at
    lhs = (s * s).sum(-1)
    rhs = alpha * ((fwd * fwd).sum(-1) + (b_at * b_at).sum(-1)) + beta
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    tx, ty = gx + fwd[..., 0], gy + fwd[..., 1]
    outside = (tx < 0) | (tx > w - 1) | (ty < 0) | (ty > h - 1)
    return (lhs > rhs) | outside


def occlusion_mask(fwd: np.ndarray, bwd: np.ndarray) -> np.ndarray:
    """bool (H, W) of pixels of frame t excluded from E_warp: FB-inconsistent or on a motion boundary
    (|grad u|^2 + |grad v|^2 > 0.01 |f|^2 + 0.002, as in Lai et al.'s evaluation)."""
    occ = fb_inconsistent(fwd, bwd)
    du = np.gradient(fwd[..., 0])
    dv = np.gradient(fwd[..., 1])
    grad = du[0] ** 2 + du[1] ** 2 + dv[0] ** 2 + dv[1] ** 2
    boundary = grad > 0.01 * (fwd * fwd).sum(-1) + 0.002
    return occ | boundary


class WarpReference:
    """Flows and occlusion masks of a ground-truth clip, computed once and reused for every method.

    frames: list of RGB uint8 (H, W, 3), the original video. Holds T-1 flows (H, W, 2) float32
    and masks; about 10 bytes per pixel per frame.
    """

    def __init__(self, frames: Sequence[np.ndarray]):
        dis = _dis()
        self.flows, self.valid = [], []
        for a, b in zip(frames[:-1], frames[1:]):
            f = dis_flow(a, b, dis)
            bw = dis_flow(b, a, dis)
            self.flows.append(f)
            self.valid.append(~occlusion_mask(f, bw))

    def error(self, frames: Sequence[np.ndarray]) -> float:
        """Raw E_warp of ``frames`` (same length/size as the reference): mean over pairs of the mean
        squared difference (RGB in [0, 1]) over non-occluded pixels. Multiply by EWARP_SCALE for %."""
        if len(frames) != len(self.flows) + 1:
            raise ValueError("frame count differs from the reference clip")
        errs = []
        for t, (flow, valid) in enumerate(zip(self.flows, self.valid)):
            a = frames[t].astype(np.float32) / 255.0
            b = warp_back(frames[t + 1].astype(np.float32) / 255.0, flow)
            n = int(valid.sum())
            if n == 0:
                continue
            d = (a - b)[valid]
            errs.append(float(np.mean(d * d)))
        return float(np.mean(errs)) if errs else 0.0


def warp_error(frames: Sequence[np.ndarray], reference: Sequence[np.ndarray] | WarpReference | None = None) -> float:
    """Raw E_warp (see module doc) of ``frames``; flow from ``reference`` (default: ``frames`` itself)."""
    if len(frames) < 2:
        return 0.0
    ref = reference if isinstance(reference, WarpReference) else WarpReference(reference if reference is not None else frames)
    return ref.error(frames)


# ---- VFID -----------------------------------------------------------------------------------
def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for Gaussians N(mu1, S1), N(mu2, S2).

    Tr((S1 S2)^(1/2)) is computed as the trace of (R S2 R)^(1/2) with R = S1^(1/2): the same
    eigenvalues, but a symmetric PSD matrix, so the result is real and stable without scipy.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(s1).astype(np.float64), np.atleast_2d(s2).astype(np.float64)
    r = _sqrtm_psd(s1)
    inner = r @ s2 @ r
    tr_cov = float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None))))
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2.0 * tr_cov)


def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,), covariance (D, D) (unbiased; N >= 2)."""
    feats = np.asarray(feats, np.float64)
    return feats.mean(0), np.cov(feats, rowvar=False)


def fid_from_features(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between two (N, D) feature sets."""
    return frechet_distance(*feature_stats(a), *feature_stats(b))


class I3DFeatures:
    """A user-supplied I3D feature extractor for VFID (Wang et al. 2018 / Chang et al. 2019).

    The file must be a TorchScript module (``torch.jit.save``) mapping a float tensor
    (N, 3, T, H, W), RGB in [-1, 1], to pooled features (N, D) (e.g. the 1024-d logits-free
    avg-pool output of InceptionI3d). A plain state_dict cannot be used: the project carries no
    I3D architecture definition, so the error asks the user to export a TorchScript file.
    """

    def __init__(self, path, device: str = "cpu", size: tuple[int, int] = (224, 224)):
        import torch

        path = Path(path).expanduser()
        if not path.is_file():
            raise InpaintError(f"I3D weights {path} do not exist; give a TorchScript I3D file or leave --i3d out.")
        try:
            self.model = torch.jit.load(str(path), map_location=device).eval()
        except Exception:  # noqa: BLE001 - anything torch raises means "not a TorchScript module"
            raise InpaintError(
                f"{path} is not a TorchScript module; export the I3D feature extractor with torch.jit.save "
                "(a bare state_dict is not supported, see docs/QUALITY.md)."
            ) from None
        self.device = device
        self.size = size

    def __call__(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """One clip (list of RGB uint8 (H, W, 3)) -> features (D,) float64."""
        import torch

        x = np.stack([cv2.resize(f, self.size, interpolation=cv2.INTER_AREA) for f in frames])
        t = torch.from_numpy(x).float().div_(127.5).sub_(1).permute(3, 0, 1, 2)[None].to(self.device)
        with torch.inference_mode():
            out = self.model(t)
        return out.reshape(out.shape[0], -1)[0].double().cpu().numpy()
