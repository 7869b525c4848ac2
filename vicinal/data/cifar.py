"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009) from the python-pickle batches, found or downloaded, read safely."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vicinal.data.augment import Augment
from vicinal.data.dataset import Dataset, channel_stats, check_counts, file_error, labels_to_tensor
from vicinal.data.download import download as download_file
from vicinal.data.download import extract_tar
from vicinal.data.locate import DATA_ENV, obtain
from vicinal.data.safe_pickle import load_pickle

IMAGE_SHAPE = (3, 32, 32)


@dataclass(frozen=True)
class CifarSource:
    folder: str  # the folder the official archive unpacks to
    train: tuple[str, ...]  # batch files of the training split
    test: tuple[str, ...]
    label_key: str
    num_classes: int
    url: str
    md5: str  # of the official .tar.gz
    meta: str  # file holding the class names
    names_key: str
    augment: Augment = Augment(crop_padding=4, flip=True)  # the paper's: 4-pixel shifts and mirror images


SOURCES = {
    "cifar10": CifarSource(
        folder="cifar-10-batches-py", train=tuple(f"data_batch_{i}" for i in range(1, 6)), test=("test_batch",),
        label_key="labels", num_classes=10, url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a", meta="batches.meta", names_key="label_names",
    ),
    "cifar100": CifarSource(
        folder="cifar-100-python", train=("train",), test=("test",),
        label_key="fine_labels", num_classes=100, url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        md5="eb9058c3a382ffc7106e4002c42a8d85", meta="meta", names_key="fine_label_names",
    ),
}
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _text(value: Any) -> Any:
    return value.decode("latin1") if isinstance(value, bytes) else value


def read_batch(path: str | os.PathLike, *, label_key: str, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch file: uint8 images (N, 3, 32, 32) and int64 labels, validated."""
    path = Path(path)
    batch = load_pickle(path)
    if not isinstance(batch, dict):
        raise file_error(path, f"expected a dict batch, got {type(batch).__name__}")
    batch = {_text(k): v for k, v in batch.items()}
    for key in ("data", label_key):
        if key not in batch:
            raise file_error(path, f"batch has no {key!r} entry (has {sorted(map(str, batch))})")
    data, labels = batch["data"], batch[label_key]
    width = int(np.prod(IMAGE_SHAPE))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != width:
        raise file_error(path, f"'data' must be a uint8 array (N, {width}), got "
                               f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}")
    if not isinstance(labels, (list, np.ndarray)) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels
    ):
        raise file_error(path, f"{label_key!r} must be a list of integer labels")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    check_counts(path, "batch", len(data), len(labels))
    y = labels_to_tensor(labels, num_classes=num_classes, path=path, what=label_key)
    return torch.from_numpy(data.reshape(-1, *IMAGE_SHAPE)), y


def _probe(source: CifarSource):
    def probe(folder: Path) -> Path | None:
        for candidate in (folder / source.folder, folder):
            if all((candidate / f).is_file() for f in source.train + source.test):
                return candidate
        return None

    return probe


def _fetcher(source: CifarSource):
    def fetch(target: Path) -> None:
        archive = target / source.url.rsplit("/", 1)[1]
        download_file([source.url], archive, checksum=source.md5)
        extract_tar(archive, target)
        archive.unlink()

    return fetch


def _class_names(folder: Path, source: CifarSource) -> list[str] | None:
    """Class names from the meta file when present (CIFAR-10's are also known without it)."""
    meta_path = folder / source.meta
    if not meta_path.is_file():
        return CIFAR10_CLASSES if source.num_classes == 10 else None
    meta = load_pickle(meta_path)
    names = {_text(k): v for k, v in meta.items()}.get(source.names_key) if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != source.num_classes:
        raise file_error(meta_path, f"expected {source.num_classes} class names under {source.names_key!r}")
    return [str(_text(n)) for n in names]


def load_cifar(name: str, *, data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load `cifar10` or `cifar100` (fine labels): uint8 images (N, 3, 32, 32), the official split."""
    if name not in SOURCES:
        raise ValueError(f"unknown CIFAR data set {name!r}: expected one of {sorted(SOURCES)}")
    source = SOURCES[name]
    hint = (f"To get it: download {source.url} (md5 {source.md5}), unpack it, and pass --data-dir DIR "
            f"(data_dir=) or set {DATA_ENV}=DIR to the folder holding {source.folder}.")
    _, folder = obtain(name, _probe(source), data_dir=data_dir, download=download, fetch=_fetcher(source), hint=hint)

    def read(files: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [read_batch(folder / f, label_key=source.label_key, num_classes=source.num_classes) for f in files]
        return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])

    x_train, y_train = read(source.train)
    x_test, y_test = read(source.test)
    mean, std = channel_stats(x_train)
    return Dataset(name=name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                   num_classes=source.num_classes, kind="image", mean=mean, std=std,
                   classes=_class_names(folder, source), source=str(folder), augment=source.augment)
