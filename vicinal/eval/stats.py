"""Paired statistics over seeds and the verdict rule for a claim of the paper (arXiv 1710.09412).

Runs that share a seed share the data subset, the initialization and the batch order, so two methods are
compared seed by seed: the per-seed differences d = other − baseline, their mean, the paired standard error
(sample std of d / √n), and a two-sided paired t-test of mean(d) = 0 at n − 1 degrees of freedom. A claim is
"reproduced" when the test rejects at ALPHA = 0.05 with the paper's sign (so under no effect the rule says
"reproduced" at most 2.5 % of the time, whatever the number of seeds), "contradicted" when it rejects with the
opposite sign, and "not reproduced" otherwise; below MIN_SEEDS seeds the answer is only "indicative".
Reports also give Holm-adjusted p-values over their own verdicts (`holm`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import stats as _scipy

Verdict = Literal["reproduced", "contradicted", "not reproduced", "indicative", "not measured"]
VERDICTS: tuple[str, ...] = ("reproduced", "contradicted", "not reproduced", "indicative", "not measured")
ALPHA = 0.05  # the two-sided error rate of the paired t-test behind every verdict
MIN_SEEDS = 3  # fewer paired seeds than this give only "indicative"

VERDICT_RULE = (f"a two-sided paired t-test over seeds (df = n − 1). Reproduced: p < {ALPHA:g} with the paper's "
                f"sign; contradicted: p < {ALPHA:g} with the opposite sign; not reproduced: p ≥ {ALPHA:g}; "
                f"indicative: fewer than {MIN_SEEDS} seeds. Under no effect the rule says reproduced at most "
                f"{100 * ALPHA / 2:g} % of the time")


@dataclass(frozen=True)
class Paired:
    """Per-seed differences ``other − baseline``, their summary and the paired t-test of a zero mean."""

    seeds: tuple[int, ...]  # the seeds both sides have a finite value for, in increasing order
    differences: tuple[float, ...]  # other − baseline, one per seed

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def df(self) -> int:
        """Degrees of freedom of the paired t-test: n − 1."""
        return self.n - 1

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

    @property
    def t(self) -> float:
        """The paired t statistic mean / se (±inf when every seed gives the same non-zero difference, NaN when
        every difference is 0 or below two seeds)."""
        if self.n < 2 or self.mean == 0:
            return math.nan
        return self.mean / self.se if self.se > 0 else math.copysign(math.inf, self.mean)

    @property
    def p(self) -> float:
        """Two-sided p-value of the paired t-test (1 when every difference is 0; NaN below two seeds)."""
        if self.n < 2:
            return math.nan
        if math.isnan(self.t):
            return 1.0
        return float(2 * _scipy.t.sf(abs(self.t), self.df))

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """The ``level`` confidence interval of the mean difference, mean ± t(1 − (1 − level)/2, df)·se."""
        if not 0 < level < 1:
            raise ValueError(f"level={level!r} is invalid: expected a number in (0, 1)")
        if self.n < 2:
            return (math.nan, math.nan)
        half = float(_scipy.t.ppf(0.5 + level / 2, self.df)) * self.se
        return (self.mean - half, self.mean + half)

    def verdict(self, expected_sign: int) -> Verdict:
        """The verdict on a claim that the difference has sign ``expected_sign`` (+1 or −1); see VERDICT_RULE.

        >>> paired({0: 5.0, 1: 5.2, 2: 5.1}, {0: 4.6, 1: 4.9, 2: 4.7}).verdict(-1)
        'reproduced'
        """
        if expected_sign not in (1, -1):
            raise ValueError(f"expected_sign={expected_sign!r} is invalid: expected 1 or -1")
        if self.n == 0:
            return "not measured"
        if self.n < MIN_SEEDS:
            return "indicative"
        if not self.p < ALPHA:
            return "not reproduced"
        return "reproduced" if math.copysign(1, self.mean) == expected_sign else "contradicted"

    def describe(self, *, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
        """The mean difference times ``scale`` with its 95 % CI, t, df and p, and each seed's difference.

        >>> paired([0.050, 0.052, 0.051], [0.046, 0.049, 0.047]).describe(scale=100, unit=" points")
        '-0.37 points, 95 % CI [-0.51, -0.22], t = -11.0, df = 2, p = 0.008 (per seed: -0.40, -0.30, -0.40)'
        """
        if self.n == 0:
            return "not measured"
        each = ", ".join(f"{scale * d:.{digits}f}" for d in self.differences)
        if self.n < 2:
            return f"{scale * self.mean:.{digits}f}{unit} (one seed)"
        low, high = sorted(scale * v for v in self.ci())
        return (f"{scale * self.mean:.{digits}f}{unit}, 95 % CI [{low:.{digits}f}, {high:.{digits}f}], "
                f"t = {self.t:.1f}, df = {self.df}, {p_clause(self.p)} "
                f"(per seed: {each})")


def format_p(p: float) -> str:
    """A p-value in a few characters: "0.031", "< 0.001", "—" when missing."""
    if p is None or math.isnan(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_clause(p: float) -> str:
    """"p = 0.031", or "p < 0.001"."""
    text = format_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values, in the order given (None or NaN entries are left out and kept as None).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    present = sorted((p, i) for i, p in enumerate(pvalues) if p is not None and not math.isnan(p))
    adjusted: list[float | None] = [None] * len(pvalues)
    running, m = 0.0, len(present)
    for rank, (p, i) in enumerate(present):
        if not 0 <= p <= 1:
            raise ValueError(f"pvalues[{i}]={p!r} is invalid: expected a number in [0, 1]")
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = round(running, 12)
    return adjusted


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
