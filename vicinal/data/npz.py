"""A user's own arrays from an .npz file (x_train, y_train, x_test, y_test), class labels or regression targets: read
without pickle, in a memory limit."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from vicinal.data.dataset import (
    KINDS,
    ArrayHeader,
    Dataset,
    channel_stats,
    check_classes_present,
    check_counts,
    check_file_classes,
    file_error,
    standardize,
    targets_to_tensor,
)
from vicinal.data.memory import memory_limit, over_limit

ARRAYS = ("x_train", "y_train", "x_test", "y_test")
KIND_ARRAY = "kind"  # optional 0-d string array naming the kind of x ("image", "sequence" or "tabular")
NUMERIC = "biuf"  # numpy dtype kinds accepted for inputs: bool, signed and unsigned integers, floats
RANKS = {"image": (3, 4), "sequence": (2, 3), "tabular": (2,)}  # dimensions of x (with N) each kind takes
SEQUENCE_HINT_COLUMNS = 32  # unmarked (N, F) inputs with at least this many columns may be sequences: say how read


def _member(archive: zipfile.ZipFile, name: str) -> str | None:
    """The archive member holding array `name` (`name.npy`, as np.savez writes it, or `name`)."""
    names = set(archive.namelist())
    return next((m for m in (f"{name}.npy", name) if m in names), None)


def _read_header(handle: BinaryIO) -> ArrayHeader:
    version = np.lib.format.read_magic(handle)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f".npy format version {version} (expected 1.0 or 2.0)")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(handle)
    return ArrayHeader(tuple(int(d) for d in shape), dtype)


def _read_array(archive: zipfile.ZipFile, member: str) -> np.ndarray:
    """The array of `member`; then reads on to the member's end, so zip checks its CRC and spare bytes show."""
    with archive.open(member) as handle:
        array = np.lib.format.read_array(handle, allow_pickle=False)
        if handle.read(1):
            raise ValueError(f"{member} holds more bytes than its header's shape {array.shape} needs")
    return array


def _refuse_unreadable(path: Path) -> None:
    """Say what a file that is not a zip archive is instead (np.load would call it pickled data)."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(6)
    except OSError as err:
        raise file_error(path, f"cannot be read ({err.strerror or err})") from err
    if start == b"\x93NUMPY":
        raise file_error(path, "is a single .npy array, expected an .npz archive (np.savez) of "
                               f"{', '.join(ARRAYS)}")
    if not start.startswith(b"PK"):
        raise file_error(path, f"is not an .npz archive: it does not start with a zip signature (starts {start!r})")


def _kind(path: Path, archive: zipfile.ZipFile) -> str | None:
    """The `kind` array's value, or None when the archive has none."""
    member = _member(archive, KIND_ARRAY)
    if member is None:
        return None
    with archive.open(member) as handle:
        header = _read_header(handle)
    if header.dtype.kind not in "US" or header.nbytes > 1024:
        raise file_error(path, f"{KIND_ARRAY} must be a string, one of {list(KINDS)}, "
                               f"got {header.dtype} {header.shape}")
    value = _read_array(archive, member)
    text = value.item() if value.size == 1 else value.tolist()
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if text not in KINDS:
        raise file_error(path, f"{KIND_ARRAY}={text!r} is invalid: expected one of {list(KINDS)}")
    return text


def _input_kind(path: Path, x: ArrayHeader, x_test: ArrayHeader, declared: str | None) -> str:
    """The kind of x_train from its header (shape and dtype), or the archive's `kind` after checking it fits."""
    rank = len(x.shape)
    if declared is None:
        kind = {2: "tabular", 3: "image" if x.dtype == np.uint8 else "sequence", 4: "image"}.get(rank)
        if kind is None:
            raise file_error(path, f"x_train has shape {x.shape}: expected vectors (N, F), sequences (N, C, T) or "
                                   f"images (N, C, H, W) or uint8 (N, H, W)")
    else:
        kind = declared
        if rank not in RANKS[declared]:
            raise file_error(path, f"x_train has shape {x.shape}, which {KIND_ARRAY}={declared!r} does not take: "
                                   f"expected {' or '.join(str(r) for r in RANKS[declared])} dimensions")
    if kind == "image" and (x.dtype == np.uint8) != (x_test.dtype == np.uint8):
        raise file_error(path, f"x_train is {x.dtype} and x_test {x_test.dtype}: images are uint8 in both splits or "
                               f"in neither")
    return kind


def reading_note(path: str | os.PathLike) -> str | None:
    """One sentence when the file's unmarked `x_train` (N, F) has many columns (`SEQUENCE_HINT_COLUMNS`): it is
    read as vectors, and how to have it read as sequences. None otherwise, or when the file cannot be read (its
    loading says why). Reads the headers only."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            member = _member(archive, "x_train")
            if member is None or _member(archive, KIND_ARRAY) is not None:
                return None
            with archive.open(member) as handle:
                shape = _read_header(handle).shape
    except Exception:  # noqa: BLE001 - a note is best effort; load_npz names every fault of the file
        return None
    if len(shape) != 2 or shape[1] < SEQUENCE_HINT_COLUMNS:
        return None
    return (f"{path.name}: x_train {shape} was read as vectors of {shape[1]} features (the MLP); if each row is a "
            f"sequence (a signal, a time series), save it with kind=\"sequence\" (np.savez(..., kind=\"sequence\")) "
            f"to read it as (N, 1, {shape[1]}) and train the 1-D CNN")


def targets_note(path: str | os.PathLike) -> str | None:
    """One sentence when the file's y_train holds floats that are all whole numbers, like class labels: with task
    "auto" they are read as regression targets, and how to have them read as classes. None otherwise, or when the
    file cannot be read (its loading says why)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            member = _member(archive, "y_train")
            with archive.open(member) as handle:
                header = _read_header(handle)
            if header.dtype.kind != "f" or header.nbytes > memory_limit(None) // 4:
                return None
            values = _read_array(archive, member)
    except Exception:  # noqa: BLE001 - a note is best effort; load_npz names every fault of the file
        return None
    if not (values.size and np.isfinite(values).all() and (values == np.round(values)).all()):
        return None
    return (f"{path.name}: y_train holds whole numbers as {header.dtype} and was read as regression targets; to "
            f"classify, save integer labels or ask for task=\"classification\"")


def _needed_bytes(headers: dict[str, ArrayHeader], kind: str) -> int:
    """Peak memory of loading: every array as read, plus the float32 copy of standardized inputs
    (uint8 images are kept as they are) and the int64 copy of the labels."""
    raw = sum(h.nbytes for h in headers.values())
    kept = kind == "image" and headers["x_train"].dtype == np.uint8
    inputs = sum(headers[a].size * (1 if kept else 4) for a in ("x_train", "x_test"))
    labels = sum(headers[a].size * 8 for a in ("y_train", "y_test"))
    return raw + inputs + labels


def _check_headers(path: Path, headers: dict[str, ArrayHeader], *, regression: bool) -> None:
    """Dtypes, ranks and counts, from the headers alone (the targets' as ``regression`` reads them)."""
    for name, header in headers.items():
        if header.dtype.hasobject or header.dtype.fields is not None:
            raise file_error(path, f"{name} holds Python objects or records (dtype {header.dtype}), which are refused: "
                                   f"save plain numeric arrays")
        if header.dtype.kind not in NUMERIC:
            raise file_error(path, f"{name} has dtype {header.dtype}: expected numbers (bool, integer or float)")
    for name in ("y_train", "y_test"):
        if regression and (len(headers[name].shape) not in (1, 2) or headers[name].dtype.kind not in "iuf"):
            raise file_error(path, f"{name} must be numeric regression targets (N,) or (N, D), got "
                                   f"{headers[name].dtype} {headers[name].shape}")
        if not regression and (len(headers[name].shape) != 1 or headers[name].dtype.kind not in "iuf"):
            raise file_error(path, f"{name} must be integer class labels (N,), got {headers[name].dtype} "
                                   f"{headers[name].shape}")
    if regression and headers["y_train"].shape[1:] != headers["y_test"].shape[1:]:
        raise file_error(path, f"y_train targets {headers['y_train'].shape[1:]} and y_test targets "
                               f"{headers['y_test'].shape[1:]} differ")
    x_train, x_test = headers["x_train"].shape, headers["x_test"].shape
    for name, shape in (("x_train", x_train), ("x_test", x_test)):
        if len(shape) < 2:
            raise file_error(path, f"{name} must hold one row per example (N, ...), got shape {shape}")
        if shape[0] == 0:
            raise file_error(path, f"{name} is empty: expected at least one example")
        if 0 in shape[1:]:
            raise file_error(path, f"{name} has shape {shape}: an example needs at least one value")
    if x_train[1:] != x_test[1:]:
        raise file_error(path, f"x_train examples {x_train[1:]} and x_test examples {x_test[1:]} differ")
    check_counts(path, "train split", x_train[0], headers["y_train"].shape[0])
    check_counts(path, "test split", x_test[0], headers["y_test"].shape[0])


def _labels(values: np.ndarray, path: Path, what: str) -> np.ndarray:
    """int64 labels; floats are accepted only when every value is a whole number."""
    if values.dtype.kind == "f":
        if not (np.isfinite(values).all() and (values == np.round(values)).all()):
            raise file_error(path, f"{what} must be integer class labels, "
                                   f"got non-integer values of dtype {values.dtype}")
        if values.size and np.abs(values).max() >= 2.0**63:  # not an int64
            far = values[np.argmax(np.abs(values))]
            raise file_error(path, f"{what} has label {far!r}, far beyond any class index")
    if values.size and values.min() < 0:
        raise file_error(path, f"{what} has negative label {values.min()!r}: expected 0..num_classes-1")
    if values.dtype == np.uint64 and values.size and values.max() > np.iinfo(np.int64).max:
        raise file_error(path, f"{what} has label {values.max()!r}, far beyond any class index")
    return values.astype(np.int64)


def is_regression(task: str, y_train: ArrayHeader) -> bool:
    """Whether ``task`` ("auto", "classification" or "regression") reads y as regression targets: auto does when
    y_train holds floats."""
    return task == "regression" or (task == "auto" and y_train.dtype.kind == "f")


def load_npz(path: str | os.PathLike, *, max_bytes: int | None = None, task: str = "auto") -> Dataset:
    """A data set from an .npz archive of `x_train, y_train, x_test, y_test` (np.savez), read without pickle.

    The kind of data follows from the shape of `x_train` (N examples first) and its dtype:
    (N, F) → vectors ("tabular"); (N, C, T) → sequences of C channels and T steps, except that uint8
    (N, H, W) → one-channel images; (N, C, H, W) → images. An optional string array `kind`
    ("image", "sequence" or "tabular") overrides the rule: "sequence" reads (N, T) as one-channel
    sequences (N, 1, T) and a uint8 (N, C, T) as sequences, "image" a non-uint8 (N, H, W) as images.
    uint8 images are kept as they are; every other input becomes float32 standardized per channel
    (per feature for vectors) with the training split's statistics.

    What y holds follows from `task`: "classification" reads class labels, "regression" targets, "auto"
    (the default) targets when y_train holds floats and class labels when it holds integers. Class labels
    are integers (or, with task "classification", whole floats) 0..C-1 with C = largest label + 1 <=
    `MAX_CLASSES`, and the training split must hold at least 2 classes. Regression targets are (N,) or
    (N, D) numbers, finite, kept in their units as float32. Both splits need at least one example. The headers are
    checked before any data is read, and loading is refused when its peak memory would be over
    `memory_limit(max_bytes)`. Any fault raises ValueError naming the file and the fault.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {a: _member(archive, a) for a in ARRAYS}
            missing = [a for a, m in members.items() if m is None]
            if missing:
                raise file_error(path, f"missing arrays {missing} "
                                       f"(has {sorted(archive.namelist())}; needs {list(ARRAYS)})")
            headers = {}
            for name, member in members.items():
                with archive.open(member) as handle:
                    headers[name] = _read_header(handle)
            regression = is_regression(task, headers["y_train"])
            _check_headers(path, headers, regression=regression)
            kind = _input_kind(path, headers["x_train"], headers["x_test"], _kind(path, archive))
            fault = over_limit(_needed_bytes(headers, kind), memory_limit(max_bytes))
            if fault:
                shapes = ', '.join(f'{a} {h.dtype} {h.shape}' for a, h in headers.items())
                raise file_error(path, f"its arrays ({shapes}) {fault}")
            arrays = {name: _read_array(archive, member) for name, member in members.items()}
    except (zipfile.BadZipFile, OSError) as err:
        _refuse_unreadable(path)
        raise file_error(path, f"is a damaged or truncated zip archive ({type(err).__name__}: {err})") from err
    except ValueError as err:
        if str(err).startswith(f"{path}: "):
            raise
        raise file_error(path, f"not a readable .npz archive ({err})") from err
    except Exception as err:  # zlib, EOF and other failures of a damaged archive
        raise file_error(path, f"not a readable .npz archive ({type(err).__name__}: {err})") from err
    return npz_dataset(path, kind=kind, regression=regression, **arrays)


def _targets(path: Path, y_train: np.ndarray, y_test: np.ndarray, *, regression: bool) -> dict:
    """The Dataset fields of checked y arrays: class labels (int64, their count) or regression targets (float32)."""
    if regression:
        return dict(y_train=targets_to_tensor(y_train, path=path, what="y_train"),
                    y_test=targets_to_tensor(y_test, path=path, what="y_test"), num_classes=0, task="regression")
    y_train, y_test = _labels(y_train, path, "y_train"), _labels(y_test, path, "y_test")
    largest, where = max((int(y.max()), name) for y, name in ((y_train, "y_train"), (y_test, "y_test")))
    num_classes = check_file_classes(path, largest + 1, f"label {largest} in {where}")
    check_classes_present(path, y_train, "y_train")
    return dict(y_train=torch.from_numpy(y_train), y_test=torch.from_numpy(y_test), num_classes=num_classes)


def npz_dataset(path: Path, *, kind: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                y_test: np.ndarray, regression: bool = False) -> Dataset:
    """The Dataset of arrays whose shapes, dtypes and counts `load_npz` has checked (y read as regression targets
    with ``regression``)."""
    targets = _targets(path, y_train, y_test, regression=regression)
    if (x_train.ndim, kind) in ((2, "sequence"), (3, "image")):
        x_train, x_test = x_train[:, None], x_test[:, None]  # one channel: (N, 1, T) or (N, 1, H, W)
    common = dict(name=f"npz:{path.name}", kind=kind, source=str(path), **targets)
    if x_train.dtype == np.uint8 and kind == "image":
        xs = [torch.from_numpy(np.ascontiguousarray(x)) for x in (x_train, x_test)]
        mean, std = channel_stats(xs[0])
        return Dataset(x_train=xs[0], x_test=xs[1], mean=mean, std=std, **common)
    x_tr, x_te = standardize(x_train, x_test, path=path)
    channels = x_tr.shape[1]
    return Dataset(x_train=x_tr, x_test=x_te, mean=(0.0,) * channels, std=(1.0,) * channels, **common)
