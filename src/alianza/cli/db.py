"""`alianza db ...`: migrate, inspect, dump and restore the platform database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from alianza.cli._session import errors, fail
from alianza.platform.errors import DatabaseNotMigrated, Refused

if TYPE_CHECKING:
    from sqlalchemy import Engine

db_app = typer.Typer(
    help="The platform database: migrations, dump and restore.", no_args_is_help=True
)
console = Console(soft_wrap=True)

URL_OPTION = typer.Option(
    None, "--url", help="Database URL (default: ALIANZA_DATABASE_URL, else the SQLite file)."
)


@db_app.command("upgrade")
def upgrade_command(url: str | None = URL_OPTION) -> None:
    """Apply every migration the database lacks (creates the SQLite file if needed)."""
    from alianza.platform.db import current_revision, make_engine, upgrade

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
    from alianza.platform.db import current_revision, head_revision, make_engine

    engine = make_engine(url)
    console.print(
        f"database: {current_revision(engine) or 'not migrated'}; code: {head_revision()}"
    )
    engine.dispose()


def _engine(url: str | None) -> Engine:
    """The engine for ``url``; a URL that is not one is bad input (exit 2), not a traceback."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from alianza.platform.db import make_engine

    try:
        return make_engine(url)
    except (ArgumentError, NoSuchModuleError) as error:
        raise _bad_input(f"not a database URL: {error}") from None


def _bad_input(message: object) -> typer.Exit:
    """Print a red "error:" line on stderr; bad input (a file, a non-empty target) exits with 2."""
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@db_app.command("dump")
def dump_command(file: Path, url: str | None = URL_OPTION) -> None:
    """Write the whole database to FILE as one snapshot (gzip JSON, mode 0600, replaced atomically)."""
    from sqlalchemy.exc import SQLAlchemyError

    from alianza.platform.backup.service import dump, one_line

    engine = _engine(url)
    try:
        with console.status("starting") as status:
            summary = dump(engine, file, progress=status.update)
    except (DatabaseNotMigrated, SQLAlchemyError) as error:
        raise fail(one_line(error)) from None
    except OSError as error:  # the folder is missing or not writable, FILE is a folder...
        raise _bad_input(f"cannot write {file}: {error.strerror or error}") from None
    finally:
        engine.dispose()
    console.print(
        f"dumped {sum(summary.rows.values())} rows of {len(summary.rows)} tables "
        f"(revision {summary.revision}) to {file}"
    )


@db_app.command("restore")
def restore_command(file: Path, url: str | None = URL_OPTION) -> None:
    """Load FILE into an empty database at the current revision (run `alianza db upgrade` first).

    FILE is checked whole before anything is written; a dump of an older revision is migrated.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from alianza.platform.backup.service import one_line, restore
    from alianza.platform.db import head_revision

    engine = _engine(url)
    try:
        with console.status("starting") as status:
            summary = restore(engine, file, progress=status.update)
    except (DatabaseNotMigrated, SQLAlchemyError) as error:
        raise fail(one_line(error)) from None
    except Refused as error:
        raise _bad_input(error) from None
    finally:
        engine.dispose()
    migrated = "" if summary.revision == head_revision() else f", migrated to {head_revision()}"
    console.print(
        f"restored {sum(summary.rows.values())} rows of {len(summary.rows)} tables from {file} "
        f"(revision {summary.revision}{migrated})"
    )


@db_app.command("verify")
def verify_command(file: Path) -> None:
    """Check that FILE would restore (every check of `db restore`), without a database."""
    from alianza.platform.backup.service import verify

    try:
        with console.status("starting") as status:
            summary = verify(file, progress=status.update)
    except Refused as error:
        raise _bad_input(error) from None
    console.print(
        f"{file}: a whole alianza dump at revision {summary.revision}, "
        f"{sum(summary.rows.values())} rows of {len(summary.rows)} tables; it restores"
    )
