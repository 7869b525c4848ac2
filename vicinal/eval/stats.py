"""Paired statistics over seeds and the verdict rule for a claim of the paper (arXiv 1710.09412).

Runs that share a seed share the data subset, the initialization and the batch order, so two methods are
compared seed by seed: the per-seed differences, their mean and the paired standard error (sample std of the
differences / √n). A claim is "reproduced" only when every seed moves the way the paper says and the mean
difference is beyond two paired standard errors; one seed can only be "indicative".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["reproduced", "contradicted", "not reproduced", "indicative", "not measured"]
VERDICTS: tuple[str, ...] = ("reproduced", "contradicted", "not reproduced", "indicative", "not measured")

VERDICT_RULE = ("reproduced: the difference has the paper's sign in every seed and its mean is beyond two paired "
                "standard errors; contradicted: the same, with the opposite sign; indicative: one seed only; "
                "not reproduced: anything else")


@dataclass(frozen=True)
class Paired:
    """Per-seed differences ``other − baseline`` and their summary."""

    seeds: tuple[int, ...]  # the seeds both sides have a finite value for, in increasing order
    differences: tuple[float, ...]  # other − baseline, one per seed

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        """Mean difference (NaN without seeds)."""
        return statistics.fmean(self.differences) if self.differences else math.nan

    @property
    def se(self) -> float:
        """Paired standard error: sample std of the differences / √n (NaN below two seeds)."""
        if self.n < 2:
            return math.nan
        return statistics.stdev(self.differences) / math.sqrt(self.n)

    def verdict(self, expected_sign: int) -> Verdict:
        """The verdict on a claim that the difference has sign ``expected_sign`` (+1 or −1); see VERDICT_RULE.

        >>> paired({0: 5.0, 1: 5.2, 2: 5.1}, {0: 4.6, 1: 4.9, 2: 4.7}).verdict(-1)
        'reproduced'
        """
        if expected_sign not in (1, -1):
            raise ValueError(f"expected_sign={expected_sign!r} is invalid: expected 1 or -1")
        if self.n == 0:
            return "not measured"
        if self.n == 1:
            return "indicative"
        signs = {math.copysign(1, d) if d else 0 for d in self.differences}
        beyond = abs(self.mean) > 2 * self.se
        if signs == {expected_sign} and beyond:
            return "reproduced"
        if signs == {-expected_sign} and beyond:
            return "contradicted"
        return "not reproduced"

    def describe(self, *, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
        """"mean ± se (per seed: d₀, d₁, …)" of the differences times ``scale``.

        >>> paired([0.050, 0.052], [0.046, 0.049]).describe(scale=100, unit=" points")
        '-0.35 ± 0.05 points (per seed: -0.40, -0.30)'
        """
        if self.n == 0:
            return "not measured"
        each = ", ".join(f"{scale * d:.{digits}f}" for d in self.differences)
        se = "" if self.n < 2 else f" ± {scale * self.se:.{digits}f}"
        return f"{scale * self.mean:.{digits}f}{se}{unit} (per seed: {each})"


def _by_seed(values: Mapping[int, float | None] | list[float | None] | tuple[float | None, ...], side: str) -> dict:
    if isinstance(values, Mapping):
        items = values.items()
    elif isinstance(values, (list, tuple)):
        items = enumerate(values)
    else:
        raise ValueError(f"{side}={values!r} is invalid: expected a mapping seed -> value or a list in seed order")
    out = {}
    for seed, value in items:
        if value is None:
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{side}[{seed!r}]={value!r} is invalid: expected a number") from None
        if math.isfinite(value):
            out[seed] = value
    return out


def paired(baseline: Mapping[int, float | None] | list[float | None],
           other: Mapping[int, float | None] | list[float | None]) -> Paired:
    """Pair ``other`` with ``baseline`` seed by seed (mappings seed → value, or lists in the same seed order).

    Seeds missing on either side, and None or non-finite values, are left out of the pairs.
    """
    base, oth = _by_seed(baseline, "baseline"), _by_seed(other, "other")
    seeds = tuple(sorted(set(base) & set(oth)))
    return Paired(seeds, tuple(oth[s] - base[s] for s in seeds))
