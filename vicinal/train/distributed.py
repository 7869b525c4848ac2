"""Multi-process training under torchrun: detected from RANK/WORLD_SIZE (gloo on CPU, NCCL on CUDA)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank among world_size processes (1 process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialized_here: bool = False  # this run started the process group, so it ends it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is invalid: expected an integer") from None


def process_rank() -> int:
    """This process's rank as torchrun set it in the environment (0 outside torchrun), before any process group."""
    return _env_int("RANK", 0)


def process_world_size() -> int:
    """The number of processes torchrun started, from the environment (1 outside torchrun)."""
    return _env_int("WORLD_SIZE", 1)


def setup(device_type: str) -> DistContext:
    """Join the process group torchrun described in the environment (nothing to do for a single process)."""
    world_size = process_world_size()
    if world_size <= 1:
        return DistContext()
    rank, local_rank = process_rank(), _env_int("LOCAL_RANK", 0)
    if dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, initialized_here=False)
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistContext(rank, world_size, local_rank, initialized_here=True)


def teardown(ctx: DistContext) -> None:
    if ctx.initialized_here and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_reduce_sum(values: list[float], ctx: DistContext, device: torch.device) -> list[float]:
    """Sum a few numbers over all ranks (identity for one process)."""
    if not ctx.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def any_rank_each(flags: list[bool], ctx: DistContext, device: torch.device) -> list[bool]:
    """Each flag true on every rank if it is true on any rank (so all ranks act at the same step): one all-reduce."""
    if not ctx.enabled:
        return list(flags)
    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v > 0) for v in t.tolist()]


def gather_objects(obj, ctx: DistContext) -> list:
    """Every rank's ``obj`` as a list indexed by rank (on every rank)."""
    if not ctx.enabled:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def main_decides(decide: Callable[[], T], ctx: DistContext) -> T:
    """``decide()``, run on rank 0 only, on every rank; a ValueError it raises is raised on every rank alike (so no
    rank is left waiting for one that gave up)."""
    if not ctx.enabled:
        return decide()
    outcome: tuple = (None, None)
    if ctx.is_main:
        try:
            outcome = (decide(), None)
        except ValueError as e:
            outcome = (None, str(e))
    value, error = broadcast_object(outcome, ctx)
    if error is not None:
        raise ValueError(error)
    return value


def broadcast_object(obj, ctx: DistContext):
    """Rank 0's ``obj`` on every rank."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
