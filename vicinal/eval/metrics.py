"""Evaluation over a loader: a classifier's top-1 error, NLL and calibration (ECE); a regression model's MSE, RMSE."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vicinal._autocast import autocast_context
from vicinal.eval._mode import eval_mode
from vicinal.eval.calibration import expected_calibration_error


def shift_images(images: Tensor, pixels: int) -> Tensor:
    """``images`` (N, C, H, W) moved ``pixels`` down and right (up and left when negative), edges repeated."""
    p = abs(pixels)
    padded = F.pad(images, (p, p, p, p), mode="replicate")
    start = p - pixels
    return padded[..., start:start + images.shape[-2], start:start + images.shape[-1]]


def _tta_logits(model: nn.Module, images: Tensor, *, flip: bool, translate: int) -> Tensor:
    """Logits averaged over the test-time views: mirror images (flip), 1/4 each to the two diagonal shifts."""
    def views(x: Tensor) -> Tensor:
        out = model(x).float()
        return (out + model(x.flip(-1)).float()) / 2 if flip else out

    logits = views(images)
    if translate:
        shifted = views(shift_images(images, -translate)) + views(shift_images(images, translate))
        logits = (logits + shifted / 2) / 2
    return logits


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    *,
    device: torch.device | str,
    autocast_dtype: torch.dtype | None = None,
    flip: bool = False,
    translate: int = 0,
) -> tuple[Tensor, Tensor]:
    """Logits (N, C) float32 and labels (N,) int64 (float targets: as they are), on the CPU, of ``model`` in eval
    mode over ``loader``.

    Test-time augmentation (images (N, C, H, W) only): ``flip`` averages the logits of each image and
    of its mirror image; ``translate`` t > 0 also averages over the image shifted t pixels up-left and
    t pixels down-right (edges repeated), the unshifted view weighing ½ and each shifted one ¼ (the
    flip-and-translate scheme of airbench, Jordan 2024, arXiv 2404.00498).
    """
    if isinstance(translate, bool) or not isinstance(translate, int) or translate < 0:
        raise ValueError(f"translate must be an integer >= 0 (pixels), got {translate!r}")
    logits, labels = [], []
    with eval_mode(model), autocast_context(device, autocast_dtype):
        for inputs, targets in loader:
            inputs = inputs.to(device, non_blocking=True)
            if (flip or translate) and inputs.ndim != 4:
                raise ValueError(f"test-time augmentation (flip, translate) needs images (N, C, H, W), "
                                 f"got shape {tuple(inputs.shape)}")
            if translate >= min(inputs.shape[-2:]):
                raise ValueError(f"translate={translate} is invalid for images of {tuple(inputs.shape[-2:])} pixels")
            logits.append(_tta_logits(model, inputs, flip=flip, translate=translate).cpu())
            labels.append(targets.cpu() if targets.is_floating_point() else targets.cpu().long())
    if not logits:
        raise ValueError("the loader yielded no batches; expected at least one (inputs, labels) batch")
    return torch.cat(logits), torch.cat(labels)


def evaluate(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    *,
    device: torch.device | str,
    autocast_dtype: torch.dtype | None = None,
    n_bins: int = 15,
    flip: bool = False,
    translate: int = 0,
) -> dict[str, Any]:
    """Evaluate ``model`` (eval mode, no gradients, its train/eval mode restored after) on every batch of ``loader``.

    ``loader`` yields ``(inputs, labels)`` with labels as class indices. Returns ``error`` (fraction
    of wrong top-1 predictions), ``nll`` (mean negative log-likelihood, nats), ``ece`` (``n_bins``
    equal-width bins), and the softmax ``probs`` (N, C) and ``labels`` (N,) as CPU tensors. ``flip``,
    ``translate``: test-time augmentation (see ``predict``).
    """
    logits, labels = predict(model, loader, device=device, autocast_dtype=autocast_dtype, flip=flip,
                             translate=translate)
    if labels.dim() != 1 or bool((labels < 0).any()) or bool((labels >= logits.shape[1]).any()):
        raise ValueError(f"labels must be class indices in [0, {logits.shape[1] - 1}] of shape (N,), "
                         f"got shape {tuple(labels.shape)}")
    probs = logits.softmax(dim=1)
    return {
        "error": float((logits.argmax(dim=1) != labels).double().mean()),
        "nll": float(F.cross_entropy(logits.double(), labels)),
        "ece": expected_calibration_error(probs, labels, n_bins=n_bins),
        "probs": probs,
        "labels": labels,
    }


def evaluate_regression(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    *,
    device: torch.device | str,
    autocast_dtype: torch.dtype | None = None,
    mean: Tensor | None = None,
    std: Tensor | None = None,
    flip: bool = False,
    translate: int = 0,
) -> dict[str, Any]:
    """Evaluate a regression ``model`` (outputs (N, D)) on ``loader``'s float targets (N,) or (N, D), in eval mode.

    ``mean`` and ``std`` (D,) map outputs and targets back to the targets' units (y = z·std + mean) when the
    loader holds standardized targets. Returns ``mse`` (mean over rows and columns of the squared error) and
    ``rmse`` (its square root), in those units, and ``predictions`` and ``targets`` (N, D) float32 on the CPU.
    ``flip``, ``translate``: test-time augmentation, averaging the outputs (see ``predict``).
    """
    outputs, targets = predict(model, loader, device=device, autocast_dtype=autocast_dtype, flip=flip,
                               translate=translate)
    if not targets.is_floating_point():
        raise ValueError(f"targets must be float regression targets (N,) or (N, D), got {targets.dtype}")
    outputs, targets = outputs.double().reshape(len(outputs), -1), targets.double().reshape(len(targets), -1)
    if outputs.shape != targets.shape:
        raise ValueError(f"the model's outputs {tuple(outputs.shape)} and the targets {tuple(targets.shape)} differ: "
                         f"expected one output per target column")
    if mean is not None and std is not None:
        scale, shift = std.detach().double().cpu(), mean.detach().double().cpu()
        outputs, targets = outputs * scale + shift, targets * scale + shift
    mse = float((outputs - targets).square().mean())
    return {"mse": mse, "rmse": math.sqrt(mse), "predictions": outputs.float(), "targets": targets.float()}
