"""Headless core: video I/O, masks, the STTN model, the inference engine. Imports no Qt.

Names are imported on first use (PEP 562), so that `import app.core.jobs` or `--help` does
not pay for torch, OpenCV and FFmpeg.
"""
import importlib

_EXPORTS = {
    "EngineConfig": "config", "InpaintEngine": "engine", "InpaintResult": "engine", "available_devices": "engine",
    "inpaint_video": "engine", "resolve_device": "engine", "fill_range": "engine",
    "Cancelled": "errors", "InpaintError": "errors",
    "CancelToken": "jobs", "Progress": "jobs",
    "MaskStore": "masks", "dilate": "masks", "load_masks": "masks",
    "GeneratorConfig": "sttn", "InpaintGenerator": "sttn", "load_generator": "sttn", "save_generator": "sttn",
    "VideoReader": "video", "VideoWriter": "video", "open_video": "video",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
