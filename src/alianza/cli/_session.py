"""What the commands share: a database session, and how an error ends a command.

Bad input of any kind (a value, a file, a refusal of the platform's rules, a database that
cannot be used) ends a command with one ``error:`` line on standard error, in the user's
terms, and exit code 2; :func:`report` is the one place that turns an exception into it.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from alianza.platform.errors import DatabaseNotMigrated, Invalid, Refused
from alianza.problems import ProblemError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# What reading a malformed CSV or XLSX file raises (beyond OSError and UnicodeDecodeError).
UNREADABLE_FILE = (csv.Error, zipfile.BadZipFile)
errors = Console(stderr=True, soft_wrap=True, highlight=False)
# The exit code of bad input (as for a usage error); 1 is left to failures of alianza itself.
BAD_INPUT = 2


def say(message: object) -> None:
    """Print ``error: message`` on standard error (the message is text, never Rich markup)."""
    errors.print(Text.assemble(("error: ", "red"), str(message)))


def fail(message: object) -> typer.Exit:
    """Print a red "error:" line on stderr; the caller raises the returned exit (code 2)."""
    say(message)
    return typer.Exit(code=BAD_INPUT)


def refusal_message(refusal: Refused, fields: Mapping[str, str] | None = None) -> str:
    """A refusal in the user's terms: schema fields named as the command's options."""
    fields = fields or {}
    if isinstance(refusal, Invalid):
        return "; ".join(
            f"{fields.get(p.field, p.field)}: {p.message}" if p.field else p.message
            for p in refusal.problems
        )
    if refusal.field and refusal.field in fields:
        return f"{fields[refusal.field]}: {refusal}"
    return str(refusal)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def report(error: BaseException) -> int | None:
    """Print ``error`` as bad input and return the exit code, or None if it is not bad input
    (a failure of alianza itself, which the caller reports as such)."""
    if isinstance(error, Refused):
        say(refusal_message(error))
        return BAD_INPUT
    if isinstance(error, ProblemError):
        errors.print(Text.assemble((error.source, "red"), f": {len(error.problems)} problem(s)"))
        for problem in error.problems:
            errors.print(f"  {problem}", markup=False)
        return BAD_INPUT
    if isinstance(error, DatabaseNotMigrated):
        say(error)
        return BAD_INPUT
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        say(f"{where}{error.strerror or _first_line(error)}")
        return BAD_INPUT
    if isinstance(error, UnicodeDecodeError):
        say(f"the file is not UTF-8 text (byte {error.start}: {error.reason})")
        return BAD_INPUT
    if isinstance(error, UNREADABLE_FILE):
        say(f"the file cannot be read: {_first_line(error)}")
        return BAD_INPUT
    if isinstance(error, ModuleNotFoundError):
        # e.g. a database URL naming a driver alianza does not ship (mysql://)
        say(f"this needs the Python module {error.name!r}, which is not installed")
        return BAD_INPUT
    try:
        from sqlalchemy.exc import IntegrityError, SQLAlchemyError
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        return None
    if isinstance(error, IntegrityError):
        say(f"the database refused the change: {_first_line(error)}")
        return BAD_INPUT
    if isinstance(error, SQLAlchemyError):  # DBAPIError (connection, driver) included
        say(f"the database cannot be used: {_first_line(error)}")
        return BAD_INPUT
    return None


@contextmanager
def session(url: str | None, fields: Mapping[str, str] | None = None) -> Iterator[Session]:
    """A committed-on-success session; a refusal, an unreachable or unmigrated database end
    the command with one line and exit code 2. ``fields`` names schema fields as options
    (``{"display_name": "--name"}``) in the refusal's message."""
    from alianza.platform.db import Database

    try:
        database = Database(url)
    except DatabaseNotMigrated as error:
        raise fail(error) from None
    try:
        with database.session() as opened:
            yield opened
    except Refused as refusal:
        raise fail(refusal_message(refusal, fields)) from None
    finally:
        database.dispose()
