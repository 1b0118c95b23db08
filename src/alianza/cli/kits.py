"""`alianza kits ...` (catalogue schema, validation, growth planner) and `alianza simulate`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from alianza.cli import _options as checks
from alianza.ladder.catalogue import CatalogueError, catalogue_json_schema, load_catalogue
from alianza.ladder.scenario import (
    Outputs,
    Policy,
    Scenario,
    load_scenario,
    scenario_json_schema,
    with_overrides,
)

kits_app = typer.Typer(
    help="Micro-investing kit catalogues: schema, validation, growth planner.",
    no_args_is_help=True,
)
console = Console()
error_console = Console(stderr=True, soft_wrap=True)
INVALID_FILE = 2
CataloguePath = Annotated[
    Path, typer.Argument(metavar="CATALOGUE", help="Catalogue file (YAML or JSON).")
]


def _report_invalid(error: CatalogueError) -> None:
    error_console.print(f"[red]{error.source}[/red]: {len(error.problems)} problem(s)")
    for problem in error.problems:
        error_console.print(f"  {problem}", markup=False, highlight=False)


@kits_app.command("schema")
def schema(
    scenario: Annotated[
        bool, typer.Option("--scenario", help="Print the scenario file's schema instead.")
    ] = False,
) -> None:
    """Print the JSON Schema of a kit catalogue (or of a scenario) file."""
    document = scenario_json_schema() if scenario else catalogue_json_schema()
    typer.echo(json.dumps(document, indent=2))


@kits_app.command("validate")
def validate(catalogue: CataloguePath) -> None:
    """Check a catalogue; list every problem with its field path (exit code 2 if invalid)."""
    try:
        loaded = load_catalogue(catalogue)
    except CatalogueError as error:
        _report_invalid(error)
        raise typer.Exit(INVALID_FILE) from None
    console.print(f"{catalogue}: valid, {len(loaded.kits)} kits, {len(loaded.products)} products")


@kits_app.command("plan")
def plan(
    catalogue: CataloguePath,
    cash: Annotated[
        float, typer.Option(min=0, callback=checks.finite(), help="Starting cash, USD.")
    ] = 10.0,
    land: Annotated[
        float, typer.Option(min=0, callback=checks.finite(), help="Land available, m2.")
    ] = 2000.0,
    household: Annotated[
        int, typer.Option(min=1, max=checks.MAX_HOUSEHOLD, help="Household size (persons).")
    ] = 5,
    seasons: Annotated[
        int, typer.Option(**checks.schema_bounds(Scenario, "seasons"), help="Seasons to plan.")
    ] = 12,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the shocks for the spread.")] = 0,
    draws: Annotated[
        int,
        typer.Option(
            min=0,
            max=checks.MAX_PLAN_DRAWS,
            help="Shock scenarios for the 10th-90th spread (0: none; memory grows "
            "with the square of the draws).",
        ),
    ] = 1000,
    consumption_share: Annotated[
        float,
        typer.Option(
            **checks.schema_bounds(Policy, "consumption_share"),
            help="Share of income consumed (0 to 1).",
        ),
    ] = 0.3,
    max_purchases: Annotated[
        int,
        typer.Option(
            **checks.schema_bounds(Policy, "max_purchases_per_season"),
            help="Kits bought a season at most.",
        ),
    ] = 3,
    commercial: Annotated[
        float,
        typer.Option(
            callback=checks.finite(
                *checks.exclusive_bounds(Outputs, "commercial_threshold_usd_per_day")
            ),
            help="Commercial threshold, household USD a day (> 0).",
        ),
    ] = 20.0,
    country: Annotated[
        str | None,
        typer.Option(
            help="ISO3 code whose exchange rate and PPP factor convert the poverty line "
            "($3.00 a person a day, 2021 PPP) to market dollars (TZA, MWI, HND, BOL, COL).",
        ),
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(callback=checks.png_file, help="Write a PNG chart here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The expected season-by-season path of one farmer up the kit ladder, with its spread."""
    from alianza.impact.poverty import country_conversion
    from alianza.ladder.planner import PlanOptions, plan_growth

    try:
        loaded = load_catalogue(catalogue)
    except CatalogueError as error:
        _report_invalid(error)
        raise typer.Exit(INVALID_FILE) from None
    ppp_per_usd = 1.0
    if country is not None:
        try:
            conversion = country_conversion(country)
        except KeyError as error:
            raise typer.BadParameter(str(error.args[0]), param_hint="--country") from None
        ppp_per_usd = conversion.exchange_rate / conversion.ppp_factor
    options = PlanOptions(
        cash_usd=cash,
        land_m2=land,
        household_size=household,
        seasons=seasons,
        seed=seed,
        draws=draws,
        commercial_threshold_usd_per_day=commercial,
        policy=Policy(consumption_share=consumption_share, max_purchases_per_season=max_purchases),
        ppp_per_usd=ppp_per_usd,
    )
    result = plan_growth(loaded, options)
    if as_json:
        typer.echo(json.dumps(_plan_document(result), indent=2))
    else:
        table = Table(title=f"Growth plan: {loaded.name} (start ${cash:,.2f})")
        for column in ("season", "bought", "income $/day", "cash $", "cash p10-p90", "kits owned"):
            table.add_column(
                column, justify="left" if column in ("bought", "kits owned") else "right"
            )
        for index, row in enumerate(result.rows):
            spread = (
                f"{result.cash_p10[index]:,.0f}-{result.cash_p90[index]:,.0f}"
                if result.cash_p10
                else ""
            )
            table.add_row(
                str(row.season),
                ", ".join(row.bought),
                f"{row.income_usd_per_day:,.2f}",
                f"{row.cash_usd:,.2f}",
                spread,
                ", ".join(f"{kit} x{units}" for kit, units in row.kits_owned.items()),
            )
        console.print(table)
        basis = (
            f"$3.00 a person a day in 2021 PPP, {country.upper()}'s conversion"
            if country
            else "$3.00 a person a day in 2021 PPP counted as market dollars: give --country"
        )
        console.print(
            f"First season above the poverty line (${result.poverty_line_household_usd_per_day:.2f}"
            f"/day for {household} persons; {basis}): "
            f"{result.first_season_above_poverty or 'not reached'}"
        )
        console.print(
            f"First season above the commercial threshold "
            f"(${result.commercial_threshold_usd_per_day:.2f}/day): "
            f"{result.first_season_commercial or 'not reached'}"
        )
        if draws:
            console.print(
                f"Under shocks ({draws} draws): {result.share_above_poverty_by_end:.0%} pass the "
                f"poverty line and {result.share_commercial_by_end:.0%} the commercial "
                f"threshold at least once within {seasons} seasons."
            )
    if chart is not None:
        from alianza.ladder.charts import growth_plan_chart

        growth_plan_chart(result, chart)
        if not as_json:
            console.print(f"Chart written to {chart}")


def _plan_document(result: Any) -> dict[str, Any]:
    return {
        "catalogue": result.catalogue_name,
        "rows": [row.__dict__ for row in result.rows],
        "first_season_above_poverty": result.first_season_above_poverty,
        "first_season_commercial": result.first_season_commercial,
        "cash_p10": result.cash_p10,
        "cash_p90": result.cash_p90,
        "income_p10": result.income_p10,
        "income_p90": result.income_p90,
        "share_above_poverty_by_end": result.share_above_poverty_by_end,
        "share_commercial_by_end": result.share_commercial_by_end,
    }


def simulate(
    scenario: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario file (YAML or JSON).")
    ],
    farmers: Annotated[
        int | None,
        typer.Option(min=1, max=checks.MAX_FARMERS, help="Override the number of farmers."),
    ] = None,
    seasons: Annotated[
        int | None,
        typer.Option(
            **checks.schema_bounds(Scenario, "seasons"), help="Override the number of seasons."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Override the seed.")] = None,
    out: Annotated[
        Path,
        typer.Option(
            callback=checks.output_folder,
            help="Output folder (created if new; its parent must exist).",
        ),
    ] = Path("simulation-output"),
    workers: Annotated[
        int,
        typer.Option(
            callback=checks.workers,
            help="Local Dask worker processes (1: run in this process; at most the "
            "machine's CPUs).",
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            callback=checks.scheduler_address,
            help="Address of a Dask scheduler, e.g. tcp://host:8786.",
        ),
    ] = None,
    chunk: Annotated[
        int,
        typer.Option(min=1, max=checks.MAX_CHUNK, help="Farmers per chunk (whole markets)."),
    ] = 10_000,
    charts: Annotated[bool, typer.Option(help="Write PNG charts.")] = True,
) -> None:
    """Simulate a population of farmers climbing a kit ladder; write Parquet and summary JSON."""
    from alianza.ladder.outputs import write_outputs
    from alianza.ladder.runner import farmers_per_market, run_dask, run_local

    try:
        loaded = with_overrides(
            load_scenario(scenario), farmers=farmers, seasons=seasons, seed=seed
        )
    except CatalogueError as error:
        _report_invalid(error)
        raise typer.Exit(INVALID_FILE) from None
    if workers > 1 and scheduler:
        raise typer.BadParameter(
            "give either --workers or --scheduler, not both", param_hint="--workers"
        )
    total = int(farmers_per_market(loaded).sum())
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]simulating[/bold] {task.fields[label]}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} farmers"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("", total=total, label=loaded.name)

        def advance(done: int) -> None:
            progress.advance(task, done)

        if scheduler or workers > 1:
            from dask.distributed import Client

            from alianza.ladder.runner import local_cluster

            if scheduler:
                try:
                    client = Client(scheduler)
                except OSError as error:  # refused, or no answer within Dask's connect timeout
                    raise typer.BadParameter(
                        f"cannot reach {scheduler}: {error}", param_hint="--scheduler"
                    ) from None
                with client:
                    result = run_dask(loaded, client, chunk, out, advance)
            else:
                with local_cluster(workers) as cluster, Client(cluster) as client:
                    result = run_dask(loaded, client, chunk, out, advance)
        else:
            result = run_local(loaded, chunk, out, advance)
    elapsed = time.perf_counter() - started
    document = write_outputs(result, out, charts=charts)
    final = document["final_season"]["all"]
    console.print(
        f"{total:,} farmers x {loaded.seasons} seasons in {elapsed:.1f} s "
        f"({total * loaded.seasons / elapsed / 1e6:.2f} M farmer-seasons/s); outputs in {out}/"
    )
    for warning in document["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    line = document["poverty_line"]
    everyone = document["breakdown"]["all"][0]
    summary_table = Table(title=f"Last season (season {loaded.seasons})")
    summary_table.add_column("indicator")
    summary_table.add_column("value", justify="right")

    def number(value: float | None, pattern: str) -> str:
        return "-" if value is None else format(value, pattern)

    summary_table.add_row(
        f"share above the poverty line (${line['ppp_per_person_day']:.2f} PPP "
        f"= ${line['usd_per_person_day']:.2f} market)",
        number(everyone["share_above_poverty"], ".1%"),
    )
    summary_table.add_row(
        "income per person per day, PPP $: p10 / median / p90",
        " / ".join(
            number(everyone[f"income_ppp_per_person_day_{q}"], ",.2f")
            for q in ("p10", "median", "p90")
        ),
    )
    summary_table.add_row(
        "cash, $: p10 / median / p90",
        " / ".join(number(everyone[f"cash_usd_{q}"], ",.2f") for q in ("p10", "median", "p90")),
    )
    summary_table.add_row(
        "kits owned: p10 / median / p90",
        " / ".join(number(everyone[f"kits_owned_{q}"], ",.0f") for q in ("p10", "median", "p90")),
    )
    summary_table.add_row(
        "mean kit income, $/day (household)", number(final["mean_kit_income_usd_per_day"], ".2f")
    )
    summary_table.add_row("share commercial", number(final["share_commercial"], ".1%"))
    summary_table.add_row("Gini of income per person", number(final["gini_income"], ".3f"))
    never = document["never_started"]
    summary_table.add_row("never bought a kit", number(never["share"], ".1%"))
    for reason, figures in never["reasons"].items():
        if figures["farmers"]:
            summary_table.add_row(f"  {reason.replace('_', ' ')}", number(figures["share"], ".1%"))
    names = document["kit_names"]
    for kit, units in document["kits_owned_final"].items():
        summary_table.add_row(f"kits owned: {names[kit]}", f"{units:,}")
    reference = document.get("reference_ladder")
    if reference:
        summary_table.add_row("reference: mean level", f"{reference['mean_level']:.3f}")
        summary_table.add_row(
            "reference: share at top level", f"{reference['share_at_top_level']:.1%}"
        )
        summary_table.add_row("reference: mean cash, $", f"{reference['mean_cash_usd']:,.2f}")
    console.print(summary_table)
