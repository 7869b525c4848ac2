"""vicinal: mixup and vicinal risk minimization for PyTorch (Zhang et al., ICLR 2018, arXiv 1710.09412)."""

from .core import (
    MixedBatch,
    Mixup,
    cutmix,
    manifold_mixup,
    mix,
    mixup,
    mixup_cross_entropy,
    sample_boxes,
    sample_lambda,
    sample_pairing,
    soft_cross_entropy,
    to_soft_targets,
)

__version__ = "0.1.0"

__all__ = [
    "MixedBatch",
    "Mixup",
    "__version__",
    "cutmix",
    "manifold_mixup",
    "mix",
    "mixup",
    "mixup_cross_entropy",
    "sample_boxes",
    "sample_lambda",
    "sample_pairing",
    "soft_cross_entropy",
    "to_soft_targets",
]
