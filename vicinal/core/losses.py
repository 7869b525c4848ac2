"""Losses for mixed batches: soft-target cross-entropy, its two-label form, any loss mixed (arXiv 1710.09412)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ._checks import (
    check_floating,
    check_fraction,
    check_integer_dtype,
    check_labels,
    check_lambda,
    check_tensor,
    invalid,
    is_real,
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


def mixed_loss(
    criterion: Callable[[Any, Any], torch.Tensor],
    output: Any,
    y_a: Any,
    y_b: Any,
    lam: float | torch.Tensor,
) -> torch.Tensor:
    """λ·criterion(output, y_a) + (1−λ)·criterion(output, y_b), for any loss.

    For losses that cannot take soft targets (BCE on multi-label targets, focal loss, a loss of your
    own): y_a are the batch's targets, y_b the partners' (`y[batch.index]`), λ is `batch.lam`.
    λ ∈ [0, 1] is a number or 0-d tensor (one per batch), or (B,) (one per sample). A per-sample λ weighs each
    sample's loss, so the criterion must return one loss per sample (leading dimension B), e.g. built
    with reduction="none"; λ broadcasts over any trailing dimensions. The result has the criterion's
    shape: with reduction="none", reduce it yourself (e.g. `.mean()`).

    >>> logits, y = torch.tensor([[2.0, 0.0]]), torch.tensor([0])
    >>> loss = mixed_loss(F.cross_entropy, logits, y, 1 - y, 0.75)
    >>> torch.allclose(loss, 0.75 * F.cross_entropy(logits, y) + 0.25 * F.cross_entropy(logits, 1 - y))
    True
    """
    if not callable(criterion):
        raise invalid("criterion", criterion, "a callable criterion(output, target)")
    if not (is_real(lam) or isinstance(lam, torch.Tensor)) or getattr(lam, "dtype", None) == torch.bool:
        raise invalid("type(lam)", type(lam), "a real number or a real tensor")
    loss_a, loss_b = criterion(output, y_a), criterion(output, y_b)
    for name, loss in (("criterion(output, y_a)", loss_a), ("criterion(output, y_b)", loss_b)):
        if not isinstance(loss, torch.Tensor):
            raise invalid(f"type({name})", type(loss), "a torch.Tensor (a loss autograd can differentiate)")
    lam = torch.as_tensor(lam, dtype=loss_a.dtype, device=loss_a.device)
    if lam.shape == (1,):  # one λ for the batch, as a 1-element tensor
        lam = lam.reshape(())
    if lam.ndim > 1 or not bool(((lam >= 0) & (lam <= 1)).all()):  # False for NaN too
        raise invalid("lam", lam, "a number in [0, 1], a 0-d tensor or a (B,) tensor of them")
    if lam.ndim == 1:
        if loss_a.ndim == 0 or loss_a.shape[0] != lam.shape[0] or loss_b.shape != loss_a.shape:
            raise ValueError(
                f"lam of shape {tuple(lam.shape)} needs one loss per sample: the criterion returned shapes "
                f"{tuple(loss_a.shape)} and {tuple(loss_b.shape)}; expected ({lam.shape[0]}, ...), "
                "e.g. from reduction='none'"
            )
        lam = lam.view(-1, *([1] * (loss_a.ndim - 1)))
    return lam * loss_a + (1 - lam) * loss_b
