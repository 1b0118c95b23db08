"""Every platform test runs on SQLite and, when ALIANZA_TEST_DATABASE_URL reaches a PostgreSQL
server, on PostgreSQL too: a fresh database per test session, emptied between tests."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from alianza.platform import metadata as all_tables
from alianza.platform.db import Database, make_engine, upgrade
from alianza.platform.programmes.service import Actor, create_programme, create_user


def _postgres_admin_url() -> str | None:
    return os.environ.get("ALIANZA_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated template database for this backend (SQLite file, or a fresh PG database)."""
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        yield f"sqlite:///{template}"
        return
    admin_url = _postgres_admin_url()
    if admin_url is None:
        pytest.skip("ALIANZA_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    name = f"alianza_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        admin.dispose()
        if os.environ.get("CI"):  # CI promises a server: not reaching it is a failure, not a skip
            pytest.fail(f"PostgreSQL at ALIANZA_TEST_DATABASE_URL unreachable in CI: {error}")
        pytest.skip(f"PostgreSQL at ALIANZA_TEST_DATABASE_URL unreachable: {error}")
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
