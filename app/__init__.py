"""Video inpainting application built on STTN (Zeng et al., ECCV 2020)."""

__version__ = "0.1.0"
