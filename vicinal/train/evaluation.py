"""A run's evaluation after an epoch: test error, NLL and ECE, and with corrupted labels how much was memorized."""

from __future__ import annotations

import torch
from torch import nn

from vicinal.eval import evaluate
from vicinal.train.config import TrainConfig
from vicinal.train.data import RunData


def evaluate_run(model: nn.Module, data: RunData, config: TrainConfig, *, device: torch.device,
                 autocast_dtype: torch.dtype | None) -> tuple[dict, dict]:
    """(the metrics row's test entries, evaluate()'s output on the test set with its probs and labels).

    The test set is seen with ``config``'s test-time augmentation. With corrupted labels the row also holds
    ``clean_train_error`` (error on the true training labels) and ``corrupted_fit`` (share of the corrupted
    points predicted as their wrong label: memorization).
    """
    test = evaluate(model, data.test, device=device, autocast_dtype=autocast_dtype, flip=config.test_flip,
                    translate=config.test_translate)
    row = dict(test_error=float(test["error"]), test_nll=float(test["nll"]), ece=float(test["ece"]))
    if data.corrupted is not None:
        row.update(_memorization(model, data, device=device, autocast_dtype=autocast_dtype))
    return row, test


def _memorization(model: nn.Module, data: RunData, *, device: torch.device,
                  autocast_dtype: torch.dtype | None) -> dict:
    fit = evaluate(model, data.train_eval, device=device, autocast_dtype=autocast_dtype)
    pred = fit["probs"].argmax(1).to(data.clean_labels.device)
    mask = data.corrupted
    return dict(clean_train_error=float((pred != data.clean_labels).double().mean()),
                corrupted_fit=float((pred[mask] == data.noisy_labels[mask]).double().mean()) if bool(mask.any())
                else 0.0)
