"""The `adversarial` experiment: white- and black-box FGSM / I-FGSM on the fitted regime's ERM and mixup models,
errors and accuracies per ε, and the paper's ratio of accuracies (arXiv 1710.09412 §3.5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vicinal.eval import attack_error, autocast_context
from vicinal.eval.attacks import fgsm, ifgsm
from vicinal.eval.plots import line_chart
from vicinal.eval.report import markdown_table, mean

from . import paper
from .framework import Context, Findings, judge
from .regime import MIXUP, MIXUP_SMALL, PAPER_ALPHA, REGIMES, Regime, describe, methods
from .reporting import pct
from .runs import RunRecord, by_key, plan, plan_variants, summaries, train_runs

ATTACKS = ("fgsm", "ifgsm")
BOXES = ("white", "black")


@dataclass(frozen=True)
class AdversarialSettings:
    regime: Regime  # the shared small-data regime
    targets: tuple[str, ...] = ("erm", MIXUP, MIXUP_SMALL)  # keys of regime.METHODS attacked
    eps: tuple[float, ...] = (8 / 255, 16 / 255, 32 / 255)  # ‖δ‖∞ budgets, pixels in [0, 1]
    steps: int = 10  # I-FGSM iterations (step size 1.25·ε/steps)
    attack_images: int = 2000  # test images attacked (the first of the test set)
    batch_size: int = 500  # images per attack batch


SETTINGS = {
    "smoke": AdversarialSettings(regime=REGIMES["smoke"], eps=(8 / 255, 32 / 255), steps=2, attack_images=64,
                                 batch_size=64),
    "quick": AdversarialSettings(regime=REGIMES["quick"]),
    "paper": AdversarialSettings(regime=REGIMES["paper"], attack_images=10000),
}
# this paper's headline claims: 5 paired seeds
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1, 2, 3, 4), "paper": (0, 1, 2, 3, 4)}


def pixel_model(record: RunRecord, mean_: tuple[float, ...], std_: tuple[float, ...]) -> nn.Module:
    """The trained model with the data's normalization inside, so it takes pixels in [0, 1]."""
    from vicinal.models import Normalize

    model = record.model.float().to(memory_format=torch.contiguous_format)
    return nn.Sequential(Normalize(mean_, std_), model).to(next(model.parameters()).device).eval()


def source_seeds(seeds: tuple[int, ...]) -> dict[int, int]:
    """For each seed, the seed of the ERM model whose examples attack it black-box: the next seed of the list
    (cyclically), or seed + 1 when there is only one."""
    if len(seeds) == 1:
        return {seeds[0]: seeds[0] + 1}
    return {s: seeds[(i + 1) % len(seeds)] for i, s in enumerate(seeds)}


def crafted(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]], *, attack: str, eps: float,
            steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The adversarial examples of every batch, crafted on ``model`` (FGSM, or I-FGSM of ``steps`` steps)."""
    if attack == "fgsm":
        return [(fgsm(model, x, y, eps=eps), y) for x, y in batches]
    return [(ifgsm(model, x, y, eps=eps, steps=steps), y) for x, y in batches]


def _attack_seed(targets: dict[str, nn.Module], source: nn.Module, batches: list, settings: AdversarialSettings,
                 device: torch.device) -> dict[str, list[dict]]:
    """Per target, its clean error and its error under each (attack, box, ε); black-box examples are crafted once
    on ``source`` and shown to every target."""
    rows = {key: [{"attack": "none", "box": "-", "eps": 0.0,
                   "error": attack_error(model, batches, attack="none", eps=0.0, device=device)}]
            for key, model in targets.items()}
    for eps in settings.eps:
        for attack in ATTACKS:
            transfer = crafted(source, batches, attack=attack, eps=eps, steps=settings.steps)
            for key, model in targets.items():
                white = attack_error(model, batches, attack=attack, eps=eps, device=device, steps=settings.steps)
                black = attack_error(model, transfer, attack="none", eps=0.0, device=device)
                rows[key] += [{"attack": attack, "box": "white", "eps": eps, "error": white},
                              {"attack": attack, "box": "black", "eps": eps, "error": black}]
    return rows


def measure(ctx: Context, settings: AdversarialSettings) -> dict[str, Any]:
    from vicinal.data import load_dataset
    from vicinal.train.hardware import autocast_dtype

    variants = methods(settings.targets)
    sources = source_seeds(ctx.seeds)
    erm = methods(("erm",))[0]
    planned, refused = plan_variants(ctx, settings.regime.base, variants)
    planned += [plan(ctx, erm.key, s, {**settings.regime.base, **erm.overrides})  # a single seed's source
                for s in sorted(set(sources.values()) - set(ctx.seeds))]
    runs = by_key(train_runs(ctx, planned, keep_model=True))
    data = load_dataset(settings.regime.base["dataset"], data_dir=ctx.data_dir)
    n = min(settings.attack_images, len(data.y_test))
    x, y = data.x_test[:n].float() / 255.0, data.y_test[:n]
    batches = [(x[i:i + settings.batch_size], y[i:i + settings.batch_size]) for i in range(0, n, settings.batch_size)]
    errors: dict[str, dict[int, list[dict]]] = {v.key: {} for v in variants}
    precision = "float32"
    for seed in ctx.seeds:
        if sources[seed] not in runs.get("erm", {}):
            continue
        source = pixel_model(runs["erm"][sources[seed]], data.mean, data.std)
        targets = {v.key: pixel_model(runs[v.key][seed], data.mean, data.std) for v in variants
                   if seed in runs.get(v.key, {})}
        config, device = runs["erm"][sources[seed]].config, next(source.parameters()).device
        # the attacks run in the precision the models were trained in (bf16 autocast where the trainer used it)
        amp = autocast_dtype(config.precision, device=device, kind=data.kind, model=config.model)
        precision = "bf16 autocast" if amp is not None else "float32"
        ctx.progress(f"seed {seed}: attacking {n} test images at ε = {[round(255 * e) for e in settings.eps]}/255 "
                     f"(black box from ERM seed {sources[seed]})")
        with autocast_context(device, amp):
            for key, rows in _attack_seed(targets, source, batches, settings, device).items():
                errors[key][seed] = rows
    return {"methods": [{"key": v.key, "label": v.label} for v in variants], "attacked": n, "sources": sources,
            "precision": precision,
            "runs": {v.key: summaries(refused.get(v.key) or {s: r for s, r in runs.get(v.key, {}).items()
                                                               if s in ctx.seeds}, attacks=errors[v.key])
                     for v in variants}}


def _error(entry: list[dict], attack: str, box: str, eps: float) -> dict[int, float]:
    """seed → top-1 error under (attack, box, ε) from a setting's results.json entry."""
    out = {}
    for run in entry if isinstance(entry, list) else []:
        for row in run.get("attacks", []):
            if row["attack"] == attack and row["box"] == box and abs(row["eps"] - eps) < 1e-9:
                out[int(run["seed"])] = row["error"]
    return out


def _accuracy(errors: dict[int, float]) -> dict[int, float]:
    return {s: 1.0 - e for s, e in errors.items()}


def _ratio(numerator: dict[int, float], denominator: dict[int, float]) -> str:
    """Mean accuracy ratio (mixup / ERM) over the paired seeds, and each seed's."""
    seeds = sorted(set(numerator) & set(denominator))
    ratios = [numerator[s] / denominator[s] for s in seeds if denominator[s] > 0]
    if not ratios:
        return "—"
    each = ", ".join(f"{r:.2f}" for r in ratios)
    return f"{mean(ratios):.2f}× (per seed: {each})"


def _cell_verdicts(runs: dict, labels: dict[str, str], attacked: list[str], eps: list[float]) -> list:
    """A verdict for every (attack, box, ε) cell and mixup model: top-1 accuracy, mixup − ERM (the paper: mixup is
    more robust under each of its attacks). The cells of the small α judge the same claims again and are counted
    under α = 1's."""
    if "erm" not in attacked:
        return []
    verdicts = []
    for key in (k for k in (MIXUP, MIXUP_SMALL) if k in attacked):
        for box in BOXES:
            for attack in ATTACKS:
                name = f"{box}-box {'FGSM' if attack == 'fgsm' else 'I-FGSM'}"
                ratio, (p_erm, p_mix) = paper.ADVERSARIAL_ROBUSTNESS_RATIO.get(name, None), \
                    paper.ADVERSARIAL_TOP1_ERROR.get(name, (None, None))
                paper_effect = (f"{ratio}× in accuracy: {100 - p_erm:.1f} → {100 - p_mix:.1f} % (ImageNet, "
                                f"ResNet-101)" if ratio else "more robust (table; no number here)")
                for e in eps:
                    erm_acc = _accuracy(_error(runs["erm"], attack, box, e))
                    mix_acc = _accuracy(_error(runs[key], attack, box, e))
                    verdicts.append(judge(
                        f"mixup is more robust than ERM under {name} at ε = {255 * e:g}/255 ({labels[key]}; "
                        f"accuracy ratio {_ratio(mix_acc, erm_acc)})",
                        measure=f"top-1 accuracy %, {labels[key]} − ERM", baseline=erm_acc, other=mix_acc,
                        expected_sign=1, unit=" points", paper=paper_effect,
                        repeats=None if key == MIXUP else f"the α = {PAPER_ALPHA:g} cell"))
    return verdicts


def _cells_by_status(verdicts: list) -> str:
    """The cells grouped by verdict, the ones against mixup as plainly as the ones for it."""
    groups = {"reproduced": "mixup more robust (p < 0.05)", "contradicted": "mixup LESS robust (p < 0.05)",
              "not reproduced": "no clear difference", "indicative": "indicative (fewer than 3 seeds)"}
    lines = []
    for status, heading in groups.items():
        cells = [v.claim.split(" under ", 1)[1] for v in verdicts if v.status == status]
        if cells:
            lines.append(f"- **{heading}**: {len(cells)} cells: " + "; ".join(cells))
    return "\n".join(lines) or "No cells were judged."


def report(results: dict[str, Any], folder: Path) -> Findings:
    settings, measured = results["settings"], results["measured"]
    runs, labels = measured["runs"], {m["key"]: m["label"] for m in measured["methods"]}
    eps = list(settings["eps"])
    attacked = [k for k in labels if isinstance(runs[k], list) and runs[k]]
    header = ["attack", "ε (of 255)"] + [f"{labels[k]} error / accuracy %" for k in attacked]
    rows = [["clean", "—"] + [f"{pct(_error(runs[k], 'none', '-', 0.0))} / "
                              f"{pct(_accuracy(_error(runs[k], 'none', '-', 0.0)))}" for k in attacked]]
    for box in BOXES:
        for attack in ATTACKS:
            for e in eps:
                rows.append([f"{box}-box {'FGSM' if attack == 'fgsm' else 'I-FGSM'}", f"{255 * e:g}"] + [
                    f"{pct(_error(runs[k], attack, box, e))} / {pct(_accuracy(_error(runs[k], attack, box, e)))}"
                    for k in attacked])
    table = markdown_table(header, rows)

    verdicts = _cell_verdicts(runs, labels, attacked, eps)
    xs = [255 * e for e in eps]
    series = {f"{labels[k]} {b}-box {a}": (xs, [100 * mean(_error(runs[k], a, b, e).values()) for e in eps])
              for k in attacked for b in BOXES for a in ATTACKS}
    chart = line_chart(series, path=folder / "adversarial_error.png",
                       title="top-1 error under attack (mean over seeds)",
                       xlabel="ε (pixel levels of 255)", ylabel="top-1 error %")
    regime = settings["regime"]
    return Findings(
        setting={"regime": describe(regime["base"]), "why this regime": regime["reason"],
                 "models": ", ".join(labels[k] for k in labels) + " of the regime (each seed's own run); black-box "
                           "examples are crafted on the ERM model of another seed: " + ", ".join(
                               f"seed {s} ← ERM seed {src}" for s, src in measured["sources"].items()),
                 "attacks": f"FGSM and I-FGSM ({settings['steps']} steps of 1.25·ε/steps), untargeted, on the first "
                            f"{measured['attacked']:,} test images, in pixel space [0, 1] (normalization inside the "
                            f"model), clamped to [0, 1], eval mode, in the models' training precision "
                            f"({measured['precision']})",
                 "verdicts": "one per (attack, box, ε) cell and mixup model, each a paired t-test on top-1 "
                             "accuracy; no ε is singled out"},
        sections=[("Top-1 error and accuracy under attack", "mean ± std over seeds; every ε that was run.\n\n"
                   + table),
                  ("Where mixup is more and where it is less robust", _cells_by_status(verdicts)),
                  ("Plot", f"![top-1 error against ε]({chart.name})\n\nTop-1 error against ε for each model and "
                   "attack, mean over seeds.")],
        verdicts=verdicts, plots=[chart.name],
    )

