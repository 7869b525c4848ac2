"""The trainer: train(config) -> Result, ERM or mixup-style vicinal risk minimization (arXiv 1710.09412), resumable."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from vicinal.train import distributed as dist_
from vicinal.train.checkpoint import CHECKPOINT_NAME, export_safetensors, load_checkpoint, save_checkpoint, write_json
from vicinal.data.loader import derive_seed
from vicinal.train.config import TrainConfig, check_resumable, config_from_dict
from vicinal.train.data import RunData, prepare_data
from vicinal.train.hardware import (
    autocast_dtype, determinism, make_generator, resolve_device, threads, use_channels_last,
)
from vicinal.train.rundir import (
    RESULTS_NAME, WEIGHTS_NAME, default_run_dir, rewrite_metrics, write_config,
)
from vicinal.train.schedules import build_optimizer, build_scheduler
from vicinal.train.signals import StopSignals, TrainingInterrupted
from vicinal.train.step import vicinal_step

class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite more often than ``max_nonfinite_skips`` allows."""


@dataclass
class Result:
    """What a finished run returns: its folder, config, per-epoch metrics, final numbers and trained model."""

    run_dir: Path
    config: TrainConfig
    history: list[dict]
    final: dict
    model: nn.Module
    last_eval: dict | None = field(default=None, repr=False)  # evaluate() output of the last epoch (probs, labels)


def resume_config(run_dir: str | os.PathLike, **overrides) -> TrainConfig:
    """The config of the run in ``run_dir`` (from its checkpoint) with ``overrides``, ready for train(resume=True)."""
    run_dir = Path(run_dir)
    state = load_checkpoint(_checkpoint_path(run_dir))
    return config_from_dict({**state["config"], **overrides, "out": str(run_dir)})


def _checkpoint_path(run_dir: Path) -> Path:
    if not run_dir.is_dir():
        raise ValueError(f"resume={str(run_dir)!r}: no such folder (expected a vicinal run folder)")
    path = run_dir / CHECKPOINT_NAME
    if not path.is_file():
        raise ValueError(f"resume={str(run_dir)!r}: no {CHECKPOINT_NAME} there (not a vicinal run folder)")
    return path


def _check_compatible(config: TrainConfig, stored: dict, world_size: int, stored_world: int) -> None:
    check_resumable(config, stored)
    if world_size != stored_world:
        raise ValueError(f"resume: {world_size} processes is incompatible with the checkpoint's {stored_world}")


def train(config: TrainConfig, *, resume: bool = False) -> Result:
    """Train ``config.model`` on ``config.dataset`` as configured; write the run folder; return the Result.

    ``resume=True`` continues the run in ``config.out`` from its checkpoint (same final weights as an
    uninterrupted run); a missing or foreign folder, or an incompatible config, raises ValueError.
    Under torchrun (RANK/WORLD_SIZE set) the run is data-parallel (DDP) and only rank 0 writes files.
    SIGTERM/SIGINT finish the current step, save a checkpoint and raise TrainingInterrupted.
    """
    device = resolve_device(config.device)
    ctx = dist_.setup(device.type)
    if ctx.enabled and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
    cuda = [device.index or 0] if device.type == "cuda" else []
    try:
        # fork_rng: the caller's global RNG is left alone
        with threads(config.threads), determinism(config.deterministic, config.seed), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(derive_seed(config.seed, "global", ctx.rank))  # dropout: differs by rank
            result = _Run(config, device, ctx, resume).fit()
    except BaseException:
        if ctx.initialized_here and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        raise
    dist_.teardown(ctx)
    return result


class _Run:
    """One training run's state; ``fit`` runs the epochs (a class so checkpoints can snapshot everything)."""

    def __init__(self, config: TrainConfig, device: torch.device, ctx: dist_.DistContext, resume: bool) -> None:
        self.config, self.device, self.ctx = config, device, ctx
        if config.batch_size % ctx.world_size:
            raise ValueError(f"batch_size={config.batch_size} is invalid: expected a multiple of the "
                             f"{ctx.world_size} processes")
        run_dir = Path(config.out) if config.out else default_run_dir(config)
        self.run_dir = Path(dist_.broadcast_object(str(run_dir), ctx))
        state = None
        if resume:
            state = load_checkpoint(_checkpoint_path(self.run_dir))
            _check_compatible(config, state["config"], ctx.world_size, int(state["world_size"]))
        elif (self.run_dir / CHECKPOINT_NAME).exists():
            raise ValueError(f"out={str(self.run_dir)!r} already holds a run ({CHECKPOINT_NAME}): resume it "
                             f"with --resume or choose another --out")
        corruption = state["generators"]["corruption"] if state else None

        def amp_for(kind: str) -> torch.dtype | None:
            return autocast_dtype(config.precision, device=device, kind=kind, model=config.model)

        self.data: RunData = prepare_data(
            config, device=device, ctx=ctx, corruption_state=corruption,
            channels_last=lambda kind: use_channels_last(amp_for(kind), device=device, kind=kind))
        self.amp = amp_for(self.data.kind)
        channels_last = self.data.channels_last
        self.model = self._build_model(channels_last)
        self.optimizer = build_optimizer(self.model.parameters(), config)
        self.steps_per_epoch = len(self.data.train)
        self.scheduler = build_scheduler(self.optimizer, config, steps_per_epoch=self.steps_per_epoch)
        self.mix_gen = make_generator(config.seed, "mixing", device=device)  # same on every rank: one λ per step
        self.noise_gen = make_generator(config.seed, "noise", device=device, rank=ctx.rank)  # differs by rank
        self.step = self.epoch = self.epoch_step = self.skips = 0
        self.sums = dict(loss=0.0, errors=0.0, count=0, seconds=0.0)
        self.train_seconds = 0.0
        self.history: list[dict] = []
        if state:
            self._restore(state)
        self.net = self._wrap()
        self.last_eval: dict | None = None

    # --- construction -------------------------------------------------------------------------------------
    def _build_model(self, channels_last: bool) -> nn.Module:
        from vicinal.models import build_model

        d = self.data
        shape = dict(in_features=d.input_shape[0]) if d.kind == "tabular" else dict(
            in_channels=d.input_shape[0], image_size=d.input_shape[-1])
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
            torch.manual_seed(derive_seed(self.config.seed, "model"))
            model = build_model(self.config.model, num_classes=d.num_classes, dropout=self.config.dropout, **shape)
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if channels_last else model

    def _wrap(self) -> nn.Module:
        if not self.ctx.enabled:
            return self.model
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DDP(self.model, device_ids=ids)

    def _mixup_layers(self) -> tuple[str, ...] | None:
        layers = getattr(self.model, "mixup_layers", None)
        if layers is None or self.net is self.model:
            return layers
        return tuple(f"module.{name}" if name else name for name in layers)

    # --- checkpoints ----------------------------------------------------------------------------------------
    def _snapshot(self) -> dict:
        rank_state = dict(loader=self.data.train.state_dict(), noise=self.noise_gen.get_state(),
                          torch_rng=torch.get_rng_state())  # the global generator: dropout masks
        if self.device.type == "cuda":
            rank_state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return dict(
            config=self.config.to_dict(), model=self.model.state_dict(), optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(), step=self.step, epoch=self.epoch, epoch_step=self.epoch_step,
            world_size=self.ctx.world_size, rank_states=dist_.gather_objects(rank_state, self.ctx),
            generators=dict(mixing=self.mix_gen.get_state(), corruption=self.data.corruption_state),
            sums=dict(self.sums), train_seconds=self.train_seconds, history=list(self.history),
            nonfinite_skips=self.skips,
        )

    def _save(self) -> None:
        snapshot = self._snapshot()  # every rank takes part in gathering the loader states
        if self.ctx.is_main:
            save_checkpoint(snapshot, self.run_dir / CHECKPOINT_NAME)

    def _restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        mine = state["rank_states"][self.ctx.rank]
        self.data.train.load_state_dict(mine["loader"])
        self.noise_gen.set_state(mine["noise"])
        torch.set_rng_state(mine["torch_rng"])
        if "cuda_rng" in mine and self.device.type == "cuda":
            torch.cuda.set_rng_state(mine["cuda_rng"], self.device)
        self.mix_gen.set_state(state["generators"]["mixing"])
        self.step, self.epoch, self.epoch_step = int(state["step"]), int(state["epoch"]), int(state["epoch_step"])
        self.skips, self.train_seconds = int(state["nonfinite_skips"]), float(state["train_seconds"])
        self.sums, self.history = dict(state["sums"]), list(state["history"])

    # --- the loop -----------------------------------------------------------------------------------------
    def fit(self) -> Result:
        c, ctx = self.config, self.ctx
        if ctx.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_config(self.run_dir, c, device=str(self.device), world_size=ctx.world_size,
                         autocast=str(self.amp).replace("torch.", "") if self.amp else "fp32",
                         channels_last=self.data.channels_last, num_parameters=sum(
                             p.numel() for p in self.model.parameters()))
        quiet = c.quiet or not ctx.is_main
        total = c.epochs * self.steps_per_epoch
        bar = tqdm(total=total, initial=self.step, unit="img", unit_scale=c.batch_size, dynamic_ncols=True, leave=False,
                   disable=True if quiet else None, desc=f"α={c.alpha:g} seed {c.seed}")
        with StopSignals() as stop, bar:
            while self.epoch < c.epochs:
                signum = self._train_epoch(stop, bar)
                self._end_epoch(quiet)
                if signum is not None:
                    raise TrainingInterrupted(signum, str(self.run_dir))
        return self._finish()

    def _train_epoch(self, stop: StopSignals, bar: tqdm) -> int | None:
        """Train the rest of the current epoch; the signal number if a stop was requested at its end."""
        c = self.config
        mixing = c.alpha > 0 and self.epoch < c.epochs - c.mixup_off_epochs
        self.net.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        err_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        count, stop_at_end, layers = 0, False, self._mixup_layers()
        for x, y in self.data.train:
            if c.input_noise > 0:
                x = x + c.input_noise * torch.randn(x.shape, generator=self.noise_gen, device=x.device, dtype=x.dtype)
            mix_now = mixing and (c.mix_prob >= 1.0 or bool(
                torch.rand((), generator=self.mix_gen, device=self.mix_gen.device) < c.mix_prob))
            out = vicinal_step(self.net, x, y, config=c, num_classes=self.data.num_classes, mixing=mix_now,
                               generator=self.mix_gen, autocast_dtype=self.amp, mixup_layers=layers)
            nonfinite, stopping = self._flags(not bool(torch.isfinite(out.loss)), stop.received is not None)
            self.optimizer.zero_grad(set_to_none=True)
            if nonfinite:
                self._nonfinite(out.loss)
            else:
                out.loss.backward()
                self.optimizer.step()
                loss_sum += out.loss.detach().double() * len(y)
                err_sum += out.errors.double()
                count += len(y)
            self.scheduler.step()
            self.step += 1
            self.epoch_step += 1
            bar.update(1)
            mid_epoch = self.epoch_step < self.steps_per_epoch
            periodic = c.checkpoint_every > 0 and self.step % c.checkpoint_every == 0
            if mid_epoch and (stopping or periodic):
                self._add_sums(loss_sum, err_sum, count, time.perf_counter() - start)
                loss_sum.zero_(), err_sum.zero_()
                self._save()
                count, start = 0, time.perf_counter()  # checkpoint writing is not training time
                if stopping:
                    raise TrainingInterrupted(self._signal(stop), str(self.run_dir))
            stop_at_end = stop_at_end or (stopping and not mid_epoch)
        self._add_sums(loss_sum, err_sum, count, time.perf_counter() - start)
        return self._signal(stop) if stop_at_end else None

    def _flags(self, nonfinite: bool, stopping: bool) -> tuple[bool, bool]:
        """Agree over all ranks whether this step's loss was non-finite and whether to stop now."""
        if not self.ctx.enabled:
            return nonfinite, stopping
        flags = dist_.any_rank_each([nonfinite, stopping], self.ctx, self.device)
        return flags[0], flags[1]

    @staticmethod
    def _signal(stop: StopSignals) -> int:
        import signal

        return stop.received if stop.received is not None else int(signal.SIGTERM)

    def _nonfinite(self, loss: torch.Tensor) -> None:
        self.skips += 1
        if self.skips > self.config.max_nonfinite_skips:
            raise NonFiniteLossError(
                f"non-finite loss ({loss.item()}) at step {self.step + 1} (epoch {self.epoch + 1}); stopped, the "
                f"last good checkpoint in {self.run_dir} is kept (lower --lr, or allow skipping such steps "
                f"with --max-nonfinite-skips K; {self.skips - 1} skipped so far)")

    def _add_sums(self, loss_sum: torch.Tensor, err_sum: torch.Tensor, count: int, seconds: float) -> None:
        loss, errors, count = dist_.all_reduce_sum([loss_sum.item(), err_sum.item(), float(count)], self.ctx,
                                                   self.device)
        self.sums["loss"] += loss
        self.sums["errors"] += errors
        self.sums["count"] += int(count)
        self.sums["seconds"] += seconds
        self.train_seconds += seconds

    def _end_epoch(self, quiet: bool) -> None:
        c, s = self.config, self.sums
        self.epoch += 1
        evaluate_now = self.epoch % c.eval_every == 0 or self.epoch == c.epochs
        row = dict(epoch=self.epoch, seconds=round(self.train_seconds, 3),
                   train_loss=s["loss"] / max(s["count"], 1), train_error=s["errors"] / max(s["count"], 1),
                   test_error=None, test_nll=None, ece=None, lr=self.scheduler.get_last_lr()[0],
                   images_per_s=s["count"] / s["seconds"] if s["seconds"] > 0 else None)
        if self.ctx.is_main and evaluate_now:
            row.update(self._evaluate())
        self.history.append(row)
        self.epoch_step = 0
        self.sums = dict(loss=0.0, errors=0.0, count=0, seconds=0.0)
        self._save()
        if self.ctx.is_main:
            rewrite_metrics(self.run_dir, self.history)
            if not quiet:
                tqdm.write(_epoch_line(row, c.epochs), file=sys.stderr)

    def _evaluate(self) -> dict:
        from vicinal.eval import evaluate

        self.last_eval = evaluate(self.model, self.data.test, device=self.device, autocast_dtype=self.amp,
                                  flip=self.config.test_flip, translate=self.config.test_translate)
        row = dict(test_error=float(self.last_eval["error"]), test_nll=float(self.last_eval["nll"]),
                   ece=float(self.last_eval["ece"]))
        if self.data.corrupted is not None:
            fit = evaluate(self.model, self.data.train_eval, device=self.device, autocast_dtype=self.amp)
            pred = fit["probs"].argmax(1).to(self.data.clean_labels.device)
            mask = self.data.corrupted
            row["clean_train_error"] = float((pred != self.data.clean_labels).double().mean())
            row["corrupted_fit"] = float((pred[mask] == self.data.noisy_labels[mask]).double().mean()) \
                if bool(mask.any()) else 0.0
        self.model.train()
        return row

    def _finish(self) -> Result:
        c = self.config
        if self.ctx.is_main and self.last_eval is None:  # resumed after the last epoch: evaluate once more
            self.history[-1].update(self._evaluate())
            rewrite_metrics(self.run_dir, self.history)
        last = self.history[-1]
        tested = [r["test_error"] for r in self.history if r.get("test_error") is not None]
        final = dict(alpha=c.alpha, seed=c.seed, method=c.method, dataset=c.dataset, model=c.model,
                     test_error=last["test_error"], test_nll=last["test_nll"], ece=last["ece"],
                     best_test_error=min(tested) if tested else None, train_loss=last["train_loss"],
                     train_error=last["train_error"], train_seconds=round(self.train_seconds, 3),
                     epochs=self.epoch, steps=self.step, nonfinite_skips=self.skips,
                     images_per_s=(self.epoch * self.steps_per_epoch * c.batch_size / self.train_seconds)
                     if self.train_seconds > 0 else None)
        for key in ("corrupted_fit", "clean_train_error"):
            if key in last:
                final[key] = last[key]
        result = Result(self.run_dir, c, list(self.history), final, self.model, self.last_eval)
        if self.ctx.is_main:
            write_json(self.run_dir / RESULTS_NAME, final)
            export_safetensors(self.model, self.run_dir / WEIGHTS_NAME)
            from vicinal.train.report import write_run_report

            write_run_report(result)
        return result


def _epoch_line(row: dict, epochs: int) -> str:
    test = "" if row["test_error"] is None else (
        f"  test error {100 * row['test_error']:.2f}%  NLL {row['test_nll']:.3f}  ECE {row['ece']:.3f}")
    return (f"epoch {row['epoch']}/{epochs}  train loss {row['train_loss']:.4f}  "
            f"train error {100 * row['train_error']:.2f}%{test}  [{row['seconds']:.1f} s]")
