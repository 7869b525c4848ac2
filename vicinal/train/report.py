"""report.md of a run and of a comparison (ERM vs mixup): tables, learning curves and reliability diagrams."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vicinal.eval import learning_curves, markdown_table, mean_std, reliability_diagram
from vicinal.train.budget import describe as describe_budget
from vicinal.train.checkpoint import atomic_write
from vicinal.train.rundir import REPORT_NAME

CURVES_NOTE = ("Learning curves: test error (at the epochs it was measured) and training loss after each epoch "
               "(mean over seeds, band ± one std); "
               "training loss is measured on the mixed batches, so mixup's is higher by design.")
RELIABILITY_NOTE = ("Reliability diagram: accuracy of the test predictions per confidence bin (15 bins) against the "
                    "diagonal of perfect calibration; hatched red is the gap to the bin's mean confidence "
                    "(above the bar: over-confident). ECE in each title.")


def label_of(alpha: float, method: str = "mixup") -> str:
    return "ERM" if alpha == 0 else f"{method} α={alpha:g}"


def _write(path: Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text), binary=False)


def _curve_metrics(histories: Sequence[list[dict]]) -> tuple[str, ...]:
    tested = all(any(row.get("test_error") is not None for row in run) for run in histories)
    return ("test_error", "train_loss") if tested else ("train_loss",)


def write_run_report(result) -> Path:
    """report.md of one run (with learning_curves.png and reliability.png) in its folder."""
    run_dir, c, f = Path(result.run_dir), result.config, result.final
    label = label_of(c.alpha, c.method)
    curves = learning_curves({label: [result.history]}, path=run_dir / "learning_curves.png",
                             title=f"{c.model} on {c.dataset}, {label}", metrics=_curve_metrics([result.history]))
    budget = [describe_budget(result.budget) + ".", ""] if result.budget else []
    lines = [f"# {label}: {c.model} on {c.dataset}, seed {c.seed}", "", recipe(c) + ".", "", *budget,
             markdown_table(["test error %", "test NLL", "ECE %", "train seconds", "epochs"],
                            [[f"{100 * f['test_error']:.2f}", f"{f['test_nll']:.4f}", f"{100 * f['ece']:.2f}",
                              f"{f['train_seconds']:.1f}", f["epochs"]]]), "",
             f"![learning curves]({curves.name})", "", CURVES_NOTE, ""]
    if result.last_eval is not None:
        rel = reliability_diagram({label: (result.last_eval["probs"], result.last_eval["labels"])},
                                  path=run_dir / "reliability.png", title=f"calibration, {label}")
        lines += [f"![reliability diagram]({rel.name})", "", RELIABILITY_NOTE, ""]
    lines += ["Files: config.json (settings and provenance), metrics.jsonl (one line per epoch), results.json, "
              "checkpoint.pt, model.safetensors.", ""]
    return _write(run_dir / REPORT_NAME, "\n".join(lines))


def write_compare_report(root: Path, runs: Sequence, *, budget: dict | None = None) -> Path:
    """report.md of a comparison: mean ± std over seeds per α, learning curves, reliability diagrams; what its
    time ``budget`` bought, when it had one."""
    root = Path(root)
    groups: dict[str, list] = {}
    for r in runs:
        groups.setdefault(label_of(r.config.alpha, r.config.method), []).append(r)
    rows = []
    for label, members in groups.items():
        finals = [m.final for m in members]
        rows.append([label, len(finals), mean_std([x["test_error"] for x in finals], scale=100),
                     mean_std([x["test_nll"] for x in finals], digits=4),
                     mean_std([x["ece"] for x in finals], scale=100),
                     mean_std([x["train_seconds"] for x in finals], digits=1)])
    first = runs[0].config
    histories = [m.history for ms in groups.values() for m in ms]
    curves = learning_curves({label: [m.history for m in ms] for label, ms in groups.items()},
                             path=root / "learning_curves.png", metrics=_curve_metrics(histories),
                             title=f"{first.model} on {first.dataset}: ERM vs mixup")
    predictions = {label: (ms[0].last_eval["probs"], ms[0].last_eval["labels"])
                   for label, ms in groups.items() if ms[0].last_eval is not None}
    lines = [f"# ERM vs mixup: {first.model} on {first.dataset}", "",
             f"{recipe(first)}; the same budget for every α; mean ± std over seeds.", "",
             *([_compare_budget(budget), ""] if budget else []),
             markdown_table(["run", "seeds", "test error %", "test NLL", "ECE %", "train seconds"], rows), "",
             f"![learning curves]({curves.name})", "", CURVES_NOTE, ""]
    if predictions:
        rel = reliability_diagram(predictions, path=root / "reliability.png",
                                  title="calibration on the test set (first seed of each)")
        lines += [f"![reliability diagram]({rel.name})", "", RELIABILITY_NOTE, ""]
    lines += ["Each run's folder (alpha<α>-seed<s>) holds its config, metrics, checkpoint and report; "
              "results.json lists every run's final numbers.", ""]
    return _write(root / REPORT_NAME, "\n".join(lines))


def _compare_budget(budget: dict) -> str:
    return (f"The comparison's {budget['comparison_seconds']:g} s, split over its {budget['runs']} runs: "
            f"{describe_budget(budget)}.")


def recipe(config) -> str:
    """A resolved ``config``'s training recipe in words: length, batch, optimizer, and the options that change what
    the numbers mean (the augmentation always)."""
    extras = [f"{config.epochs} epochs, batch {config.batch_size}, {config.optimizer} lr {config.lr:g} "
              f"({config.schedule}), weight decay {config.weight_decay:g}",
              f"augmentation: {describe_augmentation(config)}"]
    if config.mixup_off_epochs:
        extras.append(f"mixing off for the last {config.mixup_off_epochs} epochs")
    views = describe_test_views(config)
    if views:
        extras.append(f"test predictions averaged over {views} (test-time augmentation)")
    return ", ".join(extras)


def describe_augmentation(config) -> str:
    """The training augmentation of a resolved ``config`` in words ("crop 2 + flip"), "none" when off."""
    parts = ([f"crop {config.augment_crop}"] if config.augment_crop else []) + (["flip"] if config.augment_flip else [])
    return " + ".join(parts) or "none"


def describe_test_views(config) -> str:
    """The test-time augmentation of ``config`` in words ("flips and shifts of 1 px"), empty when off."""
    views = (["flips"] if config.test_flip else []) + (
        [f"shifts of {config.test_translate} px"] if config.test_translate else [])
    return " and ".join(views)
