"""Cash-flow conventions, each against a closed form worked by hand."""

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alianza.appraisal import evaluate, load_plan, parse_plan
from alianza.appraisal.cashflow import asset_schedule, cash_flow_table
from alianza.appraisal.plan import Investment

from .conftest import CASES, EXAMPLES


def asset(**fields) -> Investment:
    base = {
        "item": "pump",
        "quantity": 2,
        "unit_cost": 100.0,
        "life_years": 3,
        "salvage": 10.0,
        "maintenance": 5.0,
    }
    return Investment.model_validate({**base, **fields})


def test_replaced_asset_is_bought_again_and_keeps_a_residual() -> None:
    s = asset_schedule([asset(replace=True)], horizon=10)
    assert np.flatnonzero(s.investment[0]) + 1 == pytest.approx([1])
    assert list(np.flatnonzero(s.replacements[0]) + 1) == [4, 7, 10]
    assert list(np.flatnonzero(s.salvage[0]) + 1) == [4, 7, 10]
    assert s.maintenance[0].sum() == 10 * 2 * 5.0
    # bought again in year 10, used 1 year of 3: (100 - 10) / 3 * 2 + 10 per unit
    assert s.residual[0, -1] == pytest.approx(2 * ((100 - 10) / 3 * 2 + 10))


def test_residual_is_the_salvage_when_a_life_ends_at_the_horizon() -> None:
    s = asset_schedule([asset(replace=True)], horizon=9)
    assert s.residual[0, -1] == pytest.approx(2 * 10.0)


def test_asset_not_replaced_is_maintained_during_its_life_then_salvaged() -> None:
    s = asset_schedule([asset(replace=False, begin=2)], horizon=10)
    assert list(np.flatnonzero(s.maintenance[0]) + 1) == [2, 3, 4]
    assert list(np.flatnonzero(s.salvage[0]) + 1) == [5]
    assert s.replacements.sum() == 0 and s.residual.sum() == 0


def test_asset_not_replaced_whose_life_runs_past_the_horizon() -> None:
    s = asset_schedule([asset(replace=False, begin=9, life_years=5)], horizon=10)
    assert s.salvage.sum() == 0
    # used 2 years of 5: 3 years left
    assert s.residual[0, -1] == pytest.approx(2 * ((100 - 10) / 5 * 3 + 10))


def test_labour_and_services_are_spent_once() -> None:
    item = Investment.model_validate(
        {
            "item": "digging",
            "kind": "labour",
            "unit": "day",
            "quantity": 10,
            "unit_cost": 4.0,
            "begin": 3,
        }
    )
    s = asset_schedule([item], horizon=5)
    assert list(s.investment[0]) == [0, 0, 40.0, 0, 0]
    assert s.maintenance.sum() == s.replacements.sum() == s.residual.sum() == 0


@given(
    life=st.integers(1, 15),
    begin=st.integers(1, 20),
    horizon=st.integers(1, 30),
    salvage=st.floats(0, 100),
    replace=st.booleans(),
)
def test_residual_lies_between_salvage_and_cost(life, begin, horizon, salvage, replace) -> None:
    if begin > horizon:
        return
    s = asset_schedule(
        [asset(life_years=life, begin=begin, salvage=salvage, replace=replace)], horizon
    )
    residual = s.residual[0, -1] / 2
    assert residual == 0 or salvage - 1e-9 <= residual <= 100 + 1e-9
    # a good is never both salvaged and still in use without being bought again
    bought = s.investment[0] + s.replacements[0]
    assert np.count_nonzero(bought) >= 1


def test_without_project_flows_are_subtracted() -> None:
    data = load_plan(CASES / "fruit-veg-processing.plan.yaml").model_dump(by_alias=True)
    activities = copy.deepcopy(data["activities"])
    data["without_project"] = {"activities": activities[:1]}
    with_only = cash_flow_table(load_plan(CASES / "fruit-veg-processing.plan.yaml"))
    incremental = cash_flow_table(parse_plan(data))
    jam = evaluate(
        parse_plan(
            {
                **data,
                "activities": activities[:1],
                "without_project": None,
                "investments": [],
                "general_costs": [],
            }
        )
    )
    assert np.allclose(incremental["sales"], with_only["sales"] - jam.table["sales"])
    assert np.allclose(incremental["maintenance"], with_only["maintenance"])


def test_general_costs_by_year_and_in_kind() -> None:
    data = load_plan(CASES / "fruit-veg-processing.plan.yaml").model_dump(by_alias=True)
    data["general_costs"] = [
        {"item": "rent", "unit": "month", "quantity": [6, 12], "unit_cost": 10.0, "in_kind": 6}
    ]
    data["working_capital"] = {"grant": 0, "own": 0, "interest_rate": 0}
    plan = parse_plan(data)
    table = cash_flow_table(plan)
    assert list(table["general"][:3]) == [60.0, 120.0, 120.0]
    # the part in kind is a cost of the enterprise but not cash: working capital ignores it
    without_rent = evaluate(
        parse_plan(
            {
                **data,
                "general_costs": [
                    {"item": "rent", "unit": "month", "quantity": [0, 6], "unit_cost": 10.0}
                ],
            }
        )
    )
    assert evaluate(plan).working_capital.amount == without_rent.working_capital.amount


def test_half_months_spread_like_their_whole_month() -> None:
    data = load_plan(CASES / "fruit-veg-processing.plan.yaml").model_dump(by_alias=True)
    whole = evaluate(parse_plan(data)).working_capital
    halves = copy.deepcopy(data)
    calendar = halves["activities"][0]["calendar"]
    calendar["inputs"] = [f"{m}{h}" for m in calendar["inputs"] for h in "ab"]
    split = evaluate(parse_plan(halves)).working_capital
    assert (split.amount, split.period_months) == (whole.amount, whole.period_months)
    # moving the sales to the second half of their months can only deepen the deficit
    later = copy.deepcopy(data)
    later["activities"][0]["calendar"]["sales"] = [
        f"{m}b" for m in later["activities"][0]["calendar"]["sales"]
    ]
    assert evaluate(parse_plan(later)).working_capital.amount >= whole.amount


def test_grants_from_several_donors() -> None:
    report = evaluate(load_plan(EXAMPLES / "orchard-with-without.plan.yaml")).to_dict()
    donors = report["investment"]["grants_by_donor"]
    assert donors["Project grant"] == 420000 and donors["Municipality"] == 120000
    assert report["investment"]["grants"] == pytest.approx(sum(donors.values()))
    # grants of year-1 items are given back to the applicant at t = 0, less those the
    # applicants would get without the project (15,000 for hand sprayers)
    flows = report["cash_flows"]
    assert flows["applicant"][0] - flows["total"][0] == pytest.approx(
        report["investment"]["grants"] - 15000
    )


def test_profile_uses_full_production() -> None:
    data = load_plan(CASES / "honey-production.profile.yaml").model_dump(by_alias=True)
    data["activities"][0]["production"] = [0.25, 0.5, 1]
    assert evaluate(parse_plan(data)).income == 7440.0


@pytest.mark.parametrize(
    ("unit", "per_year"),
    [
        ("day", 288),
        ("person-days", 288),
        ("Man-day", 288),
        ("week", 48),
        ("months", 12),
        ("year", 1),
        ("job", None),
    ],
)
def test_labour_units_convert_to_person_years(unit, per_year) -> None:
    from alianza.appraisal.evaluate import _person_years

    assert _person_years(unit) == per_year
