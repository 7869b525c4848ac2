"""Training runs for the experiments, through vicinal.train: one per (setting, seed), each in its own folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .framework import Context

@dataclass
class RunRecord:
    """One finished training run, as the experiments use it."""

    key: str  # the setting's short name (folder name)
    seed: int
    config: dict[str, Any]  # the resolved TrainConfig
    final: dict[str, Any]  # Result.final: test_error, best_test_error, ece, train_seconds, ...
    history: list[dict[str, Any]]  # per-epoch metrics
    model: nn.Module | None = field(default=None, repr=False)  # kept only when asked (attacks)
    last_eval: dict[str, Any] | None = field(default=None, repr=False)  # probs and labels of the last evaluation

    def summary(self) -> dict[str, Any]:
        """What results.json keeps of the run."""
        return {"key": self.key, "seed": self.seed, "config": self.config, "final": self.final, "history": self.history}


def train_one(ctx: Context, key: str, seed: int, overrides: dict[str, Any], *, keep_model: bool = False) -> RunRecord:
    """Train one run of setting `key` with `seed` from the trainer preset of the context plus `overrides`."""
    from vicinal.train import config_from_preset, train

    run_dir = ctx.run_dir(key, f"seed{seed}")
    shutil.rmtree(run_dir)  # this experiment's own earlier run of the same setting: start afresh
    config = config_from_preset(ctx.preset, **{
        **overrides, "seed": seed, "out": str(run_dir), "quiet": True,
        "device": ctx.device or "auto", "data_dir": ctx.data_dir})
    ctx.progress(f"{key} seed {seed}: training ({config.dataset}, {config.model}, {config.epochs} epochs)")
    result = train(config)
    final = dict(result.final)
    ctx.progress(f"{key} seed {seed}: test error {100 * final['test_error']:.2f}%")
    return RunRecord(key=key, seed=seed, config=config.to_dict(), final=final, history=list(result.history),
                     model=result.model if keep_model else None,
                     last_eval=result.last_eval if keep_model else None)


def train_seeds(ctx: Context, key: str, overrides: dict[str, Any], *, keep_model: bool = False) -> list[RunRecord]:
    """One run of setting `key` per seed of the context."""
    return [train_one(ctx, key, seed, overrides, keep_model=keep_model) for seed in ctx.seeds]


def finals(records: list[RunRecord], metric: str) -> list[float]:
    """`metric` of each run's final numbers (missing ones skipped)."""
    return [r.final[metric] for r in records if r.final.get(metric) is not None]


@dataclass(frozen=True)
class Variant:
    """One setting of an experiment: a short key, a label for tables, and its trainer overrides."""

    key: str  # folder name, e.g. "mixup_a1"
    label: str  # table label, e.g. "mixup α=1"
    overrides: dict[str, Any]  # TrainConfig fields on top of the experiment's base


@dataclass(frozen=True)
class NotRun:
    """A setting the trainer refused to configure (its ValueError), in place of its runs."""

    reason: str

    def __str__(self) -> str:
        return f"not run: {self.reason}"


def summaries(runs: list[RunRecord] | NotRun) -> list[dict[str, Any]] | str:
    """What results.json keeps of a setting: each run's summary, or the refusal as a sentence."""
    return str(runs) if isinstance(runs, NotRun) else [r.summary() for r in runs]


def run_variants(ctx: Context, base: dict[str, Any], variants: tuple[Variant, ...], *,
                 keep_model: bool = False) -> dict[str, list[RunRecord] | NotRun]:
    """Train every variant over the context's seeds; a variant the trainer refuses (ValueError on its
    config, e.g. an option this trainer lacks) maps to NotRun instead of runs."""
    from vicinal.train import config_from_preset

    out: dict[str, list[RunRecord] | NotRun] = {}
    for v in variants:
        try:
            config_from_preset(ctx.preset, **{**base, **v.overrides})
        except ValueError as refusal:
            ctx.progress(f"{v.key}: not run ({refusal})")
            out[v.key] = NotRun(str(refusal))
            continue
        out[v.key] = train_seeds(ctx, v.key, {**base, **v.overrides}, keep_model=keep_model)
    return out


def tested_history(record: RunRecord) -> list[dict[str, Any]]:
    """The epochs of a run that were evaluated (test_error present), for curves."""
    return [row for row in record.history if row.get("test_error") is not None]
