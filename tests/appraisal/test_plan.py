"""The plan format: what it accepts, and the errors it gives for what it does not."""

import json

import pytest

from alianza.appraisal import PlanError, load_plan, parse_plan, plan_json_schema

from .conftest import CASES


def minimal(**fields):
    plan = {
        "plan": 1,
        "name": "Beans",
        "currency": "MWK",
        "years": 5,
        "discount_rate": 0.1,
        "activities": [
            {
                "name": "beans",
                "production": [1],
                "income": [{"item": "beans", "quantity": 100, "price": 2}],
            }
        ],
    }
    plan.update(fields)
    return plan


def problems(data) -> dict[str, str]:
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    return dict(caught.value.errors)


def test_every_error_at_once_with_its_field_path() -> None:
    found = problems(
        minimal(
            years=0,
            currency="M",
            investments=[
                {"item": "tank", "quantity": 1, "unit_cost": 10, "life_years": 0},
                {"item": "drip", "quantity": -1, "unit_cost": 10, "life_years": 2},
            ],
            surprise=True,
        )
    )
    assert found["years"] == "the horizon must be at least 1 year"
    assert found["investments[0].life_years"] == "must be > 0"
    assert "greater than or equal to 0" in found["investments[1].quantity"]
    assert "at least 3 characters" in found["currency"]
    assert "not permitted" in found["surprise"]


def test_a_plan_without_activities_says_why() -> None:
    found = problems(minimal(activities=[]))
    assert "at least one activity" in found["activities"]


def test_asset_without_life_and_service_with_life() -> None:
    found = problems(
        minimal(
            investments=[
                {"item": "tank", "quantity": 1, "unit_cost": 10},
                {
                    "item": "advice",
                    "kind": "service",
                    "quantity": 1,
                    "unit_cost": 10,
                    "life_years": 3,
                },
            ]
        )
    )
    assert "useful life" in found["investments[0].life_years"]
    assert "spent once" in found["investments[1]"]


def test_bad_calendar_and_over_funded_item() -> None:
    activity = minimal()["activities"][0] | {"calendar": {"sales": [13, "4c"]}}
    found = problems(
        minimal(
            activities=[activity],
            investments=[
                {
                    "item": "tank",
                    "quantity": 1,
                    "unit_cost": 10,
                    "life_years": 5,
                    "grants": {"Project": 8},
                    "own_contribution": 5,
                }
            ],
        )
    )
    assert "13 is not a month" in found["activities[0].calendar.sales"]
    assert "exceed the item's cost" in found["investments[0]"]


def test_investment_after_the_horizon_is_refused() -> None:
    found = problems(
        minimal(
            investments=[
                {"item": "tank", "quantity": 1, "unit_cost": 10, "life_years": 5, "begin": 9}
            ]
        )
    )
    assert "after the horizon" in next(iter(found.values()))


def test_unreadable_files(tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("plan: 1\nname: [unclosed\n")
    with pytest.raises(PlanError, match="not valid YAML"):
        load_plan(broken)
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(PlanError, match="mapping"):
        load_plan(listing)


def test_json_plans_are_read_too(tmp_path) -> None:
    source = load_plan(CASES / "fruit-veg-processing.plan.yaml")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(source.model_dump(mode="json")))
    assert load_plan(path) == source


def test_aliases_of_the_start_year() -> None:
    item = {"item": "tank", "quantity": 1, "unit_cost": 10, "life_years": 5}
    for name in ("begin", "start_year", "year"):
        plan = parse_plan(minimal(investments=[item | {name: 3}]))
        assert plan.investments[0].begin == 3


def test_json_schema_describes_the_format() -> None:
    schema = plan_json_schema()
    assert {"plan", "name", "currency", "activities"} <= set(schema["required"])
    assert "Investment" in schema["$defs"]
    assert "life_years" in schema["$defs"]["Investment"]["properties"]


def test_rules_across_fields_are_reported_with_the_other_errors() -> None:
    # `life_years: 0` used to appear only once the rest of the item (and of the plan) was
    # right: every rule is now checked in the same pass as the field errors.
    found = problems(
        minimal(
            years=None,
            activities=[],
            investments=[
                {"item": "tank", "quantity": -1, "unit_cost": 10, "life_years": 0},
                {"item": "drip", "quantity": 1, "unit_cost": 10, "life_years": 0, "salvage": 20},
                {"item": "sheds", "quantity": 1, "unit_cost": 10, "life_years": 2, "begin": 9},
            ],
            loans=[{"amount": 5, "interest_rate": 0.1, "years": 2, "grace_principal_years": 2}],
        )
    )
    assert "greater than or equal to 0" in found["investments[0].quantity"]
    assert found["investments[0].life_years"] == "must be > 0"
    assert found["investments[1].life_years"] == "must be > 0"
    assert found["investments[1].salvage"] == "cannot exceed unit_cost"
    assert "at least one activity" in found["activities"]
    assert "needs its horizon" in found["years"]
    assert "grace periods" in found["loans[0]"]
    with_horizon = problems(
        minimal(
            investments=[{"item": "t", "quantity": 1, "unit_cost": 1, "life_years": 0, "begin": 9}]
        )  # fmt: skip
    )
    assert with_horizon["investments[0].begin"] == "year 9 is after the horizon of 5 years"
    assert with_horizon["investments[0].life_years"] == "must be > 0"


def test_a_rule_skips_a_field_that_is_invalid_in_itself() -> None:
    # own_use 0 is not "more than the quantity" when the quantity itself is refused
    data = minimal()
    data["activities"][0]["income"][0].update(quantity=-1, own_use=0)
    assert list(problems(data)) == ["activities[0].income[0].quantity"]


def test_currency_is_an_iso_4217_code() -> None:
    assert "ISO 4217" in problems(minimal(currency="USX"))["currency"]
    assert parse_plan(minimal(currency="hnl")).currency == "HNL"


def test_suspicious_but_legal_values_are_warned_about() -> None:
    from alianza.appraisal import evaluate
    from alianza.appraisal.plan import plan_warnings

    data = minimal(
        discount_rate=3,
        investments=[{"item": "dam", "quantity": 1, "unit_cost": 10, "life_years": 120}],
    )
    data["activities"][0]["income"][0]["price"] = 0
    warnings = plan_warnings(parse_plan(data))
    assert any(w.startswith("discount_rate: 3 is read as 300%") for w in warnings)
    assert any(w.startswith("investments[0].life_years: 120 years") for w in warnings)
    assert any(w.startswith("activities[0].income[0].price: 0") for w in warnings)
    assert set(warnings) <= set(evaluate(parse_plan(data)).warnings)
    assert plan_warnings(load_plan(CASES / "fruit-veg-processing.plan.yaml")) == []
