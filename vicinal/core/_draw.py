"""The validate-then-draw step shared by mixup, cutmix and manifold mixup: targets, λ and partners."""

from __future__ import annotations

import torch

from ._checks import PAIRINGS, check_alpha, check_batch, check_choice, check_positive_int
from .pairing import draw_partners
from .sampling import draw_lambda
from .targets import prepare_targets


def draw_vicinity(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    num_classes: int | None,
    label_smoothing: float,
    per_sample: bool,
    pairing: str,
    knn_k: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate every option, then draw λ (0-d or (B,)) and the partner index, in that order.

    Returns (targets to mix, λ on x's device, index on x's device). ``generator`` must be resolved.
    """
    batch_size = check_batch(x, y)
    alpha = check_alpha(alpha)
    check_choice("pairing", pairing, PAIRINGS)
    check_positive_int("knn_k", knn_k)
    targets, labels = prepare_targets(y, num_classes=num_classes, label_smoothing=label_smoothing)
    if "same_class" in pairing and labels is None:
        raise ValueError(f"pairing {pairing!r} needs class labels; got float targets of shape {tuple(y.shape)}")
    lam = draw_lambda(alpha, (batch_size,) if per_sample else (), generator, x.device)
    index = draw_partners(
        pairing, batch_size, generator, x.device,
        labels=labels, features=x if "knn" in pairing else None, knn_k=knn_k,
    )
    return targets, lam, index
