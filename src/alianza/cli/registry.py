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
    update: bool = typer.Option(
        False,
        "--update",
        help="A farmers row whose national ID or phone is a registered "
        "farmer's updates that farmer (by default such a row refuses the import).",
    ),
    refuse_duplicates: bool = typer.Option(
        False,
        "--refuse-duplicates",
        help="Refuse the import on a possible duplicate too (a close name in the same village).",
    ),
    country: str | None = typer.Option(
        None,
        "--country",
        help="Read phones without +country code as numbers of this country "
        "(two-letter code, e.g. TZ); by default, the country of each farmer's village.",
    ),
    url: str | None = typer.Option(None, "--url", help="Database URL."),
) -> None:
    """Import KIND from FILE: all rows or none, with a row-by-row report.

    The file is checked first without holding the database's write lock, then written in one
    short transaction."""
    from alianza.cli._session import fail
    from alianza.platform.db import DatabaseNotMigrated
    from alianza.platform.errors import Refused
    from alianza.platform.programmes.service import act_as, programme_by_code, user_by_username
    from alianza.platform.registry.importer import (
        CHECKS,
        ImportRefused,
        checking_session,
        write_import,
    )

    if kind is not ImportKind.farmers and (update or refuse_duplicates):
        raise fail("--update and --refuse-duplicates are for farmers imports")

    def progress(stage: str, done: int, total: int) -> None:
        console.print(f"{stage} {done}/{total}")

    try:
        try:
            with checking_session(url) as session:
                reader = act_as(
                    session,
                    user_by_username(session, username).id,
                    programme_by_code(session, programme).id,
                )
                checked = CHECKS[kind.value](
                    reader,
                    file,
                    update=update,
                    country=country,
                    refuse_duplicates=refuse_duplicates,
                    progress=progress,
                )
        except (Refused, DatabaseNotMigrated) as error:
            if isinstance(error, ImportRefused):
                raise
            raise fail(error) from None
        with acting(url, programme, username) as actor:
            report = write_import(actor, checked, progress)
    except ImportRefused as refused:
        errors.print(f"[red]{refused.reason}[/red]")
        if refused.report.encoding:
            errors.print(f"  read as {refused.report.encoding}")
        for line in refused.report.lines():
            errors.print(f"  {line}")
        raise typer.Exit(2) from None
    created = ", ".join(f"{count} {what}" for what, count in report.created.items())
    line = f"imported {report.rows_read} rows ({report.encoding}): {created} created"
    if update:
        updated = ", ".join(f"{count} {what}" for what, count in report.updated.items())
        line += f"; {updated} updated, {report.unchanged} unchanged"
    console.print(line)
    for duplicate in report.duplicates:
        console.print(f"  possible duplicate (not merged): {duplicate}")


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
