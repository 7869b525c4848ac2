"""The trainer: train(config) -> Result, ERM or mixup-style vicinal risk minimization (arXiv 1710.09412) of a classifier
or a regression model (C-Mixup, arXiv 2210.05775), resumable."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from vicinal.core._checks import resolve_device
from vicinal.core.generators import derive_seed, make_generator
from vicinal.data import TensorLoader
from vicinal.train import distributed as dist_
from vicinal.train.budget import check_same_budget, mixing_kept, plan_budget
from vicinal.train.callbacks import Callback, Callbacks, RunInfo, StepEvent
from vicinal.train.checkpoint import (
    CHECKPOINT_NAME,
    check_same_data,
    check_state,
    loading,
    save_checkpoint,
    start_state,
)
from vicinal.train.config import TrainConfig
from vicinal.train.data import RunData, absolute_dataset, data_record, load_for, prepare_data, resolve_for_data
from vicinal.train.evaluation import evaluate_run
from vicinal.train.hardware import (
    autocast_dtype,
    determinism,
    maybe_compile,
    threads,
    use_channels_last,
)
from vicinal.train.progress import EpochMeter, Progress
from vicinal.train.rundir import (
    claimed,
    default_run_dir,
    read_provenance,
    rewrite_metrics,
    write_config,
    write_results,
)
from vicinal.train.schedules import RunLength, build_optimizer, build_scheduler
from vicinal.train.signals import StopSignals, TrainingInterrupted
from vicinal.train.step import build_mixer, manifold_layers, vicinal_step


@dataclass
class Result:
    """What a finished run returns: its folder, config, per-epoch metrics, final numbers and trained model."""

    run_dir: Path
    config: TrainConfig  # as the run resolved it: the model, augmentation and length it trained with
    history: list[dict]
    final: dict
    model: nn.Module
    # the last epoch's evaluate() output (probs, labels); a regression run's evaluate_regression() output (predictions,
    # targets, in the targets' units)
    last_eval: dict | None = field(default=None, repr=False)
    budget: dict | None = None  # what the config's time budget bought (vicinal.train.budget.record), if it had one


def train(config: TrainConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> Result:
    """Train ``config.model`` on ``config.dataset`` as configured; write the run folder; return the Result.

    ``resume=True`` continues the run in ``config.out`` from its checkpoint (same final weights as an
    uninterrupted run); a missing or foreign folder, a damaged checkpoint, an incompatible config or other data
    raise ValueError. A new run needs a new or empty folder (or a vicinal run folder without a checkpoint), and
    the folder is locked while the run holds it (see rundir.claimed). Under torchrun (RANK/WORLD_SIZE set) the run
    is data-parallel (DDP) and only rank 0 writes files.
    SIGTERM/SIGINT finish the current step, save a checkpoint and raise TrainingInterrupted.
    ``callbacks`` observe the run (see Callback); ``config.tensorboard`` adds a TensorBoardLogger to them. With
    ``config.time_budget`` a probe first sets how many of ``config.epochs`` fit (see vicinal.train.budget);
    ``Result.config`` says what the run resolved.
    """
    if config.tensorboard:
        from vicinal.train.tensorboard import TensorBoardLogger  # lazy: tensorboard is an optional package

        callbacks = (*callbacks, TensorBoardLogger())
    with _run_context(config) as (device, ctx):
        run_dir = Path(dist_.broadcast_object(str(config.out or default_run_dir(config)), ctx))
        with claimed(run_dir, resume=resume, ctx=ctx):
            setup = set_up(config, device, ctx, run_dir, resume=resume)
            return TrainingRun(setup, device, ctx, run_dir, callbacks=callbacks).fit()


def resolve(config: TrainConfig) -> tuple[TrainConfig, dict | None]:
    """What a fresh run of ``config`` would train with: the config with its model, augmentation and (with a time
    budget, measured by the probe) length resolved, and the budget's record (None without one). Nothing is
    trained or written, and no optimizer or mixing object is built."""
    with _run_context(config) as (device, ctx):
        setup = set_up(config, device, ctx, default_run_dir(config), resume=False)  # a folder never made
        return setup.config, setup.budget


@contextlib.contextmanager
def _run_context(config: TrainConfig):
    """(device, process group context) for a run of ``config``, with its threads, determinism and a forked global
    RNG seeded for the run (the caller's is left alone); the process group this started is ended after."""
    device = resolve_device(config.device)
    ctx = dist_.setup(device.type)
    if ctx.enabled and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
    cuda = [device.index or 0] if device.type == "cuda" else []
    try:
        with threads(config.threads), determinism(config.deterministic, config.seed), \
                torch.random.fork_rng(devices=cuda):
            torch.manual_seed(derive_seed(config.seed, "global", ctx.rank))  # dropout: differs by rank
            yield device, ctx
    except BaseException:
        if ctx.initialized_here and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        raise
    dist_.teardown(ctx)


def build_run_model(config: TrainConfig, data: RunData, device: torch.device) -> nn.Module:
    """``config.model`` shaped for ``data``, initialized from the run's seed, on ``device`` in the data's memory
    format."""
    from vicinal.models import build_model

    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(derive_seed(config.seed, "model"))
        model = build_model(config.model, num_classes=data.outputs, dropout=config.dropout,
                            input_shape=data.input_shape)
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if data.channels_last else model


def _distributed(model: nn.Module, ctx: dist_.DistContext, device: torch.device) -> tuple[nn.Module, str]:
    """The module the loop calls (``model``, or its DDP wrapper) and the prefix of ``model``'s names in it."""
    if not ctx.enabled:
        return model, ""
    from torch.nn.parallel import DistributedDataParallel as DDP

    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None), "module."


def _continued(config: TrainConfig, dataset, state: dict | None, record: dict, earlier: dict) -> TrainConfig:
    """``config`` naming its data by absolute path; on resume, checked against the checkpoint's data and, when it
    asks for a time budget, against the budget the run was fitted to, and with the length the run resolved when it
    started (its time budget is not probed again)."""
    if state:
        check_same_data(state, record)
    config = config.replace(dataset=absolute_dataset(config.dataset, dataset.source))
    if state and config.time_budget is not None:
        if not earlier.get("budget"):
            raise ValueError(f"resume: time_budget={config.time_budget!r} is incompatible with the checkpoint's run, "
                             f"which had no time budget (expected time_budget=None)")
        check_same_budget(earlier["budget"], config, where="resume")
        stored = state["config"]
        config = config.replace(time_budget=None, epochs=stored["epochs"],
                                mixup_off_epochs=stored["mixup_off_epochs"])
    return config


@dataclass(frozen=True)
class Setup:
    """What a run is built from, resolved once before it is built: the config as the run trains it (model,
    augmentation, data path and, with a time budget, length resolved), its data, model and length, what the
    budget bought, and the checkpoint it continues from (None for a fresh run)."""

    config: TrainConfig
    requested: dict  # the fields the run resolved, as it was first asked for them
    data: RunData
    data_record: dict  # the data set's absolute source and fingerprint
    model: nn.Module
    amp: torch.dtype | None  # the autocast dtype (None: float32)
    length: RunLength
    budget: dict | None  # vicinal.train.budget.record of the run's time budget
    state: dict | None


def set_up(config: TrainConfig, device: torch.device, ctx: dist_.DistContext, run_dir: Path, *,
           resume: bool) -> Setup:
    """Resolve ``config`` for its data set, the checkpoint in ``run_dir`` (with ``resume``) and its time budget, and
    build the run's data and model; every check that can refuse the run comes before anything is trained."""
    dataset = load_for(config)
    resolved = resolve_for_data(config, dataset)  # model and augmentation, checked before anything is built
    state = start_state(run_dir, resolved, resume=resume, world_size=ctx.world_size)
    earlier = read_provenance(run_dir) if state else {}
    record = data_record(dataset)
    resolved = _continued(resolved, dataset, state, record, earlier)
    amp = autocast_dtype(resolved.precision, device=device, kind=dataset.kind, model=resolved.model)
    data = prepare_data(resolved, dataset, device=device, ctx=ctx,
                        channels_last=use_channels_last(amp, device=device, kind=dataset.kind, model=resolved.model),
                        corruption_state=state["generators"]["corruption"] if state else None)
    model = build_run_model(resolved, data, device)
    manifold_layers(resolved, model)  # refuses a model without mixup_layers before anything runs
    length, budget = RunLength.of(resolved, steps_per_epoch=len(data.train)), earlier.get("budget")
    if resolved.time_budget is not None:
        plan = plan_budget(resolved, data, model, length, device=device, ctx=ctx, amp=amp)
        resolved, length, budget = plan.applied_to(resolved), plan.length, plan.record
        _say_mixing_kept(budget, resolved, ctx)
    requested = earlier["requested"] if "requested" in earlier else _requested(config, resolved)
    return Setup(resolved, requested, data, record, model, amp, length, budget, state)


def _say_mixing_kept(budget: dict, config: TrainConfig, ctx: dist_.DistContext) -> None:
    """One line on stderr when the budget's cut kept a mixing run's last mixing epoch (see budget.fit_length)."""
    if mixing_kept(budget) and config.alpha > 0 and ctx.is_main and not config.quiet:
        print(f"vicinal: time_budget={budget['seconds']:g}: {budget['epochs']} of {budget['ceiling_epochs']} epochs "
              f"fit; the last {budget['mixup_off_epochs']} without mixing, so that one epoch still mixes",
              file=sys.stderr)


def _compiled(net: nn.Module, config: TrainConfig, device: torch.device, ctx: dist_.DistContext
              ) -> tuple[nn.Module, bool]:
    """``net`` compiled when ``config.compile`` asks and torch.compile can (else one line and ``net`` as it is)."""
    net, not_compiled = maybe_compile(net, enabled=config.compile, device=device)
    if not_compiled and ctx.is_main:
        print(f"vicinal: compile=True: {not_compiled}; training uncompiled", file=sys.stderr)
    return net, config.compile and not not_compiled


class TrainingRun:
    """One run's parts (data, model, optimizer, schedule, mixing object, generators, progress) and its loop."""

    def __init__(self, setup: Setup, device: torch.device, ctx: dist_.DistContext, run_dir: Path, *,
                 callbacks: Sequence[Callback] = ()) -> None:
        self.device, self.ctx, self.run_dir, self.callbacks = device, ctx, run_dir, Callbacks(callbacks)
        self.config, self.requested, self.budget = setup.config, setup.requested, setup.budget
        self.data, self.data_record, self.model, self.amp = setup.data, setup.data_record, setup.model, setup.amp
        self.length = setup.length
        self.optimizer = build_optimizer(self.model.parameters(), self.config)
        self.scheduler = build_scheduler(self.optimizer, self.config, self.length)
        self.mixer = build_mixer(self.config, num_classes=self.data.mixer_classes,  # the same on every rank
                                 generator=make_generator(self.config.seed, "mixing", device=device))
        self.noise_gen = make_generator(self.config.seed, "noise", device=device, rank=ctx.rank)  # differs by rank
        self.progress = Progress(regression=self.data.regression)
        if setup.state:
            self.load_state_dict(setup.state)
        self.resumed = self.checkpointed = setup.state is not None  # checkpointed: a checkpoint of this run exists
        net, prefix = _distributed(self.model, ctx, device)
        self.manifold_layers = manifold_layers(self.config, self.model, prefix)
        self.net, self.compiled = _compiled(net, self.config, device, ctx)
        self.last_eval: dict | None = None

    def state_dict(self) -> dict:
        """Everything this run needs to continue exactly: weights, optimizer, schedule, progress, generators, and
        each process's loader, noise and global RNG states (gathered from every rank: every rank must call this),
        with the record of the data it trains on."""
        rank_state = _rank_state(self.data.train, self.noise_gen, self.device)
        return dict(config=self.config.to_dict(), model=self.model.state_dict(),
                    optimizer=self.optimizer.state_dict(), scheduler=self.scheduler.state_dict(),
                    world_size=self.ctx.world_size, rank_states=dist_.gather_objects(rank_state, self.ctx),
                    generators=dict(mixing=self.mixer.generator.get_state(), corruption=self.data.corruption_state),
                    data=dict(self.data_record), **self.progress.state_dict())

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state_dict()``'s ``state`` (this process's own rank state), first checked against this
        run's own state_dict (see checkpoint.check_state): a checkpoint that does not fit raises ValueError."""
        path = self.run_dir / CHECKPOINT_NAME
        check_state(state, self.state_dict(), optimizer=self.optimizer, length=self.length, path=path,
                    regression=self.data.regression)
        with loading(path):
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            _load_rank_state(state["rank_states"][self.ctx.rank], self.data.train, self.noise_gen, self.device)
            self.mixer.generator.set_state(state["generators"]["mixing"])
        self.progress.load_state_dict(state)

    def fit(self) -> Result:
        """Train the remaining epochs, evaluate, write the run folder's results and report."""
        self._start()
        with StopSignals() as stop, _progress_bar(self.config, self.length, self.progress, self.ctx) as bar:
            while self.progress.epoch < self.length.epochs:
                stop_requested = self._train_epoch(stop, bar)
                self._end_epoch()
                if stop_requested:
                    raise TrainingInterrupted(stop.signum, str(self.run_dir))
        return self._finish()

    def _train_epoch(self, stop: StopSignals, bar: tqdm) -> bool:
        """Train the rest of the current epoch; whether a stop was requested at its last step."""
        c, p = self.config, self.progress
        self.mixer.enabled = c.alpha > 0 and self.length.mixes_in(p.epoch)
        self.net.train()
        meter, stopping = EpochMeter(self.device), False
        for x, y in self.data.train:
            out = vicinal_step(self.net, _with_noise(x, c.input_noise, self.noise_gen), y, mixer=self.mixer,
                               autocast_dtype=self.amp, manifold_layers=self.manifold_layers,
                               regmixup_eta=c.regmixup_eta)
            nonfinite, stopping = dist_.any_rank_each(  # every process acts alike at the same step
                [not bool(torch.isfinite(out.loss)), stop.received is not None], self.ctx, self.device)
            self.optimizer.zero_grad(set_to_none=True)
            if nonfinite:
                p.skip_nonfinite(out.loss, limit=c.max_nonfinite_skips,
                                 kept=self.run_dir / CHECKPOINT_NAME if self.checkpointed else None)
            else:
                out.loss.backward()
                self.optimizer.step()
                meter.add(out.loss, out.errors, len(y))
            p.advance()
            if self.callbacks:
                self.callbacks.on_step(StepEvent(step=p.step, epoch=p.epoch, loss=out.loss.detach(), lam=out.batch.lam,
                                                 lr=self.optimizer.param_groups[0]["lr"], index=out.batch.index))
            self.scheduler.step()
            bar.update(1)
            self._between_steps(meter, stopping, stop)
        meter.flush(self.progress, self.ctx)
        return stopping

    def _between_steps(self, meter: EpochMeter, stopping: bool, stop: StopSignals) -> None:
        """Inside an epoch: the periodic checkpoint, or on a stop request a checkpoint and TrainingInterrupted.
        Writing a checkpoint is not counted as training time."""
        p, every = self.progress, self.config.checkpoint_every
        if p.epoch_step == self.length.steps_per_epoch or not (stopping or (every > 0 and p.step % every == 0)):
            return
        meter.flush(p, self.ctx)
        self._save()
        meter.restart_clock()
        if stopping:
            raise TrainingInterrupted(stop.signum, str(self.run_dir))

    def _save(self) -> None:
        state = self.state_dict()  # every rank takes part in gathering the loader states
        if self.ctx.is_main:
            save_checkpoint(state, self.run_dir / CHECKPOINT_NAME)
        self.checkpointed = True

    def _end_epoch(self) -> None:
        p = self.progress
        row = p.end_epoch(lr=self.scheduler.get_last_lr()[0])
        if self.ctx.is_main and self.length.evaluates_after(p.epoch):
            row.update(self._evaluate(last=p.epoch == self.length.epochs))
        self._save()
        if self.ctx.is_main:
            rewrite_metrics(self.run_dir, p.history)
            if not self.config.quiet:
                tqdm.write(_epoch_line(row, self.length.epochs), file=sys.stderr)
        self.callbacks.on_epoch(row)

    def _evaluate(self, *, last: bool) -> dict:
        row, self.last_eval = evaluate_run(self.model, self.data, self.config, device=self.device,
                                           autocast_dtype=self.amp, last=last)
        return row

    def _start(self) -> None:
        c, ctx = self.config, self.ctx
        if ctx.is_main:  # writing config.json makes the run folder
            write_config(self.run_dir, c, requested=self.requested, device=str(self.device),
                         world_size=ctx.world_size,
                         autocast=str(self.amp).replace("torch.", "") if self.amp else "fp32",
                         channels_last=self.data.channels_last, compiled=self.compiled, budget=self.budget,
                         num_parameters=sum(p.numel() for p in self.model.parameters()))
        self.callbacks.on_start(RunInfo(c, self.run_dir, self.model, self.resumed, self.length.epochs,
                                        self.length.steps_per_epoch))

    def _finish(self) -> Result:
        p = self.progress
        if self.ctx.is_main and self.last_eval is None:  # resumed after the last epoch: evaluate once more
            p.history[-1].update(self._evaluate(last=True))
            rewrite_metrics(self.run_dir, p.history)
        final = {**p.final(self.config, self.length), "train_points": len(self.data.train_eval.y),
                 "test_points": len(self.data.test.y)}
        result = Result(self.run_dir, self.config, list(p.history), final, self.model, self.last_eval, self.budget)
        if self.ctx.is_main:
            from vicinal.train.report import write_run_report

            write_results(self.run_dir, final, self.model)
            write_run_report(result)
        return result


def _rank_state(loader: TensorLoader, noise_gen: torch.Generator, device: torch.device) -> dict:
    """This process's own part of a run's state: its loader's position, its noise generator and the global
    generators (dropout masks)."""
    state = dict(loader=loader.state_dict(), noise=noise_gen.get_state(), torch_rng=torch.get_rng_state())
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    return state


def _load_rank_state(state: dict, loader: TensorLoader, noise_gen: torch.Generator, device: torch.device) -> None:
    """Put back what ``_rank_state`` took."""
    loader.load_state_dict(state["loader"])
    noise_gen.set_state(state["noise"])
    torch.set_rng_state(state["torch_rng"])
    if "cuda_rng" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"], device)


def _with_noise(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """``x`` plus Gaussian noise of std ``sigma`` drawn from ``generator`` (``x`` itself when sigma is 0)."""
    return x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) if sigma > 0 else x


def _requested(requested: TrainConfig, resolved: TrainConfig) -> dict:
    """The fields the run resolved (e.g. model "auto", augmentation None), as they were asked for."""
    asked, used = requested.to_dict(), resolved.to_dict()
    return {name: value for name, value in asked.items() if value != used[name]}


def _progress_bar(config: TrainConfig, length: RunLength, progress: Progress, ctx: dist_.DistContext) -> tqdm:
    return tqdm(total=length.total_steps, initial=progress.step, unit="img", unit_scale=config.batch_size,
                dynamic_ncols=True, leave=False, disable=True if config.quiet or not ctx.is_main else None,
                desc=f"α={config.alpha:g} seed {config.seed}")


def _epoch_line(row: dict, epochs: int) -> str:
    if "test_rmse" in row:  # regression
        fit = "" if row.get("train_rmse") is None else f"  train RMSE {row['train_rmse']:.4g}"
        test = "" if row["test_rmse"] is None else f"  test RMSE {row['test_rmse']:.4g}  MSE {row['test_mse']:.4g}"
        return (f"epoch {row['epoch']}/{epochs}  train loss {row['train_loss']:.4f}{fit}{test}  "
                f"[{row['seconds']:.1f} s]")
    test = "" if row["test_error"] is None else (
        f"  test error {100 * row['test_error']:.2f}%  NLL {row['test_nll']:.3f}  ECE {row['ece']:.3f}")
    return (f"epoch {row['epoch']}/{epochs}  train loss {row['train_loss']:.4f}  "
            f"train error {100 * row['train_error']:.2f}%{test}  [{row['seconds']:.1f} s]")
