"""Data sets as tensors (IDX, CIFAR pickles, UCI/CSV, .npz), label corruption, and the in-memory batched loader."""

from vicinal.data.augment import Augment, AugmentParams, apply_augment, augment_batch, sample_augment
from vicinal.data.corruption import CorruptedLabels, corrupt_labels
from vicinal.data.dataset import Dataset
from vicinal.data.download import DataNotFoundError
from vicinal.data.loader import TensorLoader
from vicinal.data.registry import DATASETS, load_dataset

__all__ = [
    "DATASETS",
    "Augment",
    "AugmentParams",
    "CorruptedLabels",
    "DataNotFoundError",
    "Dataset",
    "TensorLoader",
    "apply_augment",
    "augment_batch",
    "corrupt_labels",
    "load_dataset",
    "sample_augment",
]
