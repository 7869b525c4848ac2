"""`load_dataset(name)`: every data set vicinal reads, by name."""

from __future__ import annotations

import os
from pathlib import Path

from vicinal.data.cifar import load_cifar
from vicinal.data.dataset import TASKS, Dataset
from vicinal.data.mnist import load_idx_dataset
from vicinal.data.npz import load_npz
from vicinal.data.tabular import REGRESSION_SETS, SKLEARN_SETS, check_test_fraction, load_csv, load_sklearn

IMAGE_SETS = ("fashion-mnist", "mnist", "cifar10", "cifar100")
DATASETS = (*IMAGE_SETS, *SKLEARN_SETS, *REGRESSION_SETS, "csv:PATH[:LABEL_COLUMN]", "npz:PATH")
TASK_CHOICES = ("auto", *TASKS)  # what load_dataset's `task` may ask for (auto: what the data set says)


def _split_csv_spec(spec: str) -> tuple[str, str | None]:
    """`PATH[:LABEL_COLUMN]` -> (path, label column or None); a path that exists as a whole wins."""
    if Path(spec).is_file() or ":" not in spec:
        return spec, None
    path, column = spec.rsplit(":", 1)
    return path, column or None


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    seed: int = 0,
    test_fraction: float = 0.2,
    max_bytes: int | None = None,
    task: str = "auto",
) -> Dataset:
    """Load a data set by name: fashion-mnist, mnist, cifar10, cifar100 (official splits, found in
    `data_dir`, $VICINAL_DATA or ~/.cache/vicinal, else downloaded when `download`); iris, wine,
    breast-cancer, digits (scikit-learn's) and `csv:PATH[:LABEL_COLUMN]` (split by `seed` and
    `test_fraction`, stratified); `npz:PATH` (the file's own split; the kind of data follows from
    the arrays' shapes, see `load_npz`).

    A file (MNIST's IDX files, CSV, npz) is refused when loading it would take more memory than
    `memory_limit(max_bytes)`: `max_bytes`, else $VICINAL_MEMORY_LIMIT, else half of what the process
    can still get. Any bad file raises ValueError naming the file and the fault.

    Regression: diabetes and friedman1 (scikit-learn's, split by `seed` and `test_fraction`). `task` is
    "auto" (what the data set says: classes, except for those two and an npz with float y), "classification"
    or "regression" (a CSV's label column read as numeric targets; an npz's y as targets); a data set whose
    targets cannot be what `task` asks for raises ValueError.
    """
    check_test_fraction(test_fraction)
    if task not in TASK_CHOICES:
        raise ValueError(f"task={task!r} is invalid: expected one of {list(TASK_CHOICES)}")
    fixed = "regression" if name in REGRESSION_SETS else "classification" if name in (*IMAGE_SETS, *SKLEARN_SETS) \
        else None
    if fixed and task not in ("auto", fixed):
        raise ValueError(f"task={task!r} is invalid for {name!r}: expected 'auto' or {fixed!r} (its targets are "
                         f"{'numbers' if fixed == 'regression' else 'classes'})")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if not isinstance(name, str):
        raise ValueError(f"data set name must be a string, got {name!r}")
    if name in ("fashion-mnist", "mnist"):
        return load_idx_dataset(name, data_dir=data_dir, download=download, max_bytes=max_bytes)
    if name in ("cifar10", "cifar100"):
        return load_cifar(name, data_dir=data_dir, download=download)
    if name in (*SKLEARN_SETS, *REGRESSION_SETS):
        return load_sklearn(name, seed=seed, test_fraction=test_fraction)
    if name.startswith("csv:") and len(name) > 4:
        path, column = _split_csv_spec(name[4:])
        return load_csv(path, label_column=column, seed=seed, test_fraction=test_fraction, max_bytes=max_bytes,
                        regression=task == "regression")
    if name.startswith("npz:") and len(name) > 4:
        return load_npz(name[4:], max_bytes=max_bytes, task=task)
    raise ValueError(f"unknown data set {name!r}: expected one of {', '.join(DATASETS)}")
