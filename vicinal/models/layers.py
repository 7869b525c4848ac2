"""Shared building blocks of the vicinal models: input normalization, classifier head, argument checks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vicinal.core._checks import check_positive_int

MAX_DEPTH = 1000  # most layers a model may have (the deepest of the papers: 190); deeper ones are refused unbuilt


class Normalize(nn.Module):
    """(x - mean) / std per channel (images, (B, C, H, W)) or per feature (tabular, (B, F)).

    Puts the data normalization inside a model, so attacks can work in pixel space:
    ``nn.Sequential(Normalize(mean, std), model)`` takes inputs in [0, 1].
    """

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float) -> None:
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        if mean_t.numel() == 0 or mean_t.shape != std_t.shape:
            raise ValueError(
                f"mean and std must be non-empty and of the same length, got {mean_t.numel()} and {std_t.numel()}"
            )
        if not bool(torch.isfinite(mean_t).all()) or not bool((std_t > 0).all()):
            raise ValueError(f"mean must be finite and std > 0, got mean={mean_t.tolist()}, std={std_t.tolist()}")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.mean.numel():
            raise ValueError(f"expected inputs (B, {self.mean.numel()}, ...), got shape {tuple(x.shape)}")
        view = (1, -1) + (1,) * (x.dim() - 2)  # broadcast over the channel/feature dimension
        return (x - self.mean.view(view).to(x.dtype)) / self.std.view(view).to(x.dtype)

    def extra_repr(self) -> str:
        return f"mean={self.mean.tolist()}, std={self.std.tolist()}"


def classifier(in_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    """The head every model ends with: optional dropout, then one linear layer."""
    return nn.Sequential(nn.Dropout(dropout) if dropout > 0 else nn.Identity(), nn.Linear(in_features, num_classes))


def check_dropout(dropout: float) -> float:
    """Return ``dropout`` if it is a probability in [0, 1), else raise ValueError."""
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be a float in [0, 1), got {dropout!r}")
    return float(dropout)


def check_image_size(image_size: int, *, minimum: int, model: str) -> int:
    """Return ``image_size`` if the model's downsampling leaves at least one pixel, else raise ValueError."""
    check_positive_int("image_size", image_size)
    if image_size < minimum:
        raise ValueError(f"{model} needs image_size >= {minimum}, got {image_size}")
    return image_size


def check_image_model(
    *, model: str, num_classes: int, in_channels: int, image_size: int, minimum_size: int, dropout: float
) -> float:
    """The checks every image model makes of its arguments; returns the dropout rate as a float."""
    check_positive_int("num_classes", num_classes)
    check_positive_int("in_channels", in_channels)
    check_image_size(image_size, minimum=minimum_size, model=model)
    return check_dropout(dropout)


def check_depth(model: str, depth: int) -> int:
    """Refuse a network of more than `MAX_DEPTH` layers (before its layers are built)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{model} depth={depth!r} is invalid: expected at most {MAX_DEPTH} layers "
                         "(vicinal.models.MAX_DEPTH)")
    return depth


def blocks_per_group(depth: int, *, model: str) -> int:
    """n for a three-group network of depth 6n + 4 (WRN, DenseNet-BC); ValueError for other depths."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"{model} depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, 100, 190, ...), got {depth!r}")
    return (check_depth(model, depth) - 4) // 6


def preact_final(channels: int) -> nn.Sequential:
    """BN → ReLU → global average pool → flatten: the end of pre-activation networks, (B, C, H, W) → (B, C)."""
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
