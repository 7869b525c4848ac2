"""C-Mixup for regression: partners drawn by a Gaussian kernel of the label distance (Yao et al., arXiv 2210.05775)."""

from __future__ import annotations

import math

import torch

from ._checks import (
    check_alpha,
    check_batch,
    check_destination,
    check_flag,
    check_floating,
    invalid,
    is_real,
)
from .batch import MixedBatch
from .generators import own_generator
from .mix import _mix_rows
from .sampling import _draw_lambda


def check_bandwidth(value: float) -> float:
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        raise invalid("bandwidth", value, "a finite number > 0 (the kernel's σ, in units of the targets)")
    return float(value)


def c_mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    bandwidth: float = 1.0,
    per_sample: bool = False,
    generator: torch.Generator | None = None,
    inplace: bool = False,
    out: torch.Tensor | None = None,
) -> MixedBatch:
    """mixup for regression whose partners are near in label: x̃ = λ·x + (1−λ)·x[index], ỹ likewise.

    Row i's partner j is drawn (with replacement, i itself included, as in the authors' code) with probability
    P(j | i) ∝ exp(−‖y_i − y_j‖² / (2σ²)), σ = `bandwidth` in the units of y: a small σ mixes only rows of close
    targets, a large one tends to plain mixup. The partners are drawn within the batch (the authors' batch-level
    variant; their default draws them from the whole training set). λ ~ Beta(α, α), one per batch (the authors')
    or one per row (`per_sample`); α = 0 returns the batch as it is.

    x: (B, ...), floating dtype (kept). y: float regression targets (B,) or (B, D), mixed as they are (no class
    targets: C-Mixup is for regression). Generator, inplace and out: as in `mixup`. Draws: λ, then the partners.
    """
    alpha = check_alpha(alpha)
    bandwidth = check_bandwidth(bandwidth)
    check_flag("per_sample", per_sample)
    check_batch(x, y)
    check_floating("x", x)
    if not y.is_floating_point() or y.ndim not in (1, 2):
        raise invalid("y", f"<{y.dtype} tensor of shape {tuple(y.shape)}>",
                      "float regression targets (B,) or (B, D) for c_mixup")
    check_destination(x, inplace=inplace, out=out)
    return _c_mixup(x, y, alpha=alpha, bandwidth=bandwidth, per_sample=per_sample,
                    generator=own_generator(generator=generator), inplace=inplace, out=out)


def _kernel_partners(y: torch.Tensor, bandwidth: float, gen: torch.Generator) -> torch.Tensor:
    """One partner per row, drawn with probability ∝ exp(−‖y_i − y_j‖² / (2σ²)); a LongTensor on y's device."""
    batch_size = y.shape[0]
    if batch_size == 0:
        return torch.zeros(0, dtype=torch.long, device=y.device)
    flat = y.reshape(batch_size, -1).to(device=gen.device, dtype=torch.float64)
    # The row's own weight is the largest (exp(0) = 1), so every row has a positive total and no weight underflows
    # alone: the log-weights are shifted by their maximum, 0, already.
    weights = torch.exp(-torch.cdist(flat, flat).square() / (2 * bandwidth**2))
    return torch.multinomial(weights, 1, generator=gen).squeeze(1).to(y.device)


def _c_mixup(
    x: torch.Tensor, y: torch.Tensor, *, alpha: float, bandwidth: float, per_sample: bool, generator: torch.Generator,
    inplace: bool, out: torch.Tensor | None,
) -> MixedBatch:
    """C-Mixup of a checked batch with trusted options and destination."""
    lam = _draw_lambda(alpha, (x.shape[0],) if per_sample else (), generator, x.device)
    index = _kernel_partners(y, bandwidth, generator).to(x.device)
    inputs = _mix_rows(x, lam, index, inplace=inplace, out=out)
    targets = _mix_rows(y, lam.to(y.device), index.to(y.device))
    return MixedBatch(inputs=inputs, targets=targets, lam=lam, index=index)
