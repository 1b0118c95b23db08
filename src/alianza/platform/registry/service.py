"""Registering places, markets, organizations, farmers and memberships; finding duplicates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import false, func, or_, select

from alianza.platform.access import Actor, Page, Permission, get, paged, require_place, scoped
from alianza.platform.audit.service import now, record_for
from alianza.platform.errors import Invalid, Refused
from alianza.platform.registry.duplicates import (  # noqa: F401 - the rule, re-exported
    CLOSE_NAME_RATIO,
    close_to,
    names_close,
    normalised_name,
)
from alianza.platform.registry.models import Farmer, Market, Membership, Organization, Place
from alianza.platform.registry.phones import country_region, normalise_phone
from alianza.platform.registry.schemas import (
    PLACE_PARENTS,
    FarmerIn,
    MarketIn,
    MembershipIn,
    OrganizationIn,
    PlaceIn,
)
from alianza.platform.validation import validated
from alianza.problems import Message, Problem


def add_place(actor: Actor, data: PlaceIn | dict[str, Any]) -> Place:
    actor.require(Permission.REGISTRY_EDIT)
    place_in = validated(PlaceIn, data)
    parent_kind = PLACE_PARENTS[place_in.kind]
    if parent_kind is None and place_in.parent_id is not None:
        raise Refused(Message("a country has no parent place"), rule="geography levels")
    if parent_kind is not None:
        if place_in.parent_id is None:
            raise Refused(
                Message(
                    "a %(kind)s lies in a %(parent_kind)s",
                    kind=place_in.kind,
                    parent_kind=parent_kind,
                ),
                rule="geography levels",
            )
        parent = get(actor, Place, place_in.parent_id)
        if parent.kind != parent_kind:
            raise Refused(
                Message(
                    "a %(kind)s lies in a %(parent_kind)s, not in a %(given_kind)s",
                    kind=place_in.kind,
                    parent_kind=parent_kind,
                    given_kind=parent.kind,
                ),
                rule="geography levels",
            )
    clash = actor.session.scalar(
        scoped(actor, select(Place.id)).where(
            Place.kind == place_in.kind,
            Place.name == place_in.name,
            Place.parent_id == place_in.parent_id
            if place_in.parent_id is not None
            else Place.parent_id.is_(None),
        )
    )
    if clash is not None:
        raise Refused(
            Message(
                "%(kind)s '%(name)s' exists there already", kind=place_in.kind, name=place_in.name
            ),
            rule="unique place",
        )
    place = Place(programme_id=actor.programme_id, **place_in.model_dump())
    actor.session.add(place)
    record_for(actor, "create", place)
    return place


def _lineage(place: Place, parent: Callable[[int], Place | None]) -> dict[str, Place]:
    """The place and the places it lies in, by kind (the place itself first), walking up
    through ``parent``."""
    found: dict[str, Place] = {}
    current: Place | None = place
    while current is not None:
        found[current.kind] = current
        current = parent(current.parent_id) if current.parent_id is not None else None
    return found


def ancestors(actor: Actor, place_id: int) -> dict[str, Place]:
    """The place and the places it lies in, by kind: one query (a recursive one up the
    hierarchy); a place of the line outside the actor's scope is :class:`NotFound`, as
    :func:`get` would say."""
    line = select(Place.id, Place.parent_id).where(Place.id == place_id).cte(recursive=True)
    line = line.union_all(
        select(Place.id, Place.parent_id).join(line, Place.id == line.c.parent_id)
    )
    places = {
        place.id: place
        for place in actor.session.scalars(
            scoped(actor, select(Place)).where(Place.id.in_(select(line.c.id)))
        )
    }

    def visible(found_id: int) -> Place:
        place = places.get(found_id)
        return place if place is not None else get(actor, Place, found_id)  # raises NotFound

    return _lineage(visible(place_id), visible)


def place_lineages(actor: Actor) -> dict[int, dict[str, Place]]:
    """For every place of the programme, :func:`ancestors` of it (the place itself first):
    one query, the hierarchy walked in memory."""
    places = {
        place.id: place
        for place in actor.session.scalars(scoped(actor, select(Place)).order_by(Place.id))
    }
    return {place_id: _lineage(place, places.get) for place_id, place in places.items()}


def add_market(actor: Actor, data: MarketIn | dict[str, Any]) -> Market:
    actor.require(Permission.REGISTRY_EDIT)
    market_in = validated(MarketIn, data)
    get(actor, Place, market_in.place_id)
    market = Market(programme_id=actor.programme_id, **market_in.model_dump())
    actor.session.add(market)
    record_for(actor, "create", market)
    return market


def add_organization(actor: Actor, data: OrganizationIn | dict[str, Any]) -> Organization:
    actor.require(Permission.REGISTRY_EDIT)
    organization_in = validated(OrganizationIn, data)
    if organization_in.place_id is not None:
        get(actor, Place, organization_in.place_id)
        require_place(actor, organization_in.place_id)
    clash = actor.session.scalar(
        scoped(actor.widened(), select(Organization.id)).where(
            Organization.kind == organization_in.kind,
            Organization.name == organization_in.name,
        )
    )
    if clash is not None:
        raise Refused(
            Message(
                "%(kind)s '%(name)s' is registered already",
                kind=organization_in.kind,
                name=organization_in.name,
            ),
            rule="unique organization",
        )
    organization = Organization(
        programme_id=actor.programme_id, created_at=now(), **organization_in.model_dump()
    )
    actor.session.add(organization)
    record_for(actor, "create", organization)
    return organization


def add_farmer(actor: Actor, data: FarmerIn | dict[str, Any]) -> Farmer:
    """Register a farmer; possible duplicates are the caller's to report (see :func:`duplicates_of`)."""
    actor.require(Permission.REGISTRY_EDIT)
    farmer_in = validated(FarmerIn, data)
    village = get(actor, Place, farmer_in.village_id)
    require_place(actor, village.id)
    if village.kind != "village":
        raise Refused(
            Message("a farmer lives in a village, not a %(kind)s", kind=village.kind),
            rule="geography levels",
        )
    if farmer_in.phone and not farmer_in.phone.startswith("+"):
        # validated without a country: read the number in the country of the village
        country = ancestors(actor, village.id).get("country")
        region = country_region(country.name, country.code) if country else None
        if region is not None:
            try:
                phone = normalise_phone(farmer_in.phone, region)
            except ValueError as error:
                raise Invalid("farmer", [Problem("phone", error.args[0])]) from None
            farmer_in = farmer_in.model_copy(update={"phone": phone})
    farmer = Farmer(programme_id=actor.programme_id, created_at=now(), **farmer_in.model_dump())
    actor.session.add(farmer)
    record_for(actor, "create", farmer)
    return farmer


def add_membership(actor: Actor, data: MembershipIn | dict[str, Any]) -> Membership:
    actor.require(Permission.REGISTRY_EDIT)
    membership_in = validated(MembershipIn, data)
    get(actor, Farmer, membership_in.farmer_id)
    get(actor, Organization, membership_in.organization_id)
    clash = actor.session.scalar(
        scoped(actor.widened(), select(Membership.id)).where(
            Membership.farmer_id == membership_in.farmer_id,
            Membership.organization_id == membership_in.organization_id,
        )
    )
    if clash is not None:
        raise Refused(Message("the farmer is a member already"), rule="unique membership")
    membership = Membership(programme_id=actor.programme_id, **membership_in.model_dump())
    actor.session.add(membership)
    record_for(actor, "create", membership)
    return membership


def members(actor: Actor, organization_id: int) -> list[Farmer]:
    """The organization's members the actor's scope reaches, by id."""
    get(actor, Organization, organization_id)
    return list(
        actor.session.scalars(
            scoped(actor, select(Farmer).join(Membership, Membership.farmer_id == Farmer.id))
            .where(Membership.organization_id == organization_id)
            .order_by(Farmer.id)
        )
    )


@dataclass(frozen=True)
class MemberEligibility:
    """How many of an organization's members there are, and how many break an age or land rule."""

    members: int
    under_age: int
    over_land: int


def member_eligibility(
    actor: Actor,
    organization_id: int,
    on: date,
    min_age: int = 0,
    max_land_hectares: Decimal | None = None,
) -> MemberEligibility:
    """:func:`members` counted in the database: all of them, those younger than ``min_age``
    in the year of ``on`` (:meth:`Farmer.age`), those holding more than ``max_land_hectares``."""
    get(actor, Organization, organization_id)
    young = Farmer.birth_year > on.year - min_age
    large = false() if max_land_hectares is None else Farmer.land_hectares > max_land_hectares
    row = actor.session.execute(
        scoped(
            actor,
            select(
                func.count(),
                func.count().filter(young),
                func.count().filter(large),
            )
            .select_from(Farmer)
            .join(Membership, Membership.farmer_id == Farmer.id),
        ).where(Membership.organization_id == organization_id)
    ).one()
    return MemberEligibility(*(int(value) for value in row))


def organizations(actor: Actor, kind: str | None = None) -> list[Organization]:
    actor.require(Permission.REGISTRY_READ)
    query = scoped(actor, select(Organization))
    if kind is not None:
        query = query.where(Organization.kind == kind)
    return list(actor.session.scalars(query.order_by(Organization.id)))


def farmers(actor: Actor) -> list[Farmer]:
    """Every farmer the actor's scope reaches, by id."""
    actor.require(Permission.REGISTRY_READ)
    return list(actor.session.scalars(scoped(actor, select(Farmer)).order_by(Farmer.id)))


def search_farmers(
    actor: Actor,
    *,
    text: str = "",
    village_id: int | None = None,
    organization_id: int | None = None,
    sex: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Farmers whose name, phone or national ID contains ``text`` (any case), in a village or
    an organization, paged by name."""
    actor.require(Permission.REGISTRY_READ)
    query: Any = select(Farmer)
    if text.strip():
        needle = f"%{text.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Farmer.name).like(needle),
                Farmer.phone.like(needle),
                func.lower(Farmer.national_id).like(needle),
            )
        )
    if village_id is not None:
        query = query.where(Farmer.village_id == village_id)
    if organization_id is not None:
        query = query.where(
            Farmer.id.in_(
                select(Membership.farmer_id).where(Membership.organization_id == organization_id)
            )
        )
    if sex is not None:
        query = query.where(Farmer.sex == sex)
    return paged(actor, query.order_by(Farmer.name, Farmer.id), limit, offset)


def memberships_of(actor: Actor, farmer_id: int) -> list[Organization]:
    """The organizations a farmer belongs to (those the actor's scope reaches)."""
    get(actor, Farmer, farmer_id)
    return list(
        actor.session.scalars(
            scoped(
                actor,
                select(Organization).join(
                    Membership, Membership.organization_id == Organization.id
                ),
            )
            .where(Membership.farmer_id == farmer_id)
            .order_by(Organization.name)
        )
    )


# --- duplicates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PossibleDuplicate:
    """A registered farmer who may be the same person as a new record, and why."""

    farmer_id: int
    name: str
    reason: str


def duplicates_of(actor: Actor, farmer: FarmerIn) -> list[PossibleDuplicate]:
    """Registered farmers sharing the phone or national ID, or with a close name in the village."""
    actor.require(Permission.REGISTRY_READ)
    found: list[PossibleDuplicate] = []
    seen: set[int] = set()
    checks = []
    if farmer.phone:
        checks.append((Message("same phone"), Farmer.phone == farmer.phone))
    if farmer.national_id:
        checks.append((Message("same national ID"), Farmer.national_id == farmer.national_id))
    for reason, condition in checks:
        for farmer_id, name in actor.session.execute(
            scoped(actor, select(Farmer.id, Farmer.name)).where(condition)
        ):
            if farmer_id not in seen:
                seen.add(farmer_id)
                found.append(PossibleDuplicate(farmer_id, name, reason))
    villagers = actor.session.execute(
        scoped(actor, select(Farmer.id, Farmer.name)).where(Farmer.village_id == farmer.village_id)
    ).all()
    for farmer_id, name in close_to(farmer.name, villagers):
        if farmer_id not in seen:
            seen.add(farmer_id)
            found.append(
                PossibleDuplicate(farmer_id, name, Message("close name in the same village"))
            )
    return found


# --- for the registry's pages and API -----------------------------------------------------------


def get_farmer(actor: Actor, farmer_id: int) -> Farmer:
    """One farmer, if the actor may read the registry and their scope reaches the farmer."""
    actor.require(Permission.REGISTRY_READ)
    return get(actor, Farmer, farmer_id)


def get_organization(actor: Actor, organization_id: int) -> Organization:
    """One organization, if the actor may read the registry and their scope reaches it."""
    actor.require(Permission.REGISTRY_READ)
    return get(actor, Organization, organization_id)


def places(actor: Actor, kind: str | None = None) -> list[Place]:
    """The programme's places (its shared geography), by kind and name."""
    actor.require(Permission.REGISTRY_READ)
    query = scoped(actor, select(Place))
    if kind is not None:
        query = query.where(Place.kind == kind)
    return list(actor.session.scalars(query.order_by(Place.kind, Place.name, Place.id)))


def search_organizations(
    actor: Actor, *, kind: str | None = None, text: str = "", limit: int = 50, offset: int = 0
) -> Page:
    """Organizations the actor's scope reaches, of a kind and whose name contains ``text``
    (any case), paged by name."""
    actor.require(Permission.REGISTRY_READ)
    query: Any = select(Organization)
    if kind is not None:
        query = query.where(Organization.kind == kind)
    if text.strip():
        query = query.where(func.lower(Organization.name).like(f"%{text.strip().lower()}%"))
    return paged(actor, query.order_by(Organization.name, Organization.id), limit, offset)


def member_counts(actor: Actor, organization_ids: list[int]) -> dict[int, int]:
    """How many members of each organization the actor's scope reaches (0 when none)."""
    actor.require(Permission.REGISTRY_READ)
    if not organization_ids:
        return {}
    statement: Any = select(Membership.organization_id, func.count(Membership.id))
    rows = actor.session.execute(
        scoped(actor, statement)
        .where(Membership.organization_id.in_(organization_ids))
        .group_by(Membership.organization_id)
    )
    counts = dict.fromkeys(organization_ids, 0)
    counts.update({organization_id: int(count) for organization_id, count in rows})
    return counts
