"""`alianza db ...`: migrate, inspect, dump and restore the platform database."""

from __future__ import annotations


import typer
from rich.console import Console

from alianza.platform.db import current_revision, head_revision, make_engine, upgrade

db_app = typer.Typer(help="The platform database: migrations, dump and restore.", no_args_is_help=True)
console = Console()

URL_OPTION = typer.Option(
    None, "--url", help="Database URL (default: ALIANZA_DATABASE_URL, else the SQLite file)."
)


@db_app.command("upgrade")
def upgrade_command(url: str | None = URL_OPTION) -> None:
    """Apply every migration the database lacks (creates the SQLite file if needed)."""
    engine = make_engine(url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"{where} is up to date at revision {after}.")
    else:
        console.print(f"{where} upgraded from {before or 'empty'} to revision {after}.")
    engine.dispose()


@db_app.command("current")
def current_command(url: str | None = URL_OPTION) -> None:
    """Show the database's migration revision and the one this alianza expects."""
    engine = make_engine(url)
    console.print(f"database: {current_revision(engine) or 'not migrated'}; code: {head_revision()}")
    engine.dispose()


