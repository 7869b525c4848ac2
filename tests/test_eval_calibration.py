"""Tests of vicinal.eval.calibration: ECE against an independent numpy reference, hand-computed cases, invariants."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import vicinal.eval.calibration as calibration
from vicinal.eval import expected_calibration_error, reliability_bins


def numpy_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    """Reference ECE: an explicit loop over bins (lo, hi], confidence 0 counted in the first bin."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for b in range(n_bins):
        in_bin = (confidence > edges[b]) & (confidence <= edges[b + 1])
        if b == 0:
            in_bin |= confidence == 0.0
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return total


def random_predictions(seed: int, n: int = 500, classes: int = 10, temperature: float = 2.0):
    gen = torch.Generator().manual_seed(seed)
    probs = (temperature * torch.randn(n, classes, generator=gen, dtype=torch.float64)).softmax(dim=1)
    labels = torch.randint(0, classes, (n,), generator=gen)
    return probs, labels


@pytest.mark.parametrize("n_bins", [1, 10, 15, 100])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_numpy_reference(seed, n_bins):
    probs, labels = random_predictions(seed)
    expected = numpy_ece(probs.numpy(), labels.numpy(), n_bins)
    assert expected > 0
    assert expected_calibration_error(probs, labels, n_bins=n_bins) == pytest.approx(expected, abs=1e-12)


def test_docstring_example_pins_a_hand_computed_value():
    result = doctest.testmod(calibration)
    assert result.attempted >= 3 and result.failed == 0


def test_perfectly_calibrated_and_fully_confident_cases():
    # 75% confidence, 3 of 4 right in each block: calibrated.
    probs = torch.tensor([[0.75, 0.25]] * 8)
    labels = torch.tensor([0, 0, 0, 1] * 2)
    assert expected_calibration_error(probs, labels) == pytest.approx(0.0, abs=1e-12)
    one_hot = torch.eye(3)[[0, 1, 2, 0]]
    assert expected_calibration_error(one_hot, torch.tensor([0, 1, 2, 0])) == pytest.approx(0.0, abs=1e-12)
    assert expected_calibration_error(one_hot, torch.tensor([1, 2, 0, 1])) == pytest.approx(1.0)


def test_numpy_arrays_lists_and_tensors_agree():
    probs, labels = random_predictions(3, n=50)
    from_tensor = expected_calibration_error(probs.float(), labels)
    assert expected_calibration_error(probs.float().numpy(), labels.numpy()) == pytest.approx(from_tensor)
    assert expected_calibration_error(probs.float().tolist(), labels.tolist()) == pytest.approx(from_tensor)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 64), classes=st.integers(1, 6), n_bins=st.integers(1, 20))
def test_bins_are_consistent_and_ece_is_in_the_unit_interval(seed, n, classes, n_bins):
    probs, labels = random_predictions(seed, n=n, classes=classes)
    bins = reliability_bins(probs, labels, n_bins=n_bins)
    assert bins["count"].sum() == n and bins["edges"].shape == (n_bins + 1,)
    empty = bins["count"] == 0
    assert np.isnan(bins["accuracy"][empty]).all() and not np.isnan(bins["accuracy"][~empty]).any()
    filled_conf = bins["confidence"][~empty]
    low, high = bins["edges"][:-1][~empty], bins["edges"][1:][~empty]
    assert ((filled_conf >= low - 1e-12) & (filled_conf <= high + 1e-12)).all()
    weighted_gap = (bins["count"][~empty] / n * np.abs(bins["accuracy"][~empty] - filled_conf)).sum()
    assert bins["ece"] == pytest.approx(weighted_gap, abs=1e-12)
    assert 0.0 <= bins["ece"] <= 1.0
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    shuffled = expected_calibration_error(probs[order], labels[order], n_bins=n_bins)
    assert shuffled == pytest.approx(bins["ece"], abs=1e-12)


def test_inputs_are_not_changed():
    probs, labels = random_predictions(4, n=20)
    probs_before, labels_before = probs.clone(), labels.clone()
    expected_calibration_error(probs, labels)
    assert torch.equal(probs, probs_before) and torch.equal(labels, labels_before)


@pytest.mark.parametrize(
    ("probs", "labels", "n_bins", "match"),
    [
        (torch.full((3,), 0.5), torch.zeros(3), 15, r"probs must have shape \(N, C\) with N >= 1, got \(3,\)"),
        (torch.zeros(0, 2), torch.zeros(0), 15, r"N >= 1, got \(0, 2\)"),
        (torch.full((3, 2), 0.5), torch.zeros(4), 15, r"labels must have shape \(3,\) to match probs, got \(4,\)"),
        (torch.tensor([[2.0, -1.0]]), torch.zeros(1), 15, r"probabilities in \[0, 1\] \(apply softmax"),
        (torch.tensor([[float("nan"), 1.0]]), torch.zeros(1), 15, "must be finite"),
        (torch.full((2, 2), 0.5), torch.tensor([0, 2]), 15, r"labels must be integers in \[0, 1\]"),
        (torch.full((2, 2), 0.5), torch.tensor([0.5, 1.0]), 15, "labels must be integers"),
        (torch.full((2, 2), 0.5), torch.tensor([0, 1]), 0, "n_bins must be an integer >= 1, got 0"),
    ],
)
def test_bad_input_raises_value_error(probs, labels, n_bins, match):
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(probs, labels, n_bins=n_bins)
