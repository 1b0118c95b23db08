"""Graduation readiness of the farmers an actor's scope reaches, clusters of ready farmers
proposed as producer organizations, and registering one in a single step.

Readiness reads one scoped query per table (farmers, harvests, produce sales, kit sales,
memberships) and computes in :mod:`alianza.platform.graduation.readiness`; clusters in
:mod:`alianza.platform.graduation.clusters`. A farmer already a member of a producer
organization is assessed like any other but never clustered (they have graduated), and
registering refuses them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, select

from alianza.platform.access import Actor, Page, Permission, scoped
from alianza.platform.audit.service import jsonable, record_for
from alianza.platform.errors import NotFound, Refused
from alianza.platform.fieldrecords.models import Harvest, ProduceSale
from alianza.platform.graduation import clusters as clustering
from alianza.platform.graduation import readiness as pure
from alianza.platform.graduation.schemas import (
    ClusterRegistrationIn,
    ClusterRules,
    ReadinessCriteria,
)
from alianza.platform.kits.models import KitSale
from alianza.platform.kits.service import catalogue_of, current_catalogue
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Farmer, Membership, Organization, Place
from alianza.platform.validation import validated
from alianza.problems import Message

PO_KIND = "producer_organization"  # the organization kind an alliance's profile needs
DEFAULT_SEASONS_PER_YEAR = 4  # when the programme has no kit catalogue
SHARE = Decimal("0.0001")


@dataclass(frozen=True)
class CriterionCheck:
    """One criterion for one farmer: the measured figure against the required one."""

    criterion: str  # one of readiness.CRITERIA
    measured: Decimal | int
    required: Decimal | int
    met: bool
    unit: str = ""

    @property
    def reason(self) -> str:
        """Why it is not met, in a line ('volume 310.000 kg/season < 500'), a
        :class:`~alianza.problems.Message` (its figures written for the reader's locale);
        '' when met."""
        if self.met:
            return ""
        measured, required = self.measured, self.required
        match self.criterion:
            case "volume":
                return Message(
                    "volume %(measured)s %(unit)s/season < %(required)s",
                    measured=measured,
                    unit=self.unit,
                    required=required,
                )
            case "grade":
                return Message(
                    "grade share %(measured)s < %(required)s", measured=measured, required=required
                )
            case "deliveries":
                return Message(
                    "seasons delivered %(measured)s < %(required)s",
                    measured=measured,
                    required=required,
                )
            case _:
                return Message(
                    "seasons as a client %(measured)s < %(required)s",
                    measured=measured,
                    required=required,
                )


@dataclass(frozen=True)
class FarmerReadiness:
    """A farmer's figures against every criterion asked for."""

    farmer_id: int
    name: str
    village_id: int
    village: str
    district_id: int | None
    district: str
    volume_per_season: Decimal
    grade_share: Decimal
    seasons_delivered: int
    seasons_as_client: int
    checks: list[CriterionCheck]
    producer_organization_id: int | None = None

    @property
    def ready(self) -> bool:
        return all(check.met for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [check.reason for check in self.checks if not check.met]


@dataclass
class Assessment:
    """The readiness of every farmer assessed, with the window it was measured over."""

    criteria: ReadinessCriteria
    unit: str
    kit_codes: list[str]
    as_of: date
    window_start: date  # first day of the window's first season
    seasons_per_year: int
    farmers: list[FarmerReadiness]
    # internal: window totals per farmer (thousandths), for clustering
    volume_milli: dict[int, int] = field(default_factory=dict, repr=False)
    grades_milli: dict[int, dict[str, int]] = field(default_factory=dict, repr=False)

    @property
    def criteria_asked(self) -> list[str]:
        asked = ["volume", "grade", "deliveries"]
        return asked + (["client"] if self.criteria.min_seasons_as_client is not None else [])

    @property
    def ready_count(self) -> int:
        return sum(1 for f in self.farmers if f.ready)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per criterion asked: (farmers meeting it, farmers not)."""
        found = {}
        for criterion in self.criteria_asked:
            met = sum(
                1 for f in self.farmers for c in f.checks if c.criterion == criterion and c.met
            )
            found[criterion] = (met, len(self.farmers) - met)
        return found


def _seasons_per_year(actor: Actor) -> tuple[int, Any]:
    try:
        catalogue = catalogue_of(current_catalogue(actor))
    except Refused:
        return DEFAULT_SEASONS_PER_YEAR, None
    return catalogue.seasons_per_year, catalogue


def _product(catalogue: Any, product: str) -> tuple[list[str], str]:
    """The kit codes whose harvests count and the unit: a product's kits, or one kit."""
    if catalogue is None:
        raise Refused(
            Message("the programme has no kit catalogue: the product cannot be looked up"),
            rule="kit catalogue",
            field="product",
        )
    products = {p.id: p for p in catalogue.products}
    if product in products:
        kits = sorted(k.id for k in catalogue.kits if k.product == product)
        return kits, products[product].unit
    for kit in catalogue.kits:
        if kit.id == product:
            return [kit.id], products[kit.product].unit
    raise Refused(
        Message(
            "'%(product)s' is neither a product nor a kit of the catalogue "
            "(products: %(products)s)",
            product=product,
            products=", ".join(sorted(products)),
        ),
        rule="product of the catalogue",
        field="product",
    )


def latest_record_day(actor: Actor) -> date | None:
    """The programme's latest harvest or produce sale (programme-wide: the same day for
    everyone, so that a scope does not move the window)."""
    wide = actor.widened()
    days = [
        actor.session.scalar(scoped(wide, select(func.max(Harvest.harvested_on)))),
        actor.session.scalar(scoped(wide, select(func.max(ProduceSale.sold_on)))),
    ]
    found = [d for d in days if d is not None]
    return max(found) if found else None


def _districts(actor: Actor) -> tuple[dict[int, Place], dict[int, Place | None]]:
    lineages = registry.place_lineages(actor)
    places = {place_id: lineage[next(iter(lineage))] for place_id, lineage in lineages.items()}
    return places, {pid: lineage.get("district") for pid, lineage in lineages.items()}


def assess(
    actor: Actor,
    criteria: ReadinessCriteria | dict[str, Any] | None = None,
    *,
    district_id: int | None = None,
    village_id: int | None = None,
    farmer_ids: list[int] | None = None,
) -> Assessment:
    """The readiness of every farmer the actor's scope reaches (of a district, a village, or
    the farmers named), by district, village and name."""
    actor.require(Permission.FIELD_READ)
    actor.require(Permission.REGISTRY_READ)
    wanted = validated(ReadinessCriteria, criteria if criteria is not None else {})
    seasons_per_year, catalogue = _seasons_per_year(actor)
    kit_codes, unit = _product(catalogue, wanted.product)
    as_of = wanted.as_of or latest_record_day(actor) or date.today()
    window_end = pure.season_of(as_of, seasons_per_year)
    first_season = window_end - wanted.seasons + 1
    window_start = pure.season_start(first_season, seasons_per_year)
    places, district_of = _districts(actor)

    query: Any = select(Farmer.id, Farmer.name, Farmer.village_id)
    villages: list[int] | None = None
    if village_id is not None:
        villages = [village_id]
    if district_id is not None:
        within = [pid for pid, d in district_of.items() if d is not None and d.id == district_id]
        villages = within if villages is None else [v for v in villages if v in within]
    if villages is not None:
        query = query.where(Farmer.village_id.in_(_listed_ids(villages)))
    if farmer_ids is not None:
        query = query.where(Farmer.id.in_(_listed_ids(farmer_ids)))
    rows = actor.session.execute(scoped(actor, query).order_by(Farmer.id)).all()
    index = {farmer_id: i for i, (farmer_id, _, _) in enumerate(rows)}
    if farmer_ids is not None:
        villages = sorted({village for _, _, village in rows})

    def narrowed(statement: Any, village_column: Any) -> Any:
        # A filter narrows each table's query to the same villages; rows of farmers not
        # assessed are dropped below.
        if villages is None:
            return statement
        return statement.where(village_column.in_(_listed_ids(villages)))

    harvests = actor.session.execute(
        narrowed(
            scoped(
                actor,
                _columns(Harvest.farmer_id, Harvest.harvested_on, Harvest.quantity, Harvest.grade),
            ).where(
                Harvest.kit_code.in_(kit_codes),
                Harvest.unit == unit,
                Harvest.harvested_on >= window_start,
                Harvest.harvested_on <= as_of,
            ),
            Harvest.village_id,
        )
    ).all()
    sales = actor.session.execute(
        narrowed(
            scoped(actor, _columns(ProduceSale.farmer_id, ProduceSale.sold_on)).where(
                ProduceSale.kit_code.in_(kit_codes),
                ProduceSale.unit == unit,
                ProduceSale.quantity > 0,
                ProduceSale.sold_on >= window_start,
                ProduceSale.sold_on <= as_of,
            ),
            ProduceSale.village_id,
        )
    ).all()
    first_purchases = actor.session.execute(
        narrowed(
            scoped(actor, _columns(KitSale.farmer_id, func.min(KitSale.sold_on)))
            .where(KitSale.sold_on <= as_of)
            .group_by(KitSale.farmer_id),
            KitSale.village_id,
        )
    ).all()
    # Programme-wide: a membership of a PO outside the scope still means graduated.
    in_po = {
        farmer_id: organization_id
        for farmer_id, organization_id in actor.session.execute(
            scoped(
                actor.widened(),
                _columns(Membership.farmer_id, func.min(Membership.organization_id)).join(
                    Organization, Organization.id == Membership.organization_id
                ),
            )
            .where(Organization.kind == PO_KIND)
            .group_by(Membership.farmer_id)
        )
        if farmer_id in index
    }

    grades = set(wanted.grades)
    kept = [h for h in harvests if h[0] in index]
    h_farmer = np.array([index[h[0]] for h in kept], dtype=np.int64)
    h_season = np.array([pure.season_of(h[1], seasons_per_year) for h in kept], dtype=np.int64)
    h_milli = np.array([pure.to_milli(Decimal(h[2])) for h in kept], dtype=np.int64)
    h_graded = np.array([h[3] in grades for h in kept], dtype=bool)
    sold = [s for s in sales if s[0] in index]
    first = np.full(len(rows), -1, dtype=np.int64)
    for farmer_id, day in first_purchases:
        if farmer_id in index:
            first[index[farmer_id]] = pure.season_of(day, seasons_per_year)
    measured = pure.measure(
        len(rows),
        window_end,
        wanted.seasons,
        h_farmer,
        h_season,
        h_milli,
        h_graded,
        np.array([index[s[0]] for s in sold], dtype=np.int64),
        np.array([pure.season_of(s[1], seasons_per_year) for s in sold], dtype=np.int64),
        first,
    )
    thresholds = pure.Thresholds(
        seasons=wanted.seasons,
        min_volume_milli=pure.to_milli(wanted.min_volume_per_season),
        min_grade_share=Fraction(wanted.min_grade_share),
        min_seasons_delivered=wanted.min_seasons_delivered,
        min_seasons_as_client=wanted.min_seasons_as_client,
    )
    met = pure.assess(measured, thresholds)
    grades_milli: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (farmer_id, _day, _quantity, grade), milli in zip(kept, h_milli.tolist(), strict=True):
        grades_milli[farmer_id][grade] += milli
    # Python lists, not NumPy scalars, for the per-farmer loop (a scalar's access costs more).
    volumes, graded_volumes = measured.volume_milli.tolist(), measured.graded_milli.tolist()
    delivered, as_client = measured.seasons_delivered.tolist(), measured.seasons_as_client.tolist()
    met_lists = {criterion: values.tolist() for criterion, values in met.items()}
    volume_per_season = {  # the same figure for the same total: computed once
        total: pure.from_milli(total, wanted.seasons) for total in set(volumes)
    }

    found: list[FarmerReadiness] = []
    volume_milli: dict[int, int] = {}
    for i, (farmer_id, name, farmer_village) in enumerate(rows):
        volume, graded = volumes[i], graded_volumes[i]
        volume_milli[farmer_id] = volume
        share = (
            (Decimal(graded) / Decimal(volume)).quantize(SHARE, ROUND_HALF_EVEN)
            if volume
            else Decimal("0.0000")
        )
        checks = [
            CriterionCheck(
                "volume",
                volume_per_season[volume],
                wanted.min_volume_per_season,
                met_lists["volume"][i],
                unit,
            ),
            CriterionCheck("grade", share, wanted.min_grade_share, met_lists["grade"][i]),
            CriterionCheck(
                "deliveries",
                delivered[i],
                wanted.min_seasons_delivered,
                met_lists["deliveries"][i],
            ),
        ]
        if wanted.min_seasons_as_client is not None:
            checks.append(
                CriterionCheck(
                    "client",
                    as_client[i],
                    wanted.min_seasons_as_client,
                    met_lists["client"][i],
                )
            )
        village = places.get(farmer_village)
        district = district_of.get(farmer_village)
        found.append(
            FarmerReadiness(
                farmer_id=farmer_id,
                name=name,
                village_id=farmer_village,
                village=village.name if village is not None else "",
                district_id=district.id if district is not None else None,
                district=district.name if district is not None else "",
                volume_per_season=volume_per_season[volume],
                grade_share=share,
                seasons_delivered=delivered[i],
                seasons_as_client=as_client[i],
                checks=checks,
                producer_organization_id=in_po.get(farmer_id),
            )
        )
    found.sort(key=lambda f: (f.district, f.village, f.name, f.farmer_id))
    return Assessment(
        criteria=wanted,
        unit=unit,
        kit_codes=kit_codes,
        as_of=as_of,
        window_start=window_start,
        seasons_per_year=seasons_per_year,
        farmers=found,
        volume_milli=volume_milli,
        grades_milli={k: dict(v) for k, v in grades_milli.items()},
    )


def _columns(*columns: Any) -> Any:
    """A select of some columns (typed loosely: :func:`scoped` takes any select)."""
    return select(*columns)


def _listed_ids(ids: list[int]) -> Any:
    # Rendered inline (integers only), as the scopes' place lists are: more ids than SQLite
    # takes parameters, and one cached statement shape whatever their number.
    return bindparam(
        "listed_ids", sorted(ids) or [-1], expanding=True, literal_execute=True, unique=True
    )


READY_FILTERS = ("ready", "not_ready")


def readiness(
    actor: Actor,
    criteria: ReadinessCriteria | dict[str, Any] | None = None,
    *,
    district_id: int | None = None,
    village_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Page, Assessment]:
    """A page of :func:`assess`'s farmers (only the ready or the not ready ones, with
    ``status``), and the whole assessment for its counts."""
    found = assess(actor, criteria, district_id=district_id, village_id=village_id)
    return page_of(found, status=status, limit=limit, offset=offset), found


def page_of(
    found: Assessment,
    *,
    village_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """A page of an assessment's farmers (of a village; only the ready or the not ready)."""
    if not 1 <= limit <= 1000 or offset < 0:
        raise Refused(
            Message("limit lies between 1 and 1000 and offset is not negative"), field="limit"
        )
    if status is not None and status not in READY_FILTERS:
        raise Refused(
            Message("status is one of %(filters)s", filters=", ".join(READY_FILTERS)),
            field="status",
        )
    rows = [
        f
        for f in found.farmers
        if (village_id is None or f.village_id == village_id)
        and (status is None or f.ready == (status == "ready"))
    ]
    return Page(rows[offset : offset + limit], len(rows))


# --- clusters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterProposal:
    """Ready farmers of nearby villages, proposed as one producer organization."""

    district_id: int
    district: str
    grouping: str  # "radius" or "district" (villages without GPS points)
    villages: list[tuple[int, str]]
    farmer_ids: list[int]
    volume_per_season: Decimal
    grades: dict[str, Decimal]  # volume per season at each grade
    place_id: int  # where the organization would be registered
    suggested_name: str

    @property
    def key(self) -> str:
        """A stable reference to the proposal: its district and villages."""
        return f"{self.district_id}:" + "-".join(str(v) for v, _ in self.villages)


def _common_place(villages: list[int], lineages: dict[int, dict[str, Place]]) -> int:
    """The smallest place holding every village (the village itself when there is one)."""
    chains = [list(lineages[v].values()) for v in villages]  # each from the village up
    shared = set.intersection(*({p.id for p in chain} for chain in chains))
    return next(p.id for p in chains[0] if p.id in shared)


def _centroids(actor: Actor, village_ids: list[int]) -> dict[int, tuple[float, float]]:
    """The mean of each village's farmers' GPS points (farmers without one left out).

    Read programme-wide: a village's place is a fact about the village, not about which of
    its farmers the scope reaches (a scope of places sees whole villages anyway)."""
    rows = actor.session.execute(
        scoped(
            actor.widened(),
            _columns(Farmer.village_id, func.avg(Farmer.latitude), func.avg(Farmer.longitude)),
        )
        .where(
            Farmer.village_id.in_(village_ids or [-1]),
            Farmer.latitude.is_not(None),
            Farmer.longitude.is_not(None),
        )
        .group_by(Farmer.village_id)
    ).all()
    return {v: (float(lat), float(lon)) for v, lat, lon in rows}


def _proposals(
    actor: Actor, found: Assessment, rules: ClusterRules, taken: set[str]
) -> list[ClusterProposal]:
    candidates = [f for f in found.farmers if f.ready and f.producer_organization_id is None]
    seasons = found.criteria.seasons
    village_ids = sorted({f.village_id for f in candidates})
    centroid = _centroids(actor, village_ids)
    district_of = {f.village_id: f.district_id for f in candidates}
    villages = [
        clustering.Village(v, district_of[v] or 0, *centroid.get(v, (None, None)))
        for v in village_ids
    ]
    members = [
        clustering.Member(
            f.farmer_id,
            f.village_id,
            found.volume_milli[f.farmer_id],
            found.grades_milli.get(f.farmer_id, {}),
        )
        for f in candidates
    ]
    groups = clustering.cluster(
        villages,
        members,
        float(rules.radius_km),
        rules.min_farmers,
        pure.to_milli(rules.min_volume_per_season) * seasons,
    )
    lineages = registry.place_lineages(actor)
    by_farmer = {f.farmer_id: f for f in candidates}
    proposals = []
    for group in groups:
        per_village: dict[int, int] = defaultdict(int)
        for farmer_id in group.farmer_ids:
            per_village[by_farmer[farmer_id].village_id] += 1
        names = {v: lineages[v][next(iter(lineages[v]))].name for v in group.village_ids}
        district = lineages[group.village_ids[0]].get("district")
        biggest = min(group.village_ids, key=lambda v: (-per_village[v], names[v]))
        area = lineages[biggest].get("municipality") or district
        name = f"{names[biggest]} Producers' Organization"
        if name in taken and area is not None:
            name = f"{names[biggest]} Producers' Organization ({area.name})"
        number = 2
        while name in taken:
            name = f"{names[biggest]} Producers' Organization {number}"
            number += 1
        taken.add(name)
        proposals.append(
            ClusterProposal(
                district_id=group.district_id,
                district=district.name if district else "",
                grouping=group.grouping,
                villages=[(v, names[v]) for v in group.village_ids],
                farmer_ids=group.farmer_ids,
                volume_per_season=pure.from_milli(group.volume_milli, seasons),
                grades={g: pure.from_milli(m, seasons) for g, m in group.grades.items()},
                place_id=_common_place(group.village_ids, lineages),
                suggested_name=name,
            )
        )
    return proposals


def _po_names(actor: Actor) -> set[str]:
    return set(
        actor.session.scalars(
            scoped(actor.widened(), select(Organization.name)).where(Organization.kind == PO_KIND)
        )
    )


def clusters(
    actor: Actor,
    criteria: ReadinessCriteria | dict[str, Any] | None = None,
    rules: ClusterRules | dict[str, Any] | None = None,
    *,
    district_id: int | None = None,
) -> tuple[list[ClusterProposal], Assessment]:
    """The clusters of ready farmers (not yet in a producer organization) the actor's scope
    reaches, proposed as producer organizations, the largest volume first; and the
    assessment they come from."""
    found = assess(actor, criteria, district_id=district_id)
    return propose(actor, found, rules), found


def propose(
    actor: Actor, found: Assessment, rules: ClusterRules | dict[str, Any] | None = None
) -> list[ClusterProposal]:
    """The clusters of an :func:`assess`-ment's ready farmers (see :func:`clusters`)."""
    wanted_rules = validated(ClusterRules, rules if rules is not None else {})
    return _proposals(actor, found, wanted_rules, _po_names(actor))


# --- registering a cluster --------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    """The producer organization registered and its members."""

    organization: Organization
    member_ids: list[int]
    volume_per_season: Decimal


def _joined(items: Sequence[str], separator: str = ";") -> str:
    """Words in a row, each said in the reader's language: 'a; b; c' (``separator`` ';'),
    'a, b, c' (',')."""
    joined = items[0]
    for item in items[1:]:
        joined = (
            Message("%(items)s; %(item)s", items=joined, item=item)
            if separator == ";"
            else Message("%(items)s, %(item)s", items=joined, item=item)
        )
    return joined


def _listed(items: Sequence[str], most: int = 5) -> str:
    """The first ``most`` items, and how many more: 'a; b; c; d; e; and 2 more'."""
    shown = _joined(items[:most])
    if len(items) <= most:
        return shown
    return Message("%(items)s; and %(count)s more", items=shown, count=len(items) - most)


def _farmer(farmer: FarmerReadiness) -> Message:
    return Message("%(name)s (%(id)s)", name=farmer.name, id=farmer.farmer_id)


def register_cluster(actor: Actor, data: ClusterRegistrationIn | dict[str, Any]) -> Registered:
    """Register a cluster's farmers as a producer organization in one step: the organization
    (in the smallest place holding their villages) and every farmer as a member joined today,
    each audited, and one audit entry with the criteria and rules it was registered under.

    Refused, with nothing written, when a farmer is out of reach, no longer ready, already a
    member of a producer organization, or when the farmers no longer form one cluster under
    the rules (one district, villages within the radius, the minima)."""
    actor.require(Permission.GRADUATION_REGISTER)
    wanted = validated(ClusterRegistrationIn, data)
    found = assess(actor, wanted.criteria, farmer_ids=wanted.farmer_ids)
    by_id = {f.farmer_id: f for f in found.farmers}
    if missing := [f for f in wanted.farmer_ids if f not in by_id]:
        raise NotFound(Message("no farmer %(ids)s", ids=", ".join(str(f) for f in missing[:5])))
    if unready := [f for f in found.farmers if not f.ready]:
        why = [
            Message("%(farmer)s: %(reasons)s", farmer=_farmer(f), reasons=_joined(f.reasons, ","))
            for f in unready
        ]
        raise Refused(
            Message("not every farmer is ready any more: %(farmers)s", farmers=_listed(why)),
            rule="ready farmers",
            field="farmer_ids",
        )
    if members := [f for f in found.farmers if f.producer_organization_id is not None]:
        raise Refused(
            Message(
                "already members of a producer organization: %(farmers)s",
                farmers=_listed([_farmer(f) for f in members]),
            ),
            rule="one producer organization",
            field="farmer_ids",
        )
    proposals = _proposals(actor, found, wanted.rules, set())
    if len(proposals) != 1 or set(proposals[0].farmer_ids) != set(wanted.farmer_ids):
        districts = {f.district_id for f in found.farmers}
        total = sum(found.volume_milli.values())
        minimum = pure.to_milli(wanted.rules.min_volume_per_season) * wanted.criteria.seasons
        if len(districts) > 1:
            reason = Message("the farmers live in more than one district")
        elif len(wanted.farmer_ids) < wanted.rules.min_farmers:
            reason = Message(
                "%(farmers)s farmers are fewer than the %(minimum)s a cluster needs",
                farmers=len(wanted.farmer_ids),
                minimum=wanted.rules.min_farmers,
            )
        elif total < minimum:
            reason = Message(
                "their volume %(volume)s %(unit)s/season is less than the %(minimum)s a "
                "cluster needs",
                volume=pure.from_milli(total, wanted.criteria.seasons),
                unit=found.unit,
                minimum=wanted.rules.min_volume_per_season,
            )
        else:
            reason = Message(
                "their villages are not all within %(radius)s km of one another",
                radius=wanted.rules.radius_km,
            )
        raise Refused(
            Message("the farmers do not form one cluster: %(reason)s", reason=reason),
            rule="one cluster",
            field="farmer_ids",
        )
    proposal = proposals[0]
    organization = registry.add_organization(
        actor,
        {
            "kind": PO_KIND,
            "name": wanted.name,
            "place_id": proposal.place_id,
            "registration_number": wanted.registration_number,
            "founded_year": wanted.founded_year,
        },
    )
    today = date.today()
    for farmer_id in proposal.farmer_ids:
        membership = Membership(
            programme_id=actor.programme_id,
            farmer_id=farmer_id,
            organization_id=organization.id,
            joined_on=today,
        )
        actor.session.add(membership)
        record_for(actor, "create", membership)
    record_for(
        actor,
        "register_cluster",
        organization,
        after=jsonable(
            {
                "organization_id": organization.id,
                "farmer_ids": proposal.farmer_ids,
                "village_ids": [v for v, _ in proposal.villages],
                "volume_per_season": proposal.volume_per_season,
                "unit": found.unit,
                "as_of": found.as_of,
                "criteria": wanted.criteria.model_dump(),
                "rules": wanted.rules.model_dump(),
            }
        ),
    )
    actor.session.flush()
    return Registered(organization, proposal.farmer_ids, proposal.volume_per_season)


def window_label(found: Assessment) -> tuple[date, date]:
    """The window's first and last day (the last season's end, which may lie after as_of)."""
    end_season = pure.season_of(found.as_of, found.seasons_per_year)
    last = pure.season_start(end_season + 1, found.seasons_per_year) - timedelta(days=1)
    return found.window_start, last
