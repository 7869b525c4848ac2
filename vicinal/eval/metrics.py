"""Evaluation of a classifier over a loader: top-1 error, negative log-likelihood and calibration (ECE)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vicinal.eval._mode import eval_mode
from vicinal.eval.calibration import expected_calibration_error


def autocast_context(device: torch.device | str, dtype: torch.dtype | None) -> Any:
    """``torch.autocast`` on the device's type with ``dtype``, or a no-op context when ``dtype`` is None."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    *,
    device: torch.device | str,
    autocast_dtype: torch.dtype | None = None,
    flip: bool = False,
) -> tuple[Tensor, Tensor]:
    """Logits (N, C) float32 and labels (N,) int64, on the CPU, of ``model`` in eval mode over ``loader``.

    ``flip``: flip test-time augmentation, the mean of the logits of each image and of its mirror image
    (images (N, C, H, W) only).
    """
    logits, labels = [], []
    with eval_mode(model), autocast_context(device, autocast_dtype):
        for inputs, targets in loader:
            inputs = inputs.to(device, non_blocking=True)
            if flip and inputs.ndim != 4:
                raise ValueError(f"flip test-time augmentation needs images (N, C, H, W), got shape {tuple(inputs.shape)}")
            out = model(inputs).float()
            if flip:
                out = (out + model(inputs.flip(-1)).float()) / 2
            logits.append(out.cpu())
            labels.append(targets.cpu().long())
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
) -> dict[str, Any]:
    """Evaluate ``model`` (eval mode, no gradients, its train/eval mode restored after) on every batch of ``loader``.

    ``loader`` yields ``(inputs, labels)`` with labels as class indices. Returns ``error`` (fraction
    of wrong top-1 predictions), ``nll`` (mean negative log-likelihood, nats), ``ece`` (``n_bins``
    equal-width bins), and the softmax ``probs`` (N, C) and ``labels`` (N,) as CPU tensors. ``flip``:
    the predictions are the mean logits of each image and its mirror image (see ``predict``).
    """
    logits, labels = predict(model, loader, device=device, autocast_dtype=autocast_dtype, flip=flip)
    if labels.dim() != 1 or bool((labels < 0).any()) or bool((labels >= logits.shape[1]).any()):
        raise ValueError(f"labels must be class indices in [0, {logits.shape[1] - 1}] of shape (N,), got shape {tuple(labels.shape)}")
    probs = logits.softmax(dim=1)
    return {
        "error": float((logits.argmax(dim=1) != labels).double().mean()),
        "nll": float(F.cross_entropy(logits.double(), labels)),
        "ece": expected_calibration_error(probs, labels, n_bins=n_bins),
        "probs": probs,
        "labels": labels,
    }
