"""λ sampler of mixup: λ ~ Beta(α, α) drawn with an explicit generator (Zhang et al., arXiv 1710.09412)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ._checks import check_alpha, invalid, is_integer, resolve_device
from .generators import own_generator


def sample_lambda(
    alpha: float,
    *,
    size: int | Sequence[int] = (),
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Draw λ ~ Beta(α, α) as a float32 tensor of shape `size` (default 0-d).

    α = 0 gives λ = 1 exactly (no mixing: ERM); α = 1 is uniform on [0, 1]; large α concentrates λ
    at ½. The law is right for every finite α ≥ 0: as α → 0, λ tends to 0 or 1 with probability ½
    each, and as α → ∞ to ½. The draw (float64, on the generator's device, then moved to `device`,
    default the generator's device) uses the Student-t form of the symmetric Beta: with
    Z ~ N(0, 1) and G ~ Gamma(α), λ = ½ + Z / (2·√(2G + Z²)), evaluated as m or 1 − m for the
    smaller side m = 1 / (s·(s + q)), q = |Z|/√G, s = √(2 + q²), which neither cancels nor
    overflows at any α.

    >>> g = torch.Generator().manual_seed(0)
    >>> sample_lambda(0.0, generator=g).item()
    1.0
    >>> lam = sample_lambda(1.0, size=10_000, generator=g)
    >>> round(lam.mean().item(), 1), lam.min().item() >= 0, lam.max().item() <= 1
    (0.5, True, True)
    """
    alpha = check_alpha(alpha)
    gen = own_generator(generator=generator)
    shape = (size,) if is_integer(size) else tuple(size) if isinstance(size, Sequence) else None
    if shape is None or not all(is_integer(n) and n >= 0 for n in shape):
        raise invalid("size", size, "an int or a sequence of ints >= 0")
    return _draw_lambda(alpha, tuple(map(int, shape)), gen, resolve_device(device, gen.device))


def _draw_lambda(alpha: float, shape: tuple[int, ...], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """sample_lambda without validation: α finite ≥ 0, the shape, generator and device are trusted."""
    if alpha == 0:
        return torch.ones(shape, dtype=torch.float32, device=device)
    gamma = torch._standard_gamma(torch.full(shape, alpha, dtype=torch.float64, device=gen.device), generator=gen)
    normal = torch.randn(shape, dtype=torch.float64, generator=gen, device=gen.device)
    if not shape and gen.device.type == "cpu":  # one λ: the same float64 arithmetic in Python, fewer tensor ops
        g, z = gamma.item(), normal.item()
        q = abs(z) / math.sqrt(g) if g > 0 else math.inf  # G = 0: λ is an end (also when Z = 0)
        s = math.sqrt(2 + q * q)
        m = 1 / (s * (s + q))
        return torch.scalar_tensor(m if z < 0 else 1 - m, dtype=torch.float32, device=device)
    # The same arithmetic as above, in place on fresh float64 tensors (fewer allocations per call).
    q = normal.abs().div_(gamma.sqrt_())
    s = q.square().add_(2).sqrt_()
    m = s.add(q).mul_(s).reciprocal_().nan_to_num_(nan=0.0)  # Z = 0 with G = 0 (never in practice): λ is an end
    return torch.where(normal < 0, m, m.neg().add_(1)).to(device=device, dtype=torch.float32)
