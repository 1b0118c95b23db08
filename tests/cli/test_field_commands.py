"""`alianza forms build|check`, `alianza ladder records|calibrate` and `alianza forecast`, end
to end on files."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from alianza.cli import app

ROOT = Path(__file__).resolve().parents[2]
PROGRAMME = ROOT / "examples" / "programme" / "dedza.yaml"
SCENARIO = ROOT / "examples" / "scenarios" / "two-kit-district.yaml"
EXPORTS = ROOT / "tests" / "fieldforms" / "exports"


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_forms_build_and_check(tmp_path: Path) -> None:
    result = run("forms", "build", "--programme-data", str(PROGRAMME), "-o", str(tmp_path / "f"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        "harvest.xlsx",
        "harvest.xml",
        "inspection.xlsx",
        "inspection.xml",
        "kit_sale.xlsx",
        "kit_sale.xml",
        "visit.xlsx",
        "visit.xml",
    ]
    good = run("forms", "check", str(EXPORTS / "kobo-harvest.json"), "--form", "harvest")
    assert good.exit_code == 0 and "3 good submission(s), 0 bad row(s)" in good.output  # type: ignore[attr-defined]
    bad = run("forms", "check", str(EXPORTS / "kobo-harvest-bad.json"), "--form", "harvest")
    assert bad.exit_code == 2  # type: ignore[attr-defined]
    assert "rows[1].products[2].quantity: must be >= 0" in bad.output  # type: ignore[attr-defined]


def test_records_calibrate_forecast(tmp_path: Path) -> None:
    records = tmp_path / "records.csv"
    result = run(
        "ladder", "records", str(SCENARIO), "-o", str(records), "--farmers", "600", "--seasons", "6"
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    calibrated = tmp_path / "calibrated.yaml"
    report = tmp_path / "calibration.json"
    result = run(
        "ladder",
        "calibrate",
        str(records),
        "--scenario",
        str(SCENARIO),
        "-o",
        str(calibrated),
        "--report",
        str(report),
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Calibrated scenario written" in result.output  # type: ignore[attr-defined]
    text = calibrated.read_text(encoding="utf-8")
    assert text.startswith("# Calibrated by `alianza ladder calibrate`")
    assert yaml.safe_load(text)["name"] == "Two-kit district"
    estimates = json.loads(report.read_text(encoding="utf-8"))["estimates"]
    assert {e["parameter"] for e in estimates} >= {"policy.consumption_share"}
    chart = tmp_path / "forecast.png"
    output = tmp_path / "forecast.json"
    result = run(
        "forecast",
        "--records",
        str(records),
        "--scenario",
        str(calibrated),
        "--district",
        "D0",
        "--seasons",
        "2",
        "--replicates",
        "5",
        "--start",
        "2026-01-01",
        "--chart",
        str(chart),
        "-o",
        str(output),
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["district"] == "D0" and document["seasons"] == 2
    assert {row["kit"] for row in document["kit_demand"]} == {"drip_bed", "poultry_unit"}
    unknown = run(
        "forecast", "--records", str(records), "--scenario", str(calibrated), "--district", "X"
    )
    assert unknown.exit_code == 2 and "no records for 'X'" in unknown.output  # type: ignore[attr-defined]
