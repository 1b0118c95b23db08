"""`alianza registry import|export`: farmers, organizations and memberships, CSV or XLSX."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from alianza.cli.programme import acting

registry_app = typer.Typer(help="The registry of organizations and farmers.", no_args_is_help=True)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


class ImportKind(StrEnum):
    farmers = "farmers"
    organizations = "organizations"
    memberships = "memberships"


@registry_app.command("import")
def import_command(
    kind: ImportKind,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .csv or .xlsx file."),  # noqa: B008
    programme: str = typer.Option(..., "--programme", help="The programme's code."),
    username: str = typer.Option(
        ..., "--as", help="The user the import is recorded as (needs write)."
    ),
    refuse_duplicates: bool = typer.Option(
        False, "--refuse-duplicates", help="Refuse the import if any possible duplicate is found."
    ),
    url: str | None = typer.Option(None, "--url", help="Database URL."),
) -> None:
    """Import KIND from FILE: all rows or none, with a row-by-row report."""
    from alianza.platform.registry.importer import (
        ImportRefused,
        import_farmers,
        import_memberships,
        import_organizations,
    )

    with acting(url, programme, username) as actor:
        try:
            if kind is ImportKind.farmers:
                report = import_farmers(actor, file, refuse_duplicates=refuse_duplicates)
            elif kind is ImportKind.organizations:
                report = import_organizations(actor, file)
            else:
                report = import_memberships(actor, file)
        except ImportRefused as refused:
            errors.print(f"[red]{refused.reason}[/red]")
            for line in refused.report.lines():
                errors.print(f"  {line}")
            raise typer.Exit(2) from None
    created = ", ".join(f"{count} {what}" for what, count in report.created.items())
    console.print(f"imported {report.rows_read} rows: {created}")
    for line in report.duplicates:
        console.print(f"  possible duplicate (not merged): {line}")


class ExportKind(StrEnum):
    farmers = "farmers"
    organizations = "organizations"


@registry_app.command("export")
def export_command(
    kind: ExportKind,
    file: Path = typer.Argument(..., dir_okay=False, help="The .csv or .xlsx file to write."),  # noqa: B008
    programme: str = typer.Option(..., "--programme", help="The programme's code."),
    username: str = typer.Option(..., "--as", help="The user reading the registry (needs read)."),
    url: str | None = typer.Option(None, "--url", help="Database URL."),
) -> None:
    """Export KIND to FILE in the columns `registry import` reads (farmers carry their groups)."""
    from alianza.platform.registry.exporter import export_farmers, export_organizations

    with acting(url, programme, username) as actor:
        export = export_farmers if kind is ExportKind.farmers else export_organizations
        count = export(actor, file)
    console.print(f"exported {count} {kind.value} to {file}")
