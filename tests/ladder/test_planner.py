"""Growth planner: expected path, thresholds, spread and chart."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from alianza.impact.poverty import country_conversion
from alianza.ladder.catalogue import load_catalogue
from alianza.ladder.planner import PlanOptions, plan_growth

TANZANIA = country_conversion("TZA")


def test_poverty_line_is_converted_from_ppp_to_market_dollars() -> None:
    options = PlanOptions(ppp_per_usd=TANZANIA.exchange_rate / TANZANIA.ppp_factor)
    # $3.00 (2021 PPP) x PPP factor / exchange rate: 3 x 681.85 / 2298 market dollars.
    assert abs(options.poverty_line_usd_per_person_day - 3.0 * 681.85 / 2298) < 1e-12
    assert PlanOptions().poverty_line_usd_per_person_day == 3.0


def test_expected_path_climbs_and_spread_brackets_it(catalogue_path: Path) -> None:
    catalogue = load_catalogue(catalogue_path)
    options = PlanOptions(
        cash_usd=10,
        seasons=16,
        draws=300,
        seed=3,
        ppp_per_usd=TANZANIA.exchange_rate / TANZANIA.ppp_factor,
    )
    plan = plan_growth(catalogue, options)
    rows = plan.rows
    assert len(rows) == 16
    assert rows[0].bought == ["drip_bed"] and rows[0].income_usd_per_day == 0
    # One bed, no noise: 100 kg x 3/4 harvests x 0.40 USD - 4 USD = 26 USD a season.
    assert abs(rows[1].income_usd_per_day * catalogue.days_per_season - 26.0) < 1e-9
    assert rows[-1].cash_usd > rows[3].cash_usd
    assert len(rows[-1].kits_owned) >= 3  # diversified
    assert plan.first_season_above_poverty is not None
    assert all(low <= high for low, high in zip(plan.cash_p10, plan.cash_p90, strict=True))
    assert plan.cash_p10[-1] < rows[-1].cash_usd < plan.cash_p90[-1] * 1.5


def test_plan_is_reproducible(catalogue_path: Path) -> None:
    catalogue = load_catalogue(catalogue_path)
    options = PlanOptions(seasons=8, draws=100, seed=11)
    assert plan_growth(catalogue, options).cash_p10 == plan_growth(catalogue, options).cash_p10


def test_plan_command_with_chart(tmp_path: Path, catalogue_path: Path) -> None:
    from alianza.cli import app

    chart = tmp_path / "plan.png"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "kits",
            "plan",
            str(catalogue_path),
            "--cash",
            "10",
            "--seasons",
            "12",
            "--draws",
            "200",
            "--chart",
            str(chart),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "First season above the poverty line" in result.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = runner.invoke(app, ["kits", "plan", str(catalogue_path), "--json", "--draws", "50"])
    document = json.loads(result.stdout)
    assert len(document["rows"]) == 12 and len(document["cash_p90"]) == 12
