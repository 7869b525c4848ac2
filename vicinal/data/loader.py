"""An in-memory batched loader: the whole data set as one tensor on the device, seeded and exactly resumable."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from vicinal.core.generators import derive_seed
from vicinal.data.augment import Augment, augment_source, gather_augmented, sample_augment

_ORDER, _AUGMENT = 0, 1  # stream ids for the seeds derived per epoch


class TensorLoader:
    """Batches of `(inputs float32 normalized, labels int64)` from tensors held on `device` (float y: regression
    targets (N,) or (N, D), yielded as float32).

    - Order: each epoch a permutation drawn from a generator seeded with (seed, epoch), so epoch e
      has the same order whatever happened before (`shuffle=False`: the stored order).
    - Sharding: a global batch is `batch_size * world_size` rows of that permutation, identical on
      every rank; rank r takes rows [r*B, (r+1)*B). Augmentation is drawn for the whole global batch
      from one generator shared by all ranks and then sliced, so 1 process with batch 2B sees exactly
      the data 2 ranks with batch B see. The last, partial global batch (`drop_last=False`) is split
      into `world_size` near-equal parts; fewer rows than ranks are dropped.
    - Augmentation (images only): `augment`'s crop and flip, batched, on the uint8 batch.
    - Conversion: uint8 images become float32 in [0, 1]; then `(x - mean) / std` per channel/feature
      if `mean` and `std` are given, in one fused op per batch. `channels_last` sets the memory format.
    - Epochs: iterating continues the current epoch from where it stopped; when an epoch is exhausted
      the epoch counter advances by itself. `set_epoch(e)` jumps to the start of epoch e.
    - Resume: `state_dict()` holds epoch, position (batches handed out this epoch) and the
      augmentation generator's state, as ints and tensors (`torch.load(weights_only=True)` reads it);
      after `load_state_dict()` iteration yields exactly the batches the uninterrupted loader would
      have given. The state is the same on every rank.
    Only one iteration over a loader may be in progress at a time.
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        *,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        augment: Augment | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        channels_last: bool = False,
    ) -> None:
        if not isinstance(x, Tensor) or not isinstance(y, Tensor) or x.ndim < 1 or y.ndim not in (1, 2):
            raise ValueError(f"x must be a tensor (N, ...) and y a tensor (N,) or (N, D), got "
                             f"{getattr(x, 'shape', x)!r} and {getattr(y, 'shape', y)!r}")
        if y.dtype.is_complex or y.dtype == torch.bool or (y.ndim == 2 and not y.dtype.is_floating_point):
            raise ValueError(f"y must hold integer class labels (N,) or float regression targets (N,) or (N, D), "
                             f"got {y.dtype} of shape {tuple(y.shape)}")
        if len(x) != len(y):
            raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
        for name, value, low in (("batch_size", batch_size, 1), ("world_size", world_size, 1), ("seed", seed, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if not isinstance(rank, int) or not 0 <= rank < world_size:
            raise ValueError(f"rank must be an int in [0, {world_size - 1}], got {rank!r}")
        if augment is not None and augment.active and x.ndim != 4:
            raise ValueError(f"augment needs images (N, C, H, W), got x of shape {tuple(x.shape)}")
        if channels_last and x.ndim != 4:
            raise ValueError(f"channels_last needs images (N, C, H, W), got x of shape {tuple(x.shape)}")
        self.device = torch.device(device)
        self.x = x.to(self.device)
        self.y = y.to(self.device, torch.float32 if y.dtype.is_floating_point else torch.int64)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.augment = augment if augment is not None and augment.active else None
        # augmented batches are gathered straight from a padded (and mirrored) copy of the set, made once
        self._source = augment_source(self.x, self.augment) if self.augment is not None else None
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.channels_last = channels_last
        self._scale, self._shift = self._normalization(mean, std)
        self._augment_generator = torch.Generator()
        self.epoch, self.position = 0, 0
        self._order: Tensor | None = None  # permutation of the current epoch, made when first needed

    def _normalization(self, mean: Sequence[float] | None, std: Sequence[float] | None) -> tuple[Tensor, Tensor]:
        """`scale` and `shift` with x_float = raw * scale + shift (the /255 of uint8 folded in)."""
        if (mean is None) != (std is None):
            raise ValueError(f"give both mean and std or neither, got mean={mean!r}, std={std!r}")
        width = self.x.shape[1] if self.x.ndim > 1 else 1
        mean = torch.tensor([0.0] if mean is None else [float(m) for m in mean], dtype=torch.float32)
        std = torch.tensor([1.0] if std is None else [float(s) for s in std], dtype=torch.float32)
        if len(mean) not in (1, width) or len(std) != len(mean):
            raise ValueError(f"mean and std need 1 or {width} values (one per channel/feature), "
                             f"got {len(mean)} and {len(std)}")
        if not (torch.isfinite(mean).all() and torch.isfinite(std).all() and (std > 0).all()):
            raise ValueError(f"mean must be finite and std finite and > 0, got {mean.tolist()} and {std.tolist()}")
        unit = 255.0 if self.x.dtype == torch.uint8 else 1.0
        shape = (1, -1) + (1,) * max(self.x.ndim - 2, 0) if self.x.ndim > 1 else (-1,)
        return (1.0 / (unit * std)).view(shape).to(self.device), (-mean / std).view(shape).to(self.device)

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.world_size

    def __len__(self) -> int:
        """Batches per epoch (the same on every rank)."""
        full, rest = divmod(len(self.x), self.global_batch_size)
        return full + int(not self.drop_last and rest >= self.world_size)

    def set_epoch(self, epoch: int) -> None:
        """Start epoch `epoch` from its first batch at the next iteration."""
        if not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be an int >= 0, got {epoch!r}")
        self.epoch, self.position, self._order = epoch, 0, None

    def _start_epoch(self) -> None:
        """Make this epoch's permutation; at its start also reseed the augmentation generator."""
        if self.shuffle:
            order_generator = torch.Generator().manual_seed(derive_seed(self.seed, self.epoch, _ORDER))
            self._order = torch.randperm(len(self.x), generator=order_generator).to(self.device)
        else:
            self._order = torch.arange(len(self.x), device=self.device)
        if self.position == 0:
            self._augment_generator.manual_seed(derive_seed(self.seed, self.epoch, _AUGMENT))

    def _rank_rows(self, global_rows: int) -> slice:
        """Which rows of a global batch of `global_rows` this rank takes."""
        if global_rows == self.global_batch_size:
            return slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)
        bounds = np.linspace(0, global_rows, self.world_size + 1).round().astype(int)  # near-equal parts
        return slice(int(bounds[self.rank]), int(bounds[self.rank + 1]))

    def _batch(self, index: int) -> tuple[Tensor, Tensor]:
        start = index * self.global_batch_size
        global_indices = self._order[start:start + self.global_batch_size]
        rows = self._rank_rows(len(global_indices))
        indices = global_indices[rows]
        if self.augment is None:
            x = self.x.index_select(0, indices)
        else:
            params = sample_augment(self.augment, len(global_indices), self._augment_generator)
            x = gather_augmented(self._source, indices, params[rows], num_images=len(self.x),
                                 height=self.x.shape[2], width=self.x.shape[3])
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = torch.addcmul(self._shift, x.to(torch.float32), self._scale)
        return x, self.y.index_select(0, indices)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        if self._order is None:
            self._start_epoch()
        while self.position < len(self):
            batch = self._batch(self.position)
            self.position += 1
            yield batch
        self.set_epoch(self.epoch + 1)

    def state_dict(self) -> dict[str, int | Tensor]:
        """Where the loader is: resumable with `load_state_dict`, readable with `weights_only=True`."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "seed": self.seed,
            "num_samples": len(self.x),
            "global_batch_size": self.global_batch_size,
            "augment_generator": self._augment_generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, int | Tensor]) -> None:
        """Continue from a `state_dict()`; refuses one from a loader over other data or batch sizes."""
        expected = {"seed": self.seed, "num_samples": len(self.x), "global_batch_size": self.global_batch_size}
        missing = [k for k in (*expected, "epoch", "position", "augment_generator") if k not in state]
        if missing:
            raise ValueError(f"loader state lacks {missing}")
        for key, value in expected.items():
            if int(state[key]) != value:
                raise ValueError(f"loader state has {key}={int(state[key])}, this loader has {value}")
        generator_state = state["augment_generator"]
        if not (isinstance(generator_state, Tensor) and generator_state.dtype == torch.uint8):
            raise ValueError(f"loader state's augment_generator must be a uint8 tensor (Generator.get_state()), "
                             f"got {type(generator_state).__name__}")
        epoch, position = int(state["epoch"]), int(state["position"])
        if epoch < 0 or not 0 <= position <= len(self):
            raise ValueError(f"loader state has epoch {epoch}, position {position}: expected epoch >= 0 and "
                             f"position in [0, {len(self)}]")
        self.set_epoch(epoch)
        self.position = position
        self._start_epoch()
        if position > 0:  # at an epoch's start the generator is reseeded from (seed, epoch) instead
            self._augment_generator.set_state(generator_state.clone())
