"""A run's evaluation after an epoch: test error, NLL and ECE; the error on the training set (after the last epoch,
or every time with corrupted labels, with how much was memorized)."""

from __future__ import annotations

import torch
from torch import nn

from vicinal.eval import evaluate
from vicinal.train.config import TrainConfig
from vicinal.train.data import RunData


def evaluate_run(model: nn.Module, data: RunData, config: TrainConfig, *, device: torch.device,
                 autocast_dtype: torch.dtype | None, last: bool) -> tuple[dict, dict]:
    """(the metrics row's test entries, evaluate()'s output on the test set with its probs and labels).

    The test set is seen with ``config``'s test-time augmentation. After the ``last`` epoch, and every time
    with corrupted labels, the row also holds ``clean_train_error``: the error on the training points with
    their true labels, un-augmented, in eval mode (the train–test gap is test_error − clean_train_error); with
    corrupted labels also ``corrupted_fit`` (share of the corrupted points predicted as their wrong label:
    memorization).
    """
    test = evaluate(model, data.test, device=device, autocast_dtype=autocast_dtype, flip=config.test_flip,
                    translate=config.test_translate)
    row = dict(test_error=float(test["error"]), test_nll=float(test["nll"]), ece=float(test["ece"]))
    if last or data.corrupted is not None:
        row.update(_training_fit(model, data, device=device, autocast_dtype=autocast_dtype))
    return row, test


def _training_fit(model: nn.Module, data: RunData, *, device: torch.device,
                  autocast_dtype: torch.dtype | None) -> dict:
    fit = evaluate(model, data.train_eval, device=device, autocast_dtype=autocast_dtype)
    row = dict(clean_train_error=float(fit["error"]))
    if data.corrupted is not None:
        pred = fit["probs"].argmax(1).to(data.clean_labels.device)
        mask = data.corrupted
        row["corrupted_fit"] = float((pred[mask] == data.noisy_labels[mask]).double().mean()) if bool(mask.any()) \
            else 0.0
    return row
