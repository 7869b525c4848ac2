"""Targets as mixup needs them: class indices to (smoothed) one-hot rows, soft and regression targets as given."""

from __future__ import annotations

import torch

from ._checks import check_fraction, check_labels, check_num_classes, check_tensor, invalid


def to_soft_targets(
    y: torch.Tensor,
    *,
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Class indices (B,) or probabilities (B, C) → a new (B, C) tensor of soft targets.

    With label smoothing ε the target is (1 − ε)·y + ε / C, so every row still sums to 1.
    Class indices need `num_classes` (never inferred from the batch, which may lack classes).
    Probability rows must be finite, ≥ 0 and sum to 1.
    """
    label_smoothing = check_fraction("label_smoothing", label_smoothing, closed=False)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise invalid("dtype", dtype, "a floating-point torch.dtype")
    return check_soft_targets(y, num_classes=num_classes, label_smoothing=label_smoothing, dtype=dtype)


def check_soft_targets(
    y: torch.Tensor, *, num_classes: int | None, label_smoothing: float, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Check y (class indices or probability rows) and return it as new soft targets; the options are trusted.

    The value checks are one pass over y: the label range (the CPU scatter checks it itself) or the
    probability rows (finite, ≥ 0, summing to 1).
    """
    check_tensor("y", y)
    if y.dtype == torch.bool or y.is_complex():
        raise invalid("y.dtype", y.dtype, "integer class indices or float probabilities")
    if y.is_floating_point():
        if y.ndim != 2:
            raise invalid("y.shape", tuple(y.shape), "(B, C) for soft targets"
                          + ("; class indices must be an integer tensor" if y.ndim == 1 else ""))
        if num_classes is not None and y.shape[1] != num_classes:
            raise invalid("y.shape", tuple(y.shape), f"(B, {num_classes}) for num_classes={num_classes}")
        _check_probability_rows(y)
        soft = y.to(dtype=dtype, copy=True)
    else:
        if num_classes is None:
            raise invalid("num_classes", num_classes, "the number of classes, for class indices y")
        num_classes = check_num_classes(num_classes)
        if y.ndim != 1:
            raise invalid("y.shape", tuple(y.shape), "(B,) for class indices")
        soft = torch.zeros((y.shape[0], num_classes), dtype=dtype, device=y.device)
        if y.device.type != "cpu":  # the CPU scatter checks the bounds itself (caught below); others may not
            check_labels("y", y, num_classes)
        try:  # a scatter writes the 1s straight in (one_hot would check again and build int64 rows)
            soft.scatter_(1, y.long().unsqueeze(1), 1.0)
        except RuntimeError:
            check_labels("y", y, num_classes)  # raises the ValueError naming the range
            raise
    if label_smoothing:
        soft.mul_(1 - label_smoothing).add_(label_smoothing / soft.shape[1])
    return soft


def _check_probability_rows(y: torch.Tensor) -> None:
    """Rows of finite values ≥ 0 summing to 1 (within the rounding of y's dtype): three reductions, one host sync."""
    if y.shape[0] == 0:
        return
    tolerance = max(1e-3, y.shape[1] * torch.finfo(y.dtype).eps)
    total = y.sum(dim=1, dtype=torch.float32)
    low = y.min() if y.numel() else torch.zeros((), dtype=y.dtype, device=y.device)
    low, least, most = torch.stack([low.float(), *torch.aminmax(total)]).tolist()
    if low >= 0 and 1 - tolerance <= least and most <= 1 + tolerance:  # False for NaN; inf makes a sum of inf or NaN
        return
    summing_to_one = (total - 1).abs() <= tolerance
    if not bool(summing_to_one.all()):
        i = int((~summing_to_one).nonzero()[0])
        raise invalid(f"y[{i}].sum()", total[i].item(), f"1 (within {tolerance:g}): rows of probabilities")
    i = int((~(y >= 0).all(dim=1)).nonzero()[0])
    raise invalid(f"y[{i}].min()", y[i].min().item(), ">= 0: rows of probabilities")


def check_targets(
    y: torch.Tensor, *, num_classes: int | None, label_smoothing: float
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Check y against the trusted options: (targets to mix, class labels for class-aware pairings or None).

    Integer y or classification options (num_classes, label smoothing) → soft targets; float y
    with num_classes=None and no smoothing → regression (or ready soft) targets, mixed as they are;
    for class-aware pairings, float (B, D) targets count as soft targets (their argmax is the class).
    """
    regression = y.is_floating_point() and num_classes is None and not label_smoothing
    if regression:
        if y.ndim not in (1, 2):
            raise invalid("y.shape", tuple(y.shape), "(B,) or (B, D) for float targets")
        return y, (y.argmax(dim=1) if y.ndim == 2 else None)
    soft = check_soft_targets(y, num_classes=num_classes, label_smoothing=label_smoothing)
    return soft, (y if not y.is_floating_point() else y.argmax(dim=1))
