"""PostgreSQL for the tests, at ALIANZA_TEST_DATABASE_URL: template databases, migrated or
seeded too, each made once per test session, and fresh databases copied from them with
``CREATE DATABASE ... TEMPLATE`` (a file copy: far faster than migrating and seeding again).

Where the variable is unset or the server unreachable, a test that needs it skips with the
reason; under CI (CI set), which promises a server, it fails."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


class Server:
    """The server behind an administrator's URL: it makes and drops the tests' databases."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        # CREATE and DROP DATABASE refuse to run inside a transaction.
        self.admin = create_engine(
            admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )

    def execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    @contextmanager
    def database(self, prefix: str, template: str | None = None) -> Iterator[str]:
        """A new database, empty or a copy of the database at URL ``template``; yields its URL
        and drops it on exit."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        copied = f' TEMPLATE "{make_url(template).database}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{copied}')
        try:
            yield make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextmanager
    def template(
        self, prefix: str, fill: Callable[[str], None], parent: str | None = None
    ) -> Iterator[str]:
        """A database to copy from: ``parent``'s copy (or an empty database) filled by
        ``fill(url)``, which disposes of its engines: PostgreSQL copies a template only while
        no one is connected to it."""
        with self.database(prefix, parent) as url:
            fill(url)
            yield url

    def dispose(self) -> None:
        self.admin.dispose()


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):  # CI promises a server: not reaching it is a failure, not a skip
        pytest.fail(f"{reason} (in CI)")
    pytest.skip(f"{reason}: PostgreSQL tests skipped")


def reach() -> Server:
    """The server at ALIANZA_TEST_DATABASE_URL, or the test skipped (failed under CI)."""
    admin_url = os.environ.get("ALIANZA_TEST_DATABASE_URL")
    if not admin_url:
        _unavailable("ALIANZA_TEST_DATABASE_URL is not set")
    server = Server(admin_url)
    try:
        server.execute("SELECT 1")
    except Exception as error:  # a refused connection, a bad host or URL: all say why
        server.dispose()
        _unavailable(f"PostgreSQL at ALIANZA_TEST_DATABASE_URL unreachable: {error}")
    return server
