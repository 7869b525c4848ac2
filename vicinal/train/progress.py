"""Where a run stands: its step and epoch counters, the sums of the current epoch, the per-epoch metrics and the
final numbers built from them (a classifier's or a regression model's)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vicinal.train import distributed as dist_
from vicinal.train.config import TrainConfig
from vicinal.train.schedules import RunLength
from vicinal.train.signals import NonFiniteLossError


def _no_sums() -> dict:
    return dict(loss=0.0, errors=0.0, count=0, seconds=0.0)


@dataclass
class Progress:
    """The counters a checkpoint keeps beside the weights; ``state_dict`` holds only numbers, lists and dicts."""

    step: int = 0  # optimizer steps taken (a skipped non-finite step counts)
    epoch: int = 0  # epochs finished
    epoch_step: int = 0  # steps taken in the current epoch
    skips: int = 0  # steps skipped for a non-finite loss
    train_seconds: float = 0.0  # time in training steps (evaluation and checkpoint writing left out)
    sums: dict = field(default_factory=_no_sums)  # loss, errors, count, seconds of the current epoch so far
    history: list[dict] = field(default_factory=list)  # one metrics row per finished epoch
    regression: bool = False  # the run's rows hold test_rmse and test_mse (train_error None), not the class metrics

    def advance(self) -> None:
        self.step += 1
        self.epoch_step += 1

    def add(self, loss: float, errors: float, count: int, seconds: float) -> None:
        for key, value in (("loss", loss), ("errors", errors), ("count", count), ("seconds", seconds)):
            self.sums[key] += value
        self.train_seconds += seconds

    def skip_nonfinite(self, loss: torch.Tensor, *, limit: int, kept: Path | None) -> None:
        """Count a step skipped for its non-finite ``loss``; raise NonFiniteLossError once more than ``limit``,
        naming the last good checkpoint ``kept`` (None: the run has written none yet)."""
        self.skips += 1
        if self.skips > limit:
            where = f"the last good checkpoint, {kept}, is kept" if kept else "no checkpoint was written yet"
            raise NonFiniteLossError(
                f"non-finite loss ({loss.item()}) at step {self.step + 1} (epoch {self.epoch + 1}); stopped, "
                f"{where} (lower --lr, or allow skipping such steps with --max-nonfinite-skips K; "
                f"{self.skips - 1} skipped so far)")

    def end_epoch(self, *, lr: float) -> dict:
        """Close the epoch: append its metrics row (test metrics None until evaluated) and return it."""
        s = self.sums
        self.epoch += 1
        self.epoch_step = 0
        tests = dict(test_rmse=None, test_mse=None) if self.regression else dict(test_error=None, test_nll=None,
                                                                                   ece=None)
        row = dict(epoch=self.epoch, seconds=round(self.train_seconds, 3), train_loss=s["loss"] / max(s["count"], 1),
                   train_error=None if self.regression else s["errors"] / max(s["count"], 1), **tests, lr=lr,
                   images_per_s=s["count"] / s["seconds"] if s["seconds"] > 0 else None)
        self.history.append(row)
        self.sums = _no_sums()
        return row

    def final(self, config: TrainConfig, length: RunLength) -> dict:
        """The run's final numbers (results.json): the last epoch's metrics, the best test error (regression: test
        RMSE), time and steps."""
        c, last = config, self.history[-1]
        key, keys = ("test_rmse", ("test_rmse", "test_mse")) if self.regression else \
            ("test_error", ("test_error", "test_nll", "ece"))
        tested = [r[key] for r in self.history if r.get(key) is not None]
        final = dict(alpha=c.alpha, seed=c.seed, method=c.method, dataset=c.dataset, model=c.model,
                     **{k: last[k] for k in keys}, **{f"best_{key}": min(tested) if tested else None},
                     train_loss=last["train_loss"],
                     train_error=last["train_error"], train_seconds=round(self.train_seconds, 3),
                     epochs=self.epoch, steps=self.step, nonfinite_skips=self.skips,
                     images_per_s=(self.epoch * length.steps_per_epoch * c.batch_size / self.train_seconds)
                     if self.train_seconds > 0 else None)
        ends = ("corrupted_fit", "clean_train_error", "fgsm_error", "train_rmse")  # measured after the last epoch
        final.update({k: last[k] for k in ends if k in last})
        return final

    def state_dict(self) -> dict:
        return dict(step=self.step, epoch=self.epoch, epoch_step=self.epoch_step, nonfinite_skips=self.skips,
                    train_seconds=self.train_seconds, sums=dict(self.sums), history=list(self.history))

    def load_state_dict(self, state: dict) -> None:
        self.step, self.epoch, self.epoch_step = int(state["step"]), int(state["epoch"]), int(state["epoch_step"])
        self.skips, self.train_seconds = int(state["nonfinite_skips"]), float(state["train_seconds"])
        self.sums, self.history = dict(state["sums"]), list(state["history"])


class EpochMeter:
    """This process's training loss and errors since the last flush, summed on the device (no host sync a step)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.loss = torch.zeros((), dtype=torch.float64, device=device)
        self.errors = torch.zeros((), dtype=torch.float64, device=device)
        self.count = 0
        self.restart_clock()

    def restart_clock(self) -> None:
        self.start = time.perf_counter()

    def add(self, loss: torch.Tensor, errors: torch.Tensor, count: int) -> None:
        self.loss += loss.detach().double() * count
        self.errors += errors.double()
        self.count += count

    def flush(self, progress: Progress, ctx: dist_.DistContext) -> None:
        """Add the sums over all processes and the time since the clock started to ``progress``; start again."""
        loss, errors, count = dist_.all_reduce_sum([self.loss.item(), self.errors.item(), float(self.count)], ctx,
                                                   self.device)
        progress.add(loss, errors, int(count), time.perf_counter() - self.start)
        self.loss.zero_(), self.errors.zero_()
        self.count = 0
