"""Vanilla and mixup GANs on 2-D toy data (arXiv 1710.09412 §3.7; the official demo's setting)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gan_metrics import ModeCoverage, ToyKind, mode_centres, mode_coverage, sample_toy


@dataclass(frozen=True)
class GanConfig:
    """One GAN run; defaults are the paper's demo."""

    data: ToyKind = "ring"  # "ring" (8 Gaussians) or "grid" (25 Gaussians)
    method: Literal["vanilla", "mixup"] = "vanilla"
    std: float = 0.01  # std of each Gaussian
    iterations: int = 20001  # generator steps
    d_steps: int = 5  # discriminator steps per generator step
    hidden: int = 512  # units per hidden layer (G and D)
    depth: int = 3  # hidden layers (G and D)
    latent: int = 2  # size of the Gaussian latent z
    batch_size: int = 128
    lr: float = 1e-3  # Adam, default settings otherwise
    lam_dist: Literal["uniform", "beta"] = "uniform"  # λ per example: U(0, mix_max) or Beta(alpha, alpha)
    mix_max: float = 1.0  # m of U(0, m)
    alpha: float = 1.0  # α of Beta(α, α)
    snapshots: tuple[int, ...] = (0, 5000, 10000, 20000)  # iterations whose samples are kept for plots
    eval_samples: int = 2500  # samples scored at every snapshot
    seed: int = 0
    threads: int | None = 1  # torch CPU threads while training (restored after); 2-D nets are too small to gain


def mlp(inputs: int, hidden: int, depth: int, outputs: int) -> nn.Sequential:
    """depth hidden layers of `hidden` ReLU units."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(inputs if i == 0 else hidden, hidden), nn.ReLU()]
    layers.append(nn.Linear(hidden, outputs))
    return nn.Sequential(*layers)


def draw_lambda(config: GanConfig, n: int, generator: torch.Generator) -> Tensor:
    """λ per example, the share of the real point in the discriminator's mixed input (and its target)."""
    if config.lam_dist == "uniform":
        return config.mix_max * torch.rand(n, 1, generator=generator)
    from vicinal.core import sample_lambda  # λ ~ Beta(α, α), seeded by the generator

    return sample_lambda(config.alpha, size=(n, 1), generator=generator)


@dataclass
class GanRun:
    """A finished run: its config, the samples at each snapshot and their mode coverage."""

    config: GanConfig
    samples: dict[int, Tensor]  # iteration -> (eval_samples, 2)
    coverage: dict[int, ModeCoverage]  # iteration -> coverage of those samples
    d_loss: list[float]  # discriminator loss per generator step (mean over its d_steps)
    g_loss: list[float]


def validate(config: GanConfig) -> None:
    """Raise ValueError on a config that cannot run."""
    if config.threads is not None and config.threads < 1:
        raise ValueError(f"GanConfig.threads must be ≥ 1 or None, got {config.threads}")
    for name in ("iterations", "d_steps", "hidden", "depth", "latent", "batch_size", "eval_samples"):
        if getattr(config, name) <= 0:
            raise ValueError(f"GanConfig.{name} must be > 0, got {getattr(config, name)}")
    if config.method not in ("vanilla", "mixup"):
        raise ValueError(f"GanConfig.method must be 'vanilla' or 'mixup', got {config.method!r}")
    if config.lam_dist not in ("uniform", "beta"):
        raise ValueError(f"GanConfig.lam_dist must be 'uniform' or 'beta', got {config.lam_dist!r}")
    if not 0 < config.mix_max <= 1:
        raise ValueError(f"GanConfig.mix_max must be in (0, 1], got {config.mix_max}")
    if config.lam_dist == "beta" and not config.alpha > 0:
        raise ValueError(f"GanConfig.alpha must be > 0 for lam_dist='beta', got {config.alpha}")


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU thread count set to `threads` inside the block and restored after (None: unchanged)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_gan(config: GanConfig, *, device: str | torch.device = "cpu") -> GanRun:
    """Train G and D with the non-saturating GAN loss; mixup trains D on mixed points with target λ."""
    validate(config)
    with cpu_threads(config.threads):
        return _train(config, torch.device(device))


def _train(config: GanConfig, device: torch.device) -> GanRun:
    seed_gen = torch.Generator().manual_seed(config.seed)
    torch_seed = int(torch.randint(2**31 - 1, (1,), generator=seed_gen))
    with torch.random.fork_rng(devices=[]):  # weight init without touching the caller's global RNG
        torch.manual_seed(torch_seed)
        gen = mlp(config.latent, config.hidden, config.depth, 2).to(device)
        disc = mlp(2, config.hidden, config.depth, 1).to(device)
    data_gen = torch.Generator().manual_seed(config.seed + 1)
    noise_gen = torch.Generator().manual_seed(config.seed + 2)
    eval_gen = torch.Generator().manual_seed(config.seed + 3)
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr)
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr)
    centres = mode_centres(config.data)
    fixed_z = torch.randn(config.eval_samples, config.latent, generator=eval_gen).to(device)
    run = GanRun(config, {}, {}, [], [])

    def snapshot(step: int) -> None:
        with torch.no_grad():
            points = gen(fixed_z).cpu()
        run.samples[step] = points
        run.coverage[step] = mode_coverage(points, centres, std=config.std)

    def latent(n: int) -> Tensor:
        return torch.randn(n, config.latent, generator=noise_gen).to(device)

    for step in range(config.iterations):
        if step in config.snapshots:
            snapshot(step)
        d_total = 0.0
        for _ in range(config.d_steps):
            real = sample_toy(config.data, config.batch_size, std=config.std, generator=data_gen).to(device)
            with torch.no_grad():
                fake = gen(latent(config.batch_size))
            if config.method == "mixup":
                lam = draw_lambda(config, config.batch_size, noise_gen).to(device)
                d_loss = F.binary_cross_entropy_with_logits(disc(lam * real + (1 - lam) * fake), lam)
            else:
                logits = disc(torch.cat([real, fake]))
                target = torch.cat([torch.ones(len(real), 1), torch.zeros(len(fake), 1)]).to(device)
                d_loss = F.binary_cross_entropy_with_logits(logits, target)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            d_total += float(d_loss.detach())
        fake_logits = disc(gen(latent(config.batch_size)))
        g_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        run.d_loss.append(d_total / config.d_steps)
        run.g_loss.append(float(g_loss.detach()))
    snapshot(config.iterations)
    return run
