"""Manifold Mixup: mix the hidden activations of one randomly chosen layer (Verma et al., arXiv 1806.05236)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from ._checks import Pairing, invalid
from ._vicinity import Batch, VicinityOptions, _draw_vicinity, check_vicinity_batch, vicinity_options
from .batch import MixedBatch
from .generators import own_generator
from .mix import _mix_rows


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
    known = check_model_layers(model, layers)
    options = vicinity_options(
        alpha=alpha, num_classes=num_classes, per_sample=per_sample, pairing=pairing,
        label_smoothing=label_smoothing, knn_k=knn_k,
    )
    batch = check_vicinity_batch(x, y, options)
    return _manifold_mixup(model, known, batch, options, own_generator(generator=generator))


def check_model_layers(model: nn.Module, layers: Sequence[str] | str | None) -> dict[str, nn.Module]:
    """The layers Manifold Mixup may mix, checked on the model: {name: submodule} (default: model.mixup_layers)."""
    if not isinstance(model, nn.Module):
        raise invalid("type(model)", type(model), "a torch.nn.Module")
    if layers is None:
        layers = getattr(model, "mixup_layers", None)
        if layers is None:
            raise invalid("layers", layers, "names of submodules to mix (the model has no `mixup_layers` attribute)")
    if not isinstance(layers, Iterable):
        raise invalid("layers", layers, "a name or a sequence of names of submodules")
    layers = (layers,) if isinstance(layers, str) else tuple(layers)
    if not layers:
        raise invalid("layers", layers, "at least one submodule name")
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise invalid("layers", layers, f"names from model.named_modules(); unknown: {unknown}")
    return {name: modules[name] for name in layers}


def _manifold_mixup(
    model: nn.Module, layers: dict[str, nn.Module], batch: Batch, options: VicinityOptions, gen: torch.Generator
) -> tuple[torch.Tensor, MixedBatch]:
    """Manifold Mixup of a checked batch over checked layers, with trusted options."""
    x = batch.x
    lam, index = _draw_vicinity(batch, options, gen)
    names = list(layers)
    layer = names[int(torch.randint(len(names), (), generator=gen, device=gen.device))]
    mixed: list[torch.Tensor] = []

    def mix_activation(h: object) -> torch.Tensor:
        output = f"(output of layer {layer!r})"
        if not isinstance(h, torch.Tensor) or not h.is_floating_point():
            raise invalid(f"{output}.dtype", getattr(h, "dtype", type(h)), "a floating-point tensor")
        if h.shape[:1] != x.shape[:1]:
            raise invalid(f"{output}.shape", tuple(h.shape), f"batch size {x.shape[0]} first")
        mixed.append(_mix_rows(h, lam.to(h.device), index.to(h.device)))
        return mixed[-1]

    if layer == "":
        handle = model.register_forward_pre_hook(lambda _m, args: (mix_activation(args[0]), *args[1:]))
    else:
        handle = layers[layer].register_forward_hook(lambda _m, _args, output: mix_activation(output))
    try:
        logits = model(x)
    finally:
        handle.remove()
    if len(mixed) != 1:
        raise invalid(f"runs of layer {layer!r} in one forward pass", len(mixed), "exactly 1")
    targets = _mix_rows(batch.targets, lam.to(batch.targets.device), index.to(batch.targets.device))
    return logits, MixedBatch(inputs=mixed[0], targets=targets, lam=lam, index=index, layer=layer)
