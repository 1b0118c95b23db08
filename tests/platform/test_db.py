from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from alianza.platform.db import Database, current_revision, database_url, head_revision, make_engine
from alianza.platform.errors import DatabaseNotMigrated
from alianza.platform.ledger.service import open_account, transfer
from alianza.platform.programmes.service import Actor
from alianza.settings import get_settings


def test_default_database_is_a_sqlite_file_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The settings are read once a process: clear them around each change of the environment.
    monkeypatch.delenv("ALIANZA_DATABASE_URL", raising=False)
    monkeypatch.setenv("ALIANZA_DATA_DIR", str(tmp_path))
    try:
        get_settings.cache_clear()
        assert database_url() == f"sqlite:///{tmp_path / 'alianza.db'}"
        monkeypatch.setenv("ALIANZA_DATABASE_URL", "postgresql+psycopg://x@h/db")
        get_settings.cache_clear()
        assert database_url() == "postgresql+psycopg://x@h/db"
    finally:
        get_settings.cache_clear()


def test_unmigrated_database_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(DatabaseNotMigrated, match="alianza db upgrade"):
        Database(f"sqlite:///{tmp_path / 'new.db'}")


def test_migrated_database_is_at_head(database: Database) -> None:
    assert current_revision(database.engine) == head_revision()


def test_migrations_ship_inside_the_package() -> None:
    migrations = resources.files("alianza.platform") / "migrations"
    assert (migrations / "env.py").is_file()
    assert (migrations / "script.py.mako").is_file()
    assert any(p.name.startswith("0001_") for p in (migrations / "versions").iterdir())


def test_ledger_and_audit_rows_cannot_be_edited_even_in_sql(
    database: Database, admin: Actor
) -> None:
    funder = open_account(admin, {"kind": "funder", "name": "World Bank", "currency": "HNL"})
    funds = open_account(admin, {"kind": "project_funds", "name": "Project", "currency": "HNL"})
    transfer(
        admin,
        {
            "kind": "funding",
            "from_account_id": funder.id,
            "to_account_id": funds.id,
            "amount": "100.00",
            "posted_on": date(2025, 1, 1),
        },
    )
    admin.session.commit()
    for statement in (
        "UPDATE entries SET amount = 0",
        "DELETE FROM postings",
        "DELETE FROM audit_entries",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with database.engine.begin() as connection:
                connection.execute(text(statement))


def test_sqlite_keeps_money_exact(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrations_go_down_and_up_again(tmp_path: Path) -> None:
    from alembic import command

    from alianza.platform.db import alembic_config, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'updown.db'}")
    upgrade(engine)
    command.downgrade(alembic_config(engine), "base")
    assert current_revision(engine) is None
    with engine.connect() as connection:
        names = (
            connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")
            .scalars()
            .all()
        )
    assert set(names) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_database_from_a_newer_alianza_is_refused_with_that_reason(tmp_path: Path) -> None:
    from alianza.platform.db import upgrade

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(DatabaseNotMigrated, match="newer alianza; upgrade alianza"):
        Database(url)
    with pytest.raises(DatabaseNotMigrated, match="is at revision 0001"):
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        engine.dispose()
        Database(url)


def _a_programme(session: Any) -> tuple[Any, Actor]:
    from alianza.platform.programmes.service import create_programme, create_user

    user = create_user(session, {"username": "ana", "display_name": "Ana", "password": "password1"})
    actor = create_programme(
        session, {"code": "PA", "name": "PA", "reporting_currency": "USD"}, user
    )
    return user, actor


def _down_and_up_again(
    engine: Any,
    url: str,
    revision: str,
    model: Any,
    column: str,
    said: Callable[[Any], str],
    english: str,
) -> None:
    """Down to ``revision``: the parts column gone, the row's English text kept; up again: no
    parts, the text shown as it is (plain, not a Message)."""
    from alembic import command
    from sqlalchemy import inspect

    from alianza.platform.db import alembic_config, upgrade
    from alianza.problems import Message

    table = model.__tablename__
    command.downgrade(alembic_config(engine), revision)
    assert f"{column}_parts" not in {c["name"] for c in inspect(engine).get_columns(table)}
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT {column} FROM {table}")).scalar_one() == english
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    database = Database(url)
    try:
        with database.sessions() as session:
            (kept,) = session.query(model).all()
            assert getattr(kept, f"{column}_parts") is None
            assert said(kept) == english  # as it is: plain text
            assert not isinstance(said(kept), Message)
    finally:
        database.dispose()


def test_the_job_messages_migration_keeps_every_jobs_text(tmp_path: Path) -> None:
    """0011 adds the message's parts: a job of 0010 keeps its text (shown as it is), and going
    back to 0010 keeps the English text of a job written as a Message."""
    from alianza.platform.db import upgrade
    from alianza.platform.jobs.models import Job, JobKind, JobState
    from alianza.problems import Message

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = make_engine(url)
    upgrade(engine)
    database = Database(url)
    with database.session() as session:
        user, actor = _a_programme(session)
        job = Job(
            programme_id=actor.programme_id,
            kind=JobKind.SIMULATION,
            state=JobState.CANCELLED,
            parameters={},
            progress_done=0,
            progress_total=10,
            created_by=user.id,
            created_at=datetime.now(UTC),
        )
        job.translatable_message = Message("cancelled")
        session.add(job)
    database.dispose()
    _down_and_up_again(
        engine, url, "0010", Job, "message", lambda job: job.translatable_message, "cancelled"
    )


def test_the_state_change_notes_migration_keeps_every_notes_text(tmp_path: Path) -> None:
    """0012 adds a note's parts: a move of 0011 keeps its note (shown as it is), and going back
    to 0011 keeps the English text of a note written as a Message."""
    from alianza.platform.db import upgrade
    from alianza.platform.subprojects.models import StateChange
    from alianza.problems import Message
    from tests.platform.cycle_fixtures import build_world, profile

    url = f"sqlite:///{tmp_path / 'notes.db'}"
    engine = make_engine(url)
    upgrade(engine)
    database = Database(url)
    with database.session() as session:
        _, actor = _a_programme(session)
        world = build_world(actor)
        sub = profile(world)
        change = session.query(StateChange).filter_by(subproject_id=sub.id).one()
        change.translatable_note = Message("plan version %(version)s", version=2)
    database.dispose()
    _down_and_up_again(
        engine,
        url,
        "0011",
        StateChange,
        "note",
        lambda change: change.translatable_note,
        "plan version 2",
    )
