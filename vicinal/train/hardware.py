"""Device detection, the precision rule, and seeded generators derived from one run seed."""

from __future__ import annotations

import zlib

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: cuda if available, then mps, then cpu; otherwise the named device."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={name!r} is unavailable: torch sees no CUDA device here (expected auto or cpu)")
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
    support and on CPUs with native bf16 (AVX512-BF16 or AMX), where PreAct ResNet-18 measured about 2× faster
    here; float32 for the MLP (``FP32_MODELS``), for tabular data and on MPS.
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


def derive_seed(seed: int, stream: str, rank: int = 0) -> int:
    """A stable 63-bit seed for one named random stream of a run (and a rank, where streams must differ)."""
    return (seed * 0x9E3779B1 + zlib.crc32(f"{stream}:{rank}".encode())) % (2**63 - 1)


def make_generator(seed: int, stream: str, *, device: torch.device | str = "cpu", rank: int = 0) -> torch.Generator:
    """A torch.Generator on ``device`` seeded for ``stream`` (e.g. "mixing", "noise", "subset")."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, stream, rank))
    return g
