"""The tables at each migration revision, and scratch databases to load and migrate dumps in.

A dump records the revision it was taken at. Its tables are the models' tables when that is the
head revision, else the tables the migrations create up to that revision, read back from an
in-memory SQLite database migrated to it (money columns, declared NUMERIC by the migrations, are
read as :class:`FixedDecimal`, as everywhere in alianza).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Numeric, Table, create_engine, event
from sqlalchemy.pool import StaticPool

from alianza.platform import metadata as all_tables
from alianza.platform.db import MIGRATIONS, head_revision, upgrade
from alianza.platform.types import FixedDecimal

VERSION_TABLE = "alembic_version"


@cache
def revisions() -> tuple[str, ...]:
    """Every migration revision this alianza ships, oldest first."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    scripts = ScriptDirectory.from_config(config)
    return tuple(reversed([script.revision for script in scripts.walk_revisions()]))


def scratch_engine() -> Engine:
    """An empty in-memory SQLite database: one connection, foreign keys checked only on demand.

    Foreign keys are off so that a dump's rows load in any order (self-references, a migration
    that rebuilds a referenced table); ``PRAGMA foreign_key_check`` then names every broken one.
    Nothing of the dump touches the disk.
    """
    engine = create_engine("sqlite://", poolclass=StaticPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below issues BEGIN itself
        dbapi_connection.execute("PRAGMA foreign_keys = OFF")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def reflect(engine: Engine) -> list[Table]:
    """The tables of ``engine``'s database in dependency order, with alianza's generic types."""
    reflected = MetaData()
    reflected.reflect(engine)
    tables = []
    for table in reflected.sorted_tables:
        if table.name == VERSION_TABLE:
            continue
        for column in table.columns:
            generic = column.type.as_generic()
            if isinstance(generic, Numeric):
                # every NUMERIC column of alianza is an exact decimal (see alianza.platform.types)
                column.type = FixedDecimal(generic.scale or 0, generic.precision or 18)
            else:
                column.type = generic
        tables.append(table)
    return tables


@cache
def tables_at(revision: str) -> tuple[Table, ...]:
    """The tables a database at ``revision`` holds, in the order a dump lists (and loads) them."""
    if revision == head_revision():
        return tuple(all_tables.metadata.sorted_tables)
    engine = scratch_engine()
    try:
        upgrade(engine, revision)
        return tuple(reflect(engine))
    finally:
        engine.dispose()
