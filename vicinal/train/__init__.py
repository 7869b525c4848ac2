"""The trainer layer: config and presets, schedules, checkpoints, train(), train_all() (in this process or on Ray),
compare(), callbacks (TensorBoard among them), distributed helpers."""

from vicinal._io import WriteError
from vicinal.train.backends import train_all
from vicinal.train.callbacks import Callback, RunInfo, StepEvent
from vicinal.train.checkpoint import export_safetensors, load_checkpoint, resume_config, save_checkpoint
from vicinal.train.compare import CompareResult, compare
from vicinal.train.config import PRESETS, TrainConfig, config_from_preset
from vicinal.train.schedules import RunLength, build_optimizer, build_scheduler
from vicinal.train.signals import NonFiniteLossError, TrainingInterrupted
from vicinal.train.trainer import Result, train

__all__ = [
    "PRESETS", "Callback", "CompareResult", "NonFiniteLossError", "Result", "RunInfo", "RunLength", "StepEvent",
    "TrainConfig", "TrainingInterrupted", "WriteError", "build_optimizer", "build_scheduler", "compare",
    "config_from_preset", "export_safetensors", "load_checkpoint", "resume_config", "save_checkpoint", "train",
    "train_all",
]
