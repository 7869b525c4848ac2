"""The `generalization` experiment: ERM vs mixup (α sweep), CutMix, Manifold Mixup, LS (arXiv 1710.09412 §3.2)."""

from __future__ import annotations

from dataclasses import dataclass

from vicinal.eval.plots import bar_chart, learning_curves
from vicinal.eval.report import mean

from . import paper
from .framework import Context, Findings, Verdict, gain_and_noise, judge
from .reporting import image, markdown_table, pct
from .runs import NotRun, Variant, finals, run_variants, summaries, tested_history

PAPER_ALPHA = 1.0  # the α of the paper's CIFAR table


def variants(alphas: tuple[float, ...]) -> tuple[Variant, ...]:
    """ERM, mixup at each α, CutMix (α 1), Manifold Mixup (α 2, Verma et al.), label smoothing ε 0.1."""
    return (
        Variant("erm", "ERM", dict(alpha=0.0)),
        *(Variant(f"mixup_a{a:g}", f"mixup α={a:g}", dict(method="mixup", alpha=a)) for a in alphas),
        Variant("cutmix", "CutMix α=1", dict(method="cutmix", alpha=1.0)),
        Variant("manifold", "Manifold Mixup α=2", dict(method="manifold_mixup", alpha=2.0)),
        Variant("label_smoothing", "label smoothing ε=0.1", dict(alpha=0.0, label_smoothing=0.1)),
    )


@dataclass(frozen=True)
class GeneralizationSettings:
    base: dict  # TrainConfig overrides shared by every run
    alphas: tuple[float, ...]  # the mixup α sweep
    paper_dataset: str = "cifar10"  # which column of the paper's table to show beside ours


SETTINGS = {
    "smoke": GeneralizationSettings(
        base=dict(dataset="fashion-mnist", model="mlp", train_subset=256, test_subset=256, epochs=2,
                  batch_size=64, augment_flip=False),
        alphas=(1.0,)),
    "quick": GeneralizationSettings(
        base=dict(dataset="fashion-mnist", model="fastcnn", train_subset=20000, test_subset=None, epochs=4),
        alphas=(0.2, 0.4, 1.0, 2.0)),
    "paper": GeneralizationSettings(base=dict(dataset="cifar10", model="preact_resnet18"),
                                    alphas=(0.1, 0.2, 0.4, 1.0, 2.0)),
}
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1), "paper": (0, 1, 2)}


def run(ctx: Context, settings: GeneralizationSettings) -> Findings:
    chosen = variants(settings.alphas)
    runs = run_variants(ctx, settings.base, chosen)
    done = {v.key: runs[v.key] for v in chosen if isinstance(runs[v.key], list)}
    label = {v.key: v.label for v in chosen}
    paper_erm, paper_mix = paper.CIFAR_TEST_ERROR["preact_resnet18"][settings.paper_dataset]
    paper_gain = (paper_erm - paper_mix) / paper_erm
    mix_key = f"mixup_a{PAPER_ALPHA:g}"

    rows = []
    for v in chosen:
        records = runs[v.key]
        paper_cell = {"erm": f"{paper_erm}", mix_key: f"{paper_mix}"}.get(v.key, "—")
        if isinstance(records, NotRun):
            rows.append((v.label, str(records), "—", "—", "—", paper_cell))
            continue
        rows.append((v.label, pct(finals(records, "test_error"), 2), pct(finals(records, "best_test_error"), 2),
                     pct(finals(records, "ece"), 2), f"{mean(finals(records, 'train_seconds')):.0f}", paper_cell))
    table = markdown_table(["method", "test error % (last)", "best %", "ECE %", "train s", 
                            f"paper, {settings.paper_dataset} PreAct ResNet-18 %"], rows)

    verdicts, erm = [], finals(done.get("erm", []), "test_error")
    if erm and mix_key in done:
        gain, noise = gain_and_noise(erm, finals(done[mix_key], "test_error"))
        verdicts.append(Verdict(paper.CLAIMS["generalization"], judge(gain, paper_gain, noise=noise),
                                f"mixup α={PAPER_ALPHA:g} vs ERM: {100 * gain:+.1f} % relative "
                                f"(± {100 * noise:.1f} noise); paper {100 * paper_gain:+.1f} %"))
    mixups = [k for k in done if k.startswith("mixup_")]
    if erm and mixups:
        best = min(mixups, key=lambda k: mean(finals(done[k], "test_error")))
        gain, noise = gain_and_noise(erm, finals(done[best], "test_error"))
        verdicts.append(Verdict("the best α of the sweep lowers test error over ERM (the authors' tip: small "
                                "networks want a small α)", judge(gain, paper_gain, noise=noise),
                                f"best: {label[best]}, {100 * gain:+.1f} % relative (± {100 * noise:.1f})"))
    for key, claim in (("cutmix", "CutMix lowers test error over ERM (Yun et al. 2019)"),
                       ("manifold", "Manifold Mixup lowers test error over ERM (Verma et al. 2019)")):
        if erm and key in done:
            gain, noise = gain_and_noise(erm, finals(done[key], "test_error"))
            verdicts.append(Verdict(claim, judge(gain, paper_gain, noise=noise),
                                    f"{100 * gain:+.1f} % relative (± {100 * noise:.1f}); size compared with "
                                    f"mixup's {100 * paper_gain:.0f} % in the paper"))

    bars = bar_chart({label[k]: [100 * e for e in finals(r, "test_error")] for k, r in done.items()},
                     path=ctx.out / "generalization_error.png", title="test error (last epoch)",
                     ylabel="test error %")
    curves = learning_curves({label[k]: [tested_history(rec) for rec in r] for k, r in done.items()},
                             path=ctx.out / "generalization_curves.png", title="learning curves",
                             metrics=("test_error", "train_loss"))
    base = settings.base
    return Findings(
        setting={"data": base.get("dataset"), "model": base.get("model"),
                 "training subset": base.get("train_subset") or "all", "epochs": base.get("epochs", "preset"),
                 "trainer recipe": f"vicinal.train preset '{ctx.preset}' plus {base}"},
        sections=[("Test error", "Ours on the left, the paper's CIFAR number (other data, other model, 200 "
                   "epochs) on the right where there is one.\n\n" + table),
                  ("Plots", image(bars.name, "Test error per method, mean ± std over seeds.") + "\n\n"
                   + image(curves.name, "Test error and training loss per epoch (mean ± std band)."))],
        verdicts=verdicts,
        results={k: summaries(r) for k, r in runs.items()},
        plots=[bars.name, curves.name],
        paper={"cifar_test_error": paper.CIFAR_TEST_ERROR, "imagenet_top1": paper.IMAGENET_TOP1},
    )
