"""Mixup: a callable holding the mixing options and its own generator, for training loops and DataLoaders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal, get_args

import torch
from torch.utils.data import default_collate

from ._checks import (
    MIX_MODES,
    MixMode,
    Pairing,
    check_alpha,
    check_choice,
    check_flag,
    check_floating,
    check_fraction,
    invalid,
    is_integer,
)
from ._vicinity import Batch, check_vicinity_batch, vicinity_options
from .batch import MixedBatch
from .cmixup import _c_mixup, check_bandwidth
from .cutmix import _cutmix, check_image_batch
from .fmix import _fmix, check_decay_power, check_fmix_batch
from .generators import own_generator, reseed_in_worker
from .manifold import _manifold_mixup, check_model_layers
from .mixup import _mixup
from .regmixup import _regmixup
from .resizemix import _resizemix, check_scale

Mode = Literal["mixup", "cutmix", "resizemix", "fmix", "c_mixup", "regmixup"]
MODES: tuple[str, ...] = get_args(Mode)
SWITCH_MODES = ("mixup", "cutmix")  # the pair `switch_prob` switches between


class Mixup:
    """Mixes every batch it is given: `mixer(x, y) -> MixedBatch`, or `mixer(samples)` as a collate_fn.

    mode: "mixup" or "cutmix"; with `switch_prob` p the other one is used instead on a share p of
    the batches (CutMix with `cutmix_alpha`, default `alpha`). The other modes are the core functions of the
    same name (`switch_prob` must be 0): "resizemix" (`scale`; α only switches it on), "fmix" (`decay_power`;
    the mask covers the last `mask_dims` dims, or with None those after the channel dim, at least one),
    "c_mixup" (`bandwidth`; regression targets, partners drawn by the label kernel) and "regmixup" (`.inputs`
    holds 2B rows, the clean batch then its mixup copy). `prob`: the share of batches mixed at all.
    `enabled=False` turns mixing off (e.g. for the last epochs, as timm's `mixup_off_epoch`).
    A batch left unmixed still gets soft targets (λ = 1, index = identity) so one loss serves all,
    and its `.inputs` is x itself (not copied). The other options are those of `mixup`/`cutmix`;
    they are checked once, at construction, and read-only after it (`enabled` is the switch to flip).
    Each call checks its batch once, for every mode the mixer may use.

    The generator is its own (from `generator`, else seeded with `seed`, else from the OS);
    `state_dict()` holds its state as tensors, loadable with torch.load(weights_only=True). As a
    DataLoader collate_fn in worker processes, each worker reseeds once from its worker seed, so
    workers do not repeat each other's draws.
    """

    def __init__(
        self,
        *,
        alpha: float,
        mode: Mode = "mixup",
        prob: float = 1.0,
        switch_prob: float = 0.0,
        cutmix_alpha: float | None = None,
        num_classes: int | None = None,
        per_sample: bool = False,
        pairing: Pairing = "permutation",
        mix: MixMode = "both",
        label_smoothing: float = 0.0,
        knn_k: int = 200,
        scale: tuple[float, float] = (0.1, 0.8),
        decay_power: float = 3.0,
        mask_dims: int | None = 2,
        bandwidth: float = 1.0,
        enabled: bool = True,
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        self._mixup_options = vicinity_options(
            alpha=alpha, num_classes=num_classes, per_sample=per_sample, pairing=pairing,
            label_smoothing=label_smoothing, knn_k=knn_k,
        )
        self._cutmix_options = replace(
            self._mixup_options,
            alpha=self._mixup_options.alpha if cutmix_alpha is None else check_alpha(cutmix_alpha, "cutmix_alpha"),
        )
        self._mode = check_choice("mode", mode, MODES)
        self._prob = check_fraction("prob", prob)
        self._switch_prob = check_fraction("switch_prob", switch_prob)
        if self._switch_prob and self._mode not in SWITCH_MODES:
            raise invalid("switch_prob", switch_prob, f"0 for mode={mode!r} (it switches between mixup and cutmix)")
        self._scale, self._decay_power = check_scale(scale), check_decay_power(decay_power)
        self._bandwidth = check_bandwidth(bandwidth)
        if mask_dims is not None and not (is_integer(mask_dims) and 1 <= mask_dims <= 3):
            raise invalid("mask_dims", mask_dims, "1, 2 or 3 (the last dims of x that an FMix mask covers) or None")
        self._mask_dims = None if mask_dims is None else int(mask_dims)
        if mode == "c_mixup" and (num_classes is not None or label_smoothing or pairing != "permutation"):
            raise invalid("mode", mode, "num_classes=None, label_smoothing=0 and pairing='permutation' with it "
                          "(C-Mixup mixes regression targets, with partners drawn by the label kernel)")
        self._mix = check_choice("mix", mix, MIX_MODES)
        self.enabled = check_flag("enabled", enabled)
        self.generator = own_generator(seed=seed, generator=generator)
        self._worker_id: int | None = None

    alpha = property(lambda self: self._mixup_options.alpha, doc="α of mixup's Beta(α, α)")
    cutmix_alpha = property(lambda self: self._cutmix_options.alpha, doc="α of CutMix's Beta(α, α)")
    num_classes = property(lambda self: self._mixup_options.num_classes)
    per_sample = property(lambda self: self._mixup_options.per_sample)
    pairing = property(lambda self: self._mixup_options.pairing)
    label_smoothing = property(lambda self: self._mixup_options.label_smoothing)
    knn_k = property(lambda self: self._mixup_options.knn_k)
    mode = property(lambda self: self._mode)
    prob = property(lambda self: self._prob)
    switch_prob = property(lambda self: self._switch_prob)
    mix = property(lambda self: self._mix)

    def __call__(self, x: torch.Tensor | Sequence[Any], y: torch.Tensor | None = None) -> MixedBatch:
        if y is None:
            if isinstance(x, torch.Tensor):
                raise invalid("y", y, "labels: call mixer(x, y) with a batch, or mixer(samples) with (x, y) samples")
            x, y = self._collate(x)
        batch = check_vicinity_batch(x, y, self._mixup_options)
        modes = {self.mode} if self.switch_prob == 0 else set(SWITCH_MODES)
        if modes & {"mixup", "regmixup", "c_mixup"}:
            check_floating("x", x)
        if modes & {"cutmix", "resizemix"}:
            check_image_batch(x)
        if "fmix" in modes:
            check_fmix_batch(x, self._fmix_dims(x))
        if not self.enabled or not self._chance(self.prob):
            return self._unmixed(batch)
        mode = self.mode if not self._chance(self.switch_prob) else next(m for m in SWITCH_MODES if m != self.mode)
        return self._mix_batch(mode, batch)

    def _fmix_dims(self, x: torch.Tensor) -> int:
        """The dims an FMix mask covers: `mask_dims`, or (None) those after the channel dim, at least one."""
        return self._mask_dims if self._mask_dims is not None else max(1, x.ndim - 2)

    def _mix_batch(self, mode: str, batch: Batch) -> MixedBatch:
        """The batch mixed by `mode` with this mixer's options and generator."""
        options, gen = self._mixup_options, self.generator
        if mode == "cutmix":
            return _cutmix(batch, self._cutmix_options, generator=gen, inplace=False, out=None)
        if mode == "resizemix":
            return _resizemix(batch, options, scale=self._scale, interpolation="bilinear", generator=gen,
                              inplace=False, out=None)
        if mode == "fmix":
            return _fmix(batch, options, decay_power=self._decay_power, dims=self._fmix_dims(batch.x),
                         generator=gen, inplace=False, out=None)
        if mode == "c_mixup":
            return _c_mixup(batch.x, batch.y, alpha=self.alpha, bandwidth=self._bandwidth, per_sample=self.per_sample,
                            generator=gen, inplace=False, out=None)
        if mode == "regmixup":
            return _regmixup(batch, options, generator=gen)
        return _mixup(batch, options, mix=self.mix, generator=gen, inplace=False, out=None)

    def manifold(
        self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, layers: Sequence[str] | None = None
    ) -> tuple[torch.Tensor, MixedBatch]:
        """`manifold_mixup(model, x, y, layers=layers)` with this mixer's options, generator, `prob` and
        `enabled`: (logits, MixedBatch). `mode`, `switch_prob` and `mix` do not apply. A batch left unmixed
        is `model(x)` with the unmixed batch `__call__` gives."""
        known = check_model_layers(model, layers)
        batch = check_vicinity_batch(x, y, self._mixup_options)
        if not self.enabled or not self._chance(self.prob):
            return model(x), self._unmixed(batch)
        return _manifold_mixup(model, known, batch, self._mixup_options, self.generator)

    def _chance(self, p: float) -> bool:
        """True with probability p; draws from the generator only when 0 < p < 1."""
        if p in (0.0, 1.0):
            return p == 1.0
        return bool(torch.rand((), generator=self.generator, device=self.generator.device) < p)

    def _unmixed(self, batch: Batch) -> MixedBatch:
        batch_size, device = batch.x.shape[0], batch.x.device
        lam = torch.ones((batch_size,) if self.per_sample else (), dtype=torch.float32, device=device)
        return MixedBatch(inputs=batch.x, targets=batch.targets, lam=lam, index=torch.arange(batch_size, device=device))

    def _collate(self, samples: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        self._worker_id = reseed_in_worker(self.generator, self._worker_id)
        batch = default_collate(list(samples))
        if not isinstance(batch, (list, tuple)) or len(batch) != 2:
            raise ValueError("collate expects a list of (x, y) samples")
        return batch[0], batch[1]

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The generator state and the `enabled` switch, as tensors only."""
        return {"generator": self.generator.get_state(), "enabled": torch.tensor(self.enabled)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore `state_dict()`'s generator state and switch; a state that does not fit changes nothing."""
        if not isinstance(state, dict):
            raise invalid("type(state)", type(state), "a dict from Mixup.state_dict()")
        if set(state) != {"generator", "enabled"}:
            raise invalid("keys of state", sorted(map(str, state)), "['enabled', 'generator'] (a Mixup state_dict)")
        enabled = state["enabled"]
        if not (isinstance(enabled, torch.Tensor) and enabled.dtype == torch.bool and enabled.numel() == 1):
            raise invalid("state['enabled']", enabled, "a bool tensor of one element")
        generator = torch.Generator(device=self.generator.device)  # try the state on a scratch generator first
        try:
            generator.set_state(state["generator"])
        except (RuntimeError, TypeError):
            raise invalid("state['generator']", type(state["generator"]), f"a state of a {generator.device} "
                          "torch.Generator (a ByteTensor from get_state())") from None
        self.generator.set_state(state["generator"])
        self.enabled = bool(enabled)

    def __repr__(self) -> str:
        return (
            f"Mixup(alpha={self.alpha}, mode={self.mode!r}, prob={self.prob}, switch_prob={self.switch_prob}, "
            f"pairing={self.pairing!r}, mix={self.mix!r}, per_sample={self.per_sample}, "
            f"label_smoothing={self.label_smoothing}, enabled={self.enabled})"
        )
