"""CNN1d: FastCNN's design over one dimension, for sequences (B, C, T) such as signals or spectra."""

from __future__ import annotations

from vicinal.core._checks import check_positive_int
from vicinal.models.fastcnn import ConvNet
from vicinal.models.layers import check_dropout


class CNN1d(ConvNet):
    """stem (width) → three conv groups (width, 2·width, 4·width), each halving the length while it is ≥ 2
    → global max-pool → linear.

    With width 32 on 1×40: stem 32×40 → 32×20 → 64×10 → 128×5 → 128 → classes.
    """

    min_size = 1  # steps

    def __init__(
        self, *, num_classes: int, in_channels: int = 1, length: int = 128, width: int = 32, dropout: float = 0.0
    ) -> None:
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels), ("length", length),
                            ("width", width)):
            check_positive_int(name, value)
        super().__init__(num_classes=num_classes, in_channels=in_channels, size=length, width=width,
                         dropout=check_dropout(dropout), dims=1)
