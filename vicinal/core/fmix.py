"""FMix: a binary mask from thresholded low-frequency Fourier noise, of mean λ (Harris et al., arXiv 2002.12047)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ._checks import (
    Pairing,
    check_destination,
    check_tensor,
    invalid,
    is_integer,
    is_real,
)
from ._rows import combine_rows
from ._vicinity import Batch, VicinityOptions, _draw_vicinity, check_vicinity_batch, vicinity_options
from .batch import MixedBatch
from .generators import own_generator
from .mix import _mix_rows


def check_decay_power(value: float) -> float:
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        raise invalid("decay_power", value, "a finite number > 0")
    return float(value)


def check_mask_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """The shape FMix masks cover: 1 to 3 sizes ≥ 1 (a sequence, an image plane or a volume)."""
    if not isinstance(shape, Sequence) or not 1 <= len(shape) <= 3 or not all(is_integer(n) and n >= 1 for n in shape):
        raise invalid("mask shape", tuple(shape) if isinstance(shape, Sequence) else shape,
                      "1 to 3 sizes >= 1 (the last dims of x that the mask covers)")
    return tuple(int(n) for n in shape)


def sample_fmix_masks(
    lam: torch.Tensor, shape: Sequence[int], *, decay_power: float = 3.0, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """FMix masks: for each λ, the round(λ·N) pixels of highest value in a low-frequency noise image of `shape`.

    The noise is the inverse real FFT of complex Gaussian noise scaled by 1 / max(f, 1/max(shape))^δ at
    frequency magnitude f (δ = `decay_power`, the authors' default 3): large δ gives large smooth blobs.
    lam: float values in [0, 1], shape () or (B,); shape: 1 to 3 sizes (N pixels in all).
    Returns (masks, kept): masks bool (*lam.shape, *shape), True where the input keeps its own pixel, and
    kept = the mask's mean (float32, shape of lam), within ½ pixel of λ (1/(2N)).
    """
    if not check_tensor("lam", lam).is_floating_point() or lam.ndim > 1:
        raise invalid("lam", lam, "a floating-point tensor of shape () or (B,)")
    if not bool(((lam >= 0) & (lam <= 1)).all()):
        raise invalid("(lam.min(), lam.max())", (lam.min().item(), lam.max().item()), "values in [0, 1]")
    shape = check_mask_shape(shape)
    decay_power = check_decay_power(decay_power)
    if not isinstance(generator, torch.Generator):
        raise invalid("generator", generator, "a torch.Generator")
    return _draw_masks(lam, shape, decay_power, generator)


def _low_frequency_noise(count: int, shape: tuple[int, ...], decay_power: float, gen: torch.Generator) -> torch.Tensor:
    """`count` real noise images of `shape` whose spectrum decays as 1/f^δ (float32, on the generator's device)."""
    device = gen.device
    axes = [torch.fft.fftfreq(n, device=device, dtype=torch.float64) for n in shape[:-1]]
    axes.append(torch.fft.rfftfreq(shape[-1], device=device, dtype=torch.float64))
    grids = torch.meshgrid(*axes, indexing="ij")
    freq = torch.sqrt(sum(g.square() for g in grids))
    scale = freq.clamp(min=1.0 / max(shape)).pow(-decay_power)
    parts = torch.randn((count, *freq.shape, 2), generator=gen, device=device, dtype=torch.float64)
    spectrum = torch.complex(parts[..., 0], parts[..., 1]) * scale
    dims = tuple(range(1, len(shape) + 1))
    return torch.fft.irfftn(spectrum, s=shape, dim=dims).float()


def _draw_masks(
    lam: torch.Tensor, shape: tuple[int, ...], decay_power: float, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """sample_fmix_masks without validation."""
    rows = lam.reshape(-1)
    noise = _low_frequency_noise(rows.shape[0], shape, decay_power, gen).flatten(1)
    pixels = noise.shape[1]
    keep = torch.round(rows.double().to(noise.device) * pixels).long()
    order = noise.argsort(dim=1, descending=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(pixels, device=noise.device).expand_as(order))
    masks = (rank < keep[:, None]).reshape(*lam.shape, *shape).to(lam.device)
    return masks, (keep.double() / pixels).float().reshape(lam.shape).to(lam.device)


def fmix(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    decay_power: float = 3.0,
    dims: int = 2,
    num_classes: int | None = None,
    per_sample: bool = False,
    pairing: Pairing = "permutation",
    label_smoothing: float = 0.0,
    knn_k: int = 200,
    generator: torch.Generator | None = None,
    inplace: bool = False,
    out: torch.Tensor | None = None,
) -> MixedBatch:
    """Keep each input where an FMix mask is True and take its partner's values elsewhere; targets mixed with λ.

    λ ~ Beta(α, α) (the authors' default α = 1) sets the mask's mean: the mask holds the round(λ·N) highest pixels
    of low-frequency Fourier noise (`sample_fmix_masks`, decay power δ), so `.lam` is the mask's mean, the share
    of x kept (within half a pixel of the drawn λ) and `.targets` = λ·y + (1−λ)·y[index]. One mask for the batch
    (the authors' choice), or one per row (`per_sample`). The mask covers the last `dims` dimensions of x: 2 for
    images (B, ..., H, W), 1 for sequences (B, ..., L), 3 for volumes; it is shared by the dimensions before them.
    x: any dtype. y, pairing, label smoothing, generator, inplace and out: as in `mixup`.
    Draws from `generator`: λ, the pairing, then the noise.
    """
    options = vicinity_options(
        alpha=alpha, num_classes=num_classes, per_sample=per_sample, pairing=pairing,
        label_smoothing=label_smoothing, knn_k=knn_k,
    )
    decay_power = check_decay_power(decay_power)
    batch = check_vicinity_batch(x, y, options)
    check_fmix_batch(x, dims)
    check_destination(x, inplace=inplace, out=out)
    return _fmix(batch, options, decay_power=decay_power, dims=dims, generator=own_generator(generator=generator),
                 inplace=inplace, out=out)


def check_fmix_batch(x: torch.Tensor, dims: int) -> None:
    """Inputs an FMix mask of `dims` dimensions can cover: (B, ..., *mask shape)."""
    if not is_integer(dims) or not 1 <= dims <= 3:
        raise invalid("dims", dims, "1, 2 or 3 (the last dims of x that the mask covers)")
    if x.ndim < dims + 1:
        raise invalid("x.shape", tuple(x.shape), f"(B, ...) with {dims} mask dimension(s) after the batch for fmix")
    check_mask_shape(x.shape[x.ndim - dims:])


def _fmix(
    batch: Batch, options: VicinityOptions, *, decay_power: float, dims: int, generator: torch.Generator,
    inplace: bool, out: torch.Tensor | None,
) -> MixedBatch:
    """FMix of a checked batch with trusted options and destination."""
    x = batch.x
    lam, index = _draw_vicinity(batch, options, generator)
    masks, lam = _draw_masks(lam, tuple(x.shape[x.ndim - dims:]), decay_power, generator)
    inputs = combine_rows(x, index, _masked_combine(masks, x.ndim, dims), inplace=inplace, out=out)
    targets = _mix_rows(batch.targets, lam.to(batch.targets.device), index.to(batch.targets.device))
    return MixedBatch(inputs=inputs, targets=targets, lam=lam, index=index)


def _masked_combine(masks: torch.Tensor, ndim: int, dims: int):
    """The row combination of `combine_rows`: own values where the mask is True, the partner's elsewhere."""
    per_row = masks.ndim > dims

    def combine(own: torch.Tensor, partner: torch.Tensor, rows, result: torch.Tensor | None) -> torch.Tensor:
        mask = masks
        if per_row:
            mask = masks[rows]
            if not isinstance(rows, int):  # a block of rows: the mask broadcasts over the dims between
                mask = mask.view(mask.shape[0], *([1] * (ndim - 1 - dims)), *mask.shape[1:])
        if result is None:
            return torch.where(mask, own, partner)
        return torch.where(mask, own, partner, out=result)

    return combine
