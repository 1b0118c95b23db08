"""Roles, permissions and scopes: a row outside an actor's scope is never returned, listed or
counted, by any table or any service function that lists or counts; and each role may do what
its permissions say, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from alianza.platform import metadata as all_tables
from alianza.platform.access import (
    ROLE_PERMISSIONS,
    RULES,
    Actor,
    Permission,
    Role,
    act_as,
    get,
    scoped,
)
from alianza.platform.agreements import service as agreements
from alianza.platform.audit import service as audit
from alianza.platform.calls.service import calls, open_call
from alianza.platform.errors import Forbidden, NotFound, Refused
from alianza.platform.fieldrecords import service as field
from alianza.platform.fieldrecords.records import field_records
from alianza.platform.graduation import service as graduation
from alianza.platform.kits import service as kits
from alianza.platform.ledger import service as ledger
from alianza.platform.payments import service as mobile_payments
from alianza.platform.portfolio import service as portfolio
from alianza.platform.programmes.service import (
    create_user,
    grant_role,
    programmes_with_roles,
    set_exchange_rate,
)
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Farmer, Organization
from alianza.platform.rollout import performance, team
from alianza.platform.rollout import service as rollout
from alianza.platform.subprojects import service as cycle
from alianza.platform.subprojects.models import Subproject
from tests.platform.cycle_fixtures import AGREEMENT, example_plan
from tests.platform.mi_fixtures import PRICES, catalogue_document

# Tables every role of the programme sees whole: geography, calls, rates and bookkeeping.
SHARED = {
    "places",
    "markets",
    "calls",
    "exchange_rates",
    "snapshot_dates",
    "balance_snapshots",
    "roles",
    "role_places",
    "programmes",
    "users",
    # Micro Investing's plan: the rollout and the kit catalogue
    "rollout_areas",
    "rollout_phase_changes",
    "rollout_milestones",
    "kit_catalogues",
    "kit_prices",
}
# Tables that are not the programme's data (sign-in machinery), never read through scoped().
NOT_SCOPED = {"user_sessions", "api_tokens", "sign_in_attempts", "alembic_version"}


@dataclass
class Alliance:
    district: Any
    po: Organization
    buyer: Organization
    lender: Organization
    subproject: Subproject
    agreement_id: int
    farmer_ids: list[int]
    supplier: Organization | None = None


def _alliance(admin: Actor, country_id: int, name: str) -> Alliance:
    district = registry.add_place(
        admin, {"kind": "district", "name": name, "parent_id": country_id}
    )
    village = registry.add_place(
        admin,
        {
            "kind": "village",
            "name": f"{name} village",
            "parent_id": registry.add_place(
                admin, {"kind": "municipality", "name": f"{name} town", "parent_id": district.id}
            ).id,
        },
    )
    po = registry.add_organization(
        admin, {"kind": "producer_organization", "name": f"Coop {name}", "place_id": village.id}
    )
    buyer = registry.add_organization(admin, {"kind": "buyer", "name": f"Buyer {name}"})
    lender = registry.add_organization(
        admin, {"kind": "financial_institution", "name": f"Bank {name}"}
    )
    farmer_ids = []
    for i in range(12):
        farmer = registry.add_farmer(
            admin,
            {
                "name": f"{name} member {i}",
                "sex": "female" if i % 2 else "male",
                "birth_year": 1985 + i,
                "household_size": 4,
                "land_hectares": "1.0",
                "village_id": village.id,
                "phone": f"9{len(name) % 10}{i:06d}",
            },
        )
        registry.add_membership(admin, {"farmer_id": farmer.id, "organization_id": po.id})
        farmer_ids.append(farmer.id)
    return Alliance(district, po, buyer, lender, None, 0, farmer_ids)  # type: ignore[arg-type]


def _through_the_cycle(
    admin: Actor, alliance: Alliance, call_id: int, funds_id: int, members_id: int
) -> None:
    sub = cycle.submit_profile(
        admin,
        {
            "call_id": call_id,
            "organization_id": alliance.po.id,
            "buyer_id": alliance.buyer.id,
            "lender_id": alliance.lender.id,
            "title": f"Alliance of {alliance.po.name}",
            "value_chain": "vegetables",
            "families": 10,
            "buyer_letter_of_interest": True,
            "submitted_on": date(2025, 2, 1),
        },
    )
    cycle.check_eligibility(admin, sub.id, date(2025, 2, 10))
    cycle.submit_plan(admin, sub.id, {"plan": example_plan()}, date(2025, 3, 1))
    cycle.start_evaluation(admin, sub.id, date(2025, 3, 5))
    cycle.score(admin, sub.id, "market", 80)
    cycle.decide(admin, sub.id, "approved", date(2025, 4, 1))
    cycle.record_counterpart(admin, sub.id, "cash", members_id, "6000.00", date(2025, 4, 10))
    cycle.record_counterpart(admin, sub.id, "in_kind", members_id, "2000.00", date(2025, 4, 10))
    cycle.confirm_counterpart_paid(admin, sub.id, date(2025, 4, 11))
    cycle.schedule_tranches(admin, sub.id, [{"amount": "13000.00", "milestone": "all of it"}])
    agreement = agreements.sign_agreement(admin, sub.id, AGREEMENT)
    cycle.release_tranche(admin, sub.id, 1, funds_id, date(2025, 5, 2))
    agreements.record_delivery(
        admin,
        agreement.id,
        {
            "delivered_on": date(2025, 5, 10),
            "quantity": "100",
            "grade": "A",
            "reference_price": "9.00",
        },
    )
    agreements.record_payment(admin, agreement.id, "500.00", date(2025, 5, 20))
    alliance.subproject, alliance.agreement_id = sub, agreement.id


def _micro_investing(admin: Actor, alliance: Alliance, catalogue_id: int) -> None:
    """Micro Investing rows in an alliance's district: a supplier with stock, an agronomist,
    sales (cash, mobile money paid and pending), field records, payments matched and parked."""
    name = alliance.district.name
    village_id = alliance.po.place_id
    assert village_id is not None
    kits.set_prices(
        admin,
        catalogue_id,
        {
            "district_id": alliance.district.id,
            "currency": "HNL",
            "prices": [{"kit_code": k, "price": v} for k, v in PRICES.items()],
        },
    )
    supplier = registry.add_organization(
        admin, {"kind": "supplier", "name": f"Supplier {name}", "place_id": alliance.district.id}
    )
    alliance.supplier = supplier
    kits.receive_stock(
        admin,
        {"supplier_id": supplier.id, "district_id": alliance.district.id, "kit_code": "drip_bed",
         "quantity": 20},
    )  # fmt: skip
    agronomist = team.add_agronomist(
        admin,
        {"name": f"Agronomist {name}", "district_id": alliance.district.id,
         "village_ids": [village_id], "commission_rate": "0.05"},
    )  # fmt: skip
    team.add_lead_farmer(admin, {"farmer_id": alliance.farmer_ids[0], "since": date(2025, 1, 1)})
    sold = []
    for n, method in enumerate(("cash", "mobile_money", "mobile_money")):
        sold.append(
            kits.record_sale(
                admin,
                {
                    "farmer_id": alliance.farmer_ids[n],
                    "kit_code": "drip_bed",
                    "method": method,
                    "sold_on": date(2025, 3, 1),
                    "supplier_id": supplier.id,
                    "agronomist_id": agronomist.id,
                },
            )  # fmt: skip
        )
    field.record_visit(
        admin,
        {
            "village_id": village_id,
            "organization_id": alliance.po.id,
            "visited_on": date(2025, 3, 2),
        },
    )
    field.record_harvest(
        admin,
        {"farmer_id": alliance.farmer_ids[0], "kit_code": "drip_bed",
         "harvested_on": date(2025, 5, 1), "quantity": "50"},
    )  # fmt: skip
    field.record_produce_sale(
        admin,
        {"farmer_id": alliance.farmer_ids[0], "kit_code": "drip_bed", "sold_on": date(2025, 5, 2),
         "quantity": "50", "unit_price": "10", "buyer": "market"},
        "HNL",
    )  # fmt: skip
    intake = mobile_payments.intake_actor(admin.session, "PA-HN")
    at = "2025-03-03T10:00:00+00:00"
    mobile_payments.receive(
        intake,
        {"provider": "tigo", "transaction_id": f"{name}-paid", "amount": str(sold[1].amount),
         "currency": "HNL", "reference": sold[1].reference, "paid_at": at},
    )  # fmt: skip
    farmer = admin.session.get(Farmer, alliance.farmer_ids[2])
    mobile_payments.receive(  # the farmer's phone, the wrong amount: parked, but theirs
        intake,
        {"provider": "tigo", "transaction_id": f"{name}-parked", "amount": "1.00",
         "currency": "HNL", "phone": farmer.phone, "paid_at": at},
    )  # fmt: skip


@dataclass
class World:
    admin: Actor
    one: Alliance
    two: Alliance
    actors: dict[str, Actor]
    second_ids: dict[str, set[int]]  # table -> ids of the rows that belong to alliance two only


def _ids(session: Session) -> dict[str, set[int]]:
    found = {}
    for table in all_tables.metadata.sorted_tables:
        if "id" in table.c:
            found[table.name] = set(session.scalars(select(table.c.id)))
    return found


@pytest.fixture
def world(session: Session, admin: Actor) -> World:
    country = registry.add_place(admin, {"kind": "country", "name": "Honduras"})
    funder = ledger.open_account(admin, {"kind": "funder", "name": "Funder", "currency": "HNL"})
    funds = ledger.open_account(
        admin, {"kind": "project_funds", "name": "Funds", "currency": "HNL"}
    )
    ledger.transfer(
        admin,
        {
            "kind": "funding",
            "from_account_id": funder.id,
            "to_account_id": funds.id,
            "amount": "1000000",
            "posted_on": date(2025, 1, 1),
        },
    )
    members = ledger.open_account(admin, {"kind": "member", "name": "Members", "currency": "HNL"})
    one = _alliance(admin, country.id, "Intibucá")
    two = _alliance(admin, country.id, "Lempira")
    call = open_call(
        admin,
        {
            "code": "C1",
            "title": "First call",
            "currency": "HNL",
            "opens_on": date(2025, 1, 1),
            "closes_on": date(2025, 3, 31),
            "max_grant_share": "0.70",
            "min_counterpart_share": "0.20",
            "ceiling_per_family": "3000.00",
            "ceiling_per_alliance": "60000.00",
            "max_families": 60,
            "district_ids": [one.district.id, two.district.id],
            "value_chains": ["vegetables"],
            "windows": [],
            "member_rules": {"min_members": 10},
            "scoring_sheet": {"criteria": [{"name": "market", "weight": 1}], "pass_score": 60},
        },
    )
    _through_the_cycle(admin, one, call.id, funds.id, members.id)
    catalogue = kits.add_catalogue_version(admin, {"document": catalogue_document()})
    # produce sales in HNL: the field records (fieldrecords.records) convert them to USD
    set_exchange_rate(
        admin,
        {"currency": "HNL", "rate_date": date(2024, 1, 1), "units_per_reporting_unit": "24.6"},
    )
    _micro_investing(admin, one, catalogue.id)
    before = _ids(session)
    _through_the_cycle(admin, two, call.id, funds.id, members.id)
    _micro_investing(admin, two, catalogue.id)
    after = _ids(session)
    second = {name: after[name] - before[name] for name in after}
    # alliance two's own registry rows were made before the cycle: add them
    second["farmers"] |= set(two.farmer_ids)
    second["organizations"] |= {two.po.id, two.buyer.id, two.lender.id}
    second["memberships"] |= set(
        session.scalars(
            select(all_tables.metadata.tables["memberships"].c.id).where(
                all_tables.metadata.tables["memberships"].c.organization_id == two.po.id
            )
        )
    )
    # the project's own accounts (funds, members) are not alliance two's
    second["accounts"] -= {funds.id, members.id, funder.id}

    def user(name: str, role: str, **scope: Any) -> Actor:
        made = create_user(
            session, {"username": name, "display_name": name, "password": "password1"}
        )
        grant_role(admin, made.id, {"role": role, **scope})
        return act_as(session, made.id, admin.programme_id)

    actors = {
        "manager": user("manager", "programme_manager"),
        "auditor": user("auditor", "auditor"),
        "field_officer": user("fo", "field_officer", place_ids=[one.district.id]),
        "po_representative": user("po", "po_representative", organization_id=one.po.id),
        "buyer": user("buyer", "buyer", organization_id=one.buyer.id),
        "lender": user("lender", "lender", organization_id=one.lender.id),
        "evaluator": user("eva", "evaluator"),
        "agronomist": user("agro", "agronomist", place_ids=[one.po.place_id]),
        "supplier": user("supp", "supplier", organization_id=one.supplier.id),
        "alliance": user(
            "ally", "po_representative", scope="alliance", subproject_id=one.subproject.id
        ),
    }
    cycle.assign_evaluator(admin, one.subproject.id, actors["evaluator"].user_id)
    session.commit()
    return World(admin, one, two, actors, second)


NARROW = (
    "field_officer",
    "po_representative",
    "buyer",
    "lender",
    "evaluator",
    "alliance",
    "agronomist",
    "supplier",
)


def test_every_table_has_a_scope_rule() -> None:
    for table in all_tables.metadata.sorted_tables:
        if table.name in NOT_SCOPED:
            continue
        assert table in RULES or table.name in {"programmes", "users"}, table.name


def test_no_row_of_another_scope_is_returned_or_counted(world: World) -> None:
    for name in NARROW:
        _no_row_of_another_scope(world, name)


def _no_row_of_another_scope(world: World, name: str) -> None:
    actor = world.actors[name]
    for table in all_tables.metadata.sorted_tables:
        if table.name in SHARED | NOT_SCOPED or "id" not in table.c:
            continue
        visible = set(actor.session.scalars(scoped(actor, select(table.c.id))))
        leaked = visible & world.second_ids.get(table.name, set())
        assert not leaked, f"{name} sees {table.name} {sorted(leaked)} of another scope"
        count = actor.session.scalar(scoped(actor, select(_count()).select_from(table)))
        assert count == len(visible)


def _count() -> Any:
    from sqlalchemy import func

    return func.count()


def test_each_narrow_scope_sees_its_own(world: World) -> None:
    one = world.one
    sub_ids = {
        n: {s.id for s in cycle.list_subprojects(world.actors[n]).items}
        for n in ("field_officer", "po_representative", "lender", "evaluator", "alliance")
    }
    assert all(ids == {one.subproject.id} for ids in sub_ids.values()), sub_ids
    assert {a.id for a in agreements.list_agreements(world.actors["buyer"]).items} == {
        one.agreement_id
    }
    assert {f.id for f in registry.farmers(world.actors["field_officer"])} == set(one.farmer_ids)
    assert {f.id for f in registry.farmers(world.actors["po_representative"])} == set(
        one.farmer_ids
    )
    assert registry.farmers(world.actors["evaluator"]) != []
    assert {o.id for o in registry.organizations(world.actors["po_representative"])} == {
        one.po.id,
        one.buyer.id,
        one.lender.id,
    }
    buyer_accounts = ledger.balances(world.actors["buyer"])
    assert [b.name for b in buyer_accounts] == [f"{one.buyer.name} (HNL)"]
    po_accounts = {b.name for b in ledger.balances(world.actors["po_representative"])}
    assert po_accounts and all(n.startswith(one.po.name) for n in po_accounts)


# Readiness that every farmer with a record meets, and clusters of any size.
LENIENT = {
    "product": "drip_bed",
    "grades": ["ungraded"],
    "min_volume_per_season": "0",
    "min_grade_share": "0",
    "min_seasons_delivered": 0,
}
ANY_CLUSTER = {"min_farmers": 1, "min_volume_per_season": "0"}


def _graduate(actor: Actor, world: World) -> Any:
    """A new farmer of alliance one's village (in no PO) registered as a PO of one."""
    farmer = registry.add_farmer(
        world.admin,
        {"name": "Graduate", "sex": "female", "birth_year": 1990, "household_size": 3,
         "land_hectares": "1", "village_id": world.one.po.place_id},
    )  # fmt: skip
    return graduation.register_cluster(
        actor,
        {"name": f"Graduates {actor.user_id}", "farmer_ids": [farmer.id],
         "criteria": LENIENT | {"min_seasons_delivered": 0}, "rules": ANY_CLUSTER},
    )  # fmt: skip


# Every service function that lists or counts, called as each narrow actor: its result must
# not mention alliance two (the ids it returns are checked against alliance two's rows).
LISTINGS: dict[str, tuple[Permission, Callable[[Actor, World], Any]]] = {
    "registry.organizations": (
        Permission.REGISTRY_READ,
        lambda a, w: [o.id for o in registry.organizations(a)],
    ),
    "registry.farmers": (
        Permission.REGISTRY_READ,
        lambda a, w: [f.id for f in registry.farmers(a)],
    ),
    "registry.search_farmers": (
        Permission.REGISTRY_READ,
        lambda a, w: [f.id for f in registry.search_farmers(a, text="member").items],
    ),
    "registry.duplicates_of": (
        Permission.REGISTRY_READ,
        lambda a, w: [d.farmer_id for d in registry.duplicates_of(a, _same_phone_as(w.two))],
    ),
    "cycle.list_subprojects": (
        Permission.CYCLE_READ,
        lambda a, w: [s.id for s in cycle.list_subprojects(a).items],
    ),
    "cycle.count_by_state": (
        Permission.CYCLE_READ,
        lambda a, w: sum(cycle.count_by_state(a).values()),
    ),
    "agreements.list_agreements": (
        Permission.AGREEMENTS_READ,
        lambda a, w: [x.id for x in agreements.list_agreements(a).items],
    ),
    "agreements.deliveries": (
        Permission.AGREEMENTS_READ,
        lambda a, w: [x.id for x in agreements.deliveries(a).items],
    ),
    "agreements.payments": (
        Permission.AGREEMENTS_READ,
        lambda a, w: [x.id for x in agreements.payments(a).items],
    ),
    "agreements.alerts": (
        Permission.AGREEMENTS_READ,
        lambda a, w: [x.agreement_id for x in agreements.alerts(a, date(2027, 1, 1))],
    ),
    "ledger.balances": (
        Permission.LEDGER_READ,
        lambda a, w: [b.account_id for b in ledger.balances(a)],
    ),
    "ledger.postings": (
        Permission.LEDGER_READ,
        lambda a, w: [p.id for p in ledger.postings(a).items],
    ),
    "portfolio.sales_by_po_by_quarter": (
        Permission.PORTFOLIO_READ,
        lambda a, w: [
            s.organization_id
            for s in portfolio.sales_by_po_by_quarter(a, date(2025, 1, 1), date(2026, 1, 1))
        ],
    ),
    "portfolio.subprojects_by_state_and_district": (
        Permission.PORTFOLIO_READ,
        lambda a, w: sum(portfolio.subprojects_by_state_and_district(a).values()),
    ),
    "portfolio.inclusion_by_call": (
        Permission.PORTFOLIO_READ,
        lambda a, w: sum(i.members for i in portfolio.inclusion_by_call(a, date(2025, 6, 1))),
    ),
    "audit.entries": (Permission.AUDIT_READ, lambda a, w: [e.id for e in audit.entries(a)]),
    "kits.sales": (Permission.SALES_READ, lambda a, w: [x.id for x in kits.sales(a).items]),
    "kits.stock": (Permission.STOCK_READ, lambda a, w: [x.id for x in kits.stock(a)]),
    "field.visits": (Permission.FIELD_READ, lambda a, w: [x.id for x in field.visits(a).items]),
    "field.harvests": (Permission.FIELD_READ, lambda a, w: [x.id for x in field.harvests(a).items]),
    "field.produce_sales": (
        Permission.FIELD_READ,
        lambda a, w: [x.id for x in field.produce_sales(a).items],
    ),
    "payments.parked": (
        Permission.PAYMENTS_REVIEW,
        lambda a, w: [x.id for x in mobile_payments.parked(a).items],
    ),
    "payments.payments": (
        Permission.SALES_READ,
        lambda a, w: [x.id for x in mobile_payments.payments(a).items],
    ),
    "team.agronomists": (Permission.ROLLOUT_READ, lambda a, w: [x.id for x in team.agronomists(a)]),
    "graduation.assess": (
        Permission.FIELD_READ,
        lambda a, w: [f.farmer_id for f in graduation.assess(a, LENIENT).farmers],
    ),
    "graduation.readiness": (
        Permission.FIELD_READ,
        lambda a, w: [f.farmer_id for f in graduation.readiness(a, LENIENT)[0].items],
    ),
    "graduation.clusters": (
        Permission.FIELD_READ,
        lambda a, w: [
            f for p in graduation.clusters(a, LENIENT, ANY_CLUSTER)[0] for f in p.farmer_ids
        ],
    ),
    "team.lead_farmers": (
        Permission.ROLLOUT_READ,
        lambda a, w: [lead.id for lead, _ in team.lead_farmers(a)],
    ),
    "performance.agronomist_performance": (
        Permission.FIELD_READ,
        lambda a, w: [
            r.id for r in performance.agronomist_performance(a, *PERFORMANCE_PERIOD).rows
        ],
    ),
    "performance.district_performance": (
        Permission.FIELD_READ,
        # a count: farmers, visits and sales of the districts shown (agronomists are refused)
        lambda a, w: (
            0
            if a.role is Role.AGRONOMIST
            else int(
                sum(
                    r.figures["farmers"] + r.figures["visits"] + r.figures["sales"]
                    for r in performance.district_performance(a, *PERFORMANCE_PERIOD).rows
                )
            )
        ),
    ),
    "fieldrecords.field_records": (
        Permission.FIELD_READ,
        lambda a, w: [
            int(f)
            for f in field_records(a, as_of=date(2025, 12, 31)).table["farmer_id"].to_pylist()
        ],
    ),
}
PERFORMANCE_PERIOD = (date(2025, 1, 1), date(2025, 12, 31))
# what a result that lists ids is checked against
AGAINST = {
    "graduation.assess": "farmers",
    "graduation.readiness": "farmers",
    "graduation.clusters": "farmers",
    "registry.organizations": "organizations",
    "registry.farmers": "farmers",
    "registry.search_farmers": "farmers",
    "registry.duplicates_of": "farmers",
    "cycle.list_subprojects": "subprojects",
    "agreements.list_agreements": "agreements",
    "agreements.deliveries": "deliveries",
    "agreements.payments": "buyer_payments",
    "agreements.alerts": "agreements",
    "ledger.balances": "accounts",
    "ledger.postings": "postings",
    "portfolio.sales_by_po_by_quarter": "organizations",
    "audit.entries": "audit_entries",
    "kits.sales": "kit_sales",
    "kits.stock": "supplier_stock",
    "field.visits": "field_visits",
    "field.harvests": "harvests",
    "field.produce_sales": "produce_sales",
    "payments.parked": "mobile_payments",
    "payments.payments": "mobile_payments",
    "team.agronomists": "agronomists",
    "team.lead_farmers": "lead_farmers",
    "performance.agronomist_performance": "agronomists",
    "fieldrecords.field_records": "farmers",
}


def _same_phone_as(alliance: Alliance) -> Any:
    from alianza.platform.registry.schemas import FarmerIn

    return FarmerIn.model_validate(
        {
            "name": "Someone",
            "sex": "female",
            "birth_year": 1990,
            "household_size": 3,
            "land_hectares": "1",
            "village_id": 1,
            "phone": f"9{len('Lempira') % 10}{0:06d}",
        }
    )


def test_no_service_lists_or_counts_another_scope(world: World) -> None:
    for name in NARROW:
        for listing in sorted(LISTINGS):
            _lists_nothing_of_another_scope(world, name, listing)


def _lists_nothing_of_another_scope(world: World, name: str, listing: str) -> None:
    actor = world.actors[name]
    permission, call = LISTINGS[listing]
    if not actor.can(permission):
        with pytest.raises(Forbidden):
            call(actor, world)
        return
    result = call(actor, world)
    if isinstance(result, int):  # a count: the programme-wide count less alliance two's
        whole = call(world.admin, world)
        assert result < whole or whole == 0, f"{listing} counts another scope for {name}"
        return
    table = AGAINST[listing]
    leaked = set(result) & world.second_ids[table]
    assert not leaked, f"{listing} shows {table} {sorted(leaked)} of another scope to {name}"


def test_rows_of_another_scope_look_absent(world: World) -> None:
    for name in NARROW:
        _looks_absent(world, name)


def _looks_absent(world: World, name: str) -> None:
    actor = world.actors[name]
    two = world.two
    for model, row_id in (
        (Subproject, two.subproject.id),
        (Farmer, two.farmer_ids[0]),
        (Organization, two.po.id),
    ):
        with pytest.raises(NotFound):
            get(actor, model, row_id)
    with pytest.raises((NotFound, Forbidden)):
        cycle.history(actor, two.subproject.id)
    with pytest.raises((NotFound, Forbidden)):
        agreements.record_delivery(
            actor,
            two.agreement_id,
            {
                "delivered_on": date(2025, 6, 1),
                "quantity": "1",
                "grade": "A",
                "reference_price": "9",
            },
        )


def test_programme_wide_roles_see_everything(world: World) -> None:
    for name in ("manager", "auditor"):
        actor = world.actors[name]
        assert len(cycle.list_subprojects(actor).items) == 2
        assert len(registry.farmers(actor)) == 24


def test_an_evaluator_scores_only_assigned_subprojects(world: World, session: Session) -> None:
    admin, evaluator = world.admin, world.actors["evaluator"]
    country_id = world.one.district.parent_id
    three = _alliance(admin, country_id, "Ocotepeque")
    call = calls(admin)[0]
    call.district_ids = [*call.district_ids, three.district.id]
    sub = cycle.submit_profile(
        admin,
        {
            "call_id": call.id,
            "organization_id": three.po.id,
            "buyer_id": three.buyer.id,
            "title": "Three",
            "value_chain": "vegetables",
            "families": 10,
            "buyer_letter_of_interest": True,
            "submitted_on": date(2025, 2, 1),
        },
    )
    cycle.check_eligibility(admin, sub.id, date(2025, 2, 10))
    cycle.submit_plan(admin, sub.id, {"plan": example_plan()}, date(2025, 3, 1))
    cycle.start_evaluation(admin, sub.id, date(2025, 3, 5))
    with pytest.raises(NotFound):
        cycle.score(evaluator, sub.id, "market", 70)
    cycle.assign_evaluator(admin, sub.id, evaluator.user_id)
    assert cycle.score(evaluator, sub.id, "market", 70).score == 70
    with pytest.raises(Refused, match="only an evaluator"):
        cycle.assign_evaluator(admin, sub.id, world.actors["manager"].user_id)


# --- permissions: each role may do what its set grants, and is refused the rest --------------

OPERATIONS: dict[Permission, Callable[[Actor, World], Any]] = {
    Permission.REGISTRY_EDIT: lambda a, w: registry.add_farmer(
        a,
        {
            "name": "New farmer",
            "sex": "male",
            "birth_year": 1990,
            "household_size": 2,
            "land_hectares": "1",
            "village_id": w.one.po.place_id,
        },
    ),
    Permission.CALLS_MANAGE: lambda a, w: open_call(
        a,
        {
            "code": f"C-{a.user_id}",
            "title": "Another",
            "currency": "HNL",
            "opens_on": date(2026, 1, 1),
            "closes_on": date(2026, 3, 1),
            "max_grant_share": "0.7",
            "min_counterpart_share": "0.2",
            "ceiling_per_family": "1",
            "ceiling_per_alliance": "1",
            "district_ids": [w.one.district.id],
            "value_chains": ["x"],
            "windows": [],
            "member_rules": {},
            "scoring_sheet": {"criteria": [{"name": "m", "weight": 1}], "pass_score": 1},
        },
    ),
    Permission.LEDGER_POST: lambda a, w: ledger.open_account(
        a, {"kind": "po", "name": f"Account {a.user_id}", "currency": "HNL"}
    ),
    Permission.DELIVERIES_RECORD: lambda a, w: agreements.record_delivery(
        a,
        w.one.agreement_id,
        {"delivered_on": date(2025, 6, 1), "quantity": "1", "grade": "A", "reference_price": "9"},
    ),
    Permission.TRANCHES_JUSTIFY: lambda a, w: cycle.justify_tranche(
        a, w.one.subproject.id, 1, "receipts", date(2025, 6, 1)
    ),
    Permission.USERS_ADMIN: lambda a, w: grant_role(
        a, w.actors["auditor"].user_id, {"role": "auditor"}
    ),
    Permission.AUDIT_READ: lambda a, w: audit.entries(a),
    Permission.SALES_RECORD: lambda a, w: kits.record_sale(
        a,
        {
            "farmer_id": w.one.farmer_ids[6],
            "kit_code": "drip_bed",
            "method": "cash",
            "sold_on": date(2025, 4, 1),
            "supplier_id": w.one.supplier.id,
        },
    ),  # fmt: skip
    Permission.FIELD_RECORD: lambda a, w: field.record_visit(
        a, {"village_id": w.one.po.place_id, "visited_on": date(2025, 4, 1)}
    ),
    Permission.STOCK_MANAGE: lambda a, w: kits.receive_stock(
        a,
        {
            "supplier_id": w.one.supplier.id,
            "district_id": w.one.district.id,
            "kit_code": "drip_bed",
            "quantity": 1,
        },
    ),  # fmt: skip
    Permission.PAYMENTS_RECEIVE: lambda a, w: mobile_payments.receive(
        a,
        {
            "provider": "tigo",
            "transaction_id": f"op-{a.user_id}",
            "amount": "5.00",
            "currency": "HNL",
            "paid_at": "2025-04-01T10:00:00+00:00",
        },
    ),  # fmt: skip
    Permission.PAYMENTS_REVIEW: lambda a, w: mobile_payments.parked(a),
    Permission.GRADUATION_REGISTER: _graduate,
    Permission.ROLLOUT_MANAGE: lambda a, w: rollout.open_area(
        a, {"place_id": w.two.district.id, "phase_since": date(2025, 1, 1)}
    ),
    Permission.KITS_MANAGE: lambda a, w: kits.add_catalogue_version(
        a, {"document": catalogue_document()}
    ),
    Permission.TEAM_MANAGE: lambda a, w: team.add_lead_farmer(
        a, {"farmer_id": w.one.farmer_ids[5], "since": date(2025, 1, 1)}
    ),
}


def test_each_role_may_do_what_its_permissions_grant(world: World, session: Session) -> None:
    for role in Role:
        _may_do_what_is_granted(world, session, role)


def _may_do_what_is_granted(world: World, session: Session, role: Role) -> None:
    actor = {
        "administrator": world.admin,
        "programme_manager": world.actors["manager"],
        "evaluator": world.actors["evaluator"],
        "field_officer": world.actors["field_officer"],
        "po_representative": world.actors["po_representative"],
        "buyer": world.actors["buyer"],
        "lender": world.actors["lender"],
        "auditor": world.actors["auditor"],
        "agronomist": world.actors["agronomist"],
        "supplier": world.actors["supplier"],
        "payment_intake": mobile_payments.intake_actor(session, "PA-HN"),
    }[role.value]
    for permission, operation in OPERATIONS.items():
        savepoint = session.begin_nested()
        try:
            if permission in ROLE_PERMISSIONS[role]:
                operation(actor, world)
            else:
                with pytest.raises(Forbidden):
                    operation(actor, world)
        finally:
            savepoint.rollback()


def test_a_field_officer_records_only_in_their_places(world: World) -> None:
    officer = world.actors["field_officer"]
    village_two = world.two.po.place_id
    with pytest.raises(Forbidden, match="outside the places"):
        registry.add_farmer(
            officer,
            {
                "name": "Xavier",
                "sex": "male",
                "birth_year": 1990,
                "household_size": 2,
                "land_hectares": "1",
                "village_id": village_two,
            },
        )


def test_a_role_is_given_only_a_scope_it_may_take(world: World, session: Session) -> None:
    user = create_user(session, {"username": "x", "display_name": "X", "password": "password1"})
    with pytest.raises(Refused, match="scoped to"):
        grant_role(world.admin, user.id, {"role": "buyer", "scope": "programme"})
    with pytest.raises(Refused, match="is not a buyer"):
        grant_role(world.admin, user.id, {"role": "buyer", "organization_id": world.one.po.id})
    with pytest.raises(Refused, match="name the places"):
        grant_role(world.admin, user.id, {"role": "field_officer"})
    assert any(code == "PA-HN" for code in (p.code for p, _ in programmes_with_roles(session)))


def test_tables_are_known(world: World) -> None:
    names = {t.name for t in all_tables.metadata.sorted_tables}
    assert isinstance(next(iter(RULES)), Table)
    assert names >= {"roles", "role_places", "evaluator_assignments", "user_sessions"}
