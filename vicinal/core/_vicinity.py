"""What mixup, CutMix and Manifold Mixup share: options, the one check of a batch, the draws of λ and partners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from ._checks import (
    PAIRINGS,
    check_alpha,
    check_batch,
    check_choice,
    check_flag,
    check_fraction,
    check_num_classes,
    check_positive_int,
    invalid,
)
from .pairing import _draw_pairing
from .sampling import _draw_lambda
from .targets import check_targets


@dataclass(frozen=True)
class VicinityOptions:
    """The options every mixing function takes, checked by `vicinity_options`."""

    alpha: float  # Beta(α, α); 0 = no mixing
    num_classes: int | None  # None: float targets are mixed as they are
    per_sample: bool  # one λ per row, else one per batch
    pairing: str  # one of PAIRINGS
    label_smoothing: float  # ε in [0, 1)
    knn_k: int  # neighbours for the knn pairings


def vicinity_options(
    *, alpha: float, num_classes: int | None, per_sample: bool, pairing: str, label_smoothing: float, knn_k: int
) -> VicinityOptions:
    return VicinityOptions(
        alpha=check_alpha(alpha),
        num_classes=None if num_classes is None else check_num_classes(num_classes),
        per_sample=check_flag("per_sample", per_sample),
        pairing=check_choice("pairing", pairing, PAIRINGS),
        label_smoothing=check_fraction("label_smoothing", label_smoothing, closed=False),
        knn_k=check_positive_int("knn_k", knn_k),
    )


class Batch(NamedTuple):
    """A batch that passed `check_vicinity_batch`: x, y as given, the targets to mix and the class labels (or None)."""

    x: torch.Tensor
    y: torch.Tensor
    targets: torch.Tensor
    labels: torch.Tensor | None


def check_vicinity_batch(x: torch.Tensor, y: torch.Tensor, options: VicinityOptions) -> Batch:
    """The one check of a batch against trusted options; the targets come out ready to mix."""
    check_batch(x, y)
    targets, labels = check_targets(y, num_classes=options.num_classes, label_smoothing=options.label_smoothing)
    if "same_class" in options.pairing and labels is None:
        raise invalid("y.shape", tuple(y.shape), f"class labels or soft targets (B, C) for pairing={options.pairing!r}")
    return Batch(x, y, targets, labels)


def _draw_vicinity(batch: Batch, options: VicinityOptions, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """λ (0-d or (B,)) and the partner index, both on x's device, drawn in that order; nothing is checked."""
    x = batch.x
    lam = _draw_lambda(options.alpha, (x.shape[0],) if options.per_sample else (), gen, x.device)
    index = _draw_pairing(
        options.pairing, x.shape[0], gen, x.device,
        labels=batch.labels, features=x if "knn" in options.pairing else None, knn_k=options.knn_k,
    )
    return lam, index
