"""Vanilla and mixup GANs on 2-D toy data, with the objectives of the paper's official demo (arXiv 1710.09412 §3.7;
hongyi-zhang/mixup, gan/example_gan.py).

The demo's objectives: the discriminator sees real (label 1) and fake (label 0) points put together and shuffled;
with mixup of strength m > 0 it sees two such shuffled batches mixed pairwise, λ drawn per point uniformly on
(0, m), the labels mixed alike (so real–real, fake–fake and real–fake pairs all occur), under binary cross-entropy
with logits. The generator minimizes minus the same cross-entropy on an unmixed shuffled batch (the saturating
minimax form; only the fake points depend on it). m = 0 is the vanilla GAN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gan_metrics import ToyKind, sample_toy


@dataclass(frozen=True)
class GanConfig:
    """One GAN run; the defaults are the official demo's."""

    data: ToyKind = "ring"  # "ring" (8 Gaussians) or "grid" (25 Gaussians)
    mix_max: float = 0.0  # m: λ ~ U(0, m) per point of the discriminator's batch; 0 = vanilla GAN
    std: float = 0.01  # std of each Gaussian
    iterations: int = 20001  # generator steps
    d_steps: int = 5  # discriminator steps per generator step
    hidden: int = 512  # units per hidden layer (G and D)
    depth: int = 3  # hidden layers (G and D)
    latent: int = 2  # size of the Gaussian latent z
    batch_size: int = 128  # real points per batch, and as many fake ones
    lr: float = 1e-3  # Adam, default settings otherwise
    snapshot_every: int = 1000  # keep the generator's samples every this many iterations (and after the last)
    eval_samples: int = 2500  # samples kept at every snapshot (of one fixed latent batch)
    seed: int = 0
    threads: int | None = 1  # torch CPU threads while training (restored after); 2-D nets are too small to gain


def mlp(inputs: int, hidden: int, depth: int, outputs: int) -> nn.Sequential:
    """depth hidden layers of `hidden` ReLU units, then a linear output."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(inputs if i == 0 else hidden, hidden), nn.ReLU()]
    layers.append(nn.Linear(hidden, outputs))
    return nn.Sequential(*layers)


def real_fake_batch(real: Tensor, fake: Tensor, *, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The real points (label 1) and fake points (label 0) put together and shuffled: (points (2B, 2),
    labels (2B, 1))."""
    points = torch.cat([real, fake])
    labels = torch.cat([torch.ones(len(real), 1), torch.zeros(len(fake), 1)]).to(points)
    order = torch.randperm(len(points), generator=generator).to(points.device)
    return points[order], labels[order]


def mix_pairwise(first: tuple[Tensor, Tensor], second: tuple[Tensor, Tensor], lam: Tensor) -> tuple[Tensor, Tensor]:
    """λ·first + (1 − λ)·second, for the points and the labels alike; λ (N, 1), one per point."""
    return lam * first[0] + (1 - lam) * second[0], lam * first[1] + (1 - lam) * second[1]


def discriminator_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Binary cross-entropy with logits against the (possibly mixed) labels, mean over the batch."""
    return F.binary_cross_entropy_with_logits(logits, labels)


def generator_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Minus the discriminator's loss on an unmixed real + fake batch: the saturating minimax objective."""
    return -F.binary_cross_entropy_with_logits(logits, labels)


def check_gan_config(config: GanConfig) -> None:
    """Raise ValueError on a config that cannot run."""
    for name in ("iterations", "d_steps", "hidden", "depth", "latent", "batch_size", "eval_samples", "snapshot_every"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"GanConfig.{name}={value!r} is invalid: expected an integer > 0")
    if config.threads is not None and (not isinstance(config.threads, int) or config.threads < 1):
        raise ValueError(f"GanConfig.threads={config.threads!r} is invalid: expected an integer ≥ 1 or None")
    if not 0 <= config.mix_max <= 1:
        raise ValueError(f"GanConfig.mix_max={config.mix_max!r} is invalid: expected a number in [0, 1]")
    if not config.std > 0:
        raise ValueError(f"GanConfig.std={config.std!r} is invalid: expected a number > 0")
    if not config.lr > 0:
        raise ValueError(f"GanConfig.lr={config.lr!r} is invalid: expected a number > 0")


@dataclass
class GanRun:
    """A finished run: its config, the generator's samples at each snapshot and the losses."""

    config: GanConfig
    samples: dict[int, Tensor]  # iteration -> (eval_samples, 2), from one fixed latent batch
    d_loss: list[float]  # discriminator loss per generator step (mean over its d_steps)
    g_loss: list[float]


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


def snapshot_iterations(config: GanConfig) -> list[int]:
    """The iterations whose samples are scored: every ``snapshot_every``, from the first, and the last."""
    return sorted({*range(0, config.iterations, config.snapshot_every), config.iterations})


def train_gan(config: GanConfig, *, device: str | torch.device = "cpu") -> GanRun:
    """Train G and D with the demo's objectives (see the module's docstring); keep samples at the snapshots."""
    check_gan_config(config)
    with cpu_threads(config.threads):
        return _train(config, torch.device(device))


def _train(config: GanConfig, device: torch.device) -> GanRun:
    seeds = torch.Generator().manual_seed(config.seed)
    init_seed, data_seed, noise_seed, eval_seed = torch.randint(2**62, (4,), generator=seeds).tolist()
    with torch.random.fork_rng(devices=[]):  # weight init without touching the caller's global RNG
        torch.manual_seed(init_seed)
        gen = mlp(config.latent, config.hidden, config.depth, 2).to(device)
        disc = mlp(2, config.hidden, config.depth, 1).to(device)
    data_gen, noise_gen = torch.Generator().manual_seed(data_seed), torch.Generator().manual_seed(noise_seed)
    opt_g, opt_d = torch.optim.Adam(gen.parameters(), lr=config.lr), torch.optim.Adam(disc.parameters(), lr=config.lr)
    fixed_z = torch.randn(config.eval_samples, config.latent, generator=torch.Generator().manual_seed(eval_seed))
    run = GanRun(config, {}, [], [])
    snapshots = set(snapshot_iterations(config))

    def latent(n: int) -> Tensor:
        return torch.randn(n, config.latent, generator=noise_gen).to(device)

    def one_batch(fake_of: Callable[[Tensor], Tensor]) -> tuple[Tensor, Tensor]:
        real = sample_toy(config.data, config.batch_size, std=config.std, generator=data_gen).to(device)
        return real_fake_batch(real, fake_of(latent(config.batch_size)), generator=noise_gen)

    def d_batch() -> tuple[Tensor, Tensor]:
        with torch.no_grad():  # D's step does not train G
            first = one_batch(gen)
            if config.mix_max == 0:
                return first
            lam = config.mix_max * torch.rand(len(first[0]), 1, generator=noise_gen).to(device)
            return mix_pairwise(first, one_batch(gen), lam)

    for step in range(config.iterations + 1):
        if step in snapshots:
            with torch.no_grad():
                run.samples[step] = gen(fixed_z.to(device)).cpu()
        if step == config.iterations:
            break
        d_total = 0.0
        for _ in range(config.d_steps):
            points, labels = d_batch()
            d_loss = discriminator_loss(disc(points), labels)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            d_total += float(d_loss.detach())
        points, labels = one_batch(gen)
        g_loss = generator_loss(disc(points), labels)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        run.d_loss.append(d_total / config.d_steps)
        run.g_loss.append(float(g_loss.detach()))
    return run
