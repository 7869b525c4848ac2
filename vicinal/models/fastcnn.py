"""FastCNN: a small conv-BN-GELU network with max-pooling, fast on a CPU (airbench-style); its body also makes CNN1d."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from vicinal.core._checks import check_positive_int
from vicinal.models.layers import check_image_model, classifier

Dims = Literal[1, 2]  # 1: sequences (B, C, T); 2: images (B, C, H, W)
_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d}
_GLOBAL_POOL = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d}


def conv_bn(c_in: int, c_out: int, dims: Dims = 2) -> list[nn.Module]:
    """Size-3 convolution (no bias) followed by batch norm, over 1 or 2 spatial dimensions."""
    return [_CONV[dims](c_in, c_out, 3, padding=1, bias=False), _NORM[dims](c_out)]


class ConvGroup(nn.Sequential):
    """conv → max-pool 2 (identity when `pool` is false) → BN → GELU → conv → BN → GELU: c_in → c_out channels."""

    def __init__(self, c_in: int, c_out: int, *, pool: bool = True, dims: Dims = 2) -> None:
        first, bn_first = conv_bn(c_in, c_out, dims)
        pooling = _POOL[dims](2) if pool else nn.Identity()
        super().__init__(first, pooling, bn_first, nn.GELU(), *conv_bn(c_out, c_out, dims), nn.GELU())


class ConvNet(nn.Module):
    """stem (width) → three conv groups (width, 2·width, 4·width), each halving the size while it is ≥ 2
    → global max-pool → linear, over `dims` spatial dimensions of smallest side `size`."""

    mixup_layers: tuple[str, ...] = ("stem", "group1", "group2", "group3")

    def __init__(self, *, num_classes: int, in_channels: int, size: int, width: int, dropout: float,
                 dims: Dims) -> None:
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(in_channels, width, dims), nn.GELU())  # (B, w, S...)
        groups = []
        for c_in, c_out in ((width, width), (width, 2 * width), (2 * width, 4 * width)):
            groups.append(ConvGroup(c_in, c_out, pool=size >= 2, dims=dims))  # (B, c_out, S/2...) while S ≥ 2
            size = size // 2 if size >= 2 else size
        self.group1, self.group2, self.group3 = groups
        self.pool = _GLOBAL_POOL[dims](1)  # (B, 4w, 1...)
        self.head = classifier(4 * width, num_classes, dropout)  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.group3(self.group2(self.group1(self.stem(x))))
        return self.head(self.pool(x).flatten(1))


class FastCNN(ConvNet):
    """The image ConvNet. With width 32 on 1×28×28: stem 32×28×28 → 32×14×14 → 64×7×7 → 128×3×3 → 128 → classes;
    on 1×8×8: 32×8×8 → 32×4×4 → 64×2×2 → 128×1×1; smaller images skip the poolings that would go below 1×1."""

    min_size = 1  # pixels

    def __init__(
        self, *, num_classes: int, in_channels: int = 1, image_size: int = 28, width: int = 32, dropout: float = 0.0
    ) -> None:
        check_positive_int("width", width)
        dropout = check_image_model(
            model="fastcnn", num_classes=num_classes, in_channels=in_channels, image_size=image_size,
            minimum_size=self.min_size, dropout=dropout,
        )
        super().__init__(num_classes=num_classes, in_channels=in_channels, size=image_size, width=width,
                         dropout=dropout, dims=2)
