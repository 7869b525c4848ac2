"""The trainer layer: config and presets, schedules, checkpoints, train(), compare(), distributed helpers."""

from vicinal.train.checkpoint import export_safetensors, load_checkpoint, save_checkpoint
from vicinal.train.compare import CompareResult, compare
from vicinal.train.config import PRESETS, TrainConfig, config_from_preset
from vicinal.train.schedules import build_optimizer, build_scheduler
from vicinal.train.signals import TrainingInterrupted
from vicinal.train.trainer import NonFiniteLossError, Result, resume_config, train

__all__ = [
    "PRESETS", "CompareResult", "NonFiniteLossError", "Result", "TrainConfig", "TrainingInterrupted",
    "build_optimizer", "build_scheduler", "compare", "config_from_preset", "export_safetensors",
    "load_checkpoint", "resume_config", "save_checkpoint", "train",
]
