"""Rollout district by district: areas taken through set-up → launch → growth → exit, their
milestones, and the adoption figures that decide exit.

**Adoption** of an area at a date: of the farmers of its villages who have bought a kit (a paid
sale), the share who have since *reinvested from their own profit without support*, that is,
bought again, paying themselves (cash or mobile money, not an off-taker's prepayment):

    adoption_share = reinvesting_farmers / buying_farmers

An area may move to exit once ``adoption_share >= exit_adoption_share`` (the tipping point set
for the area).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import func, select

from alianza.platform.access import Actor, Permission, _descendants, get, scoped
from alianza.platform.audit.service import now, record_for, snapshot
from alianza.platform.errors import Refused
from alianza.platform.kits.models import KitSale
from alianza.platform.registry.models import Farmer, Place
from alianza.platform.rollout.models import (
    PHASES,
    Agronomist,
    CaseloadPlace,
    Milestone,
    PhaseChange,
    RolloutArea,
)
from alianza.platform.rollout.schemas import MilestoneIn, PhaseMoveIn, RolloutAreaIn
from alianza.platform.validation import validated
from alianza.problems import Message

AREA_KINDS = ("district", "municipality")  # a district, or one of its extension planning areas
# The note of an area's first phase, stored in English; the board says it in the reader's
# language (the other notes are a person's own words).
ENTERED_NOTE = Message("entered the rollout")


def open_area(actor: Actor, data: RolloutAreaIn | dict[str, Any]) -> RolloutArea:
    """Enter a district or extension planning area into the rollout."""
    actor.require(Permission.ROLLOUT_MANAGE)
    area_in = validated(RolloutAreaIn, data)
    place = get(actor, Place, area_in.place_id)
    if place.kind not in AREA_KINDS:
        raise Refused(
            Message(
                "a rollout area is a district or an extension planning area, not a %(kind)s",
                kind=place.kind,
            ),
            rule="rollout areas",
            field="place_id",
        )
    clash = actor.session.scalar(
        scoped(actor, select(RolloutArea.id)).where(RolloutArea.place_id == place.id)
    )
    if clash is not None:
        raise Refused(
            Message("%(name)s is in the rollout already", name=place.name),
            rule="one area per place",
        )
    area = RolloutArea(programme_id=actor.programme_id, created_at=now(), **area_in.model_dump())
    actor.session.add(area)
    actor.session.flush()
    actor.session.add(
        PhaseChange(
            programme_id=actor.programme_id,
            area_id=area.id,
            from_phase=None,
            to_phase=area.phase,
            changed_on=area.phase_since,
            note=str(ENTERED_NOTE),
            changed_by=actor.user_id,
            created_at=now(),
        )
    )
    record_for(actor, "create", area)
    return area


def move_phase(actor: Actor, area_id: int, data: PhaseMoveIn | dict[str, Any]) -> RolloutArea:
    """Move an area to its next phase (phases are never skipped nor undone); exit only once
    adoption has passed the area's tipping point."""
    actor.require(Permission.ROLLOUT_MANAGE)
    move = validated(PhaseMoveIn, data)
    area = get(actor, RolloutArea, area_id)
    position = PHASES.index(area.phase)
    if position + 1 >= len(PHASES) or PHASES[position + 1] != move.to_phase:
        reason = (
            Message(
                "an area in %(phase)s moves to %(following)s, not %(wanted)s",
                phase=area.phase,
                following=PHASES[position + 1],
                wanted=move.to_phase,
            )
            if position + 1 < len(PHASES)
            else Message(
                "an area in %(phase)s moves to none, not %(wanted)s",
                phase=area.phase,
                wanted=move.to_phase,
            )
        )
        raise Refused(
            reason,
            rule="phases in order",
            field="to_phase",
        )
    if move.changed_on < area.phase_since:
        raise Refused(
            Message(
                "the area is in %(phase)s since %(since)s",
                phase=area.phase,
                since=area.phase_since,
            ),
            rule="phases in order",
            field="changed_on",
        )
    if move.to_phase == "exit":
        figures = adoption(actor, area.id, move.changed_on)
        if not figures.exit_ready:
            raise Refused(
                Message(
                    "adoption is %(share)s%% of %(buying)s buying farmers, below the exit point "
                    "of %(exit)s%%",
                    # percentage points, whole, as the figures were always shown
                    share=_percent(figures.share),
                    buying=figures.buying_farmers,
                    exit=_percent(Decimal(area.exit_adoption_share)),
                ),
                rule="exit at the tipping point",
                field="to_phase",
            )
    before = snapshot(area)
    actor.session.add(
        PhaseChange(
            programme_id=actor.programme_id,
            area_id=area.id,
            from_phase=area.phase,
            to_phase=move.to_phase,
            changed_on=move.changed_on,
            note=move.note,
            changed_by=actor.user_id,
            created_at=now(),
        )
    )
    area.phase, area.phase_since = move.to_phase, move.changed_on
    record_for(actor, "update", area, before=before)
    return area


def add_milestone(actor: Actor, area_id: int, data: MilestoneIn | dict[str, Any]) -> Milestone:
    actor.require(Permission.ROLLOUT_MANAGE)
    milestone_in = validated(MilestoneIn, data)
    area = get(actor, RolloutArea, area_id)
    milestone = Milestone(
        programme_id=actor.programme_id, area_id=area.id, **milestone_in.model_dump()
    )
    actor.session.add(milestone)
    record_for(actor, "create", milestone)
    return milestone


def complete_milestone(actor: Actor, milestone_id: int, done_on: date) -> Milestone:
    actor.require(Permission.ROLLOUT_MANAGE)
    milestone = get(actor, Milestone, milestone_id)
    if milestone.done_on is not None:
        raise Refused(
            Message("the milestone was done on %(day)s", day=milestone.done_on), rule="done once"
        )
    before = snapshot(milestone)
    milestone.done_on = done_on
    record_for(actor, "update", milestone, before=before)
    return milestone


def _percent(share: Decimal) -> Decimal:
    """A share as whole percentage points (``0.456`` -> ``46``, rounded half-even as ``:.0%``
    rounds it)."""
    return (share * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Adoption:
    """The adoption figures of an area at a date (see the module's docstring)."""

    buying_farmers: int
    reinvesting_farmers: int
    threshold: Decimal

    @property
    def share(self) -> Decimal:
        if self.buying_farmers == 0:
            return Decimal(0)
        return Decimal(self.reinvesting_farmers) / Decimal(self.buying_farmers)

    @property
    def exit_ready(self) -> bool:
        return self.buying_farmers > 0 and self.share >= self.threshold


def area_villages(actor: Actor, area: RolloutArea) -> frozenset[int]:
    """The places of an area: its own place and all it contains."""
    return _descendants(actor.session, actor.programme_id, {area.place_id})


def adoption(actor: Actor, area_id: int, as_of: date) -> Adoption:
    """Buying and reinvesting farmers of an area's villages up to ``as_of`` (sales the actor's
    scope reaches)."""
    actor.require(Permission.ROLLOUT_READ)
    area = get(actor, RolloutArea, area_id)
    places = area_villages(actor, area)
    first = (
        select(KitSale.farmer_id, func.min(KitSale.sold_on).label("first_on"))
        .where(
            KitSale.status == "paid",
            KitSale.sold_on <= as_of,
            KitSale.village_id.in_(sorted(places) or [-1]),
        )
        .group_by(KitSale.farmer_id)
    )
    firsts = dict(actor.session.execute(scoped(actor, first)).all())
    again = (
        select(KitSale.farmer_id, func.max(KitSale.sold_on))
        .where(
            KitSale.status == "paid",
            KitSale.sold_on <= as_of,
            KitSale.method != "prepayment",
            KitSale.village_id.in_(sorted(places) or [-1]),
        )
        .group_by(KitSale.farmer_id)
    )
    reinvesting = sum(
        1
        for farmer_id, last_own in actor.session.execute(scoped(actor, again))
        if farmer_id in firsts and last_own > firsts[farmer_id]
    )
    return Adoption(len(firsts), reinvesting, Decimal(area.exit_adoption_share))


@dataclass
class AreaBoard:
    """What a district's rollout board shows."""

    area: RolloutArea
    place: Place
    milestones: list[Milestone]
    history: list[PhaseChange]
    adoption: Adoption
    farmers: int
    agronomists: list[Agronomist]
    sales: int
    sales_amount: Decimal
    currency: str | None
    sub_areas: list[tuple[RolloutArea, Place]] = field(default_factory=list)


def areas(actor: Actor) -> list[tuple[RolloutArea, Place]]:
    """The programme's rollout areas with their places, by name."""
    actor.require(Permission.ROLLOUT_READ)
    rows = actor.session.execute(
        scoped(
            actor, select(RolloutArea, Place).join(Place, Place.id == RolloutArea.place_id)
        ).order_by(Place.name)
    ).all()
    return [(area, place) for area, place in rows]


def board(actor: Actor, area_id: int, as_of: date) -> AreaBoard:
    """An area's rollout board: phase and history, milestones, adoption, team and sales."""
    actor.require(Permission.ROLLOUT_READ)
    area = get(actor, RolloutArea, area_id)
    place = get(actor, Place, area.place_id)
    places = sorted(area_villages(actor, area)) or [-1]
    milestones = list(
        actor.session.scalars(
            scoped(actor, select(Milestone))
            .where(Milestone.area_id == area.id)
            .order_by(Milestone.due_on, Milestone.id)
        )
    )
    history = list(
        actor.session.scalars(
            scoped(actor, select(PhaseChange))
            .where(PhaseChange.area_id == area.id)
            .order_by(PhaseChange.changed_on, PhaseChange.id)
        )
    )
    farmers = actor.session.scalar(
        scoped(actor, select(func.count(Farmer.id))).where(Farmer.village_id.in_(places))
    )
    team = list(
        actor.session.scalars(
            scoped(actor, select(Agronomist))
            .where(
                Agronomist.id.in_(
                    select(CaseloadPlace.agronomist_id).where(CaseloadPlace.place_id.in_(places))
                )
                | (Agronomist.district_id.in_(places))
            )
            .order_by(Agronomist.name)
        )
    )
    sales_row = actor.session.execute(
        scoped(
            actor,
            select(
                func.count(KitSale.id),
                func.coalesce(func.sum(KitSale.amount), 0),
                func.max(KitSale.currency),
            ),
        ).where(KitSale.village_id.in_(places), KitSale.sold_on <= as_of)
    ).one()
    sub_areas = [
        (sub, sub_place)
        for sub, sub_place in areas(actor)
        if sub.id != area.id and sub_place.parent_id == place.id
    ]
    return AreaBoard(
        area=area,
        place=place,
        milestones=milestones,
        history=history,
        adoption=adoption(actor, area.id, as_of),
        farmers=int(farmers or 0),
        agronomists=team,
        sales=int(sales_row[0]),
        sales_amount=Decimal(sales_row[1]).quantize(Decimal("0.01")),
        currency=sales_row[2],
        sub_areas=sub_areas,
    )
