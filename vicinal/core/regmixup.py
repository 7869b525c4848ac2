"""RegMixup: cross-entropy on the clean batch plus η times mixup's loss on a mixed copy (arXiv 2206.14502)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._checks import (
    Pairing,
    check_floating,
    check_fraction,
    check_integer_dtype,
    check_labels,
    check_tensor,
    invalid,
    is_real,
)
from ._vicinity import Batch, VicinityOptions, check_vicinity_batch, vicinity_options
from .batch import MixedBatch
from .generators import own_generator
from .losses import mixup_cross_entropy
from .mixup import _mixup


def check_eta(value: float) -> float:
    if not is_real(value) or not math.isfinite(value) or value < 0:
        raise invalid("eta", value, "a finite number >= 0 (the weight of the mixup loss)")
    return float(value)


def regmixup(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = 20.0,
    num_classes: int | None = None,
    per_sample: bool = False,
    pairing: Pairing = "permutation",
    label_smoothing: float = 0.0,
    knn_k: int = 200,
    generator: torch.Generator | None = None,
) -> MixedBatch:
    """The clean batch and a mixup copy of it, stacked for one forward pass: `.inputs` = [x; x̃] (2B rows).

    Rows B + i of `.inputs` and `.targets` are mixup of row i with row `.index[i]` with weight `.lam` (λ ~ Beta(α, α));
    rows i are x and its targets unchanged. The authors' default is a large α, so λ stays near ½: α = 20 on
    CIFAR-10 (10 on CIFAR-100). Train on `regmixup_cross_entropy(model(batch.inputs), y, y[batch.index], batch.lam)`.
    `.targets` (2B, C) are the soft targets of both halves. The options are those of `mixup`; x is never changed
    (the result is twice x's size, so there is no in-place form). Draws from `generator`: λ, then the pairing.
    """
    options = vicinity_options(
        alpha=alpha, num_classes=num_classes, per_sample=per_sample, pairing=pairing,
        label_smoothing=label_smoothing, knn_k=knn_k,
    )
    batch = check_vicinity_batch(x, y, options)
    check_floating("x", x)
    return _regmixup(batch, options, generator=own_generator(generator=generator))


def _regmixup(batch: Batch, options: VicinityOptions, *, generator: torch.Generator) -> MixedBatch:
    """RegMixup's two halves of a checked batch with trusted options."""
    x = batch.x
    if x.requires_grad and torch.is_grad_enabled():
        mixed = _mixup(batch, options, mix="both", generator=generator, inplace=False, out=None)
        inputs = torch.cat([x, mixed.inputs])
    else:  # one buffer of 2B rows: the clean half copied in, the mixed half written straight into it
        inputs = x.new_empty((2 * x.shape[0], *x.shape[1:]))
        inputs[: x.shape[0]].copy_(x)
        mixed = _mixup(batch, options, mix="both", generator=generator, inplace=False, out=inputs[x.shape[0]:])
    targets = torch.cat([batch.targets, mixed.targets])
    return MixedBatch(inputs=inputs, targets=targets, lam=mixed.lam, index=mixed.index)


def regmixup_cross_entropy(
    logits: torch.Tensor,
    y_a: torch.Tensor,
    y_b: torch.Tensor,
    lam: float | torch.Tensor,
    *,
    eta: float = 1.0,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """RegMixup's loss: CE(logits[:B], y_a) + η·(λ·CE(logits[B:], y_a) + (1−λ)·CE(logits[B:], y_b)).

    logits: (2B, C), the clean rows then the mixed ones (from `regmixup`'s `.inputs`); y_a: class indices (B,),
    y_b: the partners' (`y[batch.index]`); λ a number, 0-d or (B,). Both terms are batch means, as in the paper
    (the authors' code averages one mixup criterion over the 2B rows, which is half this sum for η = 1). The
    mixup term is `mixup_cross_entropy`; ε of label smoothing applies to both terms.
    """
    eta = check_eta(eta)
    label_smoothing = check_fraction("label_smoothing", label_smoothing, closed=False)
    if check_tensor("logits", logits).ndim != 2 or logits.shape[0] % 2:
        raise invalid("logits.shape", tuple(logits.shape), "(2B, C): the clean rows, then the mixed ones")
    check_floating("logits", logits)
    half = logits.shape[0] // 2
    if check_tensor("y_a", y_a).shape != (half,):
        raise invalid("y_a.shape", tuple(y_a.shape), f"({half},): the class of each clean row")
    check_integer_dtype("y_a", y_a)
    check_labels("y_a", y_a, logits.shape[1])
    clean = F.cross_entropy(logits[:half].float(), y_a.long(), label_smoothing=label_smoothing)
    mixed = mixup_cross_entropy(logits[half:], y_a, y_b, lam, label_smoothing=label_smoothing)
    return clean + eta * mixed
