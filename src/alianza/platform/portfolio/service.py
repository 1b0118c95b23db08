"""Portfolio queries the dashboards need: one SQL aggregate each, then a small fold in Python."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Integer, case, cast, extract, func, select

from alianza.platform.access import Actor, Permission, scoped
from alianza.platform.agreements.models import Agreement, Delivery
from alianza.platform.calls.models import Call
from alianza.platform.ledger.service import AccountBalance, balances
from alianza.platform.registry.models import YOUTH_MAX_AGE, Farmer, Membership, Organization
from alianza.platform.registry.service import place_lineages
from alianza.platform.subprojects.models import Subproject


def balances_at(actor: Actor, at: date) -> list[AccountBalance]:
    """Every account's balance at the end of ``at``."""
    return balances(actor, at)


@dataclass(frozen=True)
class QuarterSales:
    organization_id: int
    organization: str
    year: int
    quarter: int
    currency: str
    quantity: Decimal
    amount: Decimal


def sales_by_po_by_quarter(actor: Actor, start: date, end: date) -> list[QuarterSales]:
    """Deliveries to buyers under agreements, by PO and calendar quarter."""
    actor.require(Permission.PORTFOLIO_READ)
    year = cast(extract("year", Delivery.delivered_on), Integer)
    # quarter = (month + 2) // 3, in SQL on both backends (SQLite has no EXTRACT(QUARTER))
    quarter = (cast(extract("month", Delivery.delivered_on), Integer) + 2) // 3
    rows = actor.session.execute(
        scoped(actor, select(Agreement.organization_id, Organization.name, Agreement.currency,
                             year, quarter, func.sum(Delivery.quantity), func.sum(Delivery.amount))
               .join(Agreement, Agreement.id == Delivery.agreement_id)
               .join(Organization, Organization.id == Agreement.organization_id))
        .where(Delivery.delivered_on >= start,
               Delivery.delivered_on <= end)
        .group_by(Agreement.organization_id, Organization.name, Agreement.currency, year, quarter)
        .order_by(Agreement.organization_id, year, quarter)
    )
    return [QuarterSales(o, n, int(y), int(q), c, quantity, amount)
            for o, n, c, y, q, quantity, amount in rows]


def _district_of(actor: Actor) -> dict[int, str]:
    """Each place's district name (places are few; the hierarchy is walked in memory)."""
    return {
        place_id: lineage["district"].name
        for place_id, lineage in place_lineages(actor).items()
        if "district" in lineage
    }


def subprojects_by_state_and_district(actor: Actor) -> dict[tuple[str, str], int]:
    """(district, state) -> number of subprojects."""
    actor.require(Permission.PORTFOLIO_READ)
    rows = actor.session.execute(
        scoped(actor, select(Organization.place_id, Subproject.state, func.count())
               .join(Organization, Organization.id == Subproject.organization_id))
        .group_by(Organization.place_id, Subproject.state)
    )
    district = _district_of(actor)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for place_id, state, count in rows:
        name = district.get(place_id, "(no district)") if place_id is not None else "(no district)"
        counts[(name, state)] += count
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class Inclusion:
    call_id: int
    call: str
    members: int
    women_share: Decimal
    youth_share: Decimal
    minority_share: Decimal


def inclusion_by_call(actor: Actor, on: date) -> list[Inclusion]:
    """Shares of women, youth (age ≤ 35 in ``on``'s year) and minority members among the members
    of the POs with a subproject under each call."""
    actor.require(Permission.PORTFOLIO_READ)
    youngest_adult_year = on.year - YOUTH_MAX_AGE
    rows = actor.session.execute(
        scoped(actor, select(Call.id, Call.code, func.count(),
                             func.sum(case((Farmer.sex == "female", 1), else_=0)),
                             func.sum(case((Farmer.birth_year >= youngest_adult_year, 1), else_=0)),
                             func.sum(case((Farmer.minority.is_(True), 1), else_=0)))
               .join(Subproject, Subproject.call_id == Call.id)
               .join(Membership, Membership.organization_id == Subproject.organization_id)
               .join(Farmer, Farmer.id == Membership.farmer_id))
        .group_by(Call.id, Call.code)
        .order_by(Call.id)
    )
    def share(count: int, members: int) -> Decimal:
        return (Decimal(int(count)) / members).quantize(Decimal("0.0001"))

    return [
        Inclusion(call_id, code, members, share(women, members), share(youth, members),
                  share(minority, members))
        for call_id, code, members, women, youth, minority in rows
    ]


@dataclass(frozen=True)
class KindTotal:
    kind: str
    currency: str
    amount: Decimal
    reporting_amount: Decimal


def balances_by_kind_in_reporting_currency(actor: Actor, at: date) -> list[KindTotal]:
    """Balances at ``at`` summed by account kind and currency, each converted to the programme's
    reporting currency at the rate dated on or before ``at`` (a roll-up; the ledger keeps the
    local amounts)."""
    from alianza.platform.programmes.service import to_reporting_currency

    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: Decimal("0.00"))
    for row in balances(actor, at):
        totals[(row.kind, row.currency)] += row.balance
    return [KindTotal(kind, currency, amount, to_reporting_currency(actor, amount, currency, at))
            for (kind, currency), amount in sorted(totals.items())]
