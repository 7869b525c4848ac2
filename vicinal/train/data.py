"""The data of one run: what the config leaves to the data set (model, augmentation, task), seeded subsets, corrupted
labels, standardized regression targets and the in-memory loaders (train shard, test, train-eval)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch

from vicinal.core.generators import derive_seed, make_generator
from vicinal.data import Augment, Dataset, TensorLoader, corrupt_labels, load_dataset
from vicinal.data.npz import reading_note, targets_note
from vicinal.train.config import TrainConfig, auto_width, check_task
from vicinal.train.digest import content_digest
from vicinal.train.distributed import DistContext
from vicinal.train.schedules import reach_min_steps

EVAL_BATCH = 1024  # images per evaluation batch


@dataclass
class RunData:
    """Loaders and labels a run trains and evaluates on."""

    train: object  # TensorLoader over this rank's shard, shuffled, augmented
    test: object  # TensorLoader over the test split, in order
    train_eval: object  # TensorLoader over the training split in order, with the clean labels
    num_classes: int  # 0 for regression
    kind: str  # "image", "sequence" or "tabular"
    input_shape: tuple[int, ...]  # one input's shape: (C, H, W), (C, T) or (F,)
    clean_labels: torch.Tensor | None  # the training labels before corruption (label_noise > 0 only)
    noisy_labels: torch.Tensor | None  # the labels trained on (label_noise > 0 only)
    corrupted: torch.Tensor | None  # bool mask of the corrupted training points (label_noise > 0 only)
    corruption_state: torch.Tensor  # state of the corruption generator before it drew (kept in checkpoints)
    channels_last: bool  # the loaders yield channels_last batches
    mean: tuple[float, ...]  # the standardization the loaders apply, per channel or feature (in [0, 1] pixel
    std: tuple[float, ...]  # scale for uint8 images: a pixel-space model is Normalize(mean, std) then the model)
    outputs: int = 0  # the model's output width: the classes, or the regression target columns
    target_mean: torch.Tensor | None = None  # regression: the training targets' mean and std per column (D,), in
    target_std: torch.Tensor | None = None  # their units; the loaders hold the targets (N, D) standardized by them

    @property
    def regression(self) -> bool:
        return self.target_mean is not None

    @property
    def mixer_classes(self) -> int | None:
        """The mixing object's ``num_classes``: the classes, or None (regression targets are mixed as they are)."""
        return None if self.regression else self.num_classes


def load_for(config: TrainConfig) -> Dataset:
    """The data set ``config`` trains on: its name, folder, task and the seed that splits a tabular set."""
    return load_dataset(config.dataset, data_dir=config.data_dir, seed=config.seed, task=config.task)


def resolve_for_data(config: TrainConfig, dataset: Dataset) -> TrainConfig:
    """``config`` with what it leaves to the data set made explicit, checked before anything is built.

    ``model="auto"`` becomes ``default_model`` of one example's shape (mlp, cnn1d or fastcnn), "auto<W>" its
    convolutional ones at width W (cnn1d<W>, fastcnn<W>; the mlp stays as it is);
    ``augment_crop`` / ``augment_flip`` None become the data set's label-preserving default (none on a user's
    files); ``min_steps`` raises the epochs to reach it on this data (``reach_min_steps``). Raises ValueError
    naming the field when the model does not take the data's examples (both shapes named) or the augmentation,
    test-time augmentation or attack does not fit them, or the method and its options do not fit the data set's
    task (``check_task``: c_mixup needs regression targets, regression takes mixup or c_mixup only).
    """
    from vicinal.models import check_fits, default_model

    check_task(config, regression=dataset.task == "regression", where=f"the {dataset.task} data set "
                                                                        f"{config.dataset!r}")
    shape = dataset.input_shape
    width = auto_width(config.model)
    model = config.model if width is None else default_model(shape)
    if width and model in ("cnn1d", "fastcnn"):
        model += str(width)
    crop, flip = config.augment_crop, config.augment_flip
    if dataset.kind != "image":
        for name in ("augment_crop", "augment_flip", "test_flip", "test_translate"):
            if getattr(config, name):
                raise ValueError(f"{name}={getattr(config, name)!r} is invalid for {config.dataset!r}: its examples "
                                 f"of shape {shape} are {dataset.kind} data, expected images (C, H, W) to augment")
    if config.fgsm_eps and dataset.x_train.dtype != torch.uint8:
        raise ValueError(f"fgsm_eps={config.fgsm_eps!r} is invalid for {config.dataset!r}: ε is in pixels in [0, 1], "
                         f"expected images stored as uint8 pixels")
    try:
        augment = dataset.augmentation(crop_padding=crop, flip=flip) or Augment()
    except ValueError:  # the only fault left: a crop padding over half the images' side
        raise ValueError(f"augment_crop={crop!r} is invalid for images of shape {shape}: expected at most "
                         f"{min(shape[1:]) // 2} (half the smaller side)") from None
    check_fits(model, shape, num_classes=dataset.outputs, dropout=config.dropout)
    resolved = config.replace(model=model, augment_crop=augment.crop_padding, augment_flip=augment.flip)
    steps_per_epoch = training_points(config, dataset) // config.batch_size  # the training loader's (drop_last)
    return reach_min_steps(resolved, steps_per_epoch=steps_per_epoch) if steps_per_epoch else resolved


def training_points(config: TrainConfig, dataset: Dataset) -> int:
    """How many training points ``config`` trains on: its ``train_subset`` of ``dataset``, else all."""
    available = len(dataset.y_train)
    return available if config.train_subset is None else min(config.train_subset, available)


def data_note(config: TrainConfig) -> str | None:
    """How ``config``'s data was read, when that may not be what the user meant (an unmarked npz of many columns
    read as vectors: ``vicinal.data.npz.reading_note``; with task "auto", an npz's whole-number float y read as
    regression targets: ``targets_note``); None otherwise."""
    if not config.dataset.startswith("npz:"):
        return None
    path = config.dataset[4:]
    notes = [reading_note(path), targets_note(path) if config.task == "auto" else None]
    return "; ".join(note for note in notes if note) or None


def _subset(x: torch.Tensor, y: torch.Tensor, size: int | None, *, seed: int, stream: str):
    if size is None or size >= len(y):
        return x, y
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
    fingerprint = content_digest([dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test, dataset.num_classes,
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
    note = data_note(c)
    if note and ctx.is_main and not c.quiet:
        print(f"vicinal: {note}", file=sys.stderr)
    x_train, y_train = _subset(ds.x_train, ds.y_train, c.train_subset, seed=c.seed, stream="train_subset")
    x_test, y_test = _subset(ds.x_test, ds.y_test, c.test_subset, seed=c.seed, stream="test_subset")
    if c.batch_size % ctx.world_size:
        raise ValueError(f"batch_size={c.batch_size} is invalid: expected a multiple of the {ctx.world_size} "
                         f"processes")
    per_rank = c.batch_size // ctx.world_size
    if c.batch_size > len(y_train):
        raise ValueError(f"batch_size={c.batch_size} is invalid: larger than the {len(y_train)} training points")
    state, noisy, mask = _corrupt(y_train, c, num_classes=ds.num_classes, corruption_state=corruption_state)
    clean, y_train = (y_train, noisy) if mask is not None else (None, y_train)
    target_mean = target_std = None
    if ds.task == "regression":
        y_train, y_test, target_mean, target_std = _standardized_targets(y_train, y_test, device)
    augment = ds.augmentation(crop_padding=c.augment_crop, flip=c.augment_flip)
    norm = dict(mean=ds.mean, std=ds.std, device=device, channels_last=channels_last)
    train = TensorLoader(x_train, y_train, batch_size=per_rank, shuffle=True, drop_last=True, augment=augment,
                         seed=derive_seed(c.seed, "loader"), rank=ctx.rank, world_size=ctx.world_size, **norm)
    test = TensorLoader(x_test, y_test, batch_size=EVAL_BATCH, shuffle=False, **norm)
    train_eval = TensorLoader(x_train, y_train if clean is None else clean, batch_size=EVAL_BATCH, shuffle=False,
                              **norm)
    if mask is not None:
        clean, noisy, mask = clean.to(device), noisy.to(device), mask.to(device)
    return RunData(train, test, train_eval, ds.num_classes, ds.kind, tuple(x_train.shape[1:]), clean, noisy, mask,
                   state, channels_last, tuple(ds.mean), tuple(ds.std), ds.outputs, target_mean, target_std)


def _standardized_targets(y_train: torch.Tensor, y_test: torch.Tensor, device: torch.device
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Regression targets as (N, D) columns standardized by the training targets' mean and std (a constant column
    keeps std 1), with that mean and std (D,) on ``device``: the loss and the learning rate do not depend on the
    targets' units."""
    train, test = y_train.reshape(len(y_train), -1).double(), y_test.reshape(len(y_test), -1).double()
    mean, std = train.mean(0), train.std(0, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (((train - mean) / std).float(), ((test - mean) / std).float(), mean.float().to(device),
            std.float().to(device))
