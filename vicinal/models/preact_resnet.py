"""PreAct ResNet-18 (He et al. 2016, arXiv 1603.05027), the CIFAR model of mixup (arXiv 1710.09412)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from vicinal.core._checks import check_positive_int
from vicinal.models.layers import check_depth, check_image_model, classifier, preact_final


class PreActBlock(nn.Module):
    """BN → ReLU → conv3×3(stride) → BN → ReLU → (dropout) → conv3×3, plus a (projected) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float = 0.0) -> None:
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


def preact_stage(c_in: int, c_out: int, blocks: int, stride: int, dropout: float = 0.0) -> nn.Sequential:
    """``blocks`` pre-activation blocks; the first changes c_in → c_out and applies ``stride``."""
    return nn.Sequential(*(PreActBlock(c_in if j == 0 else c_out, c_out, stride if j == 0 else 1, dropout)
                           for j in range(blocks)))


class PreActResNet(nn.Module):
    """stem conv (64) → four stages of pre-activation blocks (64, 128, 256, 512; strides 1, 2, 2, 2)
    → BN-ReLU → avg-pool → linear.

    On 3×32×32: 64×32×32 → 64×32×32 → 128×16×16 → 256×8×8 → 512×4×4 → 512 → classes.
    """

    mixup_layers: tuple[str, ...] = ("stem", "layer1", "layer2", "layer3")
    min_size = 8  # pixels

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 32,
        blocks: tuple[int, int, int, int] = (2, 2, 2, 2),
        width: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        dropout = check_image_model(
            model="preact_resnet", num_classes=num_classes, in_channels=in_channels, image_size=image_size,
            minimum_size=self.min_size, dropout=dropout
        )
        check_positive_int("width", width)
        if len(blocks) != 4 or not all(isinstance(n, int) and n >= 1 for n in blocks):
            raise ValueError(f"blocks must be four integers >= 1, got {blocks!r}")
        check_depth("preact_resnet", 2 * sum(blocks) + 2)
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)  # (B, 64, S, S)
        stages, c_in = [], width
        for i, n in enumerate(blocks):
            c_out, stride = width * 2**i, 1 if i == 0 else 2
            stages.append(preact_stage(c_in, c_out, n, stride))
            c_in = c_out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages  # (B, 64·2^i, S/2^i, S/2^i)
        self.final = preact_final(c_in)  # (B, 512)
        self.head = classifier(c_in, num_classes, dropout)  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.head(self.final(x))
