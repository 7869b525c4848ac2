"""Benchmark: images/s of vicinal's in-memory TensorLoader vs a per-sample Dataset + DataLoader doing the same work.

Both pipelines do a random crop (zero padding, default 2 px), a horizontal flip and per-channel
normalization, batch 128, on Fashion-MNIST's training images. Each is warmed up, then timed over
`--images` images, `--repeats` times; the table gives medians and the ratio (target: >= 20x).

Re-run:  .venv/bin/python benchmarks/bench_loader.py [--crop 4] [--repeats 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, get_worker_info

from vicinal.data import Augment, TensorLoader, load_dataset
from vicinal.train.hardware import cpu_description


class PerSampleDataset(torch.utils.data.Dataset):
    """The usual pipeline: one image at a time, augmented and normalized in Python."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, *, crop: int, mean: float, std: float) -> None:
        self.x, self.y, self.crop, self.mean, self.std = x, y, crop, mean, std
        self.generator = torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.x[i]
        if self.crop:
            padded = F.pad(image, (self.crop,) * 4)
            top, left = torch.randint(2 * self.crop + 1, (2,), generator=self.generator).tolist()
            image = padded[:, top:top + image.shape[1], left:left + image.shape[2]]
        if torch.rand((), generator=self.generator) < 0.5:
            image = image.flip(-1)
        return (image.float() / 255 - self.mean) / self.std, self.y[i]


def _seed_worker(_: int) -> None:
    info = get_worker_info()
    info.dataset.generator = torch.Generator().manual_seed(info.seed % 2**63)


def time_pipeline(batches, images: int, repeats: int) -> list[float]:
    """images/s of each repeat: `images` images drawn from a fresh iterator after one warm-up batch."""
    rates = []
    for _ in range(repeats):
        iterator = iter(batches())
        next(iterator)  # warm-up: worker start, first allocations
        seen, start = 0, time.perf_counter()
        while seen < images:
            try:
                x, _ = next(iterator)
            except StopIteration:
                iterator = iter(batches())
                continue
            seen += len(x)
        rates.append(seen / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crop", type=int, default=2, help="crop padding in px (default 2)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per batch (default 128)")
    parser.add_argument("--images", type=int, default=20_000, help="images per timed repeat (default 20000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per pipeline (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the baseline (default 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of the main process (default: torch's)")
    parser.add_argument("--data-dir", default=None, help="folder with Fashion-MNIST (default: search order)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    data = load_dataset("fashion-mnist", data_dir=args.data_dir)
    mean, std = data.mean[0], data.std[0]
    loader = TensorLoader(data.x_train, data.y_train, batch_size=args.batch_size,
                          augment=Augment(crop_padding=args.crop, flip=True), mean=data.mean, std=data.std, seed=0)
    per_sample = PerSampleDataset(data.x_train, data.y_train, crop=args.crop, mean=mean, std=std)
    baseline = DataLoader(per_sample, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                          worker_init_fn=_seed_worker, persistent_workers=args.workers > 0,
                          generator=torch.Generator().manual_seed(0))

    ours = time_pipeline(lambda: loader, args.images, args.repeats)
    theirs = time_pipeline(lambda: baseline, args.images, args.repeats)
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"CPU: {cpu_description()}")
    print(f"Fashion-MNIST train, batch {args.batch_size}, crop {args.crop} px + flip + normalize, "
          f"{args.images} images x {args.repeats} repeats, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print("| pipeline | median images/s | min | max |\n| --- | --- | --- | --- |")
    print(f"| TensorLoader (batched, in memory) | {ours_median:,.0f} | {min(ours):,.0f} | {max(ours):,.0f} |")
    print(f"| Dataset + DataLoader(num_workers={args.workers}) | {theirs_median:,.0f} | {min(theirs):,.0f} "
          f"| {max(theirs):,.0f} |")
    print(f"ratio (TensorLoader / per-sample): {ours_median / theirs_median:.1f}x (target >= 20x)")
    print("re-run: .venv/bin/python benchmarks/bench_loader.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None))


if __name__ == "__main__":
    main()
