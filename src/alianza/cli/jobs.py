"""`alianza jobs submit|list|show|cancel`: background simulations, as the web page runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from alianza.cli._options import PROGRAMME
from alianza.cli.programme import acting

jobs_app = typer.Typer(
    help="Background jobs (simulations run by `alianza worker`).", no_args_is_help=True
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
INVALID_FILE = 2
URL = typer.Option(None, "--url", help="Database URL.")


def scenario_document(path: Path) -> Any:
    """A scenario file as the document a job keeps: a catalogue it names by file is read and
    put inline (relative to the scenario), since the job never reads files itself."""
    from alianza.ladder.catalogue import read_structured_file

    document = read_structured_file(path)
    if isinstance(document, dict) and isinstance(document.get("catalogue"), str):
        catalogue = (path.parent / document["catalogue"]).resolve()
        document = {
            **document,
            "catalogue": read_structured_file(catalogue, str(path), "catalogue"),
        }
    return document


@jobs_app.command("submit")
def submit(
    scenario: Path = typer.Argument(  # noqa: B008
        ..., exists=True, dir_okay=False, help="Scenario file (YAML or JSON)."
    ),
    programme: str = PROGRAMME,
    username: str = typer.Option(..., "--as", help="The user submitting (needs simulations.run)."),
    farmers: int | None = typer.Option(None, help="Override the number of farmers."),
    seasons: int | None = typer.Option(None, help="Override the number of seasons."),
    seed: int | None = typer.Option(None, help="Override the seed."),
    chunk: int = typer.Option(10_000, help="Farmers per chunk (whole markets)."),
    charts: bool = typer.Option(True, help="Write PNG charts."),
    url: str | None = URL,
) -> None:
    """Queue a simulation of SCENARIO for the worker; prints the job's id."""
    from alianza.ladder.catalogue import CatalogueError
    from alianza.platform.errors import Invalid
    from alianza.platform.jobs.service import simulation_scenario, submit_simulation

    overrides = {
        "farmers": farmers,
        "seasons": seasons,
        "seed": seed,
        "chunk": chunk,
        "charts": charts,
    }
    try:  # checked here first, so that a bad file exits with code 2 and every problem
        document = scenario_document(scenario)
        simulation_scenario(document, overrides)
    except (CatalogueError, Invalid) as error:
        problems = error.problems
        errors.print(f"[red]{scenario}[/red]: {len(problems)} problem(s)")
        for problem in problems:
            errors.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(INVALID_FILE) from None
    with acting(url, programme, username) as actor:
        job = submit_simulation(actor, document, overrides)
        job_id, total = job.id, job.progress_total
    console.print(f"job {job_id} queued: {total:,} farmers (run `alianza worker` to run it)")


@jobs_app.command("list")
def list_command(
    programme: str = PROGRAMME,
    username: str = typer.Option(..., "--as", help="The user reading the jobs."),
    limit: int = typer.Option(20, help="Jobs shown, newest first."),
    url: str | None = URL,
) -> None:
    """The programme's jobs, newest first: state, progress, message."""
    from alianza.platform.jobs.service import list_jobs

    with acting(url, programme, username) as actor:
        page = list_jobs(actor, limit=limit)
        table = Table(title=f"Jobs of {programme} ({page.total} in all)")
        for column in ("id", "state", "progress", "created", "message"):
            table.add_column(column, justify="right" if column in ("id", "progress") else "left")
        for job in page.items:
            table.add_row(
                str(job.id),
                job.state.value,
                f"{job.progress_done:,}/{job.progress_total:,}",
                f"{job.created_at:%Y-%m-%d %H:%M}",
                job.message,
            )
    console.print(table)


@jobs_app.command("show")
def show(
    job_id: int = typer.Argument(..., help="The job's id."),
    programme: str = PROGRAMME,
    username: str = typer.Option(..., "--as", help="The user reading the job."),
    url: str | None = URL,
) -> None:
    """One job: its state and progress and, once it has succeeded, its output files."""
    from alianza.platform.jobs.models import JobState
    from alianza.platform.jobs.service import get_job, job_outputs

    with acting(url, programme, username) as actor:
        job = get_job(actor, job_id)
        console.print(
            f"job {job.id}: {job.state.value}, {job.progress_done:,}/"
            f"{job.progress_total:,} farmers; {job.message}"
        )
        if job.state is JobState.SUCCEEDED:
            for file in job_outputs(actor, job_id).files:
                console.print(f"  {file.path} ({file.bytes:,} bytes)")


@jobs_app.command("cancel")
def cancel(
    job_id: int = typer.Argument(..., help="The job's id."),
    programme: str = PROGRAMME,
    username: str = typer.Option(..., "--as", help="The user cancelling (needs simulations.run)."),
    url: str | None = URL,
) -> None:
    """Cancel a queued or running job (a running one stops at its next chunk)."""
    from alianza.platform.jobs.service import cancel_job

    with acting(url, programme, username) as actor:
        cancel_job(actor, job_id)
    console.print(f"job {job_id} cancelled")
