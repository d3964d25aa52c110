"""Training and fine-tuning of the STTN generator with the T-PatchGAN discriminator.

Public API: ``TrainConfig``, ``Trainer`` (``Trainer(config, progress, cancel, resume).run()``),
``TrainResult``; data in ``dataset``, objectives in ``losses``, PSNR/SSIM from ``app.core.metrics``,
multi-process helpers in ``ddp``.
"""
from .trainer import TrainConfig, Trainer, TrainResult, read_training_checkpoint

__all__ = ["TrainConfig", "Trainer", "TrainResult", "read_training_checkpoint"]
