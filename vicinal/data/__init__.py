"""Data sets as tensors (IDX, CIFAR pickles, UCI/CSV, .npz), label corruption, and the in-memory batched loader."""

from vicinal.data.augment import Augment, AugmentParams, apply_augment, augment_batch, sample_augment
from vicinal.data.corruption import CorruptedLabels, corrupt_labels
from vicinal.data.dataset import KINDS, MAX_CLASSES, TASKS, Dataset
from vicinal.data.download import DataNotFoundError
from vicinal.data.loader import TensorLoader
from vicinal.data.memory import MEMORY_ENV, memory_limit
from vicinal.data.registry import DATASETS, load_dataset

__all__ = [
    "DATASETS",
    "KINDS",
    "MAX_CLASSES",
    "MEMORY_ENV",
    "TASKS",
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
    "memory_limit",
    "sample_augment",
]
