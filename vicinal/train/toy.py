"""The toy picture of mixup's Figure 1(b): p(y = 1 | x) of a small MLP trained with ERM and with mixup α = 1 on two
interleaved moons with a few flipped labels, drawn as heat maps side by side (Zhang et al., arXiv 1710.09412)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vicinal.core import mixup, soft_cross_entropy
from vicinal.core._checks import check_alpha, check_fraction, check_positive_int
from vicinal.core.generators import make_generator
from vicinal.eval.plots import new_figure, save_figure

MARGIN = 0.5  # how far the heat map reaches beyond the training points, in the data's units


@dataclass(frozen=True)
class ToySettings:
    """The toy problem and its training: every field has a default that trains both models in seconds on a CPU."""

    seed: int = 0  # the data (make_moons' random_state), the flipped labels, the initialization, the batches
    points: int = 200  # training points, half a moon each
    noise: float = 0.1  # std of make_moons' Gaussian noise
    flip: float = 0.05  # share of the training labels flipped to the other class
    hidden: int = 128  # units of each of the MLP's two hidden layers (the paper's tabular network)
    steps: int = 1000  # Adam steps of a minibatch
    batch_size: int = 50  # points a step
    lr: float = 3e-3  # Adam's learning rate
    alpha: float = 1.0  # mixup's Beta(α, α), one λ per minibatch as in the paper
    resolution: int = 80  # grid points per side of the heat map


@dataclass(frozen=True)
class Toy:
    """The trained toy: its data, the grid and each method's p(y = 1 | x) on it, plain values (JSON-able)."""

    points: list[list[float]]  # (N, 2) training points
    labels: list[int]  # the labels trained on (flipped ones included)
    flipped: list[bool]  # which labels were flipped
    extent: list[float]  # [x_min, x_max, y_min, y_max] of the grid
    maps: dict[str, list[list[float]]]  # method label -> p(y = 1 | x), rows from y_min up, columns from x_min right
    seconds: float  # wall-clock time of the data, both trainings and the grids

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(settings: ToySettings) -> None:
    for name in ("points", "hidden", "steps", "batch_size", "resolution"):
        check_positive_int(f"settings.{name}", getattr(settings, name))
    check_fraction("settings.flip", settings.flip)
    check_alpha(settings.alpha, "settings.alpha")
    if settings.points < 2 or settings.batch_size > settings.points:
        raise ValueError(f"settings.batch_size={settings.batch_size!r} is invalid: expected at most the "
                         f"{settings.points} points (and at least 2 points)")


def toy_data(settings: ToySettings) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two moons (scikit-learn's make_moons, seeded), standardized; a share ``flip`` of the labels flipped."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=settings.points, noise=settings.noise, random_state=settings.seed)
    x = (x - x.mean(0)) / x.std(0)
    flipped = torch.zeros(settings.points, dtype=torch.bool)
    flipped[torch.randperm(settings.points, generator=make_generator(settings.seed, "toy_flip"))[
        :round(settings.flip * settings.points)]] = True
    y = torch.as_tensor(y, dtype=torch.long)
    return torch.as_tensor(x, dtype=torch.float32), torch.where(flipped, 1 - y, y), flipped


def _train(x: torch.Tensor, y: torch.Tensor, settings: ToySettings, *, alpha: float) -> torch.nn.Module:
    """The MLP trained on (x, y) with Adam, each step a minibatch mixed with mixup α (α = 0: ERM)."""
    from vicinal.models import MLP

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)  # the same initialization for both methods
        model = MLP(num_classes=2, in_features=2, hidden=settings.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    order, mixing = make_generator(settings.seed, "toy_batches"), make_generator(settings.seed, "toy_mixing")
    per_epoch = len(y) // settings.batch_size
    for step in range(settings.steps):
        if step % per_epoch == 0:
            permutation = torch.randperm(len(y), generator=order)
        rows = permutation[(step % per_epoch) * settings.batch_size:][:settings.batch_size]
        if alpha > 0:
            batch = mixup(x[rows], y[rows], alpha=alpha, num_classes=2, generator=mixing)
            loss = soft_cross_entropy(model(batch.inputs), batch.targets)
        else:
            loss = F.cross_entropy(model(x[rows]), y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def train_toy(settings: ToySettings = ToySettings()) -> Toy:
    """Train the toy's MLP with ERM and with mixup α (same data, initialization and batches) and evaluate
    p(y = 1 | x) on a grid covering the points."""
    _check(settings)
    start = time.perf_counter()
    x, y, flipped = toy_data(settings)
    low, high = x.min(0).values - MARGIN, x.max(0).values + MARGIN
    axes = [torch.linspace(float(low[d]), float(high[d]), settings.resolution) for d in (0, 1)]
    gy, gx = torch.meshgrid(axes[1], axes[0], indexing="ij")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    maps = {}
    for label, alpha in (("ERM", 0.0), (f"mixup α={settings.alpha:g}", settings.alpha)):
        model = _train(x, y, settings, alpha=alpha)
        with torch.no_grad():
            p = model(grid).softmax(1)[:, 1].reshape(settings.resolution, settings.resolution)
        maps[label] = np.round(p.numpy().astype(float), 3).tolist()  # 3 decimals: a light results.json
    return Toy(points=x.tolist(), labels=y.tolist(), flipped=flipped.tolist(),
               extent=[float(low[0]), float(high[0]), float(low[1]), float(high[1])], maps=maps,
               seconds=time.perf_counter() - start)


def roughness(toy: Toy | Mapping[str, Any]) -> dict[str, float]:
    """Per method, the root mean square over the grid of ‖∇ₓ p(y = 1 | x)‖ (finite differences, the data's units):
    large where p jumps from 0 to 1 across a sharp boundary, small where it changes gradually."""
    values = toy.to_dict() if isinstance(toy, Toy) else toy
    x0, x1, y0, y1 = values["extent"]
    out = {}
    for label, grid in values["maps"].items():
        p = np.asarray(grid, dtype=float)
        dy, dx = np.gradient(p, (y1 - y0) / (len(p) - 1), (x1 - x0) / (p.shape[1] - 1))
        out[label] = float(np.sqrt(np.mean(dx ** 2 + dy ** 2)))
    return out


def draw_toy(toy: Toy | Mapping[str, Any], *, path: str | Path) -> Path:
    """The heat maps of p(y = 1 | x), one panel per method, with the training points (flipped labels ringed)."""
    values = toy.to_dict() if isinstance(toy, Toy) else toy
    points, labels = np.asarray(values["points"]), np.asarray(values["labels"])
    flipped = np.asarray(values["flipped"], dtype=bool)
    fig = new_figure(5.2 * len(values["maps"]), 4.4)
    for n, (label, grid) in enumerate(values["maps"].items()):
        ax = fig.add_subplot(1, len(values["maps"]), n + 1)
        image = ax.imshow(np.asarray(grid), origin="lower", extent=values["extent"], cmap="RdBu_r", vmin=0, vmax=1,
                          aspect="auto", interpolation="bilinear")
        ax.scatter(*points[labels == 0].T, s=12, c="tab:blue", edgecolors="white", linewidths=0.5, label="y = 0")
        ax.scatter(*points[labels == 1].T, s=12, c="tab:red", edgecolors="white", linewidths=0.5, label="y = 1")
        ax.scatter(*points[flipped].T, s=60, facecolors="none", edgecolors="black", linewidths=1.0,
                   label="flipped label")
        ax.set(title=f"{label}: p(y = 1 | x)", xticks=[], yticks=[])
        if n == 0:
            ax.legend(loc="lower left", fontsize="small")
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle("two moons with flipped labels: ERM's sharp boundary, mixup's gradual one (the paper's Figure 1(b))")
    return save_figure(fig, path)
