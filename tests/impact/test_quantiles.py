"""Weighted quantiles (inverted empirical distribution, Hyndman and Fan 1996 definition 1)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alianza.impact import QUANTILES, weighted_quantile, weighted_quantiles_summary

values = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)
levels = st.lists(st.floats(0, 1), min_size=1, max_size=5)


def test_small_example():
    # 1..10 with unit weights: F(x_k) = k / 10, so p10 = 1, p25 = 3, median = 5, p90 = 9.
    x = np.arange(10, 0, -1, dtype=float)
    assert weighted_quantiles_summary(x) == {
        "p10": 1.0,
        "p25": 3.0,
        "median": 5.0,
        "p75": 8.0,
        "p90": 9.0,
    }
    # Weights: 1 with weight 3, 10 with weight 1 -> the median is 1, p90 is 10.
    assert weighted_quantile([10.0, 1.0], [0.5, 0.9], [1.0, 3.0]).tolist() == [1.0, 10.0]
    # Zero weights are not in the distribution.
    assert weighted_quantile([0.0, 5.0], 0.0, [0.0, 1.0]) == 5.0
    assert list(QUANTILES) == ["p10", "p25", "median", "p75", "p90"]


@settings(max_examples=80, deadline=None)
@given(values, levels)
def test_unit_weights_match_numpy_inverted_cdf(xs, qs):
    expected = np.quantile(np.array(xs), qs, method="inverted_cdf")
    np.testing.assert_array_equal(weighted_quantile(xs, qs), expected)


@settings(max_examples=60, deadline=None)
@given(values, levels, st.lists(st.integers(1, 5), min_size=60, max_size=60))
def test_integer_weights_are_repeated_values(xs, qs, repeats):
    x = np.array(xs)
    w = np.array(repeats[: len(x)])
    expanded = np.quantile(np.repeat(x, w), qs, method="inverted_cdf")
    np.testing.assert_array_equal(weighted_quantile(x, qs, w.astype(float)), expanded)
    # Quantiles never decrease with the level.
    assert np.all(np.diff(weighted_quantile(x, sorted(qs), w.astype(float))) >= 0)


def test_presorted():
    x = np.array([3.0, 1.0, 2.0])
    assert weighted_quantiles_summary(np.sort(x), presorted=True) == weighted_quantiles_summary(x)
    with pytest.raises(ValueError, match="presorted"):
        weighted_quantile(x, 0.5, presorted=True)


def test_bad_levels():
    with pytest.raises(ValueError, match="q"):
        weighted_quantile([1.0], 1.5)
