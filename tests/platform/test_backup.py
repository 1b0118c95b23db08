from __future__ import annotations

import gzip
import importlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import Engine, make_url
from typer.testing import CliRunner

from alianza.cli.db import db_app
from alianza.platform import metadata as all_tables
from alianza.platform.agreements import service as agreements
from alianza.platform.audit.service import now
from alianza.platform.backup import service as backup
from alianza.platform.backup.schema import revisions
from alianza.platform.backup.service import dump, restore, utc
from alianza.platform.db import Database, current_revision, head_revision, make_engine, upgrade
from alianza.platform.errors import Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.programmes.service import Actor, act_as
from tests.platform.cycle_fixtures import AGREEMENT, build_world, counterpart_paid
from tests.platform.fixtures.make_dumps import fixture_path

TABLES = all_tables.metadata.tables
ALIANZA = Path(sys.executable).parent / "alianza"  # the installed command, run as a subprocess


def _document(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _write_document(path: Path, document: dict[str, Any]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(document, handle)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _empty_target(database: Database, backend: str, tmp_path: Path) -> str:
    """An empty migrated database: a new SQLite file, or the same PostgreSQL database truncated."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url
    tables = ", ".join(t.name for t in all_tables.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return _url(database.engine)


def _row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        counts = {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in all_tables.metadata.sorted_tables
        }
    engine.dispose()
    return counts


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in output, output
    return lines[0]


def test_dump_and_restore_round_trip(
    database: Database, backend: str, admin: Actor, tmp_path: Path
) -> None:
    world = build_world(admin)
    sub = counterpart_paid(world)
    agreement = agreements.sign_agreement(admin, sub.id, AGREEMENT)
    agreements.record_delivery(
        admin,
        agreement.id,
        {
            "delivered_on": date(2025, 6, 1),
            "quantity": "12.345",
            "grade": "A",
            "reference_price": "9.99",
        },
    )
    admin.session.commit()
    first = tmp_path / "first.alianza.gz"
    summary = dump(database.engine, first)
    assert summary.rows["entries"] > 0 and summary.rows["plan_versions"] == 1
    admin.session.close()

    url = _empty_target(database, backend, tmp_path)
    result = CliRunner().invoke(db_app, ["restore", str(first), "--url", url])
    assert result.exit_code == 0, result.output
    second = tmp_path / "second.alianza.gz"
    engine = make_engine(url)
    dump(engine, second)
    assert _document(first) == _document(second)
    assert first.read_bytes() == second.read_bytes()  # `cmp` says the two backups are the same

    with pytest.raises(Refused, match="not empty"):
        restore(engine, first)
    # the restored database works: new rows get fresh ids, balances are the same
    restored = Database(url)
    with restored.sessions() as session:
        actor = act_as(session, admin.user_id, admin.programme_id)
        po = ledger.find_account(actor, "po", "HNL", organization_id=world.po.id)
        assert po is not None
        posting = ledger.transfer(
            actor,
            {
                "kind": "grant_tranche",
                "from_account_id": world.funds.id,
                "to_account_id": po.id,
                "amount": "1.00",
                "posted_on": date(2025, 6, 2),
            },
        )
        session.commit()
        assert posting.id > summary.rows["postings"]
        assert ledger.totals_by_currency(actor) == {"HNL": 0}
    restored.dispose()
    engine.dispose()


def test_dump_cli_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        db_app, ["dump", str(tmp_path / "x.gz"), "--url", f"sqlite:///{tmp_path / 'n.db'}"]
    )
    assert result.exit_code == 2 and "alianza db upgrade" in result.output
    assert not (tmp_path / "x.gz").exists()


# --- one snapshot ---------------------------------------------------------------------------


def test_a_dump_is_one_snapshot_while_postings_are_written(
    database: Database, backend: str, admin: Actor, tmp_path: Path
) -> None:
    """Postings committed by another connection between the dump's reading of postings and of
    entries are in neither table of the dump (read committed put their entries in alone)."""
    world = build_world(admin)
    funder = ledger.find_account(admin, "funder", "HNL")
    assert funder is not None
    funder_id, funds_id = funder.id, world.funds.id
    admin.session.close()
    writer_database = Database(_url(database.engine))

    def write_postings() -> None:
        for day in range(1, 6):  # one committed posting (entries, audit row) at a time
            with writer_database.session() as session:
                actor = act_as(session, admin.user_id, admin.programme_id)
                ledger.transfer(
                    actor,
                    {
                        "kind": "funding",
                        "from_account_id": funder_id,
                        "to_account_id": funds_id,
                        "amount": "5.00",
                        "posted_on": date(2025, 2, day),
                    },
                )

    writer = threading.Thread(target=write_postings)

    def between_tables(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if re.search(r"\bFROM entries\b", statement) and not writer.ident:
            writer.start()
            if backend == "postgresql":
                writer.join()  # they commit while the dump runs; SQLite's writer waits for the dump
                assert not writer.is_alive()

    event.listen(database.engine, "before_cursor_execute", between_tables)
    path = tmp_path / "during-writes.alianza.gz"
    try:
        dump(database.engine, path)
    finally:
        event.remove(database.engine, "before_cursor_execute", between_tables)
        writer.join()
        writer_database.dispose()
    assert _row_counts(_url(database.engine))["postings"] == 6  # the writer's postings are in

    tables = _document(path)["tables"]
    postings = {row[0] for row in tables["postings"]["rows"]}
    entries = tables["entries"]
    posting_of = entries["columns"].index("posting_id")
    assert postings == {1} and {row[posting_of] for row in entries["rows"]} == postings
    audit = tables["audit_entries"]
    action = audit["columns"].index("action")
    assert sum(row[action] == "post" for row in audit["rows"]) == len(postings)
    url = _empty_target(database, backend, tmp_path)
    assert restore(make_engine(url), path).rows["postings"] == 1


# --- atomic, private, deterministic -----------------------------------------------------------


def test_a_failed_dump_leaves_the_previous_one(
    database: Database, admin: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = tmp_path / "backup.alianza.gz"
    dump(database.engine, previous)
    assert stat.S_IMODE(previous.stat().st_mode) == 0o600  # readable by its owner only
    before = previous.read_bytes()
    build_world(admin)

    def fail_half_way(connection: Any, revision: str, tables: Any, out: Any, progress: Any) -> None:
        out.write(b"x" * 100_000)
        raise RuntimeError("killed half-way")

    monkeypatch.setattr(backup, "_write", fail_half_way)
    with pytest.raises(RuntimeError):
        dump(database.engine, previous)
    assert previous.read_bytes() == before
    assert (
        sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    )  # no temporary left


def test_a_dump_over_a_readable_file_makes_it_private(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "backup.alianza.gz"
    path.write_text("an old, world-readable file")
    path.chmod(0o644)
    dump(database.engine, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_same_database_gives_the_same_bytes(
    database: Database, admin: Actor, tmp_path: Path
) -> None:
    build_world(admin)
    first, second = tmp_path / "a" / "monday.alianza.gz", tmp_path / "b" / "tuesday.gz"
    first.parent.mkdir()
    second.parent.mkdir()
    dump(database.engine, first)
    time.sleep(1.1)  # a gzip header with the time would differ now
    dump(database.engine, second)
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert data[4:8] == b"\0\0\0\0" and not data[3] & 0x08  # gzip header: no time, no file name


# --- restore refuses damaged dumps, and changes nothing ----------------------------------------


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flipped(path: Path) -> None:
    """One byte of the gzip trailer's CRC changed: what a bad disk sector or copy does to the data."""
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF
    path.write_bytes(bytes(data))


def _edited(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        document = _document(path)
        change(document)
        _write_document(path, document)

    return edit


def _drop_table(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["tables"].pop(name)


def _drop_column(table: str, column: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        data = document["tables"][table]
        index = data["columns"].index(column)
        data["columns"].pop(index)
        for row in data["rows"]:
            row.pop(index)

    return change


def _set(table: str, column: str, value: Any, row: int = 0) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        data = document["tables"][table]
        data["rows"][row][data["columns"].index(column)] = value

    return change


def _set_revision(document: dict[str, Any]) -> None:
    document["revision"] = "9999"


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (_truncated, "is truncated"),
    "corrupted": (_flipped, "is corrupted"),
    "empty": (lambda path: path.write_bytes(b""), "is empty"),
    "not a dump": (lambda path: path.write_text("id,name\n1,Ana\n"), "is not an alianza dump"),
    "lost a table": (_edited(_drop_table("entries")), "lacks table(s) entries"),
    "lost a column": (
        _edited(_drop_column("entries", "amount")),
        "table entries: the dump lacks column(s) amount",
    ),
    "broken foreign key": (
        _edited(_set("entries", "posting_id", 9999)),
        "posting_id 9999 refers to no row of postings",
    ),
    "unbalanced ledger": (
        _edited(_set("entries", "amount", "1.00")),
        "the ledger does not balance",
    ),
    "wrong type": (
        _edited(_set("entries", "amount", 1.5)),
        "column amount: an exact decimal string expected",
    ),
    "duplicate key": (
        _edited(lambda d: d["tables"]["users"]["rows"].append(d["tables"]["users"]["rows"][0])),
        "table users: UNIQUE constraint failed",
    ),
    "newer revision": (_edited(_set_revision), "which this alianza does not know"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_restore_refuses_a_damaged_dump_and_changes_nothing(
    database: Database, backend: str, tmp_path: Path, damage: str
) -> None:
    spoil, message = DAMAGES[damage]
    path = tmp_path / "damaged.alianza.gz"
    path.write_bytes(fixture_path(head_revision()).read_bytes())
    spoil(path)
    url = _empty_target(database, backend, tmp_path)
    result = CliRunner().invoke(db_app, ["restore", str(path), "--url", url])
    assert result.exit_code == 2, result.output
    assert message in _one_error_line(result.output)
    assert not any(_row_counts(url).values())
    verified = CliRunner().invoke(db_app, ["verify", str(path)])
    assert verified.exit_code == 2 and message in _one_error_line(verified.output)


def test_restore_refuses_a_database_that_is_not_empty(
    database: Database, admin: Actor, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        db_app, ["restore", str(fixture_path(head_revision())), "--url", _url(database.engine)]
    )
    assert result.exit_code == 2 and "not empty" in _one_error_line(result.output)
    assert _row_counts(_url(database.engine))["users"] == 1


def test_bad_file_arguments_get_one_line_and_exit_2(database: Database, tmp_path: Path) -> None:
    url = _url(database.engine)
    missing = CliRunner().invoke(db_app, ["restore", str(tmp_path / "nowhere.gz"), "--url", url])
    assert missing.exit_code == 2 and "no such file" in _one_error_line(missing.output)
    folder = CliRunner().invoke(db_app, ["dump", str(tmp_path / "no" / "folder.gz"), "--url", url])
    assert folder.exit_code == 2 and "cannot write" in _one_error_line(folder.output)
    nonsense = CliRunner().invoke(db_app, ["dump", str(tmp_path / "x.gz"), "--url", "not a url"])
    assert nonsense.exit_code == 2 and "not a database URL" in _one_error_line(nonsense.output)


# --- dumps of older revisions -----------------------------------------------------------------


def test_every_revision_has_a_fixture() -> None:
    """The head's too: it is an earlier revision as soon as the next migration is added."""
    missing = [revision for revision in revisions() if not fixture_path(revision).exists()]
    assert not missing, f"run `python -m tests.platform.fixtures.make_dumps` to add {missing}"


def _migrated(table: str, column: str, value: Any) -> Any:
    """A value as the migrations after its revision rewrite it (0005 renamed the roles)."""
    if (table, column) == ("roles", "role"):
        access = importlib.import_module("alianza.platform.migrations.versions.0005_access")
        return access.RENAMED_ROLES.get(value, value)
    return value


@pytest.mark.parametrize("revision", revisions()[:-1])
def test_a_dump_of_an_earlier_revision_restores(
    database: Database, backend: str, tmp_path: Path, revision: str
) -> None:
    """Loaded at its own revision, migrated to head: every row and value of the old dump is there."""
    old = fixture_path(revision)
    url = _empty_target(database, backend, tmp_path)
    result = CliRunner().invoke(db_app, ["restore", str(old), "--url", url])
    assert result.exit_code == 0, result.output
    assert f"revision {revision}, migrated to {head_revision()}" in result.output
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    now_dump = tmp_path / "now.alianza.gz"
    dump(engine, now_dump)
    engine.dispose()
    before, after = _document(old)["tables"], _document(now_dump)["tables"]
    for name, data in before.items():
        if name not in after:
            continue  # a table a later migration replaced
        columns = [c for c in data["columns"] if c in after[name]["columns"]]
        kept = [
            [_migrated(name, c, dict(zip(data["columns"], row, strict=True))[c]) for c in columns]
            for row in data["rows"]
        ]
        now_rows = [
            [dict(zip(after[name]["columns"], row, strict=True))[c] for c in columns]
            for row in after[name]["rows"]
        ]
        assert now_rows == kept, name
    assert sum(len(data["rows"]) for data in before.values()) > 50
    verified = CliRunner().invoke(db_app, ["verify", str(old)])
    assert verified.exit_code == 0 and f"revision {revision}" in verified.output, verified.output


def test_a_database_at_an_earlier_revision_can_be_backed_up_before_its_upgrade(
    tmp_path: Path,
) -> None:
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(old_url)
    upgrade(old, revisions()[0])
    with old.begin() as connection:  # a user, as the first revision's alianza wrote one
        connection.exec_driver_sql(
            "INSERT INTO users (id, username, display_name, password_hash, created_at) "
            "VALUES (1, 'ana', 'Ana', 'x', '2025-01-02 03:04:05.000000')"
        )
    path = tmp_path / "before-upgrade.alianza.gz"
    result = CliRunner().invoke(db_app, ["dump", str(path), "--url", old_url])
    assert result.exit_code == 0 and f"revision {revisions()[0]}" in result.output, result.output
    assert _document(path)["tables"]["users"]["rows"][0][-1] == "2025-01-02T03:04:05+00:00"
    target = f"sqlite:///{tmp_path / 'new.db'}"
    upgrade(make_engine(target))
    restored = CliRunner().invoke(db_app, ["restore", str(path), "--url", target])
    assert restored.exit_code == 0, restored.output
    assert _row_counts(target)["users"] == 1


# --- timestamps -------------------------------------------------------------------------------

TEGUCIGALPA = "America/Tegucigalpa"  # UTC-6, no summer time


def _engine_in_tegucigalpa(url: str) -> Engine:
    """An engine whose PostgreSQL sessions run in Tegucigalpa's time zone (SQLite has none)."""
    if make_url(url).get_backend_name() == "postgresql":
        return make_engine(url, connect_args={"options": f"-c TimeZone={TEGUCIGALPA}"})
    return make_engine(url)


def test_timestamps_are_the_same_instants_whatever_the_server_time_zone(
    database: Database, backend: str, admin: Actor, tmp_path: Path
) -> None:
    url = _url(database.engine)
    programmes = TABLES["programmes"]
    created_at = [c.name for c in programmes.columns].index("created_at")
    with database.engine.connect() as connection:
        created = utc(connection.scalar(select(programmes.c.created_at)))
    engine = _engine_in_tegucigalpa(url)
    if backend == "postgresql":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW TimeZone").scalar() == TEGUCIGALPA
    path = tmp_path / "tegucigalpa.alianza.gz"
    dump(engine, path)
    engine.dispose()
    assert _document(path)["tables"]["programmes"]["rows"][0][created_at] == created.isoformat()
    assert created.isoformat().endswith("+00:00")
    admin.session.close()

    # a dump restored in Tegucigalpa holds the same instants, and dumps to the same bytes
    fixture = fixture_path(head_revision())
    expected = _document(fixture)["tables"]["programmes"]["rows"][0][created_at]
    target = _empty_target(database, backend, tmp_path)
    engine = _engine_in_tegucigalpa(target)
    restore(engine, fixture)
    with make_engine(target).connect() as connection:
        assert utc(connection.scalar(select(programmes.c.created_at))).isoformat() == expected
    again = tmp_path / "again.alianza.gz"
    dump(engine, again)
    assert again.read_bytes() == fixture.read_bytes()

    # naive timestamps (what SQLite databases gave before they were written in UTC) are UTC
    naive = _document(fixture)
    for data in naive["tables"].values():
        for row in data["rows"]:
            for index, value in enumerate(row):
                if isinstance(value, str) and value.endswith("+00:00"):
                    row[index] = value.removesuffix("+00:00")
    naive_path = tmp_path / "naive.alianza.gz"
    _write_document(naive_path, naive)
    engine.dispose()
    (tmp_path / "naive").mkdir()
    target = _empty_target(database, backend, tmp_path / "naive")
    engine = _engine_in_tegucigalpa(target)
    restore(engine, naive_path)
    with make_engine(target).connect() as connection:
        assert utc(connection.scalar(select(programmes.c.created_at))).isoformat() == expected
    engine.dispose()


# --- killed dumps and restores ------------------------------------------------------------------


def _add_audit_rows(database: Database, admin: Actor, count: int) -> None:
    """Enough rows for a dump or a restore to take a while (to be killed half-way)."""
    rows = [
        {
            "programme_id": admin.programme_id,
            "user_id": admin.user_id,
            "at": now(),
            "action": "note",
            "entity": "programmes",
            "entity_id": admin.programme_id,
            "before": None,
            "after": {"note": f"row {i}: " + "a long enough note " * 4},
        }
        for i in range(count)
    ]
    with database.engine.begin() as connection:
        connection.execute(insert(TABLES["audit_entries"]), rows)


def _kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, (
            f"{what} ended (code {process.returncode}) before it could be killed"
        )
        assert time.monotonic() < deadline, f"{what} never started"
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def _no_other_transaction(url: str) -> None:
    """Wait for PostgreSQL to notice the killed client and roll its transaction back."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    deadline = time.monotonic() + 30
    with engine.connect() as connection:
        while connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    engine.dispose()


def test_a_killed_dump_leaves_the_database_and_the_previous_backup(
    database: Database, admin: Actor, tmp_path: Path
) -> None:
    _add_audit_rows(database, admin, 10_000)
    admin.session.close()
    url = _url(database.engine)
    previous = tmp_path / "backup.alianza.gz"
    dump(database.engine, previous)
    before = previous.read_bytes()

    process = subprocess.Popen(
        [str(ALIANZA), "db", "dump", str(previous), "--url", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def temporaries() -> list[Path]:
        return [p for p in tmp_path.glob(".backup.alianza.gz.*.tmp") if p.stat().st_size > 0]

    _kill_when(process, lambda: bool(temporaries()), "the dump")
    assert previous.read_bytes() == before
    assert temporaries()  # what a killed dump leaves: its hidden temporary, never a broken backup
    _no_other_transaction(url)
    again = tmp_path / "again.alianza.gz"
    dump(database.engine, again)
    assert again.read_bytes() == before  # the database is as it was


def test_a_killed_restore_leaves_the_database_as_it_was(
    database: Database, backend: str, admin: Actor, tmp_path: Path
) -> None:
    _add_audit_rows(database, admin, 10_000)
    admin.session.close()
    backup_file = tmp_path / "backup.alianza.gz"
    dump(database.engine, backup_file)
    before = backup_file.read_bytes()
    url = _empty_target(database, backend, tmp_path)

    if backend == "sqlite":
        journal = tmp_path / "restored.db-journal"
        writing = lambda: journal.exists() and journal.stat().st_size > 0  # noqa: E731
    else:
        watcher = create_engine(url, isolation_level="AUTOCOMMIT")

        def writing() -> bool:
            with watcher.connect() as connection:
                return bool(
                    connection.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                        )
                    )
                )

    process = subprocess.Popen(
        [str(ALIANZA), "db", "restore", str(backup_file), "--url", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _kill_when(process, writing, "the restore")
    if backend == "postgresql":
        watcher.dispose()
    _no_other_transaction(url)
    assert backup_file.read_bytes() == before
    assert current_revision(make_engine(url)) == head_revision()
    assert not any(_row_counts(url).values())  # the half-written restore is gone

    result = CliRunner().invoke(db_app, ["restore", str(backup_file), "--url", url])
    assert result.exit_code == 0, result.output
    again = tmp_path / "again.alianza.gz"
    dump(make_engine(url), again)
    assert again.read_bytes() == before


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_exports_are_readable_by_their_owner_only(
    admin: Actor, tmp_path: Path, suffix: str
) -> None:
    from alianza.platform.registry.exporter import export_farmers

    build_world(admin)
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / f"farmers{suffix}"
    assert export_farmers(admin, path) == 12
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temporary left behind
