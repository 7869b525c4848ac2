"""The machine a run trains on: its CPU described, the precision rule, memory format, compile, threads, determinism."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # the flags that decide the CPU's kernels and precision
EMULATION_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")  # caps on the instruction sets torch uses


def cpu_description() -> str:
    """This CPU as timing figures should name it: lscpu's model name, which of ``CPU_FEATURES`` it has, the kernels
    torch runs (e.g. "emulated AVX2 on AMD EPYC" when ``EMULATION_VARIABLES`` cap them) and its thread count."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == "unknown CPU":
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:  # not Linux: the platform's name, flags unknown
        import platform

        name = platform.processor() or name
    capability = torch.backends.cpu.get_cpu_capability()
    caps = {v: os.environ[v] for v in EMULATION_VARIABLES if os.environ.get(v)}
    kernels = f"emulated {capability} on {name}" if caps else f"{capability} kernels"
    have = ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in CPU_FEATURES) if flags else "flags unknown"
    return f"{name} ({have}; {kernels}; {torch.get_num_threads()} threads)"


def _cpu_has_fast_bf16() -> bool:
    """Native bf16 (AVX512-BF16 or AMX) that torch and oneDNN may use: not capped by ``EMULATION_VARIABLES`` to an
    instruction set without it (e.g. ``ONEDNN_MAX_CPU_ISA=AVX2``, which makes this machine behave as an AVX2 one)."""
    aten, onednn = (os.environ.get(v, "").upper() for v in EMULATION_VARIABLES)
    capped = (aten and aten != "AVX512") or (onednn and onednn != "ALL" and not ("BF16" in onednn or "AMX" in onednn))
    return not capped and bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
                               or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())


DENSE_MODELS = frozenset({"mlp"})  # no convolutions: their few small matrices gain nothing from bf16 or channels_last


def autocast_dtype(precision: str, *, device: torch.device, kind: str, model: str = "") -> torch.dtype | None:
    """The autocast dtype for a run, or None for float32.

    The rule for ``auto``, per model: bf16 autocast for the convolutional models on images, on CUDA with bf16
    support and on CPUs with native bf16 (AVX512-BF16 or AMX), where bf16 kernels are the faster ones; float32
    for the MLP (``DENSE_MODELS``), for tabular data and on MPS.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if kind != "image" or model in DENSE_MODELS:
        return None
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if device.type == "cpu" and _cpu_has_fast_bf16():
        return torch.bfloat16
    return None


def use_channels_last(dtype: torch.dtype | None, *, device: torch.device, kind: str, model: str = "") -> bool:
    """channels_last memory format for convolutional models on images: on the CPU in float32 as in bf16 (oneDNN's
    convolutions prefer it: fastcnn's float32 step about a quarter faster, see benchmarks/bench_fp32.py), on CUDA
    with bf16 autocast (cuDNN's tensor-core kernels)."""
    if kind != "image" or model in DENSE_MODELS:
        return False
    return device.type == "cpu" or (device.type == "cuda" and dtype is torch.bfloat16)


def compiler_missing(device: torch.device) -> str | None:
    """Why ``torch.compile`` cannot build kernels for ``device`` here (its CPU backend needs a C++ compiler); None
    when it can."""
    if device.type != "cpu":
        return None
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        get_cpp_compiler()
    except Exception as e:  # InvalidCxxCompiler, or an inductor without this helper
        return f"no working C++ compiler for torch.compile ({type(e).__name__}: {' '.join(str(e).split())[:160]})"
    return None


def maybe_compile(module: torch.nn.Module, *, enabled: bool,
                  device: torch.device) -> tuple[torch.nn.Module, str | None]:
    """(``torch.compile(module)`` when ``enabled`` and it can compile here, else ``module``; why it was not, or None).

    Compiling fastcnn's training step measured no faster than eager channels_last on the CPUs here and costs
    20–70 s the first time (benchmarks/bench_fp32.py --compile), so it is opt-in.
    """
    if not enabled:
        return module, None
    missing = compiler_missing(device)
    return (module, missing) if missing else (torch.compile(module), None)


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
