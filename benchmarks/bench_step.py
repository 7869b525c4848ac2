"""Benchmark: one mixup training step vs one ERM step, same model and batch (target: mixup ≤ 1.03× ERM).

Run:  .venv/bin/python benchmarks/bench_step.py [--model fastcnn] [--batch-size 256] [--reps 50]
Steps are interleaved (ERM, mixup, ERM, ...) after a warm-up so machine drift hits both alike; the
medians and their ratio are printed. Timing claims only from a quiet machine.
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
from vicinal.models import build_model  # noqa: E402
from vicinal.train import build_optimizer, config_from_preset  # noqa: E402
from vicinal.train.hardware import autocast_dtype, cpu_description, use_channels_last  # noqa: E402
from vicinal.train.step import build_mixer, vicinal_step  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fastcnn")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--alpha", type=float, default=0.4)
    parser.add_argument("--method", default="mixup", choices=["mixup", "cutmix", "manifold_mixup"])
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    config = config_from_preset("quick", model=args.model, alpha=args.alpha, method=args.method,
                                precision=args.precision)
    amp = autocast_dtype(config.precision, device=device, kind="image", model=args.model)
    channels_last = use_channels_last(amp, device=device, kind="image")
    torch.manual_seed(0)
    model = build_model(args.model, num_classes=10, in_channels=args.channels, image_size=args.image_size)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model.parameters(), config)
    data_gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch_size, args.channels, args.image_size, args.image_size, generator=data_gen)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(10, (args.batch_size,), generator=data_gen)
    mixer = build_mixer(config, num_classes=10, generator=make_generator(0, "mixing"))
    layers = model.mixup_layers if args.method == "manifold_mixup" else None

    def step(mixing: bool) -> float:
        start = time.perf_counter()
        mixer.enabled = mixing
        out = vicinal_step(model, x, y, mixer=mixer, autocast_dtype=amp, manifold_layers=layers)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        return time.perf_counter() - start

    for _ in range(args.warmup):
        step(False), step(True)
    times = {False: [], True: []}
    for _ in range(args.reps):
        for mixing in (False, True):
            times[mixing].append(step(mixing))
    erm, mix = statistics.median(times[False]), statistics.median(times[True])
    print(f"CPU: {cpu_description()}")
    print(f"model {args.model}, batch {args.batch_size}×{args.channels}×{args.image_size}×{args.image_size}, "
          f"autocast {amp}, channels_last {channels_last}, threads {torch.get_num_threads()}, {args.reps} reps")
    print(f"{'step':<16}{'median ms':>10}{'images/s':>10}")
    print(f"{'ERM':<16}{1e3 * erm:>10.2f}{args.batch_size / erm:>10.0f}")
    print(f"{args.method + ' α=' + format(args.alpha, 'g'):<16}{1e3 * mix:>10.2f}{args.batch_size / mix:>10.0f}")
    print(f"ratio {args.method}/ERM: {mix / erm:.3f} (target ≤ 1.03)")
    print("re-run: .venv/bin/python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
