from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from alianza.cli.db import db_app
from alianza.platform import metadata as all_tables
from alianza.platform.agreements import service as agreements
from alianza.platform.backup.service import dump, restore
from alianza.platform.db import Database, make_engine, upgrade
from alianza.platform.errors import Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.programmes.service import Actor, act_as
from tests.platform.cycle_fixtures import AGREEMENT, build_world, counterpart_paid


def _document(path: Path) -> dict[str, object]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


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
    return database.engine.url.render_as_string(hide_password=False)


def test_dump_and_restore_round_trip(database: Database, backend: str, admin: Actor, tmp_path: Path) -> None:
    world = build_world(admin)
    sub = counterpart_paid(world)
    agreement = agreements.sign_agreement(admin, sub.id, AGREEMENT)
    agreements.record_delivery(admin, agreement.id, {"delivered_on": date(2025, 6, 1), "quantity": "12.345",
                                                     "grade": "A", "reference_price": "9.99"})
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

    with pytest.raises(Refused, match="not empty"):
        restore(engine, first)
    # the restored database works: new rows get fresh ids, balances are the same
    restored = Database(url)
    with restored.sessions() as session:
        actor = act_as(session, admin.user_id, admin.programme_id)
        po = ledger.find_account(actor, "po", "HNL", organization_id=world.po.id)
        assert po is not None
        posting = ledger.transfer(actor, {"kind": "grant_tranche", "from_account_id": world.funds.id,
                                          "to_account_id": po.id, "amount": "1.00",
                                          "posted_on": date(2025, 6, 2)})
        session.commit()
        assert posting.id > summary.rows["postings"]
        assert ledger.totals_by_currency(actor) == {"HNL": 0}
    restored.dispose()
    engine.dispose()


def test_dump_cli_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(db_app, ["dump", str(tmp_path / "x.gz"), "--url", f"sqlite:///{tmp_path / 'n.db'}"])
    assert result.exit_code == 2 and "alianza db upgrade" in result.output
