"""Tabular data: scikit-learn's bundled UCI sets and CSV files, split stratified, standardized on the training split."""

from __future__ import annotations

import array
import csv
import math
import os
from pathlib import Path

import numpy as np
import torch

from vicinal.data.dataset import FLOAT32_MAX, MAX_CLASSES, Dataset, file_error, standardize
from vicinal.data.memory import memory_limit, over_limit

SKLEARN_SETS = ("iris", "wine", "breast-cancer", "digits")
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


def read_csv(path: str | os.PathLike, *, label_column: str | None = None,
             max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Features (float64, N x F), class indices (int64, N), class names and feature names of a CSV
    with a header row.

    The label column is `label_column`, else a column named "label", else the last column; its values
    are classes, indexed in sorted order (numeric order when all are integers), at most `MAX_CLASSES`
    of them. Every other column must hold numbers, finite and within float32's range. Blank lines are
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
            codes = array.array("q")
            first_seen: dict[str, int] = {}
            for line, row in rows:
                if len(row) != len(header):
                    raise file_error(path, f"line {line} has {len(row)} fields, the header has {len(header)}")
                label = row[target].strip()
                if not label:
                    raise file_error(path, f"line {line}: empty label in column {label_column!r}")
                codes.append(first_seen.setdefault(label, len(first_seen)))
                if len(first_seen) > MAX_CLASSES:
                    raise file_error(path, f"line {line}: label column {label_column!r} has more than {MAX_CLASSES} "
                                           f"distinct values (vicinal.data.MAX_CLASSES): expected class labels")
                block.append(_row_values(path, line, row[:target] + row[target + 1:], names))
                if len(block) == _BLOCK_ROWS:
                    blocks.append(np.array(block, dtype=np.float64))
                    block = []
                    fault = over_limit(len(codes) * len(names) * _CSV_BYTES_PER_VALUE, limit)
                    if fault:
                        raise file_error(path, f"{len(codes)} rows of {len(names)} features by line {line}: {fault}")
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise file_error(path, f"cannot be read as CSV ({err})") from err
    blocks.append(np.array(block, dtype=np.float64).reshape(-1, len(names)))
    rank, classes = _sorted_classes(first_seen)
    return np.concatenate(blocks), rank[np.asarray(codes, dtype=np.int64)], classes, names


def load_csv(path: str | os.PathLike, *, label_column: str | None = None, seed: int = 0,
             test_fraction: float = 0.2, max_bytes: int | None = None) -> Dataset:
    """A CSV with a header row and a label column (strings or integers, mapped to sorted class indices),
    read by `read_csv`, split stratified by `seed` and standardized on the training split."""
    features, y, classes, _ = read_csv(path, label_column=label_column, max_bytes=max_bytes)
    if len(y) < 2:
        raise file_error(path, f"too few rows: {len(y)} data rows")
    return tabular_dataset(f"csv:{Path(path).name}", features, y, classes=classes, seed=seed,
                           test_fraction=test_fraction, source=str(path))
