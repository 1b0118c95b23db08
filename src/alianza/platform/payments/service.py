"""The mobile-money intake: each notification stored once, matched to the pending kit sale it
pays or parked for review with the reason; never dropped.

**Idempotence**: a payment is identified by (provider, transaction id), a unique constraint.
:func:`accept` stores it with ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: a replay or
a concurrent duplicate inserts nothing (PostgreSQL makes the second insert wait for the
first's commit; SQLite serialises writers) and answers with the stored payment.

**Store, then post**: the HTTP intake only stores (status ``received``) and answers;
:func:`post_received` matches or parks the received payments in batches, oldest first, with
the outcome of one at a time (a sale paid earlier in the batch counts as paid).
:func:`receive` does both for one payment in the caller's transaction.

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
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import argon2
from sqlalchemy import Select, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from alianza.platform.access import Actor, Page, Permission, Role, get, paged, scoped
from alianza.platform.audit.service import (
    audit_row,
    jsonable,
    now,
    record_for,
    snapshot,
    write_audit_rows,
)
from alianza.platform.errors import Invalid, NotFound, Refused
from alianza.platform.kits.models import KitSale
from alianza.platform.kits.service import (
    programme_account,
    reference_text,
    sale_memo,
    settle,
)
from alianza.platform.ledger import service as ledger
from alianza.platform.payments.models import MobilePayment
from alianza.platform.payments.schemas import NotificationIn
from alianza.platform.programmes.models import Programme, User
from alianza.platform.registry.models import Farmer
from alianza.platform.registry.phones import normalise_phone
from alianza.platform.rollout.models import Agronomist
from alianza.platform.validation import validated
from alianza.problems import Message, Problem

INTAKE_USERNAME = "payment-intake"

# Why a payment was parked (codes, as the review queue and the API show them).
PARK_REASONS = {
    "unknown_payer": Message("no sale has this reference and no farmer this phone"),
    "several_farmers": Message("several farmers share this phone and no reference names the sale"),
    "no_pending_sale": Message("the farmer has no pending mobile-money sale of this amount"),
    "sale_not_pending": Message(
        "the sale the reference names is paid already or not by mobile money"
    ),
    "amount_mismatch": Message("the amount differs from the pending sale's"),
    "currency_mismatch": Message("the currency differs from the pending sale's"),
}


def intake_identity(session: Session, programme_code: str) -> tuple[int, int]:
    """The programme's id and the intake's service user's id (disabled for sign-in, made on
    first use), which :func:`intake_actor` acts with; a caller may keep them (they never
    change) and make the actor with :func:`intake_actor_of`."""
    programme_id = session.scalar(select(Programme.id).where(Programme.code == programme_code))
    if programme_id is None:
        raise NotFound(Message("no programme %(code)s", code=programme_code))
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
    return programme_id, user_id


def intake_actor_of(session: Session, identity: tuple[int, int]) -> Actor:
    programme_id, user_id = identity
    return Actor(session, user_id, programme_id, Role.PAYMENT_INTAKE)


def intake_actor(session: Session, programme_code: str) -> Actor:
    """The actor the intake works as in a programme: a service user under the payment_intake
    role, which may only receive payments."""
    return intake_actor_of(session, intake_identity(session, programme_code))


@dataclass(frozen=True)
class Receipt:
    """What the intake did with a notification: the stored payment, and whether it was
    stored before (a replay or a concurrent duplicate, which changed nothing)."""

    payment: MobilePayment
    duplicate: bool


PAYMENT_COLUMNS = tuple(column.key for column in MobilePayment.__table__.columns)
PAYMENTS = cast(Table, MobilePayment.__table__)
SALES = cast(Table, KitSale.__table__)


def _as_payment(values: dict[str, Any]) -> MobilePayment:
    """A stored payment as a detached row (not loaded through the session: the intake writes
    with statements, and a caller only reads it)."""
    payment = MobilePayment(**{key: values.get(key) for key in PAYMENT_COLUMNS})
    make_transient_to_detached(payment)
    return payment


def _stored(actor: Actor, provider: str, transaction_id: str) -> MobilePayment | None:
    row = actor.session.execute(
        scoped(actor.widened(), select(*PAYMENTS.columns)).where(
            MobilePayment.provider == provider, MobilePayment.transaction_id == transaction_id
        )
    ).first()
    return _as_payment(dict(row._mapping)) if row is not None else None


def _insert_once(session: Session) -> Any:
    """INSERT ... ON CONFLICT (provider, transaction_id) DO NOTHING RETURNING id: the unique
    pair answers "new or stored before" in the statement that stores."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(PAYMENTS)
        .on_conflict_do_nothing(index_elements=[PAYMENTS.c.provider, PAYMENTS.c.transaction_id])
        .returning(PAYMENTS.c.id)
    )


def accept(
    actor: Actor,
    data: NotificationIn | dict[str, Any],
    region: str | None = None,
    raw: dict[str, Any] | None = None,
) -> Receipt:
    """Store a notification once, ``received`` (not posted yet): one statement. A replay or a
    concurrent duplicate stores nothing and answers with the stored payment (PostgreSQL makes
    the second insert wait for the first's commit; SQLite serialises writers).
    :func:`post_received` then matches or parks it. ``region`` is the programme's country
    (phonenumbers' region) for phones without ``+``."""
    actor.require(Permission.PAYMENTS_RECEIVE)
    notification = validated(NotificationIn, data)
    phone = None
    if notification.phone:
        try:
            phone = normalise_phone(notification.phone, region)
        except ValueError:
            # kept as sent: the payment is still stored (matched by its reference, or parked)
            phone = notification.phone.strip()
    values: dict[str, Any] = {
        "programme_id": actor.programme_id,
        "provider": notification.provider,
        "transaction_id": notification.transaction_id,
        "phone": phone,
        "amount": notification.amount,
        "currency": notification.currency,
        "reference": notification.reference,
        "paid_at": notification.paid_at,
        "received_at": now(),
        "status": "received",
        "raw": raw if raw is not None else notification.model_dump(mode="json"),
    }
    payment_id = actor.session.scalar(_insert_once(actor.session), values)
    if payment_id is None:
        stored = _stored(actor, notification.provider, notification.transaction_id)
        assert stored is not None
        return Receipt(stored, True)
    return Receipt(_as_payment(values | {"id": payment_id}), False)


def receive(
    actor: Actor,
    data: NotificationIn | dict[str, Any],
    region: str | None = None,
    raw: dict[str, Any] | None = None,
) -> Receipt:
    """Store a notification once and match or park it at once, in the caller's transaction:
    :func:`accept`, then the posting step of :func:`post_received` for this payment alone."""
    receipt = accept(actor, data, region, raw)
    if receipt.duplicate:
        return receipt
    values = {key: getattr(receipt.payment, key) for key in PAYMENT_COLUMNS}
    return Receipt(_post_payments(actor, [values])[0], False)


@dataclass(frozen=True)
class PostingRun:
    """What one run of :func:`post_received` did: payments matched and parked, and whether
    another poster held the programme's turn (nothing done)."""

    matched: int = 0
    parked: int = 0
    busy: bool = False

    @property
    def posted(self) -> int:
        return self.matched + self.parked


POSTING_BATCH = 500
# pg_try_advisory_xact_lock's key: one poster per programme at a time (the constant is
# "alianza payments" folded into 32 bits; the programme id is the second key).
POSTER_LOCK = 0x616C7061


def post_received(actor: Actor, limit: int = POSTING_BATCH) -> PostingRun:
    """Match or park up to ``limit`` received payments, oldest first, in the caller's
    transaction: the same outcome as :func:`receive` one at a time, in a few statements for
    the whole batch. On PostgreSQL one poster works on a programme at a time (another finds it
    ``busy`` and does nothing), so batches never wait for each other's sales."""
    actor.require(Permission.PAYMENTS_RECEIVE)
    session = actor.session
    if session.get_bind().dialect.name == "postgresql":
        turn = session.scalar(
            select(func.pg_try_advisory_xact_lock(POSTER_LOCK, actor.programme_id))
        )
        if not turn:
            return PostingRun(busy=True)
    rows = session.execute(
        scoped(actor.widened(), select(*PAYMENTS.columns))
        .where(MobilePayment.status == "received")
        .order_by(MobilePayment.id)
        .limit(limit)
        .with_for_update()
    ).all()
    done = _post_payments(actor, [dict(row._mapping) for row in rows])
    matched = sum(1 for payment in done if payment.status == "matched")
    return PostingRun(matched=matched, parked=len(done) - matched)


@dataclass
class SaleDue:
    """What the intake reads of a sale a payment may pay (locked for the transaction);
    ``status`` follows the batch's own payments."""

    id: int
    reference: str
    farmer_id: int
    kit_code: str
    units: int
    amount: Decimal
    commission: Decimal
    currency: str
    method: str
    status: str
    sold_on: date
    agronomist_id: int | None
    agronomist_name: str | None
    snapshot: dict[str, Any]


def _sales(actor: Actor, *where: Any) -> list[SaleDue]:
    """Sales with their agronomist's name, locked FOR UPDATE in id order (a concurrent payment
    of one of them waits, and then sees it paid)."""
    bookkeeping = actor.widened()
    agronomist_name = (
        scoped(bookkeeping, select(Agronomist.name))
        .where(Agronomist.id == KitSale.agronomist_id)
        .scalar_subquery()
    )
    rows = actor.session.execute(
        scoped(bookkeeping, select(*SALES.columns, agronomist_name.label("agronomist_name")))
        .where(*where)
        .order_by(KitSale.id)
        .with_for_update(of=KitSale)
    )
    sales = []
    for row in rows:
        values = dict(row._mapping)
        name = values.pop("agronomist_name")
        sales.append(
            SaleDue(
                id=values["id"], reference=values["reference"], farmer_id=values["farmer_id"],
                kit_code=values["kit_code"], units=values["units"],
                amount=Decimal(values["amount"]), commission=Decimal(values["commission"]),
                currency=values["currency"], method=values["method"], status=values["status"],
                sold_on=values["sold_on"], agronomist_id=values["agronomist_id"],
                agronomist_name=name,
                snapshot={key: jsonable(value) for key, value in values.items()},
            )
        )  # fmt: skip
    return sales


@dataclass
class _Candidates:
    """What a batch of payments may name, read in three queries: sales by reference, farmers
    by phone, and those farmers' pending mobile-money sales."""

    by_reference: dict[str, SaleDue]
    farmers_by_phone: dict[str, list[int]]
    pending_by_farmer: dict[int, list[SaleDue]]


def _candidates(actor: Actor, payments: list[dict[str, Any]]) -> _Candidates:
    texts = {text for p in payments if p["reference"] and (text := reference_text(p["reference"]))}
    by_reference = (
        {sale.reference: sale for sale in _sales(actor, KitSale.reference.in_(sorted(texts)))}
        if texts
        else {}
    )
    phones = sorted(
        {
            p["phone"]
            for p in payments
            if p["phone"] and reference_text(p["reference"] or "") not in by_reference
        }
    )
    farmers_by_phone: dict[str, list[int]] = {}
    if phones:
        by_phone = cast("Select[Any]", select(Farmer.id, Farmer.phone))
        for farmer_id, phone in actor.session.execute(
            scoped(actor.widened(), by_phone).where(Farmer.phone.in_(phones)).order_by(Farmer.id)
        ):
            farmers_by_phone.setdefault(phone, []).append(farmer_id)
    single = sorted({ids[0] for ids in farmers_by_phone.values() if len(ids) == 1})
    pending_by_farmer: dict[int, list[SaleDue]] = {}
    if single:
        known = {sale.id: sale for sale in by_reference.values()}
        for sale in _sales(
            actor,
            KitSale.farmer_id.in_(single),
            KitSale.status == "pending",
            KitSale.method == "mobile_money",
        ):
            # one object per sale: a sale named by reference and by phone is paid once
            pending_by_farmer.setdefault(sale.farmer_id, []).append(known.get(sale.id, sale))
        for sales in pending_by_farmer.values():
            sales.sort(key=lambda sale: (sale.sold_on, sale.id))
    return _Candidates(by_reference, farmers_by_phone, pending_by_farmer)


def _decide(
    payment: dict[str, Any], candidates: _Candidates
) -> tuple[SaleDue | None, int | None, str | None]:
    """The sale a payment pays, the farmer it names, or why neither (see the module's
    docstring); sales paid earlier in the batch count as paid."""
    text = reference_text(payment["reference"]) if payment["reference"] else None
    sale = candidates.by_reference.get(text) if text is not None else None
    if sale is not None:
        return sale, sale.farmer_id, _mismatch_of(sale, payment)
    if not payment["phone"]:
        return None, None, "unknown_payer"
    farmer_ids = candidates.farmers_by_phone.get(payment["phone"], [])
    if not farmer_ids:
        return None, None, "unknown_payer"
    if len(farmer_ids) > 1:
        return None, None, "several_farmers"
    for sale in candidates.pending_by_farmer.get(farmer_ids[0], []):
        if sale.status == "pending" and sale.amount == Decimal(payment["amount"]):
            return sale, farmer_ids[0], _mismatch_of(sale, payment)  # the currency may differ
    return None, farmer_ids[0], "no_pending_sale"


def _mismatch_of(sale: SaleDue, payment: dict[str, Any]) -> str | None:
    if sale.status != "pending" or sale.method != "mobile_money":
        return "sale_not_pending"
    if sale.currency != payment["currency"]:
        return "currency_mismatch"
    if sale.amount != Decimal(payment["amount"]):
        return "amount_mismatch"
    return None


def _post_payments(actor: Actor, payments: list[dict[str, Any]]) -> list[MobilePayment]:
    """Match or park received payments (in the order given), post them, and write the
    payments, the sales they pay and the audit entries: about ten statements for any number."""
    if not payments:
        return []
    session = actor.session
    candidates = _candidates(actor, payments)
    decided: list[tuple[dict[str, Any], SaleDue | None, int | None, str | None]] = []
    wanted: dict[str, tuple[str, str]] = {}
    for payment in payments:
        sale, farmer_id, reason = _decide(payment, candidates)
        currency = payment["currency"]
        wanted[f"Mobile money {payment['provider']} ({currency})"] = (
            "mobile_money", f"Mobile money {payment['provider']}",
        )  # fmt: skip
        if sale is not None and reason is None:
            sale.status = "paid"  # a later payment of the batch finds it paid
            wanted[f"Kit sales ({sale.currency})"] = ("kit_sales", "Kit sales")
            agronomist = _agronomist_account_name(sale)
            if agronomist is not None:
                wanted[f"{agronomist} ({sale.currency})"] = ("agronomist", agronomist)
            decided.append((payment, sale, farmer_id, None))
        else:
            wanted[f"Payments suspense ({currency})"] = ("payments_suspense", "Payments suspense")
            decided.append((payment, None, farmer_id, reason))
    refs = _accounts_by_name(actor, wanted)
    postings = []
    for payment, sale, _farmer_id, reason in decided:
        source = refs[f"Mobile money {payment['provider']} ({payment['currency']})"].id
        paid_on = payment["paid_at"].date()
        if sale is not None:
            postings.append(_sale_posting(sale, source, refs, paid_on))
        else:
            suspense = refs[f"Payments suspense ({payment['currency']})"].id
            postings.append(
                ledger.NewPosting(
                    "payment_parked",
                    paid_on,
                    f"{payment['provider']} {payment['transaction_id']} parked: {reason}",
                    ((source, -payment["amount"]), (suspense, payment["amount"])),
                )
            )
    audit: list[dict[str, Any]] = []  # every audit entry of the batch, in one statement
    posting_ids = ledger.post_many(actor, postings, {ref.id: ref for ref in refs.values()}, audit)
    done: list[MobilePayment] = []
    payment_rows: list[dict[str, Any]] = []
    sale_rows: list[dict[str, Any]] = []
    for (payment, sale, farmer_id, reason), posting_id in zip(decided, posting_ids, strict=True):
        values = payment | {
            "status": "matched" if sale is not None else "parked",
            "park_reason": reason,
            "park_detail": str(PARK_REASONS[reason]) if reason is not None else None,
            "farmer_id": farmer_id,
            "sale_id": sale.id if sale is not None else None,
            "posting_id": posting_id,
        }
        payment_rows.append(
            {f"new_{key}": values[key] for key in POSTED_COLUMNS} | {"key": values["id"]}
        )
        stored = _as_payment(values)
        done.append(stored)
        audit.append(
            audit_row(actor, "create", "mobile_payments", values["id"], after=snapshot(stored))
        )
        if sale is not None:
            paid_on = payment["paid_at"].date()
            sale_rows.append(
                {"key": sale.id, "new_paid_on": paid_on, "new_sale_posting_id": posting_id}
            )
            after = sale.snapshot | {"status": "paid", "paid_on": paid_on.isoformat(),
                                     "sale_posting_id": posting_id}  # fmt: skip
            audit.append(
                audit_row(actor, "update", "kit_sales", sale.id, before=sale.snapshot, after=after)
            )
    connection = session.connection()
    connection.execute(
        PAYMENTS.update()
        .where(PAYMENTS.c.id == bindparam("key"))
        .values({key: bindparam(f"new_{key}") for key in POSTED_COLUMNS}),
        payment_rows,
    )
    if sale_rows:
        connection.execute(
            SALES.update()
            .where(SALES.c.id == bindparam("key"))
            .values(status="paid", paid_on=bindparam("new_paid_on"),
                    sale_posting_id=bindparam("new_sale_posting_id")),
            sale_rows,
        )  # fmt: skip
        # sales this session holds as objects are read again on their next use
        for row in sale_rows:
            _expire(session, KitSale, row["key"])
    for payment in payments:
        _expire(session, MobilePayment, payment["id"])
    write_audit_rows(session, audit)
    return done


def _expire(session: Session, model: type[Any], row_id: int) -> None:
    """Have the session read the row again if it holds it as an object (written by statement)."""
    held = session.identity_map.get(identity_key(model, row_id))
    if held is not None:
        session.expire(held)


POSTED_COLUMNS = ("status", "park_reason", "park_detail", "farmer_id", "sale_id", "posting_id")


def _locked_sale(actor: Actor, sale_id: int) -> KitSale:
    sale = actor.session.scalar(
        select(KitSale)
        .where(KitSale.id == sale_id, KitSale.programme_id == actor.programme_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert sale is not None
    return sale


def _mismatch(sale: KitSale, payment: MobilePayment) -> str | None:
    if sale.status != "pending" or sale.method != "mobile_money":
        return "sale_not_pending"
    if sale.currency != payment.currency:
        return "currency_mismatch"
    if Decimal(sale.amount) != Decimal(payment.amount):
        return "amount_mismatch"
    return None


def _agronomist_account_name(sale: SaleDue) -> str | None:
    """The name (without currency) of the account the sale's commission goes to, if any: the
    same name :func:`alianza.platform.kits.service.agronomist_account` opens."""
    if sale.agronomist_id is None or sale.commission <= 0:
        return None
    return f"Agronomist {sale.agronomist_name} #{sale.agronomist_id}"


def _accounts_by_name(
    actor: Actor, wanted: dict[str, tuple[str, str]]
) -> dict[str, ledger.AccountRef]:
    """The programme accounts named (full name -> (kind, name without currency)), read in one
    query; one missing is opened (first payments only)."""
    refs = ledger.account_refs(actor, list(wanted))
    for full, (kind, name) in wanted.items():
        if full not in refs:
            currency = full.rsplit("(", 1)[1].rstrip(")")
            account = programme_account(actor, kind, name, currency)
            refs[full] = ledger.AccountRef(
                account.id, account.kind, account.currency, account.allows_overdraft
            )
    return refs


def _sale_posting(
    sale: SaleDue, source_id: int, refs: dict[str, ledger.AccountRef], paid_on: date
) -> ledger.NewPosting:
    """The sale's posting, as :func:`alianza.platform.kits.service.settle` makes it: the amount
    from the payer's account, split between kit sales and the agronomist's commission."""
    legs = [(refs[f"Kit sales ({sale.currency})"].id, sale.amount - sale.commission)]
    agronomist_name = _agronomist_account_name(sale)
    if agronomist_name is not None:
        legs.append((refs[f"{agronomist_name} ({sale.currency})"].id, sale.commission))
    legs = [(account_id, amount) for account_id, amount in legs if amount > 0]
    total = sum((amount for _, amount in legs), Decimal("0.00"))
    return ledger.NewPosting(
        "kit_sale",
        paid_on,
        sale_memo(sale.reference, sale.units, sale.kit_code, sale.farmer_id),
        ((source_id, -total), *legs),
    )


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
            Message(
                "payment %(payment)s is %(status)s, not parked",
                payment=payment_id,
                status=payment.status,
            ),
            rule="match parked payments",
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
        Problem(f"(header).{key}", Message("the statement has no %(column)s column", column=key))
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
            problems.append(
                Problem(
                    f"row {number}.amount",
                    Message("not an amount: '%(text)s'", text=text_amount),
                )
            )
            continue
        if not transaction_id:
            problems.append(Problem(f"row {number}.transaction_id", Message("empty")))
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
