"""Targets as mixup needs them: class indices to (smoothed) one-hot rows, soft and regression targets as given."""

from __future__ import annotations

import torch

from ._checks import check_fraction, check_positive_int, value_range


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
    """
    label_smoothing = check_fraction("label_smoothing", label_smoothing, closed=False)
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.dtype == torch.bool or y.is_complex():
        raise ValueError(f"y must hold integer class indices or float probabilities, got dtype {y.dtype}")
    if y.is_floating_point():
        if y.ndim != 2:
            raise ValueError(
                f"soft targets must have shape (B, C), got {tuple(y.shape)}"
                + ("; class indices must be an integer tensor" if y.ndim == 1 else "")
            )
        if num_classes is not None and y.shape[1] != num_classes:
            raise ValueError(
                f"soft targets must have shape (B, {num_classes}) for num_classes={num_classes}, "
                f"got {tuple(y.shape)}"
            )
        soft = y.to(dtype=dtype, copy=True)
    else:
        if num_classes is None:
            raise ValueError("class indices y of shape (B,) need num_classes (got None)")
        num_classes = check_positive_int("num_classes", num_classes)
        if y.ndim != 1:
            raise ValueError(f"class indices must have shape (B,), got {tuple(y.shape)}")
        device = y.device
        soft = torch.zeros((y.shape[0], num_classes), dtype=dtype, device=device)
        if device.type != "cpu":  # the CPU scatter checks the bounds itself (caught below); others may not
            check_label_range(y, num_classes)
        try:  # a scatter writes the 1s straight in (one_hot would check again and build int64 rows)
            soft.scatter_(1, y.long().unsqueeze(1), 1.0)
        except RuntimeError:
            check_label_range(y, num_classes)  # raises the ValueError naming the range
            raise
    if label_smoothing:
        soft.mul_(1 - label_smoothing).add_(label_smoothing / soft.shape[1])
    return soft


def check_label_range(y: torch.Tensor, num_classes: int) -> None:
    low, high = value_range(y)
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for num_classes={num_classes}, got range [{low}, {high}]"
        )


def prepare_targets(
    y: torch.Tensor, *, num_classes: int | None, label_smoothing: float
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(targets to mix, class labels for class-aware pairings or None).

    Integer y or classification options (num_classes, label smoothing) → soft targets; float y
    with num_classes=None and no smoothing → regression (or ready soft) targets, mixed as they are;
    for class-aware pairings, float (B, D) targets count as soft targets (their argmax is the class).
    """
    regression = y.is_floating_point() and num_classes is None and not label_smoothing
    if regression:
        if y.ndim not in (1, 2):
            raise ValueError(f"float targets must have shape (B,) or (B, D), got {tuple(y.shape)}")
        labels = y.argmax(dim=1) if y.ndim == 2 else None
        return y, labels
    soft = to_soft_targets(y, num_classes=num_classes, label_smoothing=label_smoothing)
    labels = y if not y.is_floating_point() else y.argmax(dim=1)
    return soft, labels
