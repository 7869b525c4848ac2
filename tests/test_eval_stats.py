"""Paired statistics over seeds and the verdict rule, on made-up numbers."""

from __future__ import annotations

import math

import pytest

from vicinal.eval.stats import VERDICTS, paired


def test_same_sign_large_effect_is_reproduced():
    erm = {0: 0.100, 1: 0.105, 2: 0.098}
    mixup = {0: 0.090, 1: 0.094, 2: 0.089}
    p = paired(erm, mixup)
    assert p.seeds == (0, 1, 2)
    assert p.differences == pytest.approx((-0.010, -0.011, -0.009))
    assert p.mean == pytest.approx(-0.010)
    assert p.se == pytest.approx(0.001 / math.sqrt(3))
    assert p.verdict(-1) == "reproduced"
    assert p.verdict(+1) == "contradicted"


def test_mixed_signs_are_not_reproduced_however_large_the_mean():
    p = paired([0.10, 0.10, 0.10], [0.05, 0.06, 0.11])
    assert p.mean < 0
    assert p.verdict(-1) == "not reproduced"


def test_same_sign_within_two_standard_errors_is_not_reproduced():
    p = paired([0.0, 0.0, 0.0], [-0.001, -0.02, -0.0005])
    assert all(d < 0 for d in p.differences)
    assert abs(p.mean) <= 2 * p.se
    assert p.verdict(-1) == "not reproduced"


def test_one_seed_is_only_indicative_and_none_is_not_measured():
    assert paired([0.2], [0.1]).verdict(-1) == "indicative"
    assert paired({0: 0.2}, {1: 0.1}).verdict(-1) == "not measured"
    assert math.isnan(paired([0.2], [0.1]).se)


def test_pairs_only_the_seeds_both_sides_have():
    p = paired({0: 1.0, 1: 2.0, 2: None, 3: float("nan")}, {1: 2.5, 2: 3.0, 3: 1.0, 4: 9.0})
    assert p.seeds == (1,)
    assert p.differences == (0.5,)


def test_describe_gives_the_mean_the_paired_error_and_each_seed():
    text = paired([0.050, 0.052], [0.046, 0.049]).describe(scale=100, unit=" points")
    assert text == "-0.35 ± 0.05 points (per seed: -0.40, -0.30)"


def test_bad_input_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="expected_sign=0"):
        paired([1.0, 2.0], [1.0, 2.0]).verdict(0)
    with pytest.raises(ValueError, match="other"):
        paired([1.0], "abc")
    with pytest.raises(ValueError, match=r"baseline\[0\]='x'"):
        paired(["x"], [1.0])
    assert set(VERDICTS) >= {"reproduced", "contradicted", "not reproduced", "indicative", "not measured"}
