"""Losses for mixed batches: cross-entropy against soft targets, and its two-label form (arXiv 1710.09412)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import (
    check_floating, check_fraction, check_integer_dtype, check_labels, check_lambda, check_tensor, invalid,
)


def _check_logits(logits: torch.Tensor) -> None:
    if check_tensor("logits", logits).ndim != 2:
        raise invalid("logits.shape", tuple(logits.shape), "(B, C)")
    check_floating("logits", logits)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −Σ_c targets_c · log softmax(logits)_c, computed in float32.

    logits and targets: float (B, C). For mixed one-hot targets this equals `mixup_cross_entropy`.
    The targets' values are not checked (the mixing functions check the targets they are given).
    """
    _check_logits(logits)
    if check_tensor("targets", targets).shape != logits.shape:
        raise invalid("targets.shape", tuple(targets.shape), f"logits.shape={tuple(logits.shape)}")
    check_floating("targets", targets)
    return F.cross_entropy(logits.float(), targets.float())


def mixup_cross_entropy(
    logits: torch.Tensor,
    y_a: torch.Tensor,
    y_b: torch.Tensor,
    lam: float | torch.Tensor,
    *,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """λ·CE(logits, y_a) + (1−λ)·CE(logits, y_b) with class indices, the paper's form of the loss.

    Uses the integer-target cross-entropy kernel; y_b is usually y[index]. λ ∈ [0, 1] is a number,
    0-d, or (B,) (per-sample: weighted per row, then averaged). Equals `soft_cross_entropy` on the
    mixed (and equally smoothed) one-hot targets.
    """
    label_smoothing = check_fraction("label_smoothing", label_smoothing, closed=False)
    _check_logits(logits)
    batch_size, num_classes = logits.shape
    labels = []
    for name, y in (("y_a", y_a), ("y_b", y_b)):
        if check_tensor(name, y).shape != (batch_size,):
            raise invalid(f"{name}.shape", tuple(y.shape), f"({batch_size},) (class indices)")
        check_integer_dtype(name, y)
        if y.device.type != "cpu":  # the CPU kernel checks the label range itself (caught below); others may not
            check_labels(name, y, num_classes)
        labels.append(y.long())
    lam = check_lambda(lam, batch_size=batch_size, device=logits.device)
    reduction = "mean" if lam.ndim == 0 else "none"
    logits = logits.float()
    try:
        loss_a, loss_b = (
            F.cross_entropy(logits, y, reduction=reduction, label_smoothing=label_smoothing) for y in labels
        )
    except IndexError:
        for name, y in (("y_a", y_a), ("y_b", y_b)):
            check_labels(name, y, num_classes)  # raises the ValueError naming the range
        raise
    return torch.lerp(loss_b, loss_a, lam).mean()
