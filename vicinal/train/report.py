"""report.md of a run and of a comparison (ERM vs mixup, or vs other mixing methods): tables, paired verdicts over
seeds, learning curves and reliability diagrams (arXiv 1710.09412)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vicinal._io import write_text
from vicinal.eval import learning_curves, markdown_table, mean_std, paired, reliability_diagram
from vicinal.eval.between import between_markdown, between_plot, mean_over
from vicinal.eval.report import mean
from vicinal.eval.stats import p_clause
from vicinal.train.budget import describe_budget
from vicinal.train.data import data_note
from vicinal.train.hardware import cpu_description
from vicinal.train.rundir import REPORT_NAME

CURVES_NOTE = ("Learning curves: test error (at the epochs it was measured) and training loss after each epoch "
               "(mean over seeds, band ± one std); "
               "training loss is measured on the mixed batches, so mixup's is higher by design.")
RELIABILITY_NOTE = ("Reliability diagram: accuracy of the test predictions per confidence bin (15 bins) against the "
                    "diagonal of perfect calibration; hatched red is the gap to the bin's mean confidence "
                    "(above the bar: over-confident). ECE in each title.")


METHOD_NAMES = {"mixup": "mixup", "cutmix": "CutMix", "manifold_mixup": "Manifold Mixup", "resizemix": "ResizeMix",
                "fmix": "FMix", "regmixup": "RegMixup", "c_mixup": "C-Mixup"}


def label_of(alpha: float, method: str = "mixup", *, eta: float = 1.0) -> str:
    """A run's name in reports: "ERM" at α = 0, else the method at its α ("mixup α=1", "RegMixup α=20"; ResizeMix's
    α only switches it on, so it is left out; RegMixup's η when it is not 1)."""
    if alpha == 0:
        return "ERM"
    name = METHOD_NAMES.get(method, method)
    label = name if method == "resizemix" else f"{name} α={alpha:g}"
    return f"{label} η={eta:g}" if method == "regmixup" and eta != 1 else label


def run_label(config) -> str:
    """``label_of`` a run's config."""
    return label_of(config.alpha, config.method, eta=config.regmixup_eta)


def _curve_metrics(histories: Sequence[list[dict]]) -> tuple[str, ...]:
    """The learning curves to draw: the test metric every run measured (test RMSE of regression, else test error)
    beside the training loss, or the training loss alone."""
    for metric in ("test_rmse", "test_error"):
        if all(any(row.get(metric) is not None for row in run) for run in histories):
            return metric, "train_loss"
    return ("train_loss",)


REGRESSION_CURVES_NOTE = ("Learning curves: test RMSE in the targets' units (at the epochs it was measured) and "
                          "training loss after each epoch, the mean squared error on the mixed batches' standardized "
                          "targets.")


def _run_table(final: dict) -> str:
    """The one-row table of a run's final numbers: a classifier's errors, or a regression model's RMSE and MSE."""
    if "test_rmse" in final:
        train = final.get("train_rmse")
        return markdown_table(["test RMSE", "test MSE", "train RMSE", "train seconds", "epochs"],
                              [[f"{final['test_rmse']:.4g}", f"{final['test_mse']:.4g}",
                                "–" if train is None else f"{train:.4g}", f"{final['train_seconds']:.1f}",
                                final["epochs"]]])
    return markdown_table(["test error %", "test NLL", "ECE %", "train seconds", "epochs"],
                          [[f"{100 * final['test_error']:.2f}", f"{final['test_nll']:.4f}", f"{100 * final['ece']:.2f}",
                            f"{final['train_seconds']:.1f}", final["epochs"]]])


def write_run_report(result) -> Path:
    """report.md of one run (with learning_curves.png and, for a classifier, reliability.png) in its folder."""
    run_dir, c, f = Path(result.run_dir), result.config, result.final
    label = run_label(c)
    regression = "test_rmse" in f
    curves = learning_curves({label: [result.history]}, path=run_dir / "learning_curves.png",
                             title=f"{c.model} on {c.dataset}, {label}", metrics=_curve_metrics([result.history]))
    budget = [describe_budget(result.budget) + ".", ""] if result.budget else []
    settings = ", ".join([recipe(c), *method_options([c])])
    lines = [f"# {label}: {c.model} on {c.dataset}, seed {c.seed}", "", settings + ".", "",
             *_data_lines(c), *budget,
             _run_table(f), "", f"![learning curves]({curves.name})", "",
             REGRESSION_CURVES_NOTE if regression else CURVES_NOTE, ""]
    if result.last_eval is not None and not regression:
        rel = reliability_diagram({label: (result.last_eval["probs"], result.last_eval["labels"])},
                                  path=run_dir / "reliability.png", title=f"calibration, {label}")
        lines += [f"![reliability diagram]({rel.name})", "", RELIABILITY_NOTE, ""]
    lines += ["Files: config.json (settings and provenance), metrics.jsonl (one line per epoch), results.json, "
              "checkpoint.pt, model.safetensors.", ""]
    return write_text(run_dir / REPORT_NAME, "\n".join(lines))


# The metrics a comparison reports per run, all lower-is-better: (results.json key, name, scale, unit of differences)
METRICS = (("test_error", "test error %", 100, "points"), ("test_nll", "test NLL", 1, "nats"),
           ("ece", "ECE %", 100, "points"), ("gap", "train–test gap %", 100, "points"),
           ("fgsm_error", "FGSM error %", 100, "points"),
           ("noise_confidence", "confidence on noise %", 100, "points"),
           ("digits_confidence", "confidence on digits %", 100, "points"),
           ("test_rmse", "test RMSE", 1, "target units"), ("test_mse", "test MSE", 1, "squared target units"))
OFF_DATA_NOTE = ("confidence on noise / digits: the mean top-class probability on 1,000 images of uniform noise and on "
                 "scikit-learn's 1,797 handwritten digits scaled to the images' size, inputs of none of the classes "
                 "(RegMixup's out-of-distribution measure, arXiv 2206.14502): lower is a network that knows it "
                 "does not know.")
GAP_NOTE = ("train–test gap: test error minus the error on the training set itself (un-augmented, true labels, after "
            "the last epoch); near the test error when the network fits its training set.")


def _metric(final: dict, key: str) -> float | None:
    if key == "gap":
        train = final.get("clean_train_error")
        return None if train is None else final["test_error"] - train
    return final.get(key)


def write_compare_report(root: Path, runs: Sequence, *, budget: dict | None = None, note: str | None = None,
                         between: dict | None = None, command: str | None = None) -> Path:
    """report.md of a comparison: mean ± std over seeds per arm; every arm against ERM (and against mixup, when other
    methods are compared too) at a glance with the paired verdicts; each arm's per-seed paired differences from ERM
    with a sentence per metric; the in-between curves and the two-moons picture (``between``, as
    compare.measure_between returns it), learning curves, reliability diagrams; what its time ``budget`` bought,
    when it had one; ``note`` opens it (e.g. why this regime); ``command`` (the command line that made it) and this
    machine's CPU follow the recipe."""
    root = Path(root)
    groups: dict[str, list] = {}
    for r in runs:
        groups.setdefault(run_label(r.config), []).append(r)
    first, title = runs[0].config, " vs ".join(groups)
    metrics = [m for m in METRICS if all(_metric(r.final, m[0]) is not None for r in runs)]
    headers = ["run", "seeds"] + [name for _, name, _, _ in metrics] + ["train seconds"]
    if first.fgsm_eps:
        headers = [h.replace("FGSM error %", f"FGSM error % (ε = {_eps(first.fgsm_eps)})") for h in headers]
    rows = [[label, len(ms)] + [mean_std([_metric(m.final, key) for m in ms], scale=scale, digits=2 if scale > 1 else 4)
                                for key, _, scale, _ in metrics]
            + [mean_std([m.final["train_seconds"] for m in ms], digits=1)] for label, ms in groups.items()]
    histories = [m.history for ms in groups.values() for m in ms]
    curves = learning_curves({label: [m.history for m in ms] for label, ms in groups.items()},
                             path=root / "learning_curves.png", metrics=_curve_metrics(histories),
                             title=f"{first.model} on {first.dataset}: {title}")
    predictions = {label: (ms[0].last_eval["probs"], ms[0].last_eval["labels"])
                   for label, ms in groups.items() if ms[0].last_eval is not None and "probs" in ms[0].last_eval}
    regression = all("test_rmse" in r.final for r in runs)
    keys = {key for key, *_ in metrics}
    notes = [note for key, note in (("gap", GAP_NOTE), ("noise_confidence", OFF_DATA_NOTE)) if key in keys]
    settings = ", ".join([recipe(first), *method_options([r.config for r in runs])])
    lines = [f"# {title}: {first.model} on {first.dataset}", "", *([note, ""] if note else []),
             f"{settings}; {_points(runs[0].final)}the same budget for every run; mean ± std over seeds.", "",
             *([f"Command (run it again to continue or to write this report again): `{command}`.", ""]
               if command else []),
             f"Machine: {cpu_description()}; train seconds depend on what else ran on it.", "",
             *_data_lines(first), *([_compare_budget(budget), ""] if budget else []),
             markdown_table(headers, rows), "", *(line for n in notes for line in (n, "")),
             *_overview(groups, metrics), *_paired_section(groups, metrics),
             *(_between_section(root, between) if between else []),
             f"![learning curves]({curves.name})", "", REGRESSION_CURVES_NOTE if regression else CURVES_NOTE, ""]
    if predictions:
        rel = reliability_diagram(predictions, path=root / "reliability.png",
                                  title="calibration on the test set (first seed of each)")
        lines += [f"![reliability diagram]({rel.name})", "", RELIABILITY_NOTE, ""]
    lines += ["Each run's folder (alpha<α>-seed<s>, or <method>-alpha<α>-seed<s>) holds its config, metrics, "
              "checkpoint and report; results.json lists every run's final numbers.", ""]
    return write_text(root / REPORT_NAME, "\n".join(lines))


def _paired_metric(base: Sequence, members: Sequence, key: str):
    """``members`` − ``base`` on one metric, paired by seed."""
    return paired({r.config.seed: _metric(r.final, key) for r in base},
                  {r.config.seed: _metric(r.final, key) for r in members})


def _baselines(groups: dict[str, list]) -> list[str]:
    """The arms the others are judged against: ERM, and the first mixup arm when other mixing methods are compared
    too (whether a later method is better than mixup itself)."""
    mixups = [label for label, ms in groups.items() if ms[0].config.method == "mixup" and ms[0].config.alpha > 0]
    others = [label for label, ms in groups.items() if ms[0].config.method != "mixup" and ms[0].config.alpha > 0]
    return [label for label in ("ERM", *(mixups[:1] if others else ())) if label in groups]


def _overview(groups: dict[str, list], metrics: Sequence[tuple]) -> list[str]:
    """One table per baseline: every other arm's mean paired difference and p per metric, with the verdict."""
    lines = []
    for baseline in _baselines(groups):
        base = groups[baseline]
        rows = []
        for label, members in groups.items():
            if label in ("ERM", baseline):
                continue
            cells = []
            for key, _, scale, _ in metrics:
                diff = _paired_metric(base, members, key)
                verdict = {"reproduced": ": **lower**", "contradicted": ": **higher**"}.get(diff.verdict(-1), "")
                digits = 2 if scale > 1 else 3
                cells.append(f"{scale * diff.mean:+.{digits}f}, {p_clause(diff.p)}{verdict}" if diff.n > 1 else
                             f"{scale * diff.mean:+.{digits}f} (one seed)")
            rows.append([label, *cells])
        if rows:
            lines += [f"Each run − {baseline}, paired by seed (mean difference and the paired t-test's p; **lower** / "
                      f"**higher**: p < 0.05):", "",
                      markdown_table(["run", *(name for _, name, _, _ in metrics)], rows), ""]
    return lines


# The in-between curves a comparison reports, all lower-is-better, judged on their mean over λ < 1
BETWEEN_METRICS = (("miss_rate", "in-between miss rate %", 100, "points"),
                   ("grad_norm", "in-between gradient norm", 1, "nats per input unit"),
                   ("p_distance", "in-between |p(yᵢ) − λ|", 1, "of probability"))


def _between_section(root: Path, between: dict) -> list[str]:
    """The in-between curves of every arm (table, plot, each mixing arm's paired sentences against ERM) and the toy."""
    groups: dict[str, list[dict]] = {}
    for run in between["runs"]:
        groups.setdefault(run.get("label") or label_of(run["alpha"], run["method"]), []).append(run)
    curves = {label: [run["train"] for run in members] for label, members in groups.items()}
    chart = between_plot(curves, path=root / "between.png", title="between training examples: mean ± std over seeds")
    sentences = []
    erm = groups.get(label_of(0.0))
    for label, members in groups.items():
        if erm is None or members is erm:
            continue
        for key, name, scale, unit in BETWEEN_METRICS:
            diff = paired({r["seed"]: mean_over(r["train"], key) for r in erm},
                          {r["seed"]: mean_over(r["train"], key) for r in members})
            sentences.append("- " + _sentence(name, label, diff, scale=scale, unit=unit, digits=2 if scale > 1 else 3))
    rough = ", ".join(f"{label} {value:.2f}" for label, value in between["toy_roughness"].items())
    return ["## Between training examples (the paper's Figures 1(b) and 2)", "",
            f"At x̃ = λ·xᵢ + (1−λ)·xⱼ for {between['pairs']:,} pairs of training points of different classes (the "
            "same pairs for every run of a seed): the miss rate (the prediction is neither yᵢ nor yⱼ), the mean L2 "
            "norm of the gradient of the cross-entropy against the mixed target λ·yᵢ + (1−λ)·yⱼ with respect to the "
            "input, and the mean p(yᵢ | x̃), which mixup trains toward the straight line λ; mean ± std over seeds.", "",
            between_markdown(curves), "", f"![in-between curves]({chart.name})", "",
            *(["Each curve's mean over λ < 1 (λ = 1 is the training point itself), per seed against ERM:", "",
               *sentences, ""] if sentences else []),
            f"![the two-moons picture]({between['toy']})", "",
            f"The paper's Figure 1(b) again: p(y = 1 | x) of a small MLP trained on {between['toy_points']} points of "
            f"two moons with {100 * between['toy_flip']:g} % of the labels flipped (ringed), with ERM and with mixup "
            f"α = 1 (RMS of ‖∇ₓ p‖ over the grid: {rough}).", "",
            f"Measured after training: {between['curves_seconds']:.1f} s for the in-between curves of the "
            f"{len(between['runs'])} runs, {between['toy_seconds']:.1f} s for the toy.", ""]


def _eps(eps: float) -> str:
    """ε in pixels [0, 1], also as levels of 255 where it is a whole number of them."""
    levels = eps * 255
    return f"{eps:.4g} = {levels:.0f}/255" if abs(levels - round(levels)) < 1e-6 else f"{eps:.4g}"


def _points(final: dict) -> str:
    counts = [f"{final[k]:,} {what} points" for k, what in (("train_points", "training"), ("test_points", "test"))
              if final.get(k)]
    return " and ".join(counts) + ", " if counts else ""


def _paired_section(groups: dict[str, list], metrics: Sequence[tuple]) -> list[str]:
    """Each mixing run's per-seed differences from ERM and a sentence per metric, when ERM is in the comparison."""
    erm = groups.get(label_of(0.0))
    if not erm:
        return []
    lines = []
    for label, members in groups.items():
        if members is erm:
            continue
        rows, sentences = [], []
        for key, name, scale, unit in metrics:
            diff = _paired_metric(erm, members, key)
            digits = 2 if scale > 1 else 3
            rows.append([name, diff.describe(scale=scale, digits=digits)])
            sentence = _sentence(name, label, diff, scale=scale, unit=unit, digits=digits)
            if key == "gap":  # a gap also shrinks when the training error rises: say which it was
                train = {lab: mean(m.final["clean_train_error"] for m in ms) for lab, ms in (("ERM", erm),
                                                                                             (label, members))}
                sentence += (f" Training error after the last epoch: ERM {100 * train['ERM']:.2f} %, {label} "
                             f"{100 * train[label]:.2f} %.")
            sentences.append(f"- {sentence}")
        lines += [f"{label} − ERM, seed by seed (mean difference, 95 % CI, paired t-test; negative: {label} "
                  "lower):", "",
                  markdown_table(["metric", f"{label} − ERM"], rows), "", *sentences, ""]
    return lines


def _sentence(name: str, label: str, diff, *, scale: float, unit: str, digits: int) -> str:
    """What a metric's paired differences show, in words generated from the numbers (lower is better)."""
    metric = name.replace(" %", "")
    n, average = diff.n, scale * diff.mean
    lower = sum(d < 0 for d in diff.differences)
    if n == 0:
        return f"{metric}: not measured in both."
    if n == 1:
        side = f"{label} is lower" if average < 0 else "ERM is lower" if average > 0 else "both are equal"
        return f"{metric}: {side} by {abs(average):.{digits}f} {unit} in the one seed: indicative only."
    low, high = sorted(scale * v for v in diff.ci())
    size = (f"mean difference {average:+.{digits}f} {unit}, 95 % CI [{low:.{digits}f}, {high:.{digits}f}], "
            f"paired t-test {p_clause(diff.p)}")
    verdict = diff.verdict(-1)
    if verdict == "reproduced":
        return f"{metric}: {label} is lower than ERM in {lower} of {n} seeds ({size}): {label} is ahead at p < 0.05."
    if verdict == "contradicted":
        return f"{metric}: ERM is lower in {n - lower} of {n} seeds ({size}): ERM is ahead at p < 0.05."
    ahead = (f"{label} ahead on average" if average < 0 else "ERM ahead on average" if average > 0
             else "level on average")
    few = " (fewer than 3 seeds: no test)" if verdict == "indicative" else ""
    return (f"{metric}: {label} is lower than ERM in {lower} of {n} seeds ({size}, {ahead}): no clear "
            f"difference at {n} seeds{few}.")


def _data_lines(config) -> list[str]:
    """How the data was read, when that may not be what was meant (see vicinal.train.data.data_note), as a paragraph."""
    note = data_note(config)
    return [f"Data: {note}.", ""] if note else []


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


def method_options(configs: Sequence) -> list[str]:
    """The options of the methods among ``configs`` that their labels leave out, in words (C-Mixup's bandwidth)."""
    bandwidths = sorted({c.bandwidth for c in configs if c.method == "c_mixup" and c.alpha > 0})
    return [f"C-Mixup bandwidth {b:g} standard deviations of the targets" for b in bandwidths]


def describe_augmentation(config) -> str:
    """The training augmentation of a resolved ``config`` in words ("crop 2 + flip"), "none" when off."""
    parts = ([f"crop {config.augment_crop}"] if config.augment_crop else []) + (["flip"] if config.augment_flip else [])
    return " + ".join(parts) or "none"


def describe_test_views(config) -> str:
    """The test-time augmentation of ``config`` in words ("flips and shifts of 1 px"), empty when off."""
    views = (["flips"] if config.test_flip else []) + (
        [f"shifts of {config.test_translate} px"] if config.test_translate else [])
    return " and ".join(views)
