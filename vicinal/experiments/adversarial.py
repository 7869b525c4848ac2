"""The `adversarial` experiment: white- and black-box FGSM / I-FGSM on ERM and mixup (arXiv 1710.09412 §3.5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vicinal.eval import attack_error
from vicinal.eval.plots import line_chart
from vicinal.eval.report import mean

from . import paper
from .framework import Context, Findings, Verdict, judge
from .reporting import image, markdown_table, pct
from .runs import RunRecord, train_one


@dataclass(frozen=True)
class AdversarialSettings:
    base: dict  # TrainConfig overrides shared by the three models
    alpha: float  # mixup's α
    eps: tuple[float, ...]  # attack budgets, ‖δ‖∞ in pixel scale [0, 1]
    steps: int = 10  # I-FGSM iterations (step size 1.25·ε/steps)
    attack_images: int = 1000  # test images attacked
    batch_size: int = 250  # images per attack batch


SETTINGS = {
    "smoke": AdversarialSettings(
        base=dict(dataset="fashion-mnist", model="mlp", train_subset=256, test_subset=256, epochs=2, batch_size=64,
                  augment_flip=False),
        alpha=1.0, eps=(4 / 255,), steps=2, attack_images=64, batch_size=64),
    # a small α, as the paper's ImageNet models (0.2–0.4) that it attacked
    "quick": AdversarialSettings(
        base=dict(dataset="fashion-mnist", model="fastcnn", train_subset=20000, test_subset=2000, epochs=4),
        alpha=0.4, eps=(1 / 255, 2 / 255, 4 / 255, 8 / 255), attack_images=1000),
    "paper": AdversarialSettings(base=dict(dataset="cifar10", model="preact_resnet18"), alpha=1.0,
                                 eps=(1 / 255, 2 / 255, 4 / 255, 8 / 255), attack_images=10000),
}
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0,), "paper": (0,)}
SOURCE_SEED_OFFSET = 1000  # the black-box source: a separate ERM model trained with seed + this


def pixel_model(record: RunRecord, mean_: tuple[float, ...], std_: tuple[float, ...]) -> nn.Module:
    """The trained model with the data's normalization inside, so it takes pixels in [0, 1]."""
    from vicinal.models import Normalize

    model = record.model.float().to(memory_format=torch.contiguous_format)
    return nn.Sequential(Normalize(mean_, std_), model).to(next(model.parameters()).device).eval()


def run(ctx: Context, settings: AdversarialSettings) -> Findings:
    from vicinal.data import load_dataset

    ds = load_dataset(settings.base["dataset"], data_dir=ctx.data_dir)
    n = min(settings.attack_images, len(ds.y_test))
    x = ds.x_test[:n].float() / 255.0
    y = ds.y_test[:n]
    batches = [(x[i:i + settings.batch_size], y[i:i + settings.batch_size]) for i in range(0, n, settings.batch_size)]
    table: dict[tuple[str, str, str, float], list[float]] = {}
    results = {}
    for seed in ctx.seeds:
        erm = train_one(ctx, "erm", seed, {**settings.base, "alpha": 0.0}, keep_model=True)
        mix = train_one(ctx, f"mixup_a{settings.alpha:g}", seed, {**settings.base, "alpha": settings.alpha},
                        keep_model=True)
        src = train_one(ctx, "erm_source", seed + SOURCE_SEED_OFFSET, {**settings.base, "alpha": 0.0}, keep_model=True)
        device = next(erm.model.parameters()).device
        models = {name: pixel_model(r, ds.mean, ds.std) for name, r in
                  (("ERM", erm), ("mixup", mix), ("source", src))}
        ctx.progress(f"seed {seed}: attacking {n} test images at ε = {[round(255 * e, 2) for e in settings.eps]}/255")
        for target in ("ERM", "mixup"):
            clean = attack_error(models[target], batches, attack="none", eps=0.0, device=device)
            table.setdefault((target, "clean", "-", 0.0), []).append(clean)
            for eps in settings.eps:
                for attack in ("fgsm", "ifgsm"):
                    for box, source in (("white", None), ("black", models["source"])):
                        err = attack_error(models[target], batches, attack=attack, eps=eps, device=device,
                                           source_model=source, steps=settings.steps)
                        table.setdefault((target, box, attack, eps), []).append(err)
        results[f"seed{seed}"] = {"erm": erm.summary(), "mixup": mix.summary(), "source": src.summary()}
    results["attack_error"] = [{"model": t, "box": b, "attack": a, "eps": e, "errors": v}
                               for (t, b, a, e), v in table.items()]

    clean_erm, clean_mix = mean(table["ERM", "clean", "-", 0.0]), mean(table["mixup", "clean", "-", 0.0])

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b > 0 else "—"

    rows = [("clean", "—", pct(table["ERM", "clean", "-", 0.0]), pct(table["mixup", "clean", "-", 0.0]), "—",
             "—")]
    for box in ("white", "black"):
        for attack in ("fgsm", "ifgsm"):
            for eps in settings.eps:
                e, m = mean(table["ERM", box, attack, eps]), mean(table["mixup", box, attack, eps])
                rows.append((f"{box}-box {attack.upper().replace('IFGSM', 'I-FGSM')}", f"{255 * eps:g}/255",
                             pct(table["ERM", box, attack, eps]), pct(table["mixup", box, attack, eps]),
                             ratio(e, m), ratio(e - clean_erm, m - clean_mix)))
    md = markdown_table(["attack", "ε (pixels)", "ERM top-1 error %", "mixup top-1 error %",
                         "ERM / mixup error", "ERM / mixup rise over clean"], rows)
    xs = [255 * e for e in settings.eps]
    series = {f"{t} {b}-box {a}": (xs, [100 * mean(table[t, b, a, e]) for e in settings.eps])
              for t in ("ERM", "mixup") for b in ("white", "black") for a in ("fgsm", "ifgsm")}
    chart = line_chart(series, path=ctx.out / "adversarial_error.png", title="top-1 error under attack",
                       xlabel="ε (pixel levels of 255)", ylabel="top-1 error %")

    eps_ref = min(settings.eps, key=lambda e: abs(e - 4 / 255))
    verdicts = []
    for (box, attack), name in ((("white", "fgsm"), "white-box FGSM"), (("black", "ifgsm"), "black-box I-FGSM")):
        e, m = mean(table["ERM", box, attack, eps_ref]), mean(table["mixup", box, attack, eps_ref])
        error_ratio = e / m if m > 0 else float("nan")
        paper_ratio = paper.ADVERSARIAL_ROBUSTNESS_RATIO[name]
        verdicts.append(Verdict(
            f"mixup is more robust under {name} (paper: about {paper_ratio}× in top-1 error)",
            judge(error_ratio - 1.0, paper_ratio - 1.0, noise=0.02),
            f"ε {255 * eps_ref:g}/255: ERM {pct(e)} %, mixup {pct(m)} %, ratio {error_ratio:.2f} (the paper's "
            f"'×' read as the ratio of top-1 errors); rise over clean ERM {pct(e - clean_erm)}, mixup "
            f"{pct(m - clean_mix)} points, ratio {ratio(e - clean_erm, m - clean_mix)}"))
    base = settings.base
    return Findings(
        setting={"data": f"{base['dataset']}, {base.get('train_subset') or 'all'} training images; "
                         f"{n} test images attacked",
                 "models": f"{base['model']}: ERM, mixup α={settings.alpha:g}, and a separate ERM model "
                           f"(seed + {SOURCE_SEED_OFFSET}) as the black-box source",
                 "attacks": f"FGSM and I-FGSM ({settings.steps} steps of 1.25·ε/steps), in pixel space [0, 1] "
                            f"(normalization inside the model), eval mode, clamped to [0, 1]",
                 "epochs": base.get("epochs", "preset")},
        sections=[("Top-1 error under attack", md),
                  ("Plot", image(chart.name, "Top-1 error against ε for each model and attack."))],
        verdicts=verdicts, results=results, plots=[chart.name],
        paper={"robustness_ratio": paper.ADVERSARIAL_ROBUSTNESS_RATIO,
               "setting": "ImageNet, ResNet-101; ε as stated in the paper's §3.5"},
    )
