"""The Dataset record every loader returns, and the checks and statistics the loaders share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from typing import Literal, NamedTuple, get_args

import numpy as np
import torch
from torch import Tensor

from vicinal.core._checks import MAX_CLASSES  # most classes a data set may have: labels are 0..C-1 with C <= this
from vicinal.data.augment import Augment

Kind = Literal["image", "sequence", "tabular"]
KINDS: tuple[str, ...] = get_args(Kind)
Task = Literal["classification", "regression"]
TASKS: tuple[str, ...] = get_args(Task)
FLOAT32_MAX = float(np.finfo(np.float32).max)
_CHUNK_ELEMENTS = 1 << 22  # elements per block when statistics and conversions go through an array in blocks


class ArrayHeader(NamedTuple):
    """What a file declares of an array before its data is read (an .npy header, an IDX header)."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=object))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


def file_error(path: str | PathLike, fault: str) -> ValueError:
    """The one error for bad data: `ValueError("<file>: <fault>")`."""
    return ValueError(f"{path}: {fault}")


@dataclass
class Dataset:
    """A data set held as tensors; its `kind` is the rank of one example.

    - "image": (N, C, H, W). uint8 with `mean`/`std` per channel in the [0, 1] scale that
      `TensorLoader` converts them to, or float32 already standardized per channel on the training split.
    - "sequence": float32 (N, C, T), C channels of T steps, standardized per channel on the training split.
    - "tabular": float32 vectors (N, F), standardized per feature on the training split.
    Standardized data has `mean` all 0 and `std` all 1.
    `task` says what the targets are. "classification": int64 labels (N,) in [0, num_classes).
    "regression": float32 targets (N,) or (N, D) in their own units (not standardized), `num_classes` 0.
    `outputs` is the width of a model's output either way: the classes, or the target columns.
    `augment` is the augmentation that keeps this data set's labels (crops and flips of Fashion-MNIST
    and CIFAR), None where none is known to (a user's own files).
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int
    kind: Kind
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: list[str] | None = None
    source: str = field(default="")  # where the data was read from (a folder, a file or "scikit-learn")
    augment: Augment | None = None  # the label-preserving default augmentation, None for none
    task: Task = "classification"  # what y holds: class labels, or regression targets

    @property
    def outputs(self) -> int:
        """A model's output width: `num_classes` for classification, the target columns (D, or 1 for (N,))
        for regression."""
        if self.task == "classification":
            return self.num_classes
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example: (C, H, W) for images, (C, T) for sequences, (F,) for tabular data."""
        return tuple(self.x_train.shape[1:])

    def augmentation(self, *, crop_padding: int | None = None, flip: bool | None = None) -> Augment | None:
        """The augmentation to train with: `crop_padding` and `flip` where given, this data set's default
        (`augment`) where None; None when nothing is augmented.

        Raises ValueError when augmentation is asked of data that is not images, or the crop padding is
        over half the images' smaller side.
        """
        default = self.augment or Augment()
        augment = Augment(crop_padding=default.crop_padding if crop_padding is None else crop_padding,
                          flip=default.flip if flip is None else flip)
        augment.check_fits(self.input_shape)
        return augment if augment.active else None


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


def targets_to_tensor(values: np.ndarray, *, path: str | PathLike, what: str) -> Tensor:
    """float32 regression targets (N,) or (N, D) from a numeric array, refusing NaN, ±inf and values beyond
    float32's range."""
    values = np.asarray(values)
    if values.ndim not in (1, 2) or values.dtype.kind not in "biuf":
        raise file_error(path, f"{what} must be numeric regression targets (N,) or (N, D), got {values.dtype} "
                               f"{values.shape}")
    check_values(values, path, what)
    return torch.from_numpy(values.astype(np.float32))


def check_file_classes(path: str | PathLike, num_classes: int, what: str) -> int:
    """Refuse more than `MAX_CLASSES` classes (what a stray label such as 20,000,000 would ask for)."""
    if num_classes > MAX_CLASSES:
        raise file_error(path, f"{what} asks for {num_classes} classes: expected class indices 0..C-1 with "
                               f"C <= {MAX_CLASSES} (vicinal.data.MAX_CLASSES)")
    return num_classes


def check_classes_present(path: str | PathLike, labels: np.ndarray | Tensor, what: str) -> None:
    """Refuse training labels of fewer than two distinct classes (nothing to classify)."""
    values = np.unique(np.asarray(labels))
    if len(values) < 2:
        found = f"only class {int(values[0])}" if len(values) else "no labels"
        raise file_error(path, f"{what} holds {found}: a classifier needs at least 2 classes")


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


def row_blocks(x: np.ndarray) -> Iterator[slice]:
    """Slices of whole rows (examples) of `x`, each of about `_CHUNK_ELEMENTS` elements."""
    row = int(np.prod(x.shape[1:], dtype=np.int64))
    step = max(1, _CHUNK_ELEMENTS // max(row, 1))
    return (slice(i, min(i + step, len(x))) for i in range(0, len(x), step))


def check_values(x: np.ndarray, path: str | PathLike, what: str) -> None:
    """Refuse NaN, ±inf and values beyond float32's range (±3.4e38), naming the first bad row."""
    if x.dtype.kind in "biu":
        return  # every integer type fits in float32's range
    for rows in row_blocks(x):
        block = x[rows]
        bad = ~np.isfinite(block) | (np.abs(block) > FLOAT32_MAX)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            value = block[where]
            fault = ("non-finite values (NaN/inf)" if not np.isfinite(value)
                     else "values beyond float32's range (±3.4e38)")
            raise file_error(path, f"{what} has {fault}: {float(value)!r} in row {rows.start + where[0]}")


def standardize(x_train: np.ndarray, x_test: np.ndarray, *, path: str | PathLike = "",
                names: tuple[str, str] = ("x_train", "x_test")) -> tuple[Tensor, Tensor]:
    """float32 copies of `x_train` and `x_test` (N, C, ...), scaled per channel (axis 1) with the
    training split's mean and std over the examples and every axis after the channel one (constant
    channels keep std 1).

    Statistics are float64 and everything goes through the arrays in blocks of rows, so the only large
    allocations are the two float32 results. Values that are not finite or beyond float32's range are
    refused, and so are test values that land beyond it once scaled (`ValueError` naming `path`).
    """
    for x, what in zip((x_train, x_test), names):
        check_values(x, path, what)
    axes = (0, *range(2, x_train.ndim))
    view = (1, -1) + (1,) * (x_train.ndim - 2)
    count = max(x_train.size // max(x_train.shape[1], 1), 1)
    total = np.zeros(x_train.shape[1])
    for rows in row_blocks(x_train):
        total += x_train[rows].sum(axis=axes, dtype=np.float64)
    mean = total / count
    squares = np.zeros(x_train.shape[1])
    for rows in row_blocks(x_train):
        deviation = x_train[rows].astype(np.float64) - mean.reshape(view)
        squares += (deviation * deviation).sum(axis=axes)
    std = np.sqrt(squares / count)
    std[std == 0] = 1.0
    mean, std = mean.reshape(view), std.reshape(view)
    results = []
    for x, what in zip((x_train, x_test), names):
        out = np.empty(x.shape, np.float32)
        for rows in row_blocks(x):
            with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused just below
                out[rows] = (x[rows] - mean) / std
            if not np.isfinite(out[rows]).all():
                row = rows.start + int(np.argwhere(~np.isfinite(out[rows]))[0][0])
                raise file_error(path, f"{what} row {row} lies beyond float32's range once scaled by the training "
                                       f"split's mean and std")
        results.append(torch.from_numpy(out))
    return results[0], results[1]
