"""Fashion-MNIST (Xiao et al. 2017, arXiv 1708.07747) and MNIST from their IDX files, found or downloaded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vicinal.data.augment import Augment
from vicinal.data.dataset import Dataset, channel_stats, check_counts, file_error, labels_to_tensor
from vicinal.data.download import download as download_file
from vicinal.data.idx import idx_header, read_idx
from vicinal.data.locate import DATA_ENV, obtain
from vicinal.data.memory import memory_limit, over_limit


@dataclass(frozen=True)
class IdxSource:
    """Where one IDX data set comes from and how to recognise its files."""

    mirrors: tuple[str, ...]  # base URLs, tried in order
    md5: dict[str, str]  # md5 of each official .gz file
    classes: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()
    hint: str = ""
    augment: Augment | None = None  # the augmentation that keeps the labels


FILES = {  # split -> (images, labels)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_HOW = f"put the four IDX files (.gz or not) in a folder and pass --data-dir DIR (data_dir=) or set {DATA_ENV}=DIR"

SOURCES = {
    "fashion-mnist": IdxSource(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        # The md5 of the official .gz files, as the data set's README publishes them. Debian's package
        # re-compresses them (other .gz bytes) but its decompressed files have the md5 published for the
        # official decompressed ones: train-images f4a8712d7a061bf5bd6d2ca38dc4d50a, train-labels
        # 9018921c3c673c538a1fc5bad174d6f9, t10k-images 8181f5470baa50b63fa0f6fddb340f0a, t10k-labels
        # 15d484375f8d13e6eb1aabb0c3f46965 (checked on 2026-11-25).
        md5={
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        augment=Augment(crop_padding=2, flip=True),  # a mirrored or shifted garment is the same garment
        hint=f"To get it: install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist, "
        f"files in /usr/share/datasets/fashion-mnist), or {_HOW}.",
    ),
    "mnist": IdxSource(
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        md5={
            "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        classes=tuple(str(d) for d in range(10)),
        hint=f"To get it: {_HOW}.",
        augment=Augment(crop_padding=2),  # shifts only: a mirrored digit is not the same digit
    ),
}


def _probe(folder: Path) -> dict[str, Path] | None:
    """The path of each of the four files in `folder` (plain or .gz), or None if one is missing."""
    found = {}
    for stem in (f for pair in FILES.values() for f in pair):
        candidates = [folder / stem, folder / f"{stem}.gz"]
        present = [p for p in candidates if p.is_file()]
        if not present:
            return None
        found[stem] = present[0]
    return found


def _fetcher(source: IdxSource):
    def fetch(target: Path) -> None:
        for stem, md5 in source.md5.items():
            dest = target / f"{stem}.gz"
            if not dest.is_file():
                download_file([m + dest.name for m in source.mirrors], dest, checksum=md5)

    return fetch


def _check_headers(paths: dict[str, Path], folder: Path, limit: int) -> None:
    """From the four headers alone: image dtype, matching counts and image sizes, and the memory the files
    need (their data, and the labels as int64) against `limit`. Refuses before any data is read."""
    heads = {stem: idx_header(paths[stem], ndim=3 if "images" in stem else 1) for stem in paths}
    for split, (image_stem, label_stem) in FILES.items():
        images, labels = heads[image_stem], heads[label_stem]
        if images.dtype != np.uint8:
            raise file_error(paths[image_stem], f"images must be unsigned bytes, the header says {images.dtype}")
        check_counts(paths[label_stem], f"{split} split ({paths[image_stem].name} vs {paths[label_stem].name})",
                     images.shape[0], labels.shape[0])
    train, test = (heads[FILES[split][0]].shape[1:] for split in ("train", "test"))
    if train != test:
        raise file_error(folder, f"train images {train} and test images {test} differ in size")
    needed = sum(h.nbytes for h in heads.values()) + 8 * sum(heads[FILES[s][1]].size for s in FILES)
    fault = over_limit(needed, limit)
    if fault:
        shapes = ', '.join(f'{s} {h.shape}' for s, h in heads.items())
        raise file_error(folder, f"the four IDX files ({shapes}) {fault}")


def _read_split(paths: dict[str, Path], split: str, num_classes: int, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    image_file, label_file = (paths[stem] for stem in FILES[split])
    images = read_idx(image_file, ndim=3, max_bytes=limit)  # as its header declares: checked by _check_headers
    labels = read_idx(label_file, ndim=1, max_bytes=limit)
    y = labels_to_tensor(labels, num_classes=num_classes, path=label_file, what="labels")
    return torch.from_numpy(images).unsqueeze(1), y


def load_idx_dataset(name: str, *, data_dir: str | os.PathLike | None = None, download: bool = True,
                     max_bytes: int | None = None) -> Dataset:
    """Load `fashion-mnist` or `mnist`: uint8 images (N, 1, 28, 28), int64 labels, the official split.

    The four headers are checked (counts, sizes, memory within `memory_limit(max_bytes)`) before any
    data is read.
    """
    if name not in SOURCES:
        raise ValueError(f"unknown IDX data set {name!r}: expected one of {sorted(SOURCES)}")
    source = SOURCES[name]
    folder, paths = obtain(
        name, _probe, data_dir=data_dir, download=download, fetch=_fetcher(source),
        hint=source.hint, system_dirs=source.system_dirs,
    )
    limit = memory_limit(max_bytes)
    _check_headers(paths, folder, limit)
    num_classes = len(source.classes)
    x_train, y_train = _read_split(paths, "train", num_classes, limit)
    x_test, y_test = _read_split(paths, "test", num_classes, limit)
    mean, std = channel_stats(x_train)
    return Dataset(name=name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                   num_classes=num_classes, kind="image", mean=mean, std=std,
                   classes=list(source.classes), source=str(folder), augment=source.augment)
