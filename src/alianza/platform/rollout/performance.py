"""Performance against peers: each agronomist's and each district's figures for a period, beside
the peers' median and the agronomist's (or district's) rank and quartile among them.

Figures (``start`` to ``end``, both included):

- ``farmers``: farmers registered in the agronomist's caseload villages (the district's
  villages); ``villages``, ``groups``: caseload villages and the groups (savings groups,
  clubs, incubators, POs) meeting there (a district's villages: those with farmers);
  ``agronomists``: a district's agronomists;
- ``visits``: field visits and inspections the agronomist recorded in the period (in the
  district's villages);
- ``sales``, ``sales_value``, ``commission``: paid kit sales the agronomist made in the period
  (in the district), their amount and the agronomist's commission, in the programme's
  reporting currency at the rate of the period's last day;
- ``reinvestment_rate``: of the farmers of those villages who had bought a kit by ``end``, the
  share who bought again, paying themselves (cash or mobile money, not an off-taker's
  prepayment), after their first purchase — the adoption figure of
  :mod:`alianza.platform.rollout.service`, at ``end``.

Every figure is a SQL aggregate (GROUP BY agronomist, or by village and then folded into its
district); medians and ranks are then taken over the peers' figures.

**Peers and who sees what.** Peers are the agronomists (districts) the actor may see, figures
over the records their scope reaches: a programme-wide role sees every agronomist of the
programme by name; a places-scoped manager or field officer, the agronomists working in their
places. An agronomist sees their *own* row only, with the median, their rank and quartile
among all the programme's agronomists — the peers' own figures and names are never returned
to them. District figures are for those who oversee districts: an agronomist is refused.

``rank`` is 1 for the highest value (ties share a rank: 1 + the peers strictly above);
``quartile`` is 1 for the top quarter: ``1 + floor(4 (rank - 1) / peers)``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import case, func, select

from alianza.platform.access import Actor, Permission, Role, scoped
from alianza.platform.errors import Forbidden, Refused
from alianza.platform.fieldrecords.models import FieldVisit
from alianza.platform.kits.models import KitSale
from alianza.platform.programmes.service import rate_on
from alianza.platform.registry.models import Farmer, Organization
from alianza.platform.rollout.models import Agronomist, CaseloadPlace
from alianza.platform.rollout.team import GROUP_KINDS, agronomist_of
from alianza.problems import Message

FIGURES = (
    "farmers",
    "villages",
    "groups",
    "visits",
    "sales",
    "sales_value",
    "commission",
    "reinvestment_rate",
)
DISTRICT_FIGURES = (
    "farmers",
    "agronomists",
    "villages",
    "visits",
    "sales",
    "sales_value",
    "commission",
    "reinvestment_rate",
)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Benchmark:
    """One figure beside the peers' median, with its rank and quartile among the peers."""

    value: float
    peer_median: float
    rank: int
    quartile: int


@dataclass(frozen=True)
class PerformanceRow:
    """One agronomist's (or district's) figures, each benchmarked."""

    id: int
    name: str
    district: str
    figures: dict[str, float]
    benchmarks: dict[str, Benchmark]
    buying_farmers: int
    reinvesting_farmers: int


@dataclass(frozen=True)
class PerformanceTable:
    """The rows the actor may see, the peers' medians, and how many peers there are."""

    start: date
    end: date
    currency: str
    peers: int
    peer_basis: str  # "programme": all the programme's; "scope": those the actor may see
    figures: tuple[str, ...]
    rows: list[PerformanceRow]
    medians: dict[str, float] = field(default_factory=dict)


def _period(start: date, end: date) -> None:
    if end < start:
        raise Refused(Message("the period ends before it starts"), rule="period", field="end")


def ranks(values: dict[int, float]) -> dict[int, tuple[int, int]]:
    """(rank, quartile) of each value among all of them (see the module's docstring)."""
    n = len(values)
    ordered = sorted(values.values(), reverse=True)
    found = {}
    for key, value in values.items():
        rank = 1 + sum(1 for other in ordered if other > value)
        found[key] = (rank, 1 + (4 * (rank - 1)) // n)
    return found


def _benchmarked(
    ids: list[int], figures: dict[int, dict[str, float]], names: tuple[str, ...]
) -> tuple[dict[str, float], dict[int, dict[str, Benchmark]]]:
    medians: dict[str, float] = {}
    marks: dict[int, dict[str, Benchmark]] = {i: {} for i in ids}
    for name in names:
        values = {i: figures[i][name] for i in ids}
        if not values:
            continue
        medians[name] = float(statistics.median(values.values()))
        for i, (rank, quartile) in ranks(values).items():
            marks[i][name] = Benchmark(values[i], medians[name], rank, quartile)
    return medians, marks


def _reporting(actor: Actor, totals: dict[Any, dict[str, Decimal]], end: date) -> dict[Any, float]:
    """Amounts by key and currency, in the reporting currency at ``end``'s rate (cents)."""
    found: dict[Any, float] = {}
    for key, by_currency in totals.items():
        total = sum(
            (amount / rate_on(actor, currency, end) for currency, amount in by_currency.items()),
            Decimal(0),
        )
        # Rounded half-even to cents: a benchmark is a report (the ledger keeps exact sums).
        found[key] = float(Decimal(total).quantize(CENT, rounding=ROUND_HALF_EVEN))
    return found


def _purchasers(actor: Actor, end: date) -> Any:
    """Per farmer (scoped): the first paid purchase and the last one paid with own money."""
    own = case((KitSale.method != "prepayment", KitSale.sold_on), else_=None)
    return (
        scoped(
            actor,
            select(
                KitSale.farmer_id.label("farmer_id"),
                func.min(KitSale.sold_on).label("first_on"),
                func.max(own).label("last_own"),
            ).where(KitSale.status == "paid", KitSale.sold_on <= end),
        )
        .group_by(KitSale.farmer_id)
        .subquery()
    )


def _grouped(actor: Actor, statement: Any) -> dict[Any, tuple[Any, ...]]:
    return {row[0]: tuple(row[1:]) for row in actor.session.execute(scoped(actor, statement))}


def agronomist_figures(
    actor: Actor, start: date, end: date
) -> tuple[dict[int, Agronomist], dict[int, dict[str, float]], dict[int, tuple[int, int]]]:
    """Every agronomist the actor's scope reaches and their figures (module docstring), with
    (buying, reinvesting) farmers: one GROUP BY query per figure."""
    agronomists = {
        a.id: a
        for a in actor.session.scalars(scoped(actor, select(Agronomist)).order_by(Agronomist.name))
    }
    caseload = CaseloadPlace.agronomist_id
    villages = _grouped(actor, select(caseload, func.count(CaseloadPlace.id)).group_by(caseload))
    groups = _grouped(
        actor,
        select(caseload, func.count(Organization.id))
        .join(Organization, Organization.place_id == CaseloadPlace.place_id)
        .where(Organization.kind.in_(GROUP_KINDS))
        .group_by(caseload),
    )
    farmers = _grouped(
        actor,
        select(caseload, func.count(Farmer.id))
        .join(Farmer, Farmer.village_id == CaseloadPlace.place_id)
        .group_by(caseload),
    )
    visits = _grouped(
        actor,
        select(FieldVisit.agronomist_id, func.count(FieldVisit.id))
        .where(FieldVisit.visited_on >= start, FieldVisit.visited_on <= end)
        .group_by(FieldVisit.agronomist_id),
    )
    sales: dict[int, int] = {}
    value: dict[int, dict[str, Decimal]] = {}
    commission: dict[int, dict[str, Decimal]] = {}
    rows = actor.session.execute(
        scoped(
            actor,
            select(
                KitSale.agronomist_id,
                KitSale.currency,
                func.count(KitSale.id),
                func.sum(KitSale.amount),
                func.sum(KitSale.commission),
            ),
        )
        .where(KitSale.status == "paid", KitSale.sold_on >= start, KitSale.sold_on <= end)
        .group_by(KitSale.agronomist_id, KitSale.currency)
    )
    for agronomist_id, currency, count, amount, paid in rows:
        sales[agronomist_id] = sales.get(agronomist_id, 0) + int(count)
        value.setdefault(agronomist_id, {})[currency] = Decimal(amount)
        commission.setdefault(agronomist_id, {})[currency] = Decimal(paid)
    buyers = _purchasers(actor, end)
    adoption = _grouped(
        actor,
        select(
            caseload,
            func.count(buyers.c.farmer_id),
            func.sum(case((buyers.c.last_own > buyers.c.first_on, 1), else_=0)),
        )
        .join(Farmer, Farmer.village_id == CaseloadPlace.place_id)
        .join(buyers, buyers.c.farmer_id == Farmer.id)
        .group_by(caseload),
    )
    values = _reporting(actor, value, end)
    commissions = _reporting(actor, commission, end)
    figures: dict[int, dict[str, float]] = {}
    counts: dict[int, tuple[int, int]] = {}
    for i in agronomists:
        bought, again = adoption.get(i, (0, 0))
        counts[i] = (int(bought or 0), int(again or 0))
        figures[i] = {
            "farmers": float(farmers.get(i, (0,))[0]),
            "villages": float(villages.get(i, (0,))[0]),
            "groups": float(groups.get(i, (0,))[0]),
            "visits": float(visits.get(i, (0,))[0]),
            "sales": float(sales.get(i, 0)),
            "sales_value": values.get(i, 0.0),
            "commission": commissions.get(i, 0.0),
            "reinvestment_rate": counts[i][1] / counts[i][0] if counts[i][0] else 0.0,
        }
    return agronomists, figures, counts


def _district_names(actor: Actor, ids: set[int]) -> dict[int, str]:
    from alianza.platform.registry.models import Place

    if not ids:
        return {}
    rows = actor.session.execute(
        scoped(actor, select(Place.id, Place.name)).where(Place.id.in_(ids))
    )
    return {place_id: name for place_id, name in rows}


def agronomist_performance(actor: Actor, start: date, end: date) -> PerformanceTable:
    """Each agronomist's figures for the period against their peers' (module docstring)."""
    actor.require(Permission.ROLLOUT_READ)
    actor.require(Permission.FIELD_READ)
    _period(start, end)
    own_only = actor.role is Role.AGRONOMIST
    basis = actor
    own_id = None
    if own_only:
        own = agronomist_of(actor)
        own_id = own.id if own is not None else None
        # Peers' figures feed the median and ranks only; no other row leaves this function.
        basis = actor.widened()
    agronomists, figures, counts = agronomist_figures(basis, start, end)
    ids = list(agronomists)
    medians, marks = _benchmarked(ids, figures, FIGURES)
    # an agronomist's own row only (none for a user not signed in as an agronomist)
    shown = [i for i in ids if not own_only or i == own_id]
    districts = _district_names(actor, {agronomists[i].district_id for i in shown})
    rows = [
        PerformanceRow(
            id=i,
            name=agronomists[i].name,
            district=districts.get(agronomists[i].district_id, ""),
            figures=figures[i],
            benchmarks=marks[i],
            buying_farmers=counts[i][0],
            reinvesting_farmers=counts[i][1],
        )
        for i in shown
    ]
    return PerformanceTable(
        start=start,
        end=end,
        currency=actor.programme().reporting_currency,
        peers=len(ids),
        peer_basis="programme" if basis.scope.whole_programme else "scope",
        figures=FIGURES,
        rows=rows,
        medians=medians,
    )


def district_figures(
    actor: Actor, start: date, end: date
) -> tuple[dict[int, str], dict[int, dict[str, float]], dict[int, tuple[int, int]]]:
    """Every district the actor's scope reaches records in, and its figures: grouped by
    village in SQL, each village folded into its district."""
    from alianza.platform.fieldrecords.records import place_tree

    tree = place_tree(actor)
    district_of: dict[int, int] = {}
    for place_id in tree.places:
        home = tree.district_of(place_id)
        if home is not None:
            district_of[place_id] = home.id
    names = {d.id: d.name for d in tree.districts()}

    def by_district(rows: dict[Any, tuple[Any, ...]], width: int = 1) -> dict[int, list[float]]:
        folded: dict[int, list[float]] = {}
        for village_id, values in rows.items():
            district = district_of.get(village_id)
            if district is None:
                continue
            into = folded.setdefault(district, [0.0] * width)
            for position, v in enumerate(values):
                into[position] += float(v or 0)
        return folded

    per_village = _grouped(
        actor, select(Farmer.village_id, func.count(Farmer.id)).group_by(Farmer.village_id)
    )
    farmers = by_district(per_village)
    villages = by_district({v: (1,) for v, (n,) in per_village.items() if n})
    agronomists: dict[int, float] = {}
    for _agronomist_id, district_id in actor.session.execute(
        scoped(actor, select(Agronomist.id, Agronomist.district_id))
    ):
        agronomists[district_id] = agronomists.get(district_id, 0) + 1
    visits = by_district(
        _grouped(
            actor,
            select(FieldVisit.village_id, func.count(FieldVisit.id))
            .where(FieldVisit.visited_on >= start, FieldVisit.visited_on <= end)
            .group_by(FieldVisit.village_id),
        )
    )
    sales: dict[int, int] = {}
    value: dict[int, dict[str, Decimal]] = {}
    commission: dict[int, dict[str, Decimal]] = {}
    for village_id, currency, count, amount, paid in actor.session.execute(
        scoped(
            actor,
            select(
                KitSale.village_id,
                KitSale.currency,
                func.count(KitSale.id),
                func.sum(KitSale.amount),
                func.sum(KitSale.commission),
            ),
        )
        .where(KitSale.status == "paid", KitSale.sold_on >= start, KitSale.sold_on <= end)
        .group_by(KitSale.village_id, KitSale.currency)
    ):
        district = district_of.get(village_id)
        if district is None:
            continue
        sales[district] = sales.get(district, 0) + int(count)
        into = value.setdefault(district, {})
        into[currency] = into.get(currency, Decimal(0)) + Decimal(amount)
        paid_into = commission.setdefault(district, {})
        paid_into[currency] = paid_into.get(currency, Decimal(0)) + Decimal(paid)
    buyers = _purchasers(actor, end)
    adoption = by_district(
        _grouped(
            actor,
            select(
                Farmer.village_id,
                func.count(buyers.c.farmer_id),
                func.sum(case((buyers.c.last_own > buyers.c.first_on, 1), else_=0)),
            )
            .join(buyers, buyers.c.farmer_id == Farmer.id)
            .group_by(Farmer.village_id),
        ),
        width=2,
    )
    values = _reporting(actor, value, end)
    commissions = _reporting(actor, commission, end)
    present = set(farmers) | set(sales) | set(agronomists) | set(visits)
    figures: dict[int, dict[str, float]] = {}
    counts: dict[int, tuple[int, int]] = {}
    for d in sorted(present & names.keys(), key=lambda d: names[d]):
        bought, again = adoption.get(d, [0.0, 0.0])
        counts[d] = (int(bought), int(again))
        figures[d] = {
            "farmers": farmers.get(d, [0.0])[0],
            "agronomists": float(agronomists.get(d, 0)),
            "villages": villages.get(d, [0.0])[0],
            "visits": visits.get(d, [0.0])[0],
            "sales": float(sales.get(d, 0)),
            "sales_value": values.get(d, 0.0),
            "commission": commissions.get(d, 0.0),
            "reinvestment_rate": again / bought if bought else 0.0,
        }
    return {d: names[d] for d in figures}, figures, counts


def district_performance(actor: Actor, start: date, end: date) -> PerformanceTable:
    """Each district's figures for the period against the other districts' (module
    docstring); refused to an agronomist (their scope is villages, not districts)."""
    actor.require(Permission.ROLLOUT_READ)
    actor.require(Permission.FIELD_READ)
    if actor.role is Role.AGRONOMIST:
        raise Forbidden(
            Message(
                "district figures are for those who oversee districts; an agronomist compares "
                "their own figures with their peers'"
            ),
            rule="performance scope",
        )
    _period(start, end)
    names, figures, counts = district_figures(actor, start, end)
    ids = list(names)
    medians, marks = _benchmarked(ids, figures, DISTRICT_FIGURES)
    rows = [
        PerformanceRow(
            id=d,
            name=names[d],
            district=names[d],
            figures=figures[d],
            benchmarks=marks[d],
            buying_farmers=counts[d][0],
            reinvesting_farmers=counts[d][1],
        )
        for d in ids
    ]
    return PerformanceTable(
        start=start,
        end=end,
        currency=actor.programme().reporting_currency,
        peers=len(ids),
        peer_basis="programme" if actor.scope.whole_programme else "scope",
        figures=DISTRICT_FIGURES,
        rows=rows,
        medians=medians,
    )


def default_period(actor: Actor, today: date | None = None) -> tuple[date, date]:
    """The year (365 days) up to the latest paid kit sale the actor's scope reaches (today at
    the latest; today when there is none)."""
    from datetime import timedelta

    today = today or date.today()
    latest = actor.session.scalar(
        scoped(actor, select(func.max(KitSale.sold_on))).where(KitSale.status == "paid")
    )
    end = min(latest, today) if latest is not None else today
    return end - timedelta(days=364), end
