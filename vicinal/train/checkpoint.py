"""Checkpoints: saved atomically with the previous one kept beside the latest, weights-only loading verified by a
SHA-256 of the contents, the checkpoint a run starts from (fresh or resumed, on the same data) and its checks against
the run, and safetensors export."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from vicinal._io import atomic_write, temporary_name, writing
from vicinal.train.config import TrainConfig, check_resumable, config_from_dict
from vicinal.train.digest import content_digest
from vicinal.train.progress import Progress
from vicinal.train.schedules import RunLength

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "vicinal-checkpoint-2"  # stored under "format": a checkpoint from anything else is refused
CHECKSUM_KEY = "sha256"  # the SHA-256 (vicinal.train.digest) of everything else in the checkpoint


def previous_path(path: str | os.PathLike) -> Path:
    """Where save_checkpoint keeps the checkpoint it replaced: checkpoint.pt → checkpoint.prev.pt."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def _keep_previous(path: Path) -> None:
    """Make previous_path(path) the file now at ``path`` (a hard link; a copy where links are not supported).

    When both names already are one file (a save cut short after this step) there is nothing to do: renaming a
    link onto another link of the same file does nothing (POSIX rename), which would leave the temporary name."""
    previous = previous_path(path)
    if not path.is_file() or (previous.is_file() and os.path.samefile(path, previous)):
        return
    tmp = temporary_name(previous)
    try:
        try:
            os.link(path, tmp)
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, previous)
    finally:
        tmp.unlink(missing_ok=True)  # gone after the rename, unless the rename did nothing


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Atomically save ``state`` (tensors, numbers, strings, lists, dicts only) with torch.save, with the SHA-256 of
    its contents; the checkpoint it replaces is kept as ``previous_path(path)`` (checkpoint.prev.pt)."""
    path = Path(path)
    payload = {"format": FORMAT, **state}
    payload[CHECKSUM_KEY] = content_digest(payload)
    with writing(previous_path(path)):
        _keep_previous(path)
    return atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict:
    """Load a vicinal checkpoint with ``torch.load(weights_only=True)`` and verify its SHA-256; anything else raises
    ValueError.

    A file that needs arbitrary pickled objects (code execution) is refused, with no fallback; so is one whose
    contents do not match the checksum stored in it (a damaged file) or that has none (an older vicinal's).
    The result is the saved state, with "format" and without the checksum.
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
        found = state.get("format") if isinstance(state, dict) else None
        raise ValueError(f"checkpoint {str(path)!r} is not a vicinal checkpoint: expected format {FORMAT!r}"
                         + (f", found {found!r} (an older vicinal's, without a checksum)"
                            if isinstance(found, str) and found.startswith("vicinal-checkpoint") else ""))
    stored = state.pop(CHECKSUM_KEY, None)
    if stored != content_digest(state):
        raise ValueError(f"checkpoint {str(path)!r} is damaged: its contents do not match the SHA-256 "
                         f"{CHECKSUM_KEY} stored in it")
    return state


def has_checkpoint(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir`` holds a run's checkpoint (a run to resume rather than start)."""
    return (Path(run_dir) / CHECKPOINT_NAME).is_file()


def checkpoint_to_resume(run_dir: str | os.PathLike) -> Path:
    """The checkpoint file of the run in ``run_dir`` (ValueError when there is no such folder or no checkpoint)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"resume={str(run_dir)!r}: no such folder (expected a vicinal run folder)")
    if not has_checkpoint(run_dir):
        raise ValueError(f"resume={str(run_dir)!r}: no {CHECKPOINT_NAME} there (not a vicinal run folder)")
    return run_dir / CHECKPOINT_NAME


def _previous_note(path: Path) -> str:
    """What to say of the checkpoint kept before ``path`` when ``path`` is refused."""
    previous = previous_path(path)
    if not previous.is_file():
        return ""
    try:
        step = load_checkpoint(previous).get("step")
    except ValueError:
        return f"; the previous one, {str(previous)!r}, is refused too"
    return (f"; the previous checkpoint {str(previous)!r} (step {step}) is intact: replace {path.name} with it to "
            f"resume from there")


def _unfit(path: Path, fault: str) -> ValueError:
    return ValueError(f"checkpoint {str(path)!r} does not fit this run: {fault}")


def _read_run_checkpoint(run_dir: str | os.PathLike) -> dict:
    """The verified checkpoint of the run in ``run_dir``, with its config (ValueError otherwise, naming the previous
    checkpoint when that one is intact)."""
    path = checkpoint_to_resume(run_dir)
    try:
        state = load_checkpoint(path)
    except ValueError as e:
        raise ValueError(f"{e}{_previous_note(path)}") from None
    if not isinstance(state.get("config"), dict):
        raise _unfit(path, "it holds no config")
    return state


def resume_config(run_dir: str | os.PathLike, **overrides) -> TrainConfig:
    """The config of the run in ``run_dir`` (from its checkpoint) with ``overrides``, ready for train(resume=True)."""
    state = _read_run_checkpoint(run_dir)
    return config_from_dict({**state["config"], **overrides, "out": str(run_dir)})


def start_state(run_dir: Path, config: TrainConfig, *, resume: bool, world_size: int) -> dict | None:
    """The checkpoint a run continues from: None for a fresh run, whose ``run_dir`` must hold no run yet; with
    ``resume`` the folder's verified checkpoint, which ``config`` and ``world_size`` must agree with (else
    ValueError). The rest of it is checked against the built run by ``restore``."""
    if not resume:
        if has_checkpoint(run_dir):
            raise ValueError(f"out={str(run_dir)!r} already holds a run ({CHECKPOINT_NAME}): resume it "
                             f"with --resume or choose another --out")
        return None
    state = _read_run_checkpoint(run_dir)
    check_resumable(config, config_from_dict(state["config"]).to_dict())  # the stored values validated first
    stored = state.get("world_size")
    if type(stored) is not int:
        raise _unfit(run_dir / CHECKPOINT_NAME, f"world_size={stored!r}, expected a number of processes")
    if world_size != stored:
        raise ValueError(f"resume: {world_size} processes is incompatible with the checkpoint's {stored}")
    generators = state.get("generators")
    fault = "missing" if not isinstance(generators, dict) or "corruption" not in generators else \
        generator_fault(generators["corruption"])  # read before the run is built: the labels it corrupted
    if fault:
        raise _unfit(run_dir / CHECKPOINT_NAME, f"generators.corruption is {fault}")
    return state


def check_same_data(state: dict, record: dict) -> None:
    """Refuse to resume ``state`` on data other than it was trained on: ``record`` (the run's ``data_record``) must
    have the fingerprint stored in the checkpoint."""
    stored = state.get("data") if isinstance(state.get("data"), dict) else {}
    if stored.get("fingerprint") != record["fingerprint"]:
        raise ValueError(f"resume: the data set {record['source']!r} (fingerprint {record['fingerprint'][:16]}) "
                         f"differs from the one the checkpoint was trained on, {stored.get('source')!r} "
                         f"(fingerprint {str(stored.get('fingerprint'))[:16]}): expected the same data")


def check_state(state: dict, reference: dict, *, optimizer: torch.optim.Optimizer, length: RunLength,
                path: Path, regression: bool = False) -> None:
    """Refuse a loaded checkpoint ``state`` (from ``path``) that does not fit the run whose own ``state_dict()`` is
    ``reference``: keys, types, tensor shapes and dtypes, one optimizer state per parameter, counters that agree
    with each other and with the run's ``length``, metrics rows of the run's kind (``regression``: test RMSE, not
    test error). The ValueError names the first part that does not fit."""
    fault = state_fault(state, reference, optimizer=optimizer, length=length, regression=regression)
    if fault:
        raise _unfit(path, fault)


@contextlib.contextmanager
def loading(path: Path) -> Iterator[None]:
    """Load a checked checkpoint's parts inside: a value its layout cannot show to be wrong raises ValueError
    naming ``path``."""
    try:
        yield
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as e:
        raise _unfit(path, f"{type(e).__name__}: {' '.join(str(e).split())[:200]}") from None


def export_safetensors(model: nn.Module, path: str | os.PathLike) -> Path:
    """Atomically write the model's weights (state_dict) as a safetensors file."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    data = save(tensors, metadata={"format": "pt"})
    return atomic_write(path, lambda f: f.write(data))


# What a loaded checkpoint must be to restore a run: the layout of the run's own state_dict() (keys, types, tensor
# shapes and dtypes), one optimizer state per parameter, and counters that agree with each other and with the run's
# length.

def generator_fault(value: object) -> str | None:
    """Why ``value`` is not the state of a CPU torch.Generator (None when it is one)."""
    try:
        torch.Generator().set_state(value)
    except (TypeError, RuntimeError) as e:
        return f"not a CPU generator's state ({' '.join(str(e).split())[:120]})"
    return None


# Parts of a checkpoint whose layout varies with how far the run got (or the device): checked apart from the rest.
_OWN_CHECKS = ("format", "config", "data", "history")


def _layout(state: dict) -> dict:
    """``state`` without the parts that are checked on their own (the optimizer's per-parameter state, a CUDA
    generator's state)."""
    part = {k: v for k, v in state.items() if k not in _OWN_CHECKS}
    if isinstance(part.get("optimizer"), dict):
        part["optimizer"] = {k: v for k, v in part["optimizer"].items() if k != "state"}
    if isinstance(part.get("rank_states"), list):
        part["rank_states"] = [{k: v for k, v in r.items() if k != "cuda_rng"} if isinstance(r, dict) else r
                               for r in part["rank_states"]]
    return part


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, (dict, list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"{type(value).__name__} {repr(value)[:40]}"


def _kind(value: object) -> type:
    return float if type(value) is int else type(value)  # an int where a float was saved (or back) is a number too


def _mismatch(stored: object, reference: object, where: str) -> str | None:
    """Where ``stored`` first differs from ``reference`` in its keys, lengths, types, tensor shapes or dtypes."""
    name = where or "the checkpoint"
    if isinstance(reference, dict) and isinstance(stored, dict):
        missing = [k for k in reference if k not in stored]
        extra = [k for k in stored if k not in reference]
        if missing or extra:
            return f"{name} lacks {missing}" if missing else f"{name} has unexpected {extra}"
        children = reference.items()
    elif isinstance(reference, (list, tuple)) and type(stored) is type(reference):
        if len(stored) != len(reference):
            return f"{name} has {len(stored)} items, expected {len(reference)}"
        children = enumerate(reference)
    elif isinstance(reference, torch.Tensor) and isinstance(stored, torch.Tensor) and (
            stored.dtype, stored.shape) == (reference.dtype, reference.shape):
        return None
    elif isinstance(reference, (dict, list, tuple, torch.Tensor)) or _kind(stored) is not _kind(reference):
        return f"{name} is {_describe(stored)}, expected {_describe(reference)}"
    else:
        return None
    for key, value in children:
        fault = _mismatch(stored[key], value, f"{where}.{key}" if where else str(key))
        if fault:
            return fault
    return None


def _optimizer_fault(entries: object, optimizer: torch.optim.Optimizer) -> str | None:
    """Whether the optimizer's per-parameter state has one entry of float tensors (or 0-d counts) per parameter."""
    shapes = [p.shape for group in optimizer.param_groups for p in group["params"]]
    if not isinstance(entries, dict):
        return f"optimizer.state is {_describe(entries)}, expected a dict"
    for index, entry in entries.items():
        if type(index) is not int or not 0 <= index < len(shapes) or not isinstance(entry, dict):
            return (f"optimizer.state[{index!r}] is {_describe(entry)}, expected the state of a parameter "
                    f"0..{len(shapes) - 1}")
        for key, value in entry.items():
            if value is not None and not (isinstance(value, torch.Tensor) and value.is_floating_point()
                                          and value.shape in (shapes[index], torch.Size([]))):
                return (f"optimizer.state[{index}].{key} is {_describe(value)}, expected a float tensor of shape "
                        f"{tuple(shapes[index])}")
    return None


def _progress_fault(state: dict, length: RunLength, *, regression: bool) -> str | None:
    """Whether the counters and the history (rows of a regression run's with ``regression``) agree with each other
    and with the run's length."""
    epoch, epoch_step, step = state["epoch"], state["epoch_step"], state["step"]
    if not (0 <= epoch <= length.epochs and 0 <= epoch_step < length.steps_per_epoch
            and step == epoch * length.steps_per_epoch + epoch_step and (epoch < length.epochs or epoch_step == 0)):
        return (f"step {step}, epoch {epoch}, epoch_step {epoch_step} do not fit a run of {length.epochs} epochs "
                f"of {length.steps_per_epoch} steps")
    if not 0 <= state["nonfinite_skips"] <= step or not 0 <= state["train_seconds"] < float("inf"):
        return f"nonfinite_skips={state['nonfinite_skips']}, train_seconds={state['train_seconds']} are invalid"
    if state["scheduler"].get("last_epoch") != step:
        return f"scheduler.last_epoch={state['scheduler'].get('last_epoch')!r}, expected the step, {step}"
    for rank, own in enumerate(state["rank_states"]):
        if (own["loader"]["epoch"], own["loader"]["position"]) != (epoch, epoch_step):
            return f"rank_states.{rank}.loader is at epoch {own['loader']['epoch']}, batch " \
                   f"{own['loader']['position']}, expected epoch {epoch}, batch {epoch_step}"
    # a metrics row of the run's kind: numbers, None where an epoch may have no test metrics
    fresh = Progress(regression=regression).end_epoch(lr=0.0)
    rows = state.get("history")
    if not isinstance(rows, list) or len(rows) != epoch or not all(
            isinstance(row, dict) and fresh.keys() <= row.keys() and all(
                type(k) is str and (type(v) in (int, float) or v is None and fresh.get(k) is None)
                for k, v in row.items()) for row in rows):
        return f"history is not {epoch} metrics rows (dicts of numbers with keys {sorted(fresh)})"
    return None


def state_fault(state: dict, reference: dict, *, optimizer: torch.optim.Optimizer, length: RunLength,
                regression: bool = False) -> str | None:
    """The first part of a loaded ``state`` that does not fit the run whose state_dict() is ``reference`` (optimizer
    ``optimizer``, length ``length``, a regression run with ``regression``), in words; None when it fits."""
    return (_mismatch(_layout(state), _layout(reference), "")
            or _optimizer_fault(state["optimizer"].get("state"), optimizer)
            or _progress_fault(state, length, regression=regression))
