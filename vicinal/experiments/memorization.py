"""The `memorization` experiment: training on corrupted labels, ERM vs ERM + dropout vs mixup
(arXiv 1710.09412 §3.4)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vicinal.eval.plots import learning_curves
from vicinal.eval.report import markdown_table

from . import paper
from .framework import Context, Findings, judge
from .regime import describe, step_schedule
from .reporting import image, pct
from .runs import Variant, by_key, histories, per_seed, plan_variants, summaries, train_runs, was_run


@dataclass(frozen=True)
class MemorizationSettings:
    base: dict[str, Any]  # TrainConfig overrides shared by every run
    reason: str  # why this regime (written into the report)
    noise_levels: tuple[float, ...]  # fractions of training labels replaced by uniformly random ones
    extra_alphas: tuple[float, ...] = ()  # mixup α run at every level beside the paper's best one for it


def _level(noise: float) -> str:
    return f"{round(100 * noise)} %"


def best_settings(noise: float) -> dict[str, float]:
    """The paper's best dropout p and mixup α for a level (for a level it did not run: those of 50 %)."""
    return paper.MEMORIZATION_BEST.get(noise, paper.MEMORIZATION_BEST[0.5])


def variants(noise: float, settings: MemorizationSettings) -> tuple[tuple[Variant, str | None], ...]:
    """ERM, ERM + dropout at the paper's best p for the level, mixup at the paper's best α for it (and the extra α),
    each with the column of the paper's table it sits beside."""
    best = best_settings(noise)
    tag = f"n{round(100 * noise)}"
    alphas = dict.fromkeys((best["alpha"], *settings.extra_alphas))
    return (
        (Variant(f"{tag}_erm", "ERM", dict(alpha=0.0)), "erm"),
        (Variant(f"{tag}_erm_dropout", f"ERM + dropout p={best['dropout']:g}",
                 dict(alpha=0.0, dropout=best["dropout"])), "erm_dropout"),
        *((Variant(f"{tag}_mixup_a{a:g}", f"mixup α={a:g}", dict(method="mixup", alpha=a)),
           "mixup" if a == best["alpha"] else None) for a in alphas),
    )


_QUICK_REASON = (
    "Chosen before any comparison, by a rule: a regime in which ERM memorizes (a small training set and a long "
    "schedule: an earlier run on 5,120 images fitted 57 % of the corrupted labels in 40 epochs), the paper's step "
    "schedule (lr ÷10 at 50 % and 75 %), and epochs enough for mixup α = 32, whose targets are near 50/50 blends "
    "and learn slowest, to stop improving. A probe of α = 32 alone (50 % corrupted, seed 0, 120 epochs, lr ÷10 at "
    "60 and 90) was level at lr 0.1 from epoch 30 (29.1, 30.5, 32.6 % test error at 30, 40, 50) and stopped "
    "improving 10 epochs after the first drop (22.8 % at 70, 22.5 % at 120); 60 epochs keep 30 before the first "
    "drop and 15 after each (100 epochs would not fit three seeds into the 90 minutes of `reproduce all`). "
    "fastcnn at width 32, the cheapest: these are the most runs of any experiment. The test set is evaluated every "
    "second epoch, so the best test error is the best of 30 evaluations, not of a handful.")

SETTINGS = {
    "smoke": MemorizationSettings(
        base=dict(dataset="fashion-mnist", model="mlp", train_subset=256, test_subset=256, augment_flip=False,
                  augment_crop=0, eval_every=1, **{**step_schedule(4), "batch_size": 64}),
        reason="smoke: seconds of training to check the pipeline.", noise_levels=(0.5,)),
    "quick": MemorizationSettings(
        base=dict(dataset="fashion-mnist", model="fastcnn32", train_subset=2000, test_subset=None, augment_flip=True,
                  augment_crop=0, eval_every=2, **step_schedule(60)),
        reason=_QUICK_REASON, noise_levels=(0.2, 0.5, 0.8)),
    "paper": MemorizationSettings(
        base=dict(dataset="cifar10", model="preact_resnet18", augment_crop=4, augment_flip=True, **step_schedule(200)),
        reason="the paper's own settings (PreAct ResNet-18 on CIFAR-10, 200 epochs).", noise_levels=(0.2, 0.5, 0.8),
        extra_alphas=(1.0, 2.0, 8.0, 32.0)),
}
# this paper's headline claims: 5 paired seeds
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1, 2, 3, 4), "paper": (0, 1, 2, 3, 4)}


def measure(ctx: Context, settings: MemorizationSettings) -> dict[str, Any]:
    levels, planned, refused = {}, [], {}
    for noise in settings.noise_levels:
        chosen = variants(noise, settings)
        more, no = plan_variants(ctx, {**settings.base, "label_noise": noise}, [v for v, _ in chosen])
        planned += more
        refused.update(no)
        levels[str(noise)] = [{"key": v.key, "label": v.label, "paper": column} for v, column in chosen]
    runs = by_key(train_runs(ctx, planned))
    return {"levels": levels, "runs": {v["key"]: summaries(refused.get(v["key"]) or runs.get(v["key"]))
                                       for rows in levels.values() for v in rows}}


def _gap(entry: Any) -> dict[int, float]:
    """seed → last − best test error (how far the error climbed back up: memorization)."""
    best, last = per_seed(entry, "best_test_error"), per_seed(entry, "test_error")
    return {s: last[s] - best[s] for s in last if s in best}


def _paper_effects(table: dict[str, tuple[float, float]] | None) -> dict[str, str]:
    """The paper's effect for each claim of a level, from its (best, last) test errors ("—" where it has none)."""
    if table is None:
        return dict.fromkeys(("last", "gap", "fit", "dropout"), "— (a level the paper did not run)")
    (e_best, e_last), (m_best, m_last), d_last = table["erm"], table["mixup"], table["erm_dropout"][1]
    return {"last": f"{e_last} → {m_last} ({m_last - e_last:+.1f})",
            "gap": f"{e_last - e_best:.1f} → {m_last - m_best:.1f} ({(m_last - m_best) - (e_last - e_best):+.1f})",
            "fit": "— (not in the paper's table)",
            "dropout": f"{d_last} → {m_last} ({m_last - d_last:+.1f})"}


def report(results: dict[str, Any], folder: Path) -> Findings:
    settings, measured = results["settings"], results["measured"]
    runs = measured["runs"]
    sections, verdicts, plots = [], [], []
    for noise_key, members in measured["levels"].items():
        noise = float(noise_key)
        level, table_paper = _level(noise), paper.MEMORIZATION.get(noise)
        rows = []
        for m in members:
            e, ref = runs[m["key"]], (table_paper or {}).get(m["paper"])
            paper_cell = f"{ref[0]} / {ref[1]}" if ref else "—"
            if not was_run(e):
                rows.append((m["label"], str(e), "—", "—", "—", paper_cell))
                continue
            rows.append((m["label"], f"{pct(per_seed(e, 'best_test_error'))} / {pct(per_seed(e, 'test_error'))}",
                         pct(_gap(e)), pct(per_seed(e, "corrupted_fit")), pct(per_seed(e, "clean_train_error")),
                         paper_cell))
        table = markdown_table(["method", "test error % best / last", "last − best", "corrupted labels fit % (end)",
                                "error on the true training labels % (end)", "paper best / last % (CIFAR-10)"], rows)
        done = {m["label"]: runs[m["key"]] for m in members if was_run(runs[m["key"]])}
        curve = learning_curves({label: histories(e) for label, e in done.items()},
                                path=folder / f"memorization_{round(100 * noise)}.png",
                                title=f"{level} corrupted labels", metrics=("test_error", "corrupted_fit"))
        plots.append(curve.name)
        sections.append((f"{level} corrupted labels", table + "\n\n" + image(
            curve.name, "Test error and the share of corrupted training labels the network predicts (memorization) "
            "per evaluated epoch, mean ± std over seeds.")))

        column = {m["paper"]: m for m in members if m["paper"]}
        erm, dropout, mix = (runs.get(column[k]["key"]) for k in ("erm", "erm_dropout", "mixup"))
        if not (was_run(erm) and was_run(mix)):
            continue
        name, effect = column["mixup"]["label"], _paper_effects(table_paper)
        for claim, what, baseline, other, key in (
                ("mixup's last test error is far below ERM's", f"last test error %, {name} − ERM",
                 per_seed(erm, "test_error"), per_seed(mix, "test_error"), "last"),
                ("ERM memorizes the corrupted labels, mixup much less", f"last − best test error, {name} − ERM",
                 _gap(erm), _gap(mix), "gap"),
                ("mixup fits fewer of the corrupted labels", f"corrupted labels fit % (end), {name} − ERM",
                 per_seed(erm, "corrupted_fit"), per_seed(mix, "corrupted_fit"), "fit"),
                ("mixup beats ERM + dropout", f"last test error %, {name} − {column['erm_dropout']['label']}",
                 per_seed(dropout, "test_error"), per_seed(mix, "test_error"), "dropout")):
            if baseline:
                verdicts.append(judge(f"{level} corrupted: {claim}", measure=what, baseline=baseline, other=other,
                                      expected_sign=-1, paper=effect[key], unit=" points",
                                      scope="ours" if key == "fit" else "this paper"))
    base = settings["base"]
    return Findings(
        setting={"regime": describe(base) + "; a share of the training labels replaced by uniformly random ones "
                           "(drawn per seed)",
                 "corrupted labels": ", ".join(_level(float(n)) for n in measured["levels"]),
                 "why this regime": settings["reason"],
                 "settings per level": "the paper's best for each level: dropout p 0.7 at 20 %, 0.8 at 50 and 80 %; "
                                       "mixup α 8 at 20 %, 32 at 50 and 80 %"
                                       + (f"; also α {', '.join(f'{a:g}' for a in settings['extra_alphas'])}"
                                          if settings["extra_alphas"] else "")},
        sections=sections, verdicts=verdicts, plots=plots,
    )
