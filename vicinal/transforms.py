"""Drop-in for torchvision v2's `MixUp` and `CutMix` batch transforms (arXiv 1710.09412, 1905.04899).

Change the import and keep the rest of a torchvision-v2 script::

    from vicinal.transforms import CutMix, MixUp   # was: from torchvision.transforms.v2 import CutMix, MixUp

    cutmix_or_mixup = v2.RandomChoice([CutMix(num_classes=N), MixUp(num_classes=N)])

    def collate_fn(batch):
        return cutmix_or_mixup(*default_collate(batch))

As torchvision's, they take a batch after collation: `t(images, labels)`, `t((images, labels))` or a
dict, and return the same structure with the images mixed and the labels turned into mixed soft labels
(B, num_classes), float; every other item passes through untouched. Labels (B,) are class indices
(`num_classes` needed); labels (B, num_classes) are mixed as given, as torchvision's: any rows of
finite values >= 0 (multi-hot too) when `num_classes` is given, rows of probabilities (summing to 1)
when it is None; floating labels keep their dtype, integer ones become float32. Row i is mixed with row i − 1 (the
batch must be shuffled). `labels_getter="default"` takes the second item of a tuple or list, or the
"labels" (else the first "label"-like) key of a dict (or of a dict second item); a callable receives
the same input as the transform. The images are the first tensor that is not the labels.

Differences that are on purpose:
- every draw comes from the transform's own `torch.Generator` (`seed=` or `generator=`), never the
  global RNG; in DataLoader worker processes it is reseeded once per worker;
- CutMix draws its box as `vicinal.cutmix` does: sides ⌊H·√(1−λ)⌋ × ⌊W·√(1−λ)⌋ around a uniform pixel
  centre, clipped (timm's geometry; torchvision's sides are even, 2·⌊side/2⌋); the labels are mixed with
  the kept share, as torchvision's;
- `alpha=0` leaves the images as they are (λ = 1), where torchvision's Beta distribution refuses it;
- images (B, C, H, W), or with more dimensions before H, W (videos (B, T, C, H, W));
- with `num_classes=None`, 2-D labels must be rows of probabilities (torchvision mixes any rows);
  `num_classes` is at most `vicinal.data.MAX_CLASSES`; negative or non-finite labels are refused;
- errors are ValueErrors in vicinal's wording; MixUp of integer images is refused at once (convert
  them to float first, e.g. `v2.ToDtype(torch.float32, scale=True)`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

from .core._checks import check_alpha, check_num_classes, invalid
from .core.batch import MixedBatch
from .core.cutmix import cutmix
from .core.generators import own_generator, reseed_in_worker
from .core.mixup import mixup
from .core.targets import _check_probability_rows

LabelsGetter = Literal["default"] | Callable[[Any], Any] | None


def find_labels(inputs: Any) -> Any:
    """torchvision's default labels getter: the labels of `(images, labels)`, or of a dict's label-like key."""
    if isinstance(inputs, (tuple, list)):
        if len(inputs) < 2:
            raise ValueError(f"inputs of length {len(inputs)} are invalid: expected (images, labels, ...)")
        inputs = inputs[1]
    if isinstance(inputs, torch.Tensor):
        return inputs
    if not isinstance(inputs, Mapping):
        raise ValueError(
            f"inputs={type(inputs).__name__} are invalid for labels_getter='default': expected (images, labels), "
            "or a dict (or an (images, dict) pair) with a 'labels' key"
        )
    keys = [key for key in inputs if isinstance(key, str)]
    key = (next((k for k in keys if k.lower() == "labels"), None)
           or next((k for k in keys if "label" in k.lower()), None))
    if key is None:
        raise ValueError(f"keys {list(inputs)} are invalid: expected a 'labels' key, or pass labels_getter=")
    return inputs[key]


class _BatchTransform:
    """The calling convention of torchvision's MixUp and CutMix; subclasses say how a batch is mixed."""

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        num_classes: int | None = None,
        labels_getter: LabelsGetter = "default",
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha)
        self.num_classes = None if num_classes is None else check_num_classes(num_classes)
        if labels_getter == "default":
            self._labels_getter = find_labels
        elif labels_getter is None or callable(labels_getter):
            self._labels_getter = labels_getter or (lambda _: None)
        else:
            raise ValueError(f"labels_getter={labels_getter!r} is invalid: expected 'default', a callable or None")
        self.generator = own_generator(seed=seed, generator=generator)
        self._worker_id: int | None = None

    def _mix(self, images: torch.Tensor, labels: torch.Tensor) -> MixedBatch:
        raise NotImplementedError

    def __call__(self, *inputs: Any) -> Any:
        if not inputs:
            raise ValueError(f"{type(self).__name__}() was called with no inputs: expected (images, labels)")
        structure = inputs if len(inputs) > 1 else inputs[0]
        labels = self._labels_getter(structure)
        self._check_labels(labels)
        leaves, spec = tree_flatten(structure)
        at_labels = next((i for i, leaf in enumerate(leaves) if leaf is labels), None)
        at_images = next((i for i, leaf in enumerate(leaves) if isinstance(leaf, torch.Tensor) and i != at_labels),
                         None)
        if at_labels is None or at_images is None:
            raise ValueError("inputs are invalid: expected a batch of images and its labels among them")
        images = leaves[at_images]
        if images.ndim < 4 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"images of shape {tuple(images.shape)} are invalid: expected a batch (B, C, H, W) with "
                f"B = {labels.shape[0]}, the batch size of the labels"
            )
        if labels.ndim == 2 and not labels.is_floating_point():
            labels = labels.float()
        if labels.ndim == 2:
            _check_label_rows(labels, probabilities=self.num_classes is None)
        self._worker_id = reseed_in_worker(self.generator, self._worker_id)
        batch = self._mix(images, labels)
        leaves[at_images], leaves[at_labels] = batch.inputs, batch.targets
        return tree_unflatten(leaves, spec)

    def _check_labels(self, labels: Any) -> None:
        if not isinstance(labels, torch.Tensor) or labels.ndim not in (1, 2):
            got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(
                f"labels={got} are invalid: expected a tensor of class indices (B,) or probabilities (B, num_classes)"
            )
        if labels.ndim == 1 and self.num_classes is None:
            raise ValueError("num_classes=None is invalid for class-index labels (B,): expected the number of classes")
        if labels.ndim == 2 and (labels.dtype == torch.bool or labels.is_complex()):
            raise invalid("labels.dtype", labels.dtype, "integer or floating labels (B, num_classes)")
        if labels.ndim == 2 and self.num_classes is not None and labels.shape[1] != self.num_classes:
            raise ValueError(
                f"labels of shape {tuple(labels.shape)} are invalid for num_classes={self.num_classes}: "
                f"expected (B, {self.num_classes}), or num_classes=None"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


def _check_label_rows(labels: torch.Tensor, *, probabilities: bool) -> None:
    """Floating labels (B, C): rows of probabilities, or (with num_classes given) any finite values >= 0."""
    if probabilities:
        _check_probability_rows(labels)
        return
    bad = ~(torch.isfinite(labels) & (labels >= 0)).all(dim=1)
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise invalid(f"labels[{i}]", labels[i].tolist(), "finite values >= 0 (scores, multi-hot or probabilities)")


class MixUp(_BatchTransform):
    """torchvision's `MixUp(*, alpha=1.0, num_classes=None, labels_getter="default")`, drawing from its own generator.

    λ ~ Beta(α, α) once per batch; images x̃ᵢ = λ·xᵢ + (1−λ)·xᵢ₋₁ (floating images), labels likewise.
    """

    def _mix(self, images: torch.Tensor, labels: torch.Tensor) -> MixedBatch:
        return mixup(images, labels, alpha=self.alpha, num_classes=_classes_for(labels, self.num_classes),
                     pairing="roll", generator=self.generator)


class CutMix(_BatchTransform):
    """torchvision's `CutMix(*, alpha=1.0, num_classes=None, labels_getter="default")`, drawing from its own generator.

    One box per batch: image i takes the box from image i − 1; labels mixed with the kept share λ.
    """

    def _mix(self, images: torch.Tensor, labels: torch.Tensor) -> MixedBatch:
        return cutmix(images, labels, alpha=self.alpha, num_classes=_classes_for(labels, self.num_classes),
                      pairing="roll", generator=self.generator)


def _classes_for(labels: torch.Tensor, num_classes: int | None) -> int | None:
    """The core's num_classes: for checked (B, C) labels None, so the core mixes them as given, in their dtype."""
    return None if labels.ndim == 2 else num_classes
