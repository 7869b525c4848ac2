"""The `memorization` experiment: training on corrupted labels, ERM vs dropout vs mixup (arXiv 1710.09412 §3.4)."""

from __future__ import annotations

from dataclasses import dataclass

from vicinal.eval.plots import learning_curves
from vicinal.eval.report import mean

from . import paper
from .framework import Context, Findings, Verdict, gain_and_noise, judge, judge_direction
from .reporting import image, markdown_table, pct
from .runs import Variant, finals, run_variants, summaries, tested_history


@dataclass(frozen=True)
class MemorizationSettings:
    base: dict  # TrainConfig overrides shared by every run (the paper's step schedule)
    noise_levels: tuple[float, ...]  # fractions of training labels replaced at random
    small_alpha: float = 1.0  # "a small α" beside the paper's 8 and 32
    mixup_dropout: tuple[float, float] = (8.0, 0.5)  # (α, p) of mixup + dropout (paper searched α 1–8, p 0.3–0.7)


def variants(noise: float, settings: MemorizationSettings) -> tuple[Variant, ...]:
    best = paper.MEMORIZATION_BEST.get(noise, {"dropout": 0.8})
    a, p = settings.mixup_dropout
    return (
        Variant("erm", "ERM", dict(alpha=0.0)),
        Variant("erm_dropout", f"ERM + dropout p={best['dropout']:g}", dict(alpha=0.0, dropout=best["dropout"])),
        Variant(f"mixup_a{settings.small_alpha:g}", f"mixup α={settings.small_alpha:g}",
                dict(alpha=settings.small_alpha)),
        Variant("mixup_a8", "mixup α=8", dict(alpha=8.0)),
        Variant("mixup_a32", "mixup α=32", dict(alpha=32.0)),
        Variant("mixup_dropout", f"mixup α={a:g} + dropout p={p:g}", dict(alpha=a, dropout=p)),
    )


def _step(epochs: int) -> dict:
    """The paper's step schedule scaled to `epochs`: lr ÷10 at 50 % and 75 % of training."""
    return dict(epochs=epochs, schedule="step", milestones=(epochs // 2, (3 * epochs) // 4), lr_decay=0.1,
                lr=0.1, momentum=0.9, weight_decay=1e-4)


SETTINGS = {
    "smoke": MemorizationSettings(
        base=dict(dataset="fashion-mnist", model="mlp", train_subset=256, test_subset=256, batch_size=64,
                  augment_flip=False, **_step(4)),
        noise_levels=(0.5,)),
    # The regime of PAPER.md's note: a 5,120-image subset where ERM does memorize the wrong labels.
    "quick": MemorizationSettings(
        base=dict(dataset="fashion-mnist", model="fastcnn", train_subset=5120, test_subset=2000, batch_size=128,
                  augment_flip=True, eval_every=2, **_step(40)),
        noise_levels=(0.5,)),
    "paper": MemorizationSettings(
        base=dict(dataset="cifar10", model="preact_resnet18", batch_size=128, augment_crop=4, augment_flip=True,
                  **_step(200)),
        noise_levels=(0.2, 0.5, 0.8)),
}
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0,), "paper": (0,)}


def _paper_key(key: str, noise: float) -> str | None:
    """Which column of the paper's table a variant sits beside."""
    alpha = paper.MEMORIZATION_BEST.get(noise, {}).get("alpha")
    return {"erm": "erm", "erm_dropout": "erm_dropout", "mixup_dropout": "mixup_dropout",
            f"mixup_a{alpha:g}" if alpha else "": "mixup"}.get(key)


def run(ctx: Context, settings: MemorizationSettings) -> Findings:
    sections, verdicts, results, plots = [], [], {}, []
    for noise in settings.noise_levels:
        chosen = variants(noise, settings)
        runs = run_variants(ctx, {**settings.base, "label_noise": noise}, chosen)
        done = {v.key: runs[v.key] for v in chosen if isinstance(runs[v.key], list)}
        label = {v.key: v.label for v in chosen}
        table_paper = paper.MEMORIZATION.get(noise, {})
        rows = []
        for v in chosen:
            pk = _paper_key(v.key, noise)
            ref = table_paper.get(pk) if pk else None
            paper_cell = f"{ref[0]} / {ref[1]}" if ref else "—"
            if v.key not in done:
                rows.append((v.label, str(runs[v.key]), "—", "—", "—", paper_cell))
                continue
            r = done[v.key]
            best, last = finals(r, "best_test_error"), finals(r, "test_error")
            gap = [b - a for a, b in zip(best, last)]
            rows.append((v.label, f"{pct(best)} / {pct(last)}", pct(gap), pct(finals(r, "corrupted_fit")),
                         pct(finals(r, "clean_train_error")), paper_cell))
        table = markdown_table(["method", "test error % best / last", "last − best", "corrupted labels fit %",
                                "error on clean train labels %", "paper best / last % (CIFAR-10)"], rows)
        curve = learning_curves({label[k]: [tested_history(rec) for rec in r] for k, r in done.items()},
                                path=ctx.out / f"memorization_{int(100 * noise)}.png",
                                title=f"{int(100 * noise)} % corrupted labels",
                                metrics=("test_error", "corrupted_fit"))
        plots.append(curve.name)
        sections.append((f"{int(100 * noise)} % corrupted labels", table + "\n\n" + image(
            curve.name, "Test error and the share of corrupted training labels the network predicts "
            "(memorization) per epoch. ERM memorizes when its corrupted fit climbs towards 100 % and its "
            "test error rises with it.")))
        results[str(noise)] = {k: summaries(r) for k, r in runs.items()}

        paper_alpha = paper.MEMORIZATION_BEST.get(noise, {}).get("alpha", 32.0)
        mix_key = f"mixup_a{paper_alpha:g}"
        if "erm" in done and mix_key in done:
            erm, mix = done["erm"], done[mix_key]
            erm_gap = mean(finals(erm, "test_error")) - mean(finals(erm, "best_test_error"))
            mix_gap = mean(finals(mix, "test_error")) - mean(finals(mix, "best_test_error"))
            p_erm, p_mix = paper.MEMORIZATION.get(noise, paper.MEMORIZATION[0.5])["erm"], \
                paper.MEMORIZATION.get(noise, paper.MEMORIZATION[0.5])["mixup"]
            verdicts.append(Verdict(
                f"{int(100 * noise)} %: ERM memorizes (last error well above best), mixup α={paper_alpha:g} much less",
                judge_direction(erm_gap - mix_gap, noise=0.01),
                f"last − best: ERM {100 * erm_gap:.1f}, mixup {100 * mix_gap:.1f} points; paper "
                f"{p_erm[1] - p_erm[0]:.1f} and {p_mix[1] - p_mix[0]:.1f}"))
            gain, noise_level = gain_and_noise(finals(erm, "test_error"), finals(mix, "test_error"))
            paper_gain = (p_erm[1] - p_mix[1]) / p_erm[1]
            verdicts.append(Verdict(
                f"{int(100 * noise)} %: mixup's last test error is far below ERM's",
                judge(gain, paper_gain, noise=noise_level),
                f"ERM {pct(finals(erm, 'test_error'))} → mixup {pct(finals(mix, 'test_error'))} % "
                f"({100 * gain:+.0f} % relative); paper {p_erm[1]} → {p_mix[1]} ({100 * paper_gain:+.0f} %)"))
            fit_erm, fit_mix = mean(finals(erm, "corrupted_fit")), mean(finals(mix, "corrupted_fit"))
            verdicts.append(Verdict(
                f"{int(100 * noise)} %: mixup fits fewer corrupted labels than ERM",
                judge_direction(fit_erm - fit_mix, noise=0.02),
                f"corrupted labels fit at the end: ERM {pct(fit_erm)} %, mixup {pct(fit_mix)} %"))
    base = settings.base
    return Findings(
        setting={"data": f"{base['dataset']}, {base.get('train_subset') or 'all'} training images",
                 "corrupted labels": ", ".join(f"{int(100 * n)} %" for n in settings.noise_levels),
                 "model": base["model"],
                 "schedule": f"{base['epochs']} epochs, SGD lr {base['lr']} ÷10 at epochs {base['milestones']}, "
                             f"wd {base['weight_decay']}, batch {base['batch_size']}"},
        sections=sections, verdicts=verdicts, results=results, plots=plots,
        paper={"memorization": {str(k): v for k, v in paper.MEMORIZATION.items()},
               "best_settings": {str(k): v for k, v in paper.MEMORIZATION_BEST.items()}},
    )
