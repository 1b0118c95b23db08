"""Kaplan-Meier time to cross, with censoring (Kaplan and Meier 1958)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alianza.impact import kaplan_meier, kaplan_meier_from_counts, median_time, time_to_cross


def test_hand_computed_curve_with_censoring():
    # Seven farmers: crossed at seasons 1, 2, 3, 4; censored (never crossed) at 2, 4, 5.
    durations = [1, 2, 2, 3, 4, 4, 5]
    crossed = [True, True, False, True, False, True, False]
    km = kaplan_meier(durations, crossed)
    # By hand, S(t) = prod (1 - d/n):
    #   t=1: n=7, d=1            S = 6/7
    #   t=2: n=6, d=1, c=1       S = 6/7 * 5/6 = 5/7
    #   t=3: n=4, d=1            S = 5/7 * 3/4 = 15/28
    #   t=4: n=3, d=1, c=1       S = 15/28 * 2/3 = 5/14
    #   t=5: n=1, d=0, c=1       S = 5/14
    np.testing.assert_array_equal(km.times, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(km.at_risk, [7, 6, 4, 3, 1])
    np.testing.assert_array_equal(km.events, [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(km.censored, [0, 1, 0, 1, 1])
    np.testing.assert_allclose(km.survival, [6 / 7, 5 / 7, 15 / 28, 5 / 14, 5 / 14])
    # The median is the first season with S <= 1/2: season 4.
    assert median_time(km) == 4.0
    assert km.survival_at(0.5) == 1.0 and km.survival_at(3.5) == pytest.approx(15 / 28)
    # Dropping the censored farmers instead would say half had crossed by season 2: wrong.
    dropped = kaplan_meier([1, 2, 3, 4], [True] * 4)
    assert median_time(dropped) == 2.0


def test_median_is_none_when_never_reached():
    assert median_time(kaplan_meier([1, 2, 3, 4], [True, False, False, False])) is None
    assert median_time(kaplan_meier([3, 3], [False, False])) is None


def test_counts_merge_across_chunks():
    # Two chunks' counts added give the curve of the whole population.
    whole = kaplan_meier([1, 2, 2, 3, 4, 4, 5], [True, True, False, True, False, True, False])
    merged = kaplan_meier_from_counts(
        [1, 2, 3, 4, 5],
        np.array([1, 0, 1, 0, 0]) + [0, 1, 0, 1, 0],
        [0, 1, 0, 0, 1] + np.array([0, 0, 0, 1, 0]),
    )
    np.testing.assert_allclose(merged.survival, whole.survival)


def test_time_to_cross_from_seasons():
    nan = np.nan
    values = np.array(
        [
            [1, 2, 3, 4],  # crosses the threshold 3 in season 3
            [1, 1, 1, 1],  # never: censored at season 4
            [1, 5, nan, nan],  # crosses in season 2, then leaves the programme
            [1, 1, nan, nan],  # never, last seen in season 2: censored at 2
            [nan, nan, nan, nan],  # never observed: censored at 0
        ]
    )
    durations, crossed = time_to_cross(values, 3.0)
    assert durations.tolist() == [3, 4, 2, 2, 0]
    assert crossed.tolist() == [True, False, True, False, False]
    # A threshold per farmer.
    durations, crossed = time_to_cross(values[:2], np.array([4.0, 1.0]))
    assert durations.tolist() == [4, 1] and crossed.tolist() == [True, True]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 20), min_size=1, max_size=50))
def test_without_censoring_the_curve_is_the_empirical_survival(durations):
    # No one censored: S(t) is the share still below the threshold after t seasons.
    d = np.array(durations)
    km = kaplan_meier(d, np.ones(d.shape, dtype=bool))
    for t, s in zip(km.times, km.survival, strict=True):
        assert s == pytest.approx(np.mean(d > t), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20), st.booleans()), min_size=1, max_size=50))
def test_curve_is_a_non_increasing_share(farmers):
    durations, crossed = zip(*farmers, strict=True)
    km = kaplan_meier(list(durations), list(crossed))
    assert np.all((km.survival >= 0) & (km.survival <= 1))
    assert np.all(np.diff(km.survival) <= 1e-15)
    # Integer weights are repeated farmers.
    w = np.arange(len(farmers)) % 3 + 1
    weighted = kaplan_meier(list(durations), list(crossed), w.astype(float))
    repeated = kaplan_meier(np.repeat(durations, w), np.repeat(crossed, w))
    np.testing.assert_allclose(weighted.survival, repeated.survival)
