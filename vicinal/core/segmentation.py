"""mixup and CutMix for segmentation: per-pixel soft targets, one box for image and mask (arXiv 1710.09412, 1905.04899).

Masks of class indices (B, H, W) become per-pixel soft targets (B, C, H, W). A pixel labelled with
`ignore_index` gets an all-zero row: it carries no class mass, so it adds nothing to the loss
(`segmentation_cross_entropy` divides by the class mass, not by the pixel count). mixup mixes the rows
with the images' λ, so a pixel whose source is ignored keeps only its partner's share (1 − λ) of mass;
CutMix pastes the same box into image and mask, so every pixel's target is its source pixel's label.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F

from ._checks import (
    check_alpha,
    check_choice,
    check_destination,
    check_floating,
    check_fraction,
    check_labels,
    check_num_classes,
    check_tensor,
    invalid,
    is_integer,
)
from .batch import MixedBatch
from .cutmix import _draw_boxes, _paste, check_image_plane
from .generators import own_generator
from .mix import _mix_rows
from .pairing import _draw_pairing
from .sampling import _draw_lambda

# The pairings that need neither class labels nor features (a mask is no single class).
SegmentationPairing = Literal["permutation", "flip", "roll"]
SEGMENTATION_PAIRINGS: tuple[str, ...] = get_args(SegmentationPairing)


def segmentation_targets(
    masks: torch.Tensor,
    *,
    num_classes: int,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Class-index masks (B, *S) (S the spatial dims, e.g. H, W) → per-pixel soft targets (B, C, *S).

    Each pixel's row is its one-hot class, smoothed to (1 − ε)·one-hot + ε/C with label smoothing ε,
    so it sums to 1; a pixel equal to `ignore_index` gets a row of zeros (it sums to 0). The comparison is exact:
    an `ignore_index` the masks' dtype cannot hold (256 for uint8, 255 for int8) matches no pixel.

    >>> segmentation_targets(torch.tensor([[[0, 255]]]), num_classes=2, ignore_index=255)[0, :, 0]
    tensor([[1., 0.],
            [0., 0.]])
    """
    num_classes = check_num_classes(num_classes)
    label_smoothing = check_fraction("label_smoothing", label_smoothing, closed=False)
    if not isinstance(masks, torch.Tensor) or masks.ndim < 2 or masks.dtype == torch.bool or masks.is_floating_point():
        got = f"{tuple(masks.shape)} {masks.dtype}" if isinstance(masks, torch.Tensor) else type(masks).__name__
        raise ValueError(f"masks={got} is invalid: expected an integer tensor of class indices (B, H, W)")
    if ignore_index is not None and not is_integer(ignore_index):
        raise ValueError(f"ignore_index={ignore_index!r} is invalid: expected an integer or None")
    ignored = None if ignore_index is None or not _holds(masks.dtype, ignore_index) else masks == ignore_index
    labels = masks if ignored is None else masks.masked_fill(ignored, 0)
    check_labels("masks", labels, num_classes)
    targets = torch.zeros((masks.shape[0], num_classes, *masks.shape[1:]), dtype=dtype, device=masks.device)
    targets.scatter_(1, labels.long().unsqueeze(1), 1.0)
    if label_smoothing:
        targets.mul_(1 - label_smoothing).add_(label_smoothing / num_classes)
    if ignored is not None:
        targets.masked_fill_(ignored.unsqueeze(1), 0.0)
    return targets


def _holds(dtype: torch.dtype, value: int) -> bool:
    """Whether an integer tensor of ``dtype`` can hold ``value``: one it cannot hold equals no pixel (compared in the
    mask's dtype, it would wrap, e.g. 256 to 0 in uint8)."""
    info = torch.iinfo(dtype)
    return info.min <= value <= info.max


def segmentation_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-pixel cross-entropy against soft targets, averaged over the class mass, in float32.

    −Σ_pixels Σ_c targets_c · log softmax(logits)_c / Σ_pixels Σ_c targets_c. logits and targets:
    (B, C, *S). Ignored pixels (zero rows) add nothing to either sum, so on unmixed targets this equals
    `F.cross_entropy(logits, masks, ignore_index=...)`; a mixed pixel counts with its mass. 0 when every
    pixel is ignored. Negative (or NaN) targets raise ValueError.
    """
    check_tensor("logits", logits)
    check_tensor("targets", targets)
    if logits.ndim < 2 or targets.shape != logits.shape:
        raise ValueError(
            f"targets of shape {tuple(targets.shape)} are invalid: expected the shape of the logits "
            f"{tuple(logits.shape)}, (B, C, *S)"
        )
    targets = targets.float()
    low = targets.min() if targets.numel() else None
    if low is not None and not bool(low >= 0):  # False for NaN too
        raise invalid("targets.min()", low.item(), "targets >= 0 (class mass per pixel; an ignored pixel's row is "
                      "all zeros)")
    total = F.cross_entropy(logits.float(), targets, reduction="sum")
    return total / targets.sum().clamp_min(torch.finfo(torch.float32).tiny)


def _prepare(
    x: torch.Tensor,
    masks: torch.Tensor,
    *,
    alpha: float,
    num_classes: int,
    ignore_index: int | None,
    label_smoothing: float,
    per_sample: bool,
    pairing: str,
    generator: torch.Generator | None,
    floating: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator]:
    """Check everything (x floating if `floating`), then draw λ and the partners: (targets, λ, index, generator)."""
    for name, t in (("x", x), ("masks", masks)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name}={type(t).__name__} is invalid: expected a torch.Tensor")
    if x.ndim < 3 or masks.ndim != 3 or x.shape[0] != masks.shape[0] or x.shape[-2:] != masks.shape[1:]:
        raise ValueError(
            f"masks of shape {tuple(masks.shape)} are invalid for images of shape {tuple(x.shape)}: "
            "expected images (B, ..., H, W) and masks (B, H, W)"
        )
    check_image_plane(*masks.shape[1:])
    if floating:
        check_floating("x", x)
    alpha = check_alpha(alpha)
    check_choice("pairing", pairing, SEGMENTATION_PAIRINGS)
    targets = segmentation_targets(
        masks, num_classes=num_classes, ignore_index=ignore_index, label_smoothing=label_smoothing
    )
    gen = own_generator(generator=generator)
    lam = _draw_lambda(alpha, (x.shape[0],) if per_sample else (), gen, x.device)
    index = _draw_pairing(pairing, x.shape[0], gen, x.device, labels=None, features=None, knn_k=1)
    return targets, lam, index, gen


def mixup_segmentation(
    x: torch.Tensor,
    masks: torch.Tensor,
    *,
    alpha: float,
    num_classes: int,
    ignore_index: int | None = None,
    per_sample: bool = False,
    pairing: SegmentationPairing = "permutation",
    label_smoothing: float = 0.0,
    generator: torch.Generator | None = None,
    inplace: bool = False,
) -> MixedBatch:
    """mixup of images and their masks: x̃ = λ·x + (1−λ)·x[index], and every pixel's target row likewise.

    x: floating images (B, ..., H, W); masks: class indices (B, H, W). `.targets` are (B, C, H, W)
    (see `segmentation_targets`; an ignored source pixel adds no mass). λ ~ Beta(α, α), one per batch
    or one per image (`per_sample`); draws (λ, then the partners) come from `generator`. x is never
    changed unless `inplace=True`.
    """
    check_destination(x, inplace=inplace, out=None)
    targets, lam, index, _ = _prepare(
        x, masks, alpha=alpha, num_classes=num_classes, ignore_index=ignore_index, label_smoothing=label_smoothing,
        per_sample=per_sample, pairing=pairing, generator=generator, floating=True,
    )
    inputs = _mix_rows(x, lam, index, inplace=inplace)
    targets = _mix_rows(targets, lam.to(targets.device), index.to(targets.device))
    return MixedBatch(inputs=inputs, targets=targets, lam=lam, index=index)


def cutmix_segmentation(
    x: torch.Tensor,
    masks: torch.Tensor,
    *,
    alpha: float,
    num_classes: int,
    ignore_index: int | None = None,
    per_sample: bool = False,
    pairing: SegmentationPairing = "permutation",
    label_smoothing: float = 0.0,
    generator: torch.Generator | None = None,
    inplace: bool = False,
) -> MixedBatch:
    """CutMix of images and their masks: one box, pasted from the partner into the image and into its mask.

    Every pixel's target is then the one-hot label of the pixel it came from (an ignored one stays
    ignored); `.lam` is the share of each image kept (the box clipped to the image, as in `cutmix`).
    x: images (B, ..., H, W), any dtype; masks: class indices (B, H, W); `.targets` (B, C, H, W).
    One box per batch, or one per image (`per_sample`). Draws λ, the partners, then the box(es), from
    `generator`, as `cutmix` does. x is never changed unless `inplace=True`.
    """
    check_destination(x, inplace=inplace, out=None)
    targets, lam, index, gen = _prepare(
        x, masks, alpha=alpha, num_classes=num_classes, ignore_index=ignore_index, label_smoothing=label_smoothing,
        per_sample=per_sample, pairing=pairing, generator=generator, floating=False,
    )
    boxes, kept = _draw_boxes(lam, *masks.shape[1:], gen)
    inputs = _paste(x, index, boxes, inplace=inplace, out=None)
    # The same box on the one-hot rows is the same paste on the masks: each pixel's target is its source's
    # (the targets are new, so they are pasted in place).
    targets = _paste(targets, index.to(targets.device), boxes.to(targets.device), inplace=True, out=None)
    return MixedBatch(inputs=inputs, targets=targets, lam=kept, index=index)
