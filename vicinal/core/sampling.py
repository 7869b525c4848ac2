"""λ sampler of mixup: λ ~ Beta(α, α) drawn with an explicit generator (Zhang et al., arXiv 1710.09412)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._checks import check_alpha, resolve_generator


def sample_lambda(
    alpha: float,
    *,
    size: int | Sequence[int] = (),
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Draw λ ~ Beta(α, α) as a float32 tensor of shape `size` (default 0-d).

    α = 0 gives λ = 1 exactly (no mixing: ERM); α = 1 is uniform on [0, 1]; large α concentrates λ
    at ½. The draw uses two Gamma(α) variates, λ = G₁ / (G₁ + G₂), in float64 on the generator's
    device, then moves to `device` (default: the generator's device).

    >>> g = torch.Generator().manual_seed(0)
    >>> sample_lambda(0.0, generator=g).item()
    1.0
    >>> lam = sample_lambda(1.0, size=10_000, generator=g)
    >>> round(lam.mean().item(), 1), lam.min().item() >= 0, lam.max().item() <= 1
    (0.5, True, True)
    """
    alpha = check_alpha(alpha)
    gen = resolve_generator(generator)
    shape = (size,) if isinstance(size, int) else tuple(size)
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ValueError(f"size must be an int or a sequence of ints >= 0, got {size!r}")
    return draw_lambda(alpha, shape, gen, gen.device if device is None else torch.device(device))


def draw_lambda(alpha: float, shape: tuple[int, ...], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """sample_lambda without validation, for callers that checked α, the shape and the generator."""
    if alpha == 0:
        return torch.ones(shape, dtype=torch.float32, device=device)
    gammas = torch._standard_gamma(torch.full((2, *shape), alpha, dtype=torch.float64, device=gen.device), generator=gen)
    # Both Gammas underflow to 0 only for tiny α; Beta(α, α) is symmetric, so ½ keeps it unbiased.
    if not shape and gen.device.type == "cpu":  # one λ: the same float64 arithmetic in Python, fewer tensor ops
        g1, g2 = gammas.tolist()
        return torch.scalar_tensor(g1 / (g1 + g2) if g1 + g2 > 0 else 0.5, dtype=torch.float32, device=device)
    g1, g2 = gammas
    lam = torch.nan_to_num(g1 / (g1 + g2), nan=0.5)
    return lam.to(device=device, dtype=torch.float32)
