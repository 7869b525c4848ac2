"""Shared tiny configurations for the trainer's tests (a few seconds each on one CPU thread)."""

from __future__ import annotations

import torch

from vicinal.train import TrainConfig

# Tiny models on a contended 2-core machine run far faster on one thread (OpenMP spinning dominates):
# the configs below ask the trainer for one thread (threads=1, restored after the run).
SUBPROCESS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def tabular_config(out, **changes) -> TrainConfig:
    """scikit-learn's digits with the paper's tabular MLP: 22 steps an epoch, milliseconds each."""
    base = dict(dataset="digits", model="mlp", batch_size=64, epochs=2, lr=0.05, schedule="onecycle",
                weight_decay=1e-4, alpha=1.0, quiet=True, threads=1,
                out=None if out is None else str(out))
    return TrainConfig(**{**base, **changes})


def image_config(out, **changes) -> TrainConfig:
    """Fashion-MNIST, 256 training images, fastcnn: 4 steps an epoch."""
    base = dict(dataset="fashion-mnist", model="fastcnn", train_subset=256, test_subset=256, batch_size=64,
                epochs=2, lr=0.05, alpha=1.0, augment_flip=True, augment_crop=2, quiet=True, threads=1,
                out=None if out is None else str(out))
    return TrainConfig(**{**base, **changes})


def cli_args(options: dict) -> list[str]:
    """TrainConfig values as the generated CLI options (True: --flag, False: --no-flag, None: none)."""
    args = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, "none" if value is None else str(value)]
    return args


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"


def test_support_configs_are_valid(tmp_path):
    assert tabular_config(tmp_path).model == "mlp"
    assert image_config(tmp_path).train_subset == 256
