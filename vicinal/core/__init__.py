"""vicinal.core: mixup and its vicinal relatives, the mixing layer of vicinal (Zhang et al., arXiv 1710.09412)."""

from ._checks import MIX_MODES, PAIRINGS, MixMode, Pairing
from .batch import MixedBatch
from .cutmix import cutmix, sample_boxes
from .losses import mixup_cross_entropy, soft_cross_entropy
from .manifold import manifold_mixup
from .mix import mix
from .mixer import Mixup
from .mixup import mixup
from .pairing import sample_pairing
from .sampling import sample_lambda
from .targets import to_soft_targets

__all__ = [
    "MIX_MODES",
    "PAIRINGS",
    "MixMode",
    "Pairing",
    "MixedBatch",
    "Mixup",
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
