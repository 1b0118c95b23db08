"""Sensitivity, switching values and risk."""

import numpy as np
import pytest

from alianza.appraisal import evaluate, load_plan
from alianza.appraisal.indicators import npv
from alianza.appraisal.sensitivity import DRIVERS, RiskOptions, risk, scaled_flows, switching_values

from .conftest import CASES

PLAN = CASES / "fruit-veg-processing.plan.yaml"


@pytest.fixture(scope="module")
def appraisal():
    return evaluate(load_plan(PLAN))


def test_unscaled_flows_are_the_plan_flows(appraisal) -> None:
    from alianza.appraisal.cashflow import round_flows

    assert np.array_equal(round_flows(scaled_flows(appraisal.table)), appraisal.flows)


@pytest.mark.parametrize("driver", DRIVERS)
def test_switching_value_brings_npv_to_zero(appraisal, driver) -> None:
    change = switching_values(appraisal.table, 0.03)[driver]
    factor = {"yield_" if driver == "yield" else driver: 1 + change}
    assert npv(0.03, scaled_flows(appraisal.table, **factor)) == pytest.approx(0, abs=1e-6)


def test_sensitivity_moves_npv_the_right_way(appraisal) -> None:
    rows = {(row.driver, row.change): row.npv for row in appraisal.sensitivity}
    assert rows[("price", -0.1)] < appraisal.npv < rows[("price", 0.1)]
    assert rows[("cost", 0.1)] < appraisal.npv < rows[("cost", -0.1)]
    assert rows[("investment", 0.2)] < rows[("investment", 0.1)] < appraisal.npv
    # NPV is linear in each driver: equal steps, equal moves (to the cent's rounding)
    step = rows[("price", 0.2)] - rows[("price", 0.1)]
    assert rows[("price", 0.3)] - rows[("price", 0.2)] == pytest.approx(step, abs=0.1)


def test_risk_is_reproducible_and_depends_on_the_seed(appraisal) -> None:
    first = risk(appraisal.table, 0.03, RiskOptions(draws=500, seed=11))
    again = risk(appraisal.table, 0.03, RiskOptions(draws=500, seed=11))
    other = risk(appraisal.table, 0.03, RiskOptions(draws=500, seed=12))
    assert np.array_equal(first.npv, again.npv)
    assert not np.array_equal(first.npv, other.npv)
    assert 0 < first.probability_negative_npv < 1
    assert first.npv_percentiles["p5"] < first.npv_percentiles["p50"] < first.npv_percentiles["p95"]


def test_risk_without_shocks_is_the_plan(appraisal) -> None:
    still = risk(appraisal.table, 0.03, RiskOptions(draws=3, price_sd=0, yield_sd=0))
    assert still.npv == pytest.approx(appraisal.npv, abs=0.005)
    assert still.probability_negative_npv == 0.0


def test_more_volatile_prices_mean_more_risk(appraisal) -> None:
    calm = risk(
        appraisal.table, 0.03, RiskOptions(draws=4000, price_sd=0.05, yield_sd=0.05, seed=1)
    )
    wild = risk(appraisal.table, 0.03, RiskOptions(draws=4000, price_sd=0.3, yield_sd=0.3, seed=1))
    assert wild.npv_sd > calm.npv_sd
    assert wild.probability_negative_npv > calm.probability_negative_npv


def test_risk_report(appraisal) -> None:
    report = evaluate(load_plan(PLAN), risk_options=RiskOptions(draws=200, seed=3)).to_dict()
    assert report["risk"]["draws"] == 200
    assert 0 <= report["risk"]["probability_negative_npv"] <= 1
