"""CutMix: paste a box of the partner image, λ = the share of the image kept (Yun et al., arXiv 1905.04899)."""

from __future__ import annotations

import torch

from ._checks import Pairing, check_batch, check_destination, resolve_generator
from ._draw import draw_vicinity
from .batch import MixedBatch
from .mix import mix_rows
from .mixup import keep_inputs


def sample_boxes(
    lam: torch.Tensor, height: int, width: int, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes of area ≈ (1−λ)·H·W at uniform centres, clipped to the image.

    Returns (boxes, kept): boxes LongTensor (..., 4) as (top, left, bottom, right), end-exclusive,
    and kept = 1 − box area / (H·W), the corrected λ (float32, shape of lam).
    """
    ratio = torch.sqrt(1 - lam.double())
    cut_h, cut_w = (height * ratio).long(), (width * ratio).long()
    cy = torch.randint(height, lam.shape, generator=generator, device=generator.device).to(lam.device)
    cx = torch.randint(width, lam.shape, generator=generator, device=generator.device).to(lam.device)
    top, left = (cy - cut_h // 2).clamp(0, height), (cx - cut_w // 2).clamp(0, width)
    bottom, right = (cy - cut_h // 2 + cut_h).clamp(0, height), (cx - cut_w // 2 + cut_w).clamp(0, width)
    kept = 1 - ((bottom - top) * (right - left)).double() / (height * width)
    return torch.stack([top, left, bottom, right], dim=-1), kept.float()


def box_mask(boxes: torch.Tensor, height: int, width: int, *, ndim: int) -> torch.Tensor:
    """Boolean mask (B, 1, ..., H, W) (`ndim` dims), True inside each row's box."""
    rows = torch.arange(height, device=boxes.device)[None, :, None]
    cols = torch.arange(width, device=boxes.device)[None, None, :]
    top, left, bottom, right = (boxes[:, i, None, None] for i in range(4))
    inside = (rows >= top) & (rows < bottom) & (cols >= left) & (cols < right)
    return inside.view(boxes.shape[0], *([1] * (ndim - 3)), height, width)


def cutmix(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    num_classes: int | None = None,
    per_sample: bool = False,
    pairing: Pairing = "permutation",
    label_smoothing: float = 0.0,
    knn_k: int = 200,
    generator: torch.Generator | None = None,
    inplace: bool = False,
    out: torch.Tensor | None = None,
) -> MixedBatch:
    """Replace a box of each image by the same box of its partner; targets mixed with the kept share.

    λ ~ Beta(α, α) sets the box area (1−λ)·H·W; its centre is uniform and the box is clipped to the
    image, so `.lam` is recomputed as the share of pixels kept from the image itself (the corrected λ)
    and `.targets` = λ·y + (1−λ)·y[index]. One box for the batch, or one per image (`per_sample`).
    x: (B, ..., H, W), any dtype (uint8 images too); the last two dimensions are the image plane.
    y, pairing, label smoothing, generator, inplace and out: as in `mixup`.
    """
    check_batch(x, y)
    if x.ndim < 3:
        raise ValueError(f"cutmix needs inputs of shape (B, ..., H, W), got {tuple(x.shape)}")
    check_destination(x, inplace=inplace, out=out)
    gen = resolve_generator(generator)
    targets, lam, index = draw_vicinity(
        x, y, alpha=alpha, num_classes=num_classes, label_smoothing=label_smoothing,
        per_sample=per_sample, pairing=pairing, knn_k=knn_k, generator=gen,
    )
    height, width = x.shape[-2:]
    boxes, lam = sample_boxes(lam, height, width, generator=gen)
    if per_sample:
        mask = box_mask(boxes, height, width, ndim=x.ndim)
        partner = x[index]
        dest = x if inplace else (out if out is not None else torch.empty_like(x))
        inputs = torch.where(mask, partner, x, out=dest)
    else:
        inputs = keep_inputs(x, inplace=inplace, out=out)
        top, left, bottom, right = boxes.tolist()
        region = (..., slice(top, bottom), slice(left, right))
        inputs[region] = x[region][index]
    targets = mix_rows(targets, lam.to(targets.device), index.to(targets.device))
    return MixedBatch(inputs=inputs, targets=targets, lam=lam, index=index)
