"""compare(): ERM and mixup (or any list of α, or of mixing methods) trained on the same budget over several seeds,
one report (arXiv 1710.09412)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import torch

from vicinal._io import write_json
from vicinal.data import Dataset
from vicinal.train.backends import Backend, train_all
from vicinal.train.budget import check_same_budget
from vicinal.train.callbacks import Callback
from vicinal.train.config import Method, TrainConfig, resolve_seeds
from vicinal.train.distributed import process_rank
from vicinal.train.hardware import threads
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


@dataclass(frozen=True)
class Arm:
    """One row of a comparison: a mixing method at an α (α = 0 is ERM, whatever the method)."""

    method: Method
    alpha: float

    @classmethod
    def parse(cls, spec: str, *, default_alpha: float) -> "Arm":
        """``"erm"``, or ``"METHOD"`` at ``default_alpha``, or ``"METHOD:ALPHA"`` (e.g. "regmixup:20")."""
        name, _, alpha = spec.partition(":") if isinstance(spec, str) else ("", "", "")
        if name == "erm" and not alpha:
            return cls("mixup", 0.0)
        expected = f"'erm' or METHOD[:ALPHA] with METHOD one of {list(get_args(Method))}"
        if name not in get_args(Method):
            raise ValueError(f"methods entry {spec!r} is invalid: expected {expected}")
        try:
            return cls(name, float(alpha) if alpha else float(default_alpha))
        except ValueError:
            raise ValueError(f"methods entry {spec!r} is invalid: expected {expected}, ALPHA a number") from None

    def folder(self, seed: int) -> str:
        """The sub-run's folder name: alpha<α>-seed<s> for mixup and ERM, <method>-alpha<α>-seed<s> otherwise."""
        prefix = "" if self.method == "mixup" or self.alpha == 0 else f"{self.method}-"
        return f"{prefix}alpha{self.alpha:g}-seed{seed}"


def comparison_arms(config: TrainConfig, *, alphas: Sequence[float] | None = None,
                    methods: Sequence[str] | None = None) -> tuple[Arm, ...]:
    """The arms a comparison trains: ``methods`` (see Arm.parse), else ``config.method`` at each of ``alphas``, else
    ERM and ``config.method`` at ``config.alpha``; each checked against ``config`` (ValueError naming the bad one)."""
    if alphas is not None and methods is not None:
        raise ValueError(f"alphas={tuple(alphas)} and methods={tuple(methods)} are invalid together: expected one "
                         f"of them (methods entries take their own α: METHOD:ALPHA)")
    if methods is not None:
        arms = tuple(Arm.parse(spec, default_alpha=config.alpha) for spec in methods)
        arms = tuple(Arm("mixup", 0.0) if arm.alpha == 0 else arm for arm in arms)  # every ERM the same run
    else:
        arms = tuple(Arm(config.method, float(a)) for a in (alphas if alphas is not None else (0.0, config.alpha)))
    if not arms:
        raise ValueError("alphas=() is invalid: expected at least one α" if methods is None else
                         "methods=() is invalid: expected at least one method")
    if len(set(arms)) != len(arms):
        given = tuple(methods) if methods is not None else tuple(alphas or ())
        raise ValueError(f"{'methods' if methods is not None else 'alphas'}={given} is invalid: expected distinct "
                         f"runs (every α = 0 is ERM)")
    for arm in arms:
        config.replace(method=arm.method, alpha=arm.alpha)  # validates every arm before anything runs
    return arms


def compare_configs(config: TrainConfig, root: Path, *, arms: Sequence[Arm],
                    seeds: Sequence[int]) -> list[TrainConfig]:
    """One config per (arm, seed), seed by seed (every arm of a seed, then the next), each in root/Arm.folder."""
    return [config.replace(method=arm.method, alpha=arm.alpha, seed=seed, out=str(root / arm.folder(seed)))
            for seed in seeds for arm in arms]


def _probe_order(config: TrainConfig) -> tuple:
    """Sorts configs by their cost per step: RegMixup's double batch, then Manifold Mixup's hooks, then α."""
    mixing = config.alpha > 0
    return mixing and config.method == "regmixup", mixing and config.method == "manifold_mixup", config.alpha


def fit_budget(configs: Sequence[TrainConfig], root: Path, *, seconds: float) -> tuple[list[TrainConfig], dict]:
    """``configs`` cut to the length that fits ``seconds`` split evenly over them, and what it bought.

    One probe, of the costliest config (RegMixup's double batch, else the largest α), sets the length of every
    run, so each arm trains the same epochs. The record is kept in root/budget.json; a comparison continued in
    ``root`` keeps its length.
    """
    path = root / BUDGET_NAME
    if path.is_file():
        budget = json.loads(path.read_text())
        check_same_budget(budget, configs[0], seconds="comparison_seconds", where=f"compare {str(root)!r}")
    else:
        probed = max(configs, key=_probe_order).replace(time_budget=seconds / len(configs))
        budget = {**resolve(probed)[1], "comparison_seconds": seconds, "runs": len(configs)}
        if process_rank() == 0:
            write_json(path, budget)
    return [c.replace(time_budget=None, epochs=budget["epochs"], mixup_off_epochs=budget["mixup_off_epochs"],
                      min_steps=0)  # the budget's length includes min_steps' (and may cut it)
            for c in configs], budget


def run_datasets(runs: Sequence[Result]) -> dict[int, Dataset]:
    """The data set of each seed of ``runs`` (the seed splits a user's csv file; the runs of a seed share the data)."""
    from vicinal.train.data import load_for

    datasets = {}
    for r in runs:
        if r.config.seed not in datasets:
            datasets[r.config.seed] = load_for(r.config)
    return datasets


def measure_between(runs: Sequence[Result], root: Path, *, datasets: dict[int, Dataset],
                    pairs: int = BETWEEN_PAIRS) -> dict:
    """What the trained networks do between training examples: each run's in-between curves on ``pairs`` pairs of its
    own training points (``vicinal.train.between.run_between``; the runs of one seed share the pairs), and the
    two-moons picture drawn into root/toy.png; both timed. Plain values, as between.json keeps them."""
    from vicinal.train.between import run_between
    from vicinal.train.report import run_label
    from vicinal.train.toy import ToySettings, draw_toy, roughness, train_toy

    start, curves = time.perf_counter(), []
    for r in runs:
        c = r.config
        table = run_between(c, r.model, splits=("train",), pairs=pairs, dataset=datasets[c.seed])["train"]
        curves.append({"alpha": c.alpha, "method": c.method, "label": run_label(c), "seed": c.seed,
                       "train": table.to_dict()})
    curves_seconds = time.perf_counter() - start
    settings = ToySettings()
    toy = train_toy(settings)
    draw_toy(toy, path=root / TOY_NAME)
    return {"pairs": pairs, "runs": curves, "curves_seconds": curves_seconds, "toy_seconds": toy.seconds,
            "toy_roughness": roughness(toy), "toy": TOY_NAME, "toy_points": settings.points, "toy_flip": settings.flip}


def measure_confidence_off_data(runs: Sequence[Result], *, datasets: dict[int, Dataset]) -> None:
    """Add to each image classifier's ``final`` its mean confidence on uniform noise and on scikit-learn's digits
    (``noise_confidence``, ``digits_confidence``: vicinal.eval.ood; the same images for every run). Runs on data
    of other kinds, and on the digits themselves, are left as they are."""
    from vicinal.core.generators import make_generator
    from vicinal.eval import in_pixel_space
    from vicinal.eval.ood import mean_confidence, ood_images

    for r in runs:
        dataset = datasets[r.config.seed]
        if dataset.kind != "image" or dataset.task != "classification" or dataset.x_train.dtype != torch.uint8 \
                or dataset.name == "digits":
            continue
        images = ood_images(dataset.input_shape, generator=make_generator(0, "ood"))
        model = in_pixel_space(r.model, dataset.mean, dataset.std)
        device = next(r.model.parameters()).device
        r.final.update({f"{kind}_confidence": mean_confidence(model, x, device=device) for kind, x in images.items()})


def compare(config: TrainConfig, *, alphas: Sequence[float] | None = None, methods: Sequence[str] | None = None,
            seeds: int | Sequence[int] = 1, out: str | os.PathLike | None = None, callbacks: Sequence[Callback] = (),
            backend: Backend = "local", address: str | None = None, note: str | None = None,
            command: str | None = None) -> CompareResult:
    """Train ``config`` once per (arm, seed) and write a compare folder.

    The arms: ``methods``, each "erm", "METHOD" (at config.alpha) or "METHOD:ALPHA" (e.g. ``("erm", "mixup:1",
    "regmixup:20", "fmix")``), or else ``config.method`` at each of ``alphas`` (default: 0 = ERM and config.alpha).

    ``seeds``: a count n (config.seed, config.seed + 1, ...) or a list of seeds; every run gets the same data,
    model and budget. ``config.time_budget`` is the whole comparison's: one probe fits every run's epochs in
    its share (``fit_budget``). The folder holds one sub-run per (arm, seed) (``Arm.folder``), results.json
    (a list of every run's ``final``) and report.md (mean ± std over seeds per arm, the paired differences from
    ERM, the in-between curves of ``measure_between`` with the two-moons picture, learning curves, reliability
    diagrams; ``note`` opens it; ``command``, the command line that made it, is given in it to run again).
    ``callbacks`` observe every run. ``backend``
    and ``address`` say where the runs go (see train_all: "ray" runs them as Ray tasks, side by side as the CPUs
    and GPUs allow); the report is written once all are in.

    Nothing is lost on a crash: the runs go seed by seed (every arm of a seed, then the next seed), and a
    sub-run folder that already holds a checkpoint is resumed (a finished one only evaluated again), so
    the same call continues an interrupted comparison, or reports fewer seeds of it. The folder is claimed as a
    run's is (``rundir.claimed``): a new, empty or vicinal compare folder, locked while the comparison runs.
    """
    arms = comparison_arms(config, alphas=alphas, methods=methods)
    seeds = resolve_seeds(seeds, start=config.seed)
    root = Path(out or config.out or default_run_dir(config, prefix="compare-"))
    main = process_rank() == 0  # under torchrun only rank 0 holds the folder and writes
    with claimed(root, kind="compare") if main else contextlib.nullcontext():
        configs, budget = compare_configs(config, root, arms=arms, seeds=seeds), None
        if config.time_budget is not None:
            configs, budget = fit_budget(configs, root, seconds=config.time_budget)
        runs = train_all(configs, callbacks=callbacks, backend=backend, address=address)
        results = [r.final for r in runs]
        if main:
            from vicinal.train.report import write_compare_report

            datasets, between = run_datasets(runs), None
            measure_confidence_off_data(runs, datasets=datasets)
            write_json(root / RESULTS_NAME, results)
            if all(d.task == "classification" for d in datasets.values()):  # the in-between curves are of classes
                between = measure_between(runs, root, datasets=datasets)
                write_json(root / BETWEEN_NAME, between)
            with threads(config.threads):  # the report names the CPU with the threads the runs had
                write_compare_report(root, runs, budget=budget, note=note, between=between, command=command)
    return CompareResult(root, root / REPORT_NAME, results, runs, budget)
