"""One training step's loss: the run's mixing object (vicinal.core.Mixup) applied to a batch (arXiv 1710.09412); for
regression the squared error on the mixed targets (C-Mixup: arXiv 2210.05775)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from vicinal._autocast import autocast_context
from vicinal.core import MixedBatch, Mixup, mixup_cross_entropy, regmixup_cross_entropy, soft_cross_entropy
from vicinal.train.config import TrainConfig


@dataclass(frozen=True)
class StepOutput:
    """What one forward pass gives the trainer: the loss to minimize, the errors made and the batch trained on."""

    loss: torch.Tensor  # 0-d float32, mean over the batch
    errors: torch.Tensor  # 0-d, number of rows whose prediction differs from the dominant class of the target
    # (regression: 0, there are no classes)
    batch: MixedBatch  # the vicinal batch: λ (1 when the batch was left unmixed) and the partners


def build_mixer(config: TrainConfig, *, num_classes: int | None, generator: torch.Generator) -> Mixup:
    """The run's mixing object: ``config``'s method and options with the core's semantics (``mix_prob`` is its
    ``prob``; α = 0 leaves it disabled, i.e. ERM). Manifold Mixup uses ``Mixup.manifold`` with the same options;
    FMix masks the dims after the channel dim (the image plane, a sequence's time). ``num_classes`` None: the
    targets are regression targets, mixed as they are (C-Mixup's ``bandwidth`` is in the standardized targets'
    units, i.e. their standard deviations)."""
    mode = "mixup" if config.method == "manifold_mixup" else config.method
    return Mixup(alpha=config.alpha, mode=mode, prob=config.mix_prob, mask_dims=None,
                 num_classes=num_classes, per_sample=config.per_sample, pairing=config.pairing, mix=config.mix,
                 label_smoothing=config.label_smoothing, knn_k=config.knn_k, bandwidth=config.bandwidth,
                 enabled=config.alpha > 0, generator=generator)


def manifold_layers(config: TrainConfig, model: nn.Module, prefix: str = "") -> tuple[str, ...] | None:
    """The layers Manifold Mixup may mix, named as in the module the loop calls; None for the other methods."""
    if config.method != "manifold_mixup":
        return None
    layers = getattr(model, "mixup_layers", None)
    if not layers:
        raise ValueError(f"method='manifold_mixup' is invalid for model={config.model!r}: expected a model "
                         f"naming its mixup_layers")
    return tuple(prefix + name if name else name for name in layers)


def vicinal_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, mixer: Mixup,
                 autocast_dtype: torch.dtype | None, manifold_layers: tuple[str, ...] | None = None,
                 regmixup_eta: float = 1.0) -> StepOutput:
    """Forward pass and loss on (x, y) as mixed by ``mixer`` (Manifold Mixup of ``model`` when ``manifold_layers``
    names the layers it may mix).

    When inputs and labels are mixed alike (``mix="both"``, and always for CutMix and Manifold Mixup) the loss
    is the two-label form λ·CE(y) + (1−λ)·CE(y[index]) with the mixer's label smoothing: on an unmixed batch
    (λ = 1) exactly the integer-label cross-entropy. Otherwise it is soft_cross_entropy on the batch's targets.
    RegMixup's batch (the clean rows and their mixup copy, one forward pass) has `regmixup_cross_entropy` with
    η = ``regmixup_eta``, its errors counted on the clean rows; left unmixed, it is the clean batch alone.
    Float ``y`` are regression targets (B, D): the loss is the mean squared error of the outputs (B, D) against
    the mixed targets, and no errors are counted.
    """
    if y.is_floating_point():
        batch = mixer(x, y)
        with autocast_context(x.device, autocast_dtype):
            outputs = model(batch.inputs)
        loss = F.mse_loss(outputs.float(), batch.targets)
        return StepOutput(loss, torch.zeros((), device=loss.device), batch)
    if manifold_layers is None:
        batch = mixer(x, y)
        with autocast_context(x.device, autocast_dtype):
            logits = model(batch.inputs)
    else:
        with autocast_context(x.device, autocast_dtype):
            logits, batch = mixer.manifold(model, x, y, layers=manifold_layers)
    logits, targets, rows = logits.float(), batch.targets, y.shape[0]
    if mixer.mode == "regmixup" and logits.shape[0] == 2 * rows:
        loss = regmixup_cross_entropy(logits, y, y[batch.index], batch.lam, eta=regmixup_eta,
                                      label_smoothing=mixer.label_smoothing)
        logits, targets = logits[:rows], targets[:rows]
    elif mixer.mix == "both" or mixer.mode != "mixup" or manifold_layers is not None:
        loss = mixup_cross_entropy(logits, y, y[batch.index], batch.lam, label_smoothing=mixer.label_smoothing)
    else:
        loss = soft_cross_entropy(logits, targets)
    return StepOutput(loss, (logits.argmax(1) != targets.argmax(1)).sum(), batch)
