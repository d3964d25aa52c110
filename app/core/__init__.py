"""Headless core: video I/O, masks, the STTN model, the inference engine. Imports no Qt."""
from .engine import EngineConfig, InpaintEngine, InpaintResult, available_devices, inpaint_video, resolve_device
from .errors import Cancelled, InpaintError
from .jobs import CancelToken, Progress
from .masks import MaskStore, dilate, load_masks
from .sttn import GeneratorConfig, InpaintGenerator, load_generator, save_generator
from .video import VideoReader, VideoWriter, open_video

__all__ = [
    "EngineConfig", "InpaintEngine", "InpaintResult", "available_devices", "inpaint_video", "resolve_device",
    "Cancelled", "InpaintError", "CancelToken", "Progress", "MaskStore", "dilate", "load_masks",
    "GeneratorConfig", "InpaintGenerator", "load_generator", "save_generator", "VideoReader", "VideoWriter",
    "open_video",
]
