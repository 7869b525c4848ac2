"""vicinal: mixup and vicinal risk minimization for PyTorch (Zhang et al., ICLR 2018, arXiv 1710.09412).

The top level is the mixing core (`vicinal.core`); data, models, eval, train and experiments are subpackages.
"""

from .core import *  # noqa: F403 - the core's public API is the package's
from .core import __all__ as _core_all

__version__ = "0.1.0"

__all__ = ["__version__", *_core_all]
