"""The mobile-money intake: idempotent under replay and concurrency, matching by reference or
phone, parking with the reason, matching by a person (audited), reconciliation."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alianza.platform.access import Actor
from alianza.platform.audit import service as audit
from alianza.platform.db import Database
from alianza.platform.errors import Forbidden, Invalid, Refused
from alianza.platform.kits import service as kits
from alianza.platform.kits.models import KitSale
from alianza.platform.ledger import service as ledger
from alianza.platform.ledger.models import Posting
from alianza.platform.payments import service as payments
from alianza.platform.payments.models import MobilePayment
from alianza.platform.registry import service as registry
from tests.platform.mi_fixtures import MIWorld, build_mi_world, sale

PAID_AT = datetime(2025, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def mi(session: Session, admin: Actor) -> MIWorld:
    return build_mi_world(session, admin)


def _notify(session: Session, **fields: object) -> payments.Receipt:
    intake = payments.intake_actor(session, "PA-HN")
    body = {"provider": "airtel", "currency": "MWK", "paid_at": PAID_AT, **fields}
    return payments.receive(intake, body, region="MW")


def test_a_payment_with_the_sale_reference_pays_the_pending_sale(
    mi: MIWorld, session: Session
) -> None:
    pending = sale(mi, mi.farmers[0], method="mobile_money")
    session.commit()
    receipt = _notify(
        session,
        transaction_id="T1",
        amount="17500.00",
        reference=pending.reference.lower(),
        phone="0999000000",
    )
    assert not receipt.duplicate and receipt.payment.status == "matched"
    assert receipt.payment.sale_id == pending.id and receipt.payment.phone == "+265999000000"
    assert session.get(KitSale, pending.id).status == "paid"
    again = _notify(session, transaction_id="T1", amount="17500.00", reference=pending.reference)
    assert again.duplicate and again.payment.id == receipt.payment.id
    assert session.scalar(select(func.count(MobilePayment.id))) == 1
    assert set(ledger.totals_by_currency(mi.admin).values()) == {Decimal("0.00")}


def test_a_payment_by_the_farmers_phone_pays_their_pending_sale(
    mi: MIWorld, session: Session
) -> None:
    farmer = mi.farmers[1]
    pending = sale(mi, farmer, method="mobile_money")
    session.commit()
    receipt = _notify(session, transaction_id="T2", amount="17500.00", phone=farmer.phone)
    assert receipt.payment.status == "matched" and receipt.payment.sale_id == pending.id


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"reference": "K999", "phone": "0999111222"}, "unknown_payer"),
        ({"amount": "17000.00"}, "amount_mismatch"),
        ({"currency": "TZS"}, "currency_mismatch"),
        ({"reference": None, "phone": "not a phone"}, "unknown_payer"),
    ],
)
def test_unattributable_payments_are_parked_with_the_reason(
    mi: MIWorld, session: Session, fields: dict[str, str], reason: str
) -> None:
    pending = sale(mi, mi.farmers[0], method="mobile_money")
    session.commit()
    body = {"transaction_id": "P1", "amount": "17500.00", "reference": pending.reference} | fields
    receipt = _notify(session, **body)
    assert receipt.payment.status == "parked" and receipt.payment.park_reason == reason
    assert session.get(KitSale, pending.id).status == "pending"
    suspense = {b.name: b.balance for b in ledger.balances(mi.admin)}
    assert suspense[f"Payments suspense ({receipt.payment.currency})"] == Decimal(body["amount"])
    assert payments.parked(mi.admin).total == 1


def test_a_person_matches_a_parked_payment_and_the_audit_says_so(
    mi: MIWorld, session: Session
) -> None:
    pending = sale(mi, mi.farmers[0], method="mobile_money")
    session.commit()
    parked = _notify(session, transaction_id="P2", amount="17500.00", phone="0999111222").payment
    assert parked.park_reason == "unknown_payer"
    assert [s.id for s in payments.candidates(mi.admin, parked)] == [pending.id]
    with pytest.raises(Forbidden):
        payments.match(mi.agronomist_actor, parked.id, pending.id)
    matched = payments.match(
        mi.admin, parked.id, pending.id, note="farmer paid from her brother's phone"
    )
    assert matched.status == "resolved" and matched.matched_by == mi.admin.user_id
    assert session.get(KitSale, pending.id).status == "paid"
    balances = {b.name: b.balance for b in ledger.balances(mi.admin)}
    assert balances["Payments suspense (MWK)"] == Decimal("0.00")
    assert balances["Kit sales (MWK)"] == Decimal("16625.00")
    entry = [e for e in audit.entries(mi.admin, entity="mobile_payments") if e.action == "match"][
        -1
    ]
    assert entry.after["note"] == "farmer paid from her brother's phone"
    with pytest.raises(Refused, match="not parked"):
        payments.match(mi.admin, parked.id, pending.id)


def test_a_notification_without_an_offset_or_with_a_float_is_refused(
    mi: MIWorld, session: Session
) -> None:
    intake = payments.intake_actor(session, "PA-HN")
    with pytest.raises(Invalid) as invalid:
        payments.receive(
            intake,
            {"provider": "x", "transaction_id": "1", "amount": 1.5, "currency": "MWK", "paid_at": "2025-01-01T10:00:00"},
        )  # fmt: skip
    assert {p.field for p in invalid.value.problems} == {"amount", "paid_at"}
    with pytest.raises(Forbidden):
        payments.receive(
            mi.agronomist_actor,
            {
                "provider": "x",
                "transaction_id": "1",
                "amount": "1",
                "currency": "MWK",
                "paid_at": PAID_AT,
            },
        )


def test_reconcile_lists_missing_extra_and_mismatched(mi: MIWorld, session: Session) -> None:
    for transaction_id, amount in (("A", "100.00"), ("B", "200.00"), ("C", "300.00")):
        _notify(session, transaction_id=transaction_id, amount=amount, phone="0999111222")
    session.commit()
    statement = (
        "TransID,TransAmount,MSISDN\nA,100.00,265999111222\nB,250.00,0999111222\nD,400,0999111333\n"
    )
    lines = payments.read_statement(statement, region="MW")
    result = payments.reconcile(mi.admin, "airtel", lines)
    assert [line.transaction_id for line in result.missing] == ["D"]
    assert [p.transaction_id for p in result.extra] == ["C"]
    assert [(line.transaction_id, why) for line, _, why in result.mismatched] == [
        ("B", "amount 250.00 on the statement, 200.00 received")
    ]
    assert result.matched == 1
    with pytest.raises(Invalid) as invalid:
        payments.read_statement("TransID,TransAmount\nA,lots\n")
    assert invalid.value.problems[0].field == "row 2.amount"


def test_a_thousand_notifications_with_replays_from_threads_make_one_payment_each(
    database: Database, session: Session, admin: Actor
) -> None:
    """1,000 notifications, 30% of them replays, sent from 6 threads in shuffled order (so
    duplicates race each other): exactly one payment per transaction, a balanced ledger."""
    mi = build_mi_world(session, admin, farmers=20)
    pending = [sale(mi, farmer, method="mobile_money") for farmer in mi.farmers]
    session.commit()
    unique = 700
    bodies = []
    for n in range(unique):
        if n < len(pending):  # these pay a pending sale; the rest are parked (unknown payer)
            body = {"reference": pending[n].reference, "amount": "17500.00"}
        else:
            body = {"phone": f"0888{n:06d}", "amount": f"{100 + n}.00"}
        bodies.append(
            {
                "provider": "airtel",
                "transaction_id": f"TX{n:05d}",
                "currency": "MWK",
                "paid_at": PAID_AT,
            }
            | body
        )
    rng = random.Random(7)
    sent = bodies + [rng.choice(bodies) for _ in range(1000 - unique)]
    rng.shuffle(sent)
    duplicates = 0
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(part: list[dict[str, object]]) -> None:
        nonlocal duplicates
        for body in part:
            try:
                with database.session() as own:
                    receipt = payments.receive(
                        payments.intake_actor(own, "PA-HN"), body, region="MW"
                    )
                with lock:
                    duplicates += receipt.duplicate
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(sent[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    session.expire_all()
    assert session.scalar(select(func.count(MobilePayment.id))) == unique
    assert duplicates == 1000 - unique
    assert session.scalar(select(func.count(KitSale.id)).where(KitSale.status == "paid")) == len(
        pending
    )
    assert session.scalar(
        select(func.count(MobilePayment.id)).where(MobilePayment.status == "matched")
    ) == len(pending)
    assert (
        session.scalar(
            select(func.count(Posting.id)).where(Posting.kind.in_(["kit_sale", "payment_parked"]))
        )
        == unique
    )
    assert set(ledger.totals_by_currency(admin).values()) == {Decimal("0.00")}
    received = session.scalar(select(func.sum(MobilePayment.amount)))
    expected = sum(Decimal(str(b["amount"])) for b in bodies)
    assert received == expected


def test_accepted_notifications_from_threads_are_posted_once_by_concurrent_batches(
    database: Database, session: Session, admin: Actor
) -> None:
    """The HTTP intake's path: 1,000 notifications (30% replays, shuffled) stored from 6
    threads while two posters run batches concurrently: one payment per transaction, every
    matching sale paid once, one posting each, a balanced ledger."""
    mi = build_mi_world(session, admin, farmers=20)
    pending = [sale(mi, farmer, method="mobile_money") for farmer in mi.farmers]
    session.commit()
    unique = 700
    bodies = []
    for n in range(unique):
        if n < len(pending):
            body = {"reference": pending[n].reference, "amount": "17500.00"}
        elif n < 2 * len(pending):  # by phone: the sale is paid by reference already, parked
            body = {"phone": mi.farmers[n - len(pending)].phone, "amount": "17500.00"}
        else:
            body = {"phone": f"0888{n:06d}", "amount": f"{100 + n}.00"}
        bodies.append(
            {"provider": "airtel", "transaction_id": f"TX{n:05d}", "currency": "MWK",
             "paid_at": PAID_AT} | body
        )  # fmt: skip
    rng = random.Random(11)
    sent = bodies + [rng.choice(bodies) for _ in range(1000 - unique)]
    rng.shuffle(sent)
    duplicates = 0
    errors: list[BaseException] = []
    lock = threading.Lock()
    accepting = threading.Event()
    accepting.set()

    def intake(part: list[dict[str, object]]) -> None:
        nonlocal duplicates
        for body in part:
            try:
                with database.session() as own:
                    receipt = payments.accept(payments.intake_actor(own, "PA-HN"), body, "MW")
                with lock:
                    duplicates += receipt.duplicate
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

    def poster() -> None:
        try:
            while True:
                with database.session() as own:
                    run = payments.post_received(payments.intake_actor(own, "PA-HN"), limit=37)
                if not run.posted and not run.busy and not accepting.is_set():
                    return
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    intakes = [threading.Thread(target=intake, args=(sent[i::6],)) for i in range(6)]
    posters = [threading.Thread(target=poster) for _ in range(2)]
    for thread in intakes + posters:
        thread.start()
    for thread in intakes:
        thread.join()
    accepting.clear()
    for thread in posters:
        thread.join()
    assert not errors, errors[:3]
    session.expire_all()
    assert duplicates == 1000 - unique
    assert session.scalar(select(func.count(MobilePayment.id))) == unique
    by_status = dict(
        session.execute(
            select(MobilePayment.status, func.count(MobilePayment.id)).group_by(
                MobilePayment.status
            )
        ).all()
    )
    assert by_status == {"matched": len(pending), "parked": unique - len(pending)}
    paid = session.scalar(select(func.count(KitSale.id)).where(KitSale.status == "paid"))
    assert paid == len(pending)
    assert (
        session.scalar(
            select(func.count(Posting.id)).where(Posting.kind.in_(["kit_sale", "payment_parked"]))
        )
        == unique
    )
    assert set(ledger.totals_by_currency(admin).values()) == {Decimal("0.00")}
    balances = {b.name: b.balance for b in ledger.balances(admin)}
    parked_total = sum((Decimal(str(b["amount"])) for b in bodies[len(pending) :]), Decimal("0.00"))
    assert balances["Payments suspense (MWK)"] == parked_total
    # kit sales get the price less the 5% commission, the agronomist the commission
    assert balances["Kit sales (MWK)"] == len(pending) * Decimal("16625.00")


EXAMPLES = itertools.count()  # fresh farmers, sales and transaction ids per hypothesis example
# A notification of the pool: how it names its payer, and whether the amount is the sale's.
PAYERS = ("sale0", "sale1", "sale2", "bad_check_digit", "phone0", "phone1", "phone2", "stranger")
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("accept"), st.integers(0, 7)),
        st.tuples(st.just("post"), st.integers(1, 4)),
    ),
    max_size=16,
)


def _model(
    arrivals: list[dict[str, str]], sales: list[dict[str, object]], phones: dict[str, list[int]]
) -> dict[str, tuple[str, str | None, int | None]]:
    """The intake's rules written plainly, one payment after another in arrival order:
    transaction -> (status, park reason, sale)."""
    pending = {s["id"]: True for s in sales}
    by_reference = {s["reference"]: s for s in sales}
    outcome: dict[str, tuple[str, str | None, int | None]] = {}
    for body in arrivals:
        if body["transaction_id"] in outcome:
            continue  # a replay changes nothing
        amount = Decimal(body["amount"])
        named = by_reference.get(body.get("reference") or "")
        if named is not None:
            if not pending[named["id"]]:
                outcome[body["transaction_id"]] = ("parked", "sale_not_pending", None)
            elif named["amount"] != amount:
                outcome[body["transaction_id"]] = ("parked", "amount_mismatch", None)
            else:
                pending[named["id"]] = False
                outcome[body["transaction_id"]] = ("matched", None, named["id"])  # type: ignore[assignment]
            continue
        farmers = phones.get(body.get("phone") or "", [])
        if len(farmers) != 1:
            outcome[body["transaction_id"]] = (
                "parked", "unknown_payer" if not farmers else "several_farmers", None,
            )  # fmt: skip
            continue
        due = [
            s for s in sales
            if s["farmer_id"] == farmers[0] and pending[s["id"]] and s["amount"] == amount
        ]  # fmt: skip
        if due:
            pending[due[0]["id"]] = False
            outcome[body["transaction_id"]] = ("matched", None, due[0]["id"])  # type: ignore[assignment]
        else:
            outcome[body["transaction_id"]] = ("parked", "no_pending_sale", None)
    return outcome


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, wrong_amount=st.lists(st.booleans(), min_size=8, max_size=8))
def test_any_interleaving_of_replays_and_batches_gives_one_payment_each_as_one_at_a_time(
    mi: MIWorld, session: Session, steps: list[tuple[str, int]], wrong_amount: list[bool]
) -> None:
    """Notifications accepted (with replays) and posted in batches of any size, in any
    interleaving, end as the rules give them one at a time in arrival order: one payment per
    transaction, each sale paid at most once, a balanced ledger."""
    example = next(EXAMPLES)
    kits.receive_stock(
        mi.admin,
        {"supplier_id": mi.supplier.id, "district_id": mi.district.id, "kit_code": "drip_bed",
         "quantity": 3},
    )  # fmt: skip
    farmers = [
        registry.add_farmer(
            mi.admin,
            {
                "name": f"Example {example} farmer {i}",
                "sex": "female",
                "birth_year": 1990,
                "household_size": 4,
                "land_hectares": "0.5",
                "village_id": mi.village.id,
                "phone": f"0995{example:03d}{i:03d}",
            },
        )  # fmt: skip
        for i in range(3)
    ]
    # farmer 1 has two pending sales of one amount: a payment by phone pays the older first
    made = [sale(mi, farmers[0], method="mobile_money"), sale(mi, farmers[1], method="mobile_money"),
            sale(mi, farmers[1], method="mobile_money")]  # fmt: skip
    session.commit()
    sales = [{"id": s.id, "reference": s.reference, "farmer_id": s.farmer_id,
              "amount": Decimal(s.amount)} for s in made]  # fmt: skip
    phones = {f.phone: [f.id] for f in farmers}
    pool = []
    for index, payer in enumerate(PAYERS):
        amount = "17000.00" if wrong_amount[index] else "17500.00"
        body: dict[str, str] = {"transaction_id": f"E{example}-{index}", "amount": amount}
        if payer.startswith("sale"):
            body["reference"] = made[int(payer[-1])].reference
        elif payer == "bad_check_digit":
            body["reference"] = made[0].reference[:-1] + str((int(made[0].reference[-1]) + 1) % 10)
        elif payer.startswith("phone"):
            body["phone"] = farmers[int(payer[-1])].phone
        else:
            body["phone"] = f"0888{example:03d}999"
        pool.append(body)
    intake = payments.intake_actor(session, "PA-HN")
    arrivals = []
    for step, value in steps:
        if step == "accept":
            body = pool[value]
            receipt = payments.accept(
                intake, {"provider": "airtel", "currency": "MWK", "paid_at": PAID_AT, **body},
                region="MW",
            )  # fmt: skip
            assert receipt.duplicate == any(
                b["transaction_id"] == body["transaction_id"] for b in arrivals
            )
            arrivals.append(body)
        else:
            payments.post_received(intake, limit=value)
        session.commit()
    while payments.post_received(intake).posted:
        session.commit()
    session.commit()
    session.expire_all()
    expected = _model(arrivals, sales, phones)
    stored = {
        p.transaction_id: (p.status, p.park_reason, p.sale_id)
        for p in session.scalars(
            select(MobilePayment).where(MobilePayment.transaction_id.like(f"E{example}-%"))
        )
    }
    assert stored == expected
    paid = {s.id for s in made if session.get(KitSale, s.id).status == "paid"}
    assert paid == {sale_id for _, _, sale_id in expected.values() if sale_id is not None}
    assert set(ledger.totals_by_currency(mi.admin).values()) <= {Decimal("0.00")}


def test_a_payment_by_phone_in_another_currency_is_parked_and_the_sale_waits(
    mi: MIWorld, session: Session
) -> None:
    farmer = mi.farmers[2]
    pending = sale(mi, farmer, method="mobile_money")
    session.commit()
    receipt = _notify(
        session, transaction_id="C1", amount="17500.00", currency="TZS", phone=farmer.phone
    )
    assert (receipt.payment.status, receipt.payment.park_reason) == ("parked", "currency_mismatch")
    assert receipt.payment.farmer_id == farmer.id
    assert session.get(KitSale, pending.id).status == "pending"
