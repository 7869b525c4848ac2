"""Tabular data: scikit-learn's bundled UCI sets and CSV files, split stratified and standardized on the training split."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import torch

from vicinal.data.dataset import Dataset, file_error

SKLEARN_SETS = ("iris", "wine", "breast-cancer", "digits")
DEFAULT_LABEL = "label"  # CSV label column used when none is named; else the last column


def check_test_fraction(test_fraction: float) -> None:
    if not (isinstance(test_fraction, (int, float)) and 0.0 < test_fraction < 1.0):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 features scaled by the training split's mean and std (constant features kept at 0)."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    return (torch.from_numpy(((x_train - mean) / std).astype(np.float32)),
            torch.from_numpy(((x_test - mean) / std).astype(np.float32)))


def tabular_dataset(
    name: str, x: np.ndarray, y: np.ndarray, *, classes: list[str], seed: int, test_fraction: float, source: str
) -> Dataset:
    """A seeded stratified train/test split of (x, y), standardized on the training split."""
    from sklearn.model_selection import train_test_split

    check_test_fraction(test_fraction)
    counts = np.bincount(y, minlength=len(classes))
    if len(classes) < 2:
        raise file_error(source, f"needs at least 2 classes, found {len(classes)}")
    if counts.min() < 2:
        rare = classes[int(counts.argmin())]
        raise file_error(source, f"too few rows: class {rare!r} has {counts.min()} (need >= 2 per class to split)")
    n_test = math.ceil(test_fraction * len(y))
    if n_test < len(classes) or len(y) - n_test < len(classes):
        raise file_error(source, f"too few rows: {len(y)} rows cannot give train and test splits holding "
                                 f"each of the {len(classes)} classes at test_fraction={test_fraction}")
    x_tr, x_te, y_tr, y_te = train_test_split(
        x.astype(np.float64), y, test_size=n_test, random_state=seed, stratify=y, shuffle=True
    )
    x_train, x_test = standardize(x_tr, x_te)
    features = x.shape[1]
    return Dataset(name=name, x_train=x_train, y_train=torch.from_numpy(y_tr.astype(np.int64)),
                   x_test=x_test, y_test=torch.from_numpy(y_te.astype(np.int64)),
                   num_classes=len(classes), kind="tabular", mean=(0.0,) * features, std=(1.0,) * features,
                   classes=classes, source=source)


def load_sklearn(name: str, *, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """One of scikit-learn's bundled sets: iris, wine, breast-cancer, digits."""
    from sklearn import datasets

    loaders = {"iris": datasets.load_iris, "wine": datasets.load_wine,
               "breast-cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}
    if name not in loaders:
        raise ValueError(f"unknown scikit-learn data set {name!r}: expected one of {list(SKLEARN_SETS)}")
    bunch = loaders[name]()
    classes = [str(c) for c in bunch.target_names]
    return tabular_dataset(name, bunch.data, bunch.target, classes=classes, seed=seed,
                           test_fraction=test_fraction, source="scikit-learn")


def _class_indices(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Class indices of string labels and the sorted class names (numerically when all are integers)."""
    unique = set(labels)
    try:
        classes = sorted(unique, key=int)
    except ValueError:
        classes = sorted(unique)
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in labels], dtype=np.int64), classes


def read_csv(path: str | os.PathLike, *, label_column: str | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """Features (float64, N x F), string labels, and feature names of a CSV with a header row.

    The label column is `label_column`, else a column named "label", else the last column.
    Every other column must be numeric and finite.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # a byte-order mark is skipped
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise file_error(path, f"cannot be read as CSV ({err})") from err
    if not rows:
        raise file_error(path, "empty file: expected a header row and data rows")
    header = [h.strip() for h in rows[0]]
    if label_column is None:
        label_column = DEFAULT_LABEL if DEFAULT_LABEL in header else header[-1]
    if label_column not in header:
        raise file_error(path, f"no label column {label_column!r} (columns: {header})")
    if len(header) < 2:
        raise file_error(path, f"needs a label column and at least one feature column, has {header}")
    target = header.index(label_column)
    features = np.empty((len(rows) - 1, len(header) - 1), dtype=np.float64)
    labels = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise file_error(path, f"line {line} has {len(row)} fields, the header has {len(header)}")
        labels.append(row[target].strip())
        if not labels[-1]:
            raise file_error(path, f"line {line}: empty label in column {label_column!r}")
        cells = row[:target] + row[target + 1:]
        try:
            features[line - 2] = [float(c) for c in cells]
        except ValueError:
            bad = next(c for c in cells if not _is_float(c))
            raise file_error(path, f"line {line}: feature value {bad!r} is not a number") from None
    if not np.isfinite(features).all():
        row, col = np.argwhere(~np.isfinite(features))[0]
        name = (header[:target] + header[target + 1:])[col]
        raise file_error(path, f"line {row + 2}, column {name!r}: non-finite feature {features[row, col]} (NaN/inf)")
    return features, labels, header[:target] + header[target + 1:]


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_csv(path: str | os.PathLike, *, label_column: str | None = None, seed: int = 0,
             test_fraction: float = 0.2) -> Dataset:
    """A CSV with a header row and a label column (strings or integers, mapped to sorted class indices)."""
    features, labels, _ = read_csv(path, label_column=label_column)
    if len(labels) < 2:
        raise file_error(path, f"too few rows: {len(labels)} data rows")
    y, classes = _class_indices(labels)
    return tabular_dataset(f"csv:{Path(path).name}", features, y, classes=classes, seed=seed,
                           test_fraction=test_fraction, source=str(path))
