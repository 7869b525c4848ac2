"""vicinal.models: the networks of mixup (arXiv 1710.09412) and a fast CPU model, built by name from one registry."""

from vicinal.models.densenet import DenseNetBC
from vicinal.models.fastcnn import FastCNN
from vicinal.models.layers import Normalize
from vicinal.models.lenet import LeNet
from vicinal.models.mlp import MLP
from vicinal.models.preact_resnet import PreActResNet
from vicinal.models.registry import MODELS, build_model, is_model_name, list_models
from vicinal.models.vgg import VGG
from vicinal.models.wide_resnet import WideResNet

__all__ = [
    "MODELS", "build_model", "is_model_name", "list_models", "Normalize",
    "DenseNetBC", "FastCNN", "LeNet", "MLP", "PreActResNet", "VGG", "WideResNet",
]  # fmt: skip
