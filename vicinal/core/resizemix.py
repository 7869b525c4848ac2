"""ResizeMix: the whole partner image, shrunk by a random scale, pasted at a random place (arXiv 2012.11101)."""

from __future__ import annotations

import math
from typing import Literal, get_args

import torch
import torch.nn.functional as F

from ._checks import Pairing, check_choice, check_destination, invalid, is_real
from ._rows import combine_rows
from ._vicinity import Batch, VicinityOptions, check_vicinity_batch, vicinity_options
from .batch import MixedBatch
from .cutmix import check_image_batch
from .generators import own_generator
from .mix import _mix_rows
from .pairing import _draw_pairing

Interpolation = Literal["bilinear", "nearest", "area"]
INTERPOLATIONS: tuple[str, ...] = get_args(Interpolation)


def check_scale(scale: tuple[float, float]) -> tuple[float, float]:
    """The range of the resize scale τ: (low, high) with 0 < low ≤ high ≤ 1."""
    if not (isinstance(scale, (tuple, list)) and len(scale) == 2 and all(is_real(s) for s in scale)
            and all(math.isfinite(s) for s in scale) and 0 < scale[0] <= scale[1] <= 1):
        raise invalid("scale", scale, "(low, high) with 0 < low <= high <= 1")
    return float(scale[0]), float(scale[1])


def resizemix(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    scale: tuple[float, float] = (0.1, 0.8),
    interpolation: Interpolation = "bilinear",
    num_classes: int | None = None,
    per_sample: bool = False,
    pairing: Pairing = "permutation",
    label_smoothing: float = 0.0,
    knn_k: int = 200,
    generator: torch.Generator | None = None,
    inplace: bool = False,
    out: torch.Tensor | None = None,
) -> MixedBatch:
    """Paste each image's partner, resized to a patch of round(τ·H) × round(τ·W) pixels, at a uniform place inside it.

    τ ~ U(scale) (the authors' default range 0.1 to 0.8 of each side); the patch lies wholly inside the image,
    so `.lam` = 1 − patch area / (H·W), the share of pixels kept from the image itself, and `.targets` =
    λ·y + (1−λ)·y[index]: the partner's label weight is the area it covers. One scale and place for the batch,
    or one per image (`per_sample`). The partner is resized with `interpolation` (in float32 for other dtypes,
    rounded back for integer ones).
    x: (B, ..., H, W), any dtype. y, pairing, label smoothing, generator, inplace and out: as in `cutmix`.
    Draws from `generator`: τ, the pairing, then the place.
    """
    options = vicinity_options(
        alpha=1.0, num_classes=num_classes, per_sample=per_sample, pairing=pairing,
        label_smoothing=label_smoothing, knn_k=knn_k,
    )
    scale = check_scale(scale)
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    batch = check_vicinity_batch(x, y, options)
    check_image_batch(x)
    check_destination(x, inplace=inplace, out=out)
    return _resizemix(batch, options, scale=scale, interpolation=interpolation,
                      generator=own_generator(generator=generator), inplace=inplace, out=out)


def _draw_sizes(
    scale: tuple[float, float], count: int | None, height: int, width: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Patch sides (h, w) = round(τ·(H, W)), at least 1, for τ ~ U(scale): one per row, or one (count=None)."""
    shape = () if count is None else (count,)
    low, high = scale
    tau = torch.rand(shape, generator=gen, device=gen.device, dtype=torch.float64).mul_(high - low).add_(low)
    return torch.round(tau * height).clamp_(1, height).long(), torch.round(tau * width).clamp_(1, width).long()


def _place_patches(h: torch.Tensor, w: torch.Tensor, height: int, width: int, gen: torch.Generator) -> torch.Tensor:
    """Uniform places wholly inside the image: patches (..., 4) as (top, left, h, w)."""
    u = torch.rand((2, *h.shape), generator=gen, device=gen.device, dtype=torch.float64)
    top = (u[0] * (height - h + 1)).long().clamp_(max=height - h)
    left = (u[1] * (width - w + 1)).long().clamp_(max=width - w)
    return torch.stack([top, left, h, w], dim=-1)


def _resizemix(
    batch: Batch, options: VicinityOptions, *, scale: tuple[float, float], interpolation: str,
    generator: torch.Generator, inplace: bool, out: torch.Tensor | None,
) -> MixedBatch:
    """ResizeMix of a checked batch with trusted options and destination."""
    x = batch.x
    height, width = x.shape[-2:]
    h, w = _draw_sizes(scale, x.shape[0] if options.per_sample else None, height, width, generator)
    index = _draw_pairing(options.pairing, x.shape[0], generator, x.device, labels=batch.labels,
                          features=x if "knn" in options.pairing else None, knn_k=options.knn_k)
    patches = _place_patches(h, w, height, width, generator)
    lam = (1 - (h * w).double() / (height * width)).float().to(x.device)
    paste = _paste_resized(patches.tolist(), interpolation, per_row=options.per_sample)
    inputs = combine_rows(x, index, paste, inplace=inplace, out=out)
    targets = _mix_rows(batch.targets, lam.to(batch.targets.device), index.to(batch.targets.device))
    return MixedBatch(inputs=inputs, targets=targets, lam=lam, index=index)


def _resize(images: torch.Tensor, size: tuple[int, int], interpolation: str) -> torch.Tensor:
    """images (..., H, W) resized to (..., *size); integer dtypes through float32 and rounded back."""
    lead = images.shape[:-2]
    flat = images.reshape(-1, 1, *images.shape[-2:])  # every plane resized alone
    work = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
    resized = F.interpolate(work, size=size, mode=interpolation,
                            align_corners=False if interpolation == "bilinear" else None)
    if not images.is_floating_point():
        info = torch.iinfo(images.dtype)
        resized = resized.round_().clamp_(info.min, info.max)
    return resized.to(images.dtype).reshape(*lead, *size)


def _paste_resized(patches: list, interpolation: str, *, per_row: bool):
    """The row combination of `combine_rows`: own rows with their partner, resized, pasted on each patch.

    patches: one (top, left, h, w) for every row, or (per_row) a list of them, one per row of the batch.
    """
    def paste(own: torch.Tensor, partner: torch.Tensor, rows, result: torch.Tensor | None) -> torch.Tensor:
        if isinstance(rows, int):  # one row (a view)
            pieces = [(patches[rows] if per_row else patches, partner, ...)]
        elif per_row:
            ids = range(own.shape[0])[rows] if isinstance(rows, slice) else rows.tolist()
            pieces = [(patches[i], partner[k], k) for k, i in enumerate(ids)]
        else:
            pieces = [(patches, partner, ...)]
        resized = [(_resize(p, (h, w), interpolation), k, top, left) for (top, left, h, w), p, k in pieces]
        if result is None:
            result = own.clone()
        elif result.data_ptr() != own.data_ptr():
            result.copy_(own)
        for patch, k, top, left in resized:
            result[k][..., top : top + patch.shape[-2], left : left + patch.shape[-1]] = patch
        return result

    return paste
