"""Observers of a training run: the run's start, every step (loss, lr, λ and partners) and every epoch's metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vicinal.train.config import TrainConfig


@dataclass(frozen=True)
class RunInfo:
    """What a run is, given to ``Callback.on_start`` once its parts are built (and restored, when resumed)."""

    config: TrainConfig
    run_dir: Path
    model: nn.Module  # the model being trained (not its DistributedDataParallel wrapper)
    resumed: bool  # continued from a checkpoint
    epochs: int  # the run's length (see RunLength)
    steps_per_epoch: int


@dataclass(frozen=True)
class StepEvent:
    """One training step, after the optimizer update (tensors as the step left them: no host sync is made)."""

    step: int  # 1-based number of this step in the run
    epoch: int  # 0-based epoch the step belongs to
    loss: torch.Tensor  # 0-d, the batch's loss (non-finite on a skipped step)
    lr: float  # the learning rate the step used
    lam: torch.Tensor  # λ of the batch, 0-d or (B,); 1 when the batch was left unmixed
    index: torch.Tensor  # (B,) each row's partner


class Callback:
    """Base class of run observers: override the methods you need (each does nothing here).

    Called in every process of a distributed run (compare ``torch.distributed.get_rank()`` to act once);
    an exception raised in a method stops the run as any error would.
    """

    def on_start(self, run: RunInfo) -> None:
        """Before the first step of this call of ``train`` (also when resumed)."""

    def on_step(self, event: StepEvent) -> None:
        """After each training step."""

    def on_epoch(self, row: dict) -> None:
        """After each epoch, with its metrics row as written to metrics.jsonl (test metrics on rank 0 only)."""


class Callbacks(Callback):
    """Several callbacks as one: each method calls theirs in order. False when it holds none, so a run builds no
    step events for nobody."""

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        self.callbacks = tuple(callbacks)

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def on_start(self, run: RunInfo) -> None:
        for callback in self.callbacks:
            callback.on_start(run)

    def on_step(self, event: StepEvent) -> None:
        for callback in self.callbacks:
            callback.on_step(event)

    def on_epoch(self, row: dict) -> None:
        for callback in self.callbacks:
            callback.on_epoch(row)
