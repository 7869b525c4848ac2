"""Tests of the λ sampler and the pairings of vicinal.core (arXiv 1710.09412)."""

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vicinal import sample_lambda, sample_pairing


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 8.0])
def test_lambda_matches_beta_moments(alpha):
    lam = sample_lambda(alpha, size=40_000, generator=gen()).double()
    variance = 1 / (4 * (2 * alpha + 1))
    # Standard error of the mean is sqrt(var/n) <= 0.0025; of the variance about 0.0008 here.
    assert lam.mean().item() == pytest.approx(0.5, abs=0.01)
    assert lam.var().item() == pytest.approx(variance, abs=0.004)
    assert 0 <= lam.min() and lam.max() <= 1


def distance_to_beta_cdf(lam: torch.Tensor, alpha: float) -> float:
    """sup |F_n − F| of λ against the exact Beta(α, α) CDF, over points λ's float32 values resolve.

    The points are quantiles of Beta(α, α) and fixed points near 0, ½ and 1, clipped to [1e-38, 1 − 1e-6]:
    below and above that float32 rounds λ to 0 or 1 (Beta(α, α) at tiny α has atoms there in float32).
    """
    beta = stats.beta(alpha, alpha)
    fixed = [1e-38, 1e-30, 1e-20, 1e-10, 1e-5, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.9, 1 - 1e-3, 1 - 1e-5]
    points = np.clip(np.concatenate([fixed, beta.ppf(np.linspace(0.02, 0.98, 49))]), 1e-38, 1 - 1e-6)
    sample = np.sort(lam.double().numpy())
    empirical = np.searchsorted(sample, points, side="right") / sample.size
    return float(np.max(np.abs(empirical - beta.cdf(points))))


@pytest.mark.parametrize("alpha", [1e-300, 1e-10, 1e-4, 0.01, 0.2, 1.0, 8.0, 1e4, 1e8])
def test_lambda_follows_the_exact_beta_law_at_every_alpha(alpha):
    lam = sample_lambda(alpha, size=20_000, generator=gen(1))
    assert 0 <= lam.min() and lam.max() <= 1
    # Dvoretzky–Kiefer–Wolfowitz: P(sup |F_n − F| > 0.015) <= 2·exp(−2·20000·0.015²) ≈ 2.5e-4.
    assert distance_to_beta_cdf(lam, alpha) < 0.015


@pytest.mark.parametrize("alpha", [1e-300, 1e-20])
def test_tiny_alpha_gives_the_ends_with_probability_one_half(alpha):
    lam = sample_lambda(alpha, size=20_000, generator=gen(2))
    assert ((lam == 0) | (lam == 1)).all()
    assert (lam == 1).float().mean().item() == pytest.approx(0.5, abs=0.015)
    assert sample_lambda(alpha, generator=gen(3)).item() in (0.0, 1.0)


@pytest.mark.parametrize("alpha", [1e20, 1e100, 1e308, 1.7976931348623157e308])
def test_huge_alpha_gives_one_half(alpha):
    # The standard deviation 1/(2·√(2α+1)) is far below float32's spacing at ½.
    assert (sample_lambda(alpha, size=1000, generator=gen(4)) == 0.5).all()
    assert sample_lambda(alpha, generator=gen(5)).item() == 0.5


@pytest.mark.parametrize("alpha", [1e-300, 1e-4, 0.3, 1.0, 8.0, 1e8, 1e308])
def test_one_lambda_equals_the_same_draw_as_a_tensor(alpha):
    # One λ is computed with Python floats, a shape (1,) in float64 tensors: the same draws must give the same λ.
    g_one, g_many = gen(5), gen(5)
    one = [sample_lambda(alpha, generator=g_one).item() for _ in range(20)]
    many = [sample_lambda(alpha, size=1, generator=g_many).item() for _ in range(20)]
    assert one == many


def test_lambda_is_float32_with_the_requested_shape_and_device():
    lam = sample_lambda(0.4, size=(3, 2), generator=gen(), device="cpu")
    assert lam.shape == (3, 2) and lam.dtype == torch.float32 and lam.device.type == "cpu"
    assert sample_lambda(0.4, generator=gen()).shape == ()


def test_small_alpha_pushes_lambda_to_the_ends_and_never_nan():
    lam = sample_lambda(0.01, size=20_000, generator=gen())
    assert torch.isfinite(lam).all()
    assert ((lam < 0.01) | (lam > 0.99)).float().mean() > 0.9


def test_alpha_zero_is_exactly_one():
    assert torch.equal(sample_lambda(0, size=5, generator=gen()), torch.ones(5))


def test_same_seed_same_lambda_other_seed_other_lambda():
    a, b, c = (sample_lambda(1.0, size=8, generator=gen(s)) for s in (3, 3, 4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_lambda_does_not_touch_the_global_rng():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    sample_lambda(1.0, size=10, generator=gen())
    sample_lambda(1.0, size=10)  # no generator: a fresh OS-seeded one, still not the global state
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize("alpha", [-0.1, math.nan, math.inf, "1", None, True])
def test_bad_alpha_is_refused(alpha):
    with pytest.raises(ValueError, match=f"alpha={re.escape(repr(alpha))} is invalid: expected a finite number >= 0"):
        sample_lambda(alpha)


def test_numpy_scalars_are_numbers():
    assert sample_lambda(np.float32(0.0), generator=gen()).item() == 1.0
    index = sample_pairing("knn", batch_size=3, generator=gen(), features=torch.eye(3), knn_k=np.int64(1))
    assert index.shape == (3,)


def test_bad_size_is_refused():
    with pytest.raises(ValueError, match="size=\\(-1,\\) is invalid: expected an int or a sequence of ints >= 0"):
        sample_lambda(1.0, size=(-1,))


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(0, 40), pairing=st.sampled_from(["permutation", "flip", "roll"]), seed=st.integers(0, 99))
def test_pairings_without_labels_are_permutations(batch, pairing, seed):
    index = sample_pairing(pairing, batch_size=batch, generator=gen(seed))
    assert index.dtype == torch.long and index.shape == (batch,)
    assert torch.equal(index.sort().values, torch.arange(batch))


def test_flip_and_roll_are_the_fixed_pairings():
    assert sample_pairing("flip", batch_size=5, generator=gen()).tolist() == [4, 3, 2, 1, 0]
    assert sample_pairing("roll", batch_size=5, generator=gen()).tolist() == [4, 0, 1, 2, 3]


def test_permutation_is_uniform():
    # Over many draws each row's partner is every row about equally often.
    counts = torch.zeros(4, 4)
    g = gen()
    for _ in range(4000):
        index = sample_pairing("permutation", batch_size=4, generator=g)
        counts[torch.arange(4), index] += 1
    assert torch.allclose(counts / 4000, torch.full((4, 4), 0.25), atol=0.03)


@settings(max_examples=25, deadline=None)
@given(labels=st.lists(st.integers(0, 3), min_size=1, max_size=30), seed=st.integers(0, 99))
def test_same_class_partners_share_the_label_and_form_a_permutation(labels, seed):
    labels = torch.tensor(labels)
    index = sample_pairing("same_class", batch_size=len(labels), generator=gen(seed), labels=labels)
    assert torch.equal(labels[index], labels)
    assert torch.equal(index.sort().values, torch.arange(len(labels)))


def test_same_class_mixes_within_large_classes():
    labels = torch.tensor([0] * 50 + [1] * 50)
    index = sample_pairing("same_class", batch_size=100, generator=gen(), labels=labels)
    assert (index != torch.arange(100)).float().mean() > 0.9


@pytest.mark.parametrize("k", [1, 3, 10])
def test_knn_partner_is_among_the_k_nearest_others(k):
    features = torch.randn(20, 5, generator=gen(1))
    index = sample_pairing("knn", batch_size=20, generator=gen(2), features=features, knn_k=k)
    distance = torch.cdist(features, features).fill_diagonal_(float("inf"))
    kth = distance.sort(dim=1).values[:, k - 1]
    assert (index != torch.arange(20)).all()
    assert (distance[torch.arange(20), index] <= kth + 1e-6).all()


def test_knn_with_k_one_is_the_nearest_neighbour():
    features = torch.tensor([[0.0], [1.0], [10.0], [10.5]])
    index = sample_pairing("knn", batch_size=4, generator=gen(), features=features, knn_k=1)
    assert index.tolist() == [1, 0, 3, 2]


def test_same_class_knn_stays_in_class_and_lone_rows_keep_themselves():
    features = torch.tensor([[0.0], [1.0], [1.1], [5.0]])
    labels = torch.tensor([0, 1, 0, 2])
    index = sample_pairing("same_class_knn", batch_size=4, generator=gen(), features=features, labels=labels, knn_k=1)
    assert index.tolist() == [2, 1, 0, 3]


@pytest.mark.parametrize("pairing", ["permutation", "flip", "roll", "same_class", "knn", "same_class_knn"])
def test_empty_batch_gives_an_empty_index(pairing):
    index = sample_pairing(pairing, batch_size=0, generator=gen(), labels=torch.zeros(0, dtype=torch.long),
                           features=torch.zeros(0, 3))
    assert index.shape == (0,) and index.dtype == torch.long


def test_batch_of_one_pairs_with_itself():
    for pairing in ("permutation", "flip", "roll"):
        assert sample_pairing(pairing, batch_size=1, generator=gen()).tolist() == [0]
    assert sample_pairing("knn", batch_size=1, generator=gen(), features=torch.ones(1, 3)).tolist() == [0]


def test_pairing_errors():
    with pytest.raises(ValueError, match="pairing='random' is invalid: expected one of 'permutation', 'flip'"):
        sample_pairing("random", batch_size=3)
    with pytest.raises(ValueError, match="knn_k=0 is invalid: expected an integer >= 1"):
        sample_pairing("knn", batch_size=3, features=torch.ones(3, 2), knn_k=0)
    message = re.escape("labels=None is invalid: expected class labels of shape (3,) for pairing='same_class'")
    with pytest.raises(ValueError, match=message):
        sample_pairing("same_class", batch_size=3)
    with pytest.raises(ValueError, match="features.shape=\\(2, 2\\) is invalid: expected batch size 3 first"):
        sample_pairing("knn", batch_size=3, features=torch.ones(2, 2))
    with pytest.raises(ValueError, match="generator=0 is invalid: expected a torch.Generator or None"):
        sample_pairing("permutation", batch_size=3, generator=0)


def test_samplers_refuse_what_torch_would_trip_on():
    with pytest.raises(ValueError, match="labels.dtype=torch.float32 is invalid: expected an integer dtype"):
        sample_pairing("same_class", batch_size=3, labels=torch.tensor([0.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="size=2.0 is invalid: expected an int or a sequence of ints >= 0"):
        sample_lambda(1.0, size=2.0)
    with pytest.raises(ValueError, match="device='nowhere' is invalid: expected a torch.device"):
        sample_lambda(1.0, device="nowhere")
    with pytest.raises(ValueError, match="batch_size=3.0 is invalid: expected an integer >= 0"):
        sample_pairing("permutation", batch_size=3.0)
