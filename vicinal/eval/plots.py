"""Plots of vicinal runs (learning curves, reliability diagrams, bar and line charts) as PNG files, with matplotlib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vicinal.eval.calibration import reliability_bins

History = Sequence[Mapping[str, Any]]  # one run: a list of per-epoch dicts (a metrics.jsonl)


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no global backend or figure state."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (parent folders created) and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"plot path must end in .png, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _mean_std_over_runs(runs: Sequence[History], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epochs, mean and std over runs of metric ``key`` at the epochs every run measured it (None: not measured,
    e.g. test metrics with eval_every > 1); runs cut to the shortest; std 0 for a single run."""
    length = min(len(run) for run in runs)
    kept = [i for i in range(length) if all(run[i][key] is not None for run in runs)]
    values = np.array([[float(run[i][key]) for i in kept] for run in runs]).reshape(len(runs), len(kept))
    epochs = np.array([float(runs[0][i].get("epoch", i + 1)) for i in kept])
    std = values.std(axis=0, ddof=1) if len(runs) > 1 else np.zeros(len(kept))
    return epochs, values.mean(axis=0), std


def learning_curves(
    runs: Mapping[str, Sequence[History]],
    *,
    path: str | Path,
    title: str,
    metrics: Sequence[str] = ("test_error", "train_loss"),
) -> Path:
    """One panel per metric against epoch; one line per label (e.g. "ERM", "mixup α=1"), mean ± std band over its seeds.

    ``runs`` maps a label to its runs (one per seed), each a list of per-epoch dicts holding ``metrics``.
    """
    if not runs or any(not seeds or any(not run for run in seeds) for seeds in runs.values()):
        raise ValueError("runs must map each label to a non-empty list of non-empty histories")
    missing = {key for seeds in runs.values() for run in seeds for epoch in run for key in metrics if key not in epoch}
    if missing:
        raise ValueError(f"histories lack the metric(s) {sorted(missing)}; "
                         f"expected every epoch to hold {list(metrics)}")
    fig = new_figure(5 * len(metrics), 4)
    for i, key in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        for label, seeds in runs.items():
            epochs, mean, std = _mean_std_over_runs(seeds, key)
            (line,) = ax.plot(epochs, mean, label=f"{label} (n={len(seeds)})")
            ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        ax.set(xlabel="epoch", ylabel=key.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return save_figure(fig, path)


def reliability_diagram(
    predictions: Mapping[str, tuple[Any, Any] | Mapping[str, Any]], *, path: str | Path, title: str, n_bins: int = 15
) -> Path:
    """Side-by-side reliability diagrams (accuracy per confidence bin against the diagonal), one per label.

    Each panel's title gives its ECE.

    ``predictions`` maps a label (e.g. "ERM", "mixup") to ``(probs (N, C), labels (N,))``, or to the bins
    ``reliability_bins`` made of them (``edges``, ``accuracy``, ``confidence``, ``ece``; lists with None for empty
    bins are accepted, as read back from JSON).
    """
    if not predictions:
        raise ValueError("predictions must hold at least one label → (probs, labels)")
    fig = new_figure(4.2 * len(predictions), 4.2)
    for i, (label, given) in enumerate(predictions.items()):
        bins = given if isinstance(given, Mapping) else reliability_bins(*given, n_bins=n_bins)
        edges = np.asarray(bins["edges"], dtype=float)
        ax = fig.add_subplot(1, len(predictions), i + 1)
        centers, width = (edges[:-1] + edges[1:]) / 2, 1.0 / (len(edges) - 1)
        accuracy = np.nan_to_num(np.asarray(bins["accuracy"], dtype=float))
        ax.bar(centers, accuracy, width=width, edgecolor="black", label="accuracy")
        gap = np.nan_to_num(np.asarray(bins["confidence"], dtype=float)) - accuracy  # > 0: over-confident bin
        ax.bar(centers, gap, bottom=accuracy, width=width, color="none", edgecolor="red", hatch="//",
               label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy",
               title=f"{label}: ECE {100 * bins['ece']:.2f}%")
        ax.legend(loc="upper left", fontsize="small")
    fig.suptitle(title)
    return save_figure(fig, path)


def bar_chart(
    values: Mapping[str, float | Sequence[float]], *, path: str | Path, title: str, ylabel: str
) -> Path:
    """One bar per label; a sequence of values (one per seed) draws its mean with a ± std error bar."""
    if not values:
        raise ValueError("values must hold at least one label")
    arrays = {label: np.atleast_1d(np.asarray(v, dtype=float)) for label, v in values.items()}
    if any(a.size == 0 for a in arrays.values()):
        raise ValueError("every label needs at least one value")
    means = [a.mean() for a in arrays.values()]
    stds = [a.std(ddof=1) if a.size > 1 else 0.0 for a in arrays.values()]
    fig = new_figure(max(4.0, 1.1 * len(arrays)), 4)
    ax = fig.add_subplot()
    ax.bar(list(arrays), means, yerr=stds, capsize=4)
    ax.set(ylabel=ylabel, title=title)
    ax.tick_params(axis="x", labelrotation=30)
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    path: str | Path,
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
) -> Path:
    """One line per label from its ``(xs, ys)``."""
    if not series:
        raise ValueError("series must hold at least one label → (xs, ys)")
    fig = new_figure(5.5, 4)
    ax = fig.add_subplot()
    for label, (xs, ys) in series.items():
        if len(xs) != len(ys):
            raise ValueError(f"series {label!r}: xs and ys must have the same length, got {len(xs)} and {len(ys)}")
        ax.plot(xs, ys, marker="o", label=label)
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
