"""The batch path gives each plan the figures it gets alone, and numpy-financial's."""

import numpy as np
import numpy_financial as npf
import pytest

from alianza.appraisal import evaluate, load_plan
from alianza.appraisal.batch import evaluate_lines, evaluate_many
from alianza.appraisal.indicators import UNIQUE

from .conftest import CASES, EXAMPLES


def test_many_plans_equal_each_alone() -> None:
    plans = [
        load_plan(CASES / "fruit-veg-processing.plan.yaml"),
        load_plan(EXAMPLES / "orchard-with-without.plan.yaml"),
    ]
    batch = evaluate_many(plans)
    for i, plan in enumerate(plans):
        alone = evaluate(plan)
        assert batch.npv[i] == pytest.approx(alone.npv, abs=0.005)
        assert batch.irr[i] == pytest.approx(alone.irr.value, abs=1e-12)
        assert np.array_equal(batch.flows[i, : len(alone.flows)], alone.flows)
        assert batch.payback_years[i] == pytest.approx(
            alone.payback_years or np.nan, abs=0.005, nan_ok=True
        )


def test_a_common_rate_overrides_each_plan_rate() -> None:
    plan = load_plan(CASES / "fruit-veg-processing.plan.yaml")
    assert evaluate_many([plan], discount_rate=0.1).npv[0] == pytest.approx(
        evaluate(plan, 0.1).npv, abs=0.005
    )


def test_profiles_are_refused() -> None:
    with pytest.raises(ValueError, match="profiles"):
        evaluate_many([load_plan(CASES / "honey-production.profile.yaml")])


def test_lines_match_a_loop_over_numpy_financial() -> None:
    rng = np.random.default_rng(5)
    plans, lines, periods = 300, 12, 16
    amounts = rng.uniform(0, 1000, size=(plans, lines, periods))
    is_cost = np.arange(lines) % 2 == 1
    amounts[:, 1, 0] = 20000  # an investment at t = 0
    rates = rng.uniform(0.02, 0.15, size=plans)
    result = evaluate_lines(amounts, is_cost, rates)
    for p in range(plans):
        raw = amounts[p, ~is_cost].sum(0) - amounts[p, is_cost].sum(0)
        # RuralInvest's order: each year's whole net to the cent, t = 0 left as it is
        # (the year-1 investment moved there) and t = 1 the rounded year 1 less it.
        flows = np.round(raw, 2)
        flows[0], flows[1] = raw[0], np.round(raw[0] + raw[1], 2) - raw[0]
        assert result.npv[p] == pytest.approx(npf.npv(rates[p], flows), abs=0.02)
        if result.irr_status[p] == UNIQUE:
            assert result.irr[p] == pytest.approx(npf.irr(flows), abs=1e-9)
