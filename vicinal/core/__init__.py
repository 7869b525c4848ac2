"""vicinal.core: mixup and its vicinal relatives, the mixing layer of vicinal (Zhang et al., arXiv 1710.09412)."""

from ._checks import MIX_MODES, PAIRINGS, MixMode, Pairing
from .batch import MixedBatch
from .cmixup import c_mixup
from .cutmix import cutmix, sample_boxes
from .fmix import fmix, sample_fmix_masks
from .losses import mixed_loss, mixup_cross_entropy, soft_cross_entropy
from .manifold import manifold_mixup
from .mix import mix
from .mixer import Mixup
from .mixup import mixup
from .pairing import sample_pairing
from .regmixup import regmixup, regmixup_cross_entropy
from .resizemix import resizemix
from .sampling import sample_lambda
from .segmentation import (
    SEGMENTATION_PAIRINGS,
    SegmentationPairing,
    cutmix_segmentation,
    mixup_segmentation,
    segmentation_cross_entropy,
    segmentation_targets,
)
from .targets import to_soft_targets

__all__ = [
    "MIX_MODES",
    "PAIRINGS",
    "SEGMENTATION_PAIRINGS",
    "MixMode",
    "Pairing",
    "SegmentationPairing",
    "MixedBatch",
    "Mixup",
    "c_mixup",
    "cutmix",
    "cutmix_segmentation",
    "fmix",
    "manifold_mixup",
    "mix",
    "mixed_loss",
    "mixup",
    "mixup_cross_entropy",
    "mixup_segmentation",
    "regmixup",
    "regmixup_cross_entropy",
    "resizemix",
    "sample_boxes",
    "sample_fmix_masks",
    "sample_lambda",
    "sample_pairing",
    "segmentation_cross_entropy",
    "segmentation_targets",
    "soft_cross_entropy",
    "to_soft_targets",
]
