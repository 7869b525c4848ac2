"""Training-step throughput (images/s) of every vicinal model: float32 vs bf16 autocast, channels_last off vs on.

Re-run: .venv/bin/python benchmarks/bench_models.py [--models fastcnn lenet] [--batch 32] [--min-time 2] [--threads 2]
Medians from torch.utils.benchmark (warm-up first); ratios against float32 + contiguous of the same model.
"""

from __future__ import annotations

import argparse
import sys
from itertools import product

import torch
import torch.nn.functional as F
from torch.utils.benchmark import Timer

from vicinal.eval import autocast_context, markdown_table
from vicinal.models import build_model, list_models

# The shape of one example each model is timed on.
INPUTS = {"fastcnn": (1, 28, 28), "lenet": (1, 28, 28), "mlp": (128,), "cnn1d": (1, 128)}
DEFAULT_INPUT = (3, 32, 32)  # CIFAR-sized for the paper's models


def make_step(name: str, *, batch: int, dtype: torch.dtype | None, channels_last: bool, num_classes: int = 10):
    """A closure running one SGD training step of ``name`` on a fixed random batch."""
    shape = INPUTS.get(name, DEFAULT_INPUT)
    gen = torch.Generator().manual_seed(0)
    model = build_model(name, num_classes=num_classes, input_shape=shape)
    x = torch.randn(batch, *shape, generator=gen)
    if channels_last and len(shape) == 3:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, num_classes, (batch,), generator=gen)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def step() -> None:
        with autocast_context("cpu", dtype):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def images_per_second(step, *, batch: int, warmup: int, min_time: float) -> float:
    """Median images/s of ``step`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    return batch / Timer(stmt="step()", globals={"step": step}).blocked_autorange(min_run_time=min_time).median


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list_models(), help="models to time (default: all)")
    parser.add_argument("--batch", type=int, default=32, help="images per training step (default: 32)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default: 2)")
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds of timed steps per setting (default: 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"# {' '.join([sys.executable, *sys.argv])}\n"
          f"# torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}\n")
    rows = []
    for name in args.models:
        is_image = INPUTS.get(name, DEFAULT_INPUT)[0] is not None
        baseline = None
        for dtype, channels_last in product((None, torch.bfloat16), (False, True) if is_image else (False,)):
            step = make_step(name, batch=args.batch, dtype=dtype, channels_last=channels_last)
            rate = images_per_second(step, batch=args.batch, warmup=args.warmup, min_time=args.min_time)
            baseline = baseline or rate
            precision = "bf16 autocast" if dtype else "float32"
            rows.append([name, precision, "on" if channels_last else "off", f"{rate:.0f}", f"{rate / baseline:.2f}×"])
            print(" | ".join(rows[-1]), flush=True)
    headers = ["model", "precision", "channels_last", "images/s (median)", "vs float32 contiguous"]
    print("\n" + markdown_table(headers, rows))


if __name__ == "__main__":
    main()
