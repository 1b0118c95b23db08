"""`alianza results report`: a programme's results framework, as a table, XLSX or JSON."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from alianza.cli.plan import Language
from alianza.cli.programme import acting

results_app = typer.Typer(help="The results framework of a programme.", no_args_is_help=True)
console = Console(soft_wrap=True)


@results_app.command("report")
def report_command(
    programme: Annotated[str, typer.Option("--programme", help="The programme's code.")],
    username: Annotated[
        str, typer.Option("--as", help="The user reading the results (needs portfolio read).")
    ],
    period: Annotated[
        list[int] | None,
        typer.Option("--period", help="A calendar year to report (repeat for several)."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day of one period (YYYY-MM-DD).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day of that period.")] = None,
    targets: Annotated[
        Path | None,
        typer.Option(
            "--targets", exists=True, dir_okay=False, help="Targets file (YAML, docs/impact.md)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", dir_okay=False, help="Write .xlsx or .json here."),
    ] = None,
    language: Annotated[
        Language, typer.Option("--lang", help="Language of the table and XLSX: en, es, fr or pt.")
    ] = Language.en,  # type: ignore[attr-defined]
    url: Annotated[str | None, typer.Option("--url", help="Database URL.")] = None,
) -> None:
    """Every indicator per period against its baseline and target, by sex, youth and minority
    status where the records allow (default periods: every year of the records)."""
    from alianza.appraisal.translations import Texts
    from alianza.cli._session import fail
    from alianza.platform.results.render import rich_table, write_json, write_xlsx
    from alianza.platform.results.service import (
        build_report,
        load_targets,
        range_period,
        year_periods,
    )

    if output is not None and output.suffix.lower() not in (".xlsx", ".json"):
        raise fail(f"-o: {output} is neither .xlsx nor .json")
    if period and (start or end):
        raise fail("give --period or --from/--to, not both")
    if (start is None) != (end is None):
        raise fail("--from and --to go together")
    periods = None
    if period:
        periods = year_periods(period)
    elif start is not None and end is not None:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError as error:
            raise fail(f"--from/--to: {error}") from None
        if last < first:
            raise fail(f"--to: {last} is before --from {first}")
        periods = [range_period(first, last)]
    goals = load_targets(targets) if targets is not None else None
    texts = Texts(language.value)
    with acting(url, programme, username) as actor:
        report = build_report(actor, periods, goals)
    if output is None:
        console.print(rich_table(report, texts))
        for missing in report.missing:
            console.print(f"[dim]{texts('Not available')}: {missing}[/dim]", highlight=False)
    elif output.suffix.lower() == ".json":
        write_json(report, output)
        console.print(f"wrote {output}")
    else:
        write_xlsx(report, output, texts)
        console.print(f"wrote {output}")
