"""vicinal.models: the networks of mixup (arXiv 1710.09412) and fast CPU models, built by name from one registry."""

from vicinal.models.cnn1d import CNN1d
from vicinal.models.densenet import DenseNetBC
from vicinal.models.fastcnn import FastCNN
from vicinal.models.layers import MAX_DEPTH, Normalize
from vicinal.models.lenet import LeNet
from vicinal.models.mlp import MLP
from vicinal.models.preact_resnet import PreActResNet
from vicinal.models.registry import (
                                     BYTES_PER_PARAMETER,
                                     MODELS,
                                     ModelSpec,
                                     build_model,
                                     check_fits,
                                     default_model,
                                     is_model_name,
                                     list_models,
)
from vicinal.models.vgg import VGG
from vicinal.models.wide_resnet import WideResNet

__all__ = [
    "BYTES_PER_PARAMETER", "MAX_DEPTH", "MODELS", "ModelSpec", "build_model", "check_fits", "default_model",
    "is_model_name", "list_models", "Normalize",
    "CNN1d", "DenseNetBC", "FastCNN", "LeNet", "MLP", "PreActResNet", "VGG", "WideResNet",
]  # fmt: skip
