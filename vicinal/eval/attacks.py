"""Adversarial attacks as in mixup (arXiv 1710.09412): FGSM (arXiv 1412.6572) and I-FGSM (arXiv 1607.02533).

FGSM is Goodfellow et al. 2015, I-FGSM Kurakin et al. 2017; both white-box and transfer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vicinal.eval._mode import eval_mode

Clamp = tuple[float, float] | None


def in_pixel_space(model: nn.Module, mean: Sequence[float], std: Sequence[float]) -> nn.Module:
    """``model``, trained on inputs standardized per channel with ``mean`` and ``std`` (pixel scale [0, 1]), as a
    model of pixels in [0, 1] (what the attacks perturb): ``nn.Sequential(Normalize(mean, std), model)``, on the
    model's device. The model itself is shared, not copied (the attacks run it in eval mode and give its mode back)."""
    from vicinal.models import Normalize

    return nn.Sequential(Normalize(mean, std), model).to(next(model.parameters()).device)


def _check_attack_inputs(x: Tensor, y: Tensor, eps: float, clamp: Clamp) -> None:
    """ValueError for a non-float x, mismatched y, a negative or non-finite ε, or an empty clamp range."""
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor in pixel space, got dtype {x.dtype}")
    if y.shape[:1] != x.shape[:1]:
        raise ValueError(f"y must have one label per input: x has batch {x.shape[0]}, y has shape {tuple(y.shape)}")
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not math.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    if clamp is not None and not (len(clamp) == 2 and clamp[0] < clamp[1]):
        raise ValueError(f"clamp must be None or (low, high) with low < high, got {clamp!r}")


def _loss_gradient_sign(model: nn.Module, x: Tensor, y: Tensor, *, targeted: bool) -> Tensor:
    """sign(∇ₓ CE(model(x), y)) for the untargeted attack, its negative for the targeted one.

    No parameter gradients are kept."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y)
        (grad,) = torch.autograd.grad(loss, x)
    return -grad.sign() if targeted else grad.sign()


def _project(x_adv: Tensor, x: Tensor, eps: float, clamp: Clamp) -> Tensor:
    """x_adv moved back into the ε-ball of ‖·‖∞ around x, then into the valid range ``clamp``."""
    x_adv = torch.minimum(torch.maximum(x_adv, x - eps), x + eps)
    return x_adv.clamp(*clamp) if clamp is not None else x_adv


def fgsm(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, clamp: Clamp = (0.0, 1.0),
         targeted: bool = False) -> Tensor:
    """Fast gradient sign method: x + ε·sign(∇ₓ CE(model(x), y)), clamped to the valid range.

    ``x`` is in pixel space (wrap a model trained on normalized inputs as
    ``nn.Sequential(Normalize(mean, std), model)``). The model runs in eval mode and gets its mode
    back; ``x`` is not changed. ``targeted=True`` steps towards the labels ``y`` instead (−ε·sign).
    Returns a new tensor with ‖x_adv − x‖∞ ≤ ε (up to float rounding).
    """
    _check_attack_inputs(x, y, eps, clamp)
    x = x.detach()
    with eval_mode(model):
        step = _loss_gradient_sign(model, x, y, targeted=targeted)
    return _project(x + eps * step, x, eps, clamp)


def ifgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    steps: int = 10,
    step_size: float | None = None,
    clamp: Clamp = (0.0, 1.0),
    targeted: bool = False,
) -> Tensor:
    """Iterative FGSM: ``steps`` sign-gradient steps of ``step_size`` (default 1.25·ε/steps).

    Each step is projected onto the ε-ball and the valid range.

    Same conventions as :func:`fgsm` (pixel space, eval mode, ``x`` unchanged, ‖x_adv − x‖∞ ≤ ε).
    """
    _check_attack_inputs(x, y, eps, clamp)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if step_size is None:
        step_size = 1.25 * eps / steps
    if not isinstance(step_size, (int, float)) or not math.isfinite(step_size) or step_size < 0:
        raise ValueError(f"step_size must be a finite number >= 0, got {step_size!r}")
    x = x.detach()
    x_adv = x.clone()
    with eval_mode(model):
        for _ in range(steps):
            x_adv = _project(x_adv + step_size * _loss_gradient_sign(model, x_adv, y, targeted=targeted), x, eps, clamp)
    return x_adv


@torch.no_grad()
def attack_error(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    *,
    attack: Literal["none", "fgsm", "ifgsm"],
    eps: float,
    device: torch.device | str,
    source_model: nn.Module | None = None,
    steps: int = 10,
    step_size: float | None = None,
    clamp: Clamp = (0.0, 1.0),
) -> float:
    """Top-1 error of ``model`` on adversarial examples of every batch of ``loader`` (pixel-space inputs, class labels).

    White-box when ``source_model`` is None (examples crafted on ``model`` itself); black-box transfer
    otherwise (crafted on ``source_model``, e.g. a separately trained ERM model, evaluated on
    ``model``). ``attack="none"`` gives the clean error. Both models run in eval mode.
    """
    if attack not in ("none", "fgsm", "ifgsm"):
        raise ValueError(f"attack must be 'none', 'fgsm' or 'ifgsm', got {attack!r}")
    source = model if source_model is None else source_model
    wrong, total = 0, 0
    with eval_mode(model):
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            if attack == "fgsm":
                inputs = fgsm(source, inputs, labels, eps=eps, clamp=clamp)
            elif attack == "ifgsm":
                inputs = ifgsm(source, inputs, labels, eps=eps, steps=steps, step_size=step_size, clamp=clamp)
            wrong += int((model(inputs).argmax(dim=1) != labels).sum())
            total += labels.shape[0]
    if total == 0:
        raise ValueError("the loader yielded no examples; expected at least one (inputs, labels) batch")
    return wrong / total
