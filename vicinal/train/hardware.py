"""Device detection, the precision rule, CPU threads, determinism, and seeded generators derived from one run seed."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

from vicinal.data.loader import derive_seed


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: cuda if available, then mps, then cpu; otherwise the named device."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={name!r} is unavailable: torch sees no CUDA device here (expected auto or cpu)")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise ValueError(f"device={name!r} is unavailable: expected cuda:0 to cuda:{torch.cuda.device_count() - 1}")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"device={name!r} is unavailable: MPS is not available here (expected auto or cpu)")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _cpu_has_fast_bf16() -> bool:
    return bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
                or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())


FP32_MODELS = frozenset({"mlp"})  # models whose few small matrices gain nothing from bf16


def autocast_dtype(precision: str, *, device: torch.device, kind: str, model: str = "") -> torch.dtype | None:
    """The autocast dtype for a run, or None for float32.

    The rule for ``auto``, per model: bf16 autocast for the convolutional models on images, on CUDA with bf16
    support and on CPUs with native bf16 (AVX512-BF16 or AMX), where bf16 kernels are the faster ones; float32
    for the MLP (``FP32_MODELS``), for tabular data and on MPS.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if kind != "image" or model in FP32_MODELS:
        return None
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if device.type == "cpu" and _cpu_has_fast_bf16():
        return torch.bfloat16
    return None


def use_channels_last(dtype: torch.dtype | None, *, device: torch.device, kind: str) -> bool:
    """channels_last memory format goes with bf16 autocast for image models (oneDNN/cuDNN prefer it)."""
    return kind == "image" and dtype is torch.bfloat16 and device.type in ("cpu", "cuda")


def make_generator(seed: int, stream: str, *, device: torch.device | str = "cpu", rank: int = 0) -> torch.Generator:
    """A torch.Generator on ``device`` seeded for ``stream`` (e.g. "mixing", "noise", "subset") and ``rank``."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, stream, rank))
    return g


@contextlib.contextmanager
def threads(count: int):
    """Run with ``count`` CPU threads (0: torch's setting), restored afterwards."""
    previous = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def determinism(enabled: bool, seed: int):
    """When ``enabled``: deterministic kernels and every global RNG seeded with ``seed``; restored afterwards."""
    if not enabled:
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)
