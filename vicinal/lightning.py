"""Lightning drop-in: a Callback that mixes every training batch on its device (arXiv 1710.09412, 1905.04899).

Add it to the Trainer and keep the LightningModule, as long as its loss takes soft targets
(`F.cross_entropy` does)::

    trainer = lightning.Trainer(callbacks=[vicinal.lightning.Mixup(alpha=0.4, num_classes=10, seed=0)])

Needs the extra: `pip install "vicinal[lightning]"`.
"""

from __future__ import annotations

from collections.abc import MutableMapping, MutableSequence
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError as error:  # the optional extra is missing
    raise ImportError('vicinal.lightning needs Lightning: pip install "vicinal[lightning]"') from error

import torch

from .core._checks import Pairing, is_integer
from .core.batch import MixedBatch
from .core.mixer import Mixup as Mixer
from .core.mixer import Mode


class Mixup(pl.Callback):
    """Mixes each training batch after it reaches the device, before `training_step` sees it.

    The batch must be changeable in place: a list `[x, y, ...]` (what `default_collate` makes of
    (x, y) samples) or a dict; `input_key` and `target_key` say where x and y are (0 and 1, or dict
    keys). `training_step` then gets the mixed inputs and soft targets (B, C); validation, test and
    prediction batches are left alone. From epoch `off_epoch` on (0-based; timm's `mixup_off_epoch`)
    batches are not mixed but still get soft targets, so one loss serves all epochs. `.batch` is the
    last `MixedBatch` (λ and partners, for `vicinal.mixed_loss` with losses that take no soft targets).

    The options are those of `vicinal.Mixup`, which does the mixing (`.mixer`). Its generator is saved
    in Lightning checkpoints (`state_dict`) and restored on resume, so a resumed run draws as an
    uninterrupted one would.
    """

    def __init__(
        self,
        *,
        alpha: float,
        num_classes: int | None = None,
        mode: Mode = "mixup",
        prob: float = 1.0,
        switch_prob: float = 0.0,
        cutmix_alpha: float | None = None,
        label_smoothing: float = 0.0,
        per_sample: bool = False,
        pairing: Pairing = "permutation",
        off_epoch: int | None = None,
        input_key: int | str = 0,
        target_key: int | str = 1,
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.mixer = Mixer(
            alpha=alpha, mode=mode, prob=prob, switch_prob=switch_prob, cutmix_alpha=cutmix_alpha,
            num_classes=num_classes, per_sample=per_sample, pairing=pairing, label_smoothing=label_smoothing,
            seed=seed, generator=generator,
        )
        if off_epoch is not None and (not is_integer(off_epoch) or off_epoch < 0):
            raise ValueError(f"off_epoch={off_epoch!r} is invalid: expected None or an epoch index >= 0")
        self.off_epoch = off_epoch
        for name, key in (("input_key", input_key), ("target_key", target_key)):
            if not (is_integer(key) or isinstance(key, str)):
                raise ValueError(f"{name}={key!r} is invalid: expected an int (a list index) or a str (a dict key)")
        if input_key == target_key:
            raise ValueError(f"target_key={target_key!r} is invalid: expected a key other than input_key")
        self.input_key, self.target_key = input_key, target_key
        self.batch: MixedBatch | None = None

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if not isinstance(batch, (MutableSequence, MutableMapping)):
            raise ValueError(
                f"a training batch of type {type(batch).__name__} is invalid: expected a list or a dict, which can "
                "be mixed in place (default_collate makes lists of (x, y) samples; a tuple cannot be changed)"
            )
        self._check_keys(batch)
        self.mixer.enabled = self.off_epoch is None or trainer.current_epoch < self.off_epoch
        self.batch = self.mixer(batch[self.input_key], batch[self.target_key])
        batch[self.input_key], batch[self.target_key] = self.batch.inputs, self.batch.targets

    def _check_keys(self, batch: MutableSequence | MutableMapping) -> None:
        """``input_key`` and ``target_key`` name two entries of ``batch`` (indices of a list, keys of a dict)."""
        for name, key in (("input_key", self.input_key), ("target_key", self.target_key)):
            if isinstance(batch, MutableMapping):
                if key not in batch:
                    keys = sorted(map(repr, batch))
                    raise ValueError(f"{name}={key!r} is invalid for a training batch with keys {keys}: expected "
                                     "one of its keys")
            elif not is_integer(key) or not 0 <= key < len(batch):
                raise ValueError(f"{name}={key!r} is invalid for a training batch that is a list of {len(batch)}: "
                                 f"expected an index in [0, {len(batch)}) (a list [x, y, ...] of at least 2)")

    def state_dict(self) -> dict[str, Any]:
        return self.mixer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.mixer.load_state_dict(state_dict)
