"""Many plans at once, as arrays: portfolios, generated plans, risk analyses.

The batch path computes the same indicators with the same functions as `evaluate`, over
a leading axis of plans: a plan evaluated alone or in a batch gives the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from alianza.appraisal.cashflow import COMPONENTS, IS_COST, cash_flow_table, flow_lines, round_flows
from alianza.appraisal.indicators import IrrBatch, benefit_cost_ratio, irr_many, npv, payback
from alianza.appraisal.plan import Plan, PlanError

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BatchResult:
    """Indicators of P plans, each an array of length P (NaN where undefined)."""

    flows: Array  # (P, T) flows t = 0..N, rounded as RuralInvest rounds them, zero-padded
    npv: Array
    irr: Array
    irr_status: NDArray[np.int64]  # indicators.UNIQUE / UNDEFINED / MULTIPLE
    payback_years: Array
    benefit_cost_ratio: Array
    # Everything irr_many found (every rate, by row), for `indicators.irr_of_row`.
    irr_batch: IrrBatch = field(repr=False, compare=False)


def evaluate_lines(amounts: ArrayLike, is_cost: ArrayLike, discount_rate: ArrayLike) -> BatchResult:
    """Indicators of plans given as lines of money by period.

    amounts: (P, L, T) amounts of L lines of each of P plans over periods t = 0..N, each
        a positive amount of a benefit or a cost;
    is_cost: (L,) or (P, L), True where a line is a cost;
    discount_rate: one rate, or one per plan.
    flows_t = sum of benefit lines - sum of cost lines, rounded to the cent in RuralInvest's
    order (`cashflow.round_flows`: each year's whole net, the year-1 investment at t=0)."""
    amounts = np.asarray(amounts, dtype=np.float64)
    is_cost = np.broadcast_to(np.asarray(is_cost, dtype=bool), amounts.shape[:2])
    costs = np.einsum("plt,pl->pt", amounts, is_cost.astype(np.float64))
    benefits = np.einsum("plt,pl->pt", amounts, (~is_cost).astype(np.float64))
    return evaluate_flows(benefits, costs, discount_rate)


def evaluate_flows(benefits: ArrayLike, costs: ArrayLike, discount_rate: ArrayLike) -> BatchResult:
    """Indicators of plans given as benefit and cost flows (P, T), t = 0..N."""
    benefits = np.atleast_2d(np.asarray(benefits, dtype=np.float64))
    costs = np.atleast_2d(np.asarray(costs, dtype=np.float64))
    rates = np.broadcast_to(np.asarray(discount_rate, dtype=np.float64), benefits.shape[:1])
    flows = round_flows(benefits - costs)
    irrs = irr_many(flows)
    return BatchResult(
        flows=flows,
        npv=npv(rates, flows),
        irr=irrs.rates,
        irr_status=irrs.status,
        payback_years=payback(flows),
        benefit_cost_ratio=benefit_cost_ratio(rates, benefits, costs),
        irr_batch=irrs,
    )


def evaluate_many(plans: Sequence[Plan], discount_rate: float | None = None) -> BatchResult:
    """Evaluate projects together: each plan's lines, zero-padded to the longest horizon,
    through one vectorised pass. Each plan's own discount rate is used unless one is
    given for all."""
    if not plans:
        raise ValueError("give at least one plan")
    profiles = [plan.name for plan in plans if plan.stage != "project"]
    if profiles:
        raise PlanError(
            "evaluate_many", [("stage", f"profiles have no cash-flow analysis: {profiles}")]
        )
    periods = max(plan.horizon for plan in plans) + 1
    amounts = np.zeros((len(plans), len(COMPONENTS), periods))
    rates = np.empty(len(plans))
    for i, plan in enumerate(plans):
        lines = flow_lines(cash_flow_table(plan))
        amounts[i, :, : lines.shape[1]] = lines
        rate = plan.discount_rate if discount_rate is None else discount_rate
        if rate is None:
            raise PlanError(plan.name, [("discount_rate", "give one in the plan or for the batch")])
        rates[i] = rate
    return evaluate_lines(amounts, IS_COST, rates)
