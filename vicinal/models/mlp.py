"""The fully connected network of mixup's tabular experiments (arXiv 1710.09412): two hidden layers of 128 ReLUs."""

from __future__ import annotations

from torch import Tensor, nn

from vicinal.core._checks import check_positive_int
from vicinal.models.layers import check_dropout, classifier


class MLP(nn.Module):
    """flatten → Linear(in_features, hidden) → ReLU → Linear(hidden, hidden) → ReLU → (dropout)
    → Linear(hidden, classes).

    Takes (B, in_features) or any (B, ...) whose trailing dimensions hold in_features values (images are flattened).
    """

    mixup_layers: tuple[str, ...] = ("hidden1", "hidden2")

    def __init__(self, *, num_classes: int, in_features: int, hidden: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        check_positive_int("num_classes", num_classes)
        check_positive_int("in_features", in_features)
        check_positive_int("hidden", hidden)
        self.hidden1 = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU())  # (B, hidden)
        self.hidden2 = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU())  # (B, hidden)
        self.head = classifier(hidden, num_classes, check_dropout(dropout))  # (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.hidden2(self.hidden1(x)))
