"""The field team: agronomists with their caseload of villages (and the groups there), their
visit plan, and lead farmers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from alianza.platform.access import Actor, Permission, ScopeKind, get, require_place, scoped
from alianza.platform.audit.service import now, record_for, snapshot
from alianza.platform.errors import Invalid, Refused
from alianza.platform.fieldrecords.models import FieldVisit
from alianza.platform.kits.models import KitSale
from alianza.platform.programmes.models import User
from alianza.platform.registry.models import Farmer, Organization, Place
from alianza.platform.registry.phones import country_region, normalise_phone
from alianza.platform.registry.service import ancestors
from alianza.platform.rollout.models import Agronomist, CaseloadPlace, LeadFarmer
from alianza.platform.rollout.schemas import AgronomistIn, LeadFarmerIn
from alianza.platform.validation import validated
from alianza.problems import Message, Problem

GROUP_KINDS = ("savings_group", "club", "incubator", "producer_organization")
# Agronomists visit each group weekly (the Micro Investing model's rhythm).
VISIT_EVERY = timedelta(days=7)


def _phone_in(actor: Actor, phone: str | None, place_id: int) -> str | None:
    if not phone:
        return None
    country = ancestors(actor, place_id).get("country")
    region = country_region(country.name, country.code) if country else None
    try:
        return normalise_phone(phone, region)
    except ValueError as error:
        raise Invalid("agronomist", [Problem("phone", str(error))]) from None


def _villages(actor: Actor, district: Place, village_ids: list[int]) -> list[int]:
    found = []
    for position, village_id in enumerate(village_ids):
        village = get(actor, Place, village_id)
        lineage = ancestors(actor, village.id)
        if village.kind != "village" or lineage.get("district") is not district:
            raise Refused(
                Message(
                    "place %(place)s is not a village of %(district)s",
                    place=village_id,
                    district=district.name,
                ),
                rule="caseload in the district",
                field=f"village_ids[{position}]",
            )
        found.append(village.id)
    return found


def add_agronomist(actor: Actor, data: AgronomistIn | dict[str, Any]) -> Agronomist:
    """Recruit an agronomist into a district with a caseload of its villages."""
    actor.require(Permission.TEAM_MANAGE)
    agronomist_in = validated(AgronomistIn, data)
    district = get(actor, Place, agronomist_in.district_id)
    if district.kind != "district":
        raise Refused(
            Message("an agronomist works a district, not a %(kind)s", kind=district.kind),
            rule="geography levels",
            field="district_id",
        )
    village_ids = _villages(actor, district, agronomist_in.village_ids)
    if agronomist_in.user_id is not None:
        get(actor.widened(), User, agronomist_in.user_id)
    clash = actor.session.scalar(
        scoped(actor.widened(), select(Agronomist.id)).where(Agronomist.name == agronomist_in.name)
    )
    if clash is not None:
        raise Refused(
            Message("agronomist '%(name)s' exists", name=agronomist_in.name),
            rule="unique agronomist",
        )
    agronomist = Agronomist(
        programme_id=actor.programme_id,
        name=agronomist_in.name,
        phone=_phone_in(actor, agronomist_in.phone, district.id),
        district_id=district.id,
        user_id=agronomist_in.user_id,
        commission_rate=agronomist_in.commission_rate,
        created_at=now(),
    )
    actor.session.add(agronomist)
    actor.session.flush()
    actor.session.add_all(
        CaseloadPlace(programme_id=actor.programme_id, agronomist_id=agronomist.id, place_id=v)
        for v in village_ids
    )
    record_for(
        actor, "create", agronomist, after=snapshot(agronomist) | {"village_ids": village_ids}
    )
    return agronomist


def set_caseload(actor: Actor, agronomist_id: int, village_ids: list[int]) -> list[int]:
    """Replace an agronomist's caseload with these villages of their district."""
    actor.require(Permission.TEAM_MANAGE)
    agronomist = get(actor, Agronomist, agronomist_id)
    district = get(actor, Place, agronomist.district_id)
    new = _villages(actor, district, village_ids)
    old = caseload_villages(actor, agronomist.id)
    actor.session.execute(delete(CaseloadPlace).where(CaseloadPlace.agronomist_id == agronomist.id))
    actor.session.add_all(
        CaseloadPlace(programme_id=actor.programme_id, agronomist_id=agronomist.id, place_id=v)
        for v in new
    )
    record_for(
        actor,
        "update",
        agronomist,
        before={"village_ids": old},
        after={"village_ids": new},
    )
    return new


def caseload_villages(actor: Actor, agronomist_id: int) -> list[int]:
    return list(
        actor.session.scalars(
            scoped(actor, select(CaseloadPlace.place_id))
            .where(CaseloadPlace.agronomist_id == agronomist_id)
            .order_by(CaseloadPlace.place_id)
        )
    )


def agronomists(actor: Actor, district_id: int | None = None) -> list[Agronomist]:
    actor.require(Permission.ROLLOUT_READ)
    query = scoped(actor, select(Agronomist))
    if district_id is not None:
        query = query.where(Agronomist.district_id == district_id)
    return list(actor.session.scalars(query.order_by(Agronomist.name)))


def agronomist_of(actor: Actor, user_id: int | None = None) -> Agronomist | None:
    """The agronomist a user signs in as (the actor by default), if any."""
    return actor.session.scalar(
        scoped(actor.widened(), select(Agronomist)).where(
            Agronomist.user_id == (actor.user_id if user_id is None else user_id)
        )
    )


def get_agronomist(actor: Actor, agronomist_id: int) -> Agronomist:
    actor.require(Permission.ROLLOUT_READ)
    return get(actor, Agronomist, agronomist_id)


def add_lead_farmer(actor: Actor, data: LeadFarmerIn | dict[str, Any]) -> LeadFarmer:
    actor.require(Permission.TEAM_MANAGE)
    lead_in = validated(LeadFarmerIn, data)
    farmer = get(actor, Farmer, lead_in.farmer_id)
    require_place(actor, farmer.village_id)
    clash = actor.session.scalar(
        scoped(actor.widened(), select(LeadFarmer.id)).where(LeadFarmer.farmer_id == farmer.id)
    )
    if clash is not None:
        raise Refused(
            Message("%(name)s is a lead farmer already", name=farmer.name),
            rule="unique lead farmer",
        )
    lead = LeadFarmer(programme_id=actor.programme_id, **lead_in.model_dump())
    actor.session.add(lead)
    record_for(actor, "create", lead)
    return lead


def lead_farmers(actor: Actor) -> list[tuple[LeadFarmer, Farmer]]:
    actor.require(Permission.ROLLOUT_READ)
    rows = actor.session.execute(
        scoped(
            actor, select(LeadFarmer, Farmer).join(Farmer, Farmer.id == LeadFarmer.farmer_id)
        ).order_by(Farmer.name)
    )
    return [(lead, farmer) for lead, farmer in rows]


@dataclass(frozen=True)
class PlannedVisit:
    """A group of the caseload, when it was last visited and when its next visit is due
    (last visit + 7 days; due now if never visited)."""

    organization: Organization
    village: Place
    members: int
    last_visit: date | None
    due_on: date

    def overdue(self, as_of: date) -> bool:
        return self.due_on < as_of


@dataclass
class Caseload:
    agronomist: Agronomist
    villages: list[Place]
    farmers: int
    visits: int
    sales: int
    plan: list[PlannedVisit]


def caseload(actor: Actor, agronomist_id: int, as_of: date) -> Caseload:
    """An agronomist's villages, their groups and the visit plan (most overdue first)."""
    actor.require(Permission.ROLLOUT_READ)
    agronomist = get(actor, Agronomist, agronomist_id)
    village_ids = caseload_villages(actor, agronomist.id)
    if actor.scope.kind is ScopeKind.PLACES:  # only the villages of the actor's own places
        village_ids = [v for v in village_ids if v in actor.scope.place_ids]
    village_ids = village_ids or [-1]
    villages = list(
        actor.session.scalars(
            scoped(actor, select(Place)).where(Place.id.in_(village_ids)).order_by(Place.name)
        )
    )
    by_id = {village.id: village for village in villages}
    groups = list(
        actor.session.scalars(
            scoped(actor.widened(), select(Organization))
            .where(Organization.place_id.in_(village_ids), Organization.kind.in_(GROUP_KINDS))
            .order_by(Organization.name)
        )
    )
    from alianza.platform.registry.service import member_counts

    sizes = member_counts(actor.widened(), [g.id for g in groups]) if groups else {}
    last = dict(
        actor.session.execute(
            scoped(
                actor.widened(),
                select(FieldVisit.organization_id, func.max(FieldVisit.visited_on)),
            )
            .where(
                FieldVisit.organization_id.in_([g.id for g in groups] or [-1]),
                FieldVisit.visited_on <= as_of,
            )
            .group_by(FieldVisit.organization_id)
        ).all()
    )
    plan = [
        PlannedVisit(
            group,
            by_id[group.place_id],  # type: ignore[index]
            sizes.get(group.id, 0),
            last.get(group.id),
            (last[group.id] + VISIT_EVERY) if group.id in last else as_of,
        )
        for group in groups
        if group.place_id in by_id
    ]
    plan.sort(key=lambda p: (p.due_on, p.organization.name))
    farmers = actor.session.scalar(
        scoped(actor.widened(), select(func.count(Farmer.id))).where(
            Farmer.village_id.in_(village_ids)
        )
    )
    visits = actor.session.scalar(
        scoped(actor.widened(), select(func.count(FieldVisit.id))).where(
            FieldVisit.agronomist_id == agronomist.id
        )
    )
    sales = actor.session.scalar(
        scoped(actor.widened(), select(func.count(KitSale.id))).where(
            KitSale.agronomist_id == agronomist.id
        )
    )
    return Caseload(
        agronomist, villages, int(farmers or 0), int(visits or 0), int(sales or 0), plan
    )
