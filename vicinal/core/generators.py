"""Random generators and seeds, the one home of both: a mixer's own generator, worker reseeding, derived seeds."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import get_worker_info

from ._checks import invalid, is_integer


def own_generator(*, seed: int | None = None, generator: torch.Generator | None = None) -> torch.Generator:
    """`generator` itself, else a new one seeded with `seed`, else a new one seeded from the OS.

    Never the global RNG. Giving both, or a seed torch cannot take, is a ValueError.
    """
    if seed is not None and not (is_integer(seed) and -(2**63) <= seed < 2**64):
        raise invalid("seed", seed, "an integer in [-2**63, 2**64) or None")
    if seed is not None and generator is not None:
        raise invalid("seed", seed, "None when a generator is given (give either seed or generator)")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise invalid("generator", generator, "a torch.Generator or None")
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


def derive_seed(seed: int, *keys: int | str) -> int:
    """A well-mixed 63-bit seed for one random stream of ``seed``, named by ``keys`` (e.g. epoch and stream id,
    or a stream name and a rank); streams with different keys are independent (NumPy's SeedSequence)."""
    entropy = [seed, *(int.from_bytes(k.encode(), "little") if isinstance(k, str) else k for k in keys)]
    return int(np.random.SeedSequence(entropy).generate_state(2, np.uint32).view(np.uint64)[0] >> 1)


def make_generator(seed: int, stream: str, *, device: torch.device | str = "cpu", rank: int = 0) -> torch.Generator:
    """A torch.Generator on ``device`` seeded for ``stream`` (e.g. "mixing", "noise", "subset") and ``rank``."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, stream, rank))
    return g
