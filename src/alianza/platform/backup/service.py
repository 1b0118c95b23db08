"""Dump the whole database to one file and restore it into an empty, migrated database.

The file is gzip-compressed JSON: the migration revision and, per table, its columns and rows.
Money travels as decimal strings, dates as ISO strings: nothing passes through a float.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    Table,
    func,
    insert,
    select,
    text,
)

from alianza.platform import metadata as all_tables
from alianza.platform.audit.service import jsonable
from alianza.platform.db import check_migrated, current_revision
from alianza.platform.errors import Refused
from alianza.platform.types import FixedDecimal

FORMAT = "alianza-dump"
FORMAT_VERSION = 1
BATCH = 2000


@dataclass(frozen=True)
class DumpSummary:
    revision: str
    rows: dict[str, int]


def _tables() -> list[Table]:
    return list(all_tables.metadata.sorted_tables)


def dump(engine: Engine, path: Path) -> DumpSummary:
    """Write every table of the (migrated) database to ``path``."""
    check_migrated(engine)
    revision = current_revision(engine)
    assert revision is not None
    tables: dict[str, Any] = {}
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for table in _tables():
            columns = [c.name for c in table.columns]
            rows = [
                [jsonable(value) for value in row]
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            tables[table.name] = {"columns": columns, "rows": rows}
            counts[table.name] = len(rows)
    document = {"format": FORMAT, "version": FORMAT_VERSION, "revision": revision, "tables": tables}
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(document, handle, separators=(",", ":"))
    return DumpSummary(revision, counts)


def _reader(column_type: Any) -> Any:
    if isinstance(column_type, FixedDecimal):
        return lambda v: None if v is None else Decimal(v)
    if isinstance(column_type, DateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if isinstance(column_type, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(column_type, Boolean):
        return lambda v: None if v is None else bool(v)
    if isinstance(column_type, Float):
        return lambda v: None if v is None else float(v)
    if isinstance(column_type, Integer):
        return lambda v: None if v is None else int(v)
    return lambda v: v


def restore(engine: Engine, path: Path) -> DumpSummary:
    """Load a dump into an empty database migrated to the dump's revision; all or nothing."""
    check_migrated(engine)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as error:
        raise Refused(f"{path} is not an alianza dump: {error}") from None
    if document.get("format") != FORMAT or document.get("version") != FORMAT_VERSION:
        raise Refused(f"{path} is not an alianza dump (format {FORMAT} v{FORMAT_VERSION})")
    revision = current_revision(engine)
    if document["revision"] != revision:
        raise Refused(
            f"the dump is at revision {document['revision']}, the database at {revision}: "
            "restore into a database at the dump's revision, then run `alianza db upgrade`",
            rule="same revision",
        )
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        for table in _tables():
            if connection.scalar(select(func.count()).select_from(table)):
                raise Refused(f"the database is not empty (table {table.name} has rows)", rule="empty target")
        for table in _tables():
            data = document["tables"].get(table.name, {"columns": [], "rows": []})
            columns = data["columns"]
            unknown = set(columns) - {c.name for c in table.columns}
            if unknown:
                raise Refused(f"table {table.name}: unknown columns {sorted(unknown)}")
            readers = [_reader(table.columns[name].type) for name in columns]
            rows = [
                {name: read(value) for name, read, value in zip(columns, readers, row, strict=True)}
                for row in data["rows"]
            ]
            for start in range(0, len(rows), BATCH):
                connection.execute(insert(table), rows[start : start + BATCH])
            counts[table.name] = len(rows)
            if connection.dialect.name == "postgresql" and rows and "id" in table.columns:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )
    return DumpSummary(document["revision"], counts)
