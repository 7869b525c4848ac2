"""The generator of a stateful mixer: its own, from a seed or given, and reseeded once in each DataLoader worker."""

from __future__ import annotations

import torch
from torch.utils.data import get_worker_info

from ._checks import invalid, is_integer


def own_generator(*, seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    """`generator` itself, else a new one seeded with `seed`, else a new one seeded from the OS.

    Never the global RNG. Giving both, or a seed torch cannot take, is a ValueError.
    """
    if seed is not None and not (is_integer(seed) and -(2**63) <= seed < 2**64):
        raise invalid("seed", seed, "None or an integer in [-2**63, 2**64)")
    if seed is not None and generator is not None:
        raise ValueError(f"seed={seed!r} is invalid: expected None when a generator is given (give one of the two)")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator={generator!r} is invalid: expected a torch.Generator or None")
        return generator
    fresh = torch.Generator()
    if seed is None:
        fresh.seed()
    else:
        fresh.manual_seed(int(seed))
    return fresh


def reseed_in_worker(generator: torch.Generator, seeded_for: int | None) -> int | None:
    """In a DataLoader worker process, reseed `generator` from the worker's seed, once per worker.

    A mixer used as (or in) a `collate_fn` is copied into every worker with the same generator state,
    so without this the workers would repeat each other's draws. `seeded_for` is the worker id the
    generator was last seeded for (None at first); returns the id to keep for the next call. In the
    main process nothing changes.
    """
    info = get_worker_info()
    if info is None or info.id == seeded_for:
        return seeded_for
    generator.manual_seed(info.seed)
    return info.id
