"""Training runs for the experiments: planned as configs, trained by one function (train_runs), summarized as plain
data for results.json (arXiv 1710.09412)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from vicinal.train import Callback, RunInfo, TrainConfig, config_from_preset, train_all
from vicinal.train.checkpoint import has_checkpoint
from vicinal.train.digest import content_digest as sha256

from .framework import Context

# Fields left out of the digest that names a setting's folder: the seed (each seed is a sub-folder) and those that
# do not change what a run computes.
_NOT_IN_DIGEST = frozenset({"seed", "out", "quiet", "device", "data_dir", "checkpoint_every", "max_nonfinite_skips",
                             "tensorboard"})
# Fields added to TrainConfig after runs were stored, left out of the digest at the value that computes what those
# runs did, so their folders keep their names.
_DIGEST_SINCE = {"min_steps": 0, "regmixup_eta": 1.0, "task": "auto", "bandwidth": 1.0}
# The metrics results.json keeps of each evaluated epoch of a run (every epoch is in the run folder's metrics.jsonl).
HISTORY_KEYS = ("epoch", "seconds", "train_loss", "train_error", "test_error", "test_nll", "ece", "lr",
                "corrupted_fit", "clean_train_error")


@dataclass(frozen=True)
class Variant:
    """One setting of an experiment: a short key, a label for tables, and its trainer overrides."""

    key: str  # e.g. "mixup_a1"
    label: str  # e.g. "mixup α=1"
    overrides: dict[str, Any]  # TrainConfig fields on top of the experiment's base


@dataclass(frozen=True)
class NotRun:
    """A setting the trainer refused to configure (its ValueError), in place of its runs."""

    reason: str

    def __str__(self) -> str:
        return f"not run: {self.reason}"


@dataclass(frozen=True)
class PlannedRun:
    """One run to train: the setting's key, the seed and the resolved config (its folder in ``config.out``)."""

    key: str
    seed: int
    config: TrainConfig


@dataclass
class RunRecord:
    """One finished training run, as the experiments use it."""

    key: str  # the setting's key
    seed: int
    config: TrainConfig
    final: dict[str, Any]  # Result.final: test_error, best_test_error, ece, train_seconds, ...
    history: list[dict[str, Any]]  # per-epoch metrics
    model: nn.Module | None = field(default=None, repr=False)  # the trained model (eval mode not set)
    last_eval: dict[str, Any] | None = field(default=None, repr=False)  # test probs and labels of the last evaluation

    def summary(self, **extra: Any) -> dict[str, Any]:
        """What results.json keeps of the run (its final numbers, and the metrics of its evaluated epochs), with
        ``extra`` numbers measured on it."""
        history = [{k: row[k] for k in HISTORY_KEYS if k in row} for row in self.history
                   if row.get("test_error") is not None]
        return {"seed": self.seed, "run": str(self.config.out), "config": self.config.to_dict(), "final": self.final,
                "history": history, **extra}


def digest(config: TrainConfig) -> str:
    """A short hash of the setting ``config`` trains (what it computes, but for its seed): the runs of one setting
    share it, and a run is its setting's digest and its seed."""
    return sha256({k: v for k, v in sorted(config.to_dict().items())
                   if k not in _NOT_IN_DIGEST and _DIGEST_SINCE.get(k, object()) != v})[:10]


def plan(ctx: Context, key: str, seed: int, overrides: Mapping[str, Any]) -> PlannedRun:
    """The run of setting ``key`` with ``seed``: the trainer preset of the context plus ``overrides``, in the folder
    ``<ctx.runs>/<key>-<digest>/seed<seed>`` (so any experiment planning the same run finds it there).
    ValueError when the trainer refuses the config."""
    # min_steps 0 unless asked: an experiment pins its runs' lengths in epochs
    config = config_from_preset(ctx.preset, **{"min_steps": 0, **overrides, "seed": seed, "quiet": True,
                                               "device": ctx.device or "auto", "data_dir": ctx.data_dir,
                                               "tensorboard": ctx.tensorboard})
    return PlannedRun(key, seed, config.replace(out=str(ctx.runs / f"{key}-{digest(config)}" / f"seed{seed}")))


def plan_variants(ctx: Context, base: Mapping[str, Any], variants: Sequence[Variant]
                  ) -> tuple[list[PlannedRun], dict[str, NotRun]]:
    """Every variant over the context's seeds (seed by seed); a variant the trainer refuses (ValueError on its
    config, e.g. an option this trainer lacks) is returned as NotRun instead."""
    planned, refused = [], {}
    for seed in ctx.seeds:
        for v in variants:
            if v.key in refused:
                continue
            try:
                planned.append(plan(ctx, v.key, seed, {**base, **v.overrides}))
            except ValueError as refusal:
                ctx.progress(f"{v.key}: not run ({refusal})")
                refused[v.key] = NotRun(str(refusal))
    return planned, refused


class _Announce(Callback):
    """A progress line at the start of each run."""

    def __init__(self, ctx: Context, names: Mapping[str, str]) -> None:
        self.ctx, self.names = ctx, names

    def on_start(self, run: RunInfo) -> None:
        c = run.config
        what = "resumed (a finished run is only evaluated again)" if run.resumed else f"training {c.epochs} epochs"
        name = self.names.get(str(Path(run.run_dir).resolve()), run.run_dir)
        self.ctx.progress(f"{name}: {what} ({c.dataset}, {c.model})")


def train_runs(ctx: Context, planned: Sequence[PlannedRun], *, keep_model: bool = False) -> list[RunRecord]:
    """Train every planned run through vicinal.train's train_all, on the context's backend (in this process in
    order, or each run a Ray task), and return its record. A run folder that holds a checkpoint of the same run is
    resumed (a finished run is only evaluated again), so experiments sharing runs train them once; a folder left
    without a checkpoint is started afresh."""
    for p in planned:
        folder = Path(p.config.out)
        if folder.exists() and not has_checkpoint(folder):
            shutil.rmtree(folder)
    names = {str(Path(p.config.out).resolve()): f"{p.key} seed {p.seed}" for p in planned}
    results = train_all([p.config for p in planned], callbacks=[_Announce(ctx, names)], backend=ctx.backend,
                        address=ctx.address)
    return [RunRecord(p.key, p.seed, p.config, dict(r.final), list(r.history),
                      model=r.model if keep_model else None, last_eval=r.last_eval if keep_model else None)
            for p, r in zip(planned, results)]


def by_key(records: Sequence[RunRecord]) -> dict[str, dict[int, RunRecord]]:
    """Records grouped by setting key, then seed."""
    out: dict[str, dict[int, RunRecord]] = {}
    for r in records:
        out.setdefault(r.key, {})[r.seed] = r
    return out


def summaries(runs: Mapping[int, RunRecord] | NotRun | None, **extra: Mapping[int, Any]) -> list[dict] | str:
    """What results.json keeps of a setting: each run's summary (with ``extra`` per-seed values, by name), or the
    refusal as a sentence."""
    if isinstance(runs, NotRun):
        return str(runs)
    return [r.summary(**{name: values.get(seed) for name, values in extra.items()})
            for seed, r in sorted((runs or {}).items())]


# Reading results.json back: a setting's entry is a list of run summaries or a "not run: ..." sentence.

def was_run(entry: Any) -> bool:
    """Whether a setting's results.json entry holds runs."""
    return isinstance(entry, list) and bool(entry)


def per_seed(entry: Any, metric: str, *, where: str = "final") -> dict[int, float]:
    """seed → ``metric`` of each run of a setting's entry (from its ``final`` numbers, or from the run's own
    fields with ``where=""``); missing values left out."""
    if not was_run(entry):
        return {}
    out = {}
    for run in entry:
        value = run.get(where, {}).get(metric) if where else run.get(metric)
        if value is not None:
            out[int(run["seed"])] = float(value)
    return out


def histories(entry: Any) -> list[list[dict]]:
    """The evaluated epochs of each run of a setting's entry, for curves."""
    return [run["history"] for run in entry] if was_run(entry) else []
