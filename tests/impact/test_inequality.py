"""Gini, Palma, Lorenz shares and SDG 10.1.1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alianza.impact import bottom40_growth, gini, gini_sorted, income_share, palma_ratio

positive_incomes = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=50,
).filter(lambda xs: sum(xs) > 1e-3)


def gini_double_sum(x, w=None):
    """Independent O(n^2) mean-difference form: sum_ij w_i w_j |x_i - x_j| / (2 W^2 mu)."""
    x = np.asarray(x, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    total = w.sum()
    mu = np.dot(w, x) / total
    return np.sum(np.outer(w, w) * np.abs(x[:, None] - x[None, :])) / (2 * total**2 * mu)


def test_gini_of_known_small_vectors():
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0, abs=1e-15)
    # Population formula: one of four has everything -> (n - 1) / n = 0.75.
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    # [1, 2, 3, 4]: sum |xi - xj| = 20, 2 n^2 mu = 2 * 16 * 2.5 = 80 -> 0.25.
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)
    # float32 input sorted once, as the benchmark does.
    assert gini_sorted(np.array([0, 0, 0, 1], dtype=np.float32)) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        gini([0, 0])


@settings(max_examples=80, deadline=None)
@given(positive_incomes, st.floats(0.001, 1000))
def test_gini_against_the_double_sum_and_invariants(values, scale):
    x = np.array(values)
    g = gini(x)
    assert g == pytest.approx(gini_double_sum(x), abs=1e-9)
    assert 0 <= g + 1e-12 and g < 1
    assert gini(x * scale) == pytest.approx(g, abs=1e-9)
    # Weighted: integer weights are repeated units, and match the weighted double sum.
    w = (np.arange(len(x)) % 3 + 1).astype(float)
    assert gini(x, w) == pytest.approx(gini(np.repeat(x, w.astype(int))), abs=1e-9)
    assert gini(x, w) == pytest.approx(gini_double_sum(x, w), abs=1e-9)


def test_palma_and_income_shares():
    # Equal incomes: the top 10% hold 10%, the bottom 40% hold 40% -> 0.25.
    assert palma_ratio(np.ones(10)) == pytest.approx(0.25)
    # 1..10: bottom four hold 1+2+3+4 = 10 of 55, the top one holds 10 of 55 -> 1.0.
    x = np.arange(1, 11, dtype=float)
    assert palma_ratio(x) == pytest.approx(1.0)
    assert income_share(x, 0.0, 0.4) == pytest.approx(10 / 55)
    assert income_share(x, 0.9, 1.0) == pytest.approx(10 / 55)
    # A boundary inside a unit counts it pro rata: bottom 50% of [1, 3] = half of the first.
    assert income_share([1.0, 3.0], 0.0, 0.25) == pytest.approx(0.5 * 1 / 4)


def test_bottom40_growth_closed_form():
    # Everyone +21% over two years: 10% a year for the bottom 40% and for all.
    start = np.arange(1, 11, dtype=float)
    g = bottom40_growth(start, start * 1.21, years=2)
    assert g.bottom40 == pytest.approx(0.10) and g.total == pytest.approx(0.10)
    assert g.shared_prosperity_premium == pytest.approx(0.0, abs=1e-12)
    # Only the poorest four double: 1..4 -> 2, 4, 6, 8. The bottom 40% of the new distribution
    # is 2, 4, 5, 6 (an anonymous comparison), mean 4.25 against 2.5: +70% in one year; the
    # total mean goes 5.5 -> 6.5.
    end = start.copy()
    end[:4] *= 2
    g = bottom40_growth(start, end, years=1)
    assert g.bottom40 == pytest.approx(0.7)
    assert g.total == pytest.approx(6.5 / 5.5 - 1)
    assert g.shared_prosperity_premium > 0
    with pytest.raises(ValueError, match="years"):
        bottom40_growth(start, end, years=0)


def test_presorted_values_skip_the_sort_and_give_the_same_figures():
    rng = np.random.default_rng(7)
    x = rng.lognormal(0, 1, 1000).astype(np.float32)
    ordered = np.sort(x)
    assert gini(ordered, presorted=True) == pytest.approx(gini(x), abs=1e-12)
    assert palma_ratio(ordered, presorted=True) == pytest.approx(palma_ratio(x), abs=1e-12)
    growth = bottom40_growth(ordered, ordered * 2, 1, presorted=True)
    assert growth.bottom40 == pytest.approx(1.0) and growth.total == pytest.approx(1.0)
    w = rng.uniform(1, 9, 1000)
    order = np.argsort(x)
    assert gini(x[order], w[order], presorted=True) == pytest.approx(gini(x, w), abs=1e-12)
    with pytest.raises(ValueError, match="presorted"):
        gini(x, presorted=True)
