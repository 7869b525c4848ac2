"""The time budget: a short probe of a run's own training step and evaluation sets how many epochs fit in it.

What the estimate covers: the training steps (with their batches' loading and augmentation) and the evaluations
(the test set with its test-time views at every evaluation epoch, the training set after the last epoch and, with
corrupted labels, at every evaluation; the FGSM attack after the last epoch). What it leaves out: loading the
data, building the model, the probe itself, checkpoints and reports (a few seconds a run on a CPU). The configured
epochs are a ceiling the budget may only cut, so a machine on which the recipe fits runs it whole, the same on every
CPU kind.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
from torch import nn

from vicinal.core.generators import make_generator
from vicinal.train.config import TrainConfig
from vicinal.train.data import RunData
from vicinal.train.distributed import DistContext, main_decides
from vicinal.train.evaluation import ATTACK_IMAGES, evaluate_split, fgsm_error
from vicinal.train.hardware import cpu_description, maybe_compile
from vicinal.train.schedules import RunLength, build_optimizer, min_epochs
from vicinal.train.step import build_mixer, manifold_layers, vicinal_step

WARMUP_STEPS = 2  # untimed: the first steps build kernels and caches (and compile, with compile=True)
PROBE_STEPS = 5  # timed; their median is the step time
EVAL_REPEATS = 2  # timed evaluations of one test batch, after one untimed
ATTACK_PROBE = 256  # test images attacked to time the attack, after an untimed attack of a few


@dataclass(frozen=True)
class Cost:
    """What the parts of a run take, as the probe measured them."""

    step_seconds: float  # one training step of the global batch, its batch's loading included
    eval_seconds: float  # one evaluation of the test set, with its test-time views
    fit_seconds: float  # one evaluation of the training set (its clean error)
    attack_seconds: float  # the FGSM attack after the last epoch (0 without one)
    batch_size: int  # images of a step
    eval_images_per_s: float  # examples evaluated per second (one view)

    @property
    def images_per_s(self) -> float:
        return self.batch_size / self.step_seconds


@dataclass(frozen=True)
class BudgetPlan:
    """What a time budget decided for a run: the length it trains and the record of what the budget bought."""

    length: RunLength
    record: dict  # see record(): kept in config.json and told in the reports

    def applied_to(self, config: TrainConfig) -> TrainConfig:
        """``config`` saying the length it resolved (and no budget left to resolve)."""
        return config.replace(time_budget=None, epochs=self.length.epochs,
                              mixup_off_epochs=self.length.mixup_off_epochs)


@contextmanager
def _kept(loader) -> Iterator[None]:
    """Iterate ``loader`` inside, then put it back where it was."""
    state = loader.state_dict()
    try:
        yield
    finally:
        loader.load_state_dict(state)


def _batches(loader) -> Iterator:
    while True:
        yield from loader


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _step_seconds(config: TrainConfig, data: RunData, model: nn.Module, *, device: torch.device,
                  amp: torch.dtype | None) -> list[float]:
    """The times of ``WARMUP_STEPS + PROBE_STEPS`` training steps of ``model`` (changed: pass a copy)."""
    net, _ = maybe_compile(model, enabled=config.compile, device=device)
    optimizer = build_optimizer(model.parameters(), config)
    mixer = build_mixer(config, num_classes=data.mixer_classes,
                        generator=make_generator(config.seed, "probe", device=device))
    layers = manifold_layers(config, model)
    batches, times = _batches(data.train), []
    model.train()
    for _ in range(WARMUP_STEPS + PROBE_STEPS):
        start = time.perf_counter()
        x, y = next(batches)
        out = vicinal_step(net, x, y, mixer=mixer, autocast_dtype=amp, manifold_layers=layers)
        bool(torch.isfinite(out.loss))  # the trainer's one host sync a step
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def probe_cost(config: TrainConfig, data: RunData, model: nn.Module, *, device: torch.device,
               amp: torch.dtype | None) -> Cost:
    """Time ``WARMUP_STEPS + PROBE_STEPS`` training steps of a copy of ``model`` on ``data``'s own batches, and
    evaluations of one test batch; the model's weights, the loaders and the random generators are left as they
    were."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), _kept(data.train), _kept(data.test):
        model = copy.deepcopy(model)
        times = _step_seconds(config, data, model, device=device, amp=amp)
        test_batch = [next(iter(data.test))]
        eval_times = []
        for _ in range(1 + EVAL_REPEATS):
            start = time.perf_counter()
            evaluate_split(model, test_batch, data, device=device, autocast_dtype=amp)
            eval_times.append(time.perf_counter() - start)
        attack_seconds = _attack_seconds(model, data, eps=config.fgsm_eps, device=device) \
            if config.fgsm_eps > 0 else 0.0
    per_example = min(eval_times[1:]) / len(test_batch[0][1])
    views = (2 if config.test_flip else 1) * (3 if config.test_translate else 1)
    return Cost(step_seconds=statistics.median(times[WARMUP_STEPS:]),
                eval_seconds=per_example * views * len(data.test.y),
                fit_seconds=per_example * len(data.train_eval.y), attack_seconds=attack_seconds,
                batch_size=config.batch_size, eval_images_per_s=1 / per_example)


def _attack_seconds(model: nn.Module, data: RunData, *, eps: float, device: torch.device) -> float:
    """The end-of-run attack's time, from attacking ``ATTACK_PROBE`` test images."""
    attacked = min(ATTACK_IMAGES, len(data.test.y))
    probe = min(ATTACK_PROBE, attacked)
    fgsm_error(model, data, eps=eps, device=device, images=min(16, probe))
    start = time.perf_counter()
    fgsm_error(model, data, eps=eps, device=device, images=probe)
    return (time.perf_counter() - start) * attacked / probe


def estimate(length: RunLength, cost: Cost, *, fit_every_evaluation: bool = False) -> float:
    """Seconds a run of ``length`` takes by ``cost``: its steps, its evaluations of the test set, and of the training
    set after the last epoch (at every evaluation when ``fit_every_evaluation``: corrupted labels)."""
    fits = length.evaluations if fit_every_evaluation else 1
    return (length.total_steps * cost.step_seconds + length.evaluations * cost.eval_seconds
            + fits * cost.fit_seconds + cost.attack_seconds)


def _keep_mixing(ceiling: RunLength, cut: RunLength) -> RunLength:
    """``cut`` with at least one epoch of mixing when ``ceiling`` has one: rounding its epochs without mixing in
    proportion must not turn a mixing run into one that never mixes."""
    if ceiling.mixup_off_epochs >= ceiling.epochs or cut.mixup_off_epochs < cut.epochs:
        return cut
    return replace(cut, mixup_off_epochs=cut.epochs - 1)


def mixing_kept(budget: dict) -> bool:
    """Whether the budget's cut kept one epoch of mixing that rounding in proportion would have taken away."""
    ceiling, epochs = budget["ceiling_epochs"], budget["epochs"]
    off = budget.get("ceiling_mixup_off_epochs", 0)
    return off < ceiling and (2 * off * epochs + ceiling) // (2 * ceiling) >= epochs > budget["mixup_off_epochs"]


def fit_length(length: RunLength, cost: Cost, *, budget: float, fit_every_evaluation: bool = False,
               min_epochs: int = 1) -> RunLength:
    """The longest cut of ``length`` (its epochs the ceiling, ``min_epochs`` the floor: the schedule's shortest)
    whose ``estimate`` is within ``budget`` seconds. Its epochs without mixing are cut in proportion, but a run that
    mixes keeps at least one mixing epoch.

    Raises ValueError naming ``time_budget`` when not even ``min_epochs`` fit.
    """
    shortest = min(max(min_epochs, 1), length.epochs)
    for epochs in range(length.epochs, shortest - 1, -1):
        cut = _keep_mixing(length, length.cut_to(epochs))
        if estimate(cut, cost, fit_every_evaluation=fit_every_evaluation) <= budget:
            return cut
    least = estimate(length.cut_to(shortest), cost, fit_every_evaluation=fit_every_evaluation)
    what = "one epoch" if shortest == 1 else f"{shortest} epochs (the schedule's shortest)"
    raise ValueError(f"time_budget={budget:g} s a run is invalid here: {what} of {length.steps_per_epoch} steps at "
                     f"{cost.images_per_s:.0f} images/s measured, with the evaluations, take about {least:.1f} s; "
                     f"expected at least that, or fewer training points (train_subset) or a smaller model")


def record(ceiling: RunLength, length: RunLength, cost: Cost, *, budget: float, precision: str,
           fit_every_evaluation: bool = False) -> dict:
    """What a budget bought, for config.json and the reports: the budget, the throughput measured, the ceiling, the
    epochs and steps, and the estimate (seconds of training and evaluation, see this module's docstring)."""
    return dict(seconds=budget, images_per_s=round(cost.images_per_s, 1),
                eval_images_per_s=round(cost.eval_images_per_s, 1), step_seconds=cost.step_seconds,
                probe_steps=PROBE_STEPS, ceiling_epochs=ceiling.epochs,
                ceiling_mixup_off_epochs=ceiling.mixup_off_epochs, epochs=length.epochs,
                mixup_off_epochs=length.mixup_off_epochs, steps=length.total_steps,
                steps_per_epoch=length.steps_per_epoch,
                estimated_seconds=round(estimate(length, cost, fit_every_evaluation=fit_every_evaluation), 1),
                cpu=cpu_description(), precision=precision)


def describe_budget(budget: dict) -> str:
    """A budget record in one sentence."""
    cut = "cut from" if budget["epochs"] < budget["ceiling_epochs"] else "the full"
    off = budget["mixup_off_epochs"]
    mixing = "" if not off else f", the last {off} without mixing" + (
        f" (one mixing epoch kept: {budget['ceiling_mixup_off_epochs']} of {budget['ceiling_epochs']} without mixing, "
        f"cut in proportion, would have left none)" if mixing_kept(budget) else "")
    return (f"time budget {budget['seconds']:g} s a run: {budget['images_per_s']:.0f} training images/s measured "
            f"({budget['cpu']}) bought {budget['epochs']} epochs ({cut} {budget['ceiling_epochs']}{mixing}), "
            f"{budget['steps']} steps, estimated {budget['estimated_seconds']:.0f} s of training and evaluation")


def plan_budget(config: TrainConfig, data: RunData, model: nn.Module, length: RunLength, *, device: torch.device,
                ctx: DistContext, amp: torch.dtype | None) -> BudgetPlan:
    """The length of ``length`` that fits ``config.time_budget``, measured by a probe of ``model`` on ``data`` (rank 0
    measures, every rank gets the same plan). Nothing passed in is changed."""

    def decide() -> BudgetPlan:
        noisy = config.label_noise > 0
        cost = probe_cost(config, data, model, device=device, amp=amp)
        cut = fit_length(length, cost, budget=config.time_budget, fit_every_evaluation=noisy,
                         min_epochs=min_epochs(config, steps_per_epoch=length.steps_per_epoch))
        return BudgetPlan(cut, record(length, cut, cost, budget=config.time_budget,
                                      precision="bf16" if amp else "fp32", fit_every_evaluation=noisy))

    return main_decides(decide, ctx)  # a budget too short: every rank refuses alike


def check_same_budget(budget: dict, config: TrainConfig, *, seconds: str = "seconds", where: str) -> None:
    """Refuse to continue a run (or a comparison) fitted to the time budget ``budget`` (its record) with ``config``
    asking for another budget or ceiling: ``config.time_budget`` must be the budget's (``budget[seconds]``), its
    epochs and epochs without mixing the ceiling's or the ones the budget bought. ``where`` opens the message."""
    allowed = {"time_budget": (budget[seconds],),
               "epochs": (budget["ceiling_epochs"], budget["epochs"]),
               "mixup_off_epochs": (budget.get("ceiling_mixup_off_epochs", config.mixup_off_epochs),
                                    budget["mixup_off_epochs"])}
    for name, values in allowed.items():
        asked = getattr(config, name)
        if asked not in values:
            raise ValueError(f"{where}: {name}={asked!r} is incompatible with the {name}={values[0]!r} its time "
                             f"budget was fitted to (a budgeted run continues with the budget and ceiling it "
                             f"started with; start a new one for another)")
