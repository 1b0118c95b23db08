"""Loan schedules against numpy-financial's annuity functions."""

import numpy_financial as npf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alianza.appraisal.loans import loan_schedule
from alianza.appraisal.plan import Loan


def test_annuity_after_principal_grace_matches_numpy_financial() -> None:
    loan = Loan(amount=4428.57, interest_rate=0.12, years=12, grace_principal_years=1)
    rows = loan_schedule(loan)
    assert rows[0].payment == pytest.approx(4428.57 * 0.12, abs=0.005)
    assert rows[0].principal == 0
    expected = -npf.pmt(0.12, 11, 4428.57)
    for k, row in enumerate(rows[1:], start=1):
        assert row.payment == pytest.approx(expected, abs=0.02)
        assert row.interest == pytest.approx(-npf.ipmt(0.12, k, 11, 4428.57), abs=0.05)
    assert rows[-1].closing == 0


def test_interest_grace_capitalises_the_interest() -> None:
    loan = Loan(
        amount=1000, interest_rate=0.1, years=5, grace_interest_years=2, grace_principal_years=2
    )
    rows = loan_schedule(loan)
    assert [row.payment for row in rows[:2]] == [0, 0]
    assert rows[2].opening == pytest.approx(1000 * 1.1**2, abs=0.01)
    assert rows[2].payment == pytest.approx(-npf.pmt(0.1, 3, 1210), abs=0.01)


@given(
    amount=st.floats(100, 1e7),
    rate=st.floats(0, 0.4),
    years=st.integers(1, 25),
    grace=st.integers(0, 5),
    interest_grace=st.integers(0, 5),
)
def test_principal_repaid_is_what_was_lent_plus_interest_capitalised(
    amount, rate, years, grace, interest_grace
) -> None:
    if max(grace, interest_grace) >= years:
        return
    loan = Loan(
        amount=amount,
        interest_rate=rate,
        years=years,
        grace_principal_years=grace,
        grace_interest_years=interest_grace,
    )
    rows = loan_schedule(loan)
    capitalised = sum(row.interest for row in rows[:interest_grace])
    repaid = sum(row.principal for row in rows[interest_grace:])
    assert repaid == pytest.approx(amount + capitalised, abs=0.01 * years)
    assert rows[-1].closing == 0
    for row in rows:
        assert (
            row.payment == pytest.approx(row.principal + row.interest, abs=0.011)
            or row.payment == 0
        )
