"""The Dataset record every loader returns, and the checks and statistics the loaders share."""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from typing import Literal

import numpy as np
import torch
from torch import Tensor


def file_error(path: str | PathLike, fault: str) -> ValueError:
    """The one error for bad data: `ValueError("<file>: <fault>")`."""
    return ValueError(f"{path}: {fault}")


@dataclass
class Dataset:
    """A data set held as tensors.

    Images are uint8 (N, C, H, W) with `mean`/`std` per channel in the [0, 1] scale that
    `TensorLoader` converts them to; tabular features are float32 (N, F), already standardized on the
    training split (so `mean` is all 0 and `std` all 1). Labels are int64 (N,) in [0, num_classes).
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int
    kind: Literal["image", "tabular"]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: list[str] | None = None
    source: str = field(default="")  # where the data was read from (a folder, a file or "scikit-learn")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example: (C, H, W) for images, (F,) for tabular data."""
        return tuple(self.x_train.shape[1:])


def labels_to_tensor(labels: np.ndarray, *, num_classes: int, path: str | PathLike, what: str) -> Tensor:
    """int64 labels from an integer array, refusing values outside [0, num_classes)."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise file_error(path, f"{what} must be one label per example (1-D), got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise file_error(path, f"{what} must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise file_error(path, f"{what} has label {int(bad)} out of range: expected 0..{num_classes - 1}")
    return torch.from_numpy(labels.astype(np.int64))


def check_counts(path: str | PathLike, what: str, num_inputs: int, num_labels: int) -> None:
    """Refuse inputs and labels whose counts differ."""
    if num_inputs != num_labels:
        raise file_error(path, f"{what}: {num_inputs} inputs but {num_labels} labels (counts must match)")


def channel_stats(images: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and std of uint8 images (N, C, H, W), in the [0, 1] scale.

    Computed from a 256-bin histogram per channel, so it needs no float copy of the data set.
    """
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    levels = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for channel in images.unbind(1):
        counts = torch.bincount(channel.reshape(-1), minlength=256).to(torch.float64)
        total = counts.sum().clamp_min(1.0)
        mean = (counts * levels).sum() / total
        var = (counts * (levels - mean) ** 2).sum() / total
        means.append(float(mean))
        stds.append(max(float(var.sqrt()), 1e-6))
    return tuple(means), tuple(stds)
