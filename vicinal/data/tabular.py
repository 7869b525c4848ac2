"""Tabular data: scikit-learn's bundled UCI sets, its regression sets and CSV files, split (stratified for classes) by
a seed, standardized on the training split."""

from __future__ import annotations

import array
import csv
import math
import os
from pathlib import Path

import numpy as np
import torch

from vicinal.data.dataset import FLOAT32_MAX, MAX_CLASSES, Dataset, file_error, standardize, targets_to_tensor
from vicinal.data.memory import memory_limit, over_limit

SKLEARN_SETS = ("iris", "wine", "breast-cancer", "digits")
# scikit-learn's regression sets: diabetes (442 patients, 10 features) and Friedman #1 generated once (1,000 points,
# 10 features, noise 1, random_state 0: the same points for every seed, whose split the seed draws)
REGRESSION_SETS = ("diabetes", "friedman1")
DEFAULT_LABEL = "label"  # CSV label column used when none is named; else the last column
_BLOCK_ROWS = 4096  # CSV rows parsed into one float64 block
_CSV_BYTES_PER_VALUE = 28  # peak memory per CSV value: its float64 block, their join, the split's copy, float32


def check_test_fraction(test_fraction: float) -> None:
    if not (isinstance(test_fraction, (int, float)) and 0.0 < test_fraction < 1.0):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")


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
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=n_test, random_state=seed, stratify=y, shuffle=True)
    x_train, x_test = standardize(x_tr, x_te, path=source)
    features = x.shape[1]
    return Dataset(name=name, x_train=x_train, y_train=torch.from_numpy(y_tr.astype(np.int64)),
                   x_test=x_test, y_test=torch.from_numpy(y_te.astype(np.int64)),
                   num_classes=len(classes), kind="tabular", mean=(0.0,) * features, std=(1.0,) * features,
                   classes=classes, source=source)


def regression_dataset(name: str, x: np.ndarray, y: np.ndarray, *, seed: int, test_fraction: float,
                       source: str) -> Dataset:
    """A seeded train/test split of (x, y) with regression targets y (N,) or (N, D) kept in their units, the inputs
    standardized on the training split."""
    from sklearn.model_selection import train_test_split

    check_test_fraction(test_fraction)
    n_test = math.ceil(test_fraction * len(y))
    if len(y) - n_test < 2:
        raise file_error(source, f"too few rows: {len(y)} rows cannot give a training split of at least 2 at "
                                 f"test_fraction={test_fraction}")
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=n_test, random_state=seed, shuffle=True)
    x_train, x_test = standardize(x_tr, x_te, path=source)
    features = x.shape[1]
    return Dataset(name=name, x_train=x_train, y_train=targets_to_tensor(y_tr, path=source, what="training targets"),
                   x_test=x_test, y_test=targets_to_tensor(y_te, path=source, what="test targets"), num_classes=0,
                   kind="tabular", mean=(0.0,) * features, std=(1.0,) * features, source=source, task="regression")


def load_sklearn(name: str, *, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """One of scikit-learn's sets: iris, wine, breast-cancer, digits (classes); diabetes, friedman1 (regression)."""
    from sklearn import datasets

    if name in REGRESSION_SETS:
        x, y = (datasets.load_diabetes(return_X_y=True) if name == "diabetes"
                else datasets.make_friedman1(n_samples=1000, noise=1.0, random_state=0))
        return regression_dataset(name, x, y, seed=seed, test_fraction=test_fraction, source="scikit-learn")
    loaders = {"iris": datasets.load_iris, "wine": datasets.load_wine,
               "breast-cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}
    if name not in loaders:
        raise ValueError(f"unknown scikit-learn data set {name!r}: expected one of "
                         f"{[*SKLEARN_SETS, *REGRESSION_SETS]}")
    bunch = loaders[name]()
    classes = [str(c) for c in bunch.target_names]
    return tabular_dataset(name, bunch.data, bunch.target, classes=classes, seed=seed,
                           test_fraction=test_fraction, source="scikit-learn")


def _sorted_classes(first_seen: dict[str, int]) -> tuple[np.ndarray, list[str]]:
    """Class names sorted (numerically when all are integers) and, for each label in order of first
    appearance, its index among them."""
    try:
        classes = sorted(first_seen, key=int)
    except ValueError:
        classes = sorted(first_seen)
    rank = {c: i for i, c in enumerate(classes)}
    return np.array([rank[c] for c in first_seen], dtype=np.int64), classes


def _row_values(path: Path, line: int, cells: list[str], names: list[str]) -> list[float]:
    """The feature values of one CSV row: numbers, finite and within float32's range."""
    values = []
    for cell, name in zip(cells, names):
        try:
            value = float(cell)
        except ValueError:
            raise file_error(path, f"line {line}: feature value {cell!r} is not a number") from None
        if not math.isfinite(value):
            raise file_error(path, f"line {line}, column {name!r}: non-finite feature {value} (NaN/inf)")
        if abs(value) > FLOAT32_MAX:
            raise file_error(path, f"line {line}, column {name!r}: feature {value} is beyond float32's range (±3.4e38)")
        values.append(value)
    return values


def _target_value(path: Path, line: int, cell: str, column: str) -> float:
    """One row's regression target: a number, finite and within float32's range."""
    try:
        value = float(cell)
    except ValueError:
        raise file_error(path, f"line {line}: target {cell!r} in column {column!r} is not a number: task='regression' "
                               f"needs a numeric target column") from None
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        raise file_error(path, f"line {line}, column {column!r}: target {value} is not finite or beyond float32's "
                               f"range (±3.4e38)")
    return value


def _csv_header(path: Path, first: tuple[int, list[str]] | None, label_column: str | None) -> tuple[list[str], str]:
    """The column names of a CSV's first row, and its label column (named, else "label", else the last)."""
    if first is None:
        raise file_error(path, "empty file: expected a header row and data rows")
    header = [h.strip() for h in first[1]]
    if label_column is None:
        label_column = DEFAULT_LABEL if DEFAULT_LABEL in header else header[-1]
    if label_column not in header:
        raise file_error(path, f"no label column {label_column!r} (columns: {header})")
    if len(header) < 2:
        raise file_error(path, f"needs a label column and at least one feature column, has {header}")
    return header, label_column


def read_csv(path: str | os.PathLike, *, label_column: str | None = None, max_bytes: int | None = None,
             regression: bool = False) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Features (float64, N x F), class indices (int64, N), class names and feature names of a CSV
    with a header row; with `regression`, the targets (float64, N) in place of the class indices, and no
    class names.

    The label column is `label_column`, else a column named "label", else the last column; its values
    are classes, indexed in sorted order (numeric order when all are integers), at most `MAX_CLASSES`
    of them (with `regression`: numbers, finite and within float32's range, each row's target).
    Every other column must hold numbers, finite and within float32's range. Blank lines are
    skipped; the line numbers in errors are the file's. The rows are read one at a time, and the file is
    refused as soon as its values would take more than `memory_limit(max_bytes)` to load.
    """
    path = Path(path)
    limit = memory_limit(max_bytes)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # a byte-order mark is skipped
            reader = csv.reader(handle)
            rows = ((reader.line_num, row) for row in reader if any(cell.strip() for cell in row))
            header, label_column = _csv_header(path, next(rows, None), label_column)
            target = header.index(label_column)
            names = header[:target] + header[target + 1:]
            blocks: list[np.ndarray] = []
            block: list[list[float]] = []
            codes, targets = array.array("q"), array.array("d")
            first_seen: dict[str, int] = {}
            for line, row in rows:
                if len(row) != len(header):
                    raise file_error(path, f"line {line} has {len(row)} fields, the header has {len(header)}")
                label = row[target].strip()
                if not label:
                    raise file_error(path, f"line {line}: empty label in column {label_column!r}")
                if regression:
                    targets.append(_target_value(path, line, label, label_column))
                else:
                    codes.append(first_seen.setdefault(label, len(first_seen)))
                if len(first_seen) > MAX_CLASSES:
                    raise file_error(path, f"line {line}: label column {label_column!r} has more than {MAX_CLASSES} "
                                           f"distinct values (vicinal.data.MAX_CLASSES): expected class labels")
                block.append(_row_values(path, line, row[:target] + row[target + 1:], names))
                if len(block) == _BLOCK_ROWS:
                    blocks.append(np.array(block, dtype=np.float64))
                    block = []
                    rows_read = len(codes) + len(targets)
                    fault = over_limit(rows_read * len(names) * _CSV_BYTES_PER_VALUE, limit)
                    if fault:
                        raise file_error(path, f"{rows_read} rows of {len(names)} features by line {line}: {fault}")
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise file_error(path, f"cannot be read as CSV ({err})") from err
    blocks.append(np.array(block, dtype=np.float64).reshape(-1, len(names)))
    if regression:
        return np.concatenate(blocks), np.asarray(targets, dtype=np.float64), [], names
    rank, classes = _sorted_classes(first_seen)
    return np.concatenate(blocks), rank[np.asarray(codes, dtype=np.int64)], classes, names


def load_csv(path: str | os.PathLike, *, label_column: str | None = None, seed: int = 0,
             test_fraction: float = 0.2, max_bytes: int | None = None, regression: bool = False) -> Dataset:
    """A CSV with a header row and a label column (strings or integers, mapped to sorted class indices; with
    `regression`, numbers: the targets), read by `read_csv`, split by `seed` (stratified for classes) and
    standardized on the training split (the inputs only: regression targets keep their units)."""
    features, y, classes, _ = read_csv(path, label_column=label_column, max_bytes=max_bytes, regression=regression)
    if len(y) < 2:
        raise file_error(path, f"too few rows: {len(y)} data rows")
    if regression:
        return regression_dataset(f"csv:{Path(path).name}", features, y, seed=seed, test_fraction=test_fraction,
                                  source=str(path))
    return tabular_dataset(f"csv:{Path(path).name}", features, y, classes=classes, seed=seed,
                           test_fraction=test_fraction, source=str(path))
