"""Adversarial training and fine-tuning of the STTN generator (paper Sec. 3.3, supplement D).

One iteration (batch of B samples of T frames at H x W):

1. frames (B, T, 3, H, W) in [-1, 1] and masks (B, T, 1, H, W) from ``ClipSampler``;
2. ``pred = G(frames * (1 - masks), masks)`` -> (B*T, 3, H, W);
   ``comp = pred * mask + frames * (1 - mask)``;
3. discriminator step: hinge loss (Eq. 8) on D(frames) vs D(comp.detach()), Adam;
4. generator step: hole L1 + valid L1 + 0.01 * (-E[D(comp)]) (Eq. 6, 7, 9, 10), Adam.

Adam lr 1e-4, betas (0, 0.99), lr x0.1 every ``lr_decay_every`` iterations (paper: 150k).
Training checkpoints (``<workdir>/checkpoints/last.pt``) hold both networks, optimisers,
schedulers, the step, all RNG states and the sampler state, so a killed run resumes exactly.
``export_generator`` writes a float16 generator-only file that ``load_generator`` loads.

Under torchrun, G and D are wrapped in DistributedDataParallel; each rank samples its own
batches (seed + rank); rank 0 validates and writes files.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from ..cache import cache_dir as user_cache_folder
from ..errors import Cancelled, DataError, OutputError, WeightsError
from ..fsutil import atomic_path, cannot_write_in
from ..jobs import CancelToken, Progress, ProgressFn, no_progress
from ..maskgen import sample_masks
from ..sttn.checkpoint import build_from_checkpoint, save_generator
from ..sttn.discriminator import Discriminator
from ..sttn.generator import DEFAULT_PATCH_SIZES, GeneratorConfig, InpaintGenerator
from . import ddp
from .dataset import DEFAULT_EXCLUDE, BatchPrefetcher, ClipSampler, describe_clips, load_clips
from .losses import LossWeights, d_hinge_loss, generator_loss
from ..metrics import psnr, ssim

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "sttn-train/1"
#: the stage of the reports made while the validation clips are inpainted (between steps)
VALIDATING = "validating"
#: how the message of a checkpoint that could not be written ends (the GUI says it in its own words)
RESUME_HINT = "and resume."


_ANY = (lambda v: True, "")
_POSITIVE = (lambda v: v > 0, " above 0")
_NATURAL = (lambda v: v >= 0, ", 0 or more")
_COUNT = (lambda v: v >= 1, ", 1 or more")
_BETA = (lambda v: 0 <= v < 1, " from 0 to below 1")
_SHARE = (lambda v: 0 <= v <= 1, " from 0 to 1")
#: what each numeric or yes/no setting takes: (type, (test, the test in words)). A value outside (a
#: learning rate of -1, a string from a --config file) is a DataError naming the setting, not
#: Adam's ValueError or a TypeError some steps in. Settings that may also be None: _OPTIONAL.
_RULES = {
    "steps": (int, _NATURAL), "sample_frames": (int, _COUNT), "batch_size": (int, _COUNT), "channels": (int, _COUNT),
    "blocks": (int, _COUNT), "disc_channels": (int, _COUNT), "width": (int, _COUNT), "height": (int, _COUNT),
    "lr": (float, _POSITIVE), "beta1": (float, _BETA), "beta2": (float, _BETA), "lr_decay_every": (int, _COUNT),
    "lr_decay_gamma": (float, _POSITIVE), "hole_weight": (float, _NATURAL), "valid_weight": (float, _NATURAL),
    "adv_weight": (float, _NATURAL), "p_moving": (float, _SHARE), "seed": (int, _ANY),
    "checkpoint_every": (int, _NATURAL), "checkpoint_seconds": (float, _NATURAL), "log_every": (int, _NATURAL),
    "val_every": (int, _NATURAL), "val_frames": (int, _COUNT), "val_seed": (int, _ANY), "val_samples": (int, _NATURAL),
    "time_limit": (float, _POSITIVE), "flip": (bool, _ANY), "amp": (bool, _ANY), "val_at_start": (bool, _ANY),
}
_OPTIONAL = {"width", "height", "checkpoint_seconds", "time_limit"}


def _checked(name: str, value, kind, rule):
    """``value`` as ``kind`` when it keeps to ``rule`` (see _RULES), else a DataError saying the rule."""
    test, words = rule
    if value is None and name in _OPTIONAL:
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise DataError(f"{name} must be true or false, not {value!r}.")
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if number and (kind is float or float(value).is_integer()) and test(kind(value)):
        return kind(value)
    raise DataError(f"{name} must be {'a whole number' if kind is int else 'a number'}{words}, not {value!r}.")


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved in every training checkpoint.

    ``init_weights``: a generator file to start from (the authors' ``sttn.pth``, a file of this
    project, or a training checkpoint); None trains a fresh generator built from ``channels``,
    ``blocks`` and ``patch_sizes``. ``width``/``height`` None: the generator's own size (432x240).
    """

    data: list = field(default_factory=list)
    workdir: str = "sttn-train"
    steps: int = 1000
    output: Optional[str] = None
    init_weights: Optional[str] = None
    init_discriminator: Optional[str] = None
    attention: Optional[str] = None
    channels: int = 256
    blocks: int = 8
    patch_sizes: list = field(default_factory=lambda: [list(p) for p in DEFAULT_PATCH_SIZES])
    width: Optional[int] = None
    height: Optional[int] = None
    disc_channels: int = 64
    sample_frames: int = 5
    batch_size: int = 1
    lr: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.99
    lr_decay_every: int = 150_000
    lr_decay_gamma: float = 0.1
    hole_weight: float = 1.0
    valid_weight: float = 1.0
    adv_weight: float = 0.01
    flip: bool = True
    p_moving: float = 0.5
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    checkpoint_every: int = 500
    # Also checkpoint when this many seconds passed since the last one (None: steps only): on a
    # CPU, where a step takes a minute, a crash then loses minutes, not hundreds of steps.
    checkpoint_seconds: Optional[float] = None
    log_every: int = 10
    val_data: list = field(default_factory=list)
    val_every: int = 500
    val_frames: int = 10
    val_seed: int = 2020
    val_at_start: bool = True
    val_samples: int = 2
    cache_dir: Optional[str] = None
    exclude: list = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    # Stop after this many seconds of training (checkpoint, validation and export as at the
    # end of ``steps``); None: no limit. A resumed run counts its time afresh.
    time_limit: Optional[float] = None

    def __post_init__(self):
        if isinstance(self.data, (str, Path)):
            self.data = [self.data]
        if isinstance(self.val_data, (str, Path)):
            self.val_data = [self.val_data]
        self.data = [str(p) for p in self.data]
        self.val_data = [str(p) for p in self.val_data]
        for name, (kind, rule) in _RULES.items():
            setattr(self, name, _checked(name, getattr(self, name), kind, rule))

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def cache_path(self) -> Path:
        """``cache_dir``, else the user's cache folder (shared by every workdir: a clip is decoded once)."""
        return Path(self.cache_dir).expanduser() if self.cache_dir else user_cache_folder("train-frames")

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.workdir).expanduser() / "checkpoints" / "last.pt"


@dataclass
class TrainResult:
    step: int
    checkpoint: Optional[Path]
    output: Optional[Path]
    val_psnr: Optional[float] = None
    val_ssim: Optional[float] = None


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DataError("CUDA was requested but no CUDA GPU is available; use --device cpu.")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise DataError(f"Unknown device {name!r}; use auto, cpu or cuda.")
    return torch.device(name)


def read_training_checkpoint(path) -> dict:
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"Training checkpoint {path} does not exist; check --workdir or the path.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise WeightsError(f"Cannot read training checkpoint {path} ({type(exc).__name__}: it is damaged or "
                           "incomplete); move it away and start again without --resume (or from --from the "
                           "generator written last).") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise WeightsError(f"{path} is not a training checkpoint of this program; "
                           "to start from generator weights use --from.")
    return ckpt


def _rng_state(sampler: ClipSampler, sampler_state: Optional[dict] = None) -> dict:
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "sampler": sampler_state if sampler_state is not None else sampler.state_dict(),
    }


def _set_rng_state(state: dict, sampler: ClipSampler) -> None:
    random.setstate(tuple(x if not isinstance(x, list) else tuple(x) for x in state["python"]))
    n = state["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    sampler.load_state_dict(state["sampler"])


def check_folders(config: TrainConfig, write: bool = True) -> list[Path]:
    """The run's folders (its work folder, its output's), each refused in one line (OutputError) when
    it cannot be created or written (``write``: tried; under torchrun by the first process only), and
    an output that is a folder. The command line calls it before reading anything; the trainer again."""
    folders = [Path(config.workdir).expanduser()]
    if config.output:
        out = Path(config.output).expanduser()
        if os.path.isdir(out):
            raise OutputError(f"Cannot write {out}: it is a folder; give a file name for the trained generator.")
        folders.append(out.parent)
    if write:
        for folder in folders:
            _check_folder(folder)
    return folders


def _check_folder(folder: Path) -> None:
    """OutputError (one line) when ``folder`` cannot be created or written: it is made and a file
    written in it, and what this made is removed again. (Asking ``os.access`` let a root user's run
    through under /proc, refused only after the clips were read, or after training for the output.)"""
    probe = folder  # (os.path.exists: Path.exists raises on a name too long for the file system)
    while not os.path.exists(probe) and probe.parent != probe:
        probe = probe.parent
    if os.path.exists(probe) and not probe.is_dir():
        raise OutputError(f"Cannot use the folder {folder}: {probe} is a file; choose another --workdir or --output.")
    made = [f for f in [folder, *folder.parents] if not os.path.exists(f)]  # (the deepest first)
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # (under /proc; a name too long for the file system)
            raise OutputError(f"Cannot create the folder {folder} ({exc.strerror}); "
                              "choose another --workdir or --output.") from None
        why = cannot_write_in(folder)
        if why:
            raise OutputError(f"Cannot write in {folder} ({why}); choose another --workdir or --output.")
    finally:
        for f in made:
            try:
                f.rmdir()
            except OSError:
                break


def _checkpoint_megabytes(state: dict) -> int:
    sizes = []

    def walk(x):
        if isinstance(x, torch.Tensor):
            sizes.append(x.numel() * x.element_size())
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(state)
    return max(1, round(sum(sizes) / 2**20))


def _remove_unfinished_checkpoints(path: Path) -> None:
    """Delete the temporary files of checkpoints whose writing was killed (SIGKILL, power loss):
    they are as big as a checkpoint and are never loaded (only the renamed ``last.pt`` is)."""
    for tmp in path.parent.glob(f".{path.stem}.*.tmp.part{path.suffix}"):
        log.info("removing %s, a checkpoint a stopped run did not finish writing", tmp)
        tmp.unlink(missing_ok=True)


def _cancel_hooks(net: torch.nn.Module, trainer: "Trainer") -> None:
    """Make every layer of ``net`` raise Cancelled, forward and backward, while a step may be
    abandoned (``trainer._abortable``) and Stop was pressed."""

    def check(*_):
        if trainer._abortable and trainer.cancel.cancelled:
            raise Cancelled("step abandoned")

    def after(_module, _args, output):
        check()
        if isinstance(output, torch.Tensor) and output.requires_grad:
            output.register_hook(check)

    for module in net.modules():
        if module is not net and not list(module.children()):  # the leaves: convolutions, activations, ...
            module.register_forward_hook(after)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


class Trainer:
    """``Trainer(config, progress, cancel, resume).run()``.

    resume: None (start at step 0), a training checkpoint path, or ``'auto'`` (the workdir's
    ``last.pt`` if there is one). When resuming, networks, optimisers, schedulers, step, RNG
    and sampler states come from the checkpoint; ``config`` still decides ``steps``, output,
    logging and validation.
    """

    def __init__(self, config: TrainConfig, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None, resume=None):
        self.cfg = config
        self.progress = progress or no_progress
        self.cancel = cancel or CancelToken()
        self.device = pick_device(config.device)
        self.ctx = ddp.init_from_env(self.device.type)
        if self.ctx.distributed and self.device.type == "cuda":
            self.device = torch.device("cuda", self.ctx.local_rank)
            torch.cuda.set_device(self.device)
        self.workdir = Path(config.workdir).expanduser()
        self.metrics_path = self.workdir / "metrics.jsonl"
        self.samples_dir = self.workdir / "samples"
        # Checked before the slow part (model, clips); the folders are created once all is ready.
        self._folders = check_folders(config, write=self.ctx.is_main)

        ckpt = None
        if resume == "auto":
            resume = config.checkpoint_path if config.checkpoint_path.exists() else None
        if resume is not None:
            ckpt = read_training_checkpoint(resume)
        self.resumed_from = Path(resume) if resume is not None else None

        torch.manual_seed(config.seed)
        self.G = self._build_generator(ckpt)
        gcfg = self.G.config
        self.width, self.height = gcfg.width, gcfg.height
        self._check_size(gcfg)
        self.D = Discriminator(base_channels=config.disc_channels)
        self._load_discriminator(ckpt)
        self.G.to(self.device)
        self.D.to(self.device)
        if self.device.type == "cuda":
            # Channels-last lets cuDNN use its fastest bf16 convolutions; TF32 for what stays float32.
            self.G.to(memory_format=torch.channels_last)
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        self.G_ddp = DDP(self.G) if self.ctx.distributed else self.G
        self.D_ddp = DDP(self.D) if self.ctx.distributed else self.D

        betas = (float(config.beta1), float(config.beta2))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=betas)
        self.sched_g = torch.optim.lr_scheduler.StepLR(self.opt_g, config.lr_decay_every, config.lr_decay_gamma)
        self.sched_d = torch.optim.lr_scheduler.StepLR(self.opt_d, config.lr_decay_every, config.lr_decay_gamma)
        self.weights = LossWeights(config.hole_weight, config.valid_weight, config.adv_weight)
        self.amp = config.amp and self.device.type == "cuda"

        self.clips = self._load_data(config.data, config.sample_frames, "training")
        self.data_description = describe_clips(self.clips)
        self.sampler = ClipSampler(self.clips, config.sample_frames, [config.seed, self.ctx.rank],
                                   flip=config.flip, p_moving=config.p_moving)
        self.val = self._prepare_validation() if config.val_data else []
        self.step = 0
        self.last_val: dict = {}
        self._prefetch: Optional[BatchPrefetcher] = None
        self._sampler_state: Optional[dict] = None  # the sampler's state after the last consumed batch
        if ckpt is not None:
            self._restore(ckpt)
        # A step takes minutes on a CPU: Stop ends it at the next layer (one process only: under
        # DDP every rank must finish the step's all-reduce).
        self._abortable = False
        if not self.ctx.distributed:
            _cancel_hooks(self.G, self)
            _cancel_hooks(self.D, self)
        if self.ctx.is_main:
            for folder in self._folders:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise OutputError(f"Cannot create the folder {folder} ({exc.strerror}); "
                                      "choose another --workdir or --output.") from None
            _remove_unfinished_checkpoints(config.checkpoint_path)
            if ckpt is not None:
                self._drop_metrics_after(self.step)

    # ----------------------------------------------------------------- setup
    def _build_generator(self, ckpt) -> InpaintGenerator:
        cfg = self.cfg
        if ckpt is not None:
            gconf = GeneratorConfig.from_dict(ckpt["meta"]["config"])
            return InpaintGenerator(gconf)
        if cfg.init_weights:
            model, _ = build_from_checkpoint(cfg.init_weights, cfg.attention)
            if (cfg.width or model.config.width) != model.config.width or (cfg.height or model.config.height) != model.config.height:
                model.config = GeneratorConfig(**{**model.config.to_dict(), "width": cfg.width or model.config.width,
                                                  "height": cfg.height or model.config.height})
            return model
        return InpaintGenerator(GeneratorConfig(
            channels=cfg.channels, blocks=cfg.blocks, patch_sizes=tuple(tuple(p) for p in cfg.patch_sizes),
            attention=cfg.attention or "official", width=cfg.width or 432, height=cfg.height or 240))

    @staticmethod
    def _check_size(g: GeneratorConfig) -> None:
        fw, fh = g.width // 4, g.height // 4
        bad = [p for p in g.patch_sizes if g.width % 4 or g.height % 4 or fw % p[0] or fh % p[1]]
        if bad:
            raise DataError(f"Training size {g.width}x{g.height} does not fit the generator's patch sizes "
                            f"{[tuple(p) for p in g.patch_sizes]} (feature map {fw}x{fh}); use 432x240 for this model.")

    def _load_discriminator(self, ckpt) -> None:
        state = None
        if ckpt is not None:
            state = ckpt["netD"]
        elif self.cfg.init_discriminator:
            path = Path(self.cfg.init_discriminator).expanduser()
            try:
                obj = torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # noqa: BLE001
                raise WeightsError(f"Cannot read discriminator file {path}; pass a training checkpoint "
                                   "or leave it out to start a fresh discriminator.") from None
            state = obj.get("netD", obj) if isinstance(obj, dict) else None
        if state is not None:
            try:
                self.D.load_state_dict({k: v.float() for k, v in state.items()})
            except (RuntimeError, AttributeError) as exc:
                raise WeightsError(f"Discriminator weights do not fit the T-PatchGAN ({str(exc).splitlines()[0][:120]}).") from None

    def _load_data(self, paths, min_frames, what):
        # Rank 0 decodes into the shared cache first; the other ranks then only memory-map it.
        # Progress(i, n, 'training clips' / 'validation clips', info={'clip': name}) before each
        # clip: decoding a folder of HD clips takes minutes on a CPU.
        def clip_progress(i, n, path):
            self.progress(Progress(i, n, f"{what} clips", info={"clip": Path(path).name}))

        if self.ctx.is_main:
            clips = load_clips(paths, self.cfg.cache_path, self.width, self.height, min_frames,
                               self.cfg.exclude, what=what, cancel=self.cancel, progress=clip_progress)
        ddp.barrier(self.ctx)
        if not self.ctx.is_main:
            clips = load_clips(paths, self.cfg.cache_path, self.width, self.height, min_frames,
                               self.cfg.exclude, what=what, cancel=self.cancel)
        return clips

    def _prepare_validation(self) -> list[dict]:
        """Fixed validation items: the first ``val_frames`` frames of each clip with seeded masks."""
        clips = self._load_data(self.cfg.val_data, 1, "validation")
        items = []
        for i, clip in enumerate(clips):
            frames = np.array(clip.frames[: self.cfg.val_frames])
            t = len(frames)
            masks = sample_masks(t, self.height, self.width, np.random.default_rng([self.cfg.val_seed, i]))
            items.append({"name": clip.path.name, "frames": frames, "masks": masks})
        return items

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """The training checkpoint (call on every rank: the RNG states of all ranks are gathered)."""
        rng_states = ddp.all_gather_object(self.ctx, _rng_state(self.sampler, self._sampler_state))
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "config": self.cfg.to_dict(),
            "meta": {"config": self.G.config.to_dict(), "steps": self.step},
            "netG": {k: v.detach().cpu() for k, v in self.G.state_dict().items()},
            "netD": {k: v.detach().cpu() for k, v in self.D.state_dict().items()},
            "optG": self.opt_g.state_dict(),
            "optD": self.opt_d.state_dict(),
            "schedG": self.sched_g.state_dict(),
            "schedD": self.sched_d.state_dict(),
            "world_size": self.ctx.world_size,
            "rng": rng_states,
            "last_val": self.last_val,
        }

    def save_checkpoint(self, path=None) -> Optional[Path]:
        """Write the training checkpoint atomically (rank 0); returns its path."""
        state = self.state_dict()
        path = Path(path) if path else self.cfg.checkpoint_path
        if self.ctx.is_main:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    torch.save(state, tmp)
            except (OSError, RuntimeError) as exc:  # disk full, folder removed: the previous checkpoint is intact
                raise OutputError(f"Cannot write the training checkpoint {path} ({str(exc).splitlines()[0][:100]}); "
                                  "free some disk space (a checkpoint takes about "
                                  f"{_checkpoint_megabytes(state)} MB) {RESUME_HINT}") from None
        ddp.barrier(self.ctx)
        return path

    def _restore(self, ckpt: dict) -> None:
        self.G.load_state_dict(ckpt["netG"])
        self.opt_g.load_state_dict(ckpt["optG"])
        self.opt_d.load_state_dict(ckpt["optD"])
        self.sched_g.load_state_dict(ckpt["schedG"])
        self.sched_d.load_state_dict(ckpt["schedD"])
        self.step = int(ckpt["step"])
        self.last_val = dict(ckpt.get("last_val", {}))
        states = ckpt["rng"]
        if len(states) == self.ctx.world_size:
            _set_rng_state(states[self.ctx.rank], self.sampler)
        else:
            log.warning("checkpoint was written by %d processes, now %d: sampling continues from fresh seeds",
                        len(states), self.ctx.world_size)
            self.sampler = ClipSampler(self.clips, self.cfg.sample_frames, [self.cfg.seed, self.ctx.rank, self.step],
                                       flip=self.cfg.flip, p_moving=self.cfg.p_moving)

    def export_generator(self, path, half: bool = True) -> Path:
        """Generator-only file (float16 by default) for inference; rank 0 writes it."""
        path = Path(path).expanduser()
        if self.ctx.is_main:
            meta = {"attention": self.G.config.attention, "steps": self.step, "data": self.data_description,
                    "trained_from": Path(self.cfg.init_weights).name if self.cfg.init_weights else None}
            meta.update({k: v for k, v in self.last_val.items() if k in ("val_psnr", "val_ssim")})
            try:
                save_generator(self.G, path, half=half, **meta)
            except OSError as exc:  # the training checkpoint is written and kept
                raise OutputError(f"Cannot write the trained generator {path} ({exc.strerror or exc}); the training "
                                  "checkpoint is kept: free some space or choose another --output and "
                                  "resume.") from None
        ddp.barrier(self.ctx)
        return path

    # -------------------------------------------------------------- training
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def train_step(self, frames: torch.Tensor | None = None, masks: torch.Tensor | None = None) -> dict:
        """One D step and one G step. frames (B, T, 3, H, W) in [-1, 1], masks (B, T, 1, H, W);
        drawn from the sampler when not given. Returns the losses as floats.

        If the cancel token is set during the step (one process), the step is abandoned at the
        next layer: D, its optimiser and the sampler state are put back as they were before it,
        G is not updated, and Cancelled is raised; the trainer is then as after the previous step.
        """
        sampler_before, d_before = self._sampler_state, {}
        self._abortable = not self.ctx.distributed
        try:
            return self._train_step(frames, masks, d_before)
        except Cancelled:
            if d_before:
                self.D.load_state_dict(d_before["net"])
                self.opt_d.load_state_dict(d_before["opt"])
            self._sampler_state = sampler_before
            self.opt_g.zero_grad(set_to_none=True)
            self.opt_d.zero_grad(set_to_none=True)
            raise
        finally:
            self._abortable = False

    def _train_step(self, frames, masks, d_before: dict) -> dict:
        self.G_ddp.train()
        self.D_ddp.train()
        if frames is None:
            if self._prefetch is None:
                self._prefetch = BatchPrefetcher(self.sampler, self.cfg.batch_size,
                                                 pin_memory=self.device.type == "cuda")
            frames, masks, self._sampler_state = self._prefetch.next()
        frames = frames.to(self.device, non_blocking=True)
        masks = masks.to(self.device, non_blocking=True)
        b, t, c, h, w = frames.shape
        with self._autocast():
            pred = self.G_ddp(frames * (1 - masks), masks).float()  # (B*T, 3, H, W)
        gt = frames.reshape(b * t, c, h, w)
        m = masks.reshape(b * t, 1, h, w)
        comp = pred * m + gt * (1 - m)
        out = {}
        fake_scores = None
        if self.weights.adv:
            if self._abortable:  # what an abandoned step puts back (D's forward updates its spectral norms)
                d_before["net"] = {k: v.detach().clone() for k, v in self.D.state_dict().items()}
                d_before["opt"] = copy.deepcopy(self.opt_d.state_dict())
            with self._autocast():
                scores = self.D_ddp(torch.cat([gt, comp.detach()]).reshape(2 * b, t, c, h, w)).float()
            real_scores, fake_d = scores[:b], scores[b:]
            d_loss = d_hinge_loss(real_scores, fake_d)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            out["d_loss"] = float(d_loss.detach())
            # G's adversarial term: D frozen, run without the DDP wrapper (nothing of D is updated).
            for p in self.D.parameters():
                p.requires_grad_(False)
            with self._autocast():
                fake_scores = self.D(comp.reshape(b, t, c, h, w)).float()
            for p in self.D.parameters():
                p.requires_grad_(True)
        g_loss, parts = generator_loss(pred, gt, m, fake_scores, self.weights)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self._abortable = False  # from here on the step completes
        self.opt_g.step()
        self.sched_g.step()
        if self.weights.adv:
            self.sched_d.step()
        self.step += 1
        out.update(parts)
        out["loss"] = float(g_loss.detach())
        return out

    @torch.no_grad()
    def validate(self, save_samples: bool = True) -> dict:
        """PSNR/SSIM of the composited output on the validation clips (rank 0; {} elsewhere, and {}
        when the cancel token is set before the last clip: ``last_val`` then stays as it was).

        Progress(i, n, 'validating', info={'clip': name, 'step': step}) before each clip: with the
        full model on a CPU a clip takes seconds, so validating a folder of clips can take longer
        than the step itself."""
        if not self.val or not self.ctx.is_main:
            return {}
        self.G.eval()
        ps, ss = [], []
        for i, item in enumerate(self.val):
            if self.cancel.cancelled and not self.ctx.distributed:  # Stop: these scores would be incomplete
                self.G.train()
                return {}
            self.progress(Progress(i, len(self.val), VALIDATING, info={"clip": item["name"], "step": self.step}))
            frames = torch.from_numpy(item["frames"]).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(self.device)
            masks = torch.from_numpy(item["masks"]).unsqueeze(1).float().to(self.device)
            with self._autocast():
                pred = self.G((frames * (1 - masks))[None], masks[None]).float()
            comp = to_uint8(pred * masks + frames * (1 - masks))
            gt = item["frames"]
            for k in range(len(gt)):
                ps.append(psnr(comp[k], gt[k]))
                ss.append(ssim(comp[k], gt[k]))
            if save_samples and i < self.cfg.val_samples:
                k = len(gt) // 2
                shown = gt[k].copy()
                shown[item["masks"][k] > 0] = (255, 255, 255)
                row = np.concatenate([shown, comp[k], gt[k]], axis=1)
                self.samples_dir.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(self.samples_dir / f"step{self.step:07d}_{i:02d}_{Path(item['name']).stem}.png"),
                            cv2.cvtColor(row, cv2.COLOR_RGB2BGR))
        self.G.train()
        finite = [p for p in ps if math.isfinite(p)]
        self.last_val = {"val_psnr": float(np.mean(finite)) if finite else math.inf, "val_ssim": float(np.mean(ss)),
                         "step": self.step}
        return {k: v for k, v in self.last_val.items() if k != "step"}

    def close(self) -> None:
        """Stop the batch thread (``run`` does this itself)."""
        if self._prefetch is not None:
            self._prefetch.close()
            self._prefetch = None

    def _drop_metrics_after(self, step: int) -> None:
        """Resuming at ``step``: the log lines of the steps after it (written before a kill, and
        about to be trained again) would appear twice; they are dropped, as is a torn last line."""
        try:
            lines = self.metrics_path.read_text().splitlines()
        except OSError:
            return
        kept = []
        for line in lines:
            try:
                if int(json.loads(line)["step"]) <= step:
                    kept.append(line)
            except (ValueError, KeyError, TypeError):
                pass
        if len(kept) != len(lines):
            with atomic_path(self.metrics_path) as tmp:
                tmp.write_text("".join(k + "\n" for k in kept))

    def _log(self, record: dict) -> None:
        if not self.ctx.is_main:
            return
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def run(self) -> TrainResult:
        """Train until ``config.steps``; checkpoints every ``checkpoint_every`` steps and at the end.

        On cancel (between steps, or in the middle of one, which is then abandoned): saves a
        checkpoint of the last whole step and raises ``Cancelled`` (its message names the step).
        Progress: Progress(done=step, total=steps, stage='train', info) with info 'loss', 'd_loss'
        (means since the last log line), 'val_psnr', and once a step of this run is done
        'sec_per_step' (wall time per step of this run, validations included) and 'eta' (seconds).
        The validation after the last step is reported again at that step, with its scores.
        """
        cfg = self.cfg
        start = time.monotonic()
        t_last, n_since, sums = start, 0, {}
        saved_at, saved_time = None, start
        first_step, loop_start = self.step, None
        # (time, step) after this run's first step: the rate leaves that step out, since on CUDA it
        # holds cuDNN's search for the fastest kernels (27-28 s on an H100 against 0.27 s a step
        # after it; the ETA said 786 hours after step 1)
        warm: Optional[tuple] = None
        losses_shown: dict = {}

        def report():
            nonlocal losses_shown
            if n_since:  # (a report with no step since the last log line shows that line's losses again)
                losses_shown = {k: round(v / n_since, 5) for k, v in sums.items() if k in ("loss", "d_loss")}
            info = dict(losses_shown)
            if "val_psnr" in self.last_val:
                info["val_psnr"] = round(self.last_val["val_psnr"], 3)
            now = time.monotonic()
            if loop_start is not None and self.step > first_step:
                t0, s0 = warm if warm is not None and self.step > warm[1] else (loop_start, first_step)
                per_step = (now - t0) / (self.step - s0)
                eta = per_step * (cfg.steps - self.step)
                if cfg.time_limit is not None:
                    eta = min(eta, max(0.0, cfg.time_limit - (now - start)))
                info.update(sec_per_step=round(per_step, 3), eta=round(eta, 1))
            self.progress(Progress(self.step, cfg.steps, "train", now - start, info))

        def stop():
            path = self.save_checkpoint()
            raise Cancelled(f"Training stopped at step {self.step} of {cfg.steps}; checkpoint saved to {path}.")

        try:
            if self.step == 0 and cfg.val_at_start and self.val:
                v = self.validate()
                if not self.cancel.cancelled:
                    self._log({"step": 0, **v, "time": round(time.monotonic() - start, 3)})
            report()
            # (the log's s/step counts steps only: from here, not from the start, which the reading of
            # the clips' first batch and the validation before step 1 would fill: 415 s logged for a
            # 257 s CPU step, and the fine-tune page's estimate took it for the step time)
            loop_start = t_last = time.monotonic()
            while self.step < cfg.steps:
                if cfg.time_limit is not None and ddp.any_flag(self.ctx, time.monotonic() - start >= cfg.time_limit):
                    log.info("time limit of %.0f s reached at step %d", cfg.time_limit, self.step)
                    break
                if ddp.any_flag(self.ctx, self.cancel.cancelled):
                    stop()
                try:
                    losses = self.train_step()
                except Cancelled:
                    stop()
                if warm is None:
                    warm = (time.monotonic(), self.step)
                n_since += 1
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + v
                record = None
                if cfg.log_every and (self.step % cfg.log_every == 0 or self.step == cfg.steps):
                    now = time.monotonic()
                    record = {"step": self.step, **{k: v / n_since for k, v in sums.items()},
                              "lr": self.opt_g.param_groups[0]["lr"], "sec_per_step": (now - t_last) / n_since}
                if cfg.val_every and self.val and self.step % cfg.val_every == 0:
                    record = {**(record or {"step": self.step}), **self.validate()}
                if record is not None:
                    record["time"] = round(time.monotonic() - start, 3)
                    self._log(record)
                report()
                if record is not None and "loss" in record:
                    t_last, n_since, sums = time.monotonic(), 0, {}
                due = cfg.checkpoint_seconds is not None and ddp.any_flag(
                    self.ctx, time.monotonic() - saved_time >= cfg.checkpoint_seconds)
                if due or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0):
                    self.save_checkpoint()
                    saved_at, saved_time = self.step, time.monotonic()
            if self.val and self.last_val.get("step") != self.step:
                # the exported file's metadata and the last log line carry the final scores
                v = self.validate()
                if self.cancel.cancelled:
                    stop()
                self._log({"step": self.step, **v, "time": round(time.monotonic() - start, 3)})
                report()  # the last report carries the final scores, not those of the validation before
            if saved_at != self.step:
                self.save_checkpoint()
            output = self.export_generator(cfg.output) if cfg.output else None
            return TrainResult(self.step, cfg.checkpoint_path, output,
                               self.last_val.get("val_psnr"), self.last_val.get("val_ssim"))
        finally:
            self.close()
            ddp.shutdown(self.ctx)
