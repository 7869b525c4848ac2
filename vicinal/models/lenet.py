"""LeNet-5 (LeCun et al. 1998), the small convolutional network of mixup's speech experiment (arXiv 1710.09412)."""

from __future__ import annotations

from torch import Tensor, nn

from vicinal.models.layers import check_image_model, classifier


class LeNet(nn.Module):
    """conv5×5 (6, pad 2) → max-pool → conv5×5 (16) → max-pool → 120 → 84 → classes, ReLU activations.

    On 1×28×28: 6×28×28 → 6×14×14 → 16×10×10 → 16×5×5 → 400 → 120 → 84 → classes.
    """

    mixup_layers: tuple[str, ...] = ("conv1", "conv2", "fc1")
    min_size = 12  # pixels: the two 5×5 convolutions and poolings leave one

    def __init__(self, *, num_classes: int, in_channels: int = 1, image_size: int = 28, dropout: float = 0.0) -> None:
        super().__init__()
        dropout = check_image_model(
            model="lenet", num_classes=num_classes, in_channels=in_channels, image_size=image_size,
            minimum_size=self.min_size, dropout=dropout
        )
        side = (image_size // 2 - 4) // 2  # spatial size after the second pooling
        # (B, 6, S/2, S/2)
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())  # (B, 16·side²)
        self.fc1 = nn.Sequential(nn.Linear(16 * side * side, 120), nn.ReLU())  # (B, 120)
        self.fc2 = nn.Sequential(nn.Linear(120, 84), nn.ReLU())  # (B, 84)
        self.head = classifier(84, num_classes, dropout)  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.fc2(self.fc1(self.conv2(self.conv1(x)))))
