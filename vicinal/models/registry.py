"""The model registry: every vicinal model built by name for the shape of the data, checked to fit before building."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from vicinal.core._checks import check_positive_int
from vicinal.data.memory import format_bytes, memory_limit, over_limit
from vicinal.models.cnn1d import CNN1d
from vicinal.models.densenet import DenseNetBC
from vicinal.models.fastcnn import FastCNN
from vicinal.models.lenet import LeNet
from vicinal.models.mlp import MLP
from vicinal.models.preact_resnet import PreActResNet
from vicinal.models.vgg import VGG
from vicinal.models.wide_resnet import WideResNet

Inputs = Literal["image", "sequence", "any"]
_SHAPE_ARGS = {"num_classes", "in_channels", "image_size", "length", "in_features", "dropout"}
BYTES_PER_PARAMETER = 16  # float32 weight, its gradient and two optimizer moments (Adam; SGD momentum uses one)
_EXPECTED = {"image": "images (C, H, W)", "sequence": "sequences (C, T)", "any": "any shape"}


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its class, the inputs one example must be, and its default options."""

    cls: type[nn.Module]
    inputs: Inputs  # "image": (C, H, W); "sequence": (C, T); "any": flattened to (C·H·W,) or (F,)
    defaults: dict[str, Any] = field(default_factory=dict)
    square: bool = False  # needs H = W (its classifier is sized for square feature maps)

    @property
    def options(self) -> tuple[str, ...]:
        """The keyword options the model takes besides the shape, classes and dropout."""
        return tuple(p for p in inspect.signature(self.cls).parameters if p not in _SHAPE_ARGS)

    def shape_args(self, input_shape: tuple[int, ...]) -> dict[str, int]:
        """The class's shape arguments for examples of `input_shape` (which `check_fits` has checked)."""
        if self.inputs == "image":
            return dict(in_channels=input_shape[0], image_size=min(input_shape[1:]))
        if self.inputs == "sequence":
            return dict(in_channels=input_shape[0], length=input_shape[1])
        return dict(in_features=math.prod(input_shape))


MODELS: dict[str, ModelSpec] = {
    "preact_resnet18": ModelSpec(PreActResNet, "image", dict(blocks=(2, 2, 2, 2))),
    "wide_resnet28_10": ModelSpec(WideResNet, "image", dict(depth=28, widen_factor=10)),
    "densenet_bc_190": ModelSpec(DenseNetBC, "image", dict(depth=190, growth_rate=40)),
    "lenet": ModelSpec(LeNet, "image", square=True),
    "vgg11": ModelSpec(VGG, "image"),
    "mlp": ModelSpec(MLP, "any"),
    "fastcnn": ModelSpec(FastCNN, "image"),
    "cnn1d": ModelSpec(CNN1d, "sequence"),
}

# Other depths and widths by name: wide_resnet<depth>_<widen factor>, densenet_bc_<depth>, fastcnn<width>, cnn1d<width>,
# mlp<hidden units of each of its two layers>.
_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(r"mlp(\d+)"), "mlp", ("hidden",)),
    (re.compile(r"fastcnn(\d+)"), "fastcnn", ("width",)),
    (re.compile(r"cnn1d(\d+)"), "cnn1d", ("width",)),
    (re.compile(r"wide_resnet(\d+)_(\d+)"), "wide_resnet28_10", ("depth", "widen_factor")),
    (re.compile(r"densenet_bc_(\d+)"), "densenet_bc_190", ("depth",)),
)
_DEFAULTS = {1: "mlp", 2: "cnn1d", 3: "fastcnn"}  # rank of one example → the model that fits it


def list_models() -> list[str]:
    """The registered model names (``wide_resnet<D>_<K>`` and ``densenet_bc_<D>`` also accept other numbers,
    ``fastcnn<W>``, ``cnn1d<W>`` and ``mlp<W>`` any width)."""
    return sorted(MODELS)


def is_model_name(name: object) -> bool:
    """Whether ``name`` builds a registered model (a listed name or one of the numbered patterns)."""
    return isinstance(name, str) and (name in MODELS or any(p.fullmatch(name) for p, _, _ in _PATTERNS))


def default_model(input_shape: Sequence[int]) -> str:
    """The model for examples of `input_shape`: vectors (F,) → "mlp", sequences (C, T) → "cnn1d",
    images (C, H, W) → "fastcnn" (any size: it skips the poolings small images cannot take)."""
    shape = _check_shape(input_shape)
    return _DEFAULTS[len(shape)]


def _resolve(name: str) -> tuple[ModelSpec, dict[str, int]]:
    """The spec for ``name`` and the options its name implies."""
    if not isinstance(name, str):
        raise ValueError(f"model name must be a string, got {name!r}")
    if name in MODELS:
        return MODELS[name], {}
    for pattern, base, fields in _PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            return MODELS[base], dict(zip(fields, map(int, match.groups())))
    raise ValueError(f"unknown model {name!r}; expected one of {list_models()} "
                     f"(or wide_resnet<D>_<K>, densenet_bc_<D>, fastcnn<W>, cnn1d<W>, mlp<W>)")


def _check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list, torch.Size)) else None
    if shape is None or not 1 <= len(shape) <= 3 or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise ValueError(f"input_shape={input_shape!r} is invalid: expected the shape of one example, "
                         f"(F,), (C, T) or (C, H, W) of integers >= 1")
    return shape


def _check_inputs(name: str, spec: ModelSpec, shape: tuple[int, ...]) -> None:
    """Refuse examples of `shape` the model cannot take, naming the model and the shape."""
    rank = {"image": 3, "sequence": 2}.get(spec.inputs)
    problem = None
    if rank is not None and len(shape) != rank:
        problem = f"expected {_EXPECTED[spec.inputs]}"
    elif rank is not None and min(shape[1:]) < spec.cls.min_size:
        unit = "pixels" if spec.inputs == "image" else "steps"
        problem = f"expected at least {spec.cls.min_size} {unit} on each side"
    elif spec.square and shape[1] != shape[2]:
        problem = "expected square images (H = W)"
    if problem:
        raise ValueError(f"model={name!r} does not fit examples of shape {shape}: {problem}")


def check_fits(name: str, input_shape: Sequence[int], *, num_classes: int, dropout: float = 0.0,
               max_bytes: int | None = None, **options: Any) -> int:
    """Check that model ``name`` takes examples of ``input_shape`` and fits in memory; returns its number of parameters.

    ``input_shape`` is one example's shape: (F,), (C, T) or (C, H, W). Image models take (C, H, W) of
    at least their minimum side (``lenet`` square ones only), ``cnn1d`` takes (C, T), ``mlp`` anything
    (flattened). The model is then built on the meta device (no memory), and refused when training it
    (``BYTES_PER_PARAMETER`` a parameter) would need more than ``memory_limit(max_bytes)``. Nothing is
    allocated. Raises ValueError naming the model and the shape, the option or the size.
    """
    spec, implied = _resolve(name)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for model {name!r}; expected some of {list(spec.options)}")
    shape = _check_shape(input_shape)
    _check_inputs(name, spec, shape)
    with torch.device("meta"):
        model = _construct(spec, shape, num_classes=num_classes, dropout=dropout, options={**implied, **options})
    count = sum(p.numel() for p in model.parameters())
    fault = over_limit(count * BYTES_PER_PARAMETER, memory_limit(max_bytes))
    if fault:
        raise ValueError(f"model={name!r} is invalid: its {count:,} parameters ({format_bytes(4 * count)} of weights) "
                         f"to train {fault}")
    return count


def _construct(spec: ModelSpec, shape: tuple[int, ...], *, num_classes: int, dropout: float,
               options: dict[str, Any]) -> nn.Module:
    return spec.cls(num_classes=num_classes, dropout=dropout, **spec.shape_args(shape), **{**spec.defaults, **options})


def build_model(
    name: str,
    *,
    num_classes: int,
    input_shape: Sequence[int] | None = None,
    in_channels: int | None = None,
    image_size: int | None = None,
    in_features: int | None = None,
    dropout: float = 0.0,
    max_bytes: int | None = None,
    **options: Any,
) -> nn.Module:
    """Build the model registered as ``name`` for examples of ``input_shape``, after ``check_fits``.

    ``input_shape`` is one example's shape: (F,) vectors, (C, T) sequences, (C, H, W) images. Instead
    of it, ``in_channels`` (default 3) and ``image_size`` (default 32, a square side) describe images
    and ``in_features`` vectors. ``dropout`` is the rate before the classifier (and inside blocks where
    the architecture has a place for it). Extra keyword options go to the model (e.g. ``width`` for
    ``fastcnn``, ``depth``/``widen_factor`` for ``wide_resnet28_10``). Unknown names or options,
    shapes the model cannot take and models too large for memory raise ``ValueError`` before anything
    is allocated.

    >>> build_model("fastcnn", num_classes=10, input_shape=(1, 28, 28)).mixup_layers
    ('stem', 'group1', 'group2', 'group3')
    """
    legacy = dict(in_channels=in_channels, image_size=image_size, in_features=in_features)
    given = {k: v for k, v in legacy.items() if v is not None}
    if input_shape is not None and given:
        raise ValueError(f"input_shape={input_shape!r} is invalid with {sorted(given)}: give one or the other")
    for key, value in given.items():
        check_positive_int(key, value)
    if input_shape is None:
        side = image_size or 32
        input_shape = (in_features,) if in_features is not None else (in_channels or 3, side, side)
    check_fits(name, input_shape, num_classes=num_classes, dropout=dropout, max_bytes=max_bytes, **options)
    spec, implied = _resolve(name)
    return _construct(spec, tuple(input_shape), num_classes=num_classes, dropout=dropout,
                      options={**implied, **options})
