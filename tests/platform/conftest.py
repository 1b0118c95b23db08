"""Every platform test runs on SQLite and, when ALIANZA_TEST_DATABASE_URL reaches a PostgreSQL
server, on PostgreSQL too: a fresh database per test session, emptied between tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from alianza.platform import metadata as all_tables
from alianza.platform.db import Database
from alianza.platform.programmes.service import Actor, create_programme, create_user
from tests.postgres import Server


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated template database for this backend (the SQLite file each test copies, or a
    PG database of its own, a copy of the migrated template, emptied between tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{request.getfixturevalue('migrated_template')}"
        return
    postgres: Server = request.getfixturevalue("postgres")
    with postgres.database("alianza_test", request.getfixturevalue("postgres_migrated")) as url:
        yield url


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database for one test."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        copy = tmp_path / "test.db"
        shutil.copy(url.database, copy)
        db = Database(f"sqlite:///{copy}")
        yield db
        db.dispose()
        return
    db = Database(database_url)
    try:
        yield db
    finally:
        db.dispose()
        engine = create_engine(database_url)
        tables = ", ".join(table.name for table in all_tables.metadata.sorted_tables)
        with engine.begin() as connection:
            # TRUNCATE fires no row triggers, so the append-only tables can be emptied too.
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.sessions() as session:
        yield session
        session.rollback()


@pytest.fixture
def admin(session: Session) -> Actor:
    """An administrator of a fresh programme 'PA-HN' reporting in USD."""
    user = create_user(
        session, {"username": "ana", "display_name": "Ana", "password": "s3cret-pass"}
    )
    actor = create_programme(
        session, {"code": "PA-HN", "name": "Alianzas Honduras", "reporting_currency": "USD"}, user
    )
    session.commit()
    return actor
