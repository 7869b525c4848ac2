"""How long a run is, its optimizer, and its learning-rate schedule from torch (stepped once per iteration)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, MultiStepLR, OneCycleLR

from vicinal.train.config import TrainConfig


@dataclass(frozen=True)
class RunLength:
    """How many epochs and steps a run has: the one source the lr schedule, the epochs without mixing, the
    evaluation epochs and the training loop read."""

    epochs: int  # passes over the training data
    steps_per_epoch: int  # optimizer steps per pass (global batches)
    mixup_off_epochs: int = 0  # last epochs trained without mixing
    eval_every: int = 1  # evaluate after every this many epochs (and after the last)

    @classmethod
    def of(cls, config: TrainConfig, *, steps_per_epoch: int) -> "RunLength":
        """The length ``config`` asks for, with ``steps_per_epoch`` from the training loader."""
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch={steps_per_epoch} is invalid: expected at least 1")
        return cls(config.epochs, steps_per_epoch, config.mixup_off_epochs, config.eval_every)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def evaluations(self) -> int:
        """How many times the test set is evaluated (after every ``eval_every`` epochs and after the last)."""
        return self.epochs // self.eval_every + (self.epochs % self.eval_every != 0)

    def cut_to(self, epochs: int) -> "RunLength":
        """This run cut to ``epochs`` (1 ≤ epochs ≤ its own), its epochs without mixing cut in proportion (rounded
        half up), so the schedule keeps its shape: warm-up and annealing are shares of all steps already."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= self.epochs:
            raise ValueError(f"epochs={epochs!r} is invalid: expected an integer in [1, {self.epochs}]")
        off = (2 * self.mixup_off_epochs * epochs + self.epochs) // (2 * self.epochs)
        return RunLength(epochs, self.steps_per_epoch, off, self.eval_every)

    def mixes_in(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (0-based) is trained with mixing (all but the last ``mixup_off_epochs``)."""
        return epoch < self.epochs - self.mixup_off_epochs

    def evaluates_after(self, epochs_done: int) -> bool:
        """Whether the test set is evaluated once ``epochs_done`` epochs are finished."""
        return epochs_done % self.eval_every == 0 or epochs_done == self.epochs


def reach_min_steps(config: TrainConfig, *, steps_per_epoch: int) -> TrainConfig:
    """``config`` with its epochs raised until epochs × ``steps_per_epoch`` reach ``config.min_steps``, resolved:
    ``min_steps`` becomes 0, so a later cut (a time budget's) stays cut.

    What is counted in epochs keeps its share of the run: the epochs without mixing (rounded half up, as a
    budget's cut rounds them), the step schedule's milestones (with schedule "step") and ``eval_every`` (so the
    test set is evaluated about as often as before) are scaled by the same factor. Unchanged when the epochs
    already reach it.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch={steps_per_epoch} is invalid: expected at least 1")
    epochs = max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))
    if epochs == config.epochs:
        return config.replace(min_steps=0)
    scale = epochs / config.epochs
    return config.replace(
        min_steps=0, epochs=epochs,
        mixup_off_epochs=(2 * config.mixup_off_epochs * epochs + config.epochs) // (2 * config.epochs),
        milestones=tuple(math.floor(m * scale + 0.5) for m in config.milestones) if config.schedule == "step"
        else config.milestones,
        eval_every=max(1, math.floor(config.eval_every * scale + 0.5)))


def min_epochs(config: TrainConfig, *, steps_per_epoch: int) -> int:
    """The fewest epochs ``config``'s schedule accepts (a one-cycle warm-up needs more than one step; see
    build_scheduler): the shortest cut a time budget may make."""
    if config.schedule != "onecycle":
        return 1
    return math.floor(1 / (config.warmup_fraction * steps_per_epoch)) + 1


def build_optimizer(params: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (momentum, optional Nesterov) or Adam (beta1 = momentum), with L2 weight decay."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, betas=(config.momentum, 0.999), weight_decay=config.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, length: RunLength) -> LRScheduler:
    """The schedule named by ``config.schedule`` over the run's ``length``, stepped after every optimizer step.

    step: lr × lr_decay at each milestone epoch (the paper's: 0.1, ÷10 at 100 and 150 of 200);
    onecycle: warm up for ``warmup_fraction`` of all steps, then anneal (cosine) to ~0;
    cosine: cosine annealing from lr to 0 over all steps; constant: lr throughout.
    """
    total = length.total_steps
    if config.schedule == "onecycle":
        warmup = config.warmup_fraction * total
        if warmup <= 1:  # OneCycleLR's warm-up runs from step 0 to step warmup − 1 (a division by zero at 1)
            raise ValueError(f"warmup_fraction={config.warmup_fraction!r} is invalid for a one-cycle schedule of "
                             f"{total} steps: it gives {warmup:g} warm-up steps, expected more than 1 (train more "
                             f"steps, raise warmup_fraction, or choose another schedule)")
        return OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=config.warmup_fraction,
                          cycle_momentum=config.optimizer == "sgd" and config.momentum > 0)
    if config.schedule == "cosine":
        return CosineAnnealingLR(optimizer, T_max=total)
    milestones = [m * length.steps_per_epoch for m in config.milestones] if config.schedule == "step" else []
    return MultiStepLR(optimizer, milestones=milestones, gamma=config.lr_decay)
