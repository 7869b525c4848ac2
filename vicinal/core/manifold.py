"""Manifold Mixup: mix the hidden activations of one randomly chosen layer (Verma et al., arXiv 1806.05236)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import Pairing, check_batch, resolve_generator
from ._draw import draw_vicinity
from .batch import MixedBatch
from .mix import mix_rows


def manifold_mixup(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    layers: Sequence[str] | None = None,
    num_classes: int | None = None,
    per_sample: bool = False,
    pairing: Pairing = "permutation",
    label_smoothing: float = 0.0,
    knn_k: int = 200,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, MixedBatch]:
    """Run `model(x)` with the output of one layer replaced by λ·h + (1−λ)·h[index].

    The layer is drawn uniformly from `layers` (names of submodules, as in `model.named_modules()`;
    default `model.mixup_layers`); the empty name "" mixes the model's input (plain input mixup, the
    k = 0 layer of the paper). Returns (logits, MixedBatch) whose `.inputs` are the mixed activations,
    `.targets` the targets mixed with the same λ and partners, `.layer` the chosen name. Draw order
    from `generator`: λ, the pairing, then the layer. x itself is never changed.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if layers is None:
        layers = getattr(model, "mixup_layers", None)
        if layers is None:
            raise ValueError("layers is None and the model has no `mixup_layers` attribute; name the layers to mix")
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    if not layers:
        raise ValueError("layers must name at least one submodule, got an empty sequence")
    known = dict(model.named_modules())
    unknown = [name for name in layers if name not in known]
    if unknown:
        raise ValueError(f"unknown layer name(s) {unknown}; expected names from model.named_modules()")
    check_batch(x, y)
    gen = resolve_generator(generator)
    targets, lam, index = draw_vicinity(
        x, y, alpha=alpha, num_classes=num_classes, label_smoothing=label_smoothing,
        per_sample=per_sample, pairing=pairing, knn_k=knn_k, generator=gen,
    )
    layer = layers[int(torch.randint(len(layers), (), generator=gen, device=gen.device))]
    mixed: list[torch.Tensor] = []

    def mix_activation(h: object) -> torch.Tensor:
        if not isinstance(h, torch.Tensor) or not h.is_floating_point() or h.shape[:1] != x.shape[:1]:
            raise ValueError(f"layer {layer!r} must output a float tensor with batch size {x.shape[0]}")
        mixed.append(mix_rows(h, lam.to(h.device), index.to(h.device)))
        return mixed[-1]

    if layer == "":
        handle = model.register_forward_pre_hook(lambda _m, args: (mix_activation(args[0]), *args[1:]))
    else:
        handle = known[layer].register_forward_hook(lambda _m, _args, output: mix_activation(output))
    try:
        logits = model(x)
    finally:
        handle.remove()
    if len(mixed) != 1:
        raise ValueError(f"layer {layer!r} ran {len(mixed)} times in one forward pass; expected exactly once")
    targets = mix_rows(targets, lam.to(targets.device), index.to(targets.device))
    return logits, MixedBatch(inputs=mixed[0], targets=targets, lam=lam, index=index, layer=layer)
