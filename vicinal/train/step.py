"""The vicinal loss of one batch: ERM, or mixup / CutMix / Manifold Mixup through vicinal.core (arXiv 1710.09412)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vicinal.core import cutmix, manifold_mixup, mixup, mixup_cross_entropy, soft_cross_entropy
from vicinal.eval.metrics import autocast_context
from vicinal.train.config import TrainConfig


@dataclass(frozen=True)
class StepOutput:
    """What one forward pass gives the trainer: the loss to minimize and the errors made on the batch."""

    loss: torch.Tensor  # 0-d float32, mean over the batch
    errors: torch.Tensor  # 0-d, number of rows whose prediction differs from the dominant class of the target


def _loss_is_two_label(config: TrainConfig, lam: torch.Tensor) -> bool:
    """mixup_cross_entropy (two integer-label CE terms) is exact for mixed inputs and labels, no smoothing, one λ."""
    return config.mix == "both" and config.label_smoothing == 0.0 and lam.ndim == 0


def vicinal_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, config: TrainConfig, num_classes: int,
                 mixing: bool, generator: torch.Generator, autocast_dtype: torch.dtype | None,
                 mixup_layers: tuple[str, ...] | None = None) -> StepOutput:
    """Forward pass and loss on (x, y), mixed with ``config``'s method when ``mixing`` is on.

    ERM (``mixing`` off) uses the integer-label cross-entropy (with label smoothing if configured); the mixed
    methods use soft_cross_entropy on the mixed targets, or the equivalent and faster two-label form when exact.
    ``mixup_layers`` names the submodules Manifold Mixup may mix (with the DDP prefix when wrapped).
    """
    device = x.device
    if not mixing:
        with autocast_context(device, autocast_dtype):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
        return StepOutput(loss, (logits.argmax(1) != y).sum())
    options = dict(alpha=config.alpha, num_classes=num_classes, label_smoothing=config.label_smoothing,
                   generator=generator)
    if config.method == "manifold_mixup":
        with autocast_context(device, autocast_dtype):
            logits, batch = manifold_mixup(model, x, y, layers=mixup_layers, **options)
    else:
        sampler = mixup if config.method == "mixup" else cutmix
        extra = dict(mix=config.mix) if config.method == "mixup" else {}
        batch = sampler(x, y, per_sample=config.per_sample, pairing=config.pairing, knn_k=config.knn_k,
                        **extra, **options)
        with autocast_context(device, autocast_dtype):
            logits = model(batch.inputs)
    logits = logits.float()
    if config.method != "manifold_mixup" and _loss_is_two_label(config, batch.lam):
        loss = mixup_cross_entropy(logits, y, y[batch.index], batch.lam)
    else:
        loss = soft_cross_entropy(logits, batch.targets)
    dominant = batch.targets.argmax(1) if batch.targets.ndim == 2 else batch.targets
    return StepOutput(loss, (logits.argmax(1) != dominant).sum())
