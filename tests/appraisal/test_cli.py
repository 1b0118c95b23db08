"""The `alianza plan` commands, run as a user runs them."""

import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from alianza.cli import app

from .conftest import CASES, EXAMPLES

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("plan", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_evaluates_as_a_table(plan) -> None:
    result = run("plan", "evaluate", str(plan))
    assert result.exit_code == 0, result.output
    assert "Financing plan" in result.output and "Per beneficiary" in result.output


def test_json_report_has_the_reference_figures() -> None:
    result = run(
        "plan", "evaluate", str(CASES / "fruit-veg-processing.plan.yaml"), "--format", "json"
    )
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["npv"] == 14895.97 and report["working_capital"]["period_months"] == 21


def test_discount_rate_option_overrides_the_plan() -> None:
    result = run(
        "plan",
        "evaluate",
        str(CASES / "fruit-veg-processing.plan.yaml"),
        "-f",
        "json",
        "--discount-rate",
        "0.12",
    )
    assert abs(json.loads(result.stdout)["npv"]) < 100  # the IRR is about 12.09%


def test_xlsx_report(tmp_path) -> None:
    target = tmp_path / "report.xlsx"
    result = run(
        "plan",
        "evaluate",
        str(CASES / "fruit-veg-processing.plan.yaml"),
        "-f",
        "xlsx",
        "-o",
        str(target),
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(target)
    assert {"Summary", "By year", "Flows", "Loans", "Sensitivity"} <= set(book.sheetnames)
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Net present value (NPV)"] == 14895.97


def test_profile_report() -> None:
    result = run("plan", "evaluate", str(CASES / "honey-production.profile.yaml"))
    assert result.exit_code == 0
    assert "Years to recover" in result.output and "5.2" in result.output


def test_broken_plan_lists_every_problem_and_exits_2(tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "plan: 1\nname: x\ncurrency: USD\nyears: 0\n"
        "investments:\n  - {item: tank, quantity: 1, unit_cost: 5, life_years: 0}\n"
        "activities: []\n"
    )
    result = run("plan", "evaluate", str(broken))
    assert result.exit_code == 2
    assert "investments[0].life_years" in result.stderr and "must be > 0" in result.stderr
    assert "years" in result.stderr and "at least 1 year" in result.stderr
    assert run("plan", "check", str(broken)).exit_code == 2


def test_check_and_schema() -> None:
    assert run("plan", "check", str(CASES / "fruit-veg-processing.plan.yaml")).exit_code == 0
    schema = json.loads(run("plan", "schema").stdout)
    assert schema["title"].startswith("alianza business plan")


def test_compare_a_portfolio() -> None:
    result = run(
        "plan",
        "compare",
        str(CASES / "fruit-veg-processing.plan.yaml"),
        str(EXAMPLES / "orchard-with-without.plan.yaml"),
    )
    assert result.exit_code == 0, result.output
    assert "14,895.97" in result.output


def test_xirr_from_csv(tmp_path) -> None:
    flows = tmp_path / "flows.csv"
    flows.write_text(
        "date,amount\n2008-01-01,-10000\n2008-03-01,2750\n2008-10-30,4250\n"
        "2009-02-15,3250\n2009-04-01,2750\n"
    )
    result = run("plan", "xirr", str(flows))
    assert result.exit_code == 0 and "37.34%" in result.output
    flows.write_text("date,amount\n01/01/2008,-10\n")
    bad = run("plan", "xirr", str(flows))
    assert bad.exit_code == 2 and "line 2" in bad.stderr


def test_chart_of_flows_and_risk(tmp_path) -> None:
    chart = tmp_path / "flows.png"
    result = run(
        "plan",
        "evaluate",
        str(CASES / "fruit-veg-processing.plan.yaml"),
        "--risk-draws",
        "300",
        "--chart",
        str(chart),
    )
    assert result.exit_code == 0, result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    profile = run(
        "plan", "evaluate", str(CASES / "honey-production.profile.yaml"), "--chart", str(chart)
    )
    assert profile.exit_code == 2
