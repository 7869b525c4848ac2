"""DenseNet-BC (arXiv 1608.06993): DenseNet-BC-190 with growth rate 40 in mixup (arXiv 1710.09412)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vicinal.core._checks import check_positive_int
from vicinal.models.layers import blocks_per_group, check_image_model, classifier, preact_final


class Bottleneck(nn.Module):
    """BN → ReLU → conv1×1 (4·growth) → BN → ReLU → conv3×3 (growth) → dropout; output concatenated to the input."""

    def __init__(self, c_in: int, growth: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(), nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.body(x)], dim=1)  # (B, c_in + growth, H, W)


def transition(c_in: int, c_out: int) -> nn.Sequential:
    """BN → ReLU → conv1×1 (compression) → avg-pool 2: halves the size."""
    return nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False), nn.AvgPool2d(2))


class DenseNetBC(nn.Module):
    """stem conv (2·growth) → three dense blocks of (depth−4)/6 bottlenecks, with compressing transitions
    → BN-ReLU → avg-pool → linear.

    DenseNet-BC-190 (growth 40) on 3×32×32: 80×32×32 → block1 → 700×16×16 → block2 → 970×8×8 → block3 → 2210 → classes.
    """

    mixup_layers: tuple[str, ...] = ("stem", "block1", "block2", "block3")
    min_size = 4  # pixels

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 32,
        depth: int = 190,
        growth_rate: int = 40,
        compression: float = 0.5,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        dropout = check_image_model(
            model="densenet_bc", num_classes=num_classes, in_channels=in_channels, image_size=image_size,
            minimum_size=self.min_size, dropout=dropout
        )
        check_positive_int("growth_rate", growth_rate)
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"compression must be in (0, 1], got {compression!r}")
        n = blocks_per_group(depth, model="densenet_bc")
        c = 2 * growth_rate
        self.stem = nn.Conv2d(in_channels, c, 3, padding=1, bias=False)  # (B, 2g, S, S)
        blocks: list[nn.Module] = []
        for i in range(3):
            layers: list[nn.Module] = []
            for _ in range(n):
                layers.append(Bottleneck(c, growth_rate, dropout))
                c += growth_rate
            if i < 2:  # transitions after blocks 1 and 2: (B, c, S', S') → (B, c·compression, S'/2, S'/2)
                layers.append(transition(c, int(c * compression)))
                c = int(c * compression)
            blocks.append(nn.Sequential(*layers))
        self.block1, self.block2, self.block3 = blocks
        self.final = preact_final(c)  # (B, c)
        self.head = classifier(c, num_classes, dropout)  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.final(self.block3(self.block2(self.block1(self.stem(x))))))
