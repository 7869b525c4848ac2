"""Losses for mixed batches: cross-entropy against soft targets, and its two-label form (arXiv 1710.09412)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import check_fraction


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −Σ_c targets_c · log softmax(logits)_c, computed in float32.

    logits and targets: (B, C). For mixed one-hot targets this equals `mixup_cross_entropy`.
    """
    if logits.ndim != 2 or targets.shape != logits.shape:
        raise ValueError(
            f"logits and targets must both have shape (B, C), got {tuple(logits.shape)} and {tuple(targets.shape)}"
        )
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

    Uses the integer-target cross-entropy kernel; y_b is usually y[index]. λ is a number, 0-d, or
    (B,) (per-sample: weighted per row, then averaged). Equals `soft_cross_entropy` on the mixed
    (and equally smoothed) one-hot targets.
    """
    label_smoothing = check_fraction("label_smoothing", label_smoothing, closed=False)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, C), got {tuple(logits.shape)}")
    for name, y in (("y_a", y_a), ("y_b", y_b)):
        if y.shape != logits.shape[:1] or y.is_floating_point():
            raise ValueError(f"{name} must be class indices of shape ({logits.shape[0]},), got {tuple(y.shape)} {y.dtype}")
    lam = torch.as_tensor(lam, dtype=torch.float32, device=logits.device)
    if lam.ndim not in (0, 1) or (lam.ndim == 1 and lam.shape != logits.shape[:1]):
        raise ValueError(f"lam must be a scalar or of shape ({logits.shape[0]},), got {tuple(lam.shape)}")
    reduction = "mean" if lam.ndim == 0 else "none"
    logits = logits.float()
    loss_a = F.cross_entropy(logits, y_a, reduction=reduction, label_smoothing=label_smoothing)
    loss_b = F.cross_entropy(logits, y_b, reduction=reduction, label_smoothing=label_smoothing)
    return torch.lerp(loss_b, loss_a, lam).mean()
