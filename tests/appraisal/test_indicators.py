"""Indicators against numpy-financial, closed forms and published examples."""

from datetime import date

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alianza.appraisal.indicators import irr, irr_many, npv, payback, sign_changes, xirr, xnpv

amounts = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30),
    st.floats(-0.5, 1.0),
)
def test_npv_matches_numpy_financial(flows: list[float], rate: float) -> None:
    assert npv(rate, flows) == pytest.approx(npf.npv(rate, flows), rel=1e-9, abs=1e-6)


@settings(max_examples=200)
@given(amounts, st.lists(amounts, min_size=1, max_size=25))
def test_conventional_irr_matches_numpy_financial(outlay: float, returns: list[float]) -> None:
    flows = [-outlay, *returns]
    expected = npf.irr(flows)
    assume(np.isfinite(expected) and expected > -0.99)  # the rates alianza searches
    result = irr(flows)
    assert result.status == "unique"
    assert result.value == pytest.approx(expected, rel=1e-7, abs=1e-9)


def test_irr_undefined_when_flows_never_change_sign() -> None:
    result = irr([100.0, 50.0, 20.0])
    assert result.status == "undefined" and result.value is None
    assert "same sign" in result.reason


def test_irr_undefined_when_npv_never_reaches_zero() -> None:
    # -1 + 1x - 1x^2 has no real root: two sign changes, no IRR.
    result = irr([-1.0, 1.0, -1.0])
    assert result.status == "undefined"
    assert "not zero at any rate" in result.reason


def test_several_rates_are_all_reported() -> None:
    # -1 + 5x - 6x^2 = -(2x - 1)(3x - 1): x = 1/2, 1/3, so rates of 100% and 200%.
    result = irr([-1.0, 5.0, -6.0])
    assert result.status == "multiple" and result.value is None
    assert result.rates == pytest.approx([1.0, 2.0])
    assert "100.0000%" in result.reason and "200.0000%" in result.reason


def test_unique_irr_is_found_despite_several_sign_changes() -> None:
    # -1 + 3x - 3x^2 + 2x^3 is increasing (its slope 3 - 6x + 6x^2 > 0): one root, x = 1/2.
    flows = [-1.0, 3.0, -3.0, 2.0]
    assert int(sign_changes(flows)[0]) == 3
    result = irr(flows)
    assert result.status == "unique"
    assert result.value == pytest.approx(1.0)


cents = st.floats(-1e5, 1e5, allow_nan=False).map(lambda amount: round(amount, 2))


@settings(max_examples=300)
@given(st.lists(cents, min_size=2, max_size=20))
def test_every_reported_rate_zeroes_npv(flows: list[float]) -> None:
    result = irr(flows)
    for rate in result.rates:
        terms = np.abs(flows) * (1.0 + rate) ** -np.arange(len(flows))
        assert abs(npv(rate, flows)) <= 1e-6 * terms.sum()  # r near -1 keeps few digits of 1 + r
    assert (result.value is not None) == (result.status == "unique")


def test_batch_irr_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    flows = rng.normal(100, 300, size=(200, 12))
    flows[:, 0] = -rng.uniform(500, 2000, size=200)
    batch = irr_many(flows)
    rates, status = batch.rates, batch.status
    for row, rate, code in zip(flows, rates, status, strict=True):
        single = irr(row)
        assert single.status == {0: "unique", 1: "undefined", 2: "multiple"}[int(code)]
        if single.value is not None:
            assert rate == pytest.approx(single.value, rel=1e-12, abs=1e-15)


def test_payback_closed_form() -> None:
    # cumulative: -100, -40, 20 -> 1 + 40/60 years.
    assert float(payback([-100.0, 60.0, 60.0])) == pytest.approx(1 + 40 / 60)
    assert float(payback([10.0, 5.0])) == 0.0
    assert np.isnan(payback([-100.0, 10.0, 10.0]))


def test_xirr_reproduces_the_spreadsheet_example() -> None:
    # The example of the XIRR function's documentation in spreadsheets: 37.34%.
    dates = [
        date(2008, 1, 1),
        date(2008, 3, 1),
        date(2008, 10, 30),
        date(2009, 2, 15),
        date(2009, 4, 1),
    ]
    amounts = [-10000, 2750, 4250, 3250, 2750]
    result = xirr(amounts, dates)
    assert result.status == "unique"
    assert result.value == pytest.approx(0.373362535, abs=1e-8)
    assert xnpv(0.09, amounts, dates) == pytest.approx(2086.6476, abs=1e-3)


def test_xirr_of_yearly_flows_is_the_irr() -> None:
    dates = [date(2021, 1, 1), date(2022, 1, 1), date(2023, 1, 1), date(2024, 1, 1)]
    flows = [-1000.0, 400.0, 400.0, 400.0]
    assert xirr(flows, dates).value == pytest.approx(irr(flows).value, abs=1e-9)
    assert xirr([1.0, 2.0], dates[:2]).status == "undefined"
    with pytest.raises(ValueError):
        xirr([1.0], dates[:2])


def test_one_negative_and_one_positive_rate_are_both_reported() -> None:
    # 100 - 250x + 140x^2: x = (250 +- sqrt(6500)) / 280, one rate below 0, one above.
    flows = [100.0, -250.0, 140.0]
    result = irr(flows)
    expected = sorted(1 / x - 1 for x in ((250 + 6500**0.5) / 280, (250 - 6500**0.5) / 280))
    assert result.status == "multiple"
    assert result.rates == pytest.approx(expected, rel=1e-10)
