"""The `generalization` experiment: ERM vs mixup (the paper's α = 1 and a small α), CutMix, Manifold Mixup and label
smoothing in the fitted small-data regime (arXiv 1710.09412 §3.2)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vicinal.eval.plots import bar_chart, learning_curves
from vicinal.eval.report import markdown_table

from . import paper
from .framework import Context, Findings, judge
from .regime import METHODS, MIXUP, MIXUP_SMALL, PAPER_ALPHA, REGIMES, Regime, describe, methods, train_methods
from .reporting import image, pct, spread
from .runs import histories, per_seed, summaries, was_run


@dataclass(frozen=True)
class GeneralizationSettings:
    regime: Regime  # the shared small-data regime
    methods: tuple[str, ...] = tuple(v.key for v in METHODS)  # keys of regime.METHODS
    paper_dataset: str = "cifar10"  # which column of the paper's table to show beside ours
    other_seeds: int = 3  # the methods other than ERM and mixup α = 1 (later work's claims) run on the first seeds


SETTINGS = {preset: GeneralizationSettings(regime=regime) for preset, regime in REGIMES.items()}
# this paper's headline claims: 5 paired seeds
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1, 2, 3, 4), "paper": (0, 1, 2, 3, 4)}

HEADLINE = ("erm", MIXUP)  # this paper's claim, on every seed of the context
# Claims judged on test error against ERM: method key -> (claim, whose claim it is).
CLAIMS = {
    MIXUP: ("mixup (the paper's α = 1) lowers test error over ERM", "this paper"),
    MIXUP_SMALL: ("mixup with a small α (the authors' later advice for small networks) lowers test error over ERM",
                  "later work"),
    "cutmix": ("CutMix lowers test error over ERM (Yun et al. 2019)", "later work"),
    "manifold": ("Manifold Mixup lowers test error over ERM (Verma et al. 2019)", "later work"),
}


def measure(ctx: Context, settings: GeneralizationSettings) -> dict[str, Any]:
    variants = methods(settings.methods)
    headline = [v for v in variants if v.key in HEADLINE]
    others = [v for v in variants if v.key not in HEADLINE]
    runs, refused = train_methods(ctx, settings.regime, headline)
    if others:  # later work's claims: fewer seeds
        fewer = replace(ctx, seeds=ctx.seeds[:settings.other_seeds])
        more_runs, more_refused = train_methods(fewer, settings.regime, others)
        runs, refused = {**runs, **more_runs}, {**refused, **more_refused}
    return {"methods": [{"key": v.key, "label": v.label} for v in variants],
            "runs": {v.key: summaries(refused.get(v.key) or runs.get(v.key)) for v in variants}}


def _paper_pair(dataset: str) -> tuple[float, float]:
    return paper.CIFAR_TEST_ERROR["preact_resnet18"][dataset]


def report(results: dict[str, Any], folder: Path) -> Findings:
    settings, measured = results["settings"], results["measured"]
    runs, labels = measured["runs"], {m["key"]: m["label"] for m in measured["methods"]}
    erm_error, mix_error = _paper_pair(settings["paper_dataset"])
    paper_cell = {"erm": f"{erm_error}", MIXUP: f"{mix_error}"}
    erm = per_seed(runs.get("erm"), "test_error")

    rows = []
    for key, label in labels.items():
        entry = runs[key]
        if not was_run(entry):
            rows.append((label, str(entry), *("—",) * 6, paper_cell.get(key, "—")))
            continue
        rows.append((label, pct(per_seed(entry, "test_error"), 2), pct(per_seed(entry, "best_test_error"), 2),
                     pct(per_seed(entry, "train_error"), 2), spread(per_seed(entry, "test_nll"), 3),
                     pct(per_seed(entry, "ece"), 2), f"{sum(per_seed(entry, 'train_seconds').values()):.0f}",
                     paper_cell.get(key, "—")))
    table = markdown_table(["method", "test error % (last)", "best test error %",
                            "training error % (last epoch, batches trained on)",
                            "test NLL", "ECE %", "training s (all seeds)",
                            f"paper, {settings['paper_dataset']} PreAct ResNet-18 %"], rows)

    verdicts = []
    for key, (claim, scope) in CLAIMS.items():
        if key in runs and erm:
            verdicts.append(judge(claim, measure=f"test error %, {labels[key]} − ERM", baseline=erm,
                                  other=per_seed(runs[key], "test_error"), expected_sign=-1, unit=" points",
                                  paper=f"{erm_error} → {mix_error} ({mix_error - erm_error:+.1f} points, "
                                        f"{settings['paper_dataset']}, PreAct ResNet-18, α = {PAPER_ALPHA:g})"
                                  if key == MIXUP else "—", scope=scope))

    done = {labels[k]: e for k, e in runs.items() if was_run(e)}
    bars = bar_chart({label: [100 * v for v in per_seed(e, "test_error").values()] for label, e in done.items()},
                     path=folder / "generalization_error.png", title="test error (last epoch), mean ± std over seeds",
                     ylabel="test error %")
    curves = learning_curves({label: histories(e) for label, e in done.items()},
                             path=folder / "generalization_curves.png", title="learning curves",
                             metrics=("test_error", "train_error"))
    regime = settings["regime"]
    return Findings(
        setting={"regime": describe(regime["base"]), "why this regime": regime["reason"],
                 "methods": ", ".join(labels.values())},
        sections=[("Test error", "Ours on the left (the training error shows the regime: ERM fits its training "
                   "set), the paper's CIFAR number (other data, other model, 200 epochs) on the right where there "
                   "is one. Every setting that was run is listed.\n\n" + table),
                  ("Plots", image(bars.name, "Test error per method, mean ± std over seeds.") + "\n\n"
                   + image(curves.name, "Test error and training error (on the mixed batches) per evaluated epoch, "
                           "mean ± std band over seeds."))],
        verdicts=verdicts,
        plots=[bars.name, curves.name],
    )
