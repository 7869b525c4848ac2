"""Batched image augmentation as tensor ops: random crop with zero padding and horizontal flip (no per-sample loop)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Augment:
    """What to augment: `crop_padding` px of zero padding then a random crop back to size (0 = off),
    and a horizontal flip with probability 1/2."""

    crop_padding: int = 0  # pixels
    flip: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.crop_padding, int) or isinstance(self.crop_padding, bool) or self.crop_padding < 0:
            raise ValueError(f"crop_padding must be an int >= 0 (pixels), got {self.crop_padding!r}")
        if not isinstance(self.flip, bool):
            raise ValueError(f"flip must be a bool, got {self.flip!r}")

    @property
    def active(self) -> bool:
        return self.crop_padding > 0 or self.flip

    def check_fits(self, input_shape: tuple[int, ...]) -> None:
        """Refuse augmenting examples of `input_shape` that are not images (C, H, W), or a crop padding
        over half the smaller side (a crop would then hold more padding than image)."""
        if not self.active:
            return
        if len(input_shape) != 3:
            raise ValueError(f"augmentation {self} is invalid for examples of shape {tuple(input_shape)}: "
                             f"expected images (C, H, W)")
        side = min(input_shape[1:])
        if self.crop_padding > side // 2:
            raise ValueError(f"crop_padding={self.crop_padding!r} is invalid for images of shape "
                             f"{tuple(input_shape)}: expected at most {side // 2} (half the smaller side)")


@dataclass(frozen=True)
class AugmentParams:
    """The random draws for one batch: crop offsets (B, 2) as (row, column) in [0, 2*padding], flip mask (B,)."""

    offsets: Tensor | None
    flips: Tensor | None

    def __getitem__(self, rows: slice) -> "AugmentParams":
        """The draws of a slice of the batch (a rank's share of a global batch)."""
        return AugmentParams(None if self.offsets is None else self.offsets[rows],
                             None if self.flips is None else self.flips[rows])


def sample_augment(aug: Augment, batch_size: int, generator: torch.Generator) -> AugmentParams:
    """Draw the crop offsets, then the flip mask, for `batch_size` images (on the generator's device)."""
    offsets = flips = None
    if aug.crop_padding:
        offsets = torch.randint(2 * aug.crop_padding + 1, (batch_size, 2), generator=generator,
                                device=generator.device)
    if aug.flip:
        flips = torch.rand(batch_size, generator=generator, device=generator.device) < 0.5
    return AugmentParams(offsets, flips)


def augment_source(x: Tensor, aug: Augment) -> Tensor:
    """The stack augmented images are gathered from: `x` (N, C, H, W) zero-padded by `aug.crop_padding`
    on each side, followed, when `aug.flip`, by its mirror image: (N or 2N, C, H + 2p, W + 2p), contiguous.

    Made once per data set by `TensorLoader` (twice the memory of the images when flipping), so each
    batch is then a single row gather.
    """
    padded = F.pad(x, (aug.crop_padding,) * 4) if aug.crop_padding else x
    return torch.cat([padded, padded.flip(-1)]) if aug.flip else padded.contiguous()


def gather_augmented(source: Tensor, indices: Tensor, params: AugmentParams, *, num_images: int,
                     height: int, width: int) -> Tensor:
    """Images `indices` cropped at `params.offsets` and mirrored where `params.flips`, from `source`
    (an `augment_source` of `num_images` images), as one `index_select` of `width`-pixel rows.

    A crop's row r of channel c is `width` contiguous pixels of the padded image, starting at
    (c, offset_row + r, offset_col); a mirrored crop is the crop at column 2p - offset_col of the
    mirror image. The rows are read through an overlapping strided view (row k = the `width` pixels
    starting at flat position k), so no index per pixel is ever built.
    """
    _, channels, padded_height, padded_width = source.shape
    if len(indices) == 0:
        return source.new_empty((0, channels, height, width))
    plane = padded_height * padded_width
    device = source.device
    image = indices.to(device)
    row = torch.zeros_like(image)
    column = torch.zeros_like(image)
    if params.offsets is not None:
        offsets = params.offsets.to(device)
        row, column = offsets[:, 0], offsets[:, 1]
    if params.flips is not None:
        flips = params.flips.to(device)
        image = image + flips * num_images
        column = torch.where(flips, padded_width - width - column, column)
    base = image * (channels * plane) + row * padded_width + column
    within = ((torch.arange(channels, device=device) * plane).view(-1, 1)
              + torch.arange(height, device=device) * padded_width)
    starts = (base.view(-1, 1, 1) + within).reshape(-1)
    flat = source.reshape(-1)
    rows = flat.as_strided((flat.numel() - width + 1, width), (1, 1))
    return rows.index_select(0, starts).view(len(indices), channels, height, width)


def apply_augment(x: Tensor, aug: Augment, params: AugmentParams) -> Tensor:
    """Apply drawn crops and flips to a batch (B, C, H, W); returns a new tensor, `x` is unchanged."""
    if x.ndim != 4:
        raise ValueError(f"augmentation needs images (B, C, H, W), got shape {tuple(x.shape)}")
    if (params.offsets is not None) != (aug.crop_padding > 0) or (params.flips is not None) != aug.flip:
        raise ValueError(f"params do not match {aug}: offsets {params.offsets is not None}, "
                         f"flips {params.flips is not None}")
    indices = torch.arange(x.shape[0], device=x.device)
    return gather_augmented(augment_source(x, aug), indices, params, num_images=x.shape[0],
                            height=x.shape[2], width=x.shape[3])


def augment_batch(x_uint8: Tensor, aug: Augment, generator: torch.Generator) -> Tensor:
    """Randomly crop (zero padding `aug.crop_padding`) and flip a batch of images; dtype kept, input unchanged."""
    if not aug.active:
        return x_uint8.clone()
    return apply_augment(x_uint8, aug, sample_augment(aug, x_uint8.shape[0], generator))
