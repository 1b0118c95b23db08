"""Working capital: the cash an enterprise needs before its sales pay its costs.

Month by month over the whole horizon, each year's cash moves in the months its
activity's calendar gives: sales (the part sold, at its price) in its sales months, the
transport of what is sold in its transport months, inputs bought and paid labour in its
input months. A calendar's half months ("3a", "3b") only share a year's amount among the
months: the amount is shared over the half months marked, a whole month weighing two
halves, and each month's share is the sum of its halves. Maintenance and the cash part of
general costs are spread over the twelve months (each of these two lines' yearly amount
rounded to the cent, then its monthly twelfth rounded to the cent).

The cumulative balance, read at month ends, starts at 0 in the first month of year 1.
Working capital is its deepest deficit; the period to finance it runs to the last month
with a negative balance, plus 2 months, at most the horizon. With a without-project
situation, the working capital is that of the situation with the project (RuralInvest's),
not of the increment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from alianza.appraisal.cashflow import activity_flows, asset_schedule, general_cost_by_year
from alianza.appraisal.money import cents, round_cents
from alianza.appraisal.plan import NO_MONTH, CalendarMonths, Plan, month_of

Array = NDArray[np.float64]


@dataclass(frozen=True)
class WorkingCapital:
    amount: float  # deepest cumulative cash deficit
    period_months: int  # months it must be financed for
    average_period_months: float  # months the financed amount is outstanding on average
    grant: float
    own: float
    financed: float  # amount - grant - own, not below 0
    real_rate: float  # interest_rate - inflation, a year
    interest: float  # on the financed part, at the real rate, over the average period
    monthly_balance: Array  # cumulative cash balance at the end of each month


def spread(months: CalendarMonths | None) -> Array:
    """Weights over the 12 months of a year that share a yearly amount among the months
    of a calendar list: each half month marked ("3a") weighs 1, a whole month (3) weighs 2
    (its two halves), and a month's weight is the sum of its halves, over the total
    weight. No list means all twelve months evenly; "none" means no month (all zero)."""
    weights = np.zeros(12)
    if months == NO_MONTH:
        return weights
    entries = list(months) if months else list(range(1, 13))
    for entry in entries:
        weights[month_of(entry) - 1] += 2.0 if isinstance(entry, int) else 1.0
    return weights / weights.sum()


def monthly_cash(plan: Plan) -> Array:
    """Cash in (+) and out (-) of the situation with the project, by year (rows) and month
    (columns)."""
    horizon = plan.horizon
    cash = np.zeros((horizon, 12))
    for activity in plan.activities:
        flows = activity_flows(activity, horizon)
        calendar = activity.calendar
        cash += np.outer(flows.cash_sales, spread(calendar.sales))
        cash -= np.outer(flows.cash_transport, spread(calendar.transport))
        cash -= np.outer(flows.cash_inputs + flows.paid_labour, spread(calendar.inputs))
    # Overheads, as two lines (maintenance, general costs): each line's yearly amount to
    # the cent, then its monthly twelfth to the cent.
    maintenance = asset_schedule(plan.investments, horizon).maintenance.sum(axis=0)
    general = sum(
        (general_cost_by_year(cost, horizon, cash_only=True) for cost in plan.general_costs),
        np.zeros(horizon),
    )
    monthly = sum(round_cents(round_cents(line) / 12.0) for line in (maintenance, general))
    cash -= np.asarray(monthly)[:, None]
    return cash


def financing_period(balance: Array) -> int:
    """Months the working capital is financed for: the last month (1-based) whose
    cumulative balance is negative, plus 2, at most the horizon; 0 if none is."""
    negative = np.flatnonzero(balance < -0.005)
    if not negative.size:
        return 0
    return min(int(negative[-1]) + 1 + 2, balance.size)


def average_period(balance: Array, amount: float, period: int) -> float:
    """RuralInvest's average financing period, in months, to 2 decimals.

    Over months i = 0..P-1 of the period P, d_i = the deepest share of the working capital
    drawn so far, max(0, max_{j<=i} -balance_j / amount): the loan grows to its peak as the
    deficit deepens, and each share drawn in month i is outstanding P - i months. Each
    term round((P - i) x d_i, 2), RuralInvest's order, and the mean of the terms over P,
    rounded to 2 decimals."""
    if period == 0 or amount <= 0:
        return 0.0
    drawn = np.maximum.accumulate(np.maximum(0.0, -balance[:period] / amount))
    terms = round_cents((period - np.arange(period)) * drawn)
    return float(round_cents(terms.sum() / period))


def working_capital(plan: Plan) -> WorkingCapital:
    """The working capital of the plan, its financing period and the interest on the part
    financed: financed x real rate x average period / 12, to the cent, where the real
    rate is interest_rate - inflation (RuralInvest's; negative when inflation is higher)."""
    balance = np.cumsum(monthly_cash(plan).ravel())
    amount = cents(max(0.0, -float(balance.min())))
    period = financing_period(balance)
    average = average_period(balance, amount, period)
    terms = plan.working_capital
    financed = max(0.0, cents(amount - terms.grant - terms.own))
    # Rates written 0.16 and 0.07 differ by 0.09000000000000001 in binary: RuralInvest
    # subtracts percentages, so keep the difference at the precision it was written.
    real_rate = round(terms.interest_rate - plan.inflation, 10)
    interest = cents(financed * average / 12.0 * real_rate)
    return WorkingCapital(
        amount=amount,
        period_months=period,
        average_period_months=average,
        grant=terms.grant,
        own=terms.own,
        financed=financed,
        real_rate=real_rate,
        interest=interest,
        monthly_balance=balance,
    )
