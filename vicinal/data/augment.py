"""Batched image augmentation as tensor ops: random crop with zero padding and horizontal flip (no per-sample Python)."""

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


def apply_augment(x: Tensor, aug: Augment, params: AugmentParams) -> Tensor:
    """Apply drawn crops and flips to a batch (B, C, H, W); returns a new tensor, `x` is unchanged."""
    if x.ndim != 4:
        raise ValueError(f"augmentation needs images (B, C, H, W), got shape {tuple(x.shape)}")
    out = x
    if params.offsets is not None:
        batch, channels, height, width = x.shape
        pad = aug.crop_padding
        offsets = params.offsets.to(x.device)
        padded = F.pad(x, (pad, pad, pad, pad))
        rows = (offsets[:, 0:1] + torch.arange(height, device=x.device)).view(batch, 1, height, 1)
        out = padded.gather(2, rows.expand(batch, channels, height, width + 2 * pad))
        cols = (offsets[:, 1:2] + torch.arange(width, device=x.device)).view(batch, 1, 1, width)
        out = out.gather(3, cols.expand(batch, channels, height, width))
    if params.flips is not None:
        out = torch.where(params.flips.to(x.device).view(-1, 1, 1, 1), out.flip(3), out)
    return out


def augment_batch(x_uint8: Tensor, aug: Augment, generator: torch.Generator) -> Tensor:
    """Randomly crop (zero padding `aug.crop_padding`) and flip a batch of images; dtype kept, input unchanged."""
    if not aug.active:
        return x_uint8.clone()
    return apply_augment(x_uint8, aug, sample_augment(aug, x_uint8.shape[0], generator))
