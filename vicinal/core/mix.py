"""The pure core of mixup: x̃ = λ·x + (1−λ)·x[index], ỹ likewise (Zhang et al., arXiv 1710.09412)."""

from __future__ import annotations

import itertools

import torch

from ._checks import check_batch, check_destination, check_floating, check_index


def as_lambda(lam: float | torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    """λ as a float32 tensor on `device`: 0-d, or (B,) for one λ per sample."""
    lam = torch.as_tensor(lam, dtype=torch.float32, device=device)
    if lam.ndim == 1 and lam.shape[0] == 1 and batch_size != 1:
        lam = lam.reshape(())
    if lam.ndim != 0 and lam.shape != (batch_size,):
        raise ValueError(f"lam must be a scalar, 0-d or of shape ({batch_size},), got {tuple(lam.shape)}")
    if not bool(torch.isfinite(lam).all()):
        raise ValueError(f"lam must be finite, got {lam}")
    return lam


# Rows at least this large (elements) are mixed one row at a time on the CPU: one fused pass that reads
# both rows and writes the result, with no gathered copy. Below it the per-call cost of the loop dominates.
ROWWISE_MIN_ELEMENTS = 1 << 16


def mix_rows(
    t: torch.Tensor,
    lam: torch.Tensor,
    index: torch.Tensor,
    *,
    out: torch.Tensor | None = None,
    inplace: bool = False,
    reversed_index: bool = False,
) -> torch.Tensor:
    """λ·t + (1−λ)·t[index] along dim 0, any trailing shape, dtype of t kept; no validation.

    torch.lerp(a, b, w) = a + w·(b − a), so lerp(t[index], t, λ) = λ·t + (1−λ)·t[index]. In place,
    the partners are gathered first (they would otherwise be overwritten) and lerped into t. Out of
    place (or into `out`), large rows on the CPU are lerped row by row straight into the result;
    otherwise the gather (`index_select`, about twice as fast as `t[index]` here) makes the result
    buffer and one lerp finishes it. `reversed_index` says index is B−1, …, 0 (the flip pairing): in
    place, `flip` then gathers the partners (it timed faster here than `index_select` on that index).
    """
    if lam.ndim == 0:
        # A Python λ is a cheaper lerp weight than a 0-d tensor; reading it syncs no device on the CPU.
        weight = lam.item() if lam.device.type == "cpu" else lam
    else:
        weight = lam.to(t.dtype).view(-1, *([1] * (t.ndim - 1)))
    if inplace:
        return t.lerp_(t.flip(0) if reversed_index else t.index_select(0, index), 1 - weight)
    if _rowwise(t):
        return _mix_rowwise(t, weight, index, out=out)
    if out is not None:
        return torch.index_select(t, 0, index, out=out).lerp_(t, weight)
    return t.index_select(0, index).lerp_(t, weight)


def _rowwise(t: torch.Tensor) -> bool:
    """Whether the row-by-row path applies: CPU, large rows, no autograd graph to record."""
    return (t.ndim > 1 and t.numel() >= ROWWISE_MIN_ELEMENTS * max(t.shape[0], 1) and t.device.type == "cpu"
            and not (t.requires_grad and torch.is_grad_enabled()))


def _mix_rowwise(
    t: torch.Tensor, weight: float | torch.Tensor, index: torch.Tensor, *, out: torch.Tensor | None
) -> torch.Tensor:
    result = torch.empty_like(t) if out is None else out
    weights = weight.flatten().tolist() if isinstance(weight, torch.Tensor) else itertools.repeat(weight)
    rows, result_rows = t.unbind(0), result.unbind(0)
    for i, (j, w) in enumerate(zip(index.tolist(), weights)):
        torch.lerp(rows[j], rows[i], w, out=result_rows[i])
    return result


def mix(
    x: torch.Tensor,
    y: torch.Tensor,
    lam: float | torch.Tensor,
    index: torch.Tensor,
    *,
    out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure mixup of a batch with given λ and partners: returns (x̃, ỹ), new tensors.

    x̃ = λ·x + (1−λ)·x[index] and ỹ = λ·y + (1−λ)·y[index]; λ is a number, 0-d, or (B,) (one per
    row, broadcast over all trailing dimensions). y must be float (soft one-hot or regression
    targets; see `to_soft_targets`). `out=` receives x̃ (same shape/dtype/device as x).

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
    index = index.to(x.device)
    lam = as_lambda(lam, batch_size, x.device)
    return mix_rows(x, lam, index, out=out), mix_rows(y, lam.to(y.device), index.to(y.device))
