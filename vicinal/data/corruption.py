"""Label corruption for the memorization study of mixup (Zhang et al. 2018, arXiv 1710.09412, section 3.4)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


class CorruptedLabels(tuple):
    """`(noisy_labels, corrupted_mask)`, unpacked like a pair, with `changed_mask` and `changed_fraction`.

    `corrupted_mask` marks the positions chosen for a random label; `changed_mask` those whose label
    actually differs from the clean one (a random label equals the true one with probability 1/C).
    """

    def __new__(cls, noisy_labels: Tensor, corrupted_mask: Tensor, changed_mask: Tensor) -> "CorruptedLabels":
        pair = super().__new__(cls, (noisy_labels, corrupted_mask))
        pair.changed_mask = changed_mask
        return pair

    @property
    def noisy_labels(self) -> Tensor:
        return self[0]

    @property
    def corrupted_mask(self) -> Tensor:
        return self[1]

    @property
    def changed_fraction(self) -> float:
        """Share of all labels that differ from the clean ones."""
        return float(self.changed_mask.float().mean()) if self.changed_mask.numel() else 0.0


def corrupt_labels(y: Tensor, *, fraction: float, num_classes: int, generator: torch.Generator) -> CorruptedLabels:
    """Replace exactly `round(fraction * N)` labels, at positions drawn without replacement, by labels
    drawn uniformly from all `num_classes` classes (the paper's protocol: the draw may repeat the true
    label). Returns `(noisy_labels, corrupted_mask)`; `y` is never changed.
    """
    if not isinstance(y, Tensor) or y.ndim != 1 or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"y must be a 1-D integer tensor of class labels, got {getattr(y, 'dtype', type(y))} "
                         f"{tuple(getattr(y, 'shape', ()))}")
    if not (isinstance(fraction, (int, float)) and math.isfinite(fraction) and 0.0 <= fraction <= 1.0):
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    if not (isinstance(num_classes, int) and num_classes >= 1):
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes - 1}], got values in [{int(y.min())}, {int(y.max())}]")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    count = round(fraction * y.numel())
    positions = torch.randperm(y.numel(), generator=generator, device=generator.device)[:count].to(y.device)
    random_labels = torch.randint(num_classes, (count,), generator=generator, device=generator.device)
    noisy = y.clone()
    noisy[positions] = random_labels.to(device=y.device, dtype=y.dtype)
    mask = torch.zeros_like(y, dtype=torch.bool)
    mask[positions] = True
    return CorruptedLabels(noisy, mask, noisy != y)
