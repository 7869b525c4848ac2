"""compare(): ERM and mixup (or any list of α) trained on the same budget over several seeds, one report."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vicinal.train.checkpoint import CHECKPOINT_NAME, write_json
from vicinal.train.config import TrainConfig, resolve_seeds
from vicinal.train.distributed import process_rank
from vicinal.train.rundir import REPORT_NAME, RESULTS_NAME, default_run_dir
from vicinal.train.trainer import Result, train


@dataclass
class CompareResult:
    """A finished comparison: its folder, report path, every run's final numbers and the runs themselves."""

    run_dir: Path
    report: Path
    results: list[dict]  # one ``final`` dict per (alpha, seed), in run order (seed by seed)
    runs: list[Result]


def _check_alphas(alphas) -> tuple[float, ...]:
    alphas = tuple(float(a) for a in alphas)
    if not alphas:
        raise ValueError("alphas=() is invalid: expected at least one α")
    if len(set(alphas)) != len(alphas):
        raise ValueError(f"alphas={alphas} is invalid: expected distinct values")
    return alphas


def compare(config: TrainConfig, *, alphas: tuple[float, ...] | None = None, seeds: int = 1,
            out: str | os.PathLike | None = None) -> CompareResult:
    """Train ``config`` once per (α, seed) (default α: 0 = ERM and config.alpha) and write a compare folder.

    Seeds are config.seed, config.seed + 1, ...; every run gets the same data, model and budget. The folder
    holds one sub-run per (α, seed) (``alpha<α>-seed<s>``), results.json (a list of every run's ``final``)
    and report.md (mean ± std over seeds per α, learning curves, reliability diagrams).

    Nothing is lost on a crash: the runs go seed by seed (every α of a seed, then the next seed), and a
    sub-run folder that already holds a checkpoint is resumed (a finished one only evaluated again), so
    the same call continues an interrupted comparison, or reports fewer seeds of it.
    """
    alphas = _check_alphas(alphas if alphas is not None else (0.0, config.alpha))
    seeds = resolve_seeds(seeds, start=config.seed)
    for a in alphas:
        config.replace(alpha=a)  # validates every α before anything runs
    root = Path(out or config.out or default_run_dir(config, prefix="compare-"))
    runs = []
    for seed in seeds:
        for alpha in alphas:
            sub = root / f"alpha{alpha:g}-seed{seed}"
            resume = (sub / CHECKPOINT_NAME).is_file()
            runs.append(train(config.replace(alpha=alpha, seed=seed, out=str(sub)), resume=resume))
    results = [r.final for r in runs]
    report = root / REPORT_NAME
    if process_rank() == 0:  # under torchrun only rank 0 writes
        write_json(root / RESULTS_NAME, results)
        from vicinal.train.report import write_compare_report

        write_compare_report(root, runs)
    return CompareResult(root, report, results, runs)

