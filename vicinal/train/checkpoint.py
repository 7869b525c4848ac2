"""Checkpoints: atomic writes (temp file, fsync, rename), weights-only loading, a run's snapshot and restore, the
checkpoint a run starts from (fresh or resumed), and safetensors export."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable, Protocol

import torch
from torch import nn

from vicinal.core import Mixup
from vicinal.train import distributed as dist_
from vicinal.train.config import TrainConfig, check_resumable, config_from_dict
from vicinal.train.data import RunData
from vicinal.train.progress import Progress

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "vicinal-checkpoint-1"  # stored under "format": a checkpoint from anything else is refused


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], *, binary: bool = True) -> Path:
    """Write a file through ``write(file)`` so that ``path`` holds either the old or the new content, never part.

    The content goes to a temporary file in the same folder, which is flushed, fsynced and renamed over
    ``path`` (os.replace is atomic on POSIX); the folder is then fsynced so the rename itself is durable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return atomic_write(path, lambda f: json.dump(obj, f, indent=2, default=str), binary=False)


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Atomically save ``state`` (tensors, numbers, strings, lists, dicts only) with torch.save."""
    return atomic_write(path, lambda f: torch.save({"format": FORMAT, **state}, f))


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict:
    """Load a vicinal checkpoint with ``torch.load(weights_only=True)``; anything else raises ValueError.

    A file that needs arbitrary pickled objects (code execution) is refused, with no fallback.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} does not exist: expected a file written by vicinal")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"checkpoint {str(path)!r} is not a readable torch file: expected torch.save's zip format")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if "unsupported" in ln.lower() or "WeightsUnpickler" in ln]
        raise ValueError(f"checkpoint {str(path)!r} refused: it needs more than weights_only loading allows "
                         f"({lines[0] if lines else type(e).__name__})") from None
    except Exception as e:  # a damaged file fails in many ways (zip, pickle, storage): all mean "unreadable"
        raise ValueError(f"checkpoint {str(path)!r} is not a readable torch file: {type(e).__name__}: {e}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"checkpoint {str(path)!r} is not a vicinal checkpoint: expected format {FORMAT!r}")
    return state


def has_checkpoint(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir`` holds a run's checkpoint (a run to resume rather than start)."""
    return (Path(run_dir) / CHECKPOINT_NAME).is_file()


def _resume_path(run_dir: Path) -> Path:
    if not run_dir.is_dir():
        raise ValueError(f"resume={str(run_dir)!r}: no such folder (expected a vicinal run folder)")
    if not has_checkpoint(run_dir):
        raise ValueError(f"resume={str(run_dir)!r}: no {CHECKPOINT_NAME} there (not a vicinal run folder)")
    return run_dir / CHECKPOINT_NAME


def resume_config(run_dir: str | os.PathLike, **overrides) -> TrainConfig:
    """The config of the run in ``run_dir`` (from its checkpoint) with ``overrides``, ready for train(resume=True)."""
    state = load_checkpoint(_resume_path(Path(run_dir)))
    return config_from_dict({**state["config"], **overrides, "out": str(run_dir)})


def start_state(run_dir: Path, config: TrainConfig, *, resume: bool, world_size: int) -> dict | None:
    """The checkpoint a run continues from: None for a fresh run, whose ``run_dir`` must hold no run yet; with
    ``resume`` the folder's checkpoint, which ``config`` and ``world_size`` must agree with (else ValueError)."""
    if not resume:
        if has_checkpoint(run_dir):
            raise ValueError(f"out={str(run_dir)!r} already holds a run ({CHECKPOINT_NAME}): resume it "
                             f"with --resume or choose another --out")
        return None
    state = load_checkpoint(_resume_path(run_dir))
    check_resumable(config, state["config"])
    if world_size != int(state["world_size"]):
        raise ValueError(f"resume: {world_size} processes is incompatible with the checkpoint's "
                         f"{int(state['world_size'])}")
    return state


class Run(Protocol):
    """The parts of a training run that ``snapshot`` reads and ``restore`` sets (the trainer's TrainingRun)."""

    config: TrainConfig
    device: torch.device
    ctx: dist_.DistContext
    data: RunData
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    mixer: Mixup  # its generator: the same on every rank
    noise_gen: torch.Generator  # this rank's input-noise generator
    progress: Progress


def snapshot(run: Run) -> dict:
    """Everything ``run`` needs to continue exactly: weights, optimizer, schedule, progress, generators, and each
    process's loader, noise and global RNG states (gathered from every rank: every rank must call this)."""
    rank_state = dict(loader=run.data.train.state_dict(), noise=run.noise_gen.get_state(),
                      torch_rng=torch.get_rng_state())  # the global generator: dropout masks
    if run.device.type == "cuda":
        rank_state["cuda_rng"] = torch.cuda.get_rng_state(run.device)
    return dict(config=run.config.to_dict(), model=run.model.state_dict(), optimizer=run.optimizer.state_dict(),
                scheduler=run.scheduler.state_dict(), world_size=run.ctx.world_size,
                rank_states=dist_.gather_objects(rank_state, run.ctx),
                generators=dict(mixing=run.mixer.generator.get_state(), corruption=run.data.corruption_state),
                **run.progress.state_dict())


def restore(run: Run, state: dict) -> None:
    """Put ``run`` back where ``snapshot`` found it (this process's own rank state)."""
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    mine = state["rank_states"][run.ctx.rank]
    run.data.train.load_state_dict(mine["loader"])
    run.noise_gen.set_state(mine["noise"])
    torch.set_rng_state(mine["torch_rng"])
    if "cuda_rng" in mine and run.device.type == "cuda":
        torch.cuda.set_rng_state(mine["cuda_rng"], run.device)
    run.mixer.generator.set_state(state["generators"]["mixing"])
    run.progress.load_state_dict(state)


def export_safetensors(model: nn.Module, path: str | os.PathLike) -> Path:
    """Atomically write the model's weights (state_dict) as a safetensors file."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    data = save(tensors, metadata={"format": "pt"})
    return atomic_write(path, lambda f: f.write(data))
