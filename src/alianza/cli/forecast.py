"""`alianza forecast`: kit demand, produce supply and prices of a district, season by season."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alianza.cli import _options as checks
from alianza.cli._options import URL_OPTION, RecordsAsOf, RecordsUser

console = Console()


def _band(values: object) -> str:
    band = values  # a Band: p10, p50, p90
    return f"{band.p50:,.0f} ({band.p10:,.0f}-{band.p90:,.0f})"  # type: ignore[attr-defined]


def forecast(
    district: Annotated[str, typer.Option("--district", help="District to forecast.")],
    records: Annotated[
        Path | None,
        typer.Option(
            "--records",
            help="Field records (CSV or Parquet), per farmer, kit, season; or --programme.",
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            help="Scenario (YAML/JSON), ideally from 'alianza ladder calibrate' on the records; "
            "with --programme, default: calibrated on the district's records.",
        ),
    ] = None,
    programme: Annotated[
        str | None,
        typer.Option("--programme", help="Read the records of this programme's database."),
    ] = None,
    username: RecordsUser = None,
    as_of: RecordsAsOf = None,
    seasons: Annotated[int, typer.Option(min=1, max=40, help="Seasons ahead.")] = 2,
    replicates: Annotated[
        int, typer.Option(min=2, max=10_000, help="Simulations with independent seeds.")
    ] = 100,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the replicates.")] = 0,
    start: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First day of the first forecast season (dates)."),
    ] = None,
    calibration: Annotated[
        Path | None,
        typer.Option(
            help="Calibration report (JSON from 'ladder calibrate --report'): each replicate "
            "draws its parameters from the estimates and their standard errors."
        ),
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(callback=checks.png_file, help="Write a PNG chart here.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", callback=checks.output_file, help="Write the forecast as JSON here."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    url: str | None = URL_OPTION,
) -> None:
    """Forecast a district: kits farmers will buy (for suppliers), produce by product and grade
    (for off-takers) and local prices, with 10th-90th percentile bands over seeded replicates.
    From a records file (--records, --scenario), or from the platform's records
    (--programme, --as), calibrating a scenario on them when no --scenario is given."""
    from alianza.cli._session import fail
    from alianza.ladder.scenario import load_scenario

    if (records is None) == (programme is None):
        raise fail("give either --records FILE (with --scenario) or --programme CODE (with --as)")
    if programme is not None and username is None:
        raise fail("--as: name the user acting in the programme")
    if records is not None and scenario is None:
        raise fail("--scenario: a forecast from a records file needs its scenario")
    loaded = load_scenario(scenario) if scenario is not None else None
    report = None
    if calibration is not None:
        from alianza.ladder.calibration import read_calibration

        report = read_calibration(calibration)
    with Progress(
        TextColumn("replicates"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("replicates", total=replicates)
        if records is not None:
            from alianza.ladder.forecast import forecast as run_forecast
            from alianza.ladder.records import read_records

            assert loaded is not None
            result = run_forecast(
                loaded,
                read_records(records),
                district,
                seasons=seasons,
                replicates=replicates,
                seed=seed,
                start=start.date() if start else None,
                progress=lambda done: bar.update(task, completed=done),
                calibration=report,
            )
        else:
            from alianza.cli.programme import acting
            from alianza.platform.fieldrecords.forecasts import district_forecast

            assert programme is not None and username is not None
            with acting(url, programme, username) as actor:
                found = district_forecast(
                    actor,
                    district,
                    seasons=seasons,
                    replicates=replicates,
                    seed=seed,
                    scenario=loaded,
                    as_of=as_of.date() if as_of else None,
                    progress=lambda done: bar.update(task, completed=done),
                )
            result = found.forecast
    if records is None and not as_json:
        _say_where_from(found)
    document = result.model_dump(mode="json")
    if output is not None:
        output.write_text(json.dumps(document, indent=2), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        title = (
            f"{result.district}: {result.farmers:,} farmers in {result.markets} market(s), "
            f"{result.replicates} replicates; median (10th-90th percentile)"
        )
        demand = Table(title=f"Kit demand - {title}")
        for column in ("season", "dates", "kit", "units", "value USD"):
            demand.add_column(column, justify="left" if column in ("kit", "dates") else "right")
        for row in result.kit_demand:
            demand.add_row(
                str(row.season), _dates(row), row.kit, _band(row.units), _band(row.value_usd)
            )
        console.print(demand)
        supply = Table(title="Produce supply")
        for column in ("season", "dates", "product", "grade", "volume", "unit"):
            supply.add_column(
                column, justify="right" if column == "volume" else "left", overflow="fold"
            )
        for row in result.produce_supply:
            supply.add_row(
                str(row.season), _dates(row), row.product, row.grade, _band(row.volume), row.unit
            )
        console.print(supply)
        prices = Table(title="Prices (USD per unit)")
        for column in ("season", "product", "reference", "price", "markets saturated"):
            prices.add_column(column, justify="left" if column == "product" else "right")
        for row in result.prices:
            band = row.price_usd
            prices.add_row(
                str(row.season),
                row.product,
                f"{row.reference_price_usd:,.2f}",
                f"{band.p50:,.2f} ({band.p10:,.2f}-{band.p90:,.2f})",
                f"{row.saturated_share:.0%}",
            )
        console.print(prices)
    if chart is not None:
        from alianza.ladder.charts import forecast_chart

        forecast_chart(result, chart)
        if not as_json:
            console.print(f"Chart written to {chart}")


def _say_where_from(found: object) -> None:
    """Which records the forecast read, and which parameters came from them."""
    from alianza.ladder.seasons import season_label

    records = found.records  # type: ignore[attr-defined]
    spy = records.seasons_per_year
    console.print(
        f"Records of {records.district}: {records.table.num_rows:,} rows, {records.farmers:,} "
        f"farmers, seasons {season_label(records.first_season, spy)} to "
        f"{season_label(records.last_season, spy)} (catalogue v{records.catalogue_version}); "
        f"forecast seasons {', '.join(found.season_labels.values())}."  # type: ignore[attr-defined]
    )
    calibrated = found.calibration  # type: ignore[attr-defined]
    if calibrated is None:
        console.print("Scenario as given (--scenario): not calibrated on the records.")
        return
    console.print(calibration_summary(calibrated), markup=False)


def calibration_summary(calibrated: object) -> str:
    """Which parameters came from the platform's records and which kept the base's value."""
    taken = calibrated.from_records  # type: ignore[attr-defined]
    kept = calibrated.kept_parameters  # type: ignore[attr-defined]
    lines = ["Calibrated on the records (estimate ± standard error, observations):"]
    lines += [
        f"  {e.parameter}: {e.estimate:.4g} ± {e.standard_error:.2g} (n={e.observations:,})"
        for e in taken
    ]
    lines.append(
        "Kept from the base scenario (too few observations, or not recorded in the field: "
        "operating costs come from the catalogue, consumption is not recorded): "
        + ", ".join(kept)
        + "."
    )
    return "\n".join(lines)


def _dates(row: object) -> str:
    start, end = getattr(row, "start", None), getattr(row, "end", None)
    return f"{start} - {end}" if start and end else ""
