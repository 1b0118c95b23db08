"""Recording visits, site inspections, harvests and produce sales, each with who recorded it
and when; an agronomist records only in their villages.

A produce sale's ``amount = quantity × unit_price``, rounded half-even to cents.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import select

from alianza.platform.access import Actor, Page, Permission, get, paged, require_place
from alianza.platform.audit.service import now, record_for
from alianza.platform.errors import Refused
from alianza.platform.fieldrecords.models import FieldVisit, Harvest, ProduceSale
from alianza.platform.fieldrecords.schemas import HarvestIn, ProduceSaleIn, VisitIn
from alianza.platform.kits.service import catalogue_of, current_catalogue
from alianza.platform.programmes.models import Programme
from alianza.platform.registry.cards import parse_farmer_code
from alianza.platform.registry.models import Farmer, Organization, Place
from alianza.platform.rollout.team import agronomist_of
from alianza.platform.validation import validated
from alianza.problems import Message

CENT = Decimal("0.01")


def _farmer_in(actor: Actor, farmer_id: int) -> Farmer:
    farmer = get(actor, Farmer, farmer_id)
    require_place(actor, farmer.village_id)
    return farmer


def record_visit(actor: Actor, data: VisitIn | dict[str, Any]) -> FieldVisit:
    """A visit or site inspection; a scanned card code must be a card of this programme, and
    ``qr_matches`` records whether it is the card of the farmer visited."""
    actor.require(Permission.FIELD_RECORD)
    visit_in = validated(VisitIn, data)
    village = get(actor, Place, visit_in.village_id)
    require_place(actor, village.id)
    if village.kind != "village":
        raise Refused(
            Message("a visit is to a village, not a %(kind)s", kind=village.kind),
            rule="geography levels",
            field="village_id",
        )
    farmer = _farmer_in(actor, visit_in.farmer_id) if visit_in.farmer_id is not None else None
    qr_matches = None
    if visit_in.qr_code:
        programme = actor.session.get(Programme, actor.programme_id)
        assert programme is not None
        scanned = parse_farmer_code(programme.code, visit_in.qr_code)
        if scanned is None:
            raise Refused(
                Message("'%(code)s' is not a farmer card of this programme", code=visit_in.qr_code),
                rule="farmer card",
                field="qr_code",
            )
        if farmer is None:
            farmer = _farmer_in(actor, scanned)
        qr_matches = scanned == farmer.id
    if farmer is not None and farmer.village_id != village.id:
        raise Refused(
            Message("%(name)s lives in another village", name=farmer.name),
            rule="farmer of the village",
            field="farmer_id",
        )
    if visit_in.organization_id is not None:
        group = get(actor.widened(), Organization, visit_in.organization_id)
        if group.place_id != village.id:
            raise Refused(
                Message("%(name)s meets in another village", name=group.name),
                rule="group of the village",
                field="organization_id",
            )
    agronomist = agronomist_of(actor)
    visit = FieldVisit(
        programme_id=actor.programme_id,
        agronomist_id=agronomist.id if agronomist is not None else None,
        qr_matches=qr_matches,
        recorded_by=actor.user_id,
        recorded_at=now(),
        **(visit_in.model_dump() | {"farmer_id": farmer.id if farmer is not None else None}),
    )
    actor.session.add(visit)
    record_for(actor, "create", visit)
    return visit


def _unit_of(actor: Actor, kit_code: str, given: str | None) -> str:
    """The unit of a kit's product (from the current catalogue) unless one is given."""
    try:
        catalogue = catalogue_of(current_catalogue(actor))
        kit = catalogue.kit(kit_code)
    except (Refused, KeyError):
        if given:
            return given
        raise Refused(
            Message("kit '%(kit)s' is not in the catalogue", kit=kit_code),
            rule="kit in the catalogue",
            field="kit_code",
        ) from None
    return given or catalogue.product(kit.product).unit


def record_harvest(actor: Actor, data: HarvestIn | dict[str, Any]) -> Harvest:
    actor.require(Permission.FIELD_RECORD)
    harvest_in = validated(HarvestIn, data)
    farmer = _farmer_in(actor, harvest_in.farmer_id)
    harvest = Harvest(
        programme_id=actor.programme_id,
        village_id=farmer.village_id,
        recorded_by=actor.user_id,
        recorded_at=now(),
        **(
            harvest_in.model_dump()
            | {"unit": _unit_of(actor, harvest_in.kit_code, harvest_in.unit)}
        ),
    )
    actor.session.add(harvest)
    record_for(actor, "create", harvest)
    return harvest


def record_produce_sale(
    actor: Actor, data: ProduceSaleIn | dict[str, Any], currency: str
) -> ProduceSale:
    actor.require(Permission.FIELD_RECORD)
    sale_in = validated(ProduceSaleIn, data)
    farmer = _farmer_in(actor, sale_in.farmer_id)
    if sale_in.offtaker_id is not None:
        offtaker = get(actor.widened(), Organization, sale_in.offtaker_id)
        if offtaker.kind != "offtaker":
            raise Refused(
                Message("%(name)s is not an off-taker", name=offtaker.name),
                rule="off-takers",
                field="offtaker_id",
            )
    # Amount rounded half-even to cents: quantity (3 decimals) x price (2 decimals).
    amount = (sale_in.quantity * sale_in.unit_price).quantize(CENT, rounding=ROUND_HALF_EVEN)
    sale = ProduceSale(
        programme_id=actor.programme_id,
        village_id=farmer.village_id,
        amount=amount,
        currency=currency,
        recorded_by=actor.user_id,
        recorded_at=now(),
        **(sale_in.model_dump() | {"unit": _unit_of(actor, sale_in.kit_code, sale_in.unit)}),
    )
    actor.session.add(sale)
    record_for(actor, "create", sale)
    return sale


def visits(
    actor: Actor,
    *,
    village_id: int | None = None,
    farmer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    actor.require(Permission.FIELD_READ)
    query = select(FieldVisit)
    if village_id is not None:
        query = query.where(FieldVisit.village_id == village_id)
    if farmer_id is not None:
        query = query.where(FieldVisit.farmer_id == farmer_id)
    return paged(
        actor, query.order_by(FieldVisit.visited_on.desc(), FieldVisit.id.desc()), limit, offset
    )


def harvests(
    actor: Actor, *, farmer_id: int | None = None, limit: int = 50, offset: int = 0
) -> Page:
    actor.require(Permission.FIELD_READ)
    query = select(Harvest)
    if farmer_id is not None:
        query = query.where(Harvest.farmer_id == farmer_id)
    return paged(
        actor, query.order_by(Harvest.harvested_on.desc(), Harvest.id.desc()), limit, offset
    )


def produce_sales(
    actor: Actor, *, farmer_id: int | None = None, limit: int = 50, offset: int = 0
) -> Page:
    actor.require(Permission.FIELD_READ)
    query = select(ProduceSale)
    if farmer_id is not None:
        query = query.where(ProduceSale.farmer_id == farmer_id)
    return paged(
        actor, query.order_by(ProduceSale.sold_on.desc(), ProduceSale.id.desc()), limit, offset
    )
