"""Mixup: a callable holding the mixing options and its own generator, for training loops and DataLoaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import torch
from torch.utils.data import default_collate, get_worker_info

from ._checks import (
    MIX_MODES, PAIRINGS, MixMode, Pairing, check_alpha, check_batch, check_choice, check_fraction, check_positive_int,
)
from .batch import MixedBatch
from .cutmix import cutmix
from .manifold import manifold_mixup
from .mixup import mixup
from .targets import prepare_targets

Mode = Literal["mixup", "cutmix"]
MODES: tuple[str, ...] = get_args(Mode)


class Mixup:
    """Mixes every batch it is given: `mixer(x, y) -> MixedBatch`, or `mixer(samples)` as a collate_fn.

    mode: "mixup" or "cutmix"; with `switch_prob` p the other one is used instead on a share p of
    the batches (CutMix with `cutmix_alpha`, default `alpha`). `prob`: the share of batches mixed at
    all. `enabled=False` turns mixing off (e.g. for the last epochs, as timm's `mixup_off_epoch`).
    A batch left unmixed still gets soft targets (λ = 1, index = identity) so one loss serves all,
    and its `.inputs` is x itself (not copied). The other options are those of `mixup`/`cutmix`.

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
        enabled: bool = True,
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha)
        self.cutmix_alpha = self.alpha if cutmix_alpha is None else check_alpha(cutmix_alpha, "cutmix_alpha")
        self.mode = check_choice("mode", mode, MODES)
        self.prob = check_fraction("prob", prob)
        self.switch_prob = check_fraction("switch_prob", switch_prob)
        self.pairing = check_choice("pairing", pairing, PAIRINGS)
        self.mix = check_choice("mix", mix, MIX_MODES)
        self.label_smoothing = check_fraction("label_smoothing", label_smoothing, closed=False)
        self.knn_k = check_positive_int("knn_k", knn_k)
        self.num_classes = None if num_classes is None else check_positive_int("num_classes", num_classes)
        self.per_sample = bool(per_sample)
        self.enabled = bool(enabled)
        if seed is not None and generator is not None:
            raise ValueError("give either seed or generator, not both")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        if generator is None:
            generator = torch.Generator()
            if seed is None:
                generator.seed()
            else:
                generator.manual_seed(seed)
        self.generator = generator
        self._worker_id: int | None = None

    def __call__(self, x: torch.Tensor | Sequence[Any], y: torch.Tensor | None = None) -> MixedBatch:
        if y is None:
            if isinstance(x, torch.Tensor):
                raise ValueError("call mixer(x, y) with a batch, or mixer(samples) with a list of (x, y) samples")
            x, y = self._collate(x)
        check_batch(x, y)
        if not self.enabled or not self._chance(self.prob):
            return self._unmixed(x, y)
        mode = self.mode if not self._chance(self.switch_prob) else next(m for m in MODES if m != self.mode)
        common = dict(
            num_classes=self.num_classes, per_sample=self.per_sample, pairing=self.pairing,
            label_smoothing=self.label_smoothing, knn_k=self.knn_k, generator=self.generator,
        )
        if mode == "cutmix":
            return cutmix(x, y, alpha=self.cutmix_alpha, **common)
        return mixup(x, y, alpha=self.alpha, mix=self.mix, **common)

    def manifold(
        self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, layers: Sequence[str] | None = None
    ) -> tuple[torch.Tensor, MixedBatch]:
        """`manifold_mixup(model, x, y, layers=layers)` with this mixer's options, generator, `prob` and
        `enabled`: (logits, MixedBatch). `mode`, `switch_prob` and `mix` do not apply. A batch left unmixed
        is `model(x)` with the unmixed batch `__call__` gives."""
        if not self.enabled or not self._chance(self.prob):
            return model(x), self._unmixed(x, y)
        return manifold_mixup(
            model, x, y, alpha=self.alpha, layers=layers, num_classes=self.num_classes, per_sample=self.per_sample,
            pairing=self.pairing, label_smoothing=self.label_smoothing, knn_k=self.knn_k, generator=self.generator,
        )

    def _chance(self, p: float) -> bool:
        """True with probability p; draws from the generator only when 0 < p < 1."""
        if p in (0.0, 1.0):
            return p == 1.0
        return bool(torch.rand((), generator=self.generator, device=self.generator.device) < p)

    def _unmixed(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        targets, _ = prepare_targets(y, num_classes=self.num_classes, label_smoothing=self.label_smoothing)
        batch_size = x.shape[0]
        lam = torch.ones((batch_size,) if self.per_sample else (), dtype=torch.float32, device=x.device)
        return MixedBatch(inputs=x, targets=targets, lam=lam, index=torch.arange(batch_size, device=x.device))

    def _collate(self, samples: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        info = get_worker_info()
        if info is not None and self._worker_id != info.id:
            self.generator.manual_seed(info.seed)
            self._worker_id = info.id
        batch = default_collate(list(samples))
        if not isinstance(batch, (list, tuple)) or len(batch) != 2:
            raise ValueError("collate expects a list of (x, y) samples")
        return batch[0], batch[1]

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The generator state and the `enabled` switch, as tensors only."""
        return {"generator": self.generator.get_state(), "enabled": torch.tensor(self.enabled)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if not isinstance(state, dict) or set(state) != {"generator", "enabled"}:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"a Mixup state_dict has the keys ['enabled', 'generator'], got {got}")
        self.generator.set_state(state["generator"])
        self.enabled = bool(state["enabled"])

    def __repr__(self) -> str:
        return (
            f"Mixup(alpha={self.alpha}, mode={self.mode!r}, prob={self.prob}, switch_prob={self.switch_prob}, "
            f"pairing={self.pairing!r}, mix={self.mix!r}, per_sample={self.per_sample}, "
            f"label_smoothing={self.label_smoothing}, enabled={self.enabled})"
        )
