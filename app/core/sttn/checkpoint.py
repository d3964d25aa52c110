"""Reading and writing generator checkpoints, safely.

Accepted layouts: ``{'netG': state_dict}`` (the authors' ``sttn.pth``), a bare state_dict,
and this project's files ``{'netG': state_dict, 'meta': {...}}``. Tensors may be float16 or
float32. Loading uses ``weights_only=True``: a file found online cannot run code.
A file without ``meta`` is the authors' and runs in ``official`` attention mode.
"""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import torch

from ..errors import WeightsError
from ..fsutil import atomic_path
from .generator import ATTENTION_MODES, GeneratorConfig, InpaintGenerator

FORMAT = "sttn-inpaint/1"
#: What to pass instead of a file that is not an STTN generator.
USE_INSTEAD = ("an STTN generator: the bundled models/sttn_inpaint.pth, the authors' sttn.pth, or a file written by "
               "`finetune` or `train`")


def _looks_saved(path: Path) -> bool:
    """Whether ``path`` starts as ``torch.save`` writes (a zip, or a pickle's protocol opcode): a text
    file also fails the weights-only unpickler, which reads its first letter as an opcode."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def read_checkpoint(path, mmap: bool = False) -> tuple[dict, dict]:
    """Return (state_dict, meta) from a generator file; meta is {} for the authors' files.
    ``mmap``: map the tensors instead of reading them (a zip checkpoint; an older file is read):
    checking keys and shapes then costs milliseconds whatever the file's size."""
    path = Path(path).expanduser()
    if not path.exists():
        raise WeightsError(f"Weights file {path} does not exist; pass --weights with an STTN generator (.pth).")
    if path.is_dir():
        raise WeightsError(f"Weights path {path} is a folder; pass the .pth file itself.")
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": a second line the user cannot act on
            warnings.simplefilter("ignore")
            try:
                obj = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
            except RuntimeError as exc:
                if not mmap or "mmap" not in str(exc):
                    raise
                obj = torch.load(path, map_location="cpu", weights_only=True)  # (an older format: read)
    except PermissionError:
        raise WeightsError(f"Cannot read weights file {path}: permission denied; make it readable or choose "
                           "another file.") from None
    except Exception as exc:  # noqa: BLE001 - torch's unpickler raises KeyError, IndexError, ... on junk
        # torch's own text is a page of advice cut off mid-sentence by a one-line message; say what it means
        pickled = isinstance(exc, pickle.UnpicklingError) and "weights only" in str(exc).lower() and _looks_saved(path)
        what = ("holds Python objects besides tensors, such as a whole pickled model, which are not loaded so that "
                "a file cannot run code" if pickled else "is damaged or another kind of file")
        raise WeightsError(
            f"Cannot read weights file {path}: it is not a PyTorch checkpoint of an STTN generator (it {what}); use "
            f"{USE_INSTEAD}."
        ) from None
    if not isinstance(obj, dict):
        raise WeightsError(f"Weights file {path} holds a {type(obj).__name__}, not a state_dict; use {USE_INSTEAD}.")
    meta = obj.get("meta", {}) if isinstance(obj.get("meta", {}), dict) else {}
    state = obj.get("netG", obj)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"Weights file {path} has no generator state_dict ('netG'); use {USE_INSTEAD}.")
    return state, meta


def build_from_checkpoint(path, attention: str | None = None) -> tuple[InpaintGenerator, dict]:
    state, meta = read_checkpoint(path)
    model = _fitting_generator(path, state, meta, attention)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model, meta


def check_generator(path, attention: str | None = None) -> dict:
    """Raise ``WeightsError`` (one line: what to use instead) unless ``path`` loads as an STTN
    generator; returns its meta. Cheaper than loading: the network is not allocated."""
    state, meta = read_checkpoint(path, mmap=True)
    _fitting_generator(path, state, meta, attention, device="meta")
    return meta


def _fitting_generator(path, state: dict, meta: dict, attention: str | None, device="cpu") -> InpaintGenerator:
    """The generator the file's settings describe, its parameters not yet loaded, after checking that
    ``state`` has exactly its keys and shapes."""
    cfg = dict(meta.get("config", {}))
    if attention is not None:
        if attention not in ATTENTION_MODES:
            raise WeightsError(f"Unknown attention mode {attention!r}; use one of {', '.join(ATTENTION_MODES)}.")
        cfg["attention"] = attention
    cfg.setdefault("attention", "official")
    try:
        config = GeneratorConfig.from_dict(cfg)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"Weights file {path} has unusable settings in its metadata ({exc}).") from None
    with torch.device(device):
        model = InpaintGenerator(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key{'s' * (len(missing) > 1)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key{'s' * (len(unexpected) > 1)} "
                         f"(e.g. {', '.join(unexpected[:3])})")
        raise WeightsError(f"Weights file {path} is not an STTN generator: {'; '.join(parts)}; use {USE_INSTEAD}.")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"Weights file {path} does not fit the STTN generator: {key} has shape "
                f"{tuple(state[key].shape)}, expected {tuple(tensor.shape)}; use {USE_INSTEAD}."
            )
    return model


def load_generator(path, attention: str | None = None, device="cpu") -> InpaintGenerator:
    """Load an STTN generator for inference (eval mode, float32, on ``device``).

    attention: None keeps the file's mode (``official`` for files without metadata);
    ``'official'`` or ``'masked'`` overrides it.
    """
    model, _ = build_from_checkpoint(path, attention)
    return model.eval().to(device)


def checkpoint_meta(path) -> dict:
    return read_checkpoint(path)[1]


def save_generator(model: InpaintGenerator, path, half: bool = True, **extra_meta) -> Path:
    """Write a generator-only file (float16 by default) with its settings in metadata, atomically."""
    path = Path(path)
    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().clone()
             for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "config": model.config.to_dict(), "dtype": "float16" if half else "float32"}
    meta.update(extra_meta)
    with atomic_path(path) as tmp:
        torch.save({"netG": state, "meta": meta}, tmp)
    return path
