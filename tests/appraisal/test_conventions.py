"""RuralInvest 4.4's conventions, one small plan each, with the figures worked by hand.

Each plan is the least that shows its rule; the comments give the arithmetic, so that a
reader can check the expected figures without the engine.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from alianza.appraisal import PlanError, evaluate, parse_plan
from alianza.appraisal.cashflow import cash_flow_table
from alianza.appraisal.money import cents, round_cents
from alianza.appraisal.working_capital import average_period, spread, working_capital


def crop(
    *,
    price: float = 100.0,
    inputs: float = 0.0,
    sales: list[Any] | str | None = None,
    paid: list[Any] | str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One activity: one unit a year, one income line at `price`, one input line costing
    `inputs`; `sales` and `paid` are its calendar's sales and input months."""
    calendar = {
        key: value for key, value in (("sales", sales), ("inputs", paid)) if value is not None
    }
    activity: dict[str, Any] = {
        "name": "crop",
        "production": [1],
        "calendar": calendar,
        "income": [{"item": "produce", "quantity": 1, "price": price}],
        "inputs": [{"item": "seed", "quantity": 1, "price": inputs}] if inputs else [],
    }
    activity.update(extra)
    return activity


def project(*activities: dict[str, Any], **fields: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "plan": 1,
        "name": "test",
        "currency": "USD",
        "years": 1,
        "discount_rate": 0.0,
        "activities": list(activities) or [crop()],
    }
    plan.update(fields)
    return plan


# 1. Annual net income ---------------------------------------------------------------


def test_annual_net_income_is_the_last_years_whole_flow_less_the_residual_value() -> None:
    # A tool of 100 with a one-year life, replaced every year (salvage 10, upkeep 5), and
    # sales of 80 a year, over 2 years. Year 2: sales 80 + salvage 10 + residual 10 (the
    # tool bought in year 2 is used up: only its salvage is left) - replacement 100 -
    # maintenance 5 = -5. Annual net income = -5 - residual 10 = -15 (income - costs,
    # 80 - 5 = 75, would leave out the replacement that year).
    report = evaluate(
        parse_plan(
            project(
                crop(price=80),
                years=2,
                investments=[
                    {
                        "item": "tool",
                        "quantity": 1,
                        "unit_cost": 100,
                        "life_years": 1,
                        "salvage": 10,
                        "maintenance": 5,
                    }
                ],
            )
        )
    )
    assert report.flows[-1] == -5.0
    assert report.residual_value == 10.0
    assert report.annual_net_income == -15.0


# 2. Working capital read month by month ------------------------------------------------


def test_half_months_share_the_amount_but_the_balance_is_read_at_month_ends() -> None:
    # Inputs of 60 paid in the first half of January, sales of 100 cashed in its second
    # half: by the end of January the balance is +40, so no working capital is needed
    # (read at mid-January it would have been -60).
    plan = parse_plan(project(crop(price=100, inputs=60, paid=["1a"], sales=["1b"])))
    capital = working_capital(plan)
    assert (capital.amount, capital.period_months) == (0.0, 0)
    assert capital.monthly_balance.shape == (12,)
    # Sales in the second half of February instead: end of January -60, end of February
    # +40. Working capital 60; the last negative month is 1, so the period is 1 + 2 = 3.
    later = working_capital(
        parse_plan(project(crop(price=100, inputs=60, paid=["1a"], sales=["2b"])))
    )
    assert (later.amount, later.period_months) == (60.0, 3)


# 3. Calendars mixing whole months and halves ---------------------------------------------


def test_a_whole_month_weighs_two_half_months() -> None:
    # [2b, 3, 4, 5, 6a]: halves weigh 1, whole months 2, 8 in all: February 1/8, March to
    # May 2/8 each, June 1/8 (an equal share per entry would give each of them 1/5).
    assert list(spread(["2b", 3, 4, 5, "6a"])) == pytest.approx(
        [0, 1 / 8, 2 / 8, 2 / 8, 2 / 8, 1 / 8, 0, 0, 0, 0, 0, 0]
    )
    # Inputs of 80 a year on that calendar, sales of 100 in July: 10 in February, 20 in
    # March, April and May, 10 in June. Balance at the ends of January..July:
    # 0, -10, -30, -50, -70, -80, +20. Working capital 80, period 6 + 2 = 8 months.
    capital = working_capital(
        parse_plan(project(crop(price=100, inputs=80, paid=["2b", 3, 4, 5, "6a"], sales=[7])))
    )
    assert list(capital.monthly_balance[:7]) == pytest.approx([0, -10, -30, -50, -70, -80, 20])
    assert (capital.amount, capital.period_months) == (80.0, 8)


def test_whole_months_alone_share_evenly_and_a_month_cannot_be_listed_twice() -> None:
    assert list(spread([1, 2, 3, 4])[:5]) == [0.25, 0.25, 0.25, 0.25, 0.0]
    assert list(spread(["3a", "3b"])[2:4]) == [1.0, 0.0]  # both halves: all of March
    with pytest.raises(PlanError, match="listed twice: 3a"):
        parse_plan(project(crop(inputs=10, paid=[3, "3a"])))


# 4. With/without: the working capital of the situation with the project ------------------


def test_with_without_working_capital_is_that_of_the_situation_with_the_project() -> None:
    # With the project: inputs 80 in January, sales 100 in July -> working capital 80.
    # Without it: inputs 30 in January, sales 50 in July. The increment would need 50;
    # RuralInvest finances the situation with the project: 80.
    plan = parse_plan(
        project(
            crop(price=100, inputs=80, paid=[1], sales=[7]),
            without_project={"activities": [crop(price=50, inputs=30, paid=[1], sales=[7])]},
        )
    )
    assert working_capital(plan).amount == 80.0
    # ...while the flows stay those of the increment: (100 - 80) - (50 - 30) = 0.
    assert cash_flow_table(plan).net[0] == 0.0


# 5. Transport of income, own use included -----------------------------------------------


def test_income_is_valued_net_of_transport_own_use_included() -> None:
    # 10 units at 5, transport 1 a unit, 4 kept for own use. Income = 10 x (5 - 1) = 40:
    # sales 6 x 4 = 24, own use 4 x 4 = 16 (transport counted on own use too; valuing
    # own use at its price and transport only on what is sold would give 44).
    activity = crop(sales=[12])
    activity["income"] = [
        {"item": "maize", "quantity": 10, "price": 5, "transport": 1, "own_use": 4}
    ]
    activity["calendar"]["transport"] = [1]
    plan = parse_plan(project(activity))
    table = cash_flow_table(plan)
    assert (table["sales"][0], table["own_use"][0], table.net[0]) == (24.0, 16.0, 40.0)
    # The cash moves only for what is sold: transport 6 x 1 = 6 paid in January, sales
    # 6 x 5 = 30 cashed in December. Working capital 6, negative to November: period 13,
    # at most the 12 months of the horizon.
    capital = working_capital(plan)
    assert (capital.amount, capital.period_months) == (6.0, 12)
    assert capital.monthly_balance[-1] == pytest.approx(24.0)


# 6. Grants in the situation without the project ------------------------------------------


def test_applicant_flows_add_grants_with_less_grants_without() -> None:
    # With: an item of 100 with a grant of 60 in year 1, one of 20 with a grant of 10 in
    # year 2, a working-capital grant of 20. Without: an item of 40 with a grant of 30 in
    # year 1, one of 8 with 4 in year 2, a working-capital grant of 5.
    # Added back: t=0 60 - 30 = 30; t=1 20 - 5 = 15; t=2 10 - 4 = 6.
    def item(cost: float, grant: float, begin: int) -> dict[str, Any]:
        return {"item": "x", "kind": "service", "quantity": 1, "unit_cost": cost,
                "grant": grant, "begin": begin}  # fmt: skip

    report = evaluate(
        parse_plan(
            project(
                years=2,
                investments=[item(100, 60, 1), item(20, 10, 2)],
                working_capital={"grant": 20},
                without_project={
                    "investments": [item(40, 30, 1), item(8, 4, 2)],
                    "activities": [crop(price=10)],
                    "working_capital": {"grant": 5},
                },
            )
        )
    )
    added = report.applicant_flows - report.flows
    assert list(added) == pytest.approx([30.0, 15.0, 6.0])


# 7. Interest on working capital -------------------------------------------------------------


def test_interest_over_the_average_financing_period_at_the_real_rate() -> None:
    # Inputs of 60 in January and in February, sales of 200 in April. Balance at the ends
    # of January..April: -60, -120, -120, +80. Working capital 120; last negative month
    # 3, period 5. Share drawn so far, by month: 0.5, 1, 1, 1, 1; each share is
    # outstanding for the months left, 5, 4, 3, 2, 1: 2.5 + 4 + 3 + 2 + 1 = 12.5,
    # average 12.5 / 5 = 2.5 months. Interest = 120 x 2.5 / 12 x (0.16 - 0.07) = 2.25
    # (over the full period it would be 120 x 5 / 12 x 0.09 = 4.50).
    plan = parse_plan(
        project(
            crop(price=200, inputs=120, paid=[1, 2], sales=[4]),
            inflation=0.07,
            working_capital={"interest_rate": 0.16},
        )
    )
    capital = working_capital(plan)
    assert (capital.amount, capital.period_months) == (120.0, 5)
    assert capital.average_period_months == 2.5
    assert capital.real_rate == 0.09
    assert capital.interest == 2.25
    report = evaluate(plan).to_dict()["working_capital"]
    assert (report["period_months"], report["average_period_months"]) == (5, 2.5)


def test_a_negative_real_rate_gives_a_negative_interest_and_a_warning() -> None:
    # As above, at 5% nominal with 7% inflation: 120 x 2.5 / 12 x (-0.02) = -0.50.
    plan = parse_plan(
        project(
            crop(price=200, inputs=120, paid=[1, 2], sales=[4]),
            inflation=0.07,
            working_capital={"interest_rate": 0.05},
        )
    )
    report = evaluate(plan)
    assert report.working_capital.interest == -0.5
    assert any("real rate is negative" in warning for warning in report.warnings)


def test_grant_and_own_above_the_working_capital_finance_nothing_and_warn() -> None:
    # Working capital 120 (as above), own contribution 200: nothing to finance, no
    # interest, and a note (RuralInvest refuses a negative amount financed).
    report = evaluate(
        parse_plan(
            project(
                crop(price=200, inputs=120, paid=[1, 2], sales=[4]),
                working_capital={"own": 200, "interest_rate": 0.1},
            )
        )
    )
    assert (report.working_capital.financed, report.working_capital.interest) == (0.0, 0.0)
    assert any("nothing is financed" in warning for warning in report.warnings)


def test_average_period_rounds_each_term_then_the_mean() -> None:
    # A deficit of 1/3 of the working capital in month 1, all of it in month 2, over a
    # period of 3: terms round(3 x 1/3, 2) = 1.00, round(2 x 1) = 2, round(1 x 1) = 1;
    # mean 4 / 3 = 1.333 -> 1.33.
    balance = np.array([-1.0, -3.0, 5.0])
    assert average_period(balance, 3.0, 3) == 1.33
    assert average_period(balance, 3.0, 0) == 0.0


# 8. Rounding where RuralInvest rounds ------------------------------------------------------


def test_half_cents_round_up_on_their_decimal_form() -> None:
    # 2.675 and 5.715 are stored just below the half (2.67499..., 5.71499...); RuralInvest
    # rounds the decimal it prints, half up.
    assert cents(2.675) == 2.68
    assert cents(5.715) == 5.72
    assert cents(-0.125) == -0.13
    assert cents(1.0049999) == 1.0
    # a half cent reached by adding lines is a half cent whatever the binary noise
    assert cents(5.714999999999999) == cents(5.715000000000001) == 5.72
    assert list(round_cents([0.285, 3.875, 10.0])) == [0.29, 3.88, 10.0]


def test_a_year_landing_on_a_half_cent_rounds_up_and_totals_follow() -> None:
    # Sales of 5.715 a year over 2 years: each year's flow 5.72, NPV at 0% 11.44, annual
    # net income 5.72 (rounding the binary 5.71499... would give 5.71 and 11.42).
    report = evaluate(parse_plan(project(crop(price=5.715), years=2)))
    assert list(report.flows) == [0.0, 5.72, 5.72]
    assert report.npv == 11.44
    assert report.annual_net_income == 5.72


def test_the_year_1_investment_moves_to_t0_after_year_1_is_rounded() -> None:
    # Year 1: sales 20.003 less a service of 10.005 bought that year: net 9.998 -> 10.00.
    # RuralInvest rounds that whole year, then moves the investment to t=0 unrounded:
    # flow_0 = -10.005, flow_1 = 10.00 + 10.005 = 20.005, so flow_0 + flow_1 = 10.00
    # exactly (rounding t=0 and t=1 apart, -10.01 and 20.00, would give 9.99).
    report = evaluate(
        parse_plan(
            project(
                crop(price=20.003),
                investments=[
                    {"item": "advice", "kind": "service", "quantity": 1, "unit_cost": 10.005}
                ],
            )
        )
    )
    assert report.flows[0] == -10.005
    assert report.flows[0] + report.flows[1] == pytest.approx(10.0, abs=1e-9)
    assert report.npv == 10.0
    assert report.to_dict()["cash_flows"]["total"] == [-10.01, 20.01]  # printed to the cent


def test_payback_rounds_half_up_on_its_decimal_form() -> None:
    # A service of 107 in year 1, sales of 40 a year over 3 years: flows -107, 40, 40, 40;
    # cumulative -107, -67, -27, +13: payback 2 + 27 / 40 = 2.675 -> 2.68 (rounding the
    # binary 2.67499... would give 2.67).
    report = evaluate(
        parse_plan(
            project(
                crop(price=40),
                years=3,
                investments=[{"item": "x", "kind": "service", "quantity": 1, "unit_cost": 107}],
            )
        )
    )
    assert report.payback_years == 2.68


# 9. Format: inputs in kind, general costs in kind as money, no month ------------------------


def test_inputs_in_kind_count_in_the_flows_but_not_in_the_cash() -> None:
    # 10 kg at 2 + 0.5 transport, 4 kg given in kind: the flows count 10 x 2.5 = 25, the
    # working capital pays 6 x 2.5 = 15 in January (sales of 100 in December).
    activity = crop(sales=[12], paid=[1])
    activity["inputs"] = [
        {"item": "seed", "quantity": 10, "price": 2, "transport": 0.5, "in_kind": 4}
    ]
    plan = parse_plan(project(activity))
    assert cash_flow_table(plan)["inputs"][0] == 25.0
    assert working_capital(plan).amount == 15.0
    with pytest.raises(PlanError, match="in_kind"):
        bad = copy.deepcopy(activity)
        bad["inputs"][0]["in_kind"] = 11
        parse_plan(project(bad))


def test_a_general_cost_given_in_kind_as_money_a_year() -> None:
    # Rent of 12 months at 10 = 120 a year, of which 60 a year is given in kind (by year:
    # 0 in year 1, 60 from year 2). Flows: 120 every year. Cash: 120 in year 1, then 60,
    # i.e. 10 then 5 a month. With sales of 200 in December, the balance at the end of
    # November of year 1 is -110: the working capital.
    rent = {"item": "rent", "unit": "month", "quantity": 12, "unit_cost": 10}
    plan = parse_plan(
        project(
            crop(price=200, sales=[12]),
            years=2,
            general_costs=[{**rent, "in_kind_amount": [0, 60]}],
        )
    )
    assert list(cash_flow_table(plan)["general"]) == [120.0, 120.0]
    capital = working_capital(plan)
    assert capital.amount == 110.0
    assert capital.monthly_balance[12 + 10] == pytest.approx(80 - 11 * 5)  # Nov, year 2
    with pytest.raises(PlanError, match="in_kind_amount"):
        parse_plan(project(general_costs=[{**rent, "in_kind_amount": 121}]))


def test_none_says_that_an_amount_has_no_month() -> None:
    # Transport of 6 (6 units sold, 1 a unit) paid in no month: it is in the flows
    # (income 6 x (5 - 1) = 24) but not in the working capital, which then needs nothing.
    activity = crop(sales=[1])
    activity["income"] = [{"item": "maize", "quantity": 6, "price": 5, "transport": 1}]
    activity["calendar"]["transport"] = "none"
    plan = parse_plan(project(activity))
    assert cash_flow_table(plan).net[0] == 24.0
    assert working_capital(plan).amount == 0.0
    assert not spread("none").any()
    # an empty list is still a mistake, and says how to write "no month"
    with pytest.raises(PlanError, match="'none' for no month"):
        parse_plan(project(crop(sales=[])))
