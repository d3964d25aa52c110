"""Segment Anything (ViT-B/L/H) behind the ``Segmenter`` interface.

The image embedding (the encoder pass, ~7.5 s for ViT-B on a 2-core CPU, 0.05 s on an H100) is
cached per frame index: the cached state is the predictor's ``features`` tensor (1, 256, 64, 64)
with the original and model-input sizes, restored into the predictor instead of recomputed.
``set_image(..., check=...)`` runs the encoder block by block and can be stopped between blocks.
Checkpoints load with ``torch.load(weights_only=True)``: a downloaded file cannot run code.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import torch

from ..errors import SegmentError
from .base import Box, Candidate, Point, Segmenter


@dataclass(frozen=True)
class SamCheckpoint:
    """An official SAM checkpoint: its SHA-256 and size in bytes (None where unknown)."""

    model_type: str
    filename: str
    url: str
    sha256: Optional[str] = None
    size: Optional[int] = None


_BASE = "https://dl.fbaipublicfiles.com/segment_anything/"
# Meta publishes no digests. These are the SHA-256 and size that Git LFS recorded for copies of
# the official files on many independent public mirrors (an LFS object id is the SHA-256 of the
# file's bytes), all alike; see docs/SEGMENTATION.md, "SHA-256 digests".
SAM_CHECKPOINTS = {
    "vit_b": SamCheckpoint("vit_b", "sam_vit_b_01ec64.pth", _BASE + "sam_vit_b_01ec64.pth",
                           "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", 375_042_383),
    "vit_l": SamCheckpoint("vit_l", "sam_vit_l_0b3195.pth", _BASE + "sam_vit_l_0b3195.pth",
                           "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622", 1_249_524_607),
    "vit_h": SamCheckpoint("vit_h", "sam_vit_h_4b8939.pth", _BASE + "sam_vit_h_4b8939.pth",
                           "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e", 2_564_550_879),
}
# Encoder width -> model type, to recognise a renamed checkpoint from its contents.
_EMBED_DIM = {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}


def find_sam_checkpoint(dirs: Iterable, model_type: Optional[str] = None) -> Optional[Path]:
    """First official SAM checkpoint file found in ``dirs`` (ViT-B first: fastest on CPU), or None.

    ``model_type`` ("vit_b", "vit_l", "vit_h") restricts the search to that model.
    """
    types = [model_type] if model_type else ["vit_b", "vit_l", "vit_h"]
    for t in types:
        if t not in SAM_CHECKPOINTS:
            raise SegmentError(f"Unknown SAM model type {t!r}; use vit_b, vit_l or vit_h.")
    for d in dirs:
        if d is None:
            continue
        d = Path(d).expanduser()
        for t in types:
            f = d / SAM_CHECKPOINTS[t].filename
            if f.is_file():
                return f
    return None


def size_mismatch(path) -> Optional[str]:
    """"it has N of the official file's M bytes" when ``path`` bears an official file name but not
    that file's size (a download cut short, a partial copy; or a file of one's own under that
    name), else None. Cheap: the size alone."""
    path = Path(path).expanduser()
    ck = next((c for c in SAM_CHECKPOINTS.values() if c.filename == path.name), None)
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if ck is None or ck.size is None or size == ck.size:
        return None
    return f"it has {size:,} of the official file's {ck.size:,} bytes"


def load_sam(path, model_type: Optional[str] = None, device: str = "cpu"):
    """Build the SAM model for ``path`` and load its weights; returns a ``Sam`` in eval mode.

    The model type is read from the weights (encoder width) unless given. Any unreadable or
    non-SAM file raises ``SegmentError`` naming the file.
    """
    from segment_anything import sam_model_registry

    path = Path(path).expanduser()
    if not path.is_file():
        raise SegmentError(f"SAM checkpoint {path} does not exist; the download-sam command or Settings > General > "
                           "Download… fetches one.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch's unpickler raises KeyError, IndexError, ... on junk
        # (torch's own text is a paragraph, cut off mid-sentence in one line, and may suggest
        # weights_only=False: never for a downloaded file)
        cut = size_mismatch(path)
        raise SegmentError(f"Cannot read SAM checkpoint {path} ({type(exc).__name__}): "
                           + (f"{cut}, so it was cut short; " if cut else "it is damaged or not a PyTorch checkpoint; ")
                           + "download it again (the download-sam command, or Settings > General > Download…) or pick the official .pth file.") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    w = state.get("image_encoder.patch_embed.proj.weight") if isinstance(state, dict) else None
    if not isinstance(w, torch.Tensor):
        raise SegmentError(f"{path} is not a Segment Anything checkpoint (no image encoder weights); "
                           "use sam_vit_b_01ec64.pth, sam_vit_l_0b3195.pth or sam_vit_h_4b8939.pth.")
    found = _EMBED_DIM.get(int(w.shape[0]))
    if model_type is None:
        model_type = found
    if model_type not in SAM_CHECKPOINTS:
        raise SegmentError(f"{path} holds a SAM encoder of width {w.shape[0]}, which is none of ViT-B/L/H.")
    model = sam_model_registry[model_type]()
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise SegmentError(f"{path} does not fit SAM {model_type} ({str(exc).splitlines()[0][:160]}).") from None
    return model.to(device).eval()


class SamSegmenter(Segmenter):
    """``Segmenter`` over ``segment_anything.SamPredictor``; any ``Sam`` model (tests use a tiny one).

    ``predict`` returns SAM's three multimask outputs, sorted by its predicted IoU.
    The ``prior`` mask is ignored: SAM's mask prompt expects its own low-resolution logits. A
    ``previous`` mask that is one of this frame's last answers is refined the way SAM is meant to
    be: its low-resolution logits go back in as the mask prompt with all the clicks, one output.
    """

    def __init__(self, model, cache_size: int = 4):
        from segment_anything import SamPredictor

        super().__init__(cache_size)
        self.predictor = SamPredictor(model)
        self._last = None  # (masks, low-res logits) of the latest answer on the current image

    @classmethod
    def from_checkpoint(cls, path, model_type: Optional[str] = None, device: str = "cpu", cache_size: int = 4):
        return cls(load_sam(path, model_type, device), cache_size)

    def _embed(self, rgb):
        self.predictor.set_image(rgb, image_format="RGB")
        p = self.predictor
        return p.features, p.original_size, p.input_size

    @torch.no_grad()
    def _embed_checked(self, rgb, check):
        """``_embed`` with ``check()`` called before each of the image encoder's transformer blocks
        (ViT-B has 12, ViT-L 24, ViT-H 32) and before its neck. It takes the steps of
        ``SamPredictor.set_image`` and ``ImageEncoderViT.forward`` one by one, so the features are
        the same to the bit; the predictor is only touched by ``_restore`` once all of them ran,
        so a pass stopped by ``check`` leaves it holding the image it had."""
        from segment_anything.modeling import ImageEncoderViT

        p = self.predictor
        model, enc = p.model, p.model.image_encoder
        if type(enc).forward is not ImageEncoderViT.forward:  # (an encoder of its own: one step)
            return super()._embed_checked(rgb, check)
        image = rgb if model.image_format == "RGB" else rgb[..., ::-1]
        x = torch.as_tensor(p.transform.apply_image(image), device=p.device)
        x = x.permute(2, 0, 1).contiguous()[None, :, :, :]
        input_size = tuple(x.shape[-2:])
        x = enc.patch_embed(model.preprocess(x))
        if enc.pos_embed is not None:
            x = x + enc.pos_embed
        for blk in enc.blocks:
            check()
            x = blk(x)
        check()
        return enc.neck(x.permute(0, 3, 1, 2)), image.shape[:2], input_size

    def _restore(self, state):
        p = self.predictor
        p.features, p.original_size, p.input_size = state
        p.is_image_set = True
        self._last = None

    @torch.no_grad()
    def _predict(self, points: list[Point], box: Optional[Box], prior, previous=None) -> list[Candidate]:
        coords = labels = None
        if points:
            coords = np.array([[x, y] for x, y, _ in points], np.float32)
            labels = np.array([l for _, _, l in points], np.int64)
        box_arr = None if box is None else np.array(box, np.float32)
        if coords is None and box_arr is None:
            raise ValueError("SAM needs a click or a box")
        mask_input = None
        if previous is not None and self._last is not None:
            for m, logits in zip(*self._last):
                if np.array_equal(m, previous):
                    mask_input = logits[None]
                    break
        masks, scores, low_res = self.predictor.predict(point_coords=coords, point_labels=labels, box=box_arr,
                                                        mask_input=mask_input, multimask_output=mask_input is None)
        masks = [m.astype(bool) for m in masks]
        self._last = (masks, low_res)
        return [Candidate(m, float(s)) for m, s in zip(masks, scores)]
