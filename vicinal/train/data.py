"""The data of one run: seeded subsets, corrupted labels and the in-memory loaders (train shard, test, train-eval)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from vicinal.train.config import TrainConfig
from vicinal.train.distributed import DistContext
from vicinal.data import Dataset, TensorLoader, corrupt_labels
from vicinal.data.loader import derive_seed
from vicinal.train.digest import digest
from vicinal.train.hardware import make_generator

EVAL_BATCH = 1024  # images per evaluation batch


@dataclass
class RunData:
    """Loaders and labels a run trains and evaluates on."""

    train: object  # TensorLoader over this rank's shard, shuffled, augmented
    test: object  # TensorLoader over the test split, in order
    train_eval: object | None  # TensorLoader over the training split in order (only when labels are corrupted)
    num_classes: int
    kind: str  # "image" or "tabular"
    input_shape: tuple[int, ...]  # one input's shape: (C, H, W) or (F,)
    clean_labels: torch.Tensor | None  # the training labels before corruption (label_noise > 0 only)
    noisy_labels: torch.Tensor | None  # the labels trained on (label_noise > 0 only)
    corrupted: torch.Tensor | None  # bool mask of the corrupted training points (label_noise > 0 only)
    corruption_state: torch.Tensor  # state of the corruption generator before it drew (kept in checkpoints)
    channels_last: bool  # the loaders yield channels_last batches


def _subset(x: torch.Tensor, y: torch.Tensor, size: int | None, *, seed: int, stream: str, what: str):
    if size is None:
        return x, y
    if size > len(y):
        raise ValueError(f"{what}={size} is invalid: the data set has only {len(y)} points")
    keep = torch.randperm(len(y), generator=make_generator(seed, stream))[:size]
    return x[keep], y[keep]


def _corrupt(labels: torch.Tensor, config: TrainConfig, *, num_classes: int,
             corruption_state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(the corruption generator's state before it draws, the noisy labels, the corrupted mask); the last two
    None without label noise. A resumed run passes the stored state, so it corrupts the same labels."""
    generator = make_generator(config.seed, "corruption")
    if corruption_state is not None:
        generator.set_state(corruption_state)
    state = generator.get_state()
    if config.label_noise == 0:
        return state, None, None
    noisy, mask = corrupt_labels(labels, fraction=config.label_noise, num_classes=num_classes, generator=generator)
    return state, noisy, mask


def data_record(dataset: Dataset) -> dict:
    """What identifies a run's data: ``source``, the absolute path it was read from (the data set's ``source``, or
    name, where that is no file or folder), and ``fingerprint``, the SHA-256 of the loaded splits, class count and
    kind."""
    source = os.path.abspath(dataset.source) if dataset.source and os.path.exists(dataset.source) else \
        dataset.source or dataset.name
    fingerprint = digest([dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test, dataset.num_classes,
                          dataset.kind])
    return dict(source=source, fingerprint=fingerprint)


def absolute_dataset(name: str, source: str) -> str:
    """``name`` with the path of its ``csv:`` or ``npz:`` file, read from ``source`` (the Dataset's), made absolute:
    the run reads the same file when it is resumed from another folder. Other names are returned as they are."""
    spec = name[4:]
    if not name.startswith(("csv:", "npz:")) or not os.path.isfile(source):
        return name
    if spec.startswith(source):
        rest = spec[len(source):]  # csv's :LABEL_COLUMN
    elif os.path.normpath(spec) == os.path.normpath(source):
        rest = ""
    else:
        return name
    return name[:4] + os.path.abspath(source) + rest


def prepare_data(config: TrainConfig, dataset: Dataset, *, device: torch.device, ctx: DistContext,
                 channels_last: bool, corruption_state: torch.Tensor | None = None) -> RunData:
    """Take ``config``'s seeded subsets of ``dataset``, corrupt labels, and build the loaders on ``device``.

    The training permutation is seeded identically on every rank and rank r takes its slice of each global
    batch (``TensorLoader(rank=, world_size=)``), so N ranks × batch B see what one process sees with N·B.
    ``channels_last``: the loaders yield batches in channels_last memory format.
    """
    c, ds = config, dataset
    x_train, y_train = _subset(ds.x_train, ds.y_train, c.train_subset, seed=c.seed, stream="train_subset",
                               what="train_subset")
    x_test, y_test = _subset(ds.x_test, ds.y_test, c.test_subset, seed=c.seed, stream="test_subset",
                             what="test_subset")
    if c.batch_size % ctx.world_size:
        raise ValueError(f"batch_size={c.batch_size} is invalid: expected a multiple of the {ctx.world_size} "
                         f"processes")
    per_rank = c.batch_size // ctx.world_size
    if c.batch_size > len(y_train):
        raise ValueError(f"batch_size={c.batch_size} is invalid: larger than the {len(y_train)} training points")
    state, noisy, mask = _corrupt(y_train, c, num_classes=ds.num_classes, corruption_state=corruption_state)
    clean, y_train = (y_train, noisy) if mask is not None else (None, y_train)
    image = ds.kind == "image"
    for name in ("test_flip", "test_translate"):
        if getattr(c, name) and not image:
            raise ValueError(f"{name}={getattr(c, name)!r} is invalid for {c.dataset!r}: test-time augmentation "
                             f"needs image data")
    augment = ds.augmentation(crop_padding=c.augment_crop, flip=c.augment_flip) if image else None
    norm = dict(mean=ds.mean, std=ds.std, device=device, channels_last=channels_last)
    train = TensorLoader(x_train, y_train, batch_size=per_rank, shuffle=True, drop_last=True, augment=augment,
                         seed=derive_seed(c.seed, "loader"), rank=ctx.rank, world_size=ctx.world_size, **norm)
    test = TensorLoader(x_test, y_test, batch_size=EVAL_BATCH, shuffle=False, **norm)
    train_eval = TensorLoader(x_train, clean, batch_size=EVAL_BATCH, shuffle=False, **norm) if mask is not None \
        else None
    if mask is not None:
        clean, noisy, mask = clean.to(device), noisy.to(device), mask.to(device)
    return RunData(train, test, train_eval, ds.num_classes, ds.kind, tuple(x_train.shape[1:]), clean, noisy, mask,
                   state, channels_last)
