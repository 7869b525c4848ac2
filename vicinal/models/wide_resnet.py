"""Wide ResNet (Zagoruyko & Komodakis 2016, arXiv 1605.07146): WRN-depth-k, WRN-28-10 in mixup (arXiv 1710.09412)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from vicinal.models.layers import check_dropout, check_image_size, check_positive_int, classifier


class WideBlock(nn.Module):
    """BN → ReLU → conv3×3(stride) → BN → ReLU → dropout → conv3×3, plus a (projected) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        needs_projection = stride != 1 or c_in != c_out
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False) if needs_projection else None

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv2(self.dropout(F.relu(self.bn2(self.conv1(out)))))
        return out + shortcut


class WideResNet(nn.Module):
    """stem conv (16) → three groups of (depth−4)/6 wide blocks (16k, 32k, 64k; strides 1, 2, 2) → BN-ReLU → avg-pool → linear.

    WRN-28-10 on 3×32×32: 16×32×32 → 160×32×32 → 320×16×16 → 640×8×8 → 640 → classes.
    """

    mixup_layers: tuple[str, ...] = ("stem", "group1", "group2", "group3")

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 32,
        depth: int = 28,
        widen_factor: int = 10,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive_int("num_classes", num_classes)
        check_positive_int("in_channels", in_channels)
        check_positive_int("widen_factor", widen_factor)
        check_image_size(image_size, minimum=4, model="wide_resnet")
        if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise ValueError(f"wide_resnet depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...), got {depth!r}")
        dropout = check_dropout(dropout)
        n = (depth - 4) // 6
        self.stem = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)  # (B, 16, S, S)
        groups, c_in = [], 16
        for i, stride in enumerate((1, 2, 2)):
            c_out = 16 * widen_factor * 2**i
            groups.append(nn.Sequential(*(WideBlock(c_in if j == 0 else c_out, c_out, stride if j == 0 else 1, dropout) for j in range(n))))
            c_in = c_out
        self.group1, self.group2, self.group3 = groups  # (B, 16k·2^i, S/2^i, S/2^i)
        self.final = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (B, 64k)
        self.head = classifier(c_in, num_classes, dropout)  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.final(self.group3(self.group2(self.group1(self.stem(x))))))
