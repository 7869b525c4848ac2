"""What a loaded checkpoint must be to restore a run: the layout of the run's own snapshot (keys, types, tensor shapes
and dtypes), one optimizer state per parameter, and counters that agree with each other and with the run's length."""

from __future__ import annotations

import torch

from vicinal.train.progress import Progress
from vicinal.train.schedules import RunLength


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


def _progress_fault(state: dict, length: RunLength) -> str | None:
    """Whether the counters and the history agree with each other and with the run's length."""
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
    fresh = Progress().end_epoch(lr=0.0)  # a metrics row: numbers, None where an epoch may have no test metrics
    rows = state.get("history")
    if not isinstance(rows, list) or len(rows) != epoch or not all(
            isinstance(row, dict) and fresh.keys() <= row.keys() and all(
                type(k) is str and (type(v) in (int, float) or v is None and fresh.get(k) is None)
                for k, v in row.items()) for row in rows):
        return f"history is not {epoch} metrics rows (dicts of numbers with keys {sorted(fresh)})"
    return None


def state_fault(state: dict, reference: dict, *, optimizer: torch.optim.Optimizer, length: RunLength) -> str | None:
    """The first part of a loaded ``state`` that does not fit the run whose snapshot is ``reference`` (optimizer
    ``optimizer``, length ``length``), in words; None when it fits."""
    return (_mismatch(_layout(state), _layout(reference), "")
            or _optimizer_fault(state["optimizer"].get("state"), optimizer) or _progress_fault(state, length))
