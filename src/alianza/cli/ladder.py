"""`alianza ladder ...`: the kit-ladder simulator fitted to what farmers achieve."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from alianza.cli import _options as checks
from alianza.cli._options import URL_OPTION, RecordsAsOf, RecordsUser

ladder_app = typer.Typer(
    help="Kit-ladder scenarios fitted to field records (calibration).", no_args_is_help=True
)
console = Console()


@ladder_app.command("calibrate")
def calibrate(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            callback=checks.output_file,
            help="Calibrated scenario file to write (YAML).",
        ),
    ],
    records: Annotated[
        Path | None,
        typer.Argument(help="Field records: CSV or Parquet, per farmer, kit and season."),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            help="Base scenario (YAML/JSON): its catalogue names the kits. With --programme, "
            "default: the programme's current catalogue and the default policy.",
        ),
    ] = None,
    programme: Annotated[
        str | None,
        typer.Option("--programme", help="Calibrate on this programme's records instead."),
    ] = None,
    district: Annotated[
        str | None,
        typer.Option("--district", help="With --programme: one district's records only."),
    ] = None,
    username: RecordsUser = None,
    as_of: RecordsAsOf = None,
    report: Annotated[
        Path | None,
        typer.Option(
            callback=checks.output_file,
            help="Also write the estimates with standard errors here (JSON).",
        ),
    ] = None,
    min_observations: Annotated[
        int,
        typer.Option(
            min=2, help="Fewest observations to estimate a parameter (else the base is kept)."
        ),
    ] = 30,
    url: str | None = URL_OPTION,
) -> None:
    """Estimate the scenario's kit yield, margin, market and reinvestment parameters from
    recorded harvests and sales, with standard errors, and write the calibrated scenario:
    from a records file (RECORDS --scenario) or from the platform's records (--programme
    --as [--district])."""
    from alianza.cli._session import fail
    from alianza.ladder.calibration import calibrate as run_calibration
    from alianza.ladder.records import read_records
    from alianza.ladder.scenario import load_scenario

    if (records is None) == (programme is None):
        raise fail("give either RECORDS (a file) or --programme CODE (with --as)")
    if programme is not None and username is None:
        raise fail("--as: name the user acting in the programme")
    if records is not None and scenario is None:
        raise fail("--scenario: calibrating a records file needs its base scenario")
    if district is not None and programme is None:
        raise fail("--district: only with --programme (a records file is calibrated whole)")
    loaded = load_scenario(scenario) if scenario is not None else None
    platform = None
    if records is not None:
        assert loaded is not None
        base = loaded
        calibrated, found = run_calibration(base, read_records(records), min_observations)
        source = str(records)
    else:
        from alianza.cli.forecast import calibration_summary
        from alianza.cli.programme import acting
        from alianza.platform.fieldrecords.forecasts import calibrate_from_records

        assert programme is not None and username is not None
        with (
            console.status("Reading the records and calibrating..."),
            acting(url, programme, username) as actor,
        ):
            platform = calibrate_from_records(
                actor,
                district,
                loaded,
                as_of=as_of.date() if as_of else None,
                min_observations=min_observations,
            )
        base, calibrated, found = platform.base, platform.scenario, platform.report
        source = f"the records of {programme}" + (f", {district}" if district else "")
    summary = Table(
        title=f"Calibration of {base.name}: {found.records:,} records, {found.farmers:,} "
        f"farmers, {found.seasons} seasons"
    )
    for column in ("parameter", "base", "estimate", "std. error", "n"):
        summary.add_column(
            column,
            justify="left" if column == "parameter" else "right",
            overflow="fold",  # a parameter path is read whole, on two lines if need be
        )
    for estimate in found.estimates:
        summary.add_row(
            escape(estimate.parameter),
            f"{estimate.base:.4g}" if estimate.base is not None else "",
            f"{estimate.estimate:.4g}" if estimate.estimate is not None else "kept",
            f"{estimate.standard_error:.2g}" if estimate.standard_error is not None else "",
            f"{estimate.observations:,}",
        )
    console.print(summary)
    if found.reinvestment_rate is not None:
        console.print(f"Kit purchases were {found.reinvestment_rate:.1%} of positive kit income.")
    if platform is not None:
        console.print(calibration_summary(platform), markup=False)
    header = [
        f"# Calibrated by `alianza ladder calibrate` from {source} on "
        f"{datetime.now(UTC):%Y-%m-%d} (base: {scenario or base.name}).",
        "# estimate (standard error, observations) of each parameter:",
    ] + [
        f"#   {e.parameter}: {e.estimate:.6g} ({e.standard_error:.2g}, n={e.observations})"
        for e in found.estimates
        if e.estimate is not None and e.standard_error is not None
    ]
    document = calibrated.model_dump(mode="json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        "\n".join(header) + "\n" + yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    console.print(f"Calibrated scenario written to {output}")
    if report is not None:
        report.write_text(json.dumps(found.model_dump(mode="json"), indent=2), encoding="utf-8")
        console.print(f"Estimates written to {report}")


@ladder_app.command("records")
def records_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", callback=checks.output_file, help="Records file: .csv or .parquet."
        ),
    ],
    farmers: Annotated[
        int | None, typer.Option(min=1, max=200_000, help="Override the number of farmers.")
    ] = None,
    seasons: Annotated[
        int | None, typer.Option(min=1, max=100, help="Override the number of seasons.")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Override the seed.")] = None,
) -> None:
    """Simulate field records (per farmer, kit and season) from a scenario: test data for
    calibration and forecasts with known parameters."""
    from alianza.ladder.records import simulate_records, write_records
    from alianza.ladder.scenario import load_scenario, with_overrides

    loaded = with_overrides(load_scenario(scenario), farmers, seasons, seed)
    with console.status(f"Simulating {loaded.population.farmers:,} farmers..."):
        table = simulate_records(loaded)
    write_records(table, output)
    console.print(
        f"{table.num_rows:,} records of {loaded.population.farmers:,} farmers over "
        f"{loaded.seasons} seasons written to {output}"
    )
