"""The model registry: every vicinal model built by name, with its input shape and dropout rate."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from torch import nn

from vicinal.models.densenet import DenseNetBC
from vicinal.models.fastcnn import FastCNN
from vicinal.models.layers import check_positive_int
from vicinal.models.lenet import LeNet
from vicinal.models.mlp import MLP
from vicinal.models.preact_resnet import PreActResNet
from vicinal.models.vgg import VGG
from vicinal.models.wide_resnet import WideResNet


def _image_model(cls: type[nn.Module], **defaults: Any) -> Callable[..., nn.Module]:
    """A builder for an image model: ignores in_features, passes everything else to ``cls``."""

    def build(*, num_classes: int, in_channels: int, image_size: int, in_features: int | None, dropout: float, **kwargs: Any) -> nn.Module:
        return cls(num_classes=num_classes, in_channels=in_channels, image_size=image_size, dropout=dropout, **{**defaults, **kwargs})

    build.options = tuple(p for p in inspect.signature(cls).parameters if p not in {"num_classes", "in_channels", "image_size", "dropout"})
    return build


def _build_mlp(*, num_classes: int, in_channels: int, image_size: int, in_features: int | None, dropout: float, **kwargs: Any) -> nn.Module:
    """The tabular MLP; without in_features it takes flattened images of in_channels × image_size × image_size."""
    if in_features is None:
        in_features = in_channels * image_size * image_size
    return MLP(num_classes=num_classes, in_features=in_features, dropout=dropout, **kwargs)


_build_mlp.options = ("hidden",)

MODELS: dict[str, Callable[..., nn.Module]] = {
    "preact_resnet18": _image_model(PreActResNet, blocks=(2, 2, 2, 2)),
    "wide_resnet28_10": _image_model(WideResNet, depth=28, widen_factor=10),
    "densenet_bc_190": _image_model(DenseNetBC, depth=190, growth_rate=40),
    "lenet": _image_model(LeNet),
    "vgg11": _image_model(VGG),
    "mlp": _build_mlp,
    "fastcnn": _image_model(FastCNN),
}

# Other depths and widths by name: wide_resnet<depth>_<widen factor>, densenet_bc_<depth>, fastcnn<width>.
_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(r"fastcnn(\d+)"), "fastcnn", ("width",)),
    (re.compile(r"wide_resnet(\d+)_(\d+)"), "wide_resnet28_10", ("depth", "widen_factor")),
    (re.compile(r"densenet_bc_(\d+)"), "densenet_bc_190", ("depth",)),
)


def list_models() -> list[str]:
    """The registered model names (``wide_resnet<D>_<K>`` and ``densenet_bc_<D>`` also accept other numbers, fastcnn<W> any width)."""
    return sorted(MODELS)


def is_model_name(name: object) -> bool:
    """Whether ``name`` builds a registered model (a listed name or one of the numbered patterns)."""
    return isinstance(name, str) and (name in MODELS or any(p.fullmatch(name) for p, _, _ in _PATTERNS))


def _resolve(name: str) -> tuple[Callable[..., nn.Module], dict[str, int]]:
    """The builder for ``name`` and the options its name implies."""
    if name in MODELS:
        return MODELS[name], {}
    for pattern, base, fields in _PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            return MODELS[base], dict(zip(fields, map(int, match.groups())))
    raise ValueError(f"unknown model {name!r}; expected one of {list_models()} (or wide_resnet<D>_<K>, densenet_bc_<D>, fastcnn<W>)")


def build_model(
    name: str,
    *,
    num_classes: int,
    in_channels: int = 3,
    image_size: int = 32,
    in_features: int | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> nn.Module:
    """Build the model registered as ``name``.

    ``in_channels`` and ``image_size`` (square side, px) describe image inputs; ``in_features`` the
    tabular ones (``mlp``). ``dropout`` is the rate before the classifier (and inside blocks where the
    architecture has a place for it). Extra keyword options go to the model (e.g. ``width`` for
    ``fastcnn``, ``depth``/``widen_factor`` for ``wide_resnet28_10``). Unknown names or options, and
    sizes the model cannot take, raise ``ValueError``.

    >>> build_model("fastcnn", num_classes=10, in_channels=1, image_size=28).mixup_layers
    ('stem', 'group1', 'group2', 'group3')
    """
    if not isinstance(name, str):
        raise ValueError(f"model name must be a string, got {name!r}")
    builder, implied = _resolve(name)
    unknown = sorted(set(kwargs) - set(builder.options))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for model {name!r}; expected some of {list(builder.options)}")
    check_positive_int("in_channels", in_channels)
    check_positive_int("image_size", image_size)
    if in_features is not None:
        check_positive_int("in_features", in_features)
    return builder(
        num_classes=num_classes, in_channels=in_channels, image_size=image_size, in_features=in_features, dropout=dropout, **{**implied, **kwargs}
    )
