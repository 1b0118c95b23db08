from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from alianza.platform.agreements import service as agreements
from alianza.platform.errors import Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.programmes.service import Actor
from tests.platform.cycle_fixtures import AGREEMENT, World, build_world, counterpart_paid


@pytest.fixture
def signed(admin: Actor) -> tuple[World, int]:
    world = build_world(admin)
    sub = counterpart_paid(world)
    agreement = agreements.sign_agreement(admin, sub.id, AGREEMENT)
    assert sub.state == "agreement_signed"
    return world, agreement.id


def test_prices_follow_the_mechanism(signed: tuple[World, int]) -> None:
    world, agreement_id = signed
    actor = world.actor
    above_floor = agreements.record_delivery(
        actor,
        agreement_id,
        {
            "delivered_on": date(2025, 5, 10),
            "quantity": "1000.5",
            "grade": "A",
            "reference_price": "9.00",
        },
    )
    assert (above_floor.unit_price, above_floor.amount) == (Decimal("10.50"), Decimal("10505.25"))
    at_floor = agreements.record_delivery(
        actor,
        agreement_id,
        {
            "delivered_on": date(2025, 5, 20),
            "quantity": "100",
            "grade": "B",
            "reference_price": "6.00",
        },
    )
    assert at_floor.unit_price == Decimal("8.00") and at_floor.due_on == date(2025, 6, 19)
    with pytest.raises(Refused, match="give reference_price"):
        agreements.record_delivery(
            actor, agreement_id, {"delivered_on": date(2025, 5, 20), "quantity": "1", "grade": "B"}
        )
    with pytest.raises(Refused, match="quality grades"):
        agreements.record_delivery(
            actor,
            agreement_id,
            {
                "delivered_on": date(2025, 5, 20),
                "quantity": "1",
                "grade": "Z",
                "reference_price": "6",
            },
        )
    with pytest.raises(Refused, match="agreement period"):
        agreements.record_delivery(
            actor,
            agreement_id,
            {
                "delivered_on": date(2030, 1, 1),
                "quantity": "1",
                "grade": "A",
                "reference_price": "6",
            },
        )


def test_payments_post_to_the_ledger_and_alerts_flag_risks(signed: tuple[World, int]) -> None:
    world, agreement_id = signed
    actor = world.actor
    # period 1 (May-Jul): 9,000 of 10,000 kg; period 2 (Aug-Oct): 3,000 of 10,000 kg -> side-selling
    agreements.record_delivery(
        actor,
        agreement_id,
        {
            "delivered_on": date(2025, 6, 1),
            "quantity": "9000",
            "grade": "B",
            "reference_price": "8.00",
        },
    )
    agreements.record_delivery(
        actor,
        agreement_id,
        {
            "delivered_on": date(2025, 9, 1),
            "quantity": "3000",
            "grade": "B",
            "reference_price": "8.00",
        },
    )
    # 9000 x 8.50 = 76,500 due 2025-07-01; 3000 x 8.50 = 25,500 due 2025-10-01
    agreements.record_payment(actor, agreement_id, "76500.00", date(2025, 6, 25))
    agreements.record_payment(actor, agreement_id, "10000.00", date(2025, 10, 15))
    found = agreements.alerts(actor, date(2025, 11, 15))
    kinds = [(a.kind, a.message) for a in found]
    assert len(kinds) == 2
    assert kinds[0][0] == "side_selling" and "delivered 3,000.000 of 10,000.000 kg" in kinds[0][1]
    assert kinds[1][0] == "buyer_default" and "15,500.00 HNL unpaid, 45 days late" in kinds[1][1]
    assert agreements.alerts(actor, date(2025, 9, 30)) == []
    po = ledger.find_account(actor, "po", "HNL", organization_id=world.po.id)
    assert po is not None and ledger.balance(actor, po.id) == Decimal(
        "92500.00"
    )  # 6000 counterpart + payments
    assert ledger.totals_by_currency(actor) == {"HNL": Decimal("0.00")}


def test_the_agreement_and_its_schedule_are_audited(signed: tuple[World, int]) -> None:
    from alianza.platform.audit.service import entries

    world, agreement_id = signed
    [created] = [
        e for e in entries(world.actor, entity="agreements") if e.entity_id == agreement_id
    ]
    assert created.after is not None and created.after["price_mechanism"] == "floor"
    assert [p["quantity"] for p in created.after["schedule"]] == ["10000", "10000"]
    assert created.user_id == world.actor.user_id and created.before is None


def _alerts_by_hand(
    periods: list[tuple[date, date, Decimal]],
    deliveries: list[tuple[date, date, Decimal, Decimal]],
    payments: list[tuple[date, Decimal]],
    as_of: date,
) -> list[tuple[str, Decimal]]:
    """The alert rules computed delivery by delivery, as a person would on paper."""
    found: list[tuple[str, Decimal]] = []
    for start, end, scheduled in periods:
        delivered = sum((q for on, _, q, _ in deliveries if start <= on <= end), Decimal(0))
        if end < as_of and delivered < scheduled * agreements.SIDE_SELLING_SHARE:
            found.append(("side_selling", delivered))
    remaining = sum((amount for on, amount in payments if on <= as_of), Decimal(0))
    for _, due_on, _, amount in sorted(deliveries, key=lambda d: d[0]):  # then by id
        covered = min(remaining, amount)
        remaining -= covered
        if amount - covered > 0 and due_on < as_of:
            found.append(("buyer_default", amount - covered))
    return found


def test_alerts_agree_with_the_rules_applied_by_hand(signed: tuple[World, int]) -> None:
    import random

    world, agreement_id = signed
    actor = world.actor
    rng = random.Random(11)
    periods = [
        (p["period_start"], p["period_end"], Decimal(p["quantity"])) for p in AGREEMENT["schedule"]
    ]
    deliveries: list[tuple[date, date, Decimal, Decimal]] = []
    payments: list[tuple[date, Decimal]] = []
    for _ in range(14):
        on = date(2025, 5, 1) + timedelta(days=rng.randrange(0, 330))
        if rng.random() < 0.6:
            row = agreements.record_delivery(
                actor,
                agreement_id,
                {
                    "delivered_on": on,
                    "quantity": str(rng.randrange(100, 5000)),
                    "grade": rng.choice("AB"),
                    "reference_price": "8.00",
                },
            )
            deliveries.append((row.delivered_on, row.due_on, row.quantity, row.amount))
        else:
            amount = Decimal(rng.randrange(1000, 40000))
            agreements.record_payment(actor, agreement_id, str(amount), on)
            payments.append((on, amount))
        for as_of in (date(2025, 7, 15), date(2025, 11, 20), date(2026, 4, 30)):
            computed = [
                (a.kind, a.delivered if a.kind == "side_selling" else a.unpaid)
                for a in agreements.alerts(actor, as_of)
            ]
            assert computed == _alerts_by_hand(periods, deliveries, payments, as_of)
