"""Wide ResNet (Zagoruyko & Komodakis 2016, arXiv 1605.07146): WRN-depth-k, WRN-28-10 in mixup (arXiv 1710.09412)."""

from __future__ import annotations

from torch import Tensor, nn

from vicinal.core._checks import check_positive_int
from vicinal.models.layers import blocks_per_group, check_image_model, classifier, preact_final
from vicinal.models.preact_resnet import preact_stage


class WideResNet(nn.Module):
    """stem conv (16) → three groups of (depth−4)/6 pre-activation blocks with dropout (16k, 32k, 64k;
    strides 1, 2, 2) → BN-ReLU → avg-pool → linear.

    WRN-28-10 on 3×32×32: 16×32×32 → 160×32×32 → 320×16×16 → 640×8×8 → 640 → classes.
    """

    mixup_layers: tuple[str, ...] = ("stem", "group1", "group2", "group3")
    min_size = 4  # pixels

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
        dropout = check_image_model(
            model="wide_resnet", num_classes=num_classes, in_channels=in_channels, image_size=image_size,
            minimum_size=self.min_size, dropout=dropout
        )
        check_positive_int("widen_factor", widen_factor)
        n = blocks_per_group(depth, model="wide_resnet")
        self.stem = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)  # (B, 16, S, S)
        groups, c_in = [], 16
        for i, stride in enumerate((1, 2, 2)):
            c_out = 16 * widen_factor * 2**i
            groups.append(preact_stage(c_in, c_out, n, stride, dropout))
            c_in = c_out
        self.group1, self.group2, self.group3 = groups  # (B, 16k·2^i, S/2^i, S/2^i)
        self.final = preact_final(c_in)  # (B, 64k)
        self.head = classifier(c_in, num_classes, dropout)  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.final(self.group3(self.group2(self.group1(self.stem(x))))))
