from .checkpoint import checkpoint_meta, load_generator, read_checkpoint, save_generator
from .generator import ATTENTION_MODES, GeneratorConfig, InpaintGenerator

__all__ = ["ATTENTION_MODES", "GeneratorConfig", "InpaintGenerator", "load_generator", "save_generator",
           "read_checkpoint", "checkpoint_meta"]
