"""The `between` experiment: what ERM and mixup α = 1 do between examples of different classes: misses, input-gradient
norms and p(yᵢ) along x̃ = λ·xᵢ + (1−λ)·xⱼ (Figure 2), and the two-moons picture (Figure 1(b)) (arXiv 1710.09412)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vicinal.eval.between import LAMBDAS, between_markdown, between_plot, mean_over
from vicinal.train.toy import ToySettings, draw_toy, roughness, train_toy

from .framework import Context, Findings, Stopwatch, judge
from .regime import MIXUP, REGIMES, Regime, describe, methods, train_methods
from .reporting import image
from .runs import summaries, was_run

SPLITS = {"train": "training pairs (the paper's)", "test": "test pairs (not in the paper)"}
# The three curves judged: (metric, what it is, the paper's claim, the paper's effect, scale, digits, unit)
CLAIMS = (
    ("miss_rate", "miss rate %", "mixup misses less between examples: fewer predictions that are neither yᵢ nor yⱼ",
     "Figure 2(a), CIFAR-10: fewer misses with mixup at every λ", 100.0, 2, " points"),
    ("grad_norm", "mean ‖∇ₓ̃ CE‖₂", "mixup has smaller gradient norms w.r.t. the input between examples",
     "Figure 2(b), CIFAR-10: smaller gradient norms with mixup", 1.0, 3, ""),
    ("p_distance", "mean |p(yᵢ | x̃) − λ|", "mixup behaves linearly between examples: p(yᵢ | x̃) closer to λ",
     "§1: 'simple linear behavior in-between training examples' (no number)", 1.0, 3, ""),
)


@dataclass(frozen=True)
class BetweenSettings:
    regime: Regime  # the shared small-data regime (its ERM and mixup α = 1 runs are the generalization experiment's)
    methods: tuple[str, ...] = ("erm", MIXUP)  # keys of regime.METHODS, ERM first
    lambdas: tuple[float, ...] = LAMBDAS  # weights of xᵢ in x̃ = λ·xᵢ + (1−λ)·xⱼ
    pairs: int = 2000  # pairs (yᵢ ≠ yⱼ) per seed and split, the same for every method of a seed
    batch_size: int = 500  # pairs a batch
    target: str = "mixed"  # the cross-entropy's target of the gradient norm: λ·yᵢ + (1−λ)·yⱼ ("first": yᵢ)
    judged_below: float = 1.0  # verdicts on each curve's mean over the λ below this (λ = 1 is xᵢ, not in between)
    toy: ToySettings = field(default_factory=ToySettings)  # the two-moons picture


SETTINGS = {
    "smoke": BetweenSettings(regime=REGIMES["smoke"], pairs=200, toy=ToySettings(steps=300, resolution=40)),
    "quick": BetweenSettings(regime=REGIMES["quick"]),
    "paper": BetweenSettings(regime=REGIMES["paper"]),
}
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1, 2, 3, 4), "paper": (0, 1, 2, 3, 4)}


def measure(ctx: Context, settings: BetweenSettings) -> dict[str, Any]:
    from vicinal.data import load_dataset
    from vicinal.train.between import run_between

    variants = methods(settings.methods)
    runs, refused = train_methods(ctx, settings.regime, variants, keep_model=True)
    tables: dict[str, dict[int, dict]] = {v.key: {} for v in variants}
    watch = Stopwatch()
    for seed in ctx.seeds:
        dataset = load_dataset(settings.regime.base["dataset"], data_dir=ctx.data_dir, seed=seed)
        for v in variants:
            record = runs.get(v.key, {}).get(seed)
            if record is None:
                continue
            ctx.progress(f"{v.key} seed {seed}: {settings.pairs:,} training and test pairs at λ = "
                         f"{', '.join(f'{lam:g}' for lam in settings.lambdas)}")
            measured = run_between(record.config, record.model, lambdas=settings.lambdas, pairs=settings.pairs,
                                   batch_size=settings.batch_size, target=settings.target, dataset=dataset)
            tables[v.key][seed] = {split: table.to_dict() for split, table in measured.items()}
    between_seconds = watch.seconds
    ctx.progress("the two-moons picture: an MLP trained with ERM and with mixup")
    toy = train_toy(settings.toy)
    return {"methods": [{"key": v.key, "label": v.label} for v in variants], "between_seconds": between_seconds,
            "runs": {v.key: summaries(refused.get(v.key) or runs.get(v.key), between=tables[v.key])
                     for v in variants},
            "toy": toy.to_dict()}


def _tables(entry: Any, split: str) -> dict[int, dict]:
    """seed → the in-between table of a setting's run on ``split``."""
    return {int(run["seed"]): run["between"][split] for run in entry if run.get("between")} if was_run(entry) else {}


def report(results: dict[str, Any], folder: Path) -> Findings:
    settings, measured = results["settings"], results["measured"]
    runs, labels = measured["runs"], {m["key"]: m["label"] for m in measured["methods"]}
    below = settings["judged_below"]
    toy = draw_toy(measured["toy"], path=folder / "toy.png")
    rough = ", ".join(f"{label} {value:.2f}" for label, value in roughness(measured["toy"]).items())
    sections = [("The two-moons picture (Figure 1(b))", image(toy.name, (
        f"p(y = 1 | x) of an MLP (two hidden layers of {settings['toy']['hidden']}) trained on "
        f"{settings['toy']['points']} points of two moons, {100 * settings['toy']['flip']:g} % of the labels flipped "
        f"(ringed), with ERM (left) and mixup α = {settings['toy']['alpha']:g} (right), the same data, "
        f"initialization and batches (seed {settings['toy']['seed']}, {measured['toy']['seconds']:.1f} s for both). "
        f"RMS of ‖∇ₓ p‖ over the grid: {rough}.")))]
    plots, verdicts = [toy.name], []
    for split, name in SPLITS.items():
        shown = {labels[k]: _tables(runs[k], split) for k in labels if _tables(runs[k], split)}
        if not shown:
            continue
        chart = between_plot({label: list(tables.values()) for label, tables in shown.items()},
                             path=folder / f"between_{split}.png", title=f"between {name}: mean ± std over seeds")
        plots.append(chart.name)
        table = between_markdown({label: list(tables.values()) for label, tables in shown.items()}, below=below)
        sections.append((f"In between {name}", table + "\n\n" + image(
            chart.name, f"Miss rate, gradient norm and p(yᵢ) at x̃ = λ·xᵢ + (1−λ)·xⱼ on {name}, mean ± std over "
                        f"seeds; the dashed line p = λ is what mixup trains toward.")))
        erm = _tables(runs.get("erm"), split)
        for key in (k for k in labels if k != "erm" and erm and _tables(runs[k], split)):
            other = _tables(runs[key], split)
            for metric, what, claim, paper, scale, digits, unit in CLAIMS:
                verdicts.append(judge(
                    f"{claim} ({labels[key]}, {name})", measure=f"{what}, mean over λ < {below:g}, {labels[key]} − ERM",
                    baseline={s: mean_over(t, metric, below=below) for s, t in erm.items()},
                    other={s: mean_over(t, metric, below=below) for s, t in other.items()}, expected_sign=-1,
                    paper=paper if split == "train" else "— (the paper measures training pairs)", scale=scale,
                    digits=digits, unit=unit, scope="this paper" if split == "train" else "ours"))
    regime = settings["regime"]
    return Findings(
        setting={"regime": describe(regime["base"]), "why this regime": regime["reason"],
                 "models": ", ".join(labels.values()) + " of the regime, each seed's own run (the generalization "
                           "experiment's, trained once in `reproduce all`)",
                 "pairs": f"{settings['pairs']:,} per seed and split with yᵢ ≠ yⱼ: xᵢ uniform without replacement, xⱼ "
                          f"uniform over the other classes' points, from a generator seeded by the run's seed and the "
                          f"split, so ERM and mixup of a seed are measured on the same pairs; training points "
                          f"un-augmented with their true labels, test points from the run's test set",
                 "gradient norm": "L2 norm over the whole (normalized) input of ∇ₓ̃ of the cross-entropy against "
                                  + ("the mixed target λ·yᵢ + (1−λ)·yⱼ, the loss mixup trains on at x̃ (at λ = 1 "
                                     "the plain loss on xᵢ)" if settings["target"] == "mixed" else "yᵢ")
                                  + ", in the precision the models were trained in; mean over the pairs",
                 "judged on": f"each curve's mean over the λ of the grid below {below:g} (λ = 1 is xᵢ itself, not "
                              f"in between), declared before the runs",
                 "time": f"{measured['between_seconds']:.0f} s for the in-between curves of every run"},
        sections=sections, verdicts=verdicts, plots=plots,
    )
