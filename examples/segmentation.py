"""A tiny segmentation net trained on generated shapes, mixing images and masks (arXiv 1710.09412, 1905.04899).

Images hold coloured striped squares and plain discs on a noisy background; the mask gives each
pixel's class (background, square, disc), and a one-pixel band on every shape's edge is marked 255 and ignored, as
the borders in Pascal VOC are. Each training batch goes through `vicinal.cutmix_segmentation` (the
same box pasted into image and mask) or `vicinal.mixup_segmentation` (pixels and per-pixel targets
mixed with one λ); `vicinal.segmentation_cross_entropy` skips the ignored pixels.

    python examples/segmentation.py                  # CutMix; 10-15 s on a busy 2-core CPU
    python examples/segmentation.py --method mixup --alpha 0.4
    python examples/segmentation.py --method none    # ERM, to compare
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import torch
from torch import nn

import vicinal

CLASSES = ("background", "square", "disc")
IGNORE = 255


def make_shapes(count: int, size: int, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` images (count, 3, size, size) in [0, 1] with three shapes each, and their masks (count, size, size)."""
    g = generator
    images = torch.rand(count, 3, 1, 1, generator=g) * 0.6 + 0.1 * torch.rand(count, 3, size, size, generator=g)
    masks = torch.zeros(count, size, size, dtype=torch.long)
    rows = torch.arange(size, dtype=torch.float32).view(1, size, 1)
    cols = torch.arange(size, dtype=torch.float32).view(1, 1, size)
    stripes = 0.4 + 0.6 * (rows % 2)  # squares are striped, discs plain
    for _ in range(3):  # later shapes cover earlier ones
        shape = torch.randint(1, len(CLASSES), (count, 1, 1), generator=g)
        cy, cx = (torch.rand(2, count, 1, 1, generator=g) * size).unbind(0)
        radius = size / 10 + torch.rand(count, 1, 1, generator=g) * size / 6
        dy, dx = (rows - cy).abs(), (cols - cx).abs()
        distance = torch.where(shape == 1, torch.maximum(dy, dx), torch.sqrt(dy**2 + dx**2))
        inside, edge = distance <= radius, (distance - radius).abs() <= 0.5
        colour = torch.rand(count, 3, 1, 1, generator=g) * torch.where(shape[:, None] == 1, stripes, 1.0)
        images = torch.where(inside[:, None], colour, images)
        masks = torch.where(inside, shape, masks).masked_fill(edge, IGNORE)
    return images, masks


def tiny_fcn(width: int = 16) -> nn.Module:
    """Dilated 3×3 convolutions (receptive field 31 px) keeping the resolution, then a 1×1 classifier."""
    layers, channels = [], 3
    for dilation in (1, 2, 4, 8):
        layers += [nn.Conv2d(channels, width, 3, padding=dilation, dilation=dilation), nn.BatchNorm2d(width), nn.ReLU()]
        channels = width
    return nn.Sequential(*layers, nn.Conv2d(width, len(CLASSES), 1))


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, masks: torch.Tensor) -> dict[str, float]:
    """Pixel accuracy and mean intersection over union on the labelled pixels."""
    model.eval()
    predicted = model(images).argmax(1)
    model.train()
    labelled = masks != IGNORE
    accuracy = (predicted == masks)[labelled].float().mean().item()
    ious = []
    for c in range(len(CLASSES)):
        truth, guess = (masks == c) & labelled, (predicted == c) & labelled
        union = (truth | guess).sum().item()
        if union:
            ious.append((truth & guess).sum().item() / union)
    return {"pixel_accuracy": accuracy, "miou": sum(ious) / len(ious)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=("cutmix", "mixup", "none"), default="cutmix", help="how batches are mixed")
    parser.add_argument("--alpha", type=float, default=1.0, help="λ ~ Beta(α, α)")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step")
    parser.add_argument("--size", type=int, default=24, help="image side in pixels")
    parser.add_argument("--train-size", type=int, default=2048, help="generated training images")
    parser.add_argument("--test-size", type=int, default=256, help="generated test images")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data, the model and the mixing")
    parser.add_argument("--quiet", action="store_true", help="print only the result")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float | str]:
    args = parse_args(argv)
    data = torch.Generator().manual_seed(args.seed)
    train_x, train_y = make_shapes(args.train_size, args.size, generator=data)
    test_x, test_y = make_shapes(args.test_size, args.size, generator=data)
    with torch.random.fork_rng(devices=[]):  # seeded initial weights, the caller's global RNG left alone
        torch.manual_seed(args.seed)
        model = tiny_fcn()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    mixing = torch.Generator().manual_seed(args.seed + 1)
    mix = {"cutmix": vicinal.cutmix_segmentation, "mixup": vicinal.mixup_segmentation}.get(args.method)
    losses, start = [], time.perf_counter()
    for step in range(args.steps):
        batch = torch.randint(args.train_size, (args.batch_size,), generator=data)
        x, y = train_x[batch], train_y[batch]
        if mix is None:
            targets = vicinal.segmentation_targets(y, num_classes=len(CLASSES), ignore_index=IGNORE)
        else:
            mixed = mix(x, y, alpha=args.alpha, num_classes=len(CLASSES), ignore_index=IGNORE, generator=mixing)
            x, targets = mixed.inputs, mixed.targets
        loss = vicinal.segmentation_cross_entropy(model(x), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if not args.quiet and (step + 1) % max(args.steps // 8, 1) == 0:
            print(f"step {step + 1:4d}  train loss {sum(losses[-20:]) / len(losses[-20:]):.3f}")
    seconds = time.perf_counter() - start
    result = {"method": args.method, "seconds": seconds, "first_loss": losses[0], "last_loss": losses[-1],
              **evaluate(model, test_x, test_y)}
    print(f"{args.method}: test pixel accuracy {result['pixel_accuracy']:.1%}, mIoU {result['miou']:.1%} "
          f"after {args.steps} steps ({seconds:.1f} s)")
    return result


if __name__ == "__main__":
    main()
