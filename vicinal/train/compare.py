"""compare(): ERM and mixup (or any list of α) trained on the same budget over several seeds, one report."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vicinal._io import write_json
from vicinal.train.backends import Backend, train_all
from vicinal.train.budget import check_same_budget
from vicinal.train.callbacks import Callback
from vicinal.train.config import TrainConfig, resolve_seeds
from vicinal.train.distributed import process_rank
from vicinal.train.rundir import REPORT_NAME, RESULTS_NAME, claimed, default_run_dir
from vicinal.train.trainer import Result, resolve

BUDGET_NAME = "budget.json"  # what a comparison's time budget bought, kept so that continuing it keeps its length
BETWEEN_NAME, TOY_NAME = "between.json", "toy.png"  # the in-between curves of every run; the two-moons picture
BETWEEN_PAIRS = 1000  # training pairs (yᵢ ≠ yⱼ) per run for the in-between curves


@dataclass
class CompareResult:
    """A finished comparison: its folder, report path, every run's final numbers and the runs themselves."""

    run_dir: Path
    report: Path
    results: list[dict]  # one ``final`` dict per (alpha, seed), in run order (seed by seed)
    runs: list[Result]
    budget: dict | None = None  # what config.time_budget bought every run (vicinal.train.budget.record), if given


def _check_alphas(alphas) -> tuple[float, ...]:
    alphas = tuple(float(a) for a in alphas)
    if not alphas:
        raise ValueError("alphas=() is invalid: expected at least one α")
    if len(set(alphas)) != len(alphas):
        raise ValueError(f"alphas={alphas} is invalid: expected distinct values")
    return alphas


def compare_configs(config: TrainConfig, root: Path, *, alphas: Sequence[float],
                    seeds: Sequence[int]) -> list[TrainConfig]:
    """One config per (α, seed), seed by seed (every α of a seed, then the next), each in root/alpha<α>-seed<s>."""
    return [config.replace(alpha=alpha, seed=seed, out=str(root / f"alpha{alpha:g}-seed{seed}"))
            for seed in seeds for alpha in alphas]


def fit_budget(configs: Sequence[TrainConfig], root: Path, *, seconds: float) -> tuple[list[TrainConfig], dict]:
    """``configs`` cut to the length that fits ``seconds`` split evenly over them, and what it bought.

    One probe, of the config with the largest α, sets the length of every run, so each α trains the same
    epochs. The record is kept in root/budget.json; a comparison continued in ``root`` keeps its length.
    """
    path = root / BUDGET_NAME
    if path.is_file():
        budget = json.loads(path.read_text())
        check_same_budget(budget, configs[0], seconds="comparison_seconds", where=f"compare {str(root)!r}")
    else:
        probed = max(configs, key=lambda c: c.alpha).replace(time_budget=seconds / len(configs))
        budget = {**resolve(probed)[1], "comparison_seconds": seconds, "runs": len(configs)}
        if process_rank() == 0:
            write_json(path, budget)
    return [c.replace(time_budget=None, epochs=budget["epochs"], mixup_off_epochs=budget["mixup_off_epochs"],
                      min_steps=0)  # the budget's length includes min_steps' (and may cut it)
            for c in configs], budget


def measure_between(runs: Sequence[Result], root: Path, *, pairs: int = BETWEEN_PAIRS) -> dict:
    """What the trained networks do between training examples: each run's in-between curves on ``pairs`` pairs of its
    own training points (``vicinal.train.between.run_between``; the runs of one seed share the pairs), and the
    two-moons picture drawn into root/toy.png; both timed. Plain values, as between.json keeps them."""
    from vicinal.data import load_dataset
    from vicinal.train.between import run_between
    from vicinal.train.toy import ToySettings, draw_toy, roughness, train_toy

    start, datasets, curves = time.perf_counter(), {}, []
    for r in runs:
        c = r.config
        if c.seed not in datasets:  # the seed splits a user's csv file; the runs of a seed share the data
            datasets[c.seed] = load_dataset(c.dataset, data_dir=c.data_dir, seed=c.seed)
        table = run_between(c, r.model, splits=("train",), pairs=pairs, dataset=datasets[c.seed])["train"]
        curves.append({"alpha": c.alpha, "method": c.method, "seed": c.seed, "train": table.to_dict()})
    curves_seconds = time.perf_counter() - start
    settings = ToySettings()
    toy = train_toy(settings)
    draw_toy(toy, path=root / TOY_NAME)
    return {"pairs": pairs, "runs": curves, "curves_seconds": curves_seconds, "toy_seconds": toy.seconds,
            "toy_roughness": roughness(toy), "toy": TOY_NAME, "toy_points": settings.points, "toy_flip": settings.flip}


def compare(config: TrainConfig, *, alphas: Sequence[float] | None = None, seeds: int | Sequence[int] = 1,
            out: str | os.PathLike | None = None, callbacks: Sequence[Callback] = (), backend: Backend = "local",
            address: str | None = None, note: str | None = None) -> CompareResult:
    """Train ``config`` once per (α, seed) (default α: 0 = ERM and config.alpha) and write a compare folder.

    ``seeds``: a count n (config.seed, config.seed + 1, ...) or a list of seeds; every run gets the same data,
    model and budget. ``config.time_budget`` is the whole comparison's: one probe fits every run's epochs in
    its share (``fit_budget``). The folder holds one sub-run per (α, seed) (``alpha<α>-seed<s>``), results.json
    (a list of every run's ``final``) and report.md (mean ± std over seeds per α, the paired differences from
    ERM, the in-between curves of ``measure_between`` with the two-moons picture, learning curves, reliability
    diagrams; ``note`` opens it). ``callbacks`` observe every run. ``backend``
    and ``address`` say where the runs go (see train_all: "ray" runs them as Ray tasks, side by side as the CPUs
    and GPUs allow); the report is written once all are in.

    Nothing is lost on a crash: the runs go seed by seed (every α of a seed, then the next seed), and a
    sub-run folder that already holds a checkpoint is resumed (a finished one only evaluated again), so
    the same call continues an interrupted comparison, or reports fewer seeds of it. The folder is claimed as a
    run's is (``rundir.claimed``): a new, empty or vicinal compare folder, locked while the comparison runs.
    """
    alphas = _check_alphas(alphas if alphas is not None else (0.0, config.alpha))
    seeds = resolve_seeds(seeds, start=config.seed)
    for a in alphas:
        config.replace(alpha=a)  # validates every α before anything runs
    root = Path(out or config.out or default_run_dir(config, prefix="compare-"))
    main = process_rank() == 0  # under torchrun only rank 0 holds the folder and writes
    with claimed(root, kind="compare") if main else contextlib.nullcontext():
        configs, budget = compare_configs(config, root, alphas=alphas, seeds=seeds), None
        if config.time_budget is not None:
            configs, budget = fit_budget(configs, root, seconds=config.time_budget)
        runs = train_all(configs, callbacks=callbacks, backend=backend, address=address)
        results = [r.final for r in runs]
        if main:
            from vicinal.train.report import write_compare_report

            write_json(root / RESULTS_NAME, results)
            between = measure_between(runs, root)
            write_json(root / BETWEEN_NAME, between)
            write_compare_report(root, runs, budget=budget, note=note, between=between)
    return CompareResult(root, root / REPORT_NAME, results, runs, budget)
