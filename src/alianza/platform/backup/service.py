"""Dump the whole database to one file, and restore a dump into an empty database.

The file is gzip-compressed JSON: the migration revision and, per table, its columns and its rows
in primary-key order. Money travels as decimal strings, dates as ISO strings and timestamps as
ISO strings in UTC: nothing passes through a float or through a server's time zone.

A dump is
- one snapshot: every table is read in one read-only transaction that sees the database as of its
  first read (repeatable read on PostgreSQL; SQLite's one transaction is serializable), so the
  postings, their entries and the audit rows of a dump agree whoever writes meanwhile;
- written atomically and readable by its owner only (:func:`~.files.private_file`): a killed dump
  leaves the previous file as it was;
- deterministic: no time or file name in the gzip header, rows in key order; the same database
  gives the same bytes, so two backups compare with ``cmp`` and can be stored by content.

A restore checks everything before it writes. The file is read whole (a truncated or corrupted
file is refused), loaded into an in-memory SQLite database migrated to the dump's revision (every
table and column there, every value of its column's type, constraints and foreign keys hold),
migrated there to the head revision, and its ledger checked (each posting balances in one
currency, month-end snapshots equal their entries). Only then is it copied into the target, in
one transaction: a refused or killed restore leaves the target as it was.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Table,
    distinct,
    exists,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.exc import StatementError

from alianza.platform import metadata as all_tables
from alianza.platform.audit.service import jsonable
from alianza.platform.backup.files import private_file
from alianza.platform.backup.schema import reflect, revisions, scratch_engine, tables_at
from alianza.platform.db import check_migrated, head_revision, upgrade
from alianza.platform.errors import DatabaseNotMigrated, Refused
from alianza.platform.types import FixedDecimal, exact_decimal
from alianza.problems import Message

FORMAT = "alianza-dump"
FORMAT_VERSION = 1
BATCH = 2000

_json = partial(json.dumps, separators=(",", ":"))  # ASCII: every other character is escaped

Progress = Callable[[str], None]
"""Told each step of a long dump or restore ("writing table entries"), for a progress display."""


def _quiet(_step: str) -> None:
    pass


@dataclass(frozen=True)
class DumpSummary:
    """The revision of a dump and how many rows each table has in it."""

    revision: str
    rows: dict[str, int]


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one (SQLite keeps no offset) is UTC, the only zone alianza writes."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- dump -----------------------------------------------------------------------------------


def dump(engine: Engine, path: Path, progress: Progress = _quiet) -> DumpSummary:
    """Write every table of the database to ``path``, as one snapshot; the database is not changed.

    The database may be at any revision this alianza knows, so that it can be backed up before
    ``alianza db upgrade``.
    """
    with engine.connect() as connection, _snapshot(connection):
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision not in revisions():
            raise _not_dumpable(engine, revision)
        tables = tables_at(revision)
        with (
            private_file(Path(path)) as raw,
            # no file name and time 0 in the header: the same rows give the same bytes
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        ):
            counts = _write(connection, revision, tables, compressed, progress)
    return DumpSummary(revision, counts)


@contextmanager
def _snapshot(connection: Connection) -> Iterator[None]:
    """One read-only transaction that sees the database as of its first read."""
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield
    else:
        # SQLite: make_engine begins with BEGIN IMMEDIATE; writers wait until the dump ends
        with connection.begin():
            yield


def _not_dumpable(engine: Engine, revision: str | None) -> DatabaseNotMigrated:
    where = engine.url.render_as_string(hide_password=True)
    if revision is None:
        return DatabaseNotMigrated(
            f"The database {where} has no alianza tables: nothing to dump. "
            "Run `alianza db upgrade` to create them."
        )
    return DatabaseNotMigrated(
        f"The database {where} is at revision {revision}, which this alianza does not know "
        f"(it knows up to {head_revision()}): dump it with the newer alianza that migrated it."
    )


def _encoder(column_type: Any) -> Callable[[Any], Any]:
    if isinstance(column_type, DateTime):
        return lambda value: None if value is None else utc(value).isoformat()
    return jsonable


def _write(
    connection: Connection,
    revision: str,
    tables: tuple[Table, ...],
    out: gzip.GzipFile,
    progress: Progress,
) -> dict[str, int]:
    """Stream the document ``{"format", "version", "revision", "tables": {name: {"columns", "rows"}}}``."""
    head = {"format": FORMAT, "version": FORMAT_VERSION, "revision": revision}
    out.write(_json(head)[:-1].encode("ascii") + b',"tables":{')
    counts: dict[str, int] = {}
    for index, table in enumerate(tables):
        progress(f"reading table {table.name}")
        columns = [column.name for column in table.columns]
        encoders = [_encoder(column.type) for column in table.columns]
        opening = f'{_json(table.name)}:{{"columns":{_json(columns)},"rows":['
        out.write((("," if index else "") + opening).encode("ascii"))
        count = 0
        query = select(table).order_by(*_key(table)).execution_options(yield_per=BATCH)
        for partition in connection.execute(query).partitions():
            rows = [
                _json([encode(value) for encode, value in zip(encoders, row, strict=True)])
                for row in partition
            ]
            out.write(("," if count else "").encode("ascii") + ",".join(rows).encode("ascii"))
            count += len(rows)
        out.write(b"]}")
        counts[table.name] = count
    out.write(b"}}")
    return counts


def _key(table: Table) -> list[Any]:
    """The columns a table's rows are ordered by in a dump: its primary key (else every column)."""
    return list(table.primary_key.columns) or list(table.columns)


# --- reading and checking a dump --------------------------------------------------------------


def read(path: Path) -> dict[str, Any]:
    """The document in ``path``; a file that is not a whole, intact alianza dump is refused."""
    path = Path(path)
    try:
        compressed = path.read_bytes()
    except FileNotFoundError:
        raise Refused(Message("%(path)s: no such file", path=str(path))) from None
    except OSError as error:
        raise Refused(
            Message(
                "%(path)s: cannot be read (%(error)s)",
                path=str(path),
                error=str(error.strerror or error),
            )
        ) from None
    if not compressed:
        raise Refused(
            Message("%(path)s is empty (0 bytes): not an alianza dump", path=str(path)),
            rule="intact dump",
        )
    try:
        data = gzip.decompress(compressed)
    except EOFError:
        raise Refused(
            Message(
                "%(path)s is truncated: the compressed data stops before its end", path=str(path)
            ),
            rule="intact dump",
        ) from None
    except gzip.BadGzipFile as error:
        if "CRC" in str(error) or "length" in str(error):
            raise Refused(_corrupted(path, error), rule="intact dump") from None
        raise Refused(
            Message("%(path)s is not an alianza dump (not a gzip file)", path=str(path)),
            rule="intact dump",
        ) from None
    except zlib.error as error:
        raise Refused(_corrupted(path, error), rule="intact dump") from None
    try:
        document = json.loads(data)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise Refused(
            Message(
                "%(path)s is corrupted (not valid JSON: %(error)s)",
                path=str(path),
                error=str(error),
            ),
            rule="intact dump",
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Refused(
            Message(
                "%(path)s is not an alianza dump (no format '%(format)s')",
                path=str(path),
                format=FORMAT,
            ),
            rule="intact dump",
        )
    if document.get("version") != FORMAT_VERSION:
        raise Refused(
            Message(
                "%(path)s is an alianza dump of format version %(version)s; "
                "this alianza reads version %(readable)s",
                path=str(path),
                version=repr(document.get("version")),
                readable=FORMAT_VERSION,
            ),
            rule="intact dump",
        )
    revision = document.get("revision")
    if revision not in revisions():
        raise Refused(
            Message(
                "%(path)s is at revision %(revision)s, which this alianza does not know (it "
                "knows up to %(head)s): restore it with the newer alianza that wrote it",
                path=str(path),
                revision=repr(revision),
                head=head_revision(),
            ),
            rule="known revision",
        )
    if not isinstance(document.get("tables"), dict):
        raise Refused(
            Message("%(path)s is corrupted (no tables)", path=str(path)), rule="intact dump"
        )
    return document


def _corrupted(path: Path, error: BaseException) -> Message:
    return Message("%(path)s is corrupted (%(error)s)", path=str(path), error=str(error))


def verify(path: Path, progress: Progress = _quiet) -> DumpSummary:
    """Every check :func:`restore` makes, without a target: would this dump restore?"""
    progress(f"reading {path}")
    document = read(path)
    scratch = _load(document, progress)
    try:
        counts = _counts(scratch)
    finally:
        scratch.dispose()
    return DumpSummary(document["revision"], counts)


def _load(document: dict[str, Any], progress: Progress) -> Engine:
    """A scratch database holding the dump's rows, checked and migrated to the head revision."""
    revision = document["revision"]
    scratch = scratch_engine()
    try:
        upgrade(scratch, revision)
        tables = reflect(scratch)
        _check_tables(document["tables"], tables, revision)
        with scratch.begin() as connection:
            for table in tables:
                progress(f"checking table {table.name}")
                _load_table(connection, table, document["tables"][table.name])
        _check_foreign_keys(scratch)
        if revision != head_revision():
            progress(f"migrating from revision {revision} to {head_revision()}")
            try:
                upgrade(scratch)
            except Exception as error:  # a migration's own refusal of these rows
                raise Refused(
                    Message(
                        "migrating the dump from revision %(revision)s to %(head)s failed: "
                        "%(error)s",
                        revision=revision,
                        head=head_revision(),
                        error=one_line(error),
                    ),
                    rule="migrates",
                ) from None
            _check_schema(scratch)
        progress("checking the ledger")
        _check_ledger(scratch)
    except BaseException:
        scratch.dispose()
        raise
    return scratch


def _check_tables(given: dict[str, Any], tables: list[Table], revision: str) -> None:
    """Every table of the revision, with every column, and nothing else."""
    expected = [table.name for table in tables]
    missing = [name for name in expected if name not in given]
    if missing:
        raise Refused(
            Message(
                "the dump lacks table(s) %(tables)s of revision %(revision)s: it is incomplete",
                tables=", ".join(missing),
                revision=revision,
            ),
            rule="complete dump",
        )
    unknown = sorted(set(given) - set(expected))
    if unknown:
        raise Refused(
            Message(
                "the dump has table(s) %(tables)s, which revision %(revision)s does not have",
                tables=", ".join(unknown),
                revision=revision,
            ),
            rule="complete dump",
        )
    for table in tables:
        data = given[table.name]
        if not (
            isinstance(data, dict)
            and isinstance(data.get("columns"), list)
            and isinstance(data.get("rows"), list)
            and all(isinstance(name, str) for name in data["columns"])
        ):
            raise Refused(
                Message("table %(table)s: the dump has no columns and rows", table=table.name),
                rule="intact dump",
            )
        columns = data["columns"]
        names = [column.name for column in table.columns]
        missing = [name for name in names if name not in columns]
        if missing:
            raise Refused(
                Message(
                    "table %(table)s: the dump lacks column(s) %(columns)s: it is incomplete",
                    table=table.name,
                    columns=", ".join(missing),
                ),
                rule="complete dump",
            )
        unknown = [str(name) for name in columns if name not in names]
        if unknown:
            raise Refused(
                Message(
                    "table %(table)s: the dump has column(s) %(columns)s, "
                    "which revision %(revision)s does not have",
                    table=table.name,
                    columns=", ".join(unknown),
                    revision=revision,
                ),
                rule="complete dump",
            )
        if len(set(columns)) != len(columns):
            raise Refused(
                Message("table %(table)s: the dump repeats a column", table=table.name),
                rule="intact dump",
            )


def _reader(column_type: Any) -> Callable[[Any], Any]:
    """The column's value from its JSON form; a value of the wrong type raises ValueError."""

    def require(value: Any, *kinds: type, what: str) -> Any:
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise ValueError(f"{what} expected, found {value!r}")
        return value

    if isinstance(column_type, FixedDecimal):
        places = column_type.places
        return lambda v: exact_decimal(require(v, str, int, what="an exact decimal string"), places)
    if isinstance(column_type, DateTime):
        return lambda v: utc(datetime.fromisoformat(require(v, str, what="an ISO timestamp")))
    if isinstance(column_type, Date):
        return lambda v: date.fromisoformat(require(v, str, what="an ISO date"))
    if isinstance(column_type, Boolean):
        return lambda v: require(v, bool, what="true or false")
    if isinstance(column_type, Integer):
        return lambda v: require(v, int, what="an integer")
    if isinstance(column_type, Float):
        return lambda v: float(require(v, int, float, what="a number"))
    if isinstance(column_type, String):
        return lambda v: require(v, str, what="a string")
    if isinstance(column_type, JSON):
        return lambda v: v
    return lambda v: v


def _load_table(connection: Connection, table: Table, data: dict[str, Any]) -> None:
    columns = data["columns"]
    readers = [_reader(table.columns[name].type) for name in columns]
    rows = []
    for number, row in enumerate(data["rows"], start=1):
        if not isinstance(row, list):
            raise Refused(
                Message(
                    "table %(table)s, row %(number)s: no values for %(columns)s columns",
                    table=table.name,
                    number=number,
                    columns=len(columns),
                ),
                rule="intact dump",
            )
        if len(row) != len(columns):
            raise Refused(
                Message(
                    "table %(table)s, row %(number)s: %(values)s values for %(columns)s columns",
                    table=table.name,
                    number=number,
                    values=len(row),
                    columns=len(columns),
                ),
                rule="intact dump",
            )
        record = {}
        for name, read_value, value in zip(columns, readers, row, strict=True):
            try:
                record[name] = None if value is None else read_value(value)
            except (ValueError, TypeError) as error:
                raise Refused(
                    Message(
                        "table %(table)s, row %(number)s, column %(column)s: %(error)s",
                        table=table.name,
                        number=number,
                        column=name,
                        error=str(error),
                    ),
                    rule="intact dump",
                ) from None
        rows.append(record)
    for start in range(0, len(rows), BATCH):
        try:
            connection.execute(insert(table), rows[start : start + BATCH])
        except (StatementError, OverflowError) as error:  # OverflowError: an integer > 64 bits
            raise Refused(
                Message("table %(table)s: %(error)s", table=table.name, error=one_line(error)),
                rule="intact dump",
            ) from None


def _check_schema(scratch: Engine) -> None:
    """The migrations' head tables are the models' tables (else a restore would drop some)."""
    migrated = {table.name: {c.name for c in table.columns} for table in reflect(scratch)}
    modelled = {
        table.name: {c.name for c in table.columns} for table in all_tables.metadata.sorted_tables
    }
    if migrated != modelled:
        raise RuntimeError(
            f"the migrations' head schema differs from the models' (tables "
            f"{sorted(set(migrated) ^ set(modelled))}): add the missing migration"
        )


def _check_foreign_keys(scratch: Engine) -> None:
    """Every reference names an existing row (SQLite's own check, over the whole dump at once)."""
    with scratch.connect() as connection:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if not broken:
            return
        table, rowid, parent, key_id = broken[0]
        keys = {
            row[0]: row[3]
            for row in connection.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")')
        }
        column = keys[key_id]
        value = connection.exec_driver_sql(
            f'SELECT "{column}" FROM "{table}" WHERE rowid = ?', (rowid,)
        ).scalar()
    where = {"table": table, "rowid": rowid, "column": column, "value": value, "parent": parent}
    if len(broken) == 1:
        reason = Message(
            "table %(table)s, row id %(rowid)s: %(column)s %(value)s refers to no row of "
            "%(parent)s",
            **where,
        )
    elif len(broken) == 2:
        reason = Message(
            "table %(table)s, row id %(rowid)s: %(column)s %(value)s refers to no row of "
            "%(parent)s (and 1 more such row)",
            **where,
        )
    else:
        reason = Message(
            "table %(table)s, row id %(rowid)s: %(column)s %(value)s refers to no row of "
            "%(parent)s (and %(more)s more such rows)",
            **where,
            more=len(broken) - 1,
        )
    raise Refused(reason, rule="foreign key")


def _check_ledger(scratch: Engine) -> None:
    """Each posting has entries in one currency that sum to zero, dated as the posting; each
    month-end snapshot equals the sum of its account's entries up to its date."""
    tables = all_tables.metadata.tables
    postings, entries = tables["postings"], tables["entries"]
    accounts, snapshots = tables["accounts"], tables["balance_snapshots"]
    total = func.sum(entries.c.amount)
    with scratch.connect() as connection:
        unbalanced = connection.execute(
            select(entries.c.posting_id, total)
            .group_by(entries.c.posting_id)
            .having(total != 0)
            .order_by(entries.c.posting_id)
        ).first()
        if unbalanced:
            raise Refused(
                Message(
                    "the ledger does not balance: the entries of posting %(posting)s sum to "
                    "%(total)s, not zero",
                    posting=unbalanced[0],
                    total=unbalanced[1],
                ),
                rule="balanced posting",
            )
        empty = connection.scalar(
            select(postings.c.id)
            .where(~exists().where(entries.c.posting_id == postings.c.id))
            .order_by(postings.c.id)
        )
        if empty is not None:
            raise Refused(
                Message(
                    "the ledger does not balance: posting %(posting)s has no entries", posting=empty
                ),
                rule="balanced posting",
            )
        mixed = connection.scalar(
            select(entries.c.posting_id)
            .join(accounts, accounts.c.id == entries.c.account_id)
            .group_by(entries.c.posting_id)
            .having(func.count(distinct(accounts.c.currency)) > 1)
            .order_by(entries.c.posting_id)
        )
        if mixed is not None:
            raise Refused(
                Message(
                    "the ledger does not balance: posting %(posting)s mixes currencies",
                    posting=mixed,
                ),
                rule="one currency per posting",
            )
        misdated = connection.scalar(
            select(entries.c.posting_id)
            .join(postings, postings.c.id == entries.c.posting_id)
            .where(entries.c.posted_on != postings.c.posted_on)
            .order_by(entries.c.posting_id)
        )
        if misdated is not None:
            raise Refused(
                Message(
                    "the ledger is inconsistent: an entry of posting %(posting)s is not dated as "
                    "its posting",
                    posting=misdated,
                ),
                rule="entries dated as their posting",
            )
        to_date = (
            select(func.coalesce(total, 0))
            .where(
                entries.c.account_id == snapshots.c.account_id,
                entries.c.posted_on <= snapshots.c.as_of,
            )
            .scalar_subquery()
        )
        wrong = connection.execute(
            select(snapshots.c.account_id, snapshots.c.as_of, snapshots.c.balance)
            .where(snapshots.c.balance != to_date)
            .order_by(snapshots.c.id)
        ).first()
        if wrong:
            raise Refused(
                Message(
                    "the ledger is inconsistent: the balance snapshot of account %(account)s at "
                    "%(day)s (%(balance)s) is not the sum of its entries up to that date",
                    account=wrong[0],
                    day=wrong[1],
                    balance=wrong[2],
                ),
                rule="snapshots equal entries",
            )


def _counts(scratch: Engine) -> dict[str, int]:
    with scratch.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in all_tables.metadata.sorted_tables
        }


def one_line(error: BaseException) -> str:
    """A database error's own message, on one line (drivers add DETAIL and SQL lines)."""
    message = str(getattr(error, "orig", None) or error)
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


# --- restore --------------------------------------------------------------------------------


def restore(engine: Engine, path: Path, progress: Progress = _quiet) -> DumpSummary:
    """Load the dump in ``path`` into an empty database at the head revision; all or nothing.

    A dump of an earlier revision is loaded at its own revision and migrated to the head one
    before anything is written (``rows`` counts the rows restored, after that migration).
    """
    check_migrated(engine)
    with engine.connect() as connection:
        _check_empty(connection)  # fail fast; checked again in the writing transaction
    progress(f"reading {path}")
    document = read(path)
    scratch = _load(document, progress)
    try:
        counts = _copy(scratch, engine, progress)
    finally:
        scratch.dispose()
    return DumpSummary(document["revision"], counts)


def _check_empty(connection: Connection) -> None:
    for table in all_tables.metadata.sorted_tables:
        if connection.execute(select(literal(1)).select_from(table).limit(1)).first():
            raise Refused(
                Message("the database is not empty (table %(table)s has rows)", table=table.name),
                rule="empty target",
            )


def _copy(scratch: Engine, engine: Engine, progress: Progress) -> dict[str, int]:
    """Copy every table from the checked scratch database into the target, in one transaction."""
    counts: dict[str, int] = {}
    with scratch.connect() as source, engine.connect() as target, target.begin():
        _check_empty(target)
        for table in all_tables.metadata.sorted_tables:
            progress(f"writing table {table.name}")
            timestamps = [
                column.name for column in table.columns if isinstance(column.type, DateTime)
            ]
            count = 0
            query = select(table).order_by(*_key(table)).execution_options(yield_per=BATCH)
            for partition in source.execute(query).partitions():
                rows = [dict(row._mapping) for row in partition]
                for row in rows:  # SQLite gives naive UTC; PostgreSQL would read it in its own zone
                    for name in timestamps:
                        if row[name] is not None:
                            row[name] = utc(row[name])
                try:
                    target.execute(insert(table), rows)
                except StatementError as error:
                    raise Refused(
                        Message(
                            "table %(table)s: the database refused a row: %(error)s",
                            table=table.name,
                            error=one_line(error),
                        )
                    ) from None
                count += len(rows)
            counts[table.name] = count
            if target.dialect.name == "postgresql" and count and "id" in table.columns:
                target.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )
    return counts
