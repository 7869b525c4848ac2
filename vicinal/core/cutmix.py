"""CutMix: paste a box of the partner image, λ = the share of the image kept (Yun et al., arXiv 1905.04899)."""

from __future__ import annotations

import torch

from ._checks import Pairing, check_destination, check_tensor, invalid, is_integer
from ._rows import combine_rows
from ._vicinity import Batch, VicinityOptions, _draw_vicinity, check_vicinity_batch, vicinity_options
from .batch import MixedBatch
from .generators import own_generator
from .mix import _mix_rows
from .mixup import _keep_inputs


def sample_boxes(
    lam: torch.Tensor, height: int, width: int, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes of area ≈ (1−λ)·H·W at uniform centres, clipped to the image.

    lam: a float tensor of values in [0, 1], any shape; height, width ≥ 1.
    Returns (boxes, kept): boxes LongTensor (..., 4) as (top, left, bottom, right), end-exclusive,
    and kept = 1 − box area / (H·W), the corrected λ (float32, shape of lam).
    """
    if not check_tensor("lam", lam).is_floating_point():
        raise invalid("lam.dtype", lam.dtype, "a floating-point dtype")
    if not bool(((lam >= 0) & (lam <= 1)).all()):
        raise invalid("(lam.min(), lam.max())", (lam.min().item(), lam.max().item()), "values in [0, 1]")
    check_image_plane(height, width)
    if not isinstance(generator, torch.Generator):
        raise invalid("generator", generator, "a torch.Generator")
    return _draw_boxes(lam, height, width, generator)


def check_image_plane(height: int, width: int) -> None:
    if not (is_integer(height) and is_integer(width) and height >= 1 and width >= 1):
        raise invalid("(height, width)", (height, width), "an image plane of at least 1x1 pixels")


def _draw_boxes(
    lam: torch.Tensor, height: int, width: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """sample_boxes without validation."""
    ratio = torch.sqrt(1 - lam.double())
    cut_h, cut_w = (height * ratio).long(), (width * ratio).long()
    cy = torch.randint(height, lam.shape, generator=generator, device=generator.device).to(lam.device)
    cx = torch.randint(width, lam.shape, generator=generator, device=generator.device).to(lam.device)
    top, left = (cy - cut_h // 2).clamp(0, height), (cx - cut_w // 2).clamp(0, width)
    bottom, right = (cy - cut_h // 2 + cut_h).clamp(0, height), (cx - cut_w // 2 + cut_w).clamp(0, width)
    kept = 1 - ((bottom - top) * (right - left)).double() / (height * width)
    return torch.stack([top, left, bottom, right], dim=-1), kept.float()


def _box_mask(boxes: torch.Tensor, height: int, width: int, *, ndim: int) -> torch.Tensor:
    """Boolean mask, True inside each box: boxes (..., 4) give shape (..., 1, ..., 1, H, W) of `ndim` dims."""
    lead = boxes.shape[:-1]
    rows = torch.arange(height, device=boxes.device)[:, None]
    cols = torch.arange(width, device=boxes.device)[None, :]
    top, left, bottom, right = (boxes[..., i, None, None] for i in range(4))
    inside = (rows >= top) & (rows < bottom) & (cols >= left) & (cols < right)
    return inside.view(*lead, *([1] * (ndim - len(lead) - 2)), height, width)


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
    options = vicinity_options(
        alpha=alpha, num_classes=num_classes, per_sample=per_sample, pairing=pairing,
        label_smoothing=label_smoothing, knn_k=knn_k,
    )
    batch = check_vicinity_batch(x, y, options)
    check_image_batch(x)
    check_destination(x, inplace=inplace, out=out)
    return _cutmix(batch, options, generator=own_generator(generator=generator), inplace=inplace, out=out)


def check_image_batch(x: torch.Tensor) -> None:
    """Inputs CutMix can paste into: (B, ..., H, W) with H, W ≥ 1."""
    if x.ndim < 3:
        raise invalid("x.shape", tuple(x.shape), "(B, ..., H, W) for cutmix")
    check_image_plane(*x.shape[-2:])


def _cutmix(
    batch: Batch, options: VicinityOptions, *, generator: torch.Generator, inplace: bool, out: torch.Tensor | None
) -> MixedBatch:
    """CutMix of a checked batch with trusted options and destination."""
    x = batch.x
    lam, index = _draw_vicinity(batch, options, generator)
    boxes, lam = _draw_boxes(lam, *x.shape[-2:], generator)
    inputs = _paste(x, index, boxes, inplace=inplace, out=out)
    targets = _mix_rows(batch.targets, lam.to(batch.targets.device), index.to(batch.targets.device))
    return MixedBatch(inputs=inputs, targets=targets, lam=lam, index=index)


def _paste(
    x: torch.Tensor, index: torch.Tensor, boxes: torch.Tensor, *, inplace: bool, out: torch.Tensor | None
) -> torch.Tensor:
    """x with the box of each row replaced by the same box of its partner; nothing is checked.

    boxes: (4,), one box for every row, or (B, 4), one per row, as (top, left, bottom, right) on x's last
    two dimensions. In place, no batch-sized buffer (see `combine_rows`).
    """
    height, width = x.shape[-2:]
    if boxes.ndim == 2:
        corners = boxes.tolist()

        def paste(own: torch.Tensor, partner: torch.Tensor, rows, result: torch.Tensor | None) -> torch.Tensor:
            if isinstance(rows, int):  # one row (a view): copy the partner's box, no mask
                top, left, bottom, right = corners[rows]
                if result.data_ptr() != own.data_ptr():
                    result.copy_(own)
                region = (..., slice(top, bottom), slice(left, right))
                result[region] = partner[region]
                return result
            return torch.where(_box_mask(boxes[rows], height, width, ndim=own.ndim), partner, own, out=result)

        return combine_rows(x, index, paste, inplace=inplace, out=out)
    inputs = _keep_inputs(x, inplace=inplace, out=out)
    top, left, bottom, right = boxes.tolist()
    region = (..., slice(top, bottom), slice(left, right))
    if inplace:
        combine_rows(x[region], index, _take_partner, inplace=True)
    else:
        inputs[region] = x[region][index]
    return inputs


def _take_partner(own: torch.Tensor, partner: torch.Tensor, rows, result: torch.Tensor | None) -> torch.Tensor:
    return partner if result is None or result is partner else result.copy_(partner)
