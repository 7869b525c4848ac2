"""The `tabular` experiment: the paper's UCI protocol, ERM vs mixup, over seeded splits (arXiv 1710.09412 §3.6)."""

from __future__ import annotations

from dataclasses import dataclass

from vicinal.eval.plots import bar_chart

from . import paper
from .framework import Context, Findings, Verdict, gain_and_noise
from .reporting import image, markdown_table, pct
from .runs import NotRun, Variant, finals, run_variants, summaries

# The paper's protocol: MLP 2 × 128 ReLU, Adam with its default settings, batch 16, 10 epochs.
PROTOCOL = dict(model="mlp", optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0, schedule="constant",
                batch_size=16, epochs=10, augment_flip=False, augment_crop=0, train_subset=None, test_subset=None)
OTHER_PAPER_SETS = ("abalone", "arcene", "arrhythmia", "htru2", "phishing")


@dataclass(frozen=True)
class TabularSettings:
    datasets: tuple[str, ...]  # data set names (csv:PATH[:LABEL_COLUMN] too: run_experiment(options=...))
    alpha: float = 1.0  # mixup's α
    epochs: int = 10


SETTINGS = {
    "smoke": TabularSettings(datasets=("iris",), epochs=2),
    "quick": TabularSettings(datasets=("iris", "wine", "breast-cancer", "digits")),
    "paper": TabularSettings(datasets=("iris", "wine", "breast-cancer", "digits")),
}
DEFAULT_SEEDS = {"smoke": (0, 1), "quick": (0, 1, 2, 3, 4), "paper": tuple(range(10))}


def run(ctx: Context, settings: TabularSettings) -> Findings:
    chosen = (Variant("erm", "ERM", dict(alpha=0.0)),
              Variant(f"mixup_a{settings.alpha:g}", f"mixup α={settings.alpha:g}", dict(alpha=settings.alpha)))
    rows, results, bars, better, worse = [], {}, {}, 0, 0
    for name in settings.datasets:
        base = {**PROTOCOL, "dataset": name, "epochs": settings.epochs}
        folder = name.replace(":", "_").replace("/", "_")
        runs = run_variants(ctx, base, tuple(Variant(f"{folder}/{v.key}", v.label, v.overrides) for v in chosen))
        erm, mix = (runs[f"{folder}/{v.key}"] for v in chosen)
        results[name] = {v.key: summaries(runs[f"{folder}/{v.key}"]) for v in chosen}
        if isinstance(erm, NotRun) or isinstance(mix, NotRun):
            rows.append((name, *(r if isinstance(r, NotRun) else "—" for r in (erm, mix)), "—"))
            continue
        e, m = finals(erm, "test_error"), finals(mix, "test_error")
        gain, noise = gain_and_noise(e, m)
        outcome = "better" if gain > noise else ("worse" if -gain > noise else "same (within noise)")
        better += outcome == "better"
        worse += outcome == "worse"
        rows.append((name, pct(e), pct(m), outcome))
        bars[f"{name} ERM"], bars[f"{name} mixup"] = [100 * v for v in e], [100 * v for v in m]
    table = markdown_table(["data set", "ERM test error %", f"mixup α={settings.alpha:g} test error %",
                            "mixup vs ERM"], rows)
    measured = better + worse + sum(1 for r in rows if r[3] == "same (within noise)")
    # reproduced: never worse and better on at least half; partly: never worse, or better more often than worse
    status = ("reproduced" if worse == 0 and better >= measured / 2 else
              "partly" if worse == 0 or better > worse else "not reproduced") if measured else "not measured"
    chart = bar_chart(bars or {"none": [0.0]}, path=ctx.out / "tabular_error.png",
                      title="UCI test error, mean ± std over seeded splits", ylabel="test error %")
    return Findings(
        setting={"data": ", ".join(settings.datasets) + " (scikit-learn's bundled UCI sets; 80/20 split "
                 "drawn per seed, features standardized on the training split)",
                 "model": "MLP, two hidden layers of 128 ReLU (the paper's)",
                 "training": f"Adam lr 1e-3 (default settings), batch 16, {settings.epochs} epochs, no weight decay",
                 "the paper's other sets": ", ".join(OTHER_PAPER_SETS) + ": run them with "
                 "run_experiment('tabular', ..., options={'datasets': ('csv:PATH:LABEL_COLUMN', ...)})"},
        sections=[("Test error", "'better'/'worse' = the difference of means exceeds its standard error.\n\n"
                   + table),
                  ("Plot", image(chart.name, "Test error per data set, ERM beside mixup."))],
        verdicts=[Verdict(paper.CLAIMS["tabular"], status,
                          f"mixup better on {better}, worse on {worse}, of {measured} sets; paper: better on 4 of 6, "
                          "never worse")],
        results=results, plots=[chart.name],
        paper={"claim": paper.CLAIMS["tabular"], "protocol": PROTOCOL},
    )
