"""Engine settings: one dataclass, no heavy imports, so the CLI and GUI can read defaults cheaply."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Optional

from .errors import InpaintError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# sttn: the model fills every hole. propagate+X: pixels visible in other frames are carried
# along optical flow first (app.core.propagate), X fills the rest. telea: OpenCV per frame.
FILL_MODES = ("auto", "sttn", "propagate+sttn", "propagate+telea", "telea")
# How the patch attention is computed (same result): see app.core.sttn.generator.ATTENTION_KERNELS.
ATTENTION_KERNELS = ("auto", "matmul", "sdpa")
# How generated pixels meet the frame: "match" corrects the fill's level to the pixels around the
# hole (app.core.blend, Poisson-style), "none" pastes the generator's output as it is.
SEAM_MODES = ("match", "none")
#: fine-tuning's learning rate (the CLI's finetune and the GUI's fine-tune page start at it): a
#: tenth of training's (``TrainConfig.lr``, 1e-4), for weights that already work
FINETUNE_LR = 1e-5
# x264's speed/size presets, fastest first (the encoder's own names); medium is the default.
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass
class EngineConfig:
    """Engine settings; defaults are the authors' (n=5, s=10, 4 dilations)."""

    neighbor_radius: int = 5
    ref_stride: int = 10
    max_refs: int = 10
    dilate: int = 4
    crop_to_mask: bool = False
    crop_margin: int = 64
    device: str = "auto"
    attention: Optional[str] = None
    # Frames between window centres. None: 2*radius+1, each frame computed in one window only;
    # measured within 0.02 dB PSNR of the authors' overlapping schedule (step = radius, results
    # averaged) against ground truth and 1.6-2.7x faster (docs/BENCHMARKS.md, "Window schedule").
    window_step: Optional[int] = None
    # "auto": bfloat16 autocast on CUDA and on CPUs with native bf16 (AMX/AVX512-BF16), else float32.
    precision: str = "auto"
    # How holes are filled; see FILL_MODES. "auto": propagate+sttn with weights, propagate+telea without
    # (and with only the bundled weights on a CPU: engine.BUNDLED_AUTO_FILL_CPU).
    fill: str = "auto"
    # "auto": the kernel measured fastest on the device (docs/BENCHMARKS.md).
    attention_kernel: str = "auto"
    # Decode ahead and encode behind on threads, so the model never waits on FFmpeg.
    io_threads: bool = True
    # See SEAM_MODES; measured in docs/QUALITY.md ("Seam matching").
    seam: str = "match"
    # torch.compile the transformer stage on CUDA: on an H100 254 against 232 frames/s, after about
    # 85 s of compiling at the first window (docs/BENCHMARKS.md); worth it for long clips only.
    compile: bool = False

    def __post_init__(self):
        if self.attention_kernel not in ATTENTION_KERNELS:
            raise InpaintError(f"attention_kernel must be one of {', '.join(ATTENTION_KERNELS)}.")
        if self.fill not in FILL_MODES:
            raise InpaintError(f"fill must be one of {', '.join(FILL_MODES)}.")
        if self.seam not in SEAM_MODES:
            raise InpaintError(f"seam must be one of {', '.join(SEAM_MODES)}.")
        if self.precision not in PRECISIONS:
            raise InpaintError(f"precision must be one of {', '.join(PRECISIONS)}.")
        if self.window_step is not None and not 1 <= self.window_step <= 2 * self.neighbor_radius + 1:
            raise InpaintError("window_step must be between 1 and 2*neighbor_radius+1.")
        if self.neighbor_radius < 1:
            raise InpaintError("neighbor_radius must be at least 1.")
        if self.ref_stride < 1:
            raise InpaintError("ref_stride must be at least 1.")
        if self.max_refs < 0 or self.dilate < 0 or self.crop_margin < 0:
            raise InpaintError("max_refs, dilate and crop_margin cannot be negative.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EngineConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
