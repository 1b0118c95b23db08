"""Micro Investing field operations: kit sales posted with the agronomist's commission and
refused with the rule broken, supplier stock, the rollout's phases and adoption, field
records, farmers' cards."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alianza.platform.access import Actor
from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.platform.fieldrecords import service as field
from alianza.platform.kits import service as kits
from alianza.platform.kits.models import KitSale, SupplierStock
from alianza.platform.ledger import service as ledger
from alianza.platform.registry.cards import farmer_card, farmer_code, parse_farmer_code
from alianza.platform.rollout import service as rollout
from alianza.platform.rollout import team
from tests.platform.mi_fixtures import PRICES, MIWorld, build_mi_world, catalogue_document, sale


@pytest.fixture
def mi(session: Session, admin: Actor) -> MIWorld:
    return build_mi_world(session, admin)


def _balance(world: MIWorld, name: str) -> Decimal:
    for row in ledger.balances(world.admin):
        if row.name == name:
            return row.balance
    return Decimal("0.00")


def test_a_cash_sale_posts_the_price_and_the_commission(mi: MIWorld) -> None:
    made = sale(mi, mi.farmers[0])
    assert made.status == "paid" and made.reference.startswith("K")
    assert made.catalogue_id == mi.catalogue_id and made.unit_price == Decimal(PRICES["drip_bed"])
    assert made.commission == Decimal("875.00")  # 5% of 17,500
    assert _balance(mi, "Kit sales (MWK)") == Decimal("16625.00")
    assert _balance(mi, f"Agronomist Grace Banda #{mi.agronomist.id} (MWK)") == Decimal("875.00")
    assert _balance(mi, "Kit buyers (MWK)") == Decimal("-17500.00")
    assert set(ledger.totals_by_currency(mi.admin).values()) == {Decimal("0.00")}
    stock = {s.kit_code: s.quantity for s in kits.stock(mi.admin)}
    assert stock["drip_bed"] == 49


def test_a_sale_without_the_prerequisites_is_refused_and_writes_nothing(
    mi: MIWorld, session: Session
) -> None:
    before = session.scalar(select(func.count(KitSale.id)))
    with pytest.raises(Refused) as refused:
        sale(mi, mi.farmers[0], "poultry_unit")
    assert refused.value.rule == "kit prerequisites"
    assert refused.value.problems[0].code == "kit_prerequisites"
    assert "drip_bed" in refused.value.reason
    session.rollback()
    assert session.scalar(select(func.count(KitSale.id))) == before
    sale(mi, mi.farmers[0], "drip_bed")
    assert sale(mi, mi.farmers[0], "poultry_unit").status == "paid"


def test_stock_caps_and_scope_refuse_a_sale(mi: MIWorld, session: Session) -> None:
    from alianza.platform.registry import service as registry

    empty = registry.add_organization(mi.admin, {"kind": "supplier", "name": "Empty shelves"})
    session.commit()
    with pytest.raises(Refused, match="holds 0") as refused:
        sale(mi, mi.farmers[0], "drip_bed", supplier_id=empty.id)
    assert refused.value.rule == "supplier stock"
    session.rollback()
    with pytest.raises(Refused) as refused:
        sale(mi, mi.farmers[0], "drip_bed", units=14)
    assert refused.value.rule == "units per farmer"
    session.rollback()
    with pytest.raises(NotFound):  # a farmer of another village is not the agronomist's
        sale(mi, mi.other_farmers[0])
    session.rollback()
    with pytest.raises(Refused) as refused:
        sale(mi, mi.farmers[0], "no_such_kit")
    assert refused.value.field == "kit_code"


def test_a_prepaid_sale_is_posted_from_the_offtaker(mi: MIWorld) -> None:
    made = sale(mi, mi.farmers[1], method="prepayment", offtaker_id=mi.offtaker.id)
    assert made.status == "paid"
    assert _balance(mi, "Lilongwe Fresh (MWK)") == Decimal("-17500.00")
    pending = sale(mi, mi.farmers[2], method="mobile_money")
    assert pending.status == "pending" and pending.sale_posting_id is None


def test_a_catalogue_version_is_validated_with_field_paths(mi: MIWorld) -> None:
    document = catalogue_document()
    document["kits"][1]["prerequisites"] = ["nothing_like_it"]
    with pytest.raises(Invalid) as invalid:
        kits.add_catalogue_version(mi.admin, {"document": document})
    assert any(p.field.startswith("document.kits[1]") for p in invalid.value.problems)
    again = kits.add_catalogue_version(mi.admin, {"document": catalogue_document()})
    assert again.version == 2


def test_the_rollout_moves_in_order_and_exits_at_the_tipping_point(
    mi: MIWorld, session: Session
) -> None:
    area = rollout.open_area(
        mi.admin,
        {"place_id": mi.district.id, "phase_since": date(2025, 1, 1), "exit_adoption_share": "0.5"},
    )
    with pytest.raises(Refused, match="moves to launch"):
        rollout.move_phase(
            mi.admin, area.id, {"to_phase": "growth", "changed_on": date(2025, 2, 1)}
        )
    rollout.move_phase(mi.admin, area.id, {"to_phase": "launch", "changed_on": date(2025, 2, 1)})
    rollout.move_phase(mi.admin, area.id, {"to_phase": "growth", "changed_on": date(2025, 3, 1)})
    for farmer in mi.farmers[:2]:
        sale(mi, farmer)
    session.commit()
    with pytest.raises(Refused) as refused:
        rollout.move_phase(mi.admin, area.id, {"to_phase": "exit", "changed_on": date(2025, 6, 1)})
    assert refused.value.rule == "exit at the tipping point"
    session.rollback()
    # one of two buying farmers reinvests with their own money; a prepaid purchase does not count
    kits.record_sale(
        mi.agronomist_actor,
        {"farmer_id": mi.farmers[0].id, "kit_code": "drip_beds_3", "method": "cash",
         "sold_on": date(2025, 5, 1), "supplier_id": mi.supplier.id},
    )  # fmt: skip
    kits.record_sale(
        mi.agronomist_actor,
        {"farmer_id": mi.farmers[1].id, "kit_code": "drip_beds_3", "method": "prepayment",
         "offtaker_id": mi.offtaker.id, "sold_on": date(2025, 5, 1), "supplier_id": mi.supplier.id},
    )  # fmt: skip
    figures = rollout.adoption(mi.admin, area.id, date(2025, 6, 1))
    assert (figures.buying_farmers, figures.reinvesting_farmers) == (2, 1)
    assert figures.share == Decimal("0.5") and figures.exit_ready
    rollout.move_phase(mi.admin, area.id, {"to_phase": "exit", "changed_on": date(2025, 6, 1)})
    board = rollout.board(mi.agronomist_actor, area.id, date(2025, 6, 30))
    assert [c.to_phase for c in board.history] == ["setup", "launch", "growth", "exit"]
    assert board.agronomists == [mi.agronomist]
    with pytest.raises(Forbidden):
        rollout.move_phase(
            mi.agronomist_actor, area.id, {"to_phase": "exit", "changed_on": date(2025, 7, 1)}
        )


def test_field_records_check_the_card_and_stay_in_the_agronomists_villages(mi: MIWorld) -> None:
    farmer = mi.farmers[0]
    code = farmer_code("PA-HN", farmer.id)
    visit = field.record_visit(
        mi.agronomist_actor,
        {"kind": "inspection", "village_id": mi.village.id, "visited_on": date(2025, 4, 2),
         "photo_ref": "IMG_0042.jpg", "latitude": -14.1, "longitude": 34.2, "qr_code": code},
    )  # fmt: skip
    assert visit.farmer_id == farmer.id and visit.qr_matches is True
    assert (
        visit.agronomist_id == mi.agronomist.id and visit.recorded_by == mi.agronomist_actor.user_id
    )
    with pytest.raises(Invalid, match="photo"):
        field.record_visit(
            mi.agronomist_actor,
            {"kind": "inspection", "village_id": mi.village.id, "farmer_id": farmer.id,
             "visited_on": date(2025, 4, 2), "latitude": -14.1, "longitude": 34.2},
        )  # fmt: skip
    with pytest.raises(Refused, match="not a farmer card"):
        field.record_visit(
            mi.agronomist_actor,
            {"kind": "inspection", "village_id": mi.village.id, "visited_on": date(2025, 4, 2),
             "photo_ref": "x.jpg", "latitude": 1, "longitude": 1, "qr_code": code[:-1] + "0" if code[-1] != "0" else code[:-1] + "1"},
        )  # fmt: skip
    with pytest.raises(Forbidden):
        field.record_visit(
            mi.agronomist_actor, {"village_id": mi.other_village.id, "visited_on": date(2025, 4, 2)}
        )
    harvest = field.record_harvest(
        mi.agronomist_actor,
        {"farmer_id": farmer.id, "kit_code": "drip_bed", "harvested_on": date(2025, 5, 1), "quantity": "98.5", "grade": "A"},
    )  # fmt: skip
    assert harvest.unit == "kg"
    with pytest.raises(Invalid, match="quantity"):
        field.record_harvest(
            mi.agronomist_actor,
            {"farmer_id": farmer.id, "kit_code": "drip_bed", "harvested_on": date(2025, 5, 1), "quantity": "-1"},
        )  # fmt: skip
    sold = field.record_produce_sale(
        mi.agronomist_actor,
        {"farmer_id": farmer.id, "kit_code": "drip_bed", "sold_on": date(2025, 5, 2), "quantity": "12.345",
         "grade": "A", "unit_price": "350.55", "buyer": "Linthipe market"},
        "MWK",
    )  # fmt: skip
    assert sold.amount == (Decimal("12.345") * Decimal("350.55")).quantize(
        Decimal("0.01"), ROUND_HALF_EVEN
    )
    plan = team.caseload(mi.agronomist_actor, mi.agronomist.id, date(2025, 5, 10))
    assert [p.organization.id for p in plan.plan] == [mi.group.id]
    assert plan.plan[0].last_visit is None and plan.plan[0].overdue(date(2025, 5, 11))


def test_a_farmers_growth_follows_their_purchases(mi: MIWorld) -> None:
    farmer = mi.farmers[0]
    sale(mi, farmer, "drip_bed")
    kits.record_sale(
        mi.agronomist_actor,
        {"farmer_id": farmer.id, "kit_code": "drip_beds_3", "method": "cash", "sold_on": date(2025, 6, 1), "supplier_id": mi.supplier.id},
    )  # fmt: skip
    field.record_produce_sale(
        mi.agronomist_actor,
        {"farmer_id": farmer.id, "kit_code": "drip_bed", "sold_on": date(2025, 5, 2), "quantity": "100",
         "unit_price": "300", "buyer": "market"},
        "MWK",
    )  # fmt: skip
    seen = kits.growth(mi.agronomist_actor, farmer.id, date(2025, 6, 30))
    assert seen.owned == {"drip_bed": 1, "drip_beds_3": 1}
    assert seen.spent == Decimal("64750.00")
    assert [c[1] for c in seen.cumulative] == [Decimal("17500.00"), Decimal("64750.00")]
    assert seen.income_per_day == (Decimal("30000") / 121).quantize(
        Decimal("0.01"), ROUND_HALF_EVEN
    )
    assert seen.rung == seen.path.index("drip_beds_3") + 1
    assert "grading_packing" in seen.next_kits and "drip_system_large" not in seen.next_kits


def test_a_farmer_card_has_a_qr_png_and_a_pdf(mi: MIWorld) -> None:
    card = farmer_card(mi.agronomist_actor, mi.farmers[0].id)
    assert parse_farmer_code("PA-HN", card.code) == mi.farmers[0].id
    assert card.png().startswith(b"\x89PNG\r\n\x1a\n")
    assert card.pdf().startswith(b"%PDF-")
    with pytest.raises(NotFound):
        farmer_card(mi.agronomist_actor, mi.other_farmers[0].id)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=9))
def test_a_mistyped_digit_of_a_card_or_sale_reference_names_nobody(
    farmer_id: int, digit: int
) -> None:
    code = farmer_code("MI-MW", farmer_id)
    assert parse_farmer_code("MI-MW", code) == farmer_id
    digits = str(farmer_id)
    changed = str(digit) + digits[1:]
    if changed != digits and not changed.startswith("0"):
        check = code.rsplit("-", 1)[1]
        assert parse_farmer_code("MI-MW", f"MI-MW-F{changed}-{check}") is None
    reference = kits.sale_reference(farmer_id)
    assert kits.luhn_digit(reference[1:-1]) == int(reference[-1])


def test_luhn_digit_matches_the_published_example() -> None:
    # ISO/IEC 7812 worked example: 7992739871 has check digit 3
    assert kits.luhn_digit("7992739871") == 3


def test_stock_a_supplier_sees_and_records_is_its_own(mi: MIWorld, session: Session) -> None:
    from alianza.platform.access import act_as
    from alianza.platform.programmes.service import create_user, grant_role
    from alianza.platform.registry import service as registry

    rival = registry.add_organization(mi.admin, {"kind": "supplier", "name": "Rival Seeds"})
    kits.receive_stock(
        mi.admin,
        {
            "supplier_id": rival.id,
            "district_id": mi.district.id,
            "kit_code": "drip_bed",
            "quantity": 5,
        },
    )
    user = create_user(session, {"username": "supp", "display_name": "S", "password": "password1"})
    grant_role(mi.admin, user.id, {"role": "supplier", "organization_id": mi.supplier.id})
    supplier = act_as(session, user.id, mi.admin.programme_id)
    assert {s.supplier_id for s in kits.stock(supplier)} == {mi.supplier.id}
    with pytest.raises(Forbidden):
        kits.receive_stock(
            supplier,
            {
                "supplier_id": rival.id,
                "district_id": mi.district.id,
                "kit_code": "drip_bed",
                "quantity": 1,
            },
        )
    kits.receive_stock(
        supplier,
        {
            "supplier_id": mi.supplier.id,
            "district_id": mi.district.id,
            "kit_code": "drip_bed",
            "quantity": 1,
        },
    )
    assert (
        session.scalar(
            select(SupplierStock.quantity).where(
                SupplierStock.supplier_id == mi.supplier.id, SupplierStock.kit_code == "drip_bed"
            )
        )
        == 51
    )
