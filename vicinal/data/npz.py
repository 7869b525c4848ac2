"""A user's own arrays from an .npz file holding x_train, y_train, x_test, y_test (read without pickle)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from vicinal.data.dataset import Dataset, channel_stats, check_counts, file_error, labels_to_tensor
from vicinal.data.tabular import standardize

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _labels(values: np.ndarray, path: Path, what: str) -> np.ndarray:
    """Integer labels; floats are accepted only when every value is a whole number."""
    if values.dtype.kind == "f" and np.isfinite(values).all() and (values == np.round(values)).all():
        values = values.astype(np.int64)
    if values.dtype.kind not in "iu" or values.ndim != 1:
        raise file_error(path, f"{what} must be integer class labels (N,), got {values.dtype} {values.shape}")
    if values.size and values.min() < 0:
        raise file_error(path, f"{what} has negative label {int(values.min())}: expected 0..num_classes-1")
    return values


def load_npz(path: str | os.PathLike) -> Dataset:
    """Images as uint8 (N, C, H, W) or (N, H, W); anything else as numeric features (N, F), standardized."""
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not hasattr(loaded, "files"):
            raise file_error(path, "is a single .npy array, expected an .npz archive")
        with loaded as archive:
            names = list(archive.files)
            arrays = {a: archive[a] for a in ARRAYS if a in names}
    except Exception as err:  # zip, zlib, npy-header, pickle-refused and I/O failures: an unreadable file
        if str(err).startswith(f"{path}: "):
            raise
        raise file_error(path, f"not a readable .npz archive ({type(err).__name__}: {err})") from err
    missing = [a for a in ARRAYS if a not in arrays]
    if missing:
        raise file_error(path, f"missing arrays {missing} (has {names}; needs {list(ARRAYS)})")
    for name in ("x_train", "x_test"):
        if arrays[name].ndim < 2:
            raise file_error(path, f"{name} must hold one row per example (N, ...), got shape {arrays[name].shape}")
    return npz_dataset(path, **arrays)


def npz_dataset(path: Path, *, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                y_test: np.ndarray) -> Dataset:
    y_train, y_test = _labels(y_train, path, "y_train"), _labels(y_test, path, "y_test")
    check_counts(path, "train split", len(x_train), len(y_train))
    check_counts(path, "test split", len(x_test), len(y_test))
    if x_train.shape[1:] != x_test.shape[1:]:
        raise file_error(path, f"x_train examples {x_train.shape[1:]} and x_test examples {x_test.shape[1:]} differ")
    num_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    if len(y_train) == 0:
        raise file_error(path, "x_train is empty")
    ys = [labels_to_tensor(y, num_classes=num_classes, path=path, what=w) for y, w in
          ((y_train, "y_train"), (y_test, "y_test"))]
    name = f"npz:{path.name}"
    if x_train.dtype == np.uint8 and x_train.ndim in (3, 4):
        add_channel = x_train.ndim == 3
        xs = [torch.from_numpy(np.ascontiguousarray(x[:, None] if add_channel else x)) for x in (x_train, x_test)]
        mean, std = channel_stats(xs[0])
        return Dataset(name=name, x_train=xs[0], y_train=ys[0], x_test=xs[1], y_test=ys[1],
                       num_classes=num_classes, kind="image", mean=mean, std=std, source=str(path))
    if x_train.ndim != 2 or x_train.dtype.kind not in "iuf" or x_test.dtype.kind not in "iuf":
        raise file_error(path, f"x_train must be uint8 images (N, C, H, W) / (N, H, W) or numeric features "
                               f"(N, F), got {x_train.dtype} {x_train.shape}")
    for x, what in ((x_train, "x_train"), (x_test, "x_test")):
        if not np.isfinite(x).all():
            raise file_error(path, f"{what} has non-finite values (NaN/inf) in row {int(np.argwhere(~np.isfinite(x))[0][0])}")
    x_tr, x_te = standardize(x_train.astype(np.float64), x_test.astype(np.float64))
    features = x_tr.shape[1]
    return Dataset(name=name, x_train=x_tr, y_train=ys[0], x_test=x_te, y_test=ys[1], num_classes=num_classes,
                   kind="tabular", mean=(0.0,) * features, std=(1.0,) * features, source=str(path))
