"""Report helpers: mean and sample std over seeds, "mean ± std" formatting, and markdown tables."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any


def finite(values: Iterable[float | None]) -> list[float]:
    """The finite values, as floats (None, NaN and ±inf left out)."""
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def mean(values: Iterable[float | None]) -> float:
    """Mean of the finite values (NaN when there are none)."""
    vals = finite(values)
    return statistics.fmean(vals) if vals else math.nan


def std(values: Iterable[float | None]) -> float:
    """Sample standard deviation (n − 1) of the finite values (0 for one value, NaN for none)."""
    vals = finite(values)
    return statistics.stdev(vals) if len(vals) > 1 else (0.0 if vals else math.nan)


def mean_std(values: Sequence[float], *, digits: int = 2, scale: float = 1.0) -> str:
    """"mean ± std" of ``values`` times ``scale`` (e.g. 100 for percent), sample std (n − 1).

    One value gives just the mean.

    >>> mean_std([0.061, 0.065, 0.069], scale=100)
    '6.50 ± 0.40'
    """
    xs = [float(v) * scale for v in values]
    if not xs or len(finite(xs)) != len(xs):
        raise ValueError(f"values must be a non-empty sequence of finite numbers, got {list(values)!r}")
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    return f"{mean(xs):.{digits}f} ± {std(xs):.{digits}f}"


def _cell(value: Any) -> str:
    """A table cell: floats with 4 significant digits, '|' escaped, newlines as spaces."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table.

    >>> print(markdown_table(["run", "error %"], [["ERM", "6.1"], ["mixup", 5.9]]))
    | run | error % |
    | --- | --- |
    | ERM | 6.1 |
    | mixup | 5.9 |
    """
    if not headers:
        raise ValueError("headers must name at least one column")
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"row {i} has {len(row)} cells, expected {len(headers)} (one per header)")
    lines = ["| " + " | ".join(map(_cell, headers)) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]
    return "\n".join(lines)
