"""Invariants over generated plans: whatever the plan, the figures hang together."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alianza.appraisal import evaluate, parse_plan
from alianza.appraisal.batch import evaluate_many
from alianza.appraisal.indicators import npv
from alianza.appraisal.money import round_cents

money = st.floats(0, 5000, allow_nan=False).map(lambda x: round(x, 2))
months = st.lists(st.integers(1, 12), min_size=1, max_size=6, unique=True)


@st.composite
def plans(draw):
    years = draw(st.integers(1, 25))
    investments = []
    for _ in range(draw(st.integers(0, 5))):
        cost = draw(money)
        investments.append(
            {
                "item": "good",
                "quantity": draw(st.integers(1, 10)),
                "unit_cost": cost,
                "life_years": draw(st.integers(1, 30)),
                "maintenance": draw(money) / 10,
                "salvage": round(cost * draw(st.floats(0, 1)), 2),
                "replace": draw(st.booleans()),
                "begin": draw(st.integers(1, years)),
                "grant": 0.0,
            }
        )
    for _ in range(draw(st.integers(0, 2))):
        investments.append(
            {
                "item": "work",
                "kind": "labour",
                "unit": "day",
                "quantity": draw(st.integers(1, 100)),
                "unit_cost": draw(money) / 100,
            }
        )
    activities = []
    for _ in range(draw(st.integers(1, 3))):
        quantity = draw(st.floats(0.1, 50))
        activities.append(
            {
                "name": "crop",
                "cycles_per_year": draw(st.integers(1, 4)),
                "production": draw(st.lists(st.floats(0, 500), min_size=1, max_size=4)),
                "calendar": {
                    "inputs": draw(months),
                    "transport": draw(months),
                    "sales": draw(months),
                },
                "income": [
                    {
                        "item": "produce",
                        "quantity": quantity,
                        "price": draw(money) / 100,
                        "own_use": quantity * draw(st.floats(0, 1)),
                        "transport": draw(money) / 1000,
                    }
                ],
                "inputs": [
                    {
                        "item": "seed",
                        "quantity": draw(st.floats(0, 10)),
                        "price": draw(money) / 1000,
                    }
                ],
                "labour": [{"item": "work", "quantity": 0.1, "wage": 3.0, "unpaid": 0.05}],
            }
        )
    grants = draw(st.floats(0, 1))
    for item in investments:
        if item.get("kind") is None:
            item["grant"] = round(item["quantity"] * item["unit_cost"] * grants, 2)
    return parse_plan(
        {
            "plan": 1,
            "name": "generated",
            "currency": "USD",
            "years": years,
            "discount_rate": draw(st.floats(0, 0.2)),
            "investments": investments,
            "general_costs": [
                {
                    "item": "rent",
                    "quantity": draw(st.lists(st.integers(0, 12), min_size=1, max_size=3)),
                    "unit_cost": draw(money) / 10,
                }
            ],
            "activities": activities,
            "working_capital": {"grant": draw(money), "interest_rate": 0.1},
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_figures_hang_together(plan) -> None:
    report = evaluate(plan)
    table = report.table
    # flows by t are the yearly nets rounded to the cent (RuralInvest's order), the
    # year-1 investment brought forward, unrounded, to t = 0
    assert report.flows[0] == -table["investment"][0]
    # (a net within float noise of a half cent may land on either side of it: the flows and
    # the table add their lines in different orders, as two spreadsheets would)
    nets = np.asarray(table.net, dtype=float)
    on_half = np.abs(np.abs(nets) * 100 % 1 - 0.5) < 1e-6
    cent = 0.01 + 1e-9
    first = report.flows[0] + report.flows[1] - float(round_cents(nets[0]))
    assert abs(first) <= (cent if on_half[0] else 1e-9)
    later = np.abs(report.flows[2:] - round_cents(nets[1:]))
    assert np.all((later == 0) | (on_half[1:] & (later <= cent)))
    assert report.flows.sum() == pytest.approx(table.net.sum(), abs=0.01 * len(report.flows))
    # the applicant gets back exactly the grants
    grants = sum(item.total_grant for item in plan.investments) + plan.working_capital.grant
    assert (report.applicant_flows - report.flows).sum() == pytest.approx(
        grants, abs=0.01 * len(report.flows)
    )
    # NPV is that of the flows; a reported IRR zeroes it
    assert report.npv == pytest.approx(npv(report.discount_rate, report.flows), abs=0.006)
    if report.irr.value is not None:
        terms = np.abs(report.flows) * (1 + report.irr.value) ** -np.arange(len(report.flows))
        assert abs(npv(report.irr.value, report.flows)) <= 1e-6 * terms.sum() + 1e-9
    # working capital: never negative, financed part within it
    wc = report.working_capital
    assert 0 <= wc.financed <= wc.amount + 1e-9
    assert 0 <= wc.period_months <= 12 * plan.horizon
    # alone and in a batch, the same figures
    batch = evaluate_many([plan, plan])
    assert batch.npv[1] == pytest.approx(report.npv, abs=0.006)
    if report.payback_years is not None:
        assert batch.payback_years[0] == pytest.approx(report.payback_years, abs=0.006)
