"""`alianza graduation ready`, `clusters` and `register` on the platform tests' programme
(tests/platform/test_graduation.py): Chimbiya 0 and Mayani 0 ready, 0.5 km apart."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from alianza.cli import app
from alianza.platform.db import Database
from alianza.platform.programmes.service import create_programme, create_user, grant_role
from alianza.platform.registry.models import Membership, Organization
from tests.platform.mi_fixtures import build_mi_world
from tests.platform.test_graduation import _record

CRITERIA = ["--min-grade-share", "0.5", "--seasons", "2", "--min-delivered", "2",
            "--as-of", "2025-06-30"]  # fmt: skip
RULES = ["--radius-km", "1", "--min-farmers", "2", "--min-cluster-volume", "300"]


def test_ready_clusters_and_register_through_the_alianza_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--url", url]).exit_code == 0
    database = Database(url)
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "Ana", "password": "password1"}
        )
        admin = create_programme(
            session, {"code": "MI-MW", "name": "MI", "reporting_currency": "USD"}, user
        )
        session.commit()
        mi = build_mi_world(session, admin, farmers=2)
        manager = create_user(
            session, {"username": "gestora", "display_name": "G", "password": "password1"}
        )
        grant_role(admin, manager.id, {"role": "programme_manager"})
        for farmer in mi.farmers:
            farmer.latitude, farmer.longitude = -14.30, 34.30
        for farmer in mi.other_farmers:
            farmer.latitude, farmer.longitude = -14.30 + 0.5 / 111.195, 34.30
        c0, c1 = mi.farmers
        m0, _ = mi.other_farmers
        _record(mi, c0, date(2025, 2, 10), "200", "A")
        _record(mi, c0, date(2025, 5, 10), "200", "B")
        _record(mi, c1, date(2025, 5, 10), "100", "A")
        _record(mi, m0, date(2025, 1, 10), "150", "A")
        _record(mi, m0, date(2025, 4, 10), "150", "A")
        ready_ids = sorted([c0.id, m0.id])
        unready = c1.id
    database.dispose()
    common = ["--programme", "MI-MW", "--url", url, *CRITERIA]

    listed = CliRunner().invoke(app, ["graduation", "ready", "--as", "gestora", *common,
                                      "--format", "json"])  # fmt: skip
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.output)
    assert (body["ready"], body["farmers"], body["unit"]) == (2, 4, "kg")
    why = {r["farmer_id"]: r["reasons"] for r in body["items"]}
    assert why[unready] == "volume 50.000 kg/season < 150; seasons delivered 1 < 2"
    own = CliRunner().invoke(
        app, ["graduation", "ready", "--as", "agro", *common, "--format", "csv", "--only", "ready"]
    )
    assert own.exit_code == 0, own.output
    assert [int(r["farmer_id"]) for r in csv.DictReader(io.StringIO(own.output))] == [c0.id]
    table = CliRunner().invoke(app, ["graduation", "ready", "--as", "gestora", *common])
    assert table.exit_code == 0 and "2 of 4 farmers ready" in table.output

    proposed = CliRunner().invoke(
        app, ["graduation", "clusters", "--as", "gestora", *common, *RULES, "--format", "json"]
    )
    assert proposed.exit_code == 0, proposed.output
    assert [c["farmer_ids"] for c in json.loads(proposed.output)["items"]] == [ready_ids]

    register = ["graduation", "register", "--as", "gestora", "--name", "Linthipe Growers",
                *common, *RULES]  # fmt: skip
    refused = CliRunner().invoke(
        app, [*register, "--farmers", ",".join(map(str, [*ready_ids, unready]))]
    )
    assert refused.exit_code == 2 and "--farmers: not every farmer is ready" in refused.output
    forbidden = CliRunner().invoke(
        app, [*register, "--as", "agro", "--farmers", ",".join(map(str, ready_ids))]
    )
    assert forbidden.exit_code == 2 and "graduation.register" in forbidden.output
    done = CliRunner().invoke(app, [*register, "--farmers", ",".join(map(str, ready_ids))])
    assert done.exit_code == 0, done.output
    assert "registered with 2 members" in done.output
    database = Database(url)
    with database.session() as session:
        po = session.scalar(select(Organization).where(Organization.name == "Linthipe Growers"))
        assert po is not None and po.kind == "producer_organization"
        members = session.scalars(
            select(Membership.farmer_id).where(Membership.organization_id == po.id)
        )
        assert sorted(members) == ready_ids
    database.dispose()
    bad = CliRunner().invoke(app, ["graduation", "ready", "--as", "gestora", *common,
                                   "--format", "xml"])  # fmt: skip
    assert bad.exit_code == 2 and "--format" in bad.output
