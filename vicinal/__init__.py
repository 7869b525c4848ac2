"""vicinal: mixup and vicinal risk minimization for PyTorch (Zhang et al., ICLR 2018, arXiv 1710.09412)."""

__version__ = "0.1.0"
