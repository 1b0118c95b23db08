"""Working capital: the cash an enterprise needs before its sales pay its costs.

Month by month over the whole horizon (half month by half month where a calendar marks
halves), each year's cash moves in the months its activity's calendar gives: sales (the
part sold) in its sales months, sales transport in its transport months, cash inputs and
paid labour in its input months, each spread evenly over the months listed; maintenance
and the cash part of general costs are spread over the twelve months (each of these two
lines' yearly amount rounded to the cent, then its monthly twelfth rounded to the cent). The
cumulative balance starts at 0 in the first month of year 1. Working capital is its
deepest deficit; the period to finance it runs to the last month with a negative
balance, plus 2 months, at most the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from alianza.appraisal.cashflow import activity_flows, asset_schedule, general_cost_by_year
from alianza.appraisal.money import cents, round_cents
from alianza.appraisal.plan import CalendarEntry, Plan, Situation

Array = NDArray[np.float64]


@dataclass(frozen=True)
class WorkingCapital:
    amount: float  # deepest cumulative cash deficit
    period_months: int  # months it must be financed for
    grant: float
    own: float
    financed: float  # amount - grant - own, not below 0
    interest: float  # on the financed part, at the real rate, over the period
    monthly_balance: Array  # cumulative cash balance at the end of each month


def uses_half_months(plan: Plan) -> bool:
    situations: list[Plan | Situation] = [plan]
    if plan.without_project is not None:
        situations.append(plan.without_project)
    return any(a.calendar.uses_half_months for s in situations for a in s.activities)


def spread(months: list[CalendarEntry] | None, periods_per_year: int) -> Array:
    """Weights over the periods of a year (12 months or 24 half months) that share a
    yearly amount evenly among the listed months; no list means all twelve months."""
    weights = np.zeros(periods_per_year)
    entries: list[CalendarEntry] = list(months) if months else list(range(1, 13))
    halves = periods_per_year // 12
    for entry in entries:
        share = 1.0 / len(entries)
        if isinstance(entry, int):
            start = (entry - 1) * halves
            weights[start : start + halves] += share / halves
        else:  # "3a" is the first half of March, "3b" the second
            month, half = int(entry[:-1]), entry[-1]
            weights[(month - 1) * 2 + (half == "b")] += share
    return weights


def _monthly_cash(situation: Plan | Situation, horizon: int, periods_per_year: int) -> Array:
    """Cash in (+) and out (-) of one situation, by year (rows) and period (columns)."""
    cash = np.zeros((horizon, periods_per_year))
    for activity in situation.activities:
        flows = activity_flows(activity, horizon)
        calendar = activity.calendar
        cash += np.outer(flows.sales, spread(calendar.sales, periods_per_year))
        cash -= np.outer(flows.sales_transport, spread(calendar.transport, periods_per_year))
        paid_inputs = flows.inputs + flows.paid_labour
        cash -= np.outer(paid_inputs, spread(calendar.inputs, periods_per_year))
    # Overheads, as two lines (maintenance, general costs): each line's yearly amount to
    # the cent, then its monthly twelfth to the cent.
    maintenance = asset_schedule(situation.investments, horizon).maintenance.sum(axis=0)
    general = sum(
        (general_cost_by_year(cost, horizon, cash_only=True) for cost in situation.general_costs),
        np.zeros(horizon),
    )
    monthly = sum(round_cents(round_cents(line) / 12.0) for line in (maintenance, general))
    cash -= np.outer(monthly, np.full(periods_per_year, 12.0 / periods_per_year))
    return cash


def working_capital(plan: Plan) -> WorkingCapital:
    horizon = plan.horizon
    periods_per_year = 24 if uses_half_months(plan) else 12
    cash = _monthly_cash(plan, horizon, periods_per_year)
    if plan.without_project is not None:
        cash -= _monthly_cash(plan.without_project, horizon, periods_per_year)
    balance = np.cumsum(cash.ravel())
    deficit = float(max(0.0, -balance.min()))
    negative = np.flatnonzero(balance < -0.005)
    periods_per_month = periods_per_year // 12
    if negative.size:
        last_negative_month = int(negative[-1]) // periods_per_month + 1
        period = min(last_negative_month + 2, 12 * horizon)
    else:
        period = 0
    amount = cents(deficit)
    terms = plan.working_capital
    financed = max(0.0, cents(amount - terms.grant - terms.own))
    real_rate = max(0.0, terms.interest_rate - plan.inflation)
    interest = cents(financed * real_rate * period / 12.0)
    monthly_balance = balance.reshape(-1, periods_per_month)[:, -1]
    return WorkingCapital(
        amount, period, terms.grant, terms.own, financed, interest, monthly_balance
    )
