"""Validators and the generator helper shared by every mixing function (one place, one message style)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Literal, get_args

import torch

Pairing = Literal["permutation", "flip", "roll", "same_class", "knn", "same_class_knn"]
MixMode = Literal["both", "inputs", "labels"]
PAIRINGS: tuple[str, ...] = get_args(Pairing)
MIX_MODES: tuple[str, ...] = get_args(MixMode)


def is_real(value: object) -> bool:
    """A real number (Python, NumPy scalar), not a bool."""
    if type(value) is float or type(value) is int:  # the common case, without the slower ABC check
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_integer(value: object) -> bool:
    """An integer (Python, NumPy scalar), not a bool."""
    if type(value) is int:  # the common case, without the slower ABC check
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_alpha(alpha: float, name: str = "alpha") -> float:
    """α of Beta(α, α): a finite real number ≥ 0."""
    if not is_real(alpha) or not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {alpha!r}")
    return float(alpha)


def check_fraction(name: str, value: float, *, closed: bool = True) -> float:
    """A probability in [0, 1] (closed) or a share in [0, 1) (not closed)."""
    bound = "[0, 1]" if closed else "[0, 1)"
    if not is_real(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number in {bound}, got {value!r}")
    if value < 0 or value > 1 or (not closed and value == 1):
        raise ValueError(f"{name} must be a number in {bound}, got {value!r}")
    return float(value)


def check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming both."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}={value!r} is invalid: expected one of {', '.join(map(repr, choices))}")
    return value


def check_positive_int(name: str, value: int) -> int:
    if not is_integer(value) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_batch(x: torch.Tensor, y: torch.Tensor) -> int:
    """Both are tensors with the same leading (batch) dimension; returns the batch size."""
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim == 0:
            raise ValueError(f"{name} must have a batch dimension, got a 0-d tensor")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same batch size, got x {tuple(x.shape)} and y {tuple(y.shape)}"
        )
    return x.shape[0]


def check_floating(name: str, t: torch.Tensor) -> None:
    if not t.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor to be mixed, got dtype {t.dtype}")


def check_destination(x: torch.Tensor, *, inplace: bool, out: torch.Tensor | None) -> None:
    """`out=` must match x and not share its memory; `inplace` and `out` exclude each other."""
    if out is None:
        return
    if inplace:
        raise ValueError("give either inplace=True or out=, not both")
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"out must be a torch.Tensor, got {type(out).__name__}")
    if out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
        raise ValueError(
            f"out must match x: expected shape {tuple(x.shape)}, {x.dtype} on {x.device}, "
            f"got shape {tuple(out.shape)}, {out.dtype} on {out.device}"
        )
    if out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
        raise ValueError("out shares memory with x; use inplace=True to mix x in place")


def check_index(index: torch.Tensor, batch_size: int) -> None:
    if not isinstance(index, torch.Tensor) or index.dtype != torch.long or index.shape != (batch_size,):
        got = f"{tuple(index.shape)} {index.dtype}" if isinstance(index, torch.Tensor) else repr(index)
        raise ValueError(f"index must be a LongTensor of shape ({batch_size},), got {got}")
    low, high = value_range(index)
    if low < 0 or high >= max(batch_size, 1):
        raise ValueError(f"index values must lie in [0, {batch_size}), got range [{low}, {high}]")


def value_range(t: torch.Tensor) -> tuple[int, int]:
    """(min, max) of an integer tensor in one pass and one host sync; (0, 0) when empty."""
    if t.numel() == 0:
        return 0, 0
    low, high = torch.stack(torch.aminmax(t)).tolist()
    return int(low), int(high)


def resolve_generator(generator: torch.Generator | None) -> torch.Generator:
    """The caller's generator, or a fresh one seeded from the OS (never the global RNG state)."""
    if generator is None:
        fresh = torch.Generator()
        fresh.seed()
        return fresh
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator
