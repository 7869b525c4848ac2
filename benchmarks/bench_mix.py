"""Benchmark of vicinal's mixing against a plain copy, the paper's formula and timm's flip trick (arXiv 1710.09412).

Run: python benchmarks/bench_mix.py [--repeats N] [--threads T]
Prints the CPU it ran on (model name, avx2, avx512_bf16) and the load average, then, for each batch
shape, the median time of each method and its ratio to the copy and to the paper's formula. The goals
on the 256x3x224x224 float32 batch: mixup(inplace=True) at most 1.5x the copy; out of place at least
3.5x faster than the paper's formula. Timings from a machine shared with other work are noisy.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import vicinal  # noqa: E402
from vicinal.train.hardware import cpu_description  # noqa: E402

# (batch shape, classes): an ImageNet-sized batch and a CIFAR-sized one.
CASES = (((256, 3, 224, 224), 1000), ((128, 3, 32, 32), 10))
COPY, PAPER, INPLACE = "copy (x.clone(), the floor)", "paper: lam*x + (1-lam)*x[index]", "ours mixup(inplace=True)"
OUT_OF_PLACE = ("ours mix(x, y, lam, index)", "ours mixup()", "ours mixup(per_sample=True)")


def load_average() -> str:
    return "load average (1 min) {:.2f}".format(os.getloadavg()[0]) if hasattr(os, "getloadavg") else "load unknown"


def median_seconds(fns: dict[str, Callable[[], object]], *, repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each function, timed in interleaved rounds.

    Each round times every method once, so a burst of load from other processes hits all methods
    alike; each timing loops over enough calls to last about 20 ms (the small batch takes ~0.1 ms).
    """
    calls = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        start = time.perf_counter()
        fn()
        calls[name] = max(1, math.ceil(0.02 / max(time.perf_counter() - start, 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            times[name].append((time.perf_counter() - start) / calls[name])
    return {name: statistics.median(values) for name, values in times.items()}


def methods(x: torch.Tensor, y: torch.Tensor, num_classes: int) -> dict[str, Callable[[], object]]:
    """Each method mixes the whole batch once; the ones marked in-place overwrite x (values stay bounded).

    `mixup()` rows include drawing λ and the pairing and building the soft targets; `mix()` is given
    λ and the partners, like the paper's formula. The "whole step" rows do for the paper's recipe and
    timm's what `mixup()` does: draw λ and partners, one-hot the labels, mix inputs and targets; they
    are what `mixup()` is measured against at small batches, where the fixed cost of the draws and
    the targets is most of the time. timm's step follows timm's `Mixup` (batch mode) as documented:
    a NumPy draw against the mixing probability, then λ from NumPy's Beta, the flip trick on the
    inputs, and the targets as one-hots of the labels and of the flipped labels (each `full` +
    `scatter_`) combined as `y1 * lam + y2 * (1 - lam)`.
    """
    rng = np.random.default_rng(0)

    def paper_step() -> tuple[torch.Tensor, torch.Tensor]:
        lam_ = float(rng.beta(1.0, 1.0))
        idx = torch.randperm(x.shape[0], generator=g)
        onehot = F.one_hot(y, num_classes).float()
        return lam_ * x + (1 - lam_) * x[idx], lam_ * onehot + (1 - lam_) * onehot[idx]

    def timm_trick(lam_: float) -> torch.Tensor:
        # The flipped copy first: in `x.mul_(lam).add_(x.flip(0)...)` Python runs x.mul_ before the flip,
        # which mixes with an already-scaled partner and shrinks x a little more on every call.
        flipped = x.flip(0).mul_(1 - lam_)
        return x.mul_(lam_).add_(flipped)

    def timm_one_hot(labels: torch.Tensor) -> torch.Tensor:
        return torch.full((labels.shape[0], num_classes), 0.0).scatter_(1, labels.long().view(-1, 1), 1.0)

    def timm_step() -> tuple[torch.Tensor, torch.Tensor]:
        lam_ = float(rng.beta(1.0, 1.0)) if rng.random() < 1.0 else 1.0
        mixed = timm_trick(lam_)
        return mixed, timm_one_hot(y) * lam_ + timm_one_hot(y.flip(0)) * (1 - lam_)

    g = torch.Generator().manual_seed(0)
    lam = float(vicinal.sample_lambda(1.0, generator=g))
    index = torch.randperm(x.shape[0], generator=g)
    soft = vicinal.to_soft_targets(y, num_classes=num_classes)
    targets = y.float()  # regression targets for C-Mixup
    buffer = torch.empty_like(x)
    common = dict(alpha=1.0, num_classes=num_classes, generator=g)
    return {
        COPY: lambda: x.clone(),
        PAPER: lambda: lam * x + (1 - lam) * x[index],
        "timm trick (in place, flip)": lambda: timm_trick(lam),
        "paper, whole step": paper_step,
        "timm, whole step (in place, flip)": timm_step,
        "ours mix(x, y, lam, index)": lambda: vicinal.mix(x, soft, lam, index),
        "ours mixup()": lambda: vicinal.mixup(x, y, **common),
        "ours mixup(out=)": lambda: vicinal.mixup(x, y, out=buffer, **common),
        INPLACE: lambda: vicinal.mixup(x, y, inplace=True, **common),
        "ours mixup(inplace=True, flip)": lambda: vicinal.mixup(x, y, inplace=True, pairing="flip", **common),
        "ours mixup(per_sample=True)": lambda: vicinal.mixup(x, y, per_sample=True, **common),
        "ours mixup(inplace, per_sample)": lambda: vicinal.mixup(x, y, inplace=True, per_sample=True, **common),
        "ours cutmix()": lambda: vicinal.cutmix(x, y, **common),
        "ours cutmix(inplace=True)": lambda: vicinal.cutmix(x, y, inplace=True, **common),
        "ours resizemix()": lambda: vicinal.resizemix(x, y, num_classes=num_classes, generator=g),
        "ours resizemix(inplace=True)": lambda: vicinal.resizemix(x, y, num_classes=num_classes, generator=g,
                                                                  inplace=True),
        "ours fmix()": lambda: vicinal.fmix(x, y, **common),
        "ours fmix(inplace=True)": lambda: vicinal.fmix(x, y, inplace=True, **common),
        "ours regmixup() (2B rows)": lambda: vicinal.regmixup(x, y, alpha=20.0, num_classes=num_classes, generator=g),
        "ours c_mixup() (float labels)": lambda: vicinal.c_mixup(x, targets, alpha=1.0, generator=g),
        "ours to_soft_targets(soft) (check+copy)": lambda: vicinal.to_soft_targets(soft),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per method (median reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_description()}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} interleaved rounds "
          f"after 2 warm-up calls; {load_average()} at the start")
    for shape, num_classes in CASES:
        g = torch.Generator().manual_seed(1)
        x = torch.rand(shape, generator=g)
        y = torch.randint(num_classes, shape[:1], generator=g)
        timed = median_seconds(methods(x, y, num_classes), repeats=args.repeats)
        copy, paper = timed[COPY], timed[PAPER]
        print(f"\nfloat32 batch {'x'.join(map(str, shape))}, {num_classes} classes")
        print(f"{'method':40s} {'median ms':>10s} {'/ copy':>8s} {'paper /':>8s}")
        for name, seconds in timed.items():
            print(f"{name:40s} {seconds * 1e3:10.3f} {seconds / copy:8.2f} {paper / seconds:8.2f}")
        if shape == CASES[0][0]:
            speedup = min(paper / timed[name] for name in OUT_OF_PLACE)
            print(f"goals: mixup(inplace=True) <= 1.5x the copy: {timed[INPLACE] / copy:.2f}x; out of place >= 3.5x "
                  f"faster than the paper's formula: {speedup:.2f}x (the slowest of {', '.join(OUT_OF_PLACE)})")
    print(f"\n'/ copy' = time over the copy's; 'paper /' = speed-up over the paper's formula; {load_average()} "
          "at the end")
    print("re-run: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
