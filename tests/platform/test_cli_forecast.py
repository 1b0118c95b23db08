"""`alianza forecast` and `alianza ladder calibrate` on the platform's records (--programme,
--as): the demo programme's districts, with clear errors for an unknown district or one with
too few records."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from alianza.cli import app
from alianza.ladder.scenario import load_scenario
from alianza.platform.db import Database
from alianza.platform.demo.microinvesting import seed_micro_investing


def _demo(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--url", url]).exit_code == 0
    database = Database(url)
    with database.session() as session:
        seed_micro_investing(session, seed=3, farmers=500)
    database.dispose()
    return url


def test_forecast_and_calibrate_from_the_platform(tmp_path: Path) -> None:
    url = _demo(tmp_path)
    common = ["--programme", "DEMO-MI", "--as", "coordinadora", "--url", url]
    out = tmp_path / "forecast.json"
    made = CliRunner().invoke(
        app,
        ["forecast", "--district", "Dedza", "--seasons", "2", "--replicates", "3", "-o",
         str(out), *common],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "Records of Dedza" in made.output and "forecast seasons 2025-3, 2025-4" in made.output
    assert "Calibrated on the records" in made.output
    assert "catalogue.kits[drip_bed].yield_per_harvest.mean" in made.output
    assert "operating costs come from the catalogue" in made.output
    document = json.loads(out.read_text())
    assert document["district"] == "Dedza" and document["seasons"] == 2
    assert document["kit_demand"][0]["start"] == "2025-07-01"
    scenario = tmp_path / "dedza.yaml"
    calibrated = CliRunner().invoke(
        app, ["ladder", "calibrate", "--district", "Dedza", "-o", str(scenario), *common]
    )
    assert calibrated.exit_code == 0, calibrated.output
    assert "from the records of DEMO-MI, Dedza" in scenario.read_text()
    loaded = load_scenario(scenario)
    assert loaded.catalogue.kit("drip_bed").yield_per_harvest.mean != 100.0  # estimated
    # the calibrated scenario, given back, is used as it is (no second calibration)
    again = CliRunner().invoke(
        app,
        ["forecast", "--district", "Dedza", "--replicates", "2", "--scenario", str(scenario),
         *common],
    )  # fmt: skip
    assert again.exit_code == 0 and "Scenario as given" in again.output, again.output
    assert yaml.safe_load(scenario.read_text().split("\n", 1)[1])  # valid YAML below the header


def test_clear_errors(tmp_path: Path) -> None:
    url = _demo(tmp_path)
    common = ["--programme", "DEMO-MI", "--url", url]
    unknown = CliRunner().invoke(
        app, ["forecast", "--district", "Lilongwe", "--as", "coordinadora", *common]
    )
    assert unknown.exit_code == 2
    assert "no district named 'Lilongwe'" in unknown.output and "Dedza, Ntcheu" in unknown.output
    # the agronomist's scope holds no farmer of Ntcheu: too few records, the minimum named
    none = CliRunner().invoke(
        app, ["forecast", "--district", "Ntcheu", "--as", "agronomo", *common]
    )
    assert none.exit_code == 2 and "need at least 30" in none.output, none.output
    both = CliRunner().invoke(
        app, ["forecast", "--district", "Dedza", "--records", "r.csv", "--as", "x", *common]
    )
    assert both.exit_code == 2 and "either --records" in both.output
    alone = CliRunner().invoke(app, ["forecast", "--district", "Dedza", "--records", "r.csv"])
    assert alone.exit_code == 2 and "--scenario" in alone.output
    nobody = CliRunner().invoke(
        app, ["ladder", "calibrate", "-o", str(tmp_path / "y.yaml"), *common]
    )
    assert nobody.exit_code == 2 and "--as" in nobody.output
