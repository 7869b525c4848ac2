"""Optimizers and learning-rate schedules from torch, all stepped once per iteration."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, MultiStepLR, OneCycleLR

from vicinal.train.config import TrainConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (momentum, optional Nesterov) or Adam (beta1 = momentum), with L2 weight decay."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, betas=(config.momentum, 0.999), weight_decay=config.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, *, steps_per_epoch: int) -> LRScheduler:
    """The schedule named by ``config.schedule``, to be stepped after every optimizer step.

    step: lr × lr_decay at each milestone epoch (the paper's: 0.1, ÷10 at 100 and 150 of 200);
    onecycle: warm up for ``warmup_fraction`` of all steps, then anneal (cosine) to ~0;
    cosine: cosine annealing from lr to 0 over all steps; constant: lr throughout.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch={steps_per_epoch} is invalid: expected at least 1")
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        return OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=config.warmup_fraction,
                          cycle_momentum=config.optimizer == "sgd" and config.momentum > 0)
    if config.schedule == "cosine":
        return CosineAnnealingLR(optimizer, T_max=total)
    milestones = [m * steps_per_epoch for m in config.milestones] if config.schedule == "step" else []
    return MultiStepLR(optimizer, milestones=milestones, gamma=config.lr_decay)
