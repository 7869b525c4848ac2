"""The GAN experiment's toy data and mode-coverage metric on known point sets, the official demo's objectives on a
hand-computed case, and a short GAN run."""

from __future__ import annotations

import math

import pytest
import torch

from vicinal.experiments.gan_metrics import mode_centres, mode_coverage, sample_toy
from vicinal.experiments.gan_train import (
    GanConfig,
    discriminator_loss,
    generator_loss,
    mix_pairwise,
    real_fake_batch,
    train_gan,
)


@pytest.mark.parametrize("kind, k", [("ring", 8), ("grid", 25)])
def test_true_mixture_covers_every_mode(kind: str, k: int) -> None:
    points = sample_toy(kind, 5000, std=0.01, generator=torch.Generator().manual_seed(0))
    cov = mode_coverage(points, mode_centres(kind), radius=0.03)
    assert cov.num_modes == k and cov.modes_covered == k
    assert cov.share_within == pytest.approx(1 - math.exp(-4.5), abs=0.006)  # mass within 3σ in 2-D
    assert sum(cov.counts) == pytest.approx(cov.share_within * 5000)
    assert min(cov.counts) > 0.5 * 5000 / k  # uniform over the modes, within sampling noise


def test_collapse_onto_one_mode() -> None:
    centres = mode_centres("ring")
    points = centres[3] + 0.005 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(1))
    cov = mode_coverage(points, centres, radius=0.03)
    assert cov.modes_covered == 1 and cov.counts[3] == 1000 and cov.share_within == 1.0


def test_points_far_away_cover_nothing() -> None:
    points = torch.full((500, 2), 10.0)
    cov = mode_coverage(points, mode_centres("grid"), radius=0.1)
    assert cov.modes_covered == 0 and cov.share_within == 0.0 and sum(cov.counts) == 0


def test_a_handful_of_stray_samples_does_not_cover_a_mode() -> None:
    centres = mode_centres("ring")
    points = torch.cat([centres[0].expand(995, 2), centres[1].expand(5, 2)])  # fair share: 125 per mode
    cov = mode_coverage(points, centres, radius=0.03, min_share=0.2)
    assert cov.modes_covered == 1 and cov.counts[1] == 5


def test_points_between_modes_are_near_no_mode() -> None:
    centres = mode_centres("ring")
    midpoints = (centres + centres.roll(1, dims=0)) / 2
    cov = mode_coverage(midpoints.repeat(100, 1), centres, radius=0.1)
    assert cov.share_within == 0.0 and cov.modes_covered == 0


def test_toy_samples_are_seeded() -> None:
    a = sample_toy("grid", 100, std=0.01, generator=torch.Generator().manual_seed(5))
    b = sample_toy("grid", 100, std=0.01, generator=torch.Generator().manual_seed(5))
    c = sample_toy("grid", 100, std=0.01, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("call, match", [
    (lambda: mode_coverage(torch.zeros(4, 3), mode_centres("ring"), radius=0.1), r"samples.shape=\(4, 3\) is invalid"),
    (lambda: mode_coverage(torch.zeros(4, 2), torch.zeros(0, 2), radius=0.1), r"centres.shape=\(0, 2\) is invalid"),
    (lambda: mode_coverage(torch.zeros(4, 2), mode_centres("ring"), radius=0.0), "radius=0.0 is invalid"),
    (lambda: mode_coverage(torch.zeros(4, 2), mode_centres("ring"), radius=0.1, min_share=2), "min_share=2 is invalid"),
    (lambda: mode_centres("spiral"), "toy data kind must be 'ring' or 'grid', got 'spiral'"),
    (lambda: sample_toy("ring", 0, std=0.01, generator=torch.Generator()), "n must be a positive number"),
    (lambda: train_gan(GanConfig(iterations=0)), r"GanConfig.iterations=0 is invalid: expected an integer > 0"),
    (lambda: train_gan(GanConfig(mix_max=1.5)), r"GanConfig.mix_max=1.5 is invalid: expected a number in \[0, 1\]"),
    (lambda: train_gan(GanConfig(std=0.0)), r"GanConfig.std=0.0 is invalid"),
])
def test_bad_input_raises(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# A hand-computed case of the demo's objectives: D(x) = x₁ − x₂ (logits), one real point (1, 0), one fake (0, 1).
REAL, FAKE = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])


def linear_d(points: torch.Tensor) -> torch.Tensor:
    return (points[:, :1] - points[:, 1:]).clone()


def softplus(z: float) -> float:
    return math.log1p(math.exp(z))


def test_real_fake_batch_labels_real_one_and_fake_zero_and_shuffles() -> None:
    real, fake = torch.randn(50, 2), torch.randn(50, 2) + 10
    points, labels = real_fake_batch(real, fake, generator=torch.Generator().manual_seed(0))
    assert points.shape == (100, 2) and labels.shape == (100, 1)
    assert torch.equal(labels[:, 0], (points[:, 0] < 5).float())  # every real point labelled 1, every fake 0
    assert not torch.equal(labels[:, 0], torch.cat([torch.ones(50), torch.zeros(50)]))  # shuffled
    assert torch.equal(points[labels[:, 0] == 1].sort(0).values, real.sort(0).values)


def test_discriminator_and_generator_losses_on_a_hand_computed_case() -> None:
    points, labels = torch.cat([REAL, FAKE]), torch.tensor([[1.0], [0.0]])
    # BCE(z, t) = softplus(z) − t·z: real z = 1, t = 1 → softplus(−1); fake z = −1, t = 0 → softplus(−1)
    expected = softplus(-1.0)
    assert float(discriminator_loss(linear_d(points), labels)) == pytest.approx(expected)
    assert float(generator_loss(linear_d(points), labels)) == pytest.approx(-expected)  # minus D's loss


def test_mixed_discriminator_batch_on_a_hand_computed_case() -> None:
    first = (torch.cat([REAL, FAKE]), torch.tensor([[1.0], [0.0]]))
    second = (torch.cat([FAKE, REAL]), torch.tensor([[0.0], [1.0]]))
    lam = torch.tensor([[0.25], [0.5]])
    points, labels = mix_pairwise(first, second, lam)
    assert torch.allclose(points, torch.tensor([[0.25, 0.75], [0.5, 0.5]]))
    assert torch.allclose(labels, torch.tensor([[0.25], [0.5]]))
    # logits −0.5 and 0: (softplus(−0.5) + 0.25·0.5 + softplus(0) − 0) / 2
    expected = (softplus(-0.5) + 0.125 + math.log(2)) / 2
    assert float(discriminator_loss(linear_d(points), labels)) == pytest.approx(expected)


def test_generator_loss_is_the_saturating_form_on_its_fake_points() -> None:
    fake = FAKE.clone().requires_grad_(True)
    loss = generator_loss(linear_d(torch.cat([REAL, fake])), torch.tensor([[1.0], [0.0]]))
    loss.backward()
    # d/dz of −softplus(z)/2 at the fake's logit z = −1 is −σ(−1)/2; dz/dfake = (1, −1)
    slope = -1 / (1 + math.e) / 2
    assert torch.allclose(fake.grad, torch.tensor([[slope, -slope]]))


@pytest.mark.parametrize("mix_max", [0.0, 0.2])
def test_short_gan_run_is_seeded_and_restores_threads(mix_max: float) -> None:
    config = GanConfig(mix_max=mix_max, iterations=6, hidden=16, depth=1, d_steps=2, batch_size=32, eval_samples=64,
                       snapshot_every=3, std=0.05)
    threads = torch.get_num_threads()
    rng = torch.get_rng_state()
    a, b = train_gan(config), train_gan(config)
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    assert sorted(a.samples) == [0, 3, 6] and len(a.d_loss) == len(a.g_loss) == 6
    assert all(torch.equal(a.samples[s], b.samples[s]) for s in a.samples)
    other = train_gan(GanConfig(**{**config.__dict__, "seed": 1}))
    assert not torch.equal(a.samples[6], other.samples[6])


def test_gans_trained_two_at_a_time_equal_those_trained_in_turn() -> None:
    from dataclasses import replace

    from vicinal.experiments.gan import train_gans

    base = GanConfig(iterations=4, hidden=16, depth=1, d_steps=1, batch_size=16, eval_samples=32, snapshot_every=2)
    configs = [replace(base, mix_max=m, seed=s) for m in (0.0, 0.2) for s in (0, 1)]
    in_turn, two = train_gans(configs, processes=1, device="cpu"), train_gans(configs, processes=2, device="cpu")
    assert all(torch.equal(a.samples[4], b.samples[4]) and a.d_loss == b.d_loss for a, b in zip(in_turn, two))
