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
    for day, quantity in ((date(2025, 5, 10), "100"), (date(2025, 6, 10), "50.5"), (date(2025, 7, 10), "10")):
        agreements.record_delivery(admin, agreement.id, {"delivered_on": day, "quantity": quantity,
                                                         "grade": "B", "reference_price": "10.00"})
    sales = portfolio.sales_by_po_by_quarter(admin, date(2025, 1, 1), date(2025, 12, 31))
    assert [(s.year, s.quarter, s.quantity, s.amount) for s in sales] == [
        (2025, 2, Decimal("150.500"), Decimal("1580.25")), (2025, 3, Decimal("10.000"), Decimal("105.00"))]
    assert portfolio.subprojects_by_state_and_district(admin) == {
        ("Intibucá", "agreement_signed"): 1, ("Intibucá", "profile_submitted"): 1}
    [inclusion] = portfolio.inclusion_by_call(admin, date(2025, 1, 1))
    # both subprojects are the same PO's: 12 members counted twice; 6 women, youth born >= 1990: 9 of 12
    assert (inclusion.members, inclusion.women_share, inclusion.youth_share) == (24, Decimal("0.5"), Decimal("0.75"))
    assert len(portfolio.balances_at(admin, date(2025, 4, 30))) >= 3
