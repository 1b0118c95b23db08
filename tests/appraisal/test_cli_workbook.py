"""`alianza plan new` and `alianza plan convert`, and the other plan commands given a workbook,
run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from alianza.appraisal import load_plan
from alianza.cli import app

from .conftest import CASES, EXAMPLES

ORCHARD = EXAMPLES / "orchard-with-without.plan.yaml"
runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(arg) for arg in args])


def test_plan_new_writes_a_template_in_the_language_asked(tmp_path: Path) -> None:
    target = tmp_path / "plan.xlsx"
    result = run("plan", "new", "-o", target, "--lang", "fr")
    assert result.exit_code == 0, result.output
    book = load_workbook(target)
    assert book.sheetnames[:4] == [
        "Mode d’emploi",
        "Données générales",
        "Bénéficiaires",
        "Investissements",
    ]
    assert book["Données générales"]["C7"].value == "projet"
    # a second run does not replace the plan being filled in, unless asked
    again = run("plan", "new", "-o", target)
    assert again.exit_code == 2 and "exists" in again.output
    assert run("plan", "new", "-o", target, "--force", "--profile").exit_code == 0
    assert load_workbook(target)["General"]["C7"].value == "profile"


def test_plan_new_writes_a_workbook_only(tmp_path: Path) -> None:
    result = run("plan", "new", "-o", tmp_path / "plan.yaml")
    assert result.exit_code == 2 and "*.xlsx" in result.output
    assert not (tmp_path / "plan.yaml").exists()


def test_plan_new_writes_plan_xlsx_in_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("plan", "new").exit_code == 0
    assert (tmp_path / "plan.xlsx").is_file()


@pytest.mark.parametrize("path", [ORCHARD, CASES / "fruit-veg-processing.plan.yaml"])
@pytest.mark.parametrize("back", [".yaml", ".json"])
def test_convert_both_ways_is_lossless(tmp_path: Path, path: Path, back: str) -> None:
    workbook = tmp_path / "plan.xlsx"
    assert run("plan", "convert", path, workbook, "--lang", "pt").exit_code == 0
    text = tmp_path / f"again{back}"
    result = run("plan", "convert", workbook, text)
    assert result.exit_code == 0, result.output
    assert load_plan(text) == load_plan(workbook) == load_plan(path)


def test_check_evaluate_and_compare_read_a_workbook(tmp_path: Path) -> None:
    workbook = tmp_path / "orchard.xlsx"
    run("plan", "convert", ORCHARD, workbook, "--lang", "es")
    check = run("plan", "check", workbook)
    assert check.exit_code == 0 and "ok" in check.output
    from_yaml = run("plan", "evaluate", ORCHARD, "-f", "json")
    from_workbook = run("plan", "evaluate", workbook, "-f", "json")
    assert json.loads(from_workbook.stdout) == json.loads(from_yaml.stdout)
    compare = run("plan", "compare", workbook, CASES / "fruit-veg-processing.plan.yaml")
    assert compare.exit_code == 0 and "Mango orchard" in compare.output


def test_a_report_never_replaces_the_workbook_it_appraises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workbook = tmp_path / "orchard.xlsx"
    run("plan", "convert", ORCHARD, workbook)
    before = workbook.read_bytes()
    monkeypatch.chdir(tmp_path)  # the report's default place: ./orchard.xlsx, the plan itself
    for arguments in (("-f", "xlsx"), ("-o", workbook)):
        result = run("plan", "evaluate", workbook, *arguments)
        assert result.exit_code == 2 and "would replace the plan" in result.output
        assert workbook.read_bytes() == before


def test_a_broken_workbook_lists_every_cell_and_converts_to_nothing(tmp_path: Path) -> None:
    workbook = tmp_path / "broken.xlsx"
    run("plan", "convert", ORCHARD, workbook)
    book = load_workbook(workbook)
    book["Investments"]["G5"] = 0
    book["Loans"]["B5"] = "lots"
    book.save(workbook)
    result = run("plan", "check", workbook)
    assert result.exit_code == 2
    assert "broken.xlsx: 2 problem(s)" in result.output
    assert "Investments!G5: life_years must be > 0" in result.output
    assert "Loans!B5: amount: 'lots' is not a number" in result.output
    converted = run("plan", "convert", workbook, tmp_path / "out.yaml")
    assert converted.exit_code == 2 and not (tmp_path / "out.yaml").exists()


def test_a_file_that_is_no_workbook_is_one_problem(tmp_path: Path) -> None:
    fake = tmp_path / "plan.xlsx"
    fake.write_text("plan: 1\n")
    result = run("plan", "check", fake)
    assert result.exit_code == 2
    assert "not an Excel workbook" in result.output and "Traceback" not in result.output


def test_convert_does_not_replace_files_unasked(tmp_path: Path) -> None:
    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"mine")
    result = run("plan", "convert", ORCHARD, target)
    assert result.exit_code == 2 and target.read_bytes() == b"mine"
    assert run("plan", "convert", ORCHARD, target, "--force").exit_code == 0
    bad = run("plan", "convert", ORCHARD, tmp_path / "plan.txt")
    assert bad.exit_code == 2 and "*.yaml" in bad.output


def test_plan_new_years_is_a_projects_horizon(tmp_path: Path) -> None:
    target = tmp_path / "plan.xlsx"
    assert run("plan", "new", "-o", target, "--years", "12").exit_code == 0
    assert load_workbook(target)["General"]["C9"].value == 12
    refused = run("plan", "new", "-o", tmp_path / "p.xlsx", "--years", "12", "--profile")
    assert refused.exit_code == 2 and not (tmp_path / "p.xlsx").exists()
    assert run("plan", "new", "-o", tmp_path / "q.xlsx", "--years", "0").exit_code == 2


def test_check_notes_suspicious_values_at_their_cells(tmp_path: Path) -> None:
    workbook = tmp_path / "orchard.xlsx"
    run("plan", "convert", ORCHARD, workbook)
    book = load_workbook(workbook)
    book["General"]["C10"] = 3  # a discount rate of 300%
    book["Income"]["E5"] = 0
    book.save(workbook)
    result = run("plan", "check", workbook)
    assert result.exit_code == 0, result.output
    assert "General!C10: discount_rate: 3 is read as 300% a year" in result.output
    assert "Income!E5: price: 0, the line is worth nothing" in result.output
