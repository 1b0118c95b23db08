"""What the platform commands share: a database session, and how a refusal ends a command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from alianza.platform.errors import DatabaseNotMigrated, Refused

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

errors = Console(stderr=True, soft_wrap=True)


def fail(message: object) -> typer.Exit:
    """Print a red "error:" line on stderr; the caller raises the returned exit (code 1)."""
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


@contextmanager
def session(url: str | None) -> Iterator[Session]:
    """A committed-on-success session; refusals and an unmigrated database exit with code 1."""
    from alianza.platform.db import Database

    try:
        database = Database(url)
    except DatabaseNotMigrated as error:
        raise fail(error) from None
    try:
        with database.session() as opened:
            yield opened
    except Refused as refusal:
        raise fail(refusal) from None
    finally:
        database.dispose()
