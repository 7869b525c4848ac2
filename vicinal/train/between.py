"""The in-between curves of a finished run: its trained model measured between pairs of its own training (and test)
points of different classes, as in mixup's Figure 2 (Zhang et al., arXiv 1710.09412)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from vicinal.core._checks import check_choice
from vicinal.core.generators import make_generator
from vicinal.data import Dataset
from vicinal.eval.between import LAMBDAS, BetweenTable, Target, between_examples
from vicinal.train.config import TrainConfig
from vicinal.train.data import load_for, prepare_data, resolve_for_data
from vicinal.train.distributed import DistContext
from vicinal.train.hardware import autocast_dtype

SPLITS = ("train", "test")


def _tensors(loader) -> tuple[Tensor, Tensor]:
    """Every (inputs, labels) batch of an in-order loader, concatenated."""
    inputs, labels = zip(*loader)
    return torch.cat(inputs), torch.cat(labels)


def run_between(config: TrainConfig, model: nn.Module, *, splits: Sequence[str] = SPLITS,
                lambdas: Sequence[float] = LAMBDAS, pairs: int = 2000, batch_size: int = 500,
                target: Target = "mixed", dataset: Dataset | None = None) -> dict[str, BetweenTable]:
    """``between_examples`` of a run's trained ``model`` on the points its ``config`` (the run's resolved one, as
    ``Result.config``) trained and was tested on: "train" is its training subset, un-augmented, with the clean
    labels; "test" its test subset; both normalized as in training, on the model's device, in the run's precision.

    The pairs of a split are drawn from a generator seeded by the run's seed and the split alone, so the runs of one
    seed that differ only in their method (ERM, mixup) are measured on the same pairs. ``dataset``: the loaded data
    set, to spare loading it again for every run.
    """
    for split in splits:
        check_choice("split", split, SPLITS)
    dataset = dataset if dataset is not None else load_for(config)
    config = resolve_for_data(config, dataset)
    device = next(model.parameters()).device
    data = prepare_data(config, dataset, device=device, ctx=DistContext(), channels_last=False)
    amp = autocast_dtype(config.precision, device=device, kind=data.kind, model=config.model)
    loaders = {"train": data.train_eval, "test": data.test}
    out = {}
    for split in splits:
        inputs, labels = _tensors(loaders[split])
        out[split] = between_examples(model, inputs, labels, lambdas=lambdas, pairs=pairs,
                                      generator=make_generator(config.seed, f"between_{split}"),
                                      batch_size=batch_size, device=device, target=target, autocast_dtype=amp)
    return out
