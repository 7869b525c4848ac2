"""TensorBoard view of a run: each epoch's metrics, its learning rate and a histogram of the λ drawn, written with
torch.utils.tensorboard into the run folder (metrics.jsonl stays the record of the run)."""

from __future__ import annotations

import torch

from vicinal.train.callbacks import Callback, RunInfo, StepEvent
from vicinal.train.config import require_package


class TensorBoardLogger(Callback):
    """Writes a run's TensorBoard event file into its run folder (the main process only), one point per epoch.

    Scalars: every number of the epoch's metrics row (train_loss, train_error, test_error, test_nll, ece, lr,
    seconds, images_per_s, ...), tagged with its metrics.jsonl key, at step = the epoch (1-based); the test
    metrics appear at the epochs that were evaluated. Histogram ``lambda``: the λ of every step of the epoch
    (one per batch, or one per sample with per_sample; 1 for an unmixed batch). Events are flushed at the end
    of each epoch, after its checkpoint, so a resumed run appends the epochs that follow; the steps a resumed
    epoch took before its last checkpoint are not in its histogram. ``tensorboard --logdir`` on a comparison's
    folder shows each of its runs.

    The trainer adds it when ``TrainConfig.tensorboard`` is set; without the tensorboard package the
    constructor raises ValueError.
    """

    def __init__(self) -> None:
        self._writer_class = require_package("torch.utils.tensorboard", option="tensorboard", value=True,
                                             extra="tensorboard").SummaryWriter
        self._run: RunInfo | None = None
        self._writer = None
        self._lams: list[torch.Tensor] = []

    def on_start(self, run: RunInfo) -> None:
        main = not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0
        self._run = run if main else None

    def on_step(self, event: StepEvent) -> None:
        if self._run is not None:
            self._lams.append(event.lam.detach().reshape(-1))  # kept on the device: no host sync a step

    def on_epoch(self, row: dict) -> None:
        if self._run is None:
            return
        if self._writer is None:  # opened at the first epoch: a run resumed after its last epoch writes nothing
            self._writer = self._writer_class(log_dir=str(self._run.run_dir))
        epoch = row["epoch"]
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(key, value, epoch)
        if self._lams:
            self._writer.add_histogram("lambda", torch.cat(self._lams).float().cpu(), epoch)
            self._lams.clear()
        self._writer.flush()
        if epoch >= self._run.epochs:
            self._writer.close()
            self._writer = None
