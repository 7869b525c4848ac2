"""Calibration metrics: expected calibration error and reliability bins (arXiv 1706.04599, as used by 1905.11001)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor


def _as_tensor(values: Any, *, dtype: torch.dtype) -> Tensor:
    """A CPU tensor of ``dtype`` from a tensor, array or sequence (a copy only when needed)."""
    if isinstance(values, Tensor):
        return values.detach().to(device="cpu", dtype=dtype)
    return torch.as_tensor(np.asarray(values), dtype=dtype)


def _check_probs_labels(probs: Any, labels: Any, n_bins: int) -> tuple[Tensor, Tensor]:
    """Validated (probs float64 (N, C), labels int64 (N,)); ValueError naming what is wrong."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    p = _as_tensor(probs, dtype=torch.float64)
    y = _as_tensor(labels, dtype=torch.float64)
    if p.dim() != 2 or p.shape[0] == 0 or p.shape[1] < 1:
        raise ValueError(f"probs must have shape (N, C) with N >= 1, got {tuple(p.shape)}")
    if y.shape != (p.shape[0],):
        raise ValueError(f"labels must have shape ({p.shape[0]},) to match probs, got {tuple(y.shape)}")
    if not bool(torch.isfinite(p).all()) or bool((p < 0).any()) or bool((p > 1).any()):
        raise ValueError("probs must be finite probabilities in [0, 1] (apply softmax to logits first)")
    if bool((y != y.round()).any()) or bool((y < 0).any()) or bool((y >= p.shape[1]).any()):
        raise ValueError(f"labels must be integers in [0, {p.shape[1] - 1}], "
                         f"got values in [{y.min().item()}, {y.max().item()}]")
    return p, y.long()


def reliability_bins(probs: Any, labels: Any, *, n_bins: int = 15) -> dict[str, Any]:
    """Top-1 confidence split into ``n_bins`` equal-width bins over [0, 1]; bin b holds (b/n, (b+1)/n] (bin 0 also 0).

    Returns ``edges`` (n_bins + 1,), and per bin ``count``, ``accuracy`` and ``confidence`` (mean top-1
    confidence; NaN for empty bins) as numpy arrays, plus ``ece`` (float).
    """
    p, y = _check_probs_labels(probs, labels, n_bins)
    confidence, prediction = p.max(dim=1)
    correct = (prediction == y).double()
    edges = torch.linspace(0.0, 1.0, n_bins + 1, dtype=torch.float64)
    bin_of = torch.bucketize(confidence, edges[1:-1], right=False)  # edges[b] < c <= edges[b+1]
    count = torch.bincount(bin_of, minlength=n_bins).double()
    correct_sum = torch.bincount(bin_of, weights=correct, minlength=n_bins)
    confidence_sum = torch.bincount(bin_of, weights=confidence, minlength=n_bins)
    ece = float((correct_sum - confidence_sum).abs().sum() / p.shape[0])  # Σ_b (n_b/N)·|acc_b − conf_b|
    empty = count == 0
    accuracy = torch.where(empty, torch.nan, correct_sum / count.clamp(min=1))
    mean_confidence = torch.where(empty, torch.nan, confidence_sum / count.clamp(min=1))
    return {
        "edges": edges.numpy(), "count": count.long().numpy(), "accuracy": accuracy.numpy(),
        "confidence": mean_confidence.numpy(), "ece": ece,
    }  # fmt: skip


def expected_calibration_error(probs: Any, labels: Any, *, n_bins: int = 15) -> float:
    """ECE = Σ_b (n_b / N)·|accuracy_b − confidence_b| over ``n_bins`` equal-width bins of top-1 confidence.

    ``probs`` (N, C) are class probabilities (softmax outputs), ``labels`` (N,) the true classes.

    >>> probs = [[0.95, 0.05], [0.35, 0.65], [0.25, 0.75], [0.85, 0.15]]
    >>> labels = [0, 1, 1, 1]  # right, right, right, wrong: each alone in its bin
    >>> round(expected_calibration_error(probs, labels), 6)  # (0.05 + 0.35 + 0.25 + 0.85) / 4
    0.375
    """
    return reliability_bins(probs, labels, n_bins=n_bins)["ece"]
