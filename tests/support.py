"""Helpers the tests share (not tests): tiny trainer configurations, the CLI in-process, crash and step hooks."""

from __future__ import annotations

from collections.abc import Callable

import torch

from vicinal.train import Callback, RunInfo, StepEvent, TrainConfig

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


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``vicinal *argv`` in this process: (exit code, stdout, stderr)."""
    from vicinal.cli import main

    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


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


class OnTrainingForward(Callback):
    """Calls ``action(n, output)`` on the model's n-th forward pass in training mode (1-based, one a step); what
    it returns (None: nothing) replaces the output, and what it raises stops the run at that step."""

    def __init__(self, action: Callable[[int, torch.Tensor], torch.Tensor | None]) -> None:
        self.action, self.calls = action, 0

    def on_start(self, run: RunInfo) -> None:
        run.model.register_forward_hook(self._hook)

    def _hook(self, module: torch.nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not module.training:
            return None
        self.calls += 1
        return self.action(self.calls, output)


def crash_at(step: int) -> OnTrainingForward:
    """Simulate losing the machine: the forward pass of ``step`` (1-based) raises RuntimeError("machine lost")."""
    def crash(call: int, output: torch.Tensor) -> None:
        if call == step:
            raise RuntimeError("machine lost")

    return OnTrainingForward(crash)


class StepRecorder(Callback):
    """Keeps what ``record(event)`` returns for every step."""

    def __init__(self, record: Callable[[StepEvent], object]) -> None:
        self.record, self.seen = record, []

    def on_step(self, event: StepEvent) -> None:
        self.seen.append(self.record(event))


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"
