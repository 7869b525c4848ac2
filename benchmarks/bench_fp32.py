"""Benchmark: the trainer's float32 training step before and after channels_last (and, opt-in, torch.compile).

Run:  .venv/bin/python benchmarks/bench_fp32.py [--model fastcnn] [--batch-size 256] [--threads 2] [--compile]
AVX2 on an AVX-512 machine:  ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python benchmarks/bench_fp32.py
One mixup step of the trainer (vicinal_step, SGD from the quick preset) on a fixed batch of 1×28×28 images. "before"
is float32 in the contiguous format, the trainer's float32 path until channels_last was used for it; "after" is
float32 in channels_last, its path now. The variants are timed in interleaved rounds after a warm-up, so machine
drift hits all alike; medians and ratios to "before" are printed with the CPU's name and flags. Timing claims only
from a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vicinal.core.generators import make_generator  # noqa: E402
from vicinal.eval import markdown_table  # noqa: E402
from vicinal.models import build_model  # noqa: E402
from vicinal.train import build_optimizer, config_from_preset  # noqa: E402
from vicinal.train.hardware import _cpu_has_fast_bf16, cpu_description  # noqa: E402
from vicinal.train.step import build_mixer, vicinal_step  # noqa: E402

SHAPE = (1, 28, 28)  # Fashion-MNIST


def make_step(model_name: str, *, batch: int, channels_last: bool, dtype: torch.dtype | None, compile: bool):
    """A closure running one trainer step (mixup, SGD) of ``model_name`` on a fixed random batch."""
    config = config_from_preset("quick", model=model_name)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = build_model(model_name, num_classes=10, input_shape=SHAPE)
    x = torch.randn(batch, *SHAPE, generator=gen)
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(10, (batch,), generator=gen)
    optimizer = build_optimizer(model.parameters(), config)
    mixer = build_mixer(config, num_classes=10, generator=make_generator(0, "mixing"))
    net = torch.compile(model) if compile else model

    def step() -> None:
        out = vicinal_step(net, x, y, mixer=mixer, autocast_dtype=dtype)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()

    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fastcnn")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--reps", type=int, default=20, help="timed rounds (default: 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps of each variant first (default: 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (needs a C++ compiler)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = {"before: float32, contiguous": dict(channels_last=False, dtype=None, compile=False),
                "after: float32, channels_last": dict(channels_last=True, dtype=None, compile=False)}
    if args.compile:
        variants["after + torch.compile"] = dict(channels_last=True, dtype=None, compile=True)
    if _cpu_has_fast_bf16():
        variants["for reference: bf16 autocast, channels_last"] = dict(channels_last=True, dtype=torch.bfloat16,
                                                                       compile=False)
    print(f"# {' '.join([sys.executable, *sys.argv])}")
    shape = "×".join(map(str, (args.batch_size, *SHAPE)))
    print(f"# {cpu_description()}; torch {torch.__version__}; {args.model}, batch {shape}")
    steps, warmup_seconds = {}, {}
    for name, options in variants.items():
        steps[name] = make_step(args.model, batch=args.batch_size, **options)
        start = time.perf_counter()
        for _ in range(args.warmup):
            steps[name]()
        warmup_seconds[name] = time.perf_counter() - start
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.reps):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times[next(iter(variants))])
    rows = []
    for name in variants:
        median = statistics.median(times[name])
        rows.append([name, f"{1e3 * median:.1f}", f"{args.batch_size / median:.0f}", f"{median / base:.3f}",
                     f"{warmup_seconds[name]:.1f}"])
    print(markdown_table(["float32 step", "median ms", "images/s", "time vs before", "warm-up s"], rows))


if __name__ == "__main__":
    main()
