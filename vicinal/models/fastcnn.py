"""FastCNN: a small conv-BN-GELU network with max-pooling, fast on a CPU for 28×28 inputs (airbench-style)."""

from __future__ import annotations

from torch import Tensor, nn

from vicinal.models.layers import check_image_model, check_positive_int, classifier


def conv_bn(c_in: int, c_out: int) -> list[nn.Module]:
    """3×3 convolution (no bias) followed by batch norm."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)]


class ConvGroup(nn.Sequential):
    """conv → max-pool 2 → BN → GELU → conv → BN → GELU: halves the size, c_in → c_out channels."""

    def __init__(self, c_in: int, c_out: int) -> None:
        first, bn_first = conv_bn(c_in, c_out)
        super().__init__(first, nn.MaxPool2d(2), bn_first, nn.GELU(), *conv_bn(c_out, c_out), nn.GELU())


class FastCNN(nn.Module):
    """stem (width) → three conv groups (width, 2·width, 4·width), each halving the size → global max-pool → linear.

    With width 32 on 1×28×28: stem 32×28×28 → 32×14×14 → 64×7×7 → 128×3×3 → 128 → classes.
    """

    mixup_layers: tuple[str, ...] = ("stem", "group1", "group2", "group3")

    def __init__(
        self, *, num_classes: int, in_channels: int = 1, image_size: int = 28, width: int = 32, dropout: float = 0.0
    ) -> None:
        super().__init__()
        check_positive_int("width", width)
        dropout = check_image_model(
            model="fastcnn", num_classes=num_classes, in_channels=in_channels, image_size=image_size, minimum_size=8, dropout=dropout
        )
        self.stem = nn.Sequential(*conv_bn(in_channels, width), nn.GELU())  # (B, w, S, S)
        self.group1 = ConvGroup(width, width)  # (B, w, S/2, S/2)
        self.group2 = ConvGroup(width, 2 * width)  # (B, 2w, S/4, S/4)
        self.group3 = ConvGroup(2 * width, 4 * width)  # (B, 4w, S/8, S/8)
        self.pool = nn.AdaptiveMaxPool2d(1)  # (B, 4w, 1, 1)
        self.head = classifier(4 * width, num_classes, dropout)  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.group3(self.group2(self.group1(self.stem(x))))
        return self.head(self.pool(x).flatten(1))
