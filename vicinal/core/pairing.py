"""Partner samplers of mixup: which row each row of a batch is mixed with (arXiv 1710.09412, Sec. 3.8 ablations)."""

from __future__ import annotations

import torch

from ._checks import (
    PAIRINGS,
    Pairing,
    check_choice,
    check_integer_dtype,
    check_positive_int,
    check_tensor,
    invalid,
    is_integer,
    resolve_device,
)
from .generators import own_generator


def sample_pairing(
    pairing: Pairing,
    *,
    batch_size: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    labels: torch.Tensor | None = None,
    features: torch.Tensor | None = None,
    knn_k: int = 200,
) -> torch.Tensor:
    """Return `index` (LongTensor (B,)): row i is mixed with row index[i].

    - "permutation": a uniformly random permutation of the batch (the paper's choice).
    - "flip": row i with row B-1-i (timm's cheap pairing; the middle row of an odd batch keeps itself).
    - "roll": row i with row i-1 (cyclically).
    - "same_class": a random permutation within each class (`labels` (B,) needed; the paper's SC ablation).
    - "knn": a uniformly random one of the `knn_k` nearest other rows in `features` (B, D) by
      Euclidean distance (the paper's KNN ablation, within the batch; k is capped at B-1).
    - "same_class_knn": as "knn", among rows of the same class only (the paper's SC+KNN).
    A row with no admissible partner is paired with itself.
    """
    check_choice("pairing", pairing, PAIRINGS)
    knn_k = check_positive_int("knn_k", knn_k)
    if not is_integer(batch_size) or batch_size < 0:
        raise invalid("batch_size", batch_size, "an integer >= 0")
    batch_size = int(batch_size)
    gen = own_generator(generator=generator)
    device = resolve_device(device, gen.device)
    if "same_class" in pairing:
        if labels is None:
            raise invalid("labels", labels, f"class labels of shape ({batch_size},) for pairing={pairing!r}")
        if check_tensor("labels", labels).shape != (batch_size,):
            raise invalid("labels.shape", tuple(labels.shape), f"({batch_size},)")
        check_integer_dtype("labels", labels)
    if "knn" in pairing:
        if features is None:
            raise invalid("features", features, f"a tensor of batch size {batch_size} for pairing={pairing!r}")
        if check_tensor("features", features).ndim < 1 or features.shape[0] != batch_size:
            raise invalid("features.shape", tuple(features.shape), f"batch size {batch_size} first")
    return _draw_pairing(pairing, batch_size, gen, device, labels=labels, features=features, knn_k=knn_k)


def _draw_pairing(
    pairing: str,
    batch_size: int,
    gen: torch.Generator,
    device: torch.device,
    *,
    labels: torch.Tensor | None,
    features: torch.Tensor | None,
    knn_k: int,
) -> torch.Tensor:
    """sample_pairing without validation: every argument is trusted."""
    if pairing == "permutation":
        index = torch.randperm(batch_size, generator=gen, device=gen.device)
        return index if gen.device == device else index.to(device)
    if pairing == "flip":
        return torch.arange(batch_size - 1, -1, -1, device=device)
    if pairing == "roll":
        return (torch.arange(batch_size, device=device) - 1) % max(batch_size, 1)
    if pairing == "same_class":
        return _permutation_within_classes(labels.to(device), gen)
    return _knn_partners(features.to(device), labels, knn_k, gen, same_class=pairing == "same_class_knn")


def _class_ordering(labels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Row ids grouped by class, in a random order within each class."""
    shuffled = torch.randperm(labels.shape[0], generator=gen, device=gen.device).to(labels.device)
    return shuffled[torch.argsort(labels[shuffled], stable=True)]


def _permutation_within_classes(labels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    # The k-th member of class c in one random order is paired with the k-th in another:
    # a uniformly random permutation inside every class, with no Python loop over classes.
    index = torch.empty_like(labels, dtype=torch.long)
    index[_class_ordering(labels, gen)] = _class_ordering(labels, gen)
    return index


def _knn_partners(
    features: torch.Tensor, labels: torch.Tensor | None, k: int, gen: torch.Generator, *, same_class: bool
) -> torch.Tensor:
    batch_size = features.shape[0]
    rows = torch.arange(batch_size, device=features.device)
    k = min(k, batch_size - 1)
    if k <= 0:
        return rows
    flat = features.reshape(batch_size, -1).float()
    distance = torch.cdist(flat, flat)
    distance.fill_diagonal_(float("inf"))
    if same_class:
        labels = labels.to(features.device)
        distance.masked_fill_(labels[:, None] != labels[None, :], float("inf"))
    nearest, neighbours = distance.topk(k, dim=1, largest=False)
    admissible = nearest.isfinite().sum(dim=1)
    u = torch.rand(batch_size, generator=gen, device=gen.device).to(features.device)
    pick = (u * admissible).long().clamp(max=k - 1)
    chosen = neighbours.gather(1, pick[:, None]).squeeze(1)
    return torch.where(admissible > 0, chosen, rows)
