"""mixup of a batch: inputs and targets interpolated with λ ~ Beta(α, α) (Zhang et al., arXiv 1710.09412)."""

from __future__ import annotations

import torch

from ._checks import MIX_MODES, MixMode, Pairing, check_choice, check_destination, check_floating
from ._vicinity import Batch, VicinityOptions, _draw_vicinity, check_vicinity_batch, vicinity_options
from .batch import MixedBatch
from .generators import own_generator
from .mix import _mix_rows


def _keep_inputs(x: torch.Tensor, *, inplace: bool, out: torch.Tensor | None) -> torch.Tensor:
    """The unmixed inputs, honouring the no-aliasing rule: x itself only when inplace=True."""
    if inplace:
        return x
    return x.clone() if out is None else out.copy_(x)


def mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    num_classes: int | None = None,
    per_sample: bool = False,
    pairing: Pairing = "permutation",
    mix: MixMode = "both",
    label_smoothing: float = 0.0,
    knn_k: int = 200,
    generator: torch.Generator | None = None,
    inplace: bool = False,
    out: torch.Tensor | None = None,
) -> MixedBatch:
    """Mix a batch with its partners: x̃ = λ·x + (1−λ)·x[index], ỹ = λ·y + (1−λ)·y[index].

    λ ~ Beta(α, α), one per batch (the paper) or one per row (`per_sample`); α = 0 returns the batch
    as it is (λ = 1). `index` comes from `pairing` (see `sample_pairing`). `mix="inputs"` mixes the
    inputs only, each row keeping the target of its dominant input (its own where λ ≥ ½, its partner's where
    λ < ½: the paper's "mix input only" ablation, with no row labelled by its minority input); `mix="labels"`
    keeps the inputs.

    x: any shape (B, ...), floating dtype (kept). y: class indices (B,) with `num_classes`, soft
    targets (B, C) (rows of probabilities), or float regression targets (B,) / (B, D) with
    num_classes=None (mixed as they are). Label smoothing ε is applied to the one-hot targets before mixing.

    x is never changed unless `inplace=True`, which overwrites x with no batch-sized buffer (not
    allowed when x requires grad); `out=` receives the inputs instead of a new tensor. The three
    give the same values. All draws (λ, then the pairing) come from `generator` (default: a fresh
    OS-seeded one).
    """
    options = vicinity_options(
        alpha=alpha, num_classes=num_classes, per_sample=per_sample, pairing=pairing,
        label_smoothing=label_smoothing, knn_k=knn_k,
    )
    check_choice("mix", mix, MIX_MODES)
    batch = check_vicinity_batch(x, y, options)
    check_floating("x", x)
    check_destination(x, inplace=inplace, out=out)
    return _mixup(batch, options, mix=mix, generator=own_generator(generator=generator), inplace=inplace, out=out)


def _mixup(
    batch: Batch, options: VicinityOptions, *, mix: str, generator: torch.Generator, inplace: bool,
    out: torch.Tensor | None,
) -> MixedBatch:
    """mixup of a checked batch with trusted options and destination."""
    x, targets = batch.x, batch.targets
    lam, index = _draw_vicinity(batch, options, generator)
    if mix == "labels":
        inputs = _keep_inputs(x, inplace=inplace, out=out)
    else:
        inputs = _mix_rows(x, lam, index, inplace=inplace, out=out)
    on_targets = (lam, index) if targets.device == x.device else (lam.to(targets.device), index.to(targets.device))
    targets = _dominant_targets(targets, *on_targets) if mix == "inputs" else _mix_rows(targets, *on_targets)
    return MixedBatch(inputs=inputs, targets=targets, lam=lam, index=index)


def _dominant_targets(targets: torch.Tensor, lam: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Each row's target is that of its dominant input: its own where λ ≥ ½, its partner's where λ < ½ (the pair
    read in the order that gives λ′ = max(λ, 1 − λ)). A new tensor; λ a scalar or one per row."""
    keep = lam >= 0.5
    if keep.ndim:
        keep = keep.view(-1, *(1,) * (targets.ndim - 1))
    return torch.where(keep, targets, targets.index_select(0, index))
