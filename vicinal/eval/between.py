"""What a classifier does between two examples of different classes: misses, input-gradient norms and p(yᵢ) along
x̃ = λ·xᵢ + (1−λ)·xⱼ, the measurements of mixup's Figure 2 (Zhang et al., arXiv 1710.09412)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vicinal._autocast import autocast_context
from vicinal.core import soft_cross_entropy
from vicinal.core._checks import check_choice, check_integer_dtype, check_positive_int, check_tensor, invalid, is_real
from vicinal.eval._mode import eval_mode
from vicinal.eval.plots import new_figure, save_figure
from vicinal.eval.report import markdown_table, mean_std

LAMBDAS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # the paper's Figure 2 axis: from halfway to xᵢ itself
Target = Literal["mixed", "first"]
TARGETS: tuple[str, ...] = get_args(Target)


@dataclass(frozen=True)
class BetweenTable:
    """One model's in-between measurements, one value per λ of ``lambdas``, each a mean over the same pairs."""

    lambdas: tuple[float, ...]  # the weight of xᵢ in x̃ = λ·xᵢ + (1−λ)·xⱼ
    miss_rate: tuple[float, ...]  # share of pairs whose top-1 prediction at x̃ is neither yᵢ nor yⱼ
    grad_norm: tuple[float, ...]  # mean over pairs of ‖∇ₓ̃ CE(model(x̃), target)‖₂ (target: see ``target``)
    p_first: tuple[float, ...]  # mean over pairs of the predicted probability of yᵢ at x̃
    p_distance: tuple[float, ...]  # mean over pairs of |p(yᵢ | x̃) − λ|: 0 on mixup's straight line
    pairs: int  # pairs measured
    target: str  # the cross-entropy's target: "mixed" (λ·yᵢ + (1−λ)·yⱼ) or "first" (yᵢ)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def between_pairs(labels: Tensor, *, pairs: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``pairs`` index pairs (i, j) into ``labels`` (class indices (N,)) with labels[i] ≠ labels[j], on the CPU.

    i is uniform over the examples (distinct while ``pairs`` ≤ N, drawn with replacement beyond), j uniform over the
    examples of every other class than i's. Every draw comes from ``generator`` (a CPU generator), so one seed gives
    the same pairs to every model measured on the same labels.

    >>> i, j = between_pairs(torch.tensor([0, 0, 1, 2]), pairs=3, generator=torch.Generator().manual_seed(0))
    >>> bool((torch.tensor([0, 0, 1, 2])[i] != torch.tensor([0, 0, 1, 2])[j]).all())
    True
    """
    check_integer_dtype("labels", check_tensor("labels", labels))
    pairs = check_positive_int("pairs", pairs)
    labels = labels.detach().cpu().long()
    if labels.ndim != 1 or bool((labels < 0).any()):
        raise invalid("labels", f"a tensor of shape {tuple(labels.shape)}", "class indices >= 0 of shape (N,)")
    counts = torch.bincount(labels)
    if int((counts > 0).sum()) < 2:
        raise invalid("labels", f"{len(labels)} labels of {int((counts > 0).sum())} class",
                      "examples of at least two classes")
    n = len(labels)
    order = torch.argsort(labels, stable=True)  # the examples grouped by class
    starts = torch.cumsum(counts, 0) - counts  # where each class's group begins in `order`
    first = torch.randperm(n, generator=generator)[:pairs] if pairs <= n else \
        torch.randint(n, (pairs,), generator=generator)
    own, size = starts[labels[first]], counts[labels[first]]
    others = n - size  # the examples of another class than i's
    k = (torch.rand(pairs, generator=generator, dtype=torch.float64) * others).long().minimum(others - 1)
    second = order[torch.where(k >= own, k + size, k)]  # the k-th example outside i's class group
    return first, second


def _check_lambdas(lambdas: Sequence[float]) -> tuple[float, ...]:
    values = tuple(lambdas) if isinstance(lambdas, (list, tuple)) else None
    if not values or not all(is_real(v) and 0 <= v <= 1 for v in values):
        raise invalid("lambdas", lambdas, "a non-empty list of numbers in [0, 1]")
    return tuple(float(v) for v in values)


def _check_data(inputs: Tensor, labels: Tensor) -> None:
    if not check_tensor("inputs", inputs).is_floating_point() or inputs.ndim < 2:
        raise invalid("inputs", f"a {inputs.dtype} tensor of shape {tuple(inputs.shape)}",
                      "floating-point inputs (N, ...) as the model takes them")
    check_integer_dtype("labels", check_tensor("labels", labels))
    if labels.shape != inputs.shape[:1]:
        raise invalid("labels.shape", tuple(labels.shape), f"({len(inputs)},), one label per input")


def _check_classes(model: nn.Module, inputs: Tensor, labels: Tensor, device: torch.device | str) -> None:
    """ValueError when a label is not one of the model's outputs (one input is run to count them)."""
    with torch.no_grad():
        classes = model(inputs[:1].to(device).float()).shape[1]
    if int(labels.max()) >= classes:
        raise invalid("labels", f"labels up to {int(labels.max())}", f"class indices below the model's {classes} "
                      f"outputs")


def _measure_batch(model: nn.Module, xi: Tensor, xj: Tensor, yi: Tensor, yj: Tensor, lam: float, *,
                   target: str) -> Tensor:
    """Sums over the batch of (miss, ‖∇ₓ̃ loss‖₂, p(yᵢ), |p(yᵢ) − λ|) at λ."""
    x = (lam * xi + (1 - lam) * xj).requires_grad_(True)
    with torch.enable_grad():
        logits = model(x).float()
        classes = logits.shape[1]
        first = F.one_hot(yi, classes).float()
        soft = first if target == "first" else lam * first + (1 - lam) * F.one_hot(yj, classes).float()
        loss = soft_cross_entropy(logits, soft) * len(x)  # the sum: each example's gradient is its own loss's
        (grad,) = torch.autograd.grad(loss, x)
    prediction = logits.argmax(1)
    p = logits.detach().softmax(1).gather(1, yi[:, None]).squeeze(1).double()
    miss = ((prediction != yi) & (prediction != yj)).double()
    norm = grad.flatten(1).double().norm(dim=1)
    return torch.stack([miss.sum(), norm.sum(), p.sum(), (p - lam).abs().sum()]).cpu()


def between_examples(
    model: nn.Module,
    inputs: Tensor,
    labels: Tensor,
    *,
    lambdas: Sequence[float] = LAMBDAS,
    pairs: int = 2000,
    generator: torch.Generator,
    batch_size: int = 500,
    device: torch.device | str = "cpu",
    target: Target = "mixed",
    autocast_dtype: torch.dtype | None = None,
) -> BetweenTable:
    """Measure ``model`` between examples: at each λ of ``lambdas``, over ``pairs`` random pairs (i, j) with
    yᵢ ≠ yⱼ (``between_pairs`` with ``generator``), at x̃ = λ·xᵢ + (1−λ)·xⱼ:

    - the miss rate: the top-1 prediction at x̃ is neither yᵢ nor yⱼ (the paper's Figure 2(a));
    - the mean L2 norm, over the whole input, of the gradient of the cross-entropy with respect to x̃ (Figure 2(b)).
      ``target="mixed"`` (default) takes the mixed target λ·yᵢ + (1−λ)·yⱼ, the loss mixup trains on at x̃ (at
      λ = 1 the plain cross-entropy against yᵢ): ERM and mixup are measured by the same loss, the one that defines
      the vicinal risk there. ``"first"`` takes yᵢ alone, the loss of an attack on xᵢ;
    - the mean predicted probability of yᵢ, and its mean distance |p(yᵢ | x̃) − λ| from the straight line mixup
      trains toward.

    ``inputs`` (N, ...) are what the model takes (normalized as in training); ``labels`` (N,) class indices. The
    model runs in eval mode on ``device`` (where it must be), ``batch_size`` pairs at a time (in ``autocast_dtype``
    when given), and gets its mode back; no gradient is left on its parameters and the inputs are not changed.
    """
    _check_data(inputs, labels)
    lambdas = _check_lambdas(lambdas)
    check_choice("target", target, TARGETS)
    batch_size = check_positive_int("batch_size", batch_size)
    first, second = between_pairs(labels, pairs=pairs, generator=generator)
    sums = torch.zeros(len(lambdas), 4, dtype=torch.float64)
    with eval_mode(model), autocast_context(device, autocast_dtype):
        _check_classes(model, inputs, labels, device)
        for start in range(0, len(first), batch_size):
            i, j = first[start:start + batch_size], second[start:start + batch_size]
            xi, xj = inputs[i].to(device).float(), inputs[j].to(device).float()
            yi, yj = labels[i].to(device).long(), labels[j].to(device).long()
            for k, lam in enumerate(lambdas):
                sums[k] += _measure_batch(model, xi, xj, yi, yj, lam, target=target)
    means = (sums / len(first)).T.tolist()
    return BetweenTable(lambdas=lambdas, miss_rate=tuple(means[0]), grad_norm=tuple(means[1]),
                        p_first=tuple(means[2]), p_distance=tuple(means[3]), pairs=len(first), target=target)


TableLike = BetweenTable | Mapping[str, Any]
PANELS = (("miss_rate", "miss rate % (prediction ∉ {yᵢ, yⱼ})", 100.0),
          ("grad_norm", "mean ‖∇ₓ̃ CE‖₂", 1.0),
          ("p_first", "mean p(yᵢ | x̃)", 1.0))


def mean_over(table: TableLike, metric: str, *, below: float = 1.0) -> float:
    """The mean of ``metric`` over the λ of ``table`` below ``below`` (the in-between points; NaN when none)."""
    values = table.to_dict() if isinstance(table, BetweenTable) else table
    kept = [v for lam, v in zip(values["lambdas"], values[metric]) if lam < below]
    return float(np.mean(kept)) if kept else math.nan


def between_markdown(curves: Mapping[str, Sequence[TableLike]], *, below: float = 1.0) -> str:
    """A markdown table of the curves: λ by rows; miss rate %, gradient norm and p(yᵢ) of each label by columns, as
    mean ± std over its tables (one per seed); the last row each curve's mean over the λ below ``below``."""
    if not curves or any(not tables for tables in curves.values()):
        raise ValueError("curves must map each label to a non-empty list of tables (one per seed)")
    rows_of = {label: [t.to_dict() if isinstance(t, BetweenTable) else t for t in tables]
               for label, tables in curves.items()}
    columns = [(metric, name.split(" (")[0], scale, 2 if scale > 1 else 3) for metric, name, scale in PANELS]
    headers = ["λ"] + [f"{label}: {name}" for _, name, _, _ in columns for label in rows_of]
    lambdas = next(iter(rows_of.values()))[0]["lambdas"]
    rows = [[f"{lam:g}"] + [mean_std([t[metric][k] for t in tables], digits=digits, scale=scale)
                            for metric, _, scale, digits in columns for tables in rows_of.values()]
            for k, lam in enumerate(lambdas)]
    if any(lam < below for lam in lambdas):
        rows.append([f"mean over λ < {below:g}"] + [
            mean_std([mean_over(t, metric, below=below) for t in tables], digits=digits, scale=scale)
            for metric, _, scale, digits in columns for tables in rows_of.values()])
    return markdown_table(headers, rows)


def between_plot(curves: Mapping[str, Sequence[TableLike]], *, path: str | Path, title: str) -> Path:
    """Miss rate, gradient norm and p(yᵢ) against λ, one line per label (e.g. "ERM", "mixup α=1") with a ± std band
    over its tables (one per seed); the p(yᵢ) panel shows the straight line p = λ. Tables as ``between_examples``
    returns them or as their ``to_dict()`` (read back from JSON)."""
    if not curves or any(not tables for tables in curves.values()):
        raise ValueError("curves must map each label to a non-empty list of tables (one per seed)")
    fig = new_figure(15, 4)
    for n, (metric, name, scale) in enumerate(PANELS):
        ax = fig.add_subplot(1, len(PANELS), n + 1)
        for label, tables in curves.items():
            rows = [t.to_dict() if isinstance(t, BetweenTable) else t for t in tables]
            lambdas = np.asarray(rows[0]["lambdas"], dtype=float)
            values = scale * np.asarray([row[metric] for row in rows], dtype=float)
            mean = values.mean(axis=0)
            std = values.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros_like(mean)
            (line,) = ax.plot(lambdas, mean, marker="o", label=f"{label} (n={len(rows)})")
            ax.fill_between(lambdas, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        if metric == "p_first":
            ax.plot(lambdas, lambdas, "k--", label="p = λ (mixup's target)")
        ax.set(xlabel="λ (weight of xᵢ in x̃)", ylabel=name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.subplots_adjust(wspace=0.3)
    fig.suptitle(title)
    return save_figure(fig, path)
