"""The `calibration` experiment: ECE and reliability, ERM vs mixup, clean and noisy labels (arXiv 1905.11001)."""

from __future__ import annotations

from dataclasses import dataclass

from vicinal.eval.plots import reliability_diagram
from vicinal.eval.report import mean

from . import paper
from .framework import Context, Findings, Verdict, gain_and_noise, judge_direction
from .reporting import image, markdown_table, pct
from .runs import NotRun, RunRecord, Variant, finals, run_variants, summaries


@dataclass(frozen=True)
class CalibrationSettings:
    base: dict  # TrainConfig overrides shared by every run
    alpha: float  # mixup's α
    label_noise: float  # the noisy setting's fraction of corrupted training labels


SETTINGS = {
    "smoke": CalibrationSettings(
        base=dict(dataset="fashion-mnist", model="mlp", train_subset=256, test_subset=256, epochs=2, batch_size=64,
                  augment_flip=False),
        alpha=1.0, label_noise=0.4),
    # a small α: short budgets want it, and Thulasidasan et al. find α 0.2–0.4 best calibrated
    "quick": CalibrationSettings(
        base=dict(dataset="fashion-mnist", model="fastcnn", train_subset=15000, test_subset=None, epochs=3),
        alpha=0.4, label_noise=0.4),
    "paper": CalibrationSettings(base=dict(dataset="cifar10", model="preact_resnet18"), alpha=1.0, label_noise=0.4),
}
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1), "paper": (0, 1, 2)}


def _overconfidence(record: RunRecord) -> float:
    """Mean top-1 confidence minus accuracy on the test set (> 0: over-confident)."""
    probs, labels = record.last_eval["probs"], record.last_eval["labels"]
    conf, pred = probs.max(dim=1)
    return float(conf.mean() - (pred == labels).float().mean())


def run(ctx: Context, settings: CalibrationSettings) -> Findings:
    a = settings.alpha
    noisy = settings.label_noise
    chosen = (
        Variant("erm", "ERM", dict(alpha=0.0)),
        Variant(f"mixup_a{a:g}", f"mixup α={a:g}", dict(alpha=a)),
        Variant("erm_noisy", f"ERM, {int(100 * noisy)} % noisy labels", dict(alpha=0.0, label_noise=noisy)),
        Variant(f"mixup_a{a:g}_noisy", f"mixup α={a:g}, {int(100 * noisy)} % noisy labels",
                dict(alpha=a, label_noise=noisy)),
    )
    runs = run_variants(ctx, settings.base, chosen, keep_model=True)
    rows, results = [], {}
    for v in chosen:
        records = runs[v.key]
        if isinstance(records, NotRun):
            rows.append((v.label, str(records), "—", "—", "—"))
            results[v.key] = summaries(records)
            continue
        rows.append((v.label, pct(finals(records, "ece"), 2), pct([_overconfidence(r) for r in records], 2),
                     pct(finals(records, "test_error"), 2), f"{mean(finals(records, 'test_nll')):.3f}"))
        results[v.key] = [{**r.summary(), "overconfidence": _overconfidence(r)} for r in records]
    table = markdown_table(["run", "ECE % (15 bins)", "confidence − accuracy %", "test error %", "test NLL"], rows)

    plots, sections, verdicts = [], [("ECE and over-confidence", table)], []
    for suffix, title in (("", "clean labels"), ("_noisy", f"{int(100 * noisy)} % noisy labels")):
        erm, mix = runs[f"erm{suffix}"], runs[f"mixup_a{a:g}{suffix}"]
        if isinstance(erm, NotRun) or isinstance(mix, NotRun):
            continue
        path = reliability_diagram({"ERM": (erm[0].last_eval["probs"], erm[0].last_eval["labels"]),
                                    f"mixup α={a:g}": (mix[0].last_eval["probs"], mix[0].last_eval["labels"])},
                                   path=ctx.out / f"reliability{suffix or '_clean'}.png",
                                   title=f"reliability, {title} (seed {erm[0].seed})")
        plots.append(path.name)
        sections.append((f"Reliability, {title}", image(path.name, "Accuracy per confidence bin against the "
                         "diagonal; bars below it are over-confident, above it under-confident.")))
        gain, noise = gain_and_noise(finals(erm, "ece"), finals(mix, "ece"))
        verdicts.append(Verdict(f"{title}: {paper.CLAIMS['calibration']}", judge_direction(gain, noise=noise),
                                f"ECE ERM {pct(finals(erm, 'ece'), 2)} % → mixup {pct(finals(mix, 'ece'), 2)} % "
                                f"({100 * gain:+.0f} % relative, noise ± {100 * noise:.0f})"))
    base = settings.base
    return Findings(
        setting={"data": f"{base['dataset']}, {base.get('train_subset') or 'all'} training images; noisy setting: "
                         f"{int(100 * noisy)} % of training labels replaced at random",
                 "model": base["model"], "epochs": base.get("epochs", "preset"),
                 "ECE": "15 equal-width confidence bins on the test set (vicinal.eval)"},
        sections=sections, verdicts=verdicts, results=results, plots=plots,
        paper={"claim": paper.CLAIMS["calibration"], "source": "Thulasidasan et al. 2019, arXiv 1905.11001"},
    )
