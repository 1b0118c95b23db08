"""Command-line values checked like files are: each bound declared once, next to its option.

Numeric bounds are Typer's ``min=``/``max=`` (taken from the file formats' own pydantic fields
where an option overrides one, so a value refused in a file is refused on the command line);
what a bound cannot say (a finite number, an exclusive bound, a database URL, a folder that
must exist) is a callback here that raises :class:`typer.BadParameter`, which the command
prints as one line naming the option, exit code 2.
"""

from __future__ import annotations

import math
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, get_args

import typer
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

# More farmers than the world's ~500 million farms: a typo, not a scenario.
MAX_FARMERS = 1_000_000_000
# A chunk's farmers are all held in memory at once (the default, 10,000, fits a cache).
MAX_CHUNK = 1_000_000
# The growth planner's spread keeps a draws x draws weather correlation: ~1.2 GB at 5,000.
MAX_PLAN_DRAWS = 5_000
# The appraisal's risk analysis keeps a few draws x years arrays: ~0.5 GB at a million.
MAX_RISK_DRAWS = 1_000_000
# A standard deviation of a yearly price or yield factor (1 is already a 100% shock).
MAX_SD = 10.0
MAX_HOUSEHOLD = 100

DATABASE_BACKENDS = ("sqlite", "postgresql")
SCHEDULER_ADDRESS = re.compile(r"^(?:(tcp|tls|inproc|ucx|ws|wss)://)?[^\s:/]+(?::\d{1,5})?/?$")


def _rules(model: type[BaseModel], field: str) -> list[Any]:
    """The constraints of a model's field, also those inside ``Rate | None``-like annotations."""
    info = model.model_fields[field]
    rules = list(info.metadata)
    pending = [info.annotation]
    while pending:
        annotation = pending.pop()
        for part in get_args(annotation):
            if isinstance(part, FieldInfo):
                rules.extend(part.metadata)
            else:
                pending.append(part)
    return rules


def schema_bounds(model: type[BaseModel], field: str) -> dict[str, Any]:
    """``min``/``max`` for ``typer.Option`` from the inclusive bounds of a model's field."""
    bounds: dict[str, Any] = {}
    for rule in _rules(model, field):
        if isinstance(rule, Ge):
            bounds["min"] = rule.ge
        elif isinstance(rule, Le):
            bounds["max"] = rule.le
    return bounds


def exclusive_bounds(model: type[BaseModel], field: str) -> tuple[float | None, float | None]:
    """The exclusive (gt, lt) bounds of a model's field, for :func:`finite`."""
    low = high = None
    for rule in _rules(model, field):
        if isinstance(rule, Gt):
            low = float(rule.gt)  # type: ignore[arg-type]
        elif isinstance(rule, Lt):
            high = float(rule.lt)  # type: ignore[arg-type]
    return low, high


def finite(above: float | None = None, below: float | None = None) -> Any:
    """A callback: the number is finite (not nan or inf), and > ``above``, < ``below``."""

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        if not math.isfinite(value):
            raise typer.BadParameter(f"must be a finite number, not {value}")
        if above is not None and not value > above:
            raise typer.BadParameter(f"must be greater than {above:g}, not {value:g}")
        if below is not None and not value < below:
            raise typer.BadParameter(f"must be less than {below:g}, not {value:g}")
        return value

    return check


def workers(value: int) -> int:
    """A callback: between 1 and the number of CPUs of this machine."""
    cpus = os.cpu_count() or 1
    if value < 1:
        raise typer.BadParameter(f"must be at least 1, not {value}")
    if value > cpus:
        raise typer.BadParameter(f"this machine has {cpus} CPUs: give at most {cpus}, not {value}")
    return value


def scheduler_address(value: str | None) -> str | None:
    """A callback: a Dask scheduler address, ``tcp://host:8786`` (or ``host:8786``)."""
    if value is None:
        return value
    if not SCHEDULER_ADDRESS.match(value):
        raise typer.BadParameter(f"{value!r} is not a scheduler address such as tcp://host:8786")
    return value


def output_file(value: Path | None) -> Path | None:
    """A callback: a file to write, in a folder that exists, and not itself a folder."""
    if value is None:
        return value
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a folder; give a file name")
    if not value.parent.is_dir():
        raise typer.BadParameter(f"the folder {value.parent} does not exist")
    return value


def png_file(value: Path | None) -> Path | None:
    """A callback: an :func:`output_file` ending in ``.png``."""
    value = output_file(value)
    if value is not None and value.suffix.lower() != ".png":
        raise typer.BadParameter(f"{value}: a chart is a PNG file (name it *.png)")
    return value


def output_folder(value: Path) -> Path:
    """A callback: a folder to write into; created if new, but its parent must exist (a
    mistyped path is refused rather than created)."""
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder")
    if not value.exists() and not value.absolute().parent.is_dir():
        raise typer.BadParameter(f"the folder {value.absolute().parent} does not exist")
    return value


def checked_database_url(url: str, name: str | None = None) -> str:
    """``url`` if it is a database alianza can use, else :class:`typer.BadParameter`.

    ``postgresql://`` means psycopg 3 (the driver alianza ships), and a PostgreSQL server that
    does not answer is given up after 10 seconds rather than waited for."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise typer.BadParameter(
            f"{url!r} is not a database URL (sqlite:///path/alianza.db or "
            "postgresql+psycopg://user@host/database)",
            param_hint=name,
        ) from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend not in DATABASE_BACKENDS:
        raise typer.BadParameter(
            f"{backend!r} databases are not supported: use sqlite:/// or postgresql+psycopg://",
            param_hint=name,
        )
    if backend == "postgresql":
        if "+" in parsed.drivername and driver != "psycopg":
            raise typer.BadParameter(
                f"the PostgreSQL driver {driver!r} is not installed: use postgresql+psycopg://",
                param_hint=name,
            )
        parsed = parsed.set(drivername="postgresql+psycopg")
        if "connect_timeout" not in parsed.query:
            parsed = parsed.update_query_dict({"connect_timeout": "10"})
    return parsed.render_as_string(hide_password=False)


def database_url(value: str | None) -> str:
    """A callback: ``--url``, else ``ALIANZA_DATABASE_URL``, else the SQLite file; checked."""
    from alianza.platform.db import database_url as default_url

    if value is not None:
        return checked_database_url(value)
    return checked_database_url(default_url(), "ALIANZA_DATABASE_URL")


# Eager: a bad URL is refused before a password is prompted for.
# The programme and the user a command acts as (their role and scope apply).
PROGRAMME: Any = typer.Option(..., "--programme", help="The programme's code.")
AS_USER: Any = typer.Option(..., "--as", help="The user acting (their role and scope apply).")
# Commands that read either files or a programme's records (forecast, ladder calibrate).
RecordsUser = Annotated[
    str | None,
    typer.Option("--as", help="The user acting (with --programme: their scope applies)."),
]
RecordsAsOf = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="With --programme: records up to the last season ended on this day (today).",
    ),
]
URL_OPTION: Any = typer.Option(
    None,
    "--url",
    callback=database_url,
    is_eager=True,
    help="Database URL (default: ALIANZA_DATABASE_URL, else the SQLite file).",
)
