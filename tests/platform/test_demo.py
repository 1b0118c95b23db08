from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alianza.platform.agreements.service import alerts
from alianza.platform.db import Database, make_engine, upgrade
from alianza.platform.demo.service import TODAY, seed_demo
from alianza.platform.errors import Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.programmes.service import act_as
from alianza.platform.registry.models import Farmer
from alianza.platform.subprojects.models import Subproject
from alianza.platform.subprojects.states import STATES

SMALL = (26, 32)


def fingerprint(session: Session, programme_id: int) -> str:
    actor = act_as(session, 1, programme_id)
    digest = hashlib.sha256()
    for farmer in session.scalars(select(Farmer).order_by(Farmer.id)):
        digest.update(
            f"{farmer.name}|{farmer.birth_year}|{farmer.phone}|{farmer.land_hectares}".encode()
        )
    for row in ledger.balances(actor, TODAY):
        digest.update(f"{row.name}|{row.balance}".encode())
    for sub in session.scalars(select(Subproject).order_by(Subproject.id)):
        digest.update(f"{sub.title}|{sub.state}".encode())
    return digest.hexdigest()


def test_demo_programme_is_complete_and_sound(session: Session) -> None:
    summary = seed_demo(session, seed=7, members_per_po=SMALL, mi_farmers=300)
    session.commit()
    assert set(summary.states) == set(STATES)
    assert summary.counts["producer_organizations"] == 40 and summary.counts["buyers"] == 8
    actor = act_as(session, 1, summary.programme_id)
    assert set(ledger.totals_by_currency(actor).values()) == {0}
    kinds = {a.kind for a in alerts(actor, TODAY)}
    assert kinds == {"side_selling", "buyer_default"}
    with pytest.raises(Refused, match="exists already"):
        seed_demo(session, seed=7)


def test_same_seed_same_programme(tmp_path: Path) -> None:
    prints = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        database = Database(url)
        with database.session() as session:
            summary = seed_demo(session, seed=3, members_per_po=SMALL, mi_farmers=200)
        with database.sessions() as session:
            prints.append(fingerprint(session, summary.programme_id))
        database.dispose()
    assert prints[0] == prints[1]
    assert date(2025, 6, 30) == TODAY


def test_the_micro_investing_demo_has_growth_parked_payments_and_scoped_users(
    session: Session,
) -> None:
    from sqlalchemy import func

    from alianza.platform.demo.microinvesting import PROGRAMME_CODE as MI
    from alianza.platform.demo.microinvesting import TODAY as MI_TODAY
    from alianza.platform.kits import service as kits
    from alianza.platform.kits.models import KitSale
    from alianza.platform.payments import service as payments
    from alianza.platform.programmes.models import Programme, User
    from alianza.platform.rollout import service as rollout

    summary = seed_demo(session, seed=5, members_per_po=SMALL, mi_farmers=400)
    session.commit()
    assert summary.counts["micro investing: farmers"] == 400
    assert summary.counts["micro investing: agronomists"] == 12
    assert summary.counts["micro investing: groups"] == 200
    programme = session.scalar(select(Programme).where(Programme.code == MI))
    coordinator = session.scalar(select(User).where(User.username == "coordinadora"))
    admin = act_as(session, coordinator.id, programme.id)
    assert set(ledger.totals_by_currency(admin).values()) == {0}
    assert payments.parked(admin).total == 4
    phases = {place.name: area.phase for area, place in rollout.areas(admin)}
    assert phases["Dedza"] == "growth" and phases["Ntcheu"] == "launch"
    # a few climb fast, many slowly, some stop: the purchases per farmer spread out
    per_farmer = [
        n for (n,) in session.execute(
            select(func.count(KitSale.id)).where(KitSale.programme_id == programme.id).group_by(KitSale.farmer_id)
        )
    ]  # fmt: skip
    assert min(per_farmer) == 1 and max(per_farmer) >= 8 and len(set(per_farmer)) >= 4
    agronomo = session.scalar(select(User).where(User.username == "agronomo"))
    seller = act_as(session, agronomo.id, programme.id)
    own = {s.village_id for s in kits.sales(seller, limit=1000).items}
    assert own and own <= seller.scope.place_ids
    proveedor = session.scalar(select(User).where(User.username == "proveedor"))
    supplier = act_as(session, proveedor.id, programme.id)
    assert {s.supplier_id for s in kits.stock(supplier)} == {supplier.scope.organization_id}
    assert {u.username for u in summary.users} >= {"agronomo", "proveedor"}
    assert MI_TODAY.year == 2025
