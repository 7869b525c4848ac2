"""VGG-11 with batch norm (Simonyan & Zisserman 2015, arXiv 1409.1556), the speech model of mixup (arXiv 1710.09412)."""

from __future__ import annotations

from torch import Tensor, nn

from vicinal.models.layers import check_depth, check_image_model, classifier

VGG11_STAGES: tuple[tuple[int, ...], ...] = ((64,), (128,), (256, 256), (512, 512), (512, 512))  # conv widths per stage


class VGG(nn.Module):
    """Five stages of conv3×3-BN-ReLU, each ended by a max-pool (ceil mode, so 28×28 inputs work) → avg-pool → linear.

    VGG-11 on 3×32×32: 64×16×16 → 128×8×8 → 256×4×4 → 512×2×2 → 512×1×1 → 512 → classes.
    """

    mixup_layers: tuple[str, ...] = ("stage1", "stage2", "stage3", "stage4")
    min_size = 2  # pixels

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 32,
        stages: tuple[tuple[int, ...], ...] = VGG11_STAGES,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        dropout = check_image_model(
            model="vgg", num_classes=num_classes, in_channels=in_channels, image_size=image_size,
            minimum_size=self.min_size, dropout=dropout
        )
        if len(stages) != 5 or not all(stage for stage in stages):
            raise ValueError(f"stages must be five non-empty tuples of conv widths, got {stages!r}")
        check_depth("vgg", sum(len(stage) for stage in stages) + 1)
        c_in = in_channels
        for i, widths in enumerate(stages, start=1):
            layers: list[nn.Module] = []
            for c_out in widths:
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
                c_in = c_out
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
            self.add_module(f"stage{i}", nn.Sequential(*layers))  # (B, c_i, ⌈S/2^i⌉, ⌈S/2^i⌉)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (B, 512)
        self.head = classifier(c_in, num_classes, dropout)  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        for i in range(1, 6):
            x = getattr(self, f"stage{i}")(x)
        return self.head(self.pool(x))
