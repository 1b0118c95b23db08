"""Signing alliance agreements; recording deliveries and buyer payments; side-selling and
buyer-default alerts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Date, bindparam, case, func, select, type_coerce

from alianza.platform.access import Actor, Page, Permission, get, paged, scoped
from alianza.platform.agreements.models import Agreement, BuyerPayment, Delivery, ScheduledDelivery
from alianza.platform.agreements.schemas import AgreementIn, DeliveryIn
from alianza.platform.audit.service import jsonable, record_for, snapshot
from alianza.platform.calls.models import Call
from alianza.platform.errors import Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.registry.models import Organization
from alianza.platform.subprojects.disbursement import po_account
from alianza.platform.subprojects.states import State, locked_subproject, move_state
from alianza.platform.types import Money, Quantity
from alianza.platform.validation import validated
from alianza.problems import Message

CENT = Decimal("0.01")
# A period whose deliveries fall below this share of the schedule raises a side-selling alert.
SIDE_SELLING_SHARE = Decimal("0.70")


def sign_agreement(
    actor: Actor, subproject_id: int, data: AgreementIn | dict[str, Any]
) -> Agreement:
    """Sign the alliance agreement: only once the counterpart is paid (the cycle's rule)."""
    actor.require(Permission.AGREEMENTS_SIGN)
    terms = validated(AgreementIn, data)
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state != State.COUNTERPART_PAID:
        raise Refused(
            Message(
                "an agreement is signed once the counterpart is paid; the subproject is %(state)s",
                state=str(subproject.state),
            ),
            rule="counterpart before agreement",
        )
    if terms.support_organization_id is not None:
        get(actor.widened(), Organization, terms.support_organization_id)
    call = get(actor, Call, subproject.call_id)
    fields = terms.model_dump(exclude={"schedule"})
    fields["grade_premiums"] = jsonable(fields["grade_premiums"])
    agreement = Agreement(
        programme_id=actor.programme_id,
        subproject_id=subproject.id,
        organization_id=subproject.organization_id,
        buyer_id=subproject.buyer_id,
        currency=call.currency,
        **fields,
    )
    actor.session.add(agreement)
    actor.session.flush()
    for period in terms.schedule:
        actor.session.add(
            ScheduledDelivery(
                programme_id=actor.programme_id, agreement_id=agreement.id, **period.model_dump()
            )
        )
    actor.session.flush()
    after = snapshot(agreement)
    after["schedule"] = jsonable([period.model_dump() for period in terms.schedule])
    record_for(actor, "create", agreement, after=after)
    move_state(
        actor,
        subproject,
        State.AGREEMENT_SIGNED,
        terms.signed_on,
        Message("agreement %(id)s", id=agreement.id),
    )
    return agreement


def get_agreement(actor: Actor, agreement_id: int) -> Agreement:
    """The agreement, if the actor may read agreements and their scope reaches it."""
    actor.require(Permission.AGREEMENTS_READ)
    return get(actor, Agreement, agreement_id)


def agreement_of(actor: Actor, subproject_id: int) -> Agreement | None:
    """The subproject's agreement, if it has one the actor's scope reaches."""
    actor.require(Permission.AGREEMENTS_READ)
    return actor.session.scalar(
        scoped(actor, select(Agreement)).where(Agreement.subproject_id == subproject_id)
    )


def list_agreements(actor: Actor, limit: int = 50, offset: int = 0) -> Page:
    """The agreements the actor's scope reaches, newest first, paged."""
    actor.require(Permission.AGREEMENTS_READ)
    return paged(
        actor,
        select(Agreement).order_by(Agreement.signed_on.desc(), Agreement.id.desc()),
        limit,
        offset,
    )


def schedule(actor: Actor, agreement_id: int) -> list[ScheduledDelivery]:
    """The agreement's delivery schedule, by period."""
    actor.require(Permission.AGREEMENTS_READ)
    return list(
        actor.session.scalars(
            scoped(actor, select(ScheduledDelivery))
            .where(ScheduledDelivery.agreement_id == agreement_id)
            .order_by(ScheduledDelivery.period_start)
        )
    )


def deliveries(
    actor: Actor, agreement_id: int | None = None, limit: int = 50, offset: int = 0
) -> Page:
    """Deliveries the actor's scope reaches (of one agreement if given), newest first, paged."""
    actor.require(Permission.AGREEMENTS_READ)
    query = select(Delivery)
    if agreement_id is not None:
        query = query.where(Delivery.agreement_id == agreement_id)
    return paged(
        actor, query.order_by(Delivery.delivered_on.desc(), Delivery.id.desc()), limit, offset
    )


def payments(
    actor: Actor, agreement_id: int | None = None, limit: int = 50, offset: int = 0
) -> Page:
    """Buyer payments the actor's scope reaches (of one agreement if given), newest first, paged."""
    actor.require(Permission.AGREEMENTS_READ)
    query = select(BuyerPayment)
    if agreement_id is not None:
        query = query.where(BuyerPayment.agreement_id == agreement_id)
    return paged(
        actor, query.order_by(BuyerPayment.paid_on.desc(), BuyerPayment.id.desc()), limit, offset
    )


def unit_price(agreement: Agreement, grade: str, reference_price: Decimal | None) -> Decimal:
    """The agreement's price for a grade (see AgreementIn for the mechanisms)."""
    bonus = Decimal(agreement.grade_premiums.get(grade, "0"))
    if agreement.price_mechanism == "fixed":
        return Decimal(agreement.fixed_price) + bonus
    if reference_price is None:
        raise Refused(
            Message("this agreement's price follows a reference price: give reference_price"),
            rule="price mechanism",
        )
    price = reference_price + Decimal(agreement.premium or 0)
    if agreement.price_mechanism == "floor":
        price = max(price, Decimal(agreement.floor_price))
    return price + bonus


def record_delivery(actor: Actor, agreement_id: int, data: DeliveryIn | dict[str, Any]) -> Delivery:
    """A delivery by the PO to the buyer, priced by the agreement's mechanism."""
    actor.require(Permission.DELIVERIES_RECORD)
    delivery_in = validated(DeliveryIn, data)
    agreement = get_agreement(actor, agreement_id)
    if delivery_in.grade not in agreement.quality_grades:
        raise Refused(
            Message(
                "grade '%(grade)s' is not one of %(grades)s",
                grade=delivery_in.grade,
                grades=str(agreement.quality_grades),
            ),
            rule="quality grades",
            field="grade",
        )
    if not agreement.starts_on <= delivery_in.delivered_on <= agreement.ends_on:
        raise Refused(
            Message(
                "the agreement runs %(starts_on)s to %(ends_on)s",
                starts_on=agreement.starts_on,
                ends_on=agreement.ends_on,
            ),
            rule="agreement period",
            field="delivered_on",
        )
    price = unit_price(agreement, delivery_in.grade, delivery_in.reference_price)
    # Amount rounded half-even to cents: quantity (3 decimals) x price (2 decimals).
    amount = (delivery_in.quantity * price).quantize(CENT, rounding=ROUND_HALF_EVEN)
    delivery = Delivery(
        programme_id=actor.programme_id,
        agreement_id=agreement.id,
        unit_price=price,
        amount=amount,
        due_on=delivery_in.delivered_on + timedelta(days=agreement.payment_terms_days),
        **delivery_in.model_dump(),
    )
    actor.session.add(delivery)
    record_for(actor, "create", delivery)
    return delivery


def buyer_account(actor: Actor, agreement: Agreement) -> ledger.Account:
    return ledger.organization_account(actor, "buyer", agreement.currency, agreement.buyer_id)


def record_payment(
    actor: Actor, agreement_id: int, amount: Decimal | str, paid_on: date
) -> BuyerPayment:
    """A buyer's payment to the PO, posted in the ledger (buyer -> PO)."""
    actor.require(Permission.PAYMENTS_RECORD)
    agreement = get_agreement(actor, agreement_id)
    posting = ledger.post_transfer(
        actor,
        {
            "kind": "buyer_payment",
            "from_account_id": buyer_account(actor, agreement).id,
            "to_account_id": po_account(actor, agreement.subproject_id).id,
            "amount": amount,
            "posted_on": paid_on,
            "memo": f"payment under agreement {agreement.id}",
        },
    )
    payment = BuyerPayment(
        programme_id=actor.programme_id,
        agreement_id=agreement.id,
        paid_on=paid_on,
        amount=Decimal(str(amount)),
        posting_id=posting.id,
    )
    actor.session.add(payment)
    record_for(actor, "create", payment)
    return payment


@dataclass(frozen=True)
class Alert:
    kind: str  # side_selling | buyer_default
    agreement_id: int
    # the alert's figures, so that a page can word it in its own way
    period_start: date | None = None
    period_end: date | None = None
    delivered: Decimal | None = None
    scheduled: Decimal | None = None
    unit: str | None = None
    delivered_on: date | None = None
    due_on: date | None = None
    unpaid: Decimal | None = None
    currency: str | None = None
    days_late: int | None = None

    @property
    def message(self) -> Message:
        """The alert in words, said in the reader's language by the API (made when read: a
        list of agreements counts its alerts without wording them)."""
        if self.kind == "side_selling":
            assert self.delivered is not None and self.scheduled is not None
            return Message(
                "%(start)s..%(end)s: delivered %(delivered)s of %(scheduled)s "
                "%(unit)s scheduled (%(share)s%%)",
                start=self.period_start,
                end=self.period_end,
                delivered=self.delivered,
                scheduled=self.scheduled,
                unit=self.unit,
                # percentage points rounded half-even, as format(share, ".0%")
                share=(self.delivered * 100 / self.scheduled).quantize(
                    Decimal(1), rounding=ROUND_HALF_EVEN
                ),
            )
        return Message(
            "delivery of %(delivered_on)s due %(due_on)s: %(unpaid)s %(currency)s "
            "unpaid, %(days)s days late",
            delivered_on=self.delivered_on,
            due_on=self.due_on,
            unpaid=self.unpaid,
            currency=self.currency,
            days=self.days_late,
        )


def alerts(
    actor: Actor,
    as_of: date,
    agreement_id: int | None = None,
    agreement_ids: list[int] | None = None,
) -> list[Alert]:
    """Side-selling risk (a past period delivered < 70% of schedule) and buyer-default risk
    (deliveries past their due date not covered by payments, oldest first), by agreement.

    Payments settle the oldest deliveries first, so a delivery is short by
    ``min(amount, delivered_through − paid)`` where ``delivered_through`` is the amount of the
    agreement's deliveries up to and including it (a running sum, in SQL) and ``paid`` what
    the buyer paid by ``as_of``: three queries, whatever the number of deliveries."""
    actor.require(Permission.AGREEMENTS_READ)
    query = scoped(actor, select(Agreement))
    if agreement_id is not None:
        query = query.where(Agreement.id == agreement_id)
    if agreement_ids is not None:
        query = query.where(Agreement.id.in_(agreement_ids))
    return _alerts_of(actor, list(actor.session.scalars(query.order_by(Agreement.id))), as_of)


def _alert_statements() -> tuple[Any, Any]:
    """The two statements of :func:`_alerts_of`, built once (their ``ids`` and ``as_of`` are
    parameters): building the subqueries anew cost a quarter of a list of agreements."""
    ids, as_of = bindparam("ids", expanding=True), bindparam("as_of", type_=Date())
    delivered_in_period = (
        select(func.coalesce(func.sum(Delivery.quantity), 0))
        .where(
            Delivery.agreement_id == ScheduledDelivery.agreement_id,
            Delivery.delivered_on.between(
                ScheduledDelivery.period_start, ScheduledDelivery.period_end
            ),
        )
        .scalar_subquery()
    )
    periods = (
        select(
            ScheduledDelivery.agreement_id,
            ScheduledDelivery.period_start,
            ScheduledDelivery.period_end,
            ScheduledDelivery.quantity,
            type_coerce(delivered_in_period, Quantity()).label("delivered"),
        )
        .where(ScheduledDelivery.agreement_id.in_(ids), ScheduledDelivery.period_end < as_of)
        .order_by(ScheduledDelivery.period_start, ScheduledDelivery.id)
    )
    through = (
        func.sum(Delivery.amount)
        .over(partition_by=Delivery.agreement_id, order_by=(Delivery.delivered_on, Delivery.id))
        .label("through")
    )
    running = (
        select(
            Delivery.id,
            Delivery.agreement_id,
            Delivery.delivered_on,
            Delivery.due_on,
            Delivery.amount,
            through,
        )
        .where(Delivery.agreement_id.in_(ids))
        .subquery()
    )
    paid = (
        select(BuyerPayment.agreement_id, func.sum(BuyerPayment.amount).label("total"))
        .where(BuyerPayment.agreement_id.in_(ids), BuyerPayment.paid_on <= as_of)
        .group_by(BuyerPayment.agreement_id)
        .subquery()
    )
    paid_total = func.coalesce(paid.c.total, type_coerce(0, Money()))
    unpaid = (
        select(running, paid_total.label("paid"))
        .outerjoin(paid, paid.c.agreement_id == running.c.agreement_id)
        .where(running.c.due_on < as_of, running.c.through > paid_total)
        .order_by(running.c.delivered_on, running.c.id)
    )
    return periods, unpaid


_PERIODS, _UNPAID = _alert_statements()


def _alerts_of(actor: Actor, agreements: list[Agreement], as_of: date) -> list[Alert]:
    """:func:`alerts` of ``agreements``, already read through the actor's scope."""
    ids = [agreement.id for agreement in agreements]
    if not ids:
        return []
    parameters = {"ids": ids, "as_of": as_of}
    periods_of: dict[int, list[Any]] = defaultdict(list)
    for period in actor.session.execute(_PERIODS, parameters):
        periods_of[period.agreement_id].append(period)
    unpaid_of: dict[int, list[Any]] = defaultdict(list)
    for row in actor.session.execute(_UNPAID, parameters):
        unpaid_of[row.agreement_id].append(row)
    found: list[Alert] = []
    for agreement in agreements:
        for period in periods_of[agreement.id]:
            delivered, scheduled = Decimal(period.delivered), Decimal(period.quantity)
            if delivered < scheduled * SIDE_SELLING_SHARE:
                found.append(
                    Alert(
                        "side_selling",
                        agreement.id,
                        period_start=period.period_start,
                        period_end=period.period_end,
                        delivered=delivered,
                        scheduled=scheduled,
                        unit=agreement.unit,
                    )
                )
        for delivery in unpaid_of[agreement.id]:
            short = min(
                Decimal(delivery.amount), Decimal(delivery.through) - Decimal(delivery.paid)
            )
            found.append(
                Alert(
                    "buyer_default",
                    agreement.id,
                    delivered_on=delivery.delivered_on,
                    due_on=delivery.due_on,
                    unpaid=short,
                    currency=agreement.currency,
                    days_late=(as_of - delivery.due_on).days,
                )
            )
    return found


@dataclass(frozen=True)
class AgreementOverview:
    """An agreement with its parties' names and its totals to a date: quantities scheduled
    (periods started by then) and delivered, amounts invoiced, due (past their due date) and
    paid, and how many alerts it raises."""

    agreement: Agreement
    organization_name: str
    buyer_name: str
    scheduled: Decimal
    delivered: Decimal
    invoiced: Decimal
    due: Decimal
    paid: Decimal
    alerts: int


def _sums(model: Any, *columns: Any) -> Any:
    """Per agreement of ``ids``, ``sum(column if condition)`` for each (column, condition):
    built once, its agreements (read through the actor's scope) and date as parameters."""
    return (
        select(
            model.agreement_id,
            *(func.sum(case((condition, column), else_=0)) for column, condition in columns),
        )
        .where(model.agreement_id.in_(bindparam("ids", expanding=True)))
        .group_by(model.agreement_id)
    )


_AS_OF = bindparam("as_of", type_=Date())
_SCHEDULED = _sums(
    ScheduledDelivery, (ScheduledDelivery.quantity, ScheduledDelivery.period_start <= _AS_OF)
)
_DELIVERED = _sums(
    Delivery,
    (Delivery.quantity, Delivery.delivered_on <= _AS_OF),  # delivered
    (Delivery.amount, Delivery.delivered_on <= _AS_OF),  # invoiced
    (Delivery.amount, Delivery.due_on <= _AS_OF),  # due
)
_PAID = _sums(BuyerPayment, (BuyerPayment.amount, BuyerPayment.paid_on <= _AS_OF))


def overviews(actor: Actor, agreements: list[Agreement], as_of: date) -> list[AgreementOverview]:
    """:class:`AgreementOverview` of each of ``agreements`` (read through the actor's scope)."""
    actor.require(Permission.AGREEMENTS_READ)
    ids = [agreement.id for agreement in agreements]
    if not ids:
        return []

    parameters = {"ids": ids, "as_of": as_of}

    def sums(statement: Any) -> dict[int, tuple[Decimal, ...]]:
        return {
            agreement_id: tuple(Decimal(total or 0) for total in totals)
            for agreement_id, *totals in actor.session.execute(statement, parameters)
        }

    scheduled, deliveries, paid = sums(_SCHEDULED), sums(_DELIVERED), sums(_PAID)
    party_ids = {a.organization_id for a in agreements} | {a.buyer_id for a in agreements}
    names: dict[int, str] = {
        organization_id: name
        for organization_id, name in actor.session.execute(
            scoped(actor, select(Organization.id, Organization.name)).where(
                Organization.id.in_(party_ids)
            )
        )
    }
    counts: dict[int, int] = defaultdict(int)
    for alert in _alerts_of(actor, agreements, as_of):
        counts[alert.agreement_id] += 1
    zero = Decimal(0)
    return [
        AgreementOverview(
            agreement,
            names.get(agreement.organization_id, f"#{agreement.organization_id}"),
            names.get(agreement.buyer_id, f"#{agreement.buyer_id}"),
            *scheduled.get(agreement.id, (zero,)),
            *deliveries.get(agreement.id, (zero, zero, zero)),
            *paid.get(agreement.id, (zero,)),
            counts[agreement.id],
        )
        for agreement in agreements
    ]


@dataclass(frozen=True)
class PeriodProgress:
    """A period of the delivery schedule and the quantity delivered in it."""

    period_start: date
    period_end: date
    scheduled: Decimal
    delivered: Decimal


def schedule_progress(actor: Actor, agreement_id: int) -> list[PeriodProgress]:
    """The agreement's schedule, period by period, against the quantities delivered in each."""
    actor.require(Permission.AGREEMENTS_READ)
    get_agreement(actor, agreement_id)
    periods = schedule(actor, agreement_id)
    delivered: dict[int, Decimal] = defaultdict(Decimal)
    rows = actor.session.execute(
        scoped(actor, select(Delivery.delivered_on, Delivery.quantity)).where(
            Delivery.agreement_id == agreement_id
        )
    )
    for delivered_on, quantity in rows:
        for index, period in enumerate(periods):
            if period.period_start <= delivered_on <= period.period_end:
                delivered[index] += Decimal(quantity)
                break
    return [
        PeriodProgress(p.period_start, p.period_end, Decimal(p.quantity), delivered[i])
        for i, p in enumerate(periods)
    ]
