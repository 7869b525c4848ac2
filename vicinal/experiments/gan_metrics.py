"""Mode coverage of 2-D GAN samples on the toy Gaussian mixtures (VEEGAN-style, arXiv 1705.07761)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

ToyKind = Literal["ring", "grid"]
RING_RADIUS = 1.0  # ring: 8 centres on the unit circle
GRID_SPACING = 0.5  # grid: 5 × 5 centres at {-1, -0.5, 0, 0.5, 1}²


def mode_centres(kind: ToyKind) -> Tensor:
    """The mixture's centres, float32 (K, 2): 8 on a circle ("ring") or 25 on a 5 × 5 grid ("grid")."""
    if kind == "ring":
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return (RING_RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)).float()
    if kind == "grid":
        axis = (torch.arange(5, dtype=torch.float32) - 2) * GRID_SPACING
        return torch.cartesian_prod(axis, axis)
    raise ValueError(f"toy data kind must be 'ring' or 'grid', got {kind!r}")


def sample_toy(kind: ToyKind, n: int, *, std: float, generator: torch.Generator) -> Tensor:
    """n points of the mixture: a uniformly chosen centre plus N(0, std²) noise per coordinate."""
    if n <= 0:
        raise ValueError(f"n must be a positive number of points, got {n}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    centres = mode_centres(kind)
    which = torch.randint(len(centres), (n,), generator=generator)
    return centres[which] + std * torch.randn(n, 2, generator=generator)


@dataclass
class ModeCoverage:
    """How well samples cover a mixture's modes, at one radius."""

    modes_covered: int  # modes holding at least min_share of their fair share of the samples within the radius
    num_modes: int  # K
    share_within: float  # share of the samples within the radius of their nearest centre
    counts: list[int]  # samples within the radius, per mode


def mode_coverage(samples: Tensor, centres: Tensor, *, radius: float, min_share: float = 0.2) -> ModeCoverage:
    """Score samples against the mixture's centres at ``radius`` (absolute; e.g. 3σ for VEEGAN's and Unrolled
    GAN's *high-quality* samples).

    A sample counts for the mode of its nearest centre when it lies within ``radius`` of it. A mode is *covered*
    when it has at least min_share · N / K such samples, i.e. min_share of what it would get from the true
    (uniform) mixture; with the default 0.2, a mode seen by a handful of stray samples does not count.
    """
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"samples.shape={tuple(samples.shape)} is invalid: expected (N, 2)")
    if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) == 0:
        raise ValueError(f"centres.shape={tuple(centres.shape)} is invalid: expected (K, 2) with K ≥ 1")
    if not radius > 0:
        raise ValueError(f"radius={radius!r} is invalid: expected a number > 0")
    if not 0 <= min_share <= 1:
        raise ValueError(f"min_share={min_share!r} is invalid: expected a number in [0, 1]")
    if len(samples) == 0:
        return ModeCoverage(0, len(centres), 0.0, [0] * len(centres))
    points = samples.detach().float().cpu()
    finite = torch.isfinite(points).all(dim=1)
    distance, nearest = torch.cdist(points[finite], centres.float().cpu()).min(dim=1)
    near = distance <= radius
    counts = torch.bincount(nearest[near], minlength=len(centres))
    needed = max(1.0, min_share * len(points) / len(centres))
    return ModeCoverage(
        modes_covered=int((counts >= needed).sum()),
        num_modes=len(centres),
        share_within=float(near.sum()) / len(points),
        counts=counts.tolist(),
    )
