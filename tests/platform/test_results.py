"""The results framework on a small seeded programme, against values computed by hand."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from alianza.cli import app
from alianza.platform.agreements import service as agreements
from alianza.platform.errors import Forbidden
from alianza.platform.programmes.service import Actor, set_exchange_rate
from alianza.platform.results.schemas import Period
from alianza.platform.results.service import (
    Alliance,
    Member,
    _household_income,
    build_report,
    group_masks,
    parse_targets,
    year_periods,
)
from alianza.problems import ProblemError
from tests.platform.cycle_fixtures import AGREEMENT, build_world, counterpart_paid

YEARS = year_periods([2025, 2026, 2027])


def seeded(admin: Actor) -> dict[str, object]:
    """One alliance (HNL, grades A then B) with three deliveries; 25 HNL to the USD.

    2025-05-10 100 kg A at ref 10: 10 + 0.50 premium + 1.00 for A = 11.50 -> 1,150.00
    2025-06-10  50 kg B at ref 10: 10.50                          ->   525.00
    2026-02-01  10 kg B at ref  7: max(7.50, floor 8.00)          ->    80.00
    """
    world = build_world(admin)
    for farmer in world.members[:2]:  # members 0 (a man) and 1 (a woman) are minority
        farmer.minority = True
    set_exchange_rate(
        admin, {"currency": "HNL", "rate_date": date(2025, 1, 1), "units_per_reporting_unit": "25"}
    )
    sub = counterpart_paid(world)
    agreement = agreements.sign_agreement(admin, sub.id, AGREEMENT)
    for day, quantity, grade, reference in (
        (date(2025, 5, 10), "100", "A", "10.00"),
        (date(2025, 6, 10), "50", "B", "10.00"),
        (date(2026, 2, 1), "10", "B", "7.00"),
    ):
        agreements.record_delivery(
            admin,
            agreement.id,
            {
                "delivered_on": day,
                "quantity": quantity,
                "grade": grade,
                "reference_price": reference,
            },
        )
    admin.session.commit()
    from alianza.platform.subprojects.models import PlanVersion

    plan = admin.session.query(PlanVersion).filter_by(subproject_id=sub.id).one()
    return {"appraisal": plan.appraisal}


def values(report, key: str) -> list[float | None]:
    return [v.value for v in report.indicator(key).values]


def test_indicators_by_hand(admin: Actor) -> None:
    appraisal = seeded(admin)["appraisal"]
    report = build_report(admin, YEARS, on=date(2026, 3, 1))
    assert [p.label for p in report.periods] == ["2025", "2026", "2027"]
    # 1,675.00 HNL / 25 = 67.00 USD; 80.00 / 25 = 3.20
    assert values(report, "po_sales_value") == [67.0, 3.2, 0.0]
    assert report.indicator("po_sales_value").unit_label == "USD"
    assert values(report, "po_sales_volume") == [150.0, 10.0, 0.0]
    assert report.indicator("po_sales_volume").unit_label == "kg"
    # one delivery of two at grade A in 2025, none of one in 2026, no deliveries in 2027
    assert values(report, "grade_share") == [0.5, 0.0, None]
    # the agreement runs to 2027-04-30: it delivered in 2025 and 2026, not in 2027
    assert values(report, "alliance_survival") == [1.0, 1.0, 0.0]
    members = report.indicator("members_reached")
    assert values(report, "members_reached") == [12.0, 12.0, 12.0]
    # born 1985 + 2i; youth (<= 35) in 2025: born >= 1990, i = 3..11; in 2027: born >= 1992, i >= 4
    assert members.values[0].by_group == {
        "women": 6.0,
        "men": 6.0,
        "youth": 9.0,
        "non_youth": 3.0,
        "minority": 2.0,
        "non_minority": 10.0,
    }
    assert members.values[2].by_group["youth"] == 8.0
    employment = appraisal["employment_person_years"]
    assert values(report, "employment") == [pytest.approx(employment)] * 3
    income = float(
        (Decimal(str(appraisal["per_beneficiary"]["incremental_income"])) / 25).quantize(
            Decimal("0.01")
        )
    )
    household = report.indicator("household_income")
    assert values(report, "household_income") == [pytest.approx(income)] * 3
    assert household.values[0].by_group["women"] == pytest.approx(income)
    assert household.values[0].by_group["minority"] == pytest.approx(income)
    # the baseline is the first period's value when the targets give none
    assert report.indicator("po_sales_value").baseline == 67.0
    assert report.indicator("po_sales_value").baseline_source == "first period"


def test_before_any_agreement_nothing_is_reached(admin: Actor) -> None:
    seeded(admin)
    report = build_report(admin, year_periods([2024]))
    assert values(report, "members_reached") == [0.0]
    assert values(report, "household_income") == [None]
    assert values(report, "alliance_survival") == [None]
    assert values(report, "employment") == [None]


def test_default_periods_are_the_years_of_the_records(admin: Actor) -> None:
    seeded(admin)
    report = build_report(admin)
    assert [p.label for p in report.periods] == ["2025", "2026"]


def test_targets_and_a_given_baseline(admin: Actor) -> None:
    seeded(admin)
    targets = parse_targets(
        {
            "programme": "PA-HN",
            "indicators": {
                "members_reached": {"target": 20, "by_period": {"2026": 15, "2030": 99}},
                "po_sales_value": {"baseline": 50, "target": 100},
                "grade_share": 0.8,
            },
        }
    )
    report = build_report(admin, YEARS, targets)
    members = report.indicator("members_reached")
    assert members.target == 20
    assert [v.target for v in members.values] == [None, 15, None]
    sales = report.indicator("po_sales_value")
    assert (sales.baseline, sales.baseline_source, sales.target) == (50, "targets file", 100)
    assert report.indicator("grade_share").target == 0.8


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"indicators": {"yields_per_hectare": 3}}, "indicators.yields_per_hectare"),
        ({"indicators": {"members_reached": {"target": "many"}}}, "indicators.members_reached"),
        ({"indicators": {"members_reached": {"goal": 3}}}, "indicators.members_reached"),
        ({"indicator": {}}, "indicator"),
    ],
)
def test_bad_targets_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(ProblemError) as raised:
        parse_targets(data)
    assert any(p.field.startswith(field) for p in raised.value.problems), raised.value.problems


def test_targets_of_another_programme_are_refused(admin: Actor) -> None:
    seeded(admin)
    with pytest.raises(ProblemError, match="PA-MW"):
        build_report(admin, YEARS, parse_targets({"programme": "PA-MW"}))


def test_a_role_without_portfolio_read_is_refused(admin: Actor) -> None:
    from dataclasses import replace

    from alianza.platform.access import Role

    seeded(admin)
    with pytest.raises(Forbidden):
        build_report(replace(admin, role=Role.BUYER), YEARS)


def test_household_income_of_members_of_several_pos() -> None:
    """PO 1 plans 100 a family, PO 2 400: a woman of PO 1 gets 100, a man of PO 2 400, a man
    of both 500 -> mean 333.33, women 100, men 450; the minority man (PO 2) 400."""
    day = date(2025, 1, 1)
    alliances = [
        Alliance(1, 1, day, day, date(2026, 1, 1), "USD", 2.0, 100.0),
        Alliance(2, 2, day, day, date(2026, 1, 1), "USD", 1.0, 400.0),
    ]
    woman = Member(1, 1, None, "female", 1990, False)
    man = Member(2, 2, None, "male", 1960, True)
    both = [Member(3, 1, None, "male", 1960, False), Member(3, 2, None, "male", 1960, False)]
    reached = [woman, man, both[0]]
    period = Period(label="2025", start=day, end=date(2025, 12, 31))
    value = _household_income(
        period,
        alliances,
        reached,
        [woman, man, *both],
        group_masks(reached, period.end),
        lambda amount, currency, on: amount,
    )
    assert value.value == pytest.approx(1000 / 3)
    assert value.by_group["women"] == 100
    assert value.by_group["men"] == 450
    assert value.by_group["youth"] == 100  # born 1990: 35 in 2025
    assert value.by_group["minority"] == 400
    assert value.by_group["non_minority"] == 300


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["female", "male"]), st.integers(1940, 2007), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_groups_partition_the_members(people: list[tuple[str, int, bool]]) -> None:
    """Women + men, youth + not youth, minority + not minority each count every member."""
    members = [
        Member(i, 1, None, sex, born, minority) for i, (sex, born, minority) in enumerate(people)
    ]
    masks = group_masks(members, date(2025, 12, 31))
    for a, b in (("women", "men"), ("youth", "non_youth"), ("minority", "non_minority")):
        assert int(masks[a].sum() + masks[b].sum()) == len(members)
        assert not (masks[a] & masks[b]).any()


def test_results_report_command_writes_json_and_xlsx(admin: Actor, tmp_path: Path) -> None:
    seeded(admin)
    admin.session.commit()  # the command opens its own session: end this one's transaction
    url = admin.session.get_bind().url.render_as_string(hide_password=False)
    targets = tmp_path / "targets.yaml"
    targets.write_text("indicators:\n  members_reached: 20\n", encoding="utf-8")
    common = ["results", "report", "--programme", "PA-HN", "--as", "ana", "--url", url]
    out = tmp_path / "results.json"
    done = CliRunner().invoke(
        app,
        [
            *common,
            "--period",
            "2025",
            "--period",
            "2026",
            "--targets",
            str(targets),
            "-o",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    data = json.loads(out.read_text())
    sales = next(i for i in data["indicators"] if i["key"] == "po_sales_value")
    assert [v["value"] for v in sales["values"]] == [67.0, 3.2]
    xlsx = tmp_path / "results.xlsx"
    done = CliRunner().invoke(
        app,
        [*common, "--from", "2025-01-01", "--to", "2026-12-31", "-o", str(xlsx), "--lang", "es"],
    )
    assert done.exit_code == 0, done.output
    sheet = load_workbook(xlsx).worksheets[0]
    assert sheet.freeze_panes == "D2"
    first = [c.value for c in sheet[2]]
    assert first[2] == "2025-01-01/2026-12-31"
    assert first[5] == 70.2  # 1,755.00 HNL / 25
    assert sheet.cell(2, 6).number_format == "#,##0.00"
    table = CliRunner().invoke(app, [*common, "--period", "2025"])
    assert table.exit_code == 0, table.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("indicators:\n  nonsense: 1\n", encoding="utf-8")
    refused = CliRunner().invoke(app, [*common, "--targets", str(bad)])
    assert refused.exit_code == 2
    assert "indicators.nonsense" in refused.output


def test_a_year_out_of_range_is_refused() -> None:
    from alianza.platform.errors import Refused

    with pytest.raises(Refused, match="225"):
        year_periods([225])
