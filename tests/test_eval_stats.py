"""Paired statistics over seeds and the verdict rule: its error rates (seeded Monte Carlo), the t-test against
scipy's own, Holm's adjustment, and bad input."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

import vicinal.eval.stats as stats_module
from vicinal.eval.stats import VERDICTS, holm, paired


def _verdicts(effect_sd: float, n: int, trials: int, seed: int) -> list[str]:
    """The rule's verdicts (paper's sign: −1) on `trials` draws of n paired differences ~ N(−effect_sd, 1)."""
    rng = np.random.default_rng(seed)
    differences = rng.normal(-effect_sd, 1.0, size=(trials, n))
    return [paired([0.0] * n, list(d)).verdict(-1) for d in differences]


@pytest.mark.parametrize("n", [3, 5, 10])
def test_under_no_effect_reproduced_at_most_two_and_a_half_percent(n):
    # 8,000 trials: the Monte Carlo standard error of a 2.5 % rate is 0.17 points, so 3.0 % is 3 SE above it.
    verdicts = _verdicts(0.0, n, trials=8000, seed=n)
    assert verdicts.count("reproduced") / len(verdicts) <= 0.030
    assert verdicts.count("contradicted") / len(verdicts) <= 0.030
    assert verdicts.count("reproduced") / len(verdicts) >= 0.020  # a two-sided 5 % test, not a stricter one


def test_finds_an_effect_of_one_and_a_half_sd_at_ten_seeds():
    verdicts = _verdicts(1.5, 10, trials=2000, seed=1)
    assert verdicts.count("reproduced") / len(verdicts) >= 0.90


def test_one_tied_seed_does_not_block_a_clear_effect():
    p = paired([0.0] * 10, [-1.0, -1.2, -0.9, -1.1, 0.0, -1.0, -0.8, -1.3, -1.0, -0.95])
    assert p.verdict(-1) == "reproduced"


def test_t_p_and_ci_equal_scipy_paired_t_test():
    base, other = [5.1, 5.3, 4.9, 5.6, 5.0], [4.8, 5.2, 4.9, 5.1, 4.6]
    p = paired(base, other)
    ref = scipy_stats.ttest_rel(other, base)
    assert p.t == pytest.approx(ref.statistic)
    assert p.p == pytest.approx(ref.pvalue)
    assert p.df == 4
    low, high = ref.confidence_interval(0.95)
    assert p.ci() == pytest.approx((low, high))


def test_same_sign_large_effect_is_reproduced_and_opposite_claim_contradicted():
    p = paired({0: 0.100, 1: 0.105, 2: 0.098}, {0: 0.090, 1: 0.094, 2: 0.089})
    assert p.seeds == (0, 1, 2)
    assert p.mean == pytest.approx(-0.010)
    assert p.se == pytest.approx(0.001 / math.sqrt(3))
    assert p.verdict(-1) == "reproduced"
    assert p.verdict(+1) == "contradicted"


def test_three_seeds_at_two_standard_errors_are_not_enough():
    # t = −2.3 at df 2 (p ≈ 0.15): the old "every seed, beyond 2 SE" rule said reproduced
    p = paired([0.0] * 3, [-1.0, -0.2, -0.4])
    assert abs(p.mean) > 2 * p.se and p.p > 0.05
    assert p.verdict(-1) == "not reproduced"


def test_identical_differences_and_all_ties():
    assert paired([0.0] * 4, [-1.0] * 4).p == 0.0
    assert paired([0.0] * 4, [-1.0] * 4).verdict(-1) == "reproduced"
    assert paired([1.0] * 4, [1.0] * 4).p == 1.0
    assert paired([1.0] * 4, [1.0] * 4).verdict(-1) == "not reproduced"


def test_fewer_than_three_seeds_are_only_indicative_and_none_not_measured():
    assert paired([0.2], [0.1]).verdict(-1) == "indicative"
    assert paired([0.2, 0.3], [0.1, 0.1]).verdict(-1) == "indicative"
    assert paired({0: 0.2}, {1: 0.1}).verdict(-1) == "not measured"
    assert math.isnan(paired([0.2], [0.1]).se)


def test_pairs_only_the_seeds_both_sides_have():
    p = paired({0: 1.0, 1: 2.0, 2: None, 3: float("nan")}, {1: 2.5, 2: 3.0, 3: 1.0, 4: 9.0})
    assert p.seeds == (1,)
    assert p.differences == (0.5,)


def test_describe_gives_mean_ci_t_df_p_and_each_seed():
    text = paired([0.050, 0.052, 0.051], [0.046, 0.049, 0.047]).describe(scale=100, unit=" points")
    assert text.startswith("-0.37 points, 95 % CI [-0.51, -0.22], t = -11.0, df = 2, p = 0.008")
    assert text.endswith("(per seed: -0.40, -0.30, -0.40)")


def test_holm_adjusts_like_the_textbook_and_keeps_order():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, None, 0.001]) == [pytest.approx(0.5), None, pytest.approx(0.002)]
    adjusted = holm(list(np.random.default_rng(0).uniform(size=20)))
    assert all(0 <= a <= 1 for a in adjusted)


def test_docstring_examples_hold():
    result = doctest.testmod(stats_module, raise_on_error=False)
    assert result.attempted >= 3 and result.failed == 0


def test_bad_input_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="expected_sign=0"):
        paired([1.0, 2.0], [1.0, 2.0]).verdict(0)
    with pytest.raises(ValueError, match="other"):
        paired([1.0], "abc")
    with pytest.raises(ValueError, match=r"baseline\[0\]='x'"):
        paired(["x"], [1.0])
    with pytest.raises(ValueError, match="level=1.5"):
        paired([1.0, 2.0], [1.0, 3.0]).ci(1.5)
    with pytest.raises(ValueError, match=r"pvalues\[0\]=2"):
        holm([2, 0.1])
    assert set(VERDICTS) >= {"reproduced", "contradicted", "not reproduced", "indicative", "not measured"}
