"""A run's evaluation after an epoch: test error, NLL and ECE; the error on the training set (after the last epoch,
or every time with corrupted labels, with how much was memorized); after the last, the error under FGSM. For a
regression run: the test RMSE and MSE, and after the last epoch the training set's RMSE, in the targets' units."""

from __future__ import annotations

import torch
from torch import nn

from vicinal.eval import attack_error, evaluate, evaluate_regression, in_pixel_space
from vicinal.train.config import TrainConfig
from vicinal.train.data import EVAL_BATCH, RunData

ATTACK_IMAGES = 1000  # test images the end-of-run FGSM attack perturbs (its error's standard error ≤ 1.6 points)


def evaluate_run(model: nn.Module, data: RunData, config: TrainConfig, *, device: torch.device,
                 autocast_dtype: torch.dtype | None, last: bool) -> tuple[dict, dict]:
    """(the metrics row's test entries, evaluate()'s output on the test set with its probs and labels).

    The test set is seen with ``config``'s test-time augmentation. After the ``last`` epoch, and every time
    with corrupted labels, the row also holds ``clean_train_error``: the error on the training points with
    their true labels, un-augmented, in eval mode (the train–test gap is test_error − clean_train_error); with
    corrupted labels also ``corrupted_fit`` (share of the corrupted points predicted as their wrong label:
    memorization). After the last epoch with ``config.fgsm_eps`` > 0 it holds ``fgsm_error``: the error on the
    first ``ATTACK_IMAGES`` test images under white-box FGSM at that ε (pixels in [0, 1]; see fgsm_error).
    A regression run's row holds ``test_rmse`` and ``test_mse`` and, after the last epoch, ``train_rmse`` (the
    training points, un-augmented, in eval mode), in the targets' units; its second value is evaluate_regression's
    output (predictions and targets).
    """
    test = evaluate_split(model, data.test, data, device=device, autocast_dtype=autocast_dtype,
                          flip=config.test_flip, translate=config.test_translate)
    if data.regression:
        row = dict(test_rmse=test["rmse"], test_mse=test["mse"])
        if last:
            row["train_rmse"] = evaluate_split(model, data.train_eval, data, device=device,
                                               autocast_dtype=autocast_dtype)["rmse"]
        return row, test
    row = dict(test_error=float(test["error"]), test_nll=float(test["nll"]), ece=float(test["ece"]))
    if last or data.corrupted is not None:
        row.update(_training_fit(model, data, device=device, autocast_dtype=autocast_dtype))
    if last and config.fgsm_eps > 0:
        row["fgsm_error"] = fgsm_error(model, data, eps=config.fgsm_eps, device=device)
    return row, test


def evaluate_split(model: nn.Module, loader, data: RunData, *, device: torch.device,
                   autocast_dtype: torch.dtype | None, flip: bool = False, translate: int = 0) -> dict:
    """``evaluate`` of a classifier on ``loader``'s batches, or ``evaluate_regression`` in the targets' units of a
    regression run's model (``data`` says which, and holds the targets' standardization)."""
    if data.regression:
        return evaluate_regression(model, loader, device=device, autocast_dtype=autocast_dtype, mean=data.target_mean,
                                   std=data.target_std, flip=flip, translate=translate)
    return evaluate(model, loader, device=device, autocast_dtype=autocast_dtype, flip=flip, translate=translate)


def attack_batches(data: RunData, *, images: int = ATTACK_IMAGES) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The first ``images`` test images of a run in pixel space [0, 1], as batches of ``EVAL_BATCH`` (uint8 images)."""
    x, y = data.test.x[:images], data.test.y[:images]
    return [(x[i:i + EVAL_BATCH].float() / 255.0, y[i:i + EVAL_BATCH]) for i in range(0, len(y), EVAL_BATCH)]


def fgsm_error(model: nn.Module, data: RunData, *, eps: float, device: torch.device,
               images: int = ATTACK_IMAGES) -> float:
    """Top-1 error of ``model`` on the run's first ``images`` test images under white-box FGSM (arXiv 1412.6572,
    as in mixup's section 3.5) at ``eps`` in pixels [0, 1], in float32 and eval mode."""
    return attack_error(in_pixel_space(model, data.mean, data.std), attack_batches(data, images=images),
                        attack="fgsm", eps=eps, device=device)


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
