"""Storage: where the database is, how to connect, and the migration check.

``ALIANZA_DATABASE_URL`` picks the database (``postgresql+psycopg://...`` for PostgreSQL); unset,
a SQLite file ``alianza.db`` in the data directory (``ALIANZA_DATA_DIR``, else
``$XDG_DATA_HOME/alianza``, else ``~/.local/share/alianza``). Both come from
:func:`alianza.settings.get_settings`, the one reader of the environment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from alianza.platform.errors import DatabaseNotMigrated
from alianza.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every platform table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def data_dir() -> Path:
    """The directory for alianza's files (the default SQLite database lives here)."""
    return get_settings().directory


def database_url() -> str:
    """``ALIANZA_DATABASE_URL``, or a SQLite file in :func:`data_dir`."""
    return get_settings().database_url


def make_engine(url: str | None = None, **options: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, a busy timeout and write-locking BEGIN."""
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, **options)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-check-write (the no-overdraft rule,
        # a state transition) cannot interleave with another writer on SQLite.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


# --- migrations -----------------------------------------------------------------------------

MIGRATIONS = "alianza.platform:migrations"


def _config() -> Config:
    """An Alembic configuration pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


@cache
def _scripts() -> ScriptDirectory:
    """The migration scripts, read once a process (they ship with the code)."""
    return ScriptDirectory.from_config(_config())


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for the migrations shipped inside the package."""
    config = _config()
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The migration revision this code expects."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def _known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def check_migrated(engine: Engine) -> None:
    """Refuse to work on a database that is not at :func:`head_revision`."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        if current is not None and current not in _known_revisions():
            raise DatabaseNotMigrated(
                f"The database {where} is at revision {current}, which this alianza does not know "
                f"(it expects {head}): the database was migrated by a newer alianza; upgrade alianza."
            )
        state = "has no alianza tables" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"The database {where} {state}; this alianza expects revision {head}. "
            "Run `alianza db upgrade` first."
        )


class Database:
    """An engine and its session factory, checked to be migrated."""

    def __init__(self, url: str | None = None, **options: Any) -> None:
        self.engine = make_engine(url, **options)
        check_migrated(self.engine)
        self.sessions = make_session_factory(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


# --- bulk writes ----------------------------------------------------------------------------


def new_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` ids for new rows of ``table`` (an integer primary key ``id``), so that a bulk
    insert can name its rows' ids instead of asking them back (an INSERT ... RETURNING of
    thousands of rows costs more in the driver than the insert itself).

    PostgreSQL: drawn from the table's sequence. SQLite: the ids after the largest, which no
    other writer can take meanwhile (a write transaction holds the database's write lock)."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        drawn = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        ).scalars()
        return [int(value) for value in drawn]
    largest = session.execute(select(func.max(table.c.id))).scalar()
    first = int(largest or 0) + 1
    return list(range(first, first + count))


COPY_FROM = 50  # rows from which a PostgreSQL bulk insert goes through COPY


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts naming the same columns) into ``table`` in the session's
    transaction: on PostgreSQL with COPY (several times faster than an executemany of
    thousands of rows), the values converted by the columns' own types, as an INSERT would
    (exact money checked, JSON serialised); elsewhere with one executemany."""
    if not rows:
        return
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    converters = [
        # psycopg adapts JSON values itself in an INSERT; COPY takes their text
        json.dumps if isinstance(column.type, JSON) else column.type.bind_processor(bind.dialect)
        for column in columns
    ]
    listed = ", ".join(f'"{name}"' for name in names)
    raw: Any = session.connection().connection.dbapi_connection  # psycopg's connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({listed}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    value if convert is None or value is None else convert(value)
                    for convert, value in zip(
                        converters, (row[name] for name in names), strict=True
                    )
                ]
            )


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` (:func:`bulk_insert`), each with an id from
    :func:`new_ids` (set in the row dicts too); returns the ids in order."""
    ids = new_ids(session, table, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    bulk_insert(session, table, rows)
    return ids
