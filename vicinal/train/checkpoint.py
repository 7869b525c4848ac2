"""Checkpoints: atomic writes (temp file, fsync, rename), weights-only loading, safetensors export."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

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


def export_safetensors(model: nn.Module, path: str | os.PathLike) -> Path:
    """Atomically write the model's weights (state_dict) as a safetensors file."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    data = save(tensors, metadata={"format": "pt"})
    return atomic_write(path, lambda f: f.write(data))
