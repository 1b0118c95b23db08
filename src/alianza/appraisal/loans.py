"""Loan schedules: grace on interest, grace on principal, then equal yearly payments."""

from __future__ import annotations

import math
from dataclasses import dataclass

from alianza.appraisal.money import cents
from alianza.appraisal.plan import Loan


@dataclass(frozen=True)
class LoanYear:
    year: int  # year of operation
    opening: float
    interest: float  # interest of the year (capitalised during the interest grace)
    principal: float
    payment: float
    closing: float


def annuity(balance: float, rate: float, periods: int) -> float:
    """The equal payment that repays `balance` over `periods` at `rate`:
    B r / (1 - (1 + r)^-n), or B / n when r = 0."""
    if rate == 0:
        return balance / periods
    # 1 - (1 + r)^-n computed without losing digits when r is tiny
    return balance * rate / -math.expm1(-periods * math.log1p(rate))


def loan_schedule(loan: Loan) -> list[LoanYear]:
    """Year by year: during the interest grace the interest is added to the balance and
    nothing is paid; during the principal grace only the interest is paid; then equal
    payments (an annuity at the loan's rate) repay the balance over the years left.
    Amounts are rounded to the cent; the last payment clears the balance exactly."""
    rate = loan.interest_rate
    grace = max(loan.grace_interest_years, loan.grace_principal_years)
    balance = float(loan.amount)
    payment_due = 0.0
    rows = []
    for k in range(loan.years):
        interest = cents(balance * rate)
        if k < loan.grace_interest_years:
            principal, payment = -interest, 0.0
        elif k < grace:
            principal, payment = 0.0, interest
        else:
            if k == grace:
                payment_due = cents(annuity(balance, rate, loan.years - grace))
            payment = payment_due
            principal = payment - interest
            if k == loan.years - 1:
                principal = balance
                payment = cents(principal + interest)
        closing = cents(balance - principal)
        rows.append(
            LoanYear(
                loan.first_year + k,
                balance,
                interest,
                cents(principal),
                payment,
                closing,
            )
        )
        balance = closing
    return rows
