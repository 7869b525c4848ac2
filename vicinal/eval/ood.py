"""Confidence off the data: how sure a classifier is on images of none of its classes (uniform noise, another data
set), RegMixup's out-of-distribution measure (Pinto et al. 2022, arXiv 2206.14502)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vicinal.core._checks import invalid
from vicinal.eval.metrics import predict

NOISE_IMAGES = 1000  # uniform-noise images per measure


def ood_images(shape: tuple[int, int, int], *, generator: torch.Generator,
               noise_images: int = NOISE_IMAGES) -> dict[str, Tensor]:
    """Images of shape (C, H, W) in pixels [0, 1] that show none of a data set's classes: ``"noise"``, uniform
    pixels drawn from ``generator``, and ``"digits"``, scikit-learn's 1,797 handwritten digits (8 × 8, scaled
    bilinearly to H × W, the same in every channel)."""
    from sklearn.datasets import load_digits

    if len(shape) != 3 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in shape):
        raise invalid("shape", shape, "an image shape (C, H, W) of positive integers")
    channels, height, width = shape
    noise = torch.rand((noise_images, *shape), generator=generator, device=generator.device).cpu()
    digits = torch.tensor(load_digits().images, dtype=torch.float32).unsqueeze(1) / 16
    digits = F.interpolate(digits, size=(height, width), mode="bilinear", align_corners=False).clamp(0, 1)
    return {"noise": noise, "digits": digits.expand(-1, channels, -1, -1).contiguous()}


def mean_confidence(model: nn.Module, inputs: Tensor, *, device: torch.device | str, batch_size: int = 500) -> float:
    """The mean top-class softmax probability of ``model`` (in eval mode, float32; its mode is given back) on
    ``inputs``: 1 is a network sure of some class, 1/C one that knows it does not know."""
    if inputs.ndim < 2 or len(inputs) == 0:
        raise invalid("inputs", f"a tensor of shape {tuple(inputs.shape)}", "a non-empty batch (N, ...)")
    batches = [(chunk, torch.zeros(len(chunk), dtype=torch.long)) for chunk in inputs.split(batch_size)]
    logits, _ = predict(model, batches, device=device)
    return float(logits.softmax(1).amax(1).double().mean())
