"""Validators of vicinal.core: the checks of every public entry point, one message style."""

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
# Most classes anything in vicinal takes: one-hot targets of a batch are (B, C), so a stray count such as 10**9
# would ask for gigabytes. The data loaders use the same cap (vicinal.data.MAX_CLASSES is this constant).
MAX_CLASSES = 10_000


def invalid(name: str, value: object, expected: str) -> ValueError:
    """The error for a bad input: `name=value is invalid: expected ...`."""
    return ValueError(f"{name}={value!r} is invalid: expected {expected}")


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


def check_alpha(value: float, name: str = "alpha") -> float:
    """α of Beta(α, α): a finite real number ≥ 0."""
    if not is_real(value) or not math.isfinite(value) or value < 0:
        raise invalid(name, value, "a finite number >= 0")
    return float(value)


def check_fraction(name: str, value: float, *, closed: bool = True) -> float:
    """A probability in [0, 1] (closed) or a share in [0, 1) (not closed)."""
    if not is_real(value) or not math.isfinite(value) or value < 0 or value > 1 or (not closed and value == 1):
        raise invalid(name, value, f"a number in {'[0, 1]' if closed else '[0, 1)'}")
    return float(value)


def check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming both."""
    choices = tuple(choices)
    if value not in choices:
        raise invalid(name, value, f"one of {', '.join(map(repr, choices))}")
    return value


def check_positive_int(name: str, value: int) -> int:
    if not is_integer(value) or value < 1:
        raise invalid(name, value, "an integer >= 1")
    return int(value)


def check_num_classes(value: int, name: str = "num_classes") -> int:
    """A number of classes: an integer in [1, MAX_CLASSES]."""
    if not is_integer(value) or not 1 <= value <= MAX_CLASSES:
        raise invalid(name, value, f"an integer >= 1 and <= {MAX_CLASSES} (vicinal.data.MAX_CLASSES)")
    return int(value)


def check_flag(name: str, value: bool) -> bool:
    if not isinstance(value, bool):
        raise invalid(name, value, "True or False")
    return value


def check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise invalid(f"type({name})", type(value), "a torch.Tensor")
    return value


def check_integer_dtype(name: str, t: torch.Tensor) -> None:
    """Class indices: an integer dtype (not bool)."""
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise invalid(f"{name}.dtype", t.dtype, "an integer dtype (class indices)")


def check_batch(x: torch.Tensor, y: torch.Tensor) -> int:
    """Both are tensors with the same leading (batch) dimension; returns the batch size."""
    for name, t in (("x", x), ("y", y)):
        if check_tensor(name, t).ndim == 0:
            raise invalid(f"{name}.shape", tuple(t.shape), "a batch dimension first, (B, ...)")
    if x.shape[0] != y.shape[0]:
        raise invalid("y.shape", tuple(y.shape), f"the batch size of x.shape={tuple(x.shape)} first")
    return x.shape[0]


def check_floating(name: str, t: torch.Tensor) -> None:
    if not t.is_floating_point():
        raise invalid(f"{name}.dtype", t.dtype, "a floating-point dtype")


def check_destination(x: torch.Tensor, *, inplace: bool, out: torch.Tensor | None) -> None:
    """`out=` must match x and not share its memory; `inplace` and `out` exclude each other; autograd allows neither."""
    check_flag("inplace", inplace)
    records_grad = x.requires_grad and torch.is_grad_enabled()
    if inplace and records_grad:
        raise invalid("inplace", inplace, "False for an x that requires grad (autograd cannot mix it in place)")
    if out is None:
        return
    if inplace:
        raise invalid("inplace", inplace, "False with out= (mix in place or into out=, not both)")
    check_tensor("out", out)
    if records_grad:
        raise ValueError("out=<tensor> is invalid: expected None for an x that requires grad (autograd cannot write "
                         "into out=)")
    for attribute in ("shape", "dtype", "device"):
        got, expected = getattr(out, attribute), getattr(x, attribute)
        if got != expected:
            if attribute == "shape":
                got, expected = tuple(got), tuple(expected)
            raise invalid(f"out.{attribute}", got, f"x.{attribute}={expected}")
    if x.numel() and out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
        raise ValueError("out=x is invalid: expected a tensor that does not share memory with x (inplace=True mixes x "
                         "in place)")


def check_index(index: torch.Tensor, batch_size: int) -> None:
    if check_tensor("index", index).dtype != torch.long:
        raise invalid("index.dtype", index.dtype, "torch.int64 (a LongTensor)")
    if index.shape != (batch_size,):
        raise invalid("index.shape", tuple(index.shape), f"({batch_size},)")
    low, high = value_range(index)
    if low < 0 or high >= max(batch_size, 1):
        raise invalid("(index.min(), index.max())", (low, high), f"values in [0, {batch_size})")


def check_lambda(lam: float | torch.Tensor, *, batch_size: int, device: torch.device) -> torch.Tensor:
    """λ in [0, 1]: a number, a 0-d tensor or one per row (B,); returned as float32 on `device`."""
    if is_real(lam):
        if not 0 <= lam <= 1:  # False for NaN too
            raise invalid("lam", lam, "a number in [0, 1]")
        return torch.scalar_tensor(float(lam), dtype=torch.float32, device=device)
    if not isinstance(lam, torch.Tensor) or lam.dtype == torch.bool or lam.is_complex():
        raise invalid("type(lam)", type(lam) if not isinstance(lam, torch.Tensor) else lam.dtype,
                      "a real number or a real tensor")
    if lam.ndim == 1 and lam.shape[0] == 1 and batch_size != 1:
        lam = lam.reshape(())
    if lam.ndim != 0 and lam.shape != (batch_size,):
        raise invalid("lam.shape", tuple(lam.shape), f"() or ({batch_size},)")
    lam = lam.to(dtype=torch.float32, device=device)
    inside = (lam >= 0) & (lam <= 1)  # False for NaN too
    if not bool(inside.all()):
        if lam.ndim == 0:
            raise invalid("lam", lam.item(), "a number in [0, 1]")
        i = int((~inside).nonzero()[0])
        raise invalid(f"lam[{i}]", lam[i].item(), "values in [0, 1]")
    return lam


def check_labels(name: str, y: torch.Tensor, num_classes: int) -> None:
    """Integer class indices in [0, num_classes)."""
    low, high = value_range(y)
    if low < 0 or high >= num_classes:
        expected = f"labels in [0, {num_classes}) for num_classes={num_classes}"
        raise invalid(f"({name}.min(), {name}.max())", (low, high), expected)


def value_range(t: torch.Tensor) -> tuple[int, int]:
    """(min, max) of an integer tensor in one pass and one host sync; (0, 0) when empty."""
    if t.numel() == 0:
        return 0, 0
    low, high = torch.stack(torch.aminmax(t)).tolist()
    return int(low), int(high)


def resolve_device(device: torch.device | str | None, default: torch.device | None = None) -> torch.device:
    """The device to use: None gives `default`; "auto" the best one here (cuda, then mps, then cpu); any other
    name or torch.device that device, which must exist here (else a ValueError naming it)."""
    if device is None and default is not None:
        return default
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if torch.backends.mps.is_available() else torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise invalid("device", device, "a torch.device or a device name such as 'cpu'") from None
    if resolved.type == "cpu":
        return resolved
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} is unavailable: torch sees no CUDA device here (expected auto or cpu)")
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device={device!r} is unavailable: expected cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} is unavailable: MPS is not available here (expected auto or cpu)")
    return resolved
