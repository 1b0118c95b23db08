"""Poverty lines, conversion to PPP dollars a person a day, SDG 1.1.1 and FGT (1984)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alianza.impact import (
    INTERNATIONAL_POVERTY_LINE,
    LEGACY_POVERTY_LINE_2017,
    LOWER_MIDDLE_INCOME_LINE,
    POVERTY_LINES,
    UPPER_MIDDLE_INCOME_LINE,
    country_conversion,
    country_conversions,
    fgt,
    fgt_by_group,
    headcount_by_group,
    headcount_ratio,
    person_weights,
    poverty_gap,
    ppp_dollars_per_person_day,
    squared_poverty_gap,
)

incomes = st.lists(
    st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


def test_the_world_banks_lines():
    # World Bank, June 2025 update: $3.00, $4.20, $8.30 (2021 PPP); $2.15 (2017 PPP) before.
    assert INTERNATIONAL_POVERTY_LINE.dollars_per_person_day == 3.00
    assert LOWER_MIDDLE_INCOME_LINE.dollars_per_person_day == 4.20
    assert UPPER_MIDDLE_INCOME_LINE.dollars_per_person_day == 8.30
    assert {line.ppp_year for line in POVERTY_LINES.values()} == {2017, 2021}
    assert LEGACY_POVERTY_LINE_2017.ppp_year == 2017
    assert LEGACY_POVERTY_LINE_2017.dollars_per_person_day == 2.15


def test_conversion_from_local_currency_and_from_market_dollars():
    # Closed form: TZS 1,000,000 a year for 5 persons at 681.85 TZS per international $:
    # 1e6 / (5 * 365 * 681.85) = 0.803615... $ a person a day.
    y = ppp_dollars_per_person_day(1_000_000, 5, 365, 681.85)
    assert y == pytest.approx(1e6 / (5 * 365 * 681.85), rel=1e-12)
    assert y == pytest.approx(0.8036155, rel=1e-6)
    # The same income in market dollars at 2,298 TZS per US$ gives the same welfare.
    usd = 1_000_000 / 2298
    assert ppp_dollars_per_person_day(
        usd, 5, 365, 681.85, exchange_rate=2298, currency="usd"
    ) == pytest.approx(y, rel=1e-12)
    # Vectorised over households.
    out = ppp_dollars_per_person_day([365, 730], [1, 2], 365, 1.0)
    np.testing.assert_allclose(out, [1.0, 1.0])


def test_conversion_refuses_bad_input():
    with pytest.raises(ValueError, match="household_size"):
        ppp_dollars_per_person_day(100, 0, 30, 1.0)
    with pytest.raises(ValueError, match="exchange_rate"):
        ppp_dollars_per_person_day(100, 1, 30, 1.0, currency="usd")
    with pytest.raises(ValueError, match="ppp_factor"):
        ppp_dollars_per_person_day(100, 1, 30, 0.0)


def test_country_defaults_are_shipped_and_marked():
    conversions = country_conversions()
    assert set(conversions) == {"TZA", "MWI", "HND", "BOL", "COL"}
    currencies = {c.iso3: c.currency for c in conversions.values()}
    assert currencies == {"TZA": "TZS", "MWI": "MWK", "HND": "HNL", "BOL": "BOB", "COL": "COP"}
    for c in conversions.values():
        assert c.ppp_year == 2021 and c.exchange_rate_year == 2021
        assert c.note  # where the figure comes from, and how sure it is
        # Prices are lower than in the US in all five: the PPP factor is below the rate.
        assert 0.1 < c.price_level_ratio < 1.0
    assert country_conversion("tza").ppp_factor == 681.85
    with pytest.raises(KeyError, match="known"):
        country_conversion("XXX")


def test_fgt_closed_form():
    # Welfare 1..5, line 3: poor are 1 and 2 (strictly below).
    # P0 = 2/5; P1 = (2/3 + 1/3) / 5 = 1/5; P2 = (4/9 + 1/9) / 5 = 1/9.
    y = [1, 2, 3, 4, 5]
    assert headcount_ratio(y, 3) == pytest.approx(0.4)
    assert poverty_gap(y, 3) == pytest.approx(0.2)
    assert squared_poverty_gap(y, 3) == pytest.approx(1 / 9)
    assert fgt(y, 3, alpha=3) == pytest.approx((8 / 27 + 1 / 27) / 5)


def test_headcount_against_a_poverty_line_object_and_weights():
    y = np.array([2.0, 2.9, 3.0, 10.0])
    assert headcount_ratio(y, INTERNATIONAL_POVERTY_LINE) == 0.5
    # Persons, not households: household sizes 6, 4, 1, 1 -> 10 of 12 persons are poor.
    assert headcount_ratio(y, 3.0, person_weights([6, 4, 1, 1])) == pytest.approx(10 / 12)
    # With survey weights too: w_i n_i.
    np.testing.assert_allclose(person_weights([6, 4], [2.0, 0.5]), [12.0, 2.0])


def test_headcount_by_group():
    y = np.array([1.0, 5.0, 1.0, 1.0, 5.0, 5.0])
    sex = np.array(["female", "female", "female", "male", "male", "male"])
    by_sex = headcount_by_group(y, 3.0, sex)
    assert by_sex == {"female": pytest.approx(2 / 3), "male": pytest.approx(1 / 3)}
    youth = np.array([True, False, True, False, False, False])
    assert headcount_by_group(y, 3.0, youth) == {True: 1.0, False: 0.25}
    gaps = fgt_by_group(y, 3.0, sex, alpha=1)
    assert gaps["female"] == pytest.approx((2 / 3 + 2 / 3) / 3)
    with pytest.raises(ValueError, match="groups"):
        headcount_by_group(y, 3.0, sex[:3])


@settings(max_examples=60, deadline=None)
@given(incomes, st.floats(0.5, 100), st.floats(0.01, 1e3))
def test_fgt_invariants(welfare, line, scale):
    y = np.array(welfare)
    p0, p1, p2 = (fgt(y, line, a) for a in (0, 1, 2))
    # In [0, 1] and ordered: P2 <= P1 <= P0.
    assert 0 <= p2 <= p1 + 1e-12 <= p0 + 2e-12 <= 1 + 2e-12
    # Monotone in the line: a higher line never lowers any of them.
    for a, p in ((0, p0), (1, p1), (2, p2)):
        assert fgt(y, line * 1.5, a) >= p - 1e-12
    # Scale invariance: the same incomes and line in other units give the same index.
    for a, p in ((0, p0), (1, p1), (2, p2)):
        assert fgt(y * scale, line * scale, a) == pytest.approx(p, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(incomes, st.lists(st.integers(1, 4), min_size=40, max_size=40))
def test_integer_weights_are_repeated_households(welfare, repeats):
    y = np.array(welfare)
    w = np.array(repeats[: len(y)], dtype=float)
    for a in (0, 1, 2):
        expanded = fgt(np.repeat(y, w.astype(int)), 3.0, a)
        assert fgt(y, 3.0, a, w) == pytest.approx(expanded, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=30))
def test_integer_labels_are_counted_like_np_unique(labels):
    # The counting path for small integer labels agrees with the general one (strings).
    y = np.arange(len(labels), dtype=float)
    as_int = headcount_by_group(y, 10.0, np.array(labels))
    as_str = headcount_by_group(y, 10.0, np.array([str(v) for v in labels]))
    assert {str(k): v for k, v in as_int.items()} == as_str
