"""Shared by every test: the settings are read afresh for each test, so that a test that sets
an ALIANZA_* variable (monkeypatch.setenv) is seen by the code it calls; and the migrated
template databases, made once per session (SQLite: a file each test copies; PostgreSQL: a
template for ``CREATE DATABASE ... TEMPLATE``, see tests/postgres.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alianza.platform.db import make_engine, upgrade
from alianza.settings import get_settings
from tests.postgres import Server, reach

# A Rich console made with COLUMNS set keeps that width for good: the CLI's consoles, made when
# their module is first imported, would keep the width of whichever test imported it first (or
# of the test runner's worker), not the one each test gives its command.
for _variable in ("COLUMNS", "LINES"):
    os.environ.pop(_variable, None)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once; tests copy it, never write to it."""
    template = tmp_path_factory.mktemp("migrated-db") / "template.db"
    migrate(f"sqlite:///{template}")
    return template


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """The PostgreSQL server of ALIANZA_TEST_DATABASE_URL (skipped without; failed in CI)."""
    server = reach()
    yield server
    server.dispose()


@pytest.fixture(scope="session")
def postgres_migrated(postgres: Server) -> Iterator[str]:
    """The URL of a migrated PostgreSQL template database, made once per session."""
    with postgres.template("alianza_migrated", migrate) as url:
        yield url
