"""Graduation on the database: readiness figures against a hand-worked programme, the scope
of an agronomist, clusters, and registering a cluster as a producer organization in one
step (audited; a refusal writes nothing)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alianza.platform.access import Actor, act_as
from alianza.platform.audit.models import AuditEntry
from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.platform.fieldrecords import service as field
from alianza.platform.graduation import service as graduation
from alianza.platform.graduation.clusters import haversine_km
from alianza.platform.programmes.service import create_user, grant_role
from alianza.platform.registry.models import Membership, Organization
from tests.platform.mi_fixtures import MIWorld, build_mi_world, sale

# The window: the last two quarters up to 2025-06-30 (Q1 and Q2 2025).
CRITERIA = {
    "product": "vegetables",
    "min_volume_per_season": "150",
    "grades": ["A"],
    "min_grade_share": "0.5",
    "seasons": 2,
    "min_seasons_delivered": 2,
    "as_of": "2025-06-30",
}
RULES = {"radius_km": "1", "min_farmers": 2, "min_volume_per_season": "300"}


def _record(mi: MIWorld, farmer: Any, day: date, kg: str, grade: str, sold: bool = True) -> None:
    common = {"farmer_id": farmer.id, "kit_code": "drip_bed", "quantity": kg, "grade": grade}
    field.record_harvest(mi.admin, common | {"harvested_on": day})
    if sold:
        field.record_produce_sale(
            mi.admin,
            common | {"sold_on": day, "unit_price": "250", "buyer": "market"},
            "MWK",
        )


@pytest.fixture
def mi(session: Session, admin: Actor) -> MIWorld:
    """Chimbiya's four farmers and Mayani's two, 0.5 km apart, with these records:

    - Chimbiya 0: 200 kg A (Feb), 200 kg B (May), both sold: 200 kg/season, share A 0.5,
      2 seasons delivered, a kit bought in March: ready;
    - Chimbiya 1: 100 kg A (May), sold: 50 kg/season, 1 season delivered;
    - Chimbiya 2: 300 kg B (Feb), 300 kg B (May), sold: 300 kg/season, share 0;
    - Chimbiya 3: 400 kg A in 2024 (outside the window) and nothing since;
    - Mayani 0: 150 kg A (Jan), 150 kg A (Apr), sold: ready, 150 kg/season exactly;
    - Mayani 1: 500 kg A (Mar), harvested but not sold in Q2 (1 season delivered).
    """
    world = build_mi_world(session, admin, farmers=4)
    c0, c1, c2, c3 = world.farmers
    m0, m1 = world.other_farmers
    for farmer in world.farmers:
        farmer.latitude, farmer.longitude = -14.30, 34.30
    for farmer in world.other_farmers:
        farmer.latitude, farmer.longitude = -14.30 + 0.5 / 111.195, 34.30
    _record(world, c0, date(2025, 2, 10), "200", "A")
    _record(world, c0, date(2025, 5, 10), "200", "B")
    _record(world, c1, date(2025, 5, 10), "100", "A")
    _record(world, c2, date(2025, 2, 10), "300", "B")
    _record(world, c2, date(2025, 5, 10), "300", "B")
    _record(world, c3, date(2024, 8, 10), "400", "A")
    _record(world, m0, date(2025, 1, 10), "150", "A")
    _record(world, m0, date(2025, 4, 10), "150", "A")
    _record(world, m1, date(2025, 3, 10), "500", "A")
    sale(world, c0)
    session.commit()
    return world


def _by_name(found: graduation.Assessment) -> dict[str, graduation.FarmerReadiness]:
    return {f.name: f for f in found.farmers}


def test_readiness_against_the_hand_worked_figures(mi: MIWorld) -> None:
    found = graduation.assess(mi.admin, CRITERIA)
    assert (found.unit, found.kit_codes) == ("kg", ["drip_bed", "drip_beds_3"])
    assert found.window_start == date(2025, 1, 1)
    rows = _by_name(found)
    c0 = rows["Chimbiya farmer 0"]
    assert (c0.volume_per_season, c0.grade_share, c0.seasons_delivered) == (
        Decimal("200.000"),
        Decimal("0.5000"),
        2,
    )
    assert c0.seasons_as_client == 2 and c0.ready and c0.reasons == []
    assert rows["Chimbiya farmer 1"].reasons == [
        "volume 50.000 kg/season < 150",
        "seasons delivered 1 < 2",
    ]
    assert rows["Chimbiya farmer 2"].reasons == ["grade share 0.0000 < 0.5"]
    assert rows["Chimbiya farmer 3"].reasons == [
        "volume 0.000 kg/season < 150",
        "grade share 0.0000 < 0.5",
        "seasons delivered 0 < 2",
    ]
    assert rows["Mayani farmer 0"].ready  # 150 kg/season meets a minimum of 150 exactly
    assert rows["Mayani farmer 1"].reasons == ["seasons delivered 1 < 2"]
    assert {n for n, f in rows.items() if f.ready} == {"Chimbiya farmer 0", "Mayani farmer 0"}
    assert found.counts() == {"volume": (4, 2), "grade": (4, 2), "deliveries": (3, 3)}
    # a minimum of seasons as a client: only Chimbiya 0 bought a kit
    client = graduation.assess(mi.admin, CRITERIA | {"min_seasons_as_client": 1})
    assert [f.name for f in client.farmers if f.ready] == ["Chimbiya farmer 0"]
    assert _by_name(client)["Mayani farmer 0"].reasons == ["seasons as a client 0 < 1"]


def test_the_window_defaults_to_the_latest_record(mi: MIWorld) -> None:
    found = graduation.assess(mi.admin, CRITERIA | {"as_of": None})
    assert found.as_of == date(2025, 5, 10)
    page, whole = graduation.readiness(mi.admin, CRITERIA, status="ready", limit=1)
    assert page.total == 2 and len(page.items) == 1 and whole.ready_count == 2
    village = graduation.readiness(mi.admin, CRITERIA, village_id=mi.other_village.id)[0]
    assert {f.name for f in village.items} == {"Mayani farmer 0", "Mayani farmer 1"}


def test_an_agronomist_sees_only_their_villages(mi: MIWorld) -> None:
    found = graduation.assess(mi.agronomist_actor, CRITERIA)
    assert {f.village_id for f in found.farmers} == {mi.village.id}
    assert len(found.farmers) == 4
    alone = RULES | {"min_farmers": 1, "min_volume_per_season": "0"}
    proposals, _ = graduation.clusters(mi.agronomist_actor, CRITERIA, alone)
    assert [p.farmer_ids for p in proposals] == [[mi.farmers[0].id]]
    with pytest.raises(Forbidden):
        graduation.register_cluster(
            mi.agronomist_actor, {"name": "X", "farmer_ids": [mi.farmers[0].id]}
        )


def test_clusters_join_nearby_villages(mi: MIWorld, session: Session) -> None:
    proposals, _ = graduation.clusters(mi.admin, CRITERIA, RULES)
    assert len(proposals) == 1
    (proposal,) = proposals
    assert proposal.farmer_ids == sorted([mi.farmers[0].id, mi.other_farmers[0].id])
    assert [v for v, _ in proposal.villages] == sorted([mi.village.id, mi.other_village.id])
    assert proposal.volume_per_season == Decimal("350.000")
    assert proposal.grades == {"A": Decimal("250.000"), "B": Decimal("100.000")}
    assert proposal.place_id == mi.village.parent_id  # the EPA holds both villages
    assert proposal.suggested_name.endswith("Producers' Organization")
    assert haversine_km(-14.30, 34.30, -14.30 + 0.5 / 111.195, 34.30) < 1
    apart = graduation.clusters(mi.admin, CRITERIA, RULES | {"radius_km": "0.4"})[0]
    assert apart == []  # each village alone falls short of two farmers
    more = graduation.clusters(mi.admin, CRITERIA, RULES | {"min_volume_per_season": "351"})[0]
    assert more == []


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Organization)) or 0,
        session.scalar(select(func.count()).select_from(Membership)) or 0,
        session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
    )


def _manager(session: Session, mi: MIWorld) -> Actor:
    user = create_user(
        session, {"username": "gestora", "display_name": "Gestora", "password": "password1"}
    )
    grant_role(mi.admin, user.id, {"role": "programme_manager"})
    return act_as(session, user.id, mi.admin.programme_id)


def test_registering_a_cluster_is_one_audited_step(mi: MIWorld, session: Session) -> None:
    manager = _manager(session, mi)
    (proposal,) = graduation.clusters(manager, CRITERIA, RULES)[0]
    before = _counts(session)
    body = {
        "name": "Linthipe Growers",
        "farmer_ids": proposal.farmer_ids,
        "criteria": CRITERIA,
        "rules": RULES,
    }
    registered = graduation.register_cluster(manager, body)
    session.commit()
    po = registered.organization
    assert (po.kind, po.name, po.place_id) == (
        "producer_organization",
        "Linthipe Growers",
        mi.village.parent_id,
    )
    members = session.scalars(select(Membership).where(Membership.organization_id == po.id))
    assert sorted((m.farmer_id, m.joined_on) for m in members) == [
        (f, date.today()) for f in proposal.farmer_ids
    ]
    after = _counts(session)
    assert after[0] - before[0] == 1 and after[1] - before[1] == 2
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.id > before[2])))
    assert sorted(e.action for e in entries) == ["create", "create", "create", "register_cluster"]
    assert all(e.user_id == manager.user_id for e in entries)
    summary = next(e for e in entries if e.action == "register_cluster").after
    assert summary["farmer_ids"] == proposal.farmer_ids and summary["criteria"]["seasons"] == 2
    # they are graduated now: no longer proposed, and a second registration is refused
    assert graduation.clusters(manager, CRITERIA, RULES)[0] == []
    with pytest.raises(Refused, match="already members of a producer organization"):
        graduation.register_cluster(manager, body | {"name": "Again"})


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"farmer_ids": "add_unready"}, Refused, "no longer ready|not every farmer is ready"),
        ({"farmer_ids": "add_unknown"}, NotFound, "no farmer"),
        ({"rules": RULES | {"min_farmers": 3}}, Refused, "fewer than the 3"),
        ({"rules": RULES | {"radius_km": "0.1"}}, Refused, "within 0.1 km"),
        ({"rules": RULES | {"min_volume_per_season": "400"}}, Refused, "less than the 400"),
        ({"criteria": CRITERIA | {"product": "rice"}}, Refused, "neither a product nor a kit"),
        ({"name": "   "}, Invalid, "name"),
        ({"name": "Chimbiya VSLA-like", "farmer_ids": []}, Invalid, "farmer_ids"),
    ],
)
def test_a_refused_registration_writes_nothing(
    mi: MIWorld, session: Session, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    manager = _manager(session, mi)
    ids = [mi.farmers[0].id, mi.other_farmers[0].id]
    if change.get("farmer_ids") == "add_unready":
        change = {"farmer_ids": [*ids, mi.farmers[1].id]}
    elif change.get("farmer_ids") == "add_unknown":
        change = {"farmer_ids": [*ids, 999999]}
    session.commit()
    before = _counts(session)
    body = {"name": "Linthipe Growers", "farmer_ids": ids, "criteria": CRITERIA, "rules": RULES}
    with pytest.raises(error, match=message):
        graduation.register_cluster(manager, body | change)
    session.rollback()
    assert _counts(session) == before


def test_a_name_in_use_is_refused_before_anything_is_written(mi: MIWorld, session: Session) -> None:
    manager = _manager(session, mi)
    graduation.register_cluster(
        manager,
        {"name": "Taken", "farmer_ids": [mi.other_farmers[0].id], "criteria": CRITERIA,
         "rules": RULES | {"min_farmers": 1, "min_volume_per_season": "0"}},
    )  # fmt: skip
    session.commit()
    before = _counts(session)
    with pytest.raises(Refused, match="registered already"):
        graduation.register_cluster(
            manager,
            {"name": "Taken", "farmer_ids": [mi.farmers[0].id], "criteria": CRITERIA,
             "rules": RULES | {"min_farmers": 1, "min_volume_per_season": "0"}},
        )  # fmt: skip
    session.rollback()
    assert _counts(session) == before


def test_the_default_criteria_find_some_demo_farmers_ready(session: Session) -> None:
    """On the demo's simulated records (DEMO-MI, a small draw) the defaults find some farmers
    ready, not all, not none; and the agronomist's figures are their villages' share."""
    from alianza.platform.demo.microinvesting import seed_micro_investing
    from alianza.platform.programmes.service import user_by_username

    summary = seed_micro_investing(session, seed=1, farmers=600)
    session.commit()
    coordinator = act_as(
        session, user_by_username(session, "coordinadora").id, summary.programme_id
    )
    found = graduation.assess(coordinator)
    assert len(found.farmers) == 600
    assert 0.05 * 600 < found.ready_count < 0.5 * 600, found.ready_count
    agronomist = act_as(session, user_by_username(session, "agronomo").id, summary.programme_id)
    own = graduation.assess(agronomist)
    assert 0 < len(own.farmers) < len(found.farmers)
    whole = {f.farmer_id: f.ready for f in found.farmers}
    assert all(whole[f.farmer_id] == f.ready for f in own.farmers)
