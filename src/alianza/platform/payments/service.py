"""The mobile-money intake: each notification stored once, matched to the pending kit sale it
pays or parked for review with the reason; never dropped.

**Idempotence**: a payment is identified by (provider, transaction id), a unique constraint.
The row is inserted first, in a savepoint; a replay finds it and changes nothing, and a
concurrent duplicate fails the insert (PostgreSQL makes the second insert wait for the first's
commit and then raise; SQLite serialises writers, so the second finds the row) and then
answers with the stored payment.

**Matching**: the account reference the payer typed (``K`` + sale id + check digit) names the
sale; without a usable reference, the payer's phone (E.164 in the programme's country) names a
farmer whose single pending mobile-money sale of that amount it pays. A payment is **parked**
(with ``park_reason``) when nobody or several are named, the sale is not pending, or the amount
or currency differs; its money goes to the suspense account until a person matches it
(:func:`match`, audited).
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import argon2
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alianza.platform.access import Actor, Page, Permission, Role, get, paged, scoped
from alianza.platform.audit.service import now, record_for, snapshot
from alianza.platform.errors import Invalid, NotFound, Refused
from alianza.platform.kits.models import KitSale
from alianza.platform.kits.service import programme_account, sale_by_reference, settle
from alianza.platform.ledger import service as ledger
from alianza.platform.payments.models import MobilePayment
from alianza.platform.payments.schemas import NotificationIn
from alianza.platform.programmes.models import Programme, User
from alianza.platform.registry.models import Farmer
from alianza.platform.registry.phones import normalise_phone
from alianza.platform.validation import validated
from alianza.problems import Problem

INTAKE_USERNAME = "payment-intake"

# Why a payment was parked (codes, as the review queue and the API show them).
PARK_REASONS = {
    "unknown_payer": "no sale has this reference and no farmer this phone",
    "several_farmers": "several farmers share this phone and no reference names the sale",
    "no_pending_sale": "the farmer has no pending mobile-money sale of this amount",
    "sale_not_pending": "the sale the reference names is paid already or not by mobile money",
    "amount_mismatch": "the amount differs from the pending sale's",
    "currency_mismatch": "the currency differs from the pending sale's",
}


def intake_actor(session: Session, programme_code: str) -> Actor:
    """The actor the intake works as in a programme: a service user (disabled for sign-in,
    made on first use) under the payment_intake role, which may only receive payments."""
    programme = session.scalar(select(Programme).where(Programme.code == programme_code))
    if programme is None:
        raise NotFound(f"no programme {programme_code}")
    user_id = session.scalar(select(User.id).where(User.username == INTAKE_USERNAME))
    if user_id is None:
        try:
            with session.begin_nested():
                user = User(
                    username=INTAKE_USERNAME,
                    display_name="Mobile-money intake",
                    # nobody signs in as the intake: a password nobody knows, and disabled
                    password_hash=argon2.PasswordHasher().hash(secrets.token_hex(32)),
                    created_at=now(),
                    disabled_at=now(),
                )
                session.add(user)
                session.flush()
            user_id = user.id
        except IntegrityError:  # made meanwhile by another worker
            user_id = session.scalar(select(User.id).where(User.username == INTAKE_USERNAME))
    assert user_id is not None
    return Actor(session, user_id, programme.id, Role.PAYMENT_INTAKE)


@dataclass(frozen=True)
class Receipt:
    """What the intake did with a notification: the stored payment, and whether it was
    stored before (a replay or a concurrent duplicate, which changed nothing)."""

    payment: MobilePayment
    duplicate: bool


def _stored(actor: Actor, provider: str, transaction_id: str) -> MobilePayment | None:
    return actor.session.scalar(
        scoped(actor.widened(), select(MobilePayment))
        .where(MobilePayment.provider == provider, MobilePayment.transaction_id == transaction_id)
        .execution_options(populate_existing=True)
    )


def receive(
    actor: Actor,
    data: NotificationIn | dict[str, Any],
    region: str | None = None,
    raw: dict[str, Any] | None = None,
) -> Receipt:
    """Store a notification once and match or park it (see the module's docstring).
    ``region`` is the programme's country (phonenumbers' region) for phones without ``+``."""
    actor.require(Permission.PAYMENTS_RECEIVE)
    notification = validated(NotificationIn, data)
    stored = _stored(actor, notification.provider, notification.transaction_id)
    if stored is not None:
        return Receipt(stored, True)
    phone = None
    if notification.phone:
        try:
            phone = normalise_phone(notification.phone, region)
        except ValueError:
            # kept as sent: the payment is still stored (matched by its reference, or parked)
            phone = notification.phone.strip()
    try:
        with actor.session.begin_nested():
            payment = MobilePayment(
                programme_id=actor.programme_id,
                provider=notification.provider,
                transaction_id=notification.transaction_id,
                phone=phone,
                amount=notification.amount,
                currency=notification.currency,
                reference=notification.reference,
                paid_at=notification.paid_at,
                received_at=now(),
                status="parked",
                raw=raw if raw is not None else notification.model_dump(mode="json"),
            )
            actor.session.add(payment)
            actor.session.flush()  # the unique (provider, transaction_id) answers here
            _match_or_park(actor, payment)
    except IntegrityError:
        stored = _stored(actor, notification.provider, notification.transaction_id)
        if stored is None:
            raise
        return Receipt(stored, True)
    return Receipt(payment, False)


def _locked_sale(actor: Actor, sale_id: int) -> KitSale:
    sale = actor.session.scalar(
        select(KitSale)
        .where(KitSale.id == sale_id, KitSale.programme_id == actor.programme_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert sale is not None
    return sale


def _sale_for(
    actor: Actor, payment: MobilePayment
) -> tuple[KitSale | None, int | None, str | None]:
    """The sale a payment pays, the farmer it names, or why neither."""
    bookkeeping = actor.widened()
    if payment.reference:
        sale = sale_by_reference(bookkeeping, payment.reference)
        if sale is not None:
            return sale, sale.farmer_id, None
    if not payment.phone:
        return None, None, "unknown_payer"
    farmer_ids = list(
        actor.session.scalars(
            scoped(bookkeeping, select(Farmer.id)).where(Farmer.phone == payment.phone).limit(2)
        )
    )
    if not farmer_ids:
        return None, None, "unknown_payer"
    if len(farmer_ids) > 1:
        return None, None, "several_farmers"
    pending = list(
        actor.session.scalars(
            scoped(bookkeeping, select(KitSale))
            .where(
                KitSale.farmer_id == farmer_ids[0],
                KitSale.status == "pending",
                KitSale.method == "mobile_money",
                KitSale.amount == payment.amount,
            )
            .order_by(KitSale.sold_on, KitSale.id)
            .limit(1)
        )
    )
    if not pending:
        return None, farmer_ids[0], "no_pending_sale"
    return pending[0], farmer_ids[0], None


def _mismatch(sale: KitSale, payment: MobilePayment) -> str | None:
    if sale.status != "pending" or sale.method != "mobile_money":
        return "sale_not_pending"
    if sale.currency != payment.currency:
        return "currency_mismatch"
    if Decimal(sale.amount) != Decimal(payment.amount):
        return "amount_mismatch"
    return None


def _match_or_park(actor: Actor, payment: MobilePayment) -> None:
    sale, farmer_id, reason = _sale_for(actor, payment)
    payment.farmer_id = farmer_id
    source = provider_account(actor, payment.provider, payment.currency)
    if sale is not None:
        sale = _locked_sale(actor, sale.id)  # a concurrent payment of the same sale waits here
        reason = _mismatch(sale, payment)
    if sale is not None and reason is None:
        posting = settle(actor, sale, source, payment.paid_at.date())
        payment.status, payment.sale_id, payment.posting_id = "matched", sale.id, posting.id
        record_for(actor, "create", payment)
        return
    assert reason is not None
    payment.status, payment.park_reason = "parked", reason
    payment.park_detail = PARK_REASONS[reason]
    posting = ledger.post_transfer(
        actor,
        {
            "kind": "payment_parked",
            "from_account_id": source.id,
            "to_account_id": suspense_account(actor, payment.currency).id,
            "amount": payment.amount,
            "posted_on": payment.paid_at.date(),
            "memo": f"{payment.provider} {payment.transaction_id} parked: {reason}",
        },
    )
    payment.posting_id = posting.id
    record_for(actor, "create", payment)


def provider_account(actor: Actor, provider: str, currency: str) -> Any:
    return programme_account(actor, "mobile_money", f"Mobile money {provider}", currency)


def suspense_account(actor: Actor, currency: str) -> Any:
    return programme_account(actor, "payments_suspense", "Payments suspense", currency)


# --- review ----------------------------------------------------------------------------------


def parked(actor: Actor, limit: int = 50, offset: int = 0) -> Page:
    """The review queue: parked payments, oldest first."""
    actor.require(Permission.PAYMENTS_REVIEW)
    query = select(MobilePayment).where(MobilePayment.status == "parked")
    return paged(actor, query.order_by(MobilePayment.paid_at, MobilePayment.id), limit, offset)


def payments(actor: Actor, status: str | None = None, limit: int = 50, offset: int = 0) -> Page:
    actor.require(Permission.SALES_READ)
    query = select(MobilePayment)
    if status is not None:
        query = query.where(MobilePayment.status == status)
    return paged(
        actor, query.order_by(MobilePayment.paid_at.desc(), MobilePayment.id.desc()), limit, offset
    )


def get_payment(actor: Actor, payment_id: int) -> MobilePayment:
    actor.require(Permission.PAYMENTS_REVIEW)
    return get(actor, MobilePayment, payment_id)


def candidates(actor: Actor, payment: MobilePayment, limit: int = 20) -> list[KitSale]:
    """Pending mobile-money sales a parked payment may pay: of its amount and currency, the
    named farmer's first."""
    actor.require(Permission.PAYMENTS_REVIEW)
    query = scoped(actor, select(KitSale)).where(
        KitSale.status == "pending",
        KitSale.method == "mobile_money",
        KitSale.currency == payment.currency,
        KitSale.amount == payment.amount,
    )
    if payment.farmer_id is not None:
        query = query.order_by((KitSale.farmer_id != payment.farmer_id), KitSale.sold_on)
    else:
        query = query.order_by(KitSale.sold_on, KitSale.id)
    return list(actor.session.scalars(query.limit(limit)))


def match(actor: Actor, payment_id: int, sale_id: int, note: str = "") -> MobilePayment:
    """A person matches a parked payment to the pending sale it pays: the money moves from
    suspense into kit sales (with the commission), and the audit log says who and why."""
    actor.require(Permission.PAYMENTS_REVIEW)
    get(actor, MobilePayment, payment_id)
    payment = actor.session.scalar(
        select(MobilePayment)
        .where(MobilePayment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert payment is not None
    if payment.status != "parked":
        raise Refused(
            f"payment {payment_id} is {payment.status}, not parked", rule="match parked payments"
        )
    get(actor, KitSale, sale_id)
    sale = _locked_sale(actor, sale_id)
    reason = _mismatch(sale, payment)
    if reason is not None:
        raise Refused(PARK_REASONS[reason], rule="payment matches the sale", field="sale_id")
    before = snapshot(payment)
    posting = settle(actor, sale, suspense_account(actor, payment.currency), payment.paid_at.date())
    payment.status, payment.sale_id, payment.farmer_id = "resolved", sale.id, sale.farmer_id
    payment.resolution_posting_id = posting.id
    payment.matched_by, payment.matched_at = actor.user_id, now()
    record_for(actor, "match", payment, before=before, after=snapshot(payment) | {"note": note})
    return payment


# --- reconciliation --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    transaction_id: str
    amount: Decimal
    phone: str | None
    row: int


@dataclass
class Reconciliation:
    """A provider's statement against what the intake received: transactions on the statement
    never received (missing), received but not on it (extra), and on both with a different
    amount or phone (mismatched)."""

    provider: str
    missing: list[StatementLine] = field(default_factory=list)
    extra: list[MobilePayment] = field(default_factory=list)
    mismatched: list[tuple[StatementLine, MobilePayment, str]] = field(default_factory=list)
    matched: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.mismatched)


# The statement's columns: a provider's export renamed to these (case-insensitive; the Daraja
# names are understood too).
STATEMENT_COLUMNS = {
    "transaction_id": ("transaction_id", "transid", "receipt no.", "receipt"),
    "amount": ("amount", "transamount", "paid in"),
    "phone": ("phone", "msisdn"),
    "paid_at": ("paid_at", "transtime", "completion time"),
}


def read_statement(text: str, region: str | None = None) -> list[StatementLine]:
    """A statement CSV as lines; every unreadable row is reported with its row number."""
    reader = csv.DictReader(io.StringIO(text))
    headers = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    columns: dict[str, str] = {}
    for key, names in STATEMENT_COLUMNS.items():
        for name in names:
            if name in headers:
                columns[key] = headers[name]
                break
    problems = [
        Problem(f"(header).{key}", f"the statement has no {key} column")
        for key in ("transaction_id", "amount")
        if key not in columns
    ]
    if problems:
        raise Invalid("statement", problems)
    lines = []
    for number, row in enumerate(reader, start=2):
        transaction_id = (row.get(columns["transaction_id"]) or "").strip()
        text_amount = (row.get(columns["amount"]) or "").strip().replace(",", "")
        try:
            amount = Decimal(text_amount).quantize(Decimal("0.01"))
        except InvalidOperation:
            problems.append(Problem(f"row {number}.amount", f"not an amount: {text_amount!r}"))
            continue
        if not transaction_id:
            problems.append(Problem(f"row {number}.transaction_id", "empty"))
            continue
        phone = (row.get(columns["phone"]) or "").strip() if "phone" in columns else ""
        if phone:
            try:
                phone = normalise_phone(phone, region)
            except ValueError as error:
                problems.append(Problem(f"row {number}.phone", str(error)))
                continue
        lines.append(StatementLine(transaction_id, amount, phone or None, number))
    if problems:
        raise Invalid("statement", problems)
    return lines


def reconcile(
    actor: Actor,
    provider: str,
    lines: list[StatementLine],
    since: datetime | None = None,
    until: datetime | None = None,
) -> Reconciliation:
    """Check a statement against the payments received from ``provider`` (those paid within
    ``since``..``until`` count as extra when absent from it; all of them when not given)."""
    actor.require(Permission.PAYMENTS_REVIEW)
    received = {
        p.transaction_id: p
        for p in actor.session.scalars(
            scoped(actor, select(MobilePayment)).where(MobilePayment.provider == provider)
        )
    }
    result = Reconciliation(provider)
    seen: set[str] = set()
    for line in lines:
        seen.add(line.transaction_id)
        payment = received.get(line.transaction_id)
        if payment is None:
            result.missing.append(line)
            continue
        differences = []
        if Decimal(payment.amount) != line.amount:
            differences.append(f"amount {line.amount} on the statement, {payment.amount} received")
        if line.phone and payment.phone and line.phone != payment.phone:
            differences.append(f"phone {line.phone} on the statement, {payment.phone} received")
        if differences:
            result.mismatched.append((line, payment, "; ".join(differences)))
        else:
            result.matched += 1
    for transaction_id, payment in sorted(received.items()):
        paid_at = payment.paid_at if payment.paid_at.tzinfo else payment.paid_at.replace(tzinfo=UTC)
        if transaction_id in seen:
            continue
        if (since is None or paid_at >= since) and (until is None or paid_at <= until):
            result.extra.append(payment)
    return result
