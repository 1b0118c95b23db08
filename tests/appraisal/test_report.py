"""The typed appraisal report: the financing plan, the schedule, debt service and DSCR,
per-beneficiary figures; and its renderings (table, JSON, XLSX, PDF) in four languages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from alianza.appraisal import evaluate, load_plan, parse_plan
from alianza.appraisal.export import write_xlsx
from alianza.appraisal.pdf import write_pdf
from alianza.appraisal.report import ProfileReport, ProjectReport, report_of
from alianza.appraisal.translations import LANGUAGES, Texts
from alianza.cli import app

from .conftest import CASES, EXAMPLES

FRUIT = CASES / "fruit-veg-processing.plan.yaml"
HONEY = CASES / "honey-production.profile.yaml"
runner = CliRunner()


def fruit() -> ProjectReport:
    report = evaluate(load_plan(FRUIT)).report()
    assert isinstance(report, ProjectReport)
    return report


def small_plan(**changes: object) -> dict:
    """One asset, one activity, a loan: small enough to check by hand."""
    plan = {
        "plan": 1,
        "name": "Poultry shed",
        "organization": "Cooperativa Señor de Mayo",
        "currency": "USD",
        "years": 5,
        "discount_rate": 0.1,
        "beneficiaries": {"direct": {"men": 6, "women": 4}},
        "investments": [
            {
                "item": "Shed",
                "quantity": 1,
                "unit_cost": 10000,
                "life_years": 10,
                "grant": 6000,
                "own_contribution": 2500,
                "own_in_kind": 500,
            }
        ],
        "activities": [
            {
                "name": "Eggs",
                "production": [1],
                "income": [{"item": "eggs", "quantity": 1, "price": 5000}],
                "inputs": [{"item": "feed", "quantity": 1, "price": 2000}],
            }
        ],
        "loans": [{"name": "Bank", "amount": 1500, "interest_rate": 0.1, "years": 3}],
    }
    plan.update(changes)
    return plan


def test_the_financing_plan_sums_the_plans_own_sources() -> None:
    report = evaluate(parse_plan(small_plan())).report()
    f = report.financing
    assert (f.investment, f.grants, f.counterpart_cash, f.counterpart_in_kind, f.loans) == (
        10000.0,
        6000.0,
        2000.0,
        500.0,
        1500.0,
    )
    # Cash all through the year (no calendar): no working capital is needed.
    assert f.working_capital == 0 and f.unfinanced == 0
    assert f.total == pytest.approx(f.grants + f.counterpart + f.credit + f.unfinanced)


def test_the_reference_case_financing_leaves_a_gap() -> None:
    f = fruit().financing
    # RuralInvest's example: 18,146.81 of investment and 3,017.14 of working capital;
    # grants 3,571.43 + 1,428.57, own 1,000, the bank loan 4,428.57, short-term 1,588.57.
    assert (f.total, f.grants, f.counterpart, f.loans, f.working_capital_credit) == (
        21163.95,
        5000.0,
        1000.0,
        4428.57,
        1588.57,
    )
    assert f.unfinanced == 9146.81


def test_debt_service_and_dscr_by_hand() -> None:
    report = evaluate(parse_plan(small_plan())).report()
    ds = report.debt_service
    payment = round(float(-npf.pmt(0.1, 3, 1500)), 2)  # annuity from numpy-financial
    assert [y.debt_service for y in ds.years[:3]] == pytest.approx([payment] * 3, abs=0.02)
    year1 = ds.years[0]
    assert year1.cash_from_operations == 3000.0  # 5000 sales - 2000 feed
    assert year1.investment == 9500.0  # the shed less its 500 in kind
    assert year1.cash_before_financing == -6500.0
    assert year1.cash_after_financing == pytest.approx(-6500 + 6000 + 2000 + 1500 - payment)
    assert year1.dscr == pytest.approx(3000 / payment, abs=1e-4)
    assert ds.years[3].dscr is None  # the loan is repaid
    assert ds.minimum_dscr == min(y.dscr for y in ds.years if y.dscr is not None)
    cumulative = 0.0
    for year in ds.years:
        cumulative += year.cash_after_financing
        assert year.cumulative_cash == pytest.approx(cumulative, abs=0.01)


def test_per_beneficiary_by_sex() -> None:
    p = evaluate(parse_plan(small_plan())).report().per_beneficiary
    assert (p.beneficiaries, p.investment, p.grant) == (10, 1000.0, 600.0)
    women, men = p.by_sex
    assert (women.sex, women.people, women.grant, men.grant) == ("women", 4, 2400.0, 3600.0)


def test_own_in_kind_cannot_exceed_the_own_contribution() -> None:
    plan = small_plan()
    plan["investments"][0]["own_in_kind"] = 3000
    with pytest.raises(Exception, match="own_in_kind"):
        parse_plan(plan)


@settings(max_examples=30, deadline=None)
@given(
    grant=st.integers(0, 5000),
    own=st.integers(0, 5000),
    kind=st.integers(0, 100),
    loan=st.integers(1, 20000),
    first_year=st.integers(1, 5),
)
def test_sources_and_the_gap_add_up_to_the_costs(
    grant: int, own: int, kind: int, loan: int, first_year: int
) -> None:
    """Invariant: grants + counterpart + credit + unfinanced = investment + working
    capital, in the plan and in each year of the schedule; the years add up to the plan."""
    in_kind = min(kind, own)
    plan = small_plan(
        loans=[{"amount": loan, "interest_rate": 0.08, "years": 4, "first_year": first_year}]
    )
    plan["investments"][0].update(grant=grant, own_contribution=own, own_in_kind=in_kind)
    report = evaluate(parse_plan(plan)).report()
    f = report.financing
    assert f.grants + f.counterpart + f.credit + f.unfinanced == pytest.approx(f.total, abs=0.01)
    years = report.financing_schedule
    for y in years:
        sources = y.grants + y.own_cash + y.own_in_kind + y.loans + y.working_capital_credit
        assert sources + y.unfinanced == pytest.approx(y.investment + y.working_capital, abs=0.01)
    assert sum(y.unfinanced for y in years) == pytest.approx(f.unfinanced, abs=0.02)
    assert sum(y.loans for y in years) == pytest.approx(f.loans)


def test_the_json_form_reads_back_as_the_same_report() -> None:
    for path in (FRUIT, HONEY, EXAMPLES / "orchard-with-without.plan.yaml"):
        report = evaluate(load_plan(path)).report()
        assert report_of(json.loads(report.model_dump_json())) == report


def test_xlsx_report_has_numbers_with_formats_totals_frozen_panes_and_a_chart(tmp_path) -> None:
    path = write_xlsx(fruit(), tmp_path / "r.xlsx", Texts("es"))
    book = load_workbook(path)
    by_year = book[book.sheetnames[1]]
    assert by_year.freeze_panes == "B3"
    assert len(by_year._charts) == 1
    assert [c.value for c in by_year[2]][1:4] == [1, 2, 3]  # years across the columns
    rows = {row[0].value: row for row in by_year.iter_rows() if row[0].value}
    net = rows["Flujo neto"]
    assert net[1].value == -19088.16 and net[1].number_format.startswith("#,##0.00")
    assert net[13].value == pytest.approx(sum(r.net for r in fruit().cash_flow_table), abs=0.01)
    assert rows["Flujo neto"][1].font.bold
    summary = {row[0]: row[1] for row in book[book.sheetnames[0]].iter_rows(values_only=True)}
    assert summary["Valor actual neto (VAN)"] == 14895.97
    assert summary["Moneda"] == "USD"


@pytest.mark.parametrize("language", LANGUAGES)
def test_pdf_report_in_each_language(tmp_path: Path, language: str) -> None:
    import pypdfium2 as pdfium

    path = write_pdf(fruit(), tmp_path / "r.pdf", Texts(language))
    document = pdfium.PdfDocument(path)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert len(document) >= 4
    npv = {"en": "14,895.97", "es": "14.895,97", "fr": "14\u202f895,97", "pt": "14.895,97"}
    assert npv[language] in text
    title = {
        "en": "Appraisal of",
        "es": "Evaluación de",
        "fr": "Évaluation de",
        "pt": "Avaliação de",
    }
    assert title[language] in text  # accents print: the font is embedded
    picture = document[2].render(scale=0.5).to_pil()  # the page of the cash-flow chart
    assert len(np.unique(np.asarray(picture.convert("L")))) > 20  # a chart, not a blank page


def test_profile_renders_everywhere(tmp_path: Path) -> None:
    report = evaluate(load_plan(HONEY)).report()
    assert isinstance(report, ProfileReport)
    write_xlsx(report, tmp_path / "p.xlsx")
    write_pdf(report, tmp_path / "p.pdf", Texts("pt"))
    assert (tmp_path / "p.pdf").stat().st_size > 10_000


def test_without_o_the_report_goes_to_the_current_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plan", "evaluate", str(FRUIT), "-f", "pdf"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fruit-veg-processing.pdf").exists()
    assert not (FRUIT.parent / "fruit-veg-processing.pdf").exists()
    result = runner.invoke(app, ["plan", "evaluate", str(FRUIT), "-o", "table.txt", "--lang", "pt"])
    assert result.exit_code == 0
    text = (tmp_path / "table.txt").read_text()
    assert "Valor presente líquido (VPL)" in text and "14.895,97" in text
    result = runner.invoke(app, ["plan", "evaluate", str(FRUIT), "-o", "r.xlsx"])
    assert result.exit_code == 0 and (tmp_path / "r.xlsx").exists()  # format from the suffix


def test_compare_reports_profiles_and_projects_apart() -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            "compare",
            str(FRUIT),
            str(HONEY),
            str(EXAMPLES / "orchard-with-without.plan.yaml"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    projects, _, profiles = result.output.partition("Profiles")
    assert "Fruit and vegetable" in projects and "honey" not in projects.lower()
    assert "Commercial honey production" in profiles and "5.2" in profiles


def test_the_catalogue_of_reports_is_complete() -> None:
    from alianza.web import i18n

    template = i18n.extract(i18n.REPORTS)
    assert len(template) > 60
    for language in i18n.TRANSLATED:
        assert i18n.missing(i18n.read_catalog(language, i18n.REPORTS), template) == []


def test_a_plan_with_an_organization_shows_it(tmp_path: Path) -> None:
    report = evaluate(parse_plan(small_plan())).report()
    assert report.info.organization == "Cooperativa Señor de Mayo"
    plan_file = tmp_path / "shed.plan.yaml"
    plan_file.write_text(yaml.safe_dump(small_plan(), allow_unicode=True))
    result = runner.invoke(app, ["plan", "evaluate", str(plan_file)])
    assert "Cooperativa Señor de Mayo" in result.output
