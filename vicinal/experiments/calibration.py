"""The `calibration` experiment: ECE, NLL, over-confidence on the test set and on inputs that are not from the data,
ERM vs mixup, on the fitted regime's runs (Thulasidasan et al. 2019, arXiv 1905.11001; arXiv 1710.09412)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vicinal.eval.calibration import reliability_bins
from vicinal.eval.metrics import predict
from vicinal.eval.plots import reliability_diagram
from vicinal.eval.report import markdown_table

from .framework import Context, Findings, judge
from .regime import METHODS, MIXUP, MIXUP_SMALL, REGIMES, Regime, describe, methods, train_methods
from .reporting import image, pct, spread
from .runs import per_seed, summaries, was_run

BINS = 15  # equal-width confidence bins of the ECE and the reliability diagrams


@dataclass(frozen=True)
class CalibrationSettings:
    regime: Regime  # the shared small-data regime
    methods: tuple[str, ...] = tuple(v.key for v in METHODS)  # keys of regime.METHODS
    noise_images: int = 2000  # uniform-noise images (pixels ~ U(0, 1)): inputs that are not from the data
    noise_seed: int = 0


SETTINGS = {preset: CalibrationSettings(regime=regime) for preset, regime in REGIMES.items()}
# this paper's headline claims: 5 paired seeds
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1, 2, 3, 4), "paper": (0, 1, 2, 3, 4)}


def noise_confidence(model: nn.Module, images: torch.Tensor, *, mean: tuple[float, ...], std: tuple[float, ...]
                     ) -> float:
    """Mean top-1 softmax confidence of ``model`` on ``images`` (pixels in [0, 1]), normalized as its data was."""
    device = next(model.parameters()).device
    shape = (1, -1) + (1,) * (images.ndim - 2)
    x = (images - torch.tensor(mean).view(shape)) / torch.tensor(std).view(shape)
    logits, _ = predict(model, [(x, torch.zeros(len(x), dtype=torch.long))], device=device)
    return float(logits.float().softmax(1).max(1).values.mean())


def measure(ctx: Context, settings: CalibrationSettings) -> dict[str, Any]:
    from vicinal.data import load_dataset

    variants = methods(settings.methods)
    runs, refused = train_methods(ctx, settings.regime, variants, keep_model=True)
    data = load_dataset(settings.regime.base["dataset"], data_dir=ctx.data_dir)
    shape = (settings.noise_images, *data.x_train.shape[1:])
    images = torch.rand(shape, generator=torch.Generator().manual_seed(settings.noise_seed))
    out = {}
    for v in variants:
        records = runs.get(v.key, {})
        extra: dict[str, dict[int, Any]] = {"reliability": {}, "overconfidence": {}, "noise_confidence": {}}
        for seed, r in records.items():
            probs, labels = r.last_eval["probs"], r.last_eval["labels"]
            confidence, prediction = probs.max(1)
            extra["reliability"][seed] = reliability_bins(probs, labels, n_bins=BINS)
            extra["overconfidence"][seed] = float(confidence.mean() - (prediction == labels).double().mean())
            extra["noise_confidence"][seed] = noise_confidence(r.model, images, mean=data.mean, std=data.std)
        out[v.key] = summaries(refused.get(v.key) or records, **extra)
    return {"methods": [{"key": v.key, "label": v.label} for v in variants], "runs": out}


def report(results: dict[str, Any], folder: Path) -> Findings:
    settings, measured = results["settings"], results["measured"]
    runs, labels = measured["runs"], {m["key"]: m["label"] for m in measured["methods"]}
    rows = []
    for key, label in labels.items():
        e = runs[key]
        if not was_run(e):
            rows.append((label, str(e), *("—",) * 5))
            continue
        rows.append((label, pct(per_seed(e, "ece"), 2), spread(per_seed(e, "test_nll"), 3),
                     pct(per_seed(e, "overconfidence", where=""), 2), pct(per_seed(e, "noise_confidence", where=""), 1),
                     pct(per_seed(e, "test_error"), 2)))
    table = markdown_table(["method", "ECE % (15 bins)", "test NLL", "confidence − accuracy % (test)",
                            f"mean confidence % on {settings['noise_images']:,} uniform-noise images", "test error %"],
                           rows)

    verdicts, erm = [], runs.get("erm")
    for key in (MIXUP, MIXUP_SMALL):
        if not (was_run(erm) and was_run(runs.get(key))):
            continue
        for metric, where, what, scale, digits, unit, paper in (
                ("ece", "final", "ECE %", 100, 2, " points", "lower ECE (CIFAR, ImageNet, Fashion-MNIST, ...)"),
                ("test_nll", "final", "test NLL", 1, 3, "", "— (the later paper reports ECE)"),
                ("noise_confidence", "", "mean confidence % on uniform-noise images", 100, 1, " points",
                 "lower confidence on out-of-distribution and random-noise inputs")):
            verdicts.append(judge(
                f"mixup-trained networks are better calibrated and less over-confident ({labels[key]})",
                measure=f"{what}, {labels[key]} − ERM", baseline=per_seed(erm, metric, where=where),
                other=per_seed(runs[key], metric, where=where), expected_sign=-1, paper=paper, scale=scale,
                digits=digits, unit=unit, scope="later work"))

    plots, sections = [], [("ECE, NLL and over-confidence", "Every method trained in the regime; the first "
                            "three columns on the test set, the fourth on images of uniform noise (pixels ~ U(0, 1), "
                            "normalized as the data), where a calibrated network should not be confident.\n\n"
                            + table)]
    shown = {labels[k]: runs[k][0]["reliability"] for k in ("erm", MIXUP, MIXUP_SMALL) if was_run(runs.get(k))}
    if shown:
        seed = runs["erm"][0]["seed"] if was_run(erm) else results["seeds"][0]
        path = reliability_diagram(shown, path=folder / "reliability.png", title=f"reliability on the test set "
                                   f"(seed {seed})", n_bins=BINS)
        plots.append(path.name)
        sections.append(("Reliability", image(path.name, "Accuracy per confidence bin against the diagonal of "
                                              "perfect calibration; hatched red is the gap to the bin's mean "
                                              "confidence (above the bar: over-confident).")))
    regime = settings["regime"]
    return Findings(
        setting={"regime": describe(regime["base"]), "why this regime": regime["reason"] + " Calibration is "
                 "measured where ERM fits its training set, the regime of Thulasidasan et al.'s claim; the runs are "
                 "the generalization experiment's (trained once in `reproduce all`).",
                 "methods": ", ".join(labels.values()),
                 "not here": "the old '40 % noisy labels' row (not a claim of either paper; see memorization)"},
        sections=sections, verdicts=verdicts, plots=plots,
    )
