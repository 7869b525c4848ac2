"""Drop-in for timm's `Mixup` and `FastCollateMixup`: timm's arguments, calls, results (arXiv 1710.09412, 1905.04899).

Change the import in a timm-style training script and nothing else::

    from vicinal.timm import Mixup, FastCollateMixup   # was: from timm.data import Mixup, FastCollateMixup

As in timm, row i of a batch of B is mixed with row B−1−i; `mode` says which rows share a draw
("batch": all, "pair": i and B−1−i, "elem": none; "half", for `FastCollateMixup`: per element, and
only the first half of the batch is returned, each sample used once). Per mixed unit a coin with
probability `prob` says whether to mix; with both α > 0 a coin with `switch_prob` picks CutMix over
mixup; λ ~ Beta(α, α) of the chosen method; CutMix pastes a box of sides ⌊H·√(1−λ)⌋ × ⌊W·√(1−λ)⌋ around
a uniform pixel centre, clipped to the image, as timm's `rand_bbox` (or, with `cutmix_minmax`, of sides
uniform in [int(size·min), int(size·max)) at a uniform position inside the image) and, with
`correct_lam`, λ becomes the share of the image kept. Targets are one-hot rows smoothed to (1 − ε)·one-hot + ε/C,
mixed with the same λ. `mixup_enabled = False` turns mixing off (e.g. for timm's `mixup_off_epoch`);
with timm imported, `FastCollateMixup` is also an instance of timm's class, so timm's `PrefetchLoader`
switches it off too.

Differences that are on purpose:
- odd batches are accepted (the middle row is paired with itself; timm asserts an even batch);
- every draw comes from `self.generator`, a `torch.Generator` (`seed=` or `generator=`), never from
  NumPy's global RNG; in DataLoader worker processes it is reseeded once per worker;
- the caller's batch and samples are never changed (timm mixes `x` in place and, in "half" mode,
  changes the samples it collates); unmixed, `Mixup` returns `x` itself, as timm does;
- both α = 0 means no mixing (targets still one-hot and smoothed), where timm fails at the first batch;
- `Mixup` also takes integer (uint8) images, mixed as `FastCollateMixup` does (rounded), soft (B, C)
  targets, and any image rank (B, ..., H, W);
- `sample_params` and `params=` expose the draws, to replay or inspect them;
- bad arguments and samples raise ValueError (timm: AssertionError, RuntimeError or KeyError);
  `num_classes` is at most `vicinal.data.MAX_CLASSES`.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch

from .core._checks import (
    check_alpha,
    check_batch,
    check_choice,
    check_fraction,
    check_num_classes,
    check_positive_int,
    invalid,
    is_real,
)
from .core.cutmix import _box_mask, sample_boxes
from .core.generators import own_generator, reseed_in_worker
from .core.mix import _mix_rows
from .core.sampling import _draw_lambda
from .core.targets import to_soft_targets

TimmMode = Literal["batch", "pair", "elem", "half"]
TIMM_MODES: tuple[str, ...] = get_args(TimmMode)


@dataclass(frozen=True)
class MixParams:
    """The draws of one call, one row per mixed unit (1 in "batch" mode, a row per pair or per element).

    lam:    float64 (n,): the λ of each unit; 1 = not mixed; for a CutMix unit, the kept share when
            corrected (`correct_lam` or `cutmix_minmax`), else the drawn λ.
    cutmix: bool (n,): the unit is mixed by CutMix (else by mixup, if λ < 1).
    boxes:  int64 (n, 4): (top, left, bottom, right), end-exclusive, of each CutMix box (zeros elsewhere).
    """

    lam: torch.Tensor
    cutmix: torch.Tensor
    boxes: torch.Tensor


class Mixup:
    """timm's `Mixup`: `x, target = mixer(x, target)`, with timm's arguments and defaults.

    x: images (B, ..., H, W) (float, or integer as uint8; only (B, ...) if CutMix never runs);
    target: class indices (B,) or soft targets (B, C). Returns (mixed x, soft targets (B, C) float32
    on target's device). See the module docstring for the draws and the differences from timm.
    `params=` (from `sample_params`) replaces the draws of this call.
    """

    collates = False  # FastCollateMixup: "half" returns half the batch

    def __init__(
        self,
        *,
        mixup_alpha: float = 1.0,
        cutmix_alpha: float = 0.0,
        cutmix_minmax: Sequence[float] | None = None,
        prob: float = 1.0,
        switch_prob: float = 0.5,
        mode: TimmMode = "batch",
        correct_lam: bool = True,
        label_smoothing: float = 0.1,
        num_classes: int = 1000,
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        self.mixup_alpha = check_alpha(mixup_alpha, "mixup_alpha")
        self.cutmix_alpha = check_alpha(cutmix_alpha, "cutmix_alpha")
        self.cutmix_minmax = None
        if cutmix_minmax is not None:
            if (not isinstance(cutmix_minmax, Sequence) or len(cutmix_minmax) != 2
                    or not all(is_real(v) for v in cutmix_minmax)
                    or not 0 <= cutmix_minmax[0] < cutmix_minmax[1] <= 1):
                raise ValueError(
                    f"cutmix_minmax={cutmix_minmax!r} is invalid: expected None or (min, max) with 0 <= min < max <= 1"
                )
            self.cutmix_minmax = (float(cutmix_minmax[0]), float(cutmix_minmax[1]))
            self.cutmix_alpha = 1.0  # as timm: the box comes from minmax, the α only switches CutMix on
        self.mix_prob = check_fraction("prob", prob)
        self.switch_prob = check_fraction("switch_prob", switch_prob)
        self.mode = check_choice("mode", mode, TIMM_MODES)
        self.correct_lam = bool(correct_lam)
        self.label_smoothing = check_fraction("label_smoothing", label_smoothing, closed=False)
        self.num_classes = check_num_classes(num_classes)
        self.mixup_enabled = True
        self.generator = own_generator(seed=seed, generator=generator)
        self._worker_id: int | None = None

    @property
    def _mode(self) -> str:
        """The mode as applied: timm's `Mixup` treats "half" as "batch"; only collating halves the batch."""
        return "batch" if self.mode == "half" and not self.collates else self.mode

    def _units(self, batch_size: int) -> int:
        return {"batch": 1, "pair": batch_size // 2, "elem": batch_size, "half": (batch_size + 1) // 2}[self._mode]

    def sample_params(self, batch_size: int, image_size: tuple[int, int] | None = None) -> MixParams:
        """Draw the parameters of one call for a batch of `batch_size` images of `image_size` (H, W).

        The draws, from `self.generator`, in this order: the `prob` coins, the `switch_prob` coins, λ of
        mixup, λ of CutMix, then the boxes. `image_size` is needed only when a CutMix unit is drawn.
        """
        units = self._units(check_positive_int("batch_size", batch_size))
        lam = torch.ones(units, dtype=torch.float64)
        cut = torch.zeros(units, dtype=torch.bool)
        boxes = torch.zeros(units, 4, dtype=torch.long)
        if not self.mixup_enabled or self.mixup_alpha == self.cutmix_alpha == 0:
            return MixParams(lam=lam, cutmix=cut, boxes=boxes)
        gen = self.generator
        mixed = self._coins(self.mix_prob, units)
        if self.cutmix_alpha > 0:
            cut = self._coins(self.switch_prob, units) if self.mixup_alpha > 0 else ~cut
        if self.mixup_alpha > 0:
            lam = _draw_lambda(self.mixup_alpha, (units,), gen, gen.device).double().cpu()
        if self.cutmix_alpha > 0:
            lam = torch.where(cut, _draw_lambda(self.cutmix_alpha, (units,), gen, gen.device).double().cpu(), lam)
        lam = torch.where(mixed, lam, 1.0)
        cut &= mixed
        if not cut.any():
            return MixParams(lam=lam, cutmix=cut, boxes=boxes)
        if image_size is None:
            raise ValueError("image_size=None is invalid when CutMix is drawn: expected (H, W) (inputs (B, ..., H, W))")
        height, width = image_size
        if self.cutmix_minmax is None:
            drawn = sample_boxes(lam, height, width, generator=gen)[0].cpu()
        else:
            drawn = self._minmax_boxes(units, height, width)
        boxes = torch.where(cut[:, None], drawn, 0)
        if self.correct_lam or self.cutmix_minmax is not None:
            area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            lam = torch.where(cut, 1 - area.double() / (height * width), lam)
        return MixParams(lam=lam, cutmix=cut, boxes=boxes)

    def _coins(self, p: float, n: int) -> torch.Tensor:
        """n coins, True with probability p; draws only when 0 < p < 1."""
        if p in (0.0, 1.0):
            return torch.full((n,), p == 1.0)
        return (torch.rand(n, generator=self.generator, device=self.generator.device) < p).cpu()

    def _minmax_boxes(self, n: int, height: int, width: int) -> torch.Tensor:
        """Boxes with sides uniform in [int(size·min), int(size·max)) and a uniform position inside the image."""
        low, high = self.cutmix_minmax
        gen = self.generator
        sides = []
        for size in (height, width):
            if int(size * low) >= int(size * high):
                raise ValueError(
                    f"cutmix_minmax={self.cutmix_minmax!r} is invalid for {height}x{width} images: "
                    "expected int(size * min) < int(size * max) on both sides"
                )
            sides.append(torch.randint(int(size * low), int(size * high), (n,), generator=gen, device=gen.device).cpu())
        starts = [
            (torch.rand(n, dtype=torch.float64, generator=gen, device=gen.device).cpu() * (size - side + 1)).long()
            for size, side in zip((height, width), sides)
        ]
        return torch.stack([starts[0], starts[1], starts[0] + sides[0], starts[1] + sides[1]], dim=1)

    def _rows(self, params: MixParams, batch_size: int) -> MixParams:
        """The parameters of every row of the batch (row i is mixed with row B−1−i)."""
        units = self._units(batch_size)
        if not isinstance(params, MixParams) or any(
            t.shape[:1] != (units,) for t in (params.lam, params.cutmix, params.boxes)
        ):
            raise ValueError(
                f"params={params!r} is invalid: expected MixParams with {units} rows for mode "
                f"{self.mode!r} and a batch of {batch_size}"
            )
        if self._mode == "batch":
            unit = torch.zeros(batch_size, dtype=torch.long)
        elif self._mode == "pair":  # rows i and B−1−i share unit i; the middle row of an odd batch is unmixed
            rows = torch.arange(batch_size)
            unit = torch.minimum(rows, batch_size - 1 - rows)
            params = MixParams(
                lam=torch.cat([params.lam.double(), torch.ones(1, dtype=torch.float64)]),
                cutmix=torch.cat([params.cutmix, torch.zeros(1, dtype=torch.bool)]),
                boxes=torch.cat([params.boxes, torch.zeros(1, 4, dtype=torch.long)]),
            )
        else:  # elem, half: one unit per returned row; rows past them are not returned
            unit = torch.arange(batch_size).clamp(max=units - 1)
        return MixParams(lam=params.lam.double()[unit], cutmix=params.cutmix[unit], boxes=params.boxes[unit])

    def _apply(self, x: torch.Tensor, target: torch.Tensor, params: MixParams) -> tuple[torch.Tensor, torch.Tensor]:
        batch_size = x.shape[0]
        rows = self._rows(params, batch_size)
        kept = (batch_size + 1) // 2 if self._mode == "half" else batch_size
        targets = to_soft_targets(target, num_classes=self.num_classes, label_smoothing=self.label_smoothing)
        if bool((rows.lam == 1).all()):
            return (x if kept == batch_size else x[:kept]), targets[:kept]
        flip = torch.arange(batch_size - 1, -1, -1)
        lam = rows.lam[0] if self._mode == "batch" else rows.lam
        targets = _mix_rows(targets, lam.float().to(targets.device), flip.to(targets.device))[:kept]
        return self._mix_inputs(x, rows, kept, flip.to(x.device)), targets

    def _mix_inputs(self, x: torch.Tensor, rows: MixParams, kept: int, flip: torch.Tensor) -> torch.Tensor:
        """Rows 0..kept−1 of the mixed batch: blended with (or pasted from) row B−1−i."""
        rows = MixParams(*(t.to(x.device) for t in (rows.lam, rows.cutmix, rows.boxes)))
        blend_lam = torch.where(rows.cutmix, 1.0, rows.lam)
        cutting = bool(rows.cutmix.any())
        partner = x.index_select(0, flip[:kept]) if cutting or not x.is_floating_point() else None
        if bool((blend_lam == 1).all()):  # CutMix only: the paste below makes the new tensor
            mixed = x[:kept]
        elif x.is_floating_point():
            weight = blend_lam[0] if self._mode == "batch" else blend_lam
            mixed = _mix_rows(x, weight.float(), flip)
        else:  # integer images, as timm's fast collate mixes them: in float32, rounded half to even
            shape = (kept, *([1] * (x.ndim - 1)))
            w_own, w_partner = blend_lam[:kept].float().view(shape), (1 - blend_lam[:kept]).float().view(shape)
            mixed = (x[:kept].float() * w_own + partner.float() * w_partner).round_().to(x.dtype)
        if not cutting:
            return mixed
        if x.ndim < 3:
            raise ValueError(f"x of shape {tuple(x.shape)} is invalid for CutMix: expected (B, ..., H, W)")
        inside = _box_mask(rows.boxes[:kept], *x.shape[-2:], ndim=x.ndim)
        inside &= rows.cutmix[:kept].view(kept, *([1] * (x.ndim - 1)))
        return torch.where(inside, partner, mixed)

    def __call__(
        self, x: torch.Tensor, target: torch.Tensor, *, params: MixParams | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        check_batch(x, target)
        if params is None:
            params = self.sample_params(x.shape[0], tuple(x.shape[-2:]) if x.ndim >= 3 else None)
        return self._apply(x, target, params)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(mixup_alpha={self.mixup_alpha}, cutmix_alpha={self.cutmix_alpha}, "
            f"cutmix_minmax={self.cutmix_minmax}, prob={self.mix_prob}, switch_prob={self.switch_prob}, "
            f"mode={self.mode!r}, correct_lam={self.correct_lam}, label_smoothing={self.label_smoothing}, "
            f"num_classes={self.num_classes}, mixup_enabled={self.mixup_enabled})"
        )


class FastCollateMixup(Mixup):
    """timm's `FastCollateMixup`: a DataLoader `collate_fn` that mixes uint8 samples while collating.

    `mixer(samples)` with samples (image, label): image a uint8 array or tensor (C, H, W), label an
    int. Returns (uint8 images (B, C, H, W), soft targets (B, C) float32); in "half" mode only the
    first ⌈B/2⌉ rows. Mixed pixels are computed in float32 and rounded half to even, as timm does.

    When timm's `timm.data.mixup` is imported (timm's `create_loader` and `PrefetchLoader` import it), the
    mixer is made as a subclass of timm's `FastCollateMixup` too, so timm's `PrefetchLoader.mixup_enabled`
    (`--mixup-off-epoch` in timm's train.py) reaches it. timm is never imported here: without it the
    mixer is this class alone and works the same.
    """

    collates = True

    def __new__(cls, *args: Any, **kwargs: Any) -> FastCollateMixup:
        timm_class = _timm_fast_collate()
        if cls is FastCollateMixup and timm_class is not None:
            cls = _with_timm_base(timm_class)
        return super().__new__(cls)

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled by its state: the class timm's base gives it is rebuilt where it is unpickled."""
        return _restore_fast_collate, (dict(self.__dict__),)

    def __call__(
        self, batch: Sequence[tuple[Any, Any]], _: Any = None, *, params: MixParams | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        images, target = _collate_samples(batch)
        self._worker_id = reseed_in_worker(self.generator, self._worker_id)
        if params is None:
            params = self.sample_params(len(batch), tuple(images.shape[-2:]))
        return self._apply(images, target, params)


def _collate_samples(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The samples (image, label) as uint8 images (B, C, H, W) and int64 labels (B,), or a ValueError."""
    if not isinstance(batch, Sequence) or isinstance(batch, str) or len(batch) == 0:
        raise invalid("batch", type(batch).__name__, "a non-empty list of (image, label) samples")
    images, labels = [], []
    for i, sample in enumerate(batch):
        if isinstance(sample, (Mapping, str)) or not isinstance(sample, Sequence) or len(sample) < 2:
            raise invalid(f"batch[{i}]", type(sample).__name__, "an (image, label) sample as timm's datasets give")
        image, label = _as_tensor(sample[0]), _as_tensor(sample[1])
        if image is None or image.dtype != torch.uint8 or image.ndim != 3:
            got = type(sample[0]).__name__ if image is None else f"{tuple(image.shape)} {image.dtype}"
            raise invalid(f"batch[{i}][0]", got, "a uint8 image (C, H, W)")
        if images and image.shape != images[0].shape:
            raise invalid(f"batch[{i}][0].shape", tuple(image.shape), f"{tuple(images[0].shape)}, as batch[0]'s")
        if label is None or label.numel() != 1 or label.is_floating_point() or label.dtype == torch.bool:
            raise invalid(f"batch[{i}][1]", sample[1], "an integer class label")
        images.append(image)
        labels.append(label.reshape(()).long())
    return torch.stack(images), torch.stack(labels)


def _as_tensor(value: Any) -> torch.Tensor | None:
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def _timm_fast_collate() -> type | None:
    """timm's `FastCollateMixup` class if `timm.data.mixup` is imported (or `timm` is and it imports), else None."""
    module = sys.modules.get("timm.data.mixup")
    if module is None and "timm" in sys.modules:
        try:
            module = importlib.import_module("timm.data.mixup")
        except Exception:  # a timm that does not import (e.g. its torchvision missing) is as no timm
            return None
    found = getattr(module, "FastCollateMixup", None)
    return found if isinstance(found, type) else None


@functools.cache
def _with_timm_base(timm_class: type) -> type:
    """`FastCollateMixup` with timm's class as a further base: vicinal's methods come first; timm's checks pass."""
    namespace = {"__module__": __name__, "__doc__": FastCollateMixup.__doc__}
    return type("FastCollateMixup", (FastCollateMixup, timm_class), namespace)


def _restore_fast_collate(state: dict[str, Any]) -> FastCollateMixup:
    mixer = FastCollateMixup.__new__(FastCollateMixup)
    mixer.__dict__.update(state)
    return mixer
