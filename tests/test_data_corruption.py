"""Tests of label corruption (the memorization study's protocol): exact count, uniform labels, seeded, pure."""

import math

import pytest
import torch

from vicinal.data import corrupt_labels


def labels(n=1000, classes=10, seed=0):
    return torch.randint(classes, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 0.8, 1.0, 0.0005, 0.0015])
def test_exactly_round_fraction_chosen(fraction):
    y = labels()
    noisy, mask = corrupt_labels(y, fraction=fraction, num_classes=10, generator=torch.Generator().manual_seed(1))
    assert int(mask.sum()) == round(fraction * len(y))
    assert torch.equal(noisy[~mask], y[~mask])
    assert noisy.dtype == y.dtype and mask.dtype == torch.bool


def test_never_mutates_input():
    y = labels()
    copy = y.clone()
    corrupt_labels(y, fraction=0.5, num_classes=10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(y, copy)


def test_replacements_are_uniform_and_may_keep_the_true_label():
    y = torch.zeros(20000, dtype=torch.int64)  # all class 0: any bias toward the true label would show
    result = corrupt_labels(y, fraction=1.0, num_classes=10, generator=torch.Generator().manual_seed(2))
    counts = result.noisy_labels.bincount(minlength=10).double()
    assert (counts - 2000).abs().max() < 5 * math.sqrt(2000 * 0.9)  # 5 binomial standard deviations
    assert result.changed_fraction == pytest.approx(0.9, abs=0.015)
    assert torch.equal(result.changed_mask, result.noisy_labels != y)
    assert bool(result.corrupted_mask.all())


def test_chosen_positions_are_spread_uniformly():
    y = labels(10000)
    _, mask = corrupt_labels(y, fraction=0.3, num_classes=10, generator=torch.Generator().manual_seed(3))
    per_block = mask.view(10, 1000).sum(1).double()  # 300 expected in each tenth
    assert (per_block - 300).abs().max() < 5 * math.sqrt(300 * 0.7)


def test_seeded():
    y = labels()
    a = corrupt_labels(y, fraction=0.4, num_classes=10, generator=torch.Generator().manual_seed(7))
    b = corrupt_labels(y, fraction=0.4, num_classes=10, generator=torch.Generator().manual_seed(7))
    c = corrupt_labels(y, fraction=0.4, num_classes=10, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


@pytest.mark.parametrize("kwargs, fault", [
    ({"fraction": -0.1}, r"fraction must be in \[0, 1\], got -0.1"),
    ({"fraction": 1.5}, "fraction must be in"),
    ({"fraction": float("nan")}, "fraction must be in"),
    ({"num_classes": 0}, "num_classes must be a positive int, got 0"),
    ({"num_classes": 5}, r"labels must be in \[0, 4\]"),
    ({"generator": None}, "generator must be a torch.Generator, got NoneType"),
])
def test_bad_arguments(kwargs, fault):
    options = {"fraction": 0.5, "num_classes": 10, "generator": torch.Generator()} | kwargs
    with pytest.raises(ValueError, match=fault):
        corrupt_labels(labels(), **options)


def test_float_labels_refused():
    with pytest.raises(ValueError, match="y must be a 1-D integer tensor"):
        corrupt_labels(torch.zeros(4), fraction=0.5, num_classes=2, generator=torch.Generator())
