"""Alliance agreements, their deliveries and the buyer's payments, and the alerts they raise.

``POST /subprojects/{id}/agreement`` (sign one), ``GET /agreements`` (paged, with totals), ``GET /agreements/{id}`` (the terms and the delivery
schedule against deliveries), ``GET|POST /agreements/{id}/deliveries``, ``GET|POST
/agreements/{id}/payments``, ``GET /alerts?as_of=``. Every list and record is the actor's scope
only: a buyer sees their own agreements, a PO's representative their organization's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from alianza.platform.agreements import service as agreements
from alianza.platform.agreements.models import Agreement, BuyerPayment, Delivery
from alianza.platform.agreements.schemas import AgreementIn, DeliveryIn
from alianza.web import i18n
from alianza.web.auth import CurrentActor

router = APIRouter(tags=["agreements"])

Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many items.")]
MAX_ID = 2**63 - 1  # the largest id a database holds (SQLite's and PostgreSQL's BIGINT)
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Skip this many items.")]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
AsOf = Annotated[
    date | None, Query(description="The date of the totals and alerts (default: today).")
]


class AgreementOut(BaseModel):
    """An agreement's terms and its totals to ``as_of``."""

    id: int
    subproject_id: int
    organization_id: int
    organization_name: str
    buyer_id: int
    buyer_name: str
    support_organization_id: int | None
    product: str
    unit: str
    currency: str
    quality_grades: list[str]
    price_mechanism: str = Field(description="fixed | reference_premium | floor")
    fixed_price: Decimal | None
    premium: Decimal | None
    floor_price: Decimal | None
    grade_premiums: dict[str, Decimal]
    payment_terms_days: int
    buyer_ta_duties: str
    signed_on: date
    starts_on: date
    ends_on: date
    as_of: date
    scheduled_quantity: Decimal = Field(description="Scheduled in the periods started by as_of")
    delivered_quantity: Decimal
    invoiced: Decimal = Field(description="Amount of the deliveries made by as_of")
    due: Decimal = Field(description="Amount of the deliveries past their due date")
    paid: Decimal
    alerts: int


class PeriodOut(BaseModel):
    period_start: date
    period_end: date
    scheduled: Decimal
    delivered: Decimal


class AgreementDetailOut(AgreementOut):
    schedule: list[PeriodOut]


class AgreementPage(BaseModel):
    items: list[AgreementOut]
    total: int


class DeliveryOut(BaseModel):
    id: int
    agreement_id: int
    delivered_on: date
    quantity: Decimal
    grade: str
    reference_price: Decimal | None
    unit_price: Decimal
    amount: Decimal
    due_on: date


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int


class PaymentIn(BaseModel):
    """A buyer's payment; the amount in the agreement's currency, to the cent (the ledger checks it)."""

    amount: Decimal
    paid_on: date


class PaymentOut(BaseModel):
    id: int
    agreement_id: int
    paid_on: date
    amount: Decimal
    posting_id: int


class PaymentPage(BaseModel):
    items: list[PaymentOut]
    total: int


class AlertOut(BaseModel):
    kind: str = Field(description="side_selling | buyer_default")
    agreement_id: int
    message: str


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int


TERMS = (
    "id",
    "subproject_id",
    "organization_id",
    "buyer_id",
    "support_organization_id",
    "product",
    "unit",
    "currency",
    "quality_grades",
    "price_mechanism",
    "fixed_price",
    "premium",
    "floor_price",
    "grade_premiums",
    "payment_terms_days",
    "buyer_ta_duties",
    "signed_on",
    "starts_on",
    "ends_on",
)


def agreement_fields(overview: agreements.AgreementOverview, as_of: date) -> dict[str, Any]:
    agreement = overview.agreement
    fields = {name: getattr(agreement, name) for name in TERMS}
    fields.update(
        organization_name=overview.organization_name,
        buyer_name=overview.buyer_name,
        as_of=as_of,
        scheduled_quantity=overview.scheduled,
        delivered_quantity=overview.delivered,
        invoiced=overview.invoiced,
        due=overview.due,
        paid=overview.paid,
        alerts=overview.alerts,
    )
    return fields


def delivery_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery, from_attributes=True)


def payment_out(payment: BuyerPayment) -> PaymentOut:
    return PaymentOut.model_validate(payment, from_attributes=True)


@router.get("/agreements", name="api_agreements", summary="List agreements")
def list_agreements(
    actor: CurrentActor, limit: Limit = 50, offset: Offset = 0, as_of: AsOf = None
) -> AgreementPage:
    """The agreements the caller's scope reaches, newest first, with their totals to ``as_of``."""
    day = as_of or date.today()
    page = agreements.list_agreements(actor, limit, offset)
    items = [
        AgreementOut(**agreement_fields(o, day))
        for o in agreements.overviews(actor, page.items, day)
    ]
    return AgreementPage(items=items, total=page.total)


@router.get("/agreements/{agreement_id}", name="api_agreement", summary="One agreement")
def get_agreement(
    actor: CurrentActor, agreement_id: RecordId, as_of: AsOf = None
) -> AgreementDetailOut:
    """The agreement's terms, totals and its delivery schedule against the deliveries."""
    day = as_of or date.today()
    agreement: Agreement = agreements.get_agreement(actor, agreement_id)
    [overview] = agreements.overviews(actor, [agreement], day)
    schedule = [PeriodOut(**vars(p)) for p in agreements.schedule_progress(actor, agreement_id)]
    return AgreementDetailOut(**agreement_fields(overview, day), schedule=schedule)


@router.post(
    "/subprojects/{subproject_id}/agreement",
    name="api_subproject_agreement",
    summary="Sign the alliance agreement of a subproject",
    status_code=201,
)
def sign_agreement(
    actor: CurrentActor, subproject_id: RecordId, terms: AgreementIn
) -> AgreementDetailOut:
    """The buyer's and the PO's agreement (agreements.sign): product, unit, quality grades,
    price mechanism (``fixed`` needs ``fixed_price``, ``floor`` needs ``floor_price``;
    ``reference_premium`` and ``floor`` add ``premium`` to the reference price), premiums per
    grade, payment terms, the buyer's technical-assistance duties, its dates and a delivery
    schedule of periods within them. Signed once the counterpart is confirmed paid (409
    otherwise, rule ``counterpart before agreement``); the subproject moves to
    agreement_signed on ``signed_on``. Prices are in the call's currency."""
    agreement = agreements.sign_agreement(actor, subproject_id, terms)
    actor.session.flush()
    return get_agreement(actor, agreement.id, as_of=terms.signed_on)


@router.get(
    "/agreements/{agreement_id}/deliveries",
    name="api_agreement_deliveries",
    summary="An agreement's deliveries",
)
def list_deliveries(
    actor: CurrentActor, agreement_id: RecordId, limit: Limit = 50, offset: Offset = 0
) -> DeliveryPage:
    """The agreement's deliveries, newest first."""
    agreements.get_agreement(actor, agreement_id)
    page = agreements.deliveries(actor, agreement_id, limit, offset)
    return DeliveryPage(items=[delivery_out(d) for d in page.items], total=page.total)


@router.post(
    "/agreements/{agreement_id}/deliveries",
    name="api_agreement_delivery_record",
    summary="Record a delivery",
    status_code=201,
)
def record_delivery(
    actor: CurrentActor, agreement_id: RecordId, delivery: DeliveryIn
) -> DeliveryOut:
    """A delivery by the PO to the buyer (deliveries.record), priced by the agreement's
    mechanism (``reference_price`` needed unless the price is fixed); refused (409) outside the
    agreement's period or for a grade it does not name."""
    return delivery_out(agreements.record_delivery(actor, agreement_id, delivery))


@router.get(
    "/agreements/{agreement_id}/payments",
    name="api_agreement_payments",
    summary="An agreement's payments",
)
def list_payments(
    actor: CurrentActor, agreement_id: RecordId, limit: Limit = 50, offset: Offset = 0
) -> PaymentPage:
    """The buyer's payments under the agreement, newest first."""
    agreements.get_agreement(actor, agreement_id)
    page = agreements.payments(actor, agreement_id, limit, offset)
    return PaymentPage(items=[payment_out(p) for p in page.items], total=page.total)


@router.post(
    "/agreements/{agreement_id}/payments",
    name="api_agreement_payment_record",
    summary="Record a buyer's payment",
    status_code=201,
)
def record_payment(actor: CurrentActor, agreement_id: RecordId, payment: PaymentIn) -> PaymentOut:
    """A buyer's payment to the PO (payments.record), posted in the ledger (buyer -> PO)."""
    return payment_out(
        agreements.record_payment(actor, agreement_id, payment.amount, payment.paid_on)
    )


@router.get("/alerts", name="api_alerts", summary="Side-selling and buyer-default alerts")
def list_alerts(
    request: Request,
    actor: CurrentActor,
    as_of: AsOf = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AlertPage:
    """Side-selling risk (a period past by ``as_of`` delivered below 70% of its schedule) and
    buyer-default risk (deliveries past their due date not covered by payments), by agreement;
    each message in the request's language."""
    found = agreements.alerts(actor, as_of or date.today())
    locale = i18n.locale_of(request)
    items = [
        AlertOut(kind=a.kind, agreement_id=a.agreement_id, message=i18n.say(locale, a.message))
        for a in found[offset : offset + limit]
    ]
    return AlertPage(items=items, total=len(found))
