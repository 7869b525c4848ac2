"""The pure core of mixup: x̃ = λ·x + (1−λ)·x[index], ỹ likewise (Zhang et al., arXiv 1710.09412)."""

from __future__ import annotations

import torch

from ._checks import check_batch, check_destination, check_floating, check_index, check_lambda
from ._rows import combine_rows


def _mix_rows(
    t: torch.Tensor, lam: torch.Tensor, index: torch.Tensor, *, inplace: bool = False, out: torch.Tensor | None = None
) -> torch.Tensor:
    """λ·t + (1−λ)·t[index] along dim 0, any trailing shape, dtype of t kept; no validation.

    Every path computes torch.lerp(t[index], t, λ) = t[index] + λ·(t − t[index]) with the same weight (a
    Python number for one λ on the CPU, else λ in t's dtype), so in place, into `out` and into new memory
    give the same values. λ is 0-d or (B,) float32 on t's device.
    """
    if lam.ndim == 0:
        # A Python λ is a cheaper lerp weight than a 0-d tensor; reading it syncs no device on the CPU.
        weight = lam.item() if lam.device.type == "cpu" else lam.to(t.dtype)
        per_row = None
    else:
        per_row = lam.to(t.dtype).view(-1, *([1] * (t.ndim - 1)))

    def lerp(own: torch.Tensor, partner: torch.Tensor, rows, result: torch.Tensor | None) -> torch.Tensor:
        w = weight if per_row is None else per_row[rows]
        if result is None or result is partner:
            return partner.lerp_(own, w)
        return torch.lerp(partner, own, w, out=result)

    return combine_rows(t, index, lerp, inplace=inplace, out=out)


def mix(
    x: torch.Tensor,
    y: torch.Tensor,
    lam: float | torch.Tensor,
    index: torch.Tensor,
    *,
    out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure mixup of a batch with given λ and partners: returns (x̃, ỹ), new tensors.

    x̃ = λ·x + (1−λ)·x[index] and ỹ = λ·y + (1−λ)·y[index]; λ ∈ [0, 1] is a number, 0-d, or (B,)
    (one per row, broadcast over all trailing dimensions). y must be float (soft one-hot or
    regression targets; see `to_soft_targets`). `out=` receives x̃ (same shape/dtype/device as x).

    >>> x = torch.tensor([[0.0], [10.0]]); y = torch.eye(2)
    >>> mix(x, y, 0.25, torch.tensor([1, 0]))
    (tensor([[7.5000],
            [2.5000]]), tensor([[0.2500, 0.7500],
            [0.7500, 0.2500]]))
    """
    batch_size = check_batch(x, y)
    check_floating("x", x)
    check_floating("y", y)
    check_index(index, batch_size)
    check_destination(x, inplace=False, out=out)
    lam = check_lambda(lam, batch_size=batch_size, device=x.device)
    index = index.to(x.device)
    return _mix_rows(x, lam, index, out=out), _mix_rows(y, lam.to(y.device), index.to(y.device))
