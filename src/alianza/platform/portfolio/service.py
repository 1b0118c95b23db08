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
from alianza.platform.errors import Refused
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
        scoped(
            actor,
            select(
                Agreement.organization_id,
                Organization.name,
                Agreement.currency,
                year,
                quarter,
                func.sum(Delivery.quantity),
                func.sum(Delivery.amount),
            )
            .join(Agreement, Agreement.id == Delivery.agreement_id)
            .join(Organization, Organization.id == Agreement.organization_id),
        )
        .where(Delivery.delivered_on >= start, Delivery.delivered_on <= end)
        .group_by(Agreement.organization_id, Organization.name, Agreement.currency, year, quarter)
        .order_by(Agreement.organization_id, year, quarter)
    )
    return [
        QuarterSales(o, n, int(y), int(q), c, quantity, amount)
        for o, n, c, y, q, quantity, amount in rows
    ]


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
        scoped(
            actor,
            select(Organization.place_id, Subproject.state, func.count()).join(
                Organization, Organization.id == Subproject.organization_id
            ),
        ).group_by(Organization.place_id, Subproject.state)
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
        scoped(
            actor,
            select(
                Call.id,
                Call.code,
                func.count(),
                func.sum(case((Farmer.sex == "female", 1), else_=0)),
                func.sum(case((Farmer.birth_year >= youngest_adult_year, 1), else_=0)),
                func.sum(case((Farmer.minority.is_(True), 1), else_=0)),
            )
            .join(Subproject, Subproject.call_id == Call.id)
            .join(Membership, Membership.organization_id == Subproject.organization_id)
            .join(Farmer, Farmer.id == Membership.farmer_id),
        )
        .group_by(Call.id, Call.code)
        .order_by(Call.id)
    )

    def share(count: int, members: int) -> Decimal:
        return (Decimal(int(count)) / members).quantize(Decimal("0.0001"))

    return [
        Inclusion(
            call_id,
            code,
            members,
            share(women, members),
            share(youth, members),
            share(minority, members),
        )
        for call_id, code, members, women, youth, minority in rows
    ]


@dataclass(frozen=True)
class KindTotal:
    kind: str
    currency: str
    amount: Decimal
    reporting_amount: Decimal | None  # None: no exchange rate on or before the date


def balances_by_kind_in_reporting_currency(actor: Actor, at: date) -> list[KindTotal]:
    """Balances at ``at`` summed by account kind and currency, each converted to the programme's
    reporting currency at the rate dated on or before ``at`` (a roll-up; the ledger keeps the
    local amounts)."""
    from alianza.platform.programmes.service import to_reporting_currency

    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: Decimal("0.00"))
    for row in balances(actor, at):
        totals[(row.kind, row.currency)] += row.balance

    def reporting(amount: Decimal, currency: str) -> Decimal | None:
        try:
            return to_reporting_currency(actor, amount, currency, at)
        except Refused:  # no rate yet for that currency: the roll-up shows its own currency only
            return None

    return [
        KindTotal(kind, currency, amount, reporting(amount, currency))
        for (kind, currency), amount in sorted(totals.items())
    ]


@dataclass(frozen=True)
class CallGrants:
    """A call's grants in its own currency: committed (the grant of each approved plan, the
    version the committee decided on) and disbursed (tranches released up to the date)."""

    call_id: int
    call: str
    currency: str
    committed: Decimal
    disbursed: Decimal


def grants_by_call(actor: Actor, on: date) -> list[CallGrants]:
    """Grants committed vs disbursed by call, in the call's currency, as of ``on``."""
    from alianza.platform.subprojects.models import Decision, PlanVersion, Tranche
    from alianza.platform.subprojects.states import APPROVED

    actor.require(Permission.PORTFOLIO_READ)
    committed = actor.session.execute(
        scoped(
            actor,
            select(Call.id, Call.code, Call.currency, func.sum(PlanVersion.grant))
            .join(Subproject, Subproject.call_id == Call.id)
            .join(Decision, Decision.subproject_id == Subproject.id)
            .join(PlanVersion, PlanVersion.id == Decision.plan_version_id),
        )
        .where(Decision.outcome.in_([state.value for state in APPROVED]), Decision.decided_on <= on)
        .group_by(Call.id, Call.code, Call.currency)
    )
    disbursed = {
        call_id: amount
        for call_id, amount in actor.session.execute(
            scoped(
                actor,
                select(Call.id, func.sum(Tranche.amount))
                .join(Subproject, Subproject.call_id == Call.id)
                .join(Tranche, Tranche.subproject_id == Subproject.id),
            )
            .where(Tranche.released_on.is_not(None), Tranche.released_on <= on)
            .group_by(Call.id)
        )
    }
    zero = Decimal("0.00")
    return sorted(
        (
            CallGrants(
                call_id,
                code,
                currency,
                Decimal(amount or zero),
                Decimal(disbursed.get(call_id) or zero),
            )
            for call_id, code, currency, amount in committed
        ),
        key=lambda row: row.call_id,
    )


# A tranche is expected within this many days of the agreement's signature per tranche number
# (the first within 90 days, the second within 180...): later than that it is delayed.
TRANCHE_EXPECTED_DAYS = 90


@dataclass(frozen=True)
class DelayedTranche:
    subproject_id: int
    subproject: str
    number: int
    currency: str
    amount: Decimal
    signed_on: date
    days_late: int


def delayed_tranches(
    actor: Actor, as_of: date, expected_days: int = TRANCHE_EXPECTED_DAYS
) -> list[DelayedTranche]:
    """Tranches scheduled but not released ``number × expected_days`` days after the agreement
    was signed (a disbursement delay, one of the failure modes the programme watches), most
    late first."""
    from alianza.platform.subprojects.models import Tranche

    actor.require(Permission.PORTFOLIO_READ)
    rows = actor.session.execute(
        scoped(
            actor,
            select(
                Subproject.id,
                Subproject.title,
                Tranche.number,
                Call.currency,
                Tranche.amount,
                Agreement.signed_on,
            )
            .join(Tranche, Tranche.subproject_id == Subproject.id)
            .join(Agreement, Agreement.subproject_id == Subproject.id)
            .join(Call, Call.id == Subproject.call_id),
        )
        .where(Tranche.released_on.is_(None), Agreement.signed_on <= as_of)
        .order_by(Subproject.id, Tranche.number)
    )
    found = []
    for subproject_id, title, number, currency, amount, signed_on in rows:
        late = (as_of - signed_on).days - number * expected_days
        if late > 0:
            found.append(
                DelayedTranche(
                    subproject_id, title, number, currency, Decimal(amount), signed_on, late
                )
            )
    return sorted(found, key=lambda row: (-row.days_late, row.subproject_id, row.number))
