"""The `ablation` experiment: which part of mixup matters, on Fashion-MNIST (arXiv 1710.09412 §3.8)."""

from __future__ import annotations

from dataclasses import dataclass

from vicinal.eval.plots import bar_chart
from vicinal.eval.report import mean

from . import paper
from .framework import Context, Findings, Verdict, gain_and_noise, judge_direction
from .reporting import image, markdown_table, pct
from .runs import NotRun, Variant, finals, run_variants, summaries


def all_variants(alpha: float, knn_k: int) -> tuple[Variant, ...]:
    """The rows of the paper's ablation table (mixing latent representations: see `generalization`)."""
    mix = dict(alpha=alpha, knn_k=knn_k)
    return (
        Variant("erm", "ERM", dict(alpha=0.0)),
        Variant("mixup_ac_rp", "mixup AC + RP", dict(mix, pairing="permutation")),
        Variant("mixup_sc_rp", "mixup SC + RP", dict(mix, pairing="same_class")),
        Variant("mixup_ac_knn", "mixup AC + KNN", dict(mix, pairing="knn")),
        Variant("mixup_sc_knn", "mixup SC + KNN", dict(mix, pairing="same_class_knn")),
        Variant("inputs_ac_rp", "mix input only AC + RP", dict(mix, pairing="permutation", mix="inputs")),
        Variant("inputs_sc_knn", "mix input only SC + KNN", dict(mix, pairing="same_class_knn", mix="inputs")),
        Variant("ls_0.1", "label smoothing ε=0.1", dict(alpha=0.0, label_smoothing=0.1)),
        Variant("ls_0.2", "label smoothing ε=0.2", dict(alpha=0.0, label_smoothing=0.2)),
        Variant("inputs_ls", "mix input + label smoothing ε=0.1", dict(mix, mix="inputs", label_smoothing=0.1)),
        Variant("noise", "Gaussian input noise σ=0.1", dict(alpha=0.0, input_noise=0.1)),
        Variant("dropout", "dropout p=0.5", dict(alpha=0.0, dropout=0.5)),
    )


@dataclass(frozen=True)
class AblationSettings:
    base: dict  # TrainConfig overrides shared by every run
    alpha: float  # mixup's α in the mixing rows
    knn_k: int  # neighbours of the KNN pairing (within the batch)
    weight_decays: tuple[float, ...] = (1e-4, 5e-4)
    keys: tuple[str, ...] | None = None  # a subset of the rows (None: all)


SETTINGS = {
    "smoke": AblationSettings(
        base=dict(dataset="fashion-mnist", model="mlp", train_subset=256, test_subset=256, epochs=2, batch_size=64,
                  augment_flip=False),
        alpha=1.0, knn_k=8, weight_decays=(1e-4,),
        keys=("erm", "mixup_ac_rp", "mixup_sc_knn", "inputs_ac_rp", "ls_0.1")),
    "quick": AblationSettings(
        base=dict(dataset="fashion-mnist", model="fastcnn", train_subset=10000, test_subset=5000, epochs=3),
        alpha=0.4, knn_k=16),
    "paper": AblationSettings(base=dict(dataset="cifar10", model="preact_resnet18"), alpha=1.0, knn_k=200),
}
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0,), "paper": (0,)}


def run(ctx: Context, settings: AblationSettings) -> Findings:
    chosen = tuple(v for v in all_variants(settings.alpha, settings.knn_k)
                   if settings.keys is None or v.key in settings.keys)
    errors: dict[float, dict[str, list[float] | NotRun]] = {}
    results = {}
    for wd in settings.weight_decays:
        tagged = tuple(Variant(f"wd{wd:g}/{v.key}", v.label, v.overrides) for v in chosen)
        runs = run_variants(ctx, {**settings.base, "weight_decay": wd}, tagged)
        errors[wd] = {v.key: (finals(runs[t.key], "test_error") if isinstance(runs[t.key], list) else runs[t.key])
                      for v, t in zip(chosen, tagged)}
        results[f"{wd:g}"] = {v.key: summaries(runs[t.key]) for v, t in zip(chosen, tagged)}

    def cell(value: list[float] | NotRun) -> str:
        return str(value) if isinstance(value, NotRun) else pct(value, 2)

    paper_cell = {"erm": lambda wd: paper.CIFAR10_PREACT_README.get(("erm", wd)),
                  "mixup_ac_rp": lambda wd: paper.CIFAR10_PREACT_README.get(("mixup", wd))}
    header = ["method"] + [f"wd {wd:g}: test error %" for wd in settings.weight_decays] + \
             [f"paper wd {wd:g} (CIFAR-10) %" for wd in settings.weight_decays]
    rows = [[v.label] + [cell(errors[wd][v.key]) for wd in settings.weight_decays] +
            [str(paper_cell[v.key](wd) or "—") if v.key in paper_cell else "—" for wd in settings.weight_decays]
            for v in chosen]
    table = markdown_table(header, rows)

    wd0 = settings.weight_decays[0]
    measured = {k: mean(v) for k, v in errors[wd0].items() if isinstance(v, list) and v}
    ranking = sorted(measured, key=measured.get)
    verdicts = []
    if "mixup_ac_rp" in measured:
        rank = ranking.index("mixup_ac_rp") + 1
        verdicts.append(Verdict(paper.CLAIMS["ablation"],
                                "reproduced" if rank == 1 else "partly" if rank <= 3 else "not reproduced",
                                f"wd {wd0:g}: mixup AC+RP ranks {rank} of {len(ranking)}; best: "
                                + ", ".join(f"{k} {pct(measured[k], 2)}" for k in ranking[:3])))
    if "mixup_ac_rp" in measured and "inputs_ac_rp" in measured:
        gain, noise = gain_and_noise(errors[wd0]["inputs_ac_rp"], errors[wd0]["mixup_ac_rp"])
        verdicts.append(Verdict("mixing the labels matters: AC+RP with mixed labels beats mixing inputs only",
                                judge_direction(gain, noise=noise),
                                f"inputs only {pct(measured['inputs_ac_rp'], 2)} % → inputs and labels "
                                f"{pct(measured['mixup_ac_rp'], 2)} % ({100 * gain:+.1f} % relative)"))
    if "erm" in measured and "mixup_ac_rp" in measured:
        gain, noise = gain_and_noise(errors[wd0]["erm"], errors[wd0]["mixup_ac_rp"])
        verdicts.append(Verdict("mixup AC+RP beats ERM", judge_direction(gain, noise=noise),
                                f"{100 * gain:+.1f} % relative (paper, CIFAR-10 wd 1e-4: 5.53 → 4.24, +23 %)"))
    chart = bar_chart({v.label: [100 * e for e in errors[wd0][v.key]] for v in chosen
                       if isinstance(errors[wd0][v.key], list) and errors[wd0][v.key]},
                      path=ctx.out / "ablation_error.png", title=f"ablation, weight decay {wd0:g}",
                      ylabel="test error %")
    base = settings.base
    return Findings(
        setting={"data": f"{base['dataset']}, {base.get('train_subset') or 'all'} training images",
                 "model": base["model"], "epochs": base.get("epochs", "preset"),
                 "mixup": f"α={settings.alpha:g}; AC = partners of any class, SC = same class; RP = random "
                          f"pairs, KNN = among the {settings.knn_k} nearest inputs in the batch",
                 "weight decays": ", ".join(f"{wd:g}" for wd in settings.weight_decays)},
        sections=[("Ablation table", "The paper's numbers are for CIFAR-10 / PreAct ResNet-18 (official README, "
                   "shared with its ablation table); a row the trainer cannot configure says 'not run'.\n\n" + table),
                  ("Plot", image(chart.name, "Test error per ablation row, first weight decay."))],
        verdicts=verdicts, results=results, plots=[chart.name],
        paper={"cifar10_preact_readme": {f"{m} wd {wd:g}": v for (m, wd), v in paper.CIFAR10_PREACT_README.items()},
               "claim": paper.CLAIMS["ablation"]},
    )
