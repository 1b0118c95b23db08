from __future__ import annotations

from datetime import date
from decimal import Decimal

from alianza.platform.agreements import service as agreements
from alianza.platform.portfolio import service as portfolio
from alianza.platform.programmes.service import Actor
from tests.platform.cycle_fixtures import AGREEMENT, build_world, counterpart_paid, profile


def test_portfolio_queries(admin: Actor) -> None:
    world = build_world(admin)
    sub = counterpart_paid(world)
    profile(world, title="second")
    agreement = agreements.sign_agreement(admin, sub.id, AGREEMENT)
    for day, quantity in (
        (date(2025, 5, 10), "100"),
        (date(2025, 6, 10), "50.5"),
        (date(2025, 7, 10), "10"),
    ):
        agreements.record_delivery(
            admin,
            agreement.id,
            {"delivered_on": day, "quantity": quantity, "grade": "B", "reference_price": "10.00"},
        )
    sales = portfolio.sales_by_po_by_quarter(admin, date(2025, 1, 1), date(2025, 12, 31))
    assert [(s.year, s.quarter, s.quantity, s.amount) for s in sales] == [
        (2025, 2, Decimal("150.500"), Decimal("1580.25")),
        (2025, 3, Decimal("10.000"), Decimal("105.00")),
    ]
    assert portfolio.subprojects_by_state_and_district(admin) == {
        ("Intibucá", "agreement_signed"): 1,
        ("Intibucá", "profile_submitted"): 1,
    }
    [inclusion] = portfolio.inclusion_by_call(admin, date(2025, 1, 1))
    # both subprojects are the same PO's: 12 members counted twice; 6 women, youth born >= 1990: 9 of 12
    assert (inclusion.members, inclusion.women_share, inclusion.youth_share) == (
        24,
        Decimal("0.5"),
        Decimal("0.75"),
    )
    assert len(portfolio.balances_at(admin, date(2025, 4, 30))) >= 3


def test_roll_up_in_the_reporting_currency(admin: Actor) -> None:
    from alianza.platform.ledger import service as ledger
    from alianza.platform.programmes.service import set_exchange_rate

    funder = ledger.open_account(admin, {"kind": "funder", "name": "WB HNL", "currency": "HNL"})
    funds = ledger.open_account(
        admin, {"kind": "project_funds", "name": "Funds HNL", "currency": "HNL"}
    )
    mw_funder = ledger.open_account(admin, {"kind": "funder", "name": "WB MWK", "currency": "MWK"})
    mw_funds = ledger.open_account(
        admin, {"kind": "project_funds", "name": "Funds MWK", "currency": "MWK"}
    )
    ledger.transfer(
        admin,
        {
            "kind": "funding",
            "from_account_id": funder.id,
            "to_account_id": funds.id,
            "amount": "24500.00",
            "posted_on": date(2025, 1, 5),
        },
    )
    ledger.transfer(
        admin,
        {
            "kind": "funding",
            "from_account_id": mw_funder.id,
            "to_account_id": mw_funds.id,
            "amount": "1750000.00",
            "posted_on": date(2025, 1, 5),
        },
    )
    set_exchange_rate(
        admin,
        {"currency": "HNL", "rate_date": date(2025, 1, 1), "units_per_reporting_unit": "24.5"},
    )
    set_exchange_rate(
        admin,
        {"currency": "MWK", "rate_date": date(2025, 1, 1), "units_per_reporting_unit": "1750"},
    )
    rows = portfolio.balances_by_kind_in_reporting_currency(admin, date(2025, 2, 1))
    assert [(r.kind, r.currency, r.amount, r.reporting_amount) for r in rows] == [
        ("funder", "HNL", Decimal("-24500.00"), Decimal("-1000.00")),
        ("funder", "MWK", Decimal("-1750000.00"), Decimal("-1000.00")),
        ("project_funds", "HNL", Decimal("24500.00"), Decimal("1000.00")),
        ("project_funds", "MWK", Decimal("1750000.00"), Decimal("1000.00")),
    ]
