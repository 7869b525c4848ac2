"""The `tabular` experiment: the paper's UCI protocol, ERM vs mixup, on bundled sets and on small-n high-dimensional
ones, over seeded splits (arXiv 1710.09412 §3.6)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vicinal.eval.plots import bar_chart
from vicinal.eval.report import markdown_table
from vicinal.eval.stats import paired

from .framework import Context, Findings, Verdict
from .reporting import image, pct
from .runs import Variant, by_key, per_seed, plan_variants, summaries, train_runs, was_run

# The paper's protocol: MLP 2 × 128 ReLU, Adam with its default settings, batch 16, 10 epochs. One CPU thread: the
# MLP's small matrices gain nothing from a second one, which only spins.
PROTOCOL = dict(model="mlp", optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0, schedule="constant",
                batch_size=16, epochs=10, augment_flip=False, augment_crop=0, train_subset=None, test_subset=None,
                threads=1)
OTHER_PAPER_SETS = ("abalone", "arcene", "arrhythmia", "htru2", "phishing")
GENERATED = "make_classification"  # written by the experiment: a few hundred rows, thousands of features

# Named sets beyond a data set name: the data set and the trainer fields that make them (small n, many features).
SETS: dict[str, dict[str, Any]] = {
    "digits-10%": dict(dataset="digits", train_subset=144),  # 10 % of digits' 1,437 training rows (80/20 split)
    "fashion-mnist-500": dict(dataset="fashion-mnist", train_subset=500),  # 784 pixels as features, 500 rows
    GENERATED: dict(train_subset=300),  # 300 of the file's 600 training rows, 2,000 features
}
GENERATED_SHAPE = dict(train=600, test=2000, features=2000, informative=20, classes=2)


@dataclass(frozen=True)
class TabularSettings:
    datasets: tuple[str, ...]  # names of SETS or data set names (csv:PATH[:LABEL_COLUMN] too)
    alpha: float = 1.0  # mixup's α
    epochs: int = 10


SETTINGS = {
    "smoke": TabularSettings(datasets=("iris", GENERATED), epochs=2),
    "quick": TabularSettings(datasets=("iris", "wine", "breast-cancer", "digits", "digits-10%", "fashion-mnist-500",
                                       GENERATED)),
    "paper": TabularSettings(datasets=("iris", "wine", "breast-cancer", "digits", "digits-10%", "fashion-mnist-500",
                                       GENERATED)),
}
DEFAULT_SEEDS = {"smoke": (0, 1), "quick": tuple(range(10)), "paper": tuple(range(10))}


def generated_set(folder: Path) -> Path:
    """scikit-learn's make_classification as an npz (600 training rows to draw from, 2,000 test rows, 2,000
    features of which 20 informative, 2 classes; random_state 0), written once into ``folder``."""
    from sklearn.datasets import make_classification

    path = folder / f"{GENERATED}.npz"
    if not path.exists():
        s = GENERATED_SHAPE
        x, y = make_classification(n_samples=s["train"] + s["test"], n_features=s["features"],
                                   n_informative=s["informative"], n_redundant=s["informative"],
                                   n_classes=s["classes"], random_state=0)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(path, x_train=x[:s["train"]].astype(np.float32), y_train=y[:s["train"]],
                 x_test=x[s["train"]:].astype(np.float32), y_test=y[s["train"]:])
    return path


def _base(ctx: Context, name: str, epochs: int) -> dict[str, Any]:
    extra = dict(SETS.get(name, {"dataset": name}))
    if name == GENERATED:
        extra["dataset"] = f"npz:{generated_set(ctx.runs / 'data')}"
    return {**PROTOCOL, **extra, "epochs": epochs}


def _folder(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name)


def measure(ctx: Context, settings: TabularSettings) -> dict[str, Any]:
    chosen = (Variant("erm", "ERM", dict(alpha=0.0)),
              Variant(f"mixup_a{settings.alpha:g}", f"mixup α={settings.alpha:g}", dict(alpha=settings.alpha)))
    planned, refused, keys = [], {}, {}
    for name in settings.datasets:
        tagged = tuple(Variant(f"{_folder(name)}_{v.key}", v.label, v.overrides) for v in chosen)
        more, no = plan_variants(ctx, _base(ctx, name, settings.epochs), tagged)
        planned += more
        refused.update(no)
        keys[name] = {v.key: t.key for v, t in zip(chosen, tagged)}
    runs = by_key(train_runs(ctx, planned))
    return {"methods": [{"key": v.key, "label": v.label} for v in chosen],
            "sets": {name: {"runs": {k: summaries(refused.get(t) or runs.get(t)) for k, t in tags.items()}}
                     for name, tags in keys.items()}}


def set_verdicts(sets: dict[str, Any], erm: str, mix: str) -> dict[str, tuple[str, str]]:
    """Per set: ("mixup better" verdict, "mixup worse" verdict) by the paired rule on test error."""
    out = {}
    for name, entry in sets.items():
        e, m = entry["runs"].get(erm), entry["runs"].get(mix)
        if was_run(e) and was_run(m):
            diff = paired(per_seed(e, "test_error"), per_seed(m, "test_error"))
            out[name] = (diff.verdict(-1), diff.verdict(1))
    return out


def report(results: dict[str, Any], folder: Path) -> Findings:
    settings, measured = results["settings"], results["measured"]
    erm, mix = (m["key"] for m in measured["methods"])
    mix_label = measured["methods"][1]["label"]
    sets = measured["sets"]
    per_set = set_verdicts(sets, erm, mix)
    rows, bars = [], {}
    for name, entry in sets.items():
        e, m = entry["runs"][erm], entry["runs"][mix]
        if name not in per_set:
            rows.append((name, *(str(x) if not was_run(x) else "—" for x in (e, m)), "—", "—"))
            continue
        diff = paired(per_seed(e, "test_error"), per_seed(m, "test_error"))
        rows.append((name, pct(per_seed(e, "test_error")), pct(per_seed(m, "test_error")),
                     diff.describe(scale=100, digits=1, unit=" points"), per_set[name][0]))
        bars[f"{name} ERM"] = [100 * v for v in per_seed(e, "test_error").values()]
        bars[f"{name} mixup"] = [100 * v for v in per_seed(m, "test_error").values()]
    table = markdown_table(["data set", "ERM test error %", f"{mix_label} test error %",
                            "mixup − ERM (paired)", "mixup lowers the error?"], rows)

    better = [n for n, (b, _) in per_set.items() if b == "reproduced"]
    worse = [n for n, (_, w) in per_set.items() if w == "reproduced"]
    few = all(b == "indicative" for b, _ in per_set.values())
    measured_sets = len(per_set)
    never_worse = ("not measured" if not per_set else "indicative" if few else
                   "contradicted" if worse else "reproduced")
    most = ("not measured" if not per_set else "indicative" if few else
            "reproduced" if 2 * len(better) > measured_sets else
            "contradicted" if 2 * len(worse) > measured_sets else "not reproduced")
    verdicts = [
        Verdict("mixup is never worse than ERM on these sets", "sets where mixup's error is higher by the rule",
                f"{len(worse)} of {measured_sets}" + (f" ({', '.join(worse)})" if worse else ""), "0 of 6",
                never_worse),
        Verdict("mixup lowers the test error on most sets", "sets where mixup's error is lower by the rule",
                f"{len(better)} of {measured_sets}" + (f" ({', '.join(better)})" if better else ""), "4 of 6", most),
    ]
    chart = bar_chart(bars or {"none": [0.0]}, path=folder / "tabular_error.png",
                      title="test error, mean ± std over seeded splits", ylabel="test error %")
    return Findings(
        setting={"data": ", ".join(sets) + ". iris, wine, breast-cancer, digits: scikit-learn's bundled UCI sets, an "
                 "80/20 split drawn per seed, features standardized on the training split. Small n, many features "
                 "(the kind of set where the paper's gains were, e.g. Arcene): digits-10% = 144 training rows of "
                 "digits (10 % of its training split); fashion-mnist-500 = 500 training images as 784 flattened "
                 "features, tested on the full test set; make_classification = 300 training rows (drawn per seed "
                 "from 600) of 2,000 features, 20 informative, 2 classes, 2,000 test rows (scikit-learn, "
                 "random_state 0)",
                 "model": "MLP, two hidden layers of 128 ReLU (the paper's)",
                 "training": f"Adam lr 1e-3 (default settings), batch 16, {settings['epochs']} epochs, no weight decay",
                 "the paper's other sets": ", ".join(OTHER_PAPER_SETS) + ": not bundled; run them with `vicinal "
                 "reproduce tabular --datasets csv:PATH:LABEL_COLUMN ...`",
                 "verdicts": "per set, the paired rule on test error; 'never worse' is reproduced when no set has "
                             "mixup worse by that rule (contradicted when one has), 'most sets' when more than half "
                             "have it better (contradicted when more than half have it worse)"},
        sections=[("Test error", table), ("Plot", image(chart.name, "Test error per data set, ERM beside mixup."))],
        verdicts=verdicts, plots=[chart.name],
    )

