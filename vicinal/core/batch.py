"""MixedBatch: what every mixing function returns (inputs, targets, λ, partner index)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class MixedBatch:
    """A vicinal batch: x̃ = λ·x + (1−λ)·x[index] (or a CutMix paste), ỹ the same for the targets.

    inputs:  the mixed inputs (for manifold mixup: the mixed hidden activations), dtype of x.
    targets: mixed targets; for classification soft rows (B, C) summing to 1, float32.
    lam:     float32, 0-d (one λ for the batch) or (B,) (one per sample); for CutMix the kept share.
    index:   LongTensor (B,), the partner of each row.
    layer:   for manifold mixup, the name of the layer whose output was mixed; otherwise None.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    lam: torch.Tensor
    index: torch.Tensor
    layer: str | None = None
