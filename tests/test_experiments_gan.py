"""The GAN experiment's toy data and mode-coverage metric on known point sets, and a short GAN run."""

from __future__ import annotations

import math

import pytest
import torch

from vicinal.experiments.gan_metrics import mode_centres, mode_coverage, sample_toy
from vicinal.experiments.gan_train import GanConfig, train_gan


@pytest.mark.parametrize("kind, k", [("ring", 8), ("grid", 25)])
def test_true_mixture_covers_every_mode(kind: str, k: int) -> None:
    points = sample_toy(kind, 5000, std=0.01, generator=torch.Generator().manual_seed(0))
    cov = mode_coverage(points, mode_centres(kind), std=0.01)
    assert cov.num_modes == k and cov.modes_covered == k
    assert cov.high_quality_share == pytest.approx(1 - math.exp(-4.5), abs=0.006)  # mass within 3σ in 2-D
    assert sum(cov.counts) == pytest.approx(cov.high_quality_share * 5000)
    assert min(cov.counts) > 0.5 * 5000 / k  # uniform over the modes, within sampling noise


def test_collapse_onto_one_mode() -> None:
    centres = mode_centres("ring")
    points = centres[3] + 0.005 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(1))
    cov = mode_coverage(points, centres, std=0.01)
    assert cov.modes_covered == 1 and cov.counts[3] == 1000 and cov.high_quality_share == 1.0


def test_points_far_away_cover_nothing() -> None:
    points = torch.full((500, 2), 10.0)
    cov = mode_coverage(points, mode_centres("grid"), std=0.01)
    assert cov.modes_covered == 0 and cov.high_quality_share == 0.0 and sum(cov.counts) == 0


def test_a_handful_of_stray_samples_does_not_cover_a_mode() -> None:
    centres = mode_centres("ring")
    points = torch.cat([centres[0].expand(995, 2), centres[1].expand(5, 2)])  # fair share: 125 per mode
    cov = mode_coverage(points, centres, std=0.01, min_share=0.2)
    assert cov.modes_covered == 1 and cov.counts[1] == 5


def test_points_between_modes_are_not_high_quality() -> None:
    centres = mode_centres("ring")
    midpoints = (centres + centres.roll(1, dims=0)) / 2
    cov = mode_coverage(midpoints.repeat(100, 1), centres, std=0.01)
    assert cov.high_quality_share == 0.0 and cov.modes_covered == 0


def test_toy_samples_are_seeded() -> None:
    a = sample_toy("grid", 100, std=0.01, generator=torch.Generator().manual_seed(5))
    b = sample_toy("grid", 100, std=0.01, generator=torch.Generator().manual_seed(5))
    c = sample_toy("grid", 100, std=0.01, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("call, match", [
    (lambda: mode_coverage(torch.zeros(4, 3), mode_centres("ring"), std=0.01), r"samples must have shape \(N, 2\)"),
    (lambda: mode_coverage(torch.zeros(4, 2), torch.zeros(0, 2), std=0.01), "centres must have shape"),
    (lambda: mode_coverage(torch.zeros(4, 2), mode_centres("ring"), std=0.0), "std and radius_stds must be > 0"),
    (lambda: mode_coverage(torch.zeros(4, 2), mode_centres("ring"), std=0.1, min_share=2), "min_share must be in"),
    (lambda: mode_centres("spiral"), "toy data kind must be 'ring' or 'grid', got 'spiral'"),
    (lambda: sample_toy("ring", 0, std=0.01, generator=torch.Generator()), "n must be a positive number"),
    (lambda: train_gan(GanConfig(method="wgan")), "GanConfig.method must be"),
    (lambda: train_gan(GanConfig(iterations=0)), r"GanConfig.iterations must be > 0"),
    (lambda: train_gan(GanConfig(mix_max=0.0)), r"GanConfig.mix_max must be in \(0, 1\]"),
])
def test_bad_input_raises(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("method, lam_dist", [("vanilla", "uniform"), ("mixup", "uniform"), ("mixup", "beta")])
def test_short_gan_run_is_seeded_and_restores_threads(method: str, lam_dist: str) -> None:
    config = GanConfig(method=method, lam_dist=lam_dist, alpha=0.5, iterations=6, hidden=16, depth=1, d_steps=2,
                       batch_size=32, eval_samples=64, snapshots=(0, 3), std=0.05)
    threads = torch.get_num_threads()
    rng = torch.get_rng_state()
    a, b = train_gan(config), train_gan(config)
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    assert sorted(a.samples) == [0, 3, 6] and len(a.d_loss) == 6
    assert all(torch.equal(a.samples[s], b.samples[s]) for s in a.samples)
    other = train_gan(GanConfig(**{**config.__dict__, "seed": 1}))
    assert not torch.equal(a.samples[6], other.samples[6])


def test_lambda_draws_follow_their_distribution() -> None:
    from vicinal.experiments.gan_train import draw_lambda

    gen = torch.Generator().manual_seed(0)
    uniform = draw_lambda(GanConfig(lam_dist="uniform", mix_max=0.5), 20000, gen)
    assert uniform.shape == (20000, 1) and 0 <= float(uniform.min()) and float(uniform.max()) <= 0.5
    assert float(uniform.mean()) == pytest.approx(0.25, abs=0.005)
    beta = draw_lambda(GanConfig(lam_dist="beta", alpha=0.2), 20000, gen)
    assert float(beta.mean()) == pytest.approx(0.5, abs=0.01)
    assert float(beta.var()) == pytest.approx(1 / (4 * (2 * 0.2 + 1)), abs=0.01)  # Beta(α, α) variance
