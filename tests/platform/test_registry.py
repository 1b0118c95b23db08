from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alianza.platform.errors import NotFound, Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.programmes.service import Actor, create_programme, create_user
from alianza.platform.registry import service as registry
from alianza.platform.registry.importer import (
    ImportRefused,
    header_key,
    import_farmers,
    import_memberships,
    import_organizations,
)
from alianza.platform.registry.models import Farmer, Membership, Organization, Place


def geography(actor: Actor) -> dict[str, Place]:
    country = registry.add_place(actor, {"kind": "country", "name": "Honduras"})
    district = registry.add_place(
        actor, {"kind": "district", "name": "Intibucá", "parent_id": country.id}
    )
    municipality = registry.add_place(
        actor, {"kind": "municipality", "name": "La Esperanza", "parent_id": district.id}
    )
    other = registry.add_place(
        actor, {"kind": "municipality", "name": "Yamaranguila", "parent_id": district.id}
    )
    village = registry.add_place(
        actor, {"kind": "village", "name": "El Pelón", "parent_id": municipality.id}
    )
    twin = registry.add_place(
        actor, {"kind": "village", "name": "San Juan", "parent_id": municipality.id}
    )
    registry.add_place(actor, {"kind": "village", "name": "San Juan", "parent_id": other.id})
    return {
        "country": country,
        "district": district,
        "municipality": municipality,
        "village": village,
        "san_juan": twin,
    }


@pytest.fixture
def places(admin: Actor) -> dict[str, Place]:
    made = geography(admin)
    registry.add_organization(
        admin,
        {"kind": "producer_organization", "name": "Coop El Pelón", "place_id": made["village"].id},
    )
    registry.add_organization(
        admin, {"kind": "producer_organization", "name": "Caja Rural San Juan"}
    )
    admin.session.commit()
    return made


def farmer(village: Place, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "María López",
        "sex": "F",
        "birth_year": 1995,
        "minority": True,
        "household_size": 5,
        "land_hectares": "1.5",
        "phone": "+504 9988-7766",
        "national_id": "0801 1995 12345",
        "village_id": village.id,
    }
    base.update(overrides)
    return base


def test_geography_levels_are_enforced(admin: Actor, places: dict[str, Place]) -> None:
    with pytest.raises(Refused, match="a village lies in a municipality, not in a district"):
        registry.add_place(
            admin, {"kind": "village", "name": "X", "parent_id": places["district"].id}
        )
    with pytest.raises(Refused, match="a district lies in a country"):
        registry.add_place(admin, {"kind": "district", "name": "Y"})
    with pytest.raises(Refused, match="exists there already"):
        registry.add_place(
            admin, {"kind": "village", "name": "El Pelón", "parent_id": places["municipality"].id}
        )
    assert set(registry.ancestors(admin, places["village"].id)) == {
        "village",
        "municipality",
        "district",
        "country",
    }
    market = registry.add_market(
        admin, {"name": "Mercado La Esperanza", "place_id": places["municipality"].id}
    )
    assert market.id


def test_farmers_are_normalised_and_youth_is_derived(
    admin: Actor, places: dict[str, Place]
) -> None:
    maria = registry.add_farmer(admin, farmer(places["village"]))
    assert (maria.sex, maria.phone, maria.national_id) == (
        "female",
        "+50499887766",
        "0801199512345",
    )
    assert maria.land_hectares == Decimal("1.500")
    assert maria.is_youth(date(2025, 1, 1)) and not maria.is_youth(date(2031, 1, 1))
    with pytest.raises(Refused, match="sex: must be female or male"):
        registry.add_farmer(admin, farmer(places["village"], sex="x"))
    with pytest.raises(Refused, match="a farmer lives in a village, not a district"):
        registry.add_farmer(admin, farmer(places["district"]))


def test_a_farmer_can_belong_to_several_groups(admin: Actor, places: dict[str, Place]) -> None:
    maria = registry.add_farmer(admin, farmer(places["village"]))
    groups = registry.organizations(admin, "producer_organization")
    for group in groups:
        registry.add_membership(admin, {"farmer_id": maria.id, "organization_id": group.id})
    assert all(registry.members(admin, g.id) == [maria] for g in groups)
    with pytest.raises(Refused, match="member already"):
        registry.add_membership(admin, {"farmer_id": maria.id, "organization_id": groups[0].id})


def test_duplicates_are_found_not_merged(admin: Actor, places: dict[str, Place]) -> None:
    from alianza.platform.registry.schemas import FarmerIn

    registry.add_farmer(admin, farmer(places["village"]))
    same_phone = FarmerIn.model_validate(farmer(places["san_juan"], name="Other", national_id=None))
    close_name = FarmerIn.model_validate(
        farmer(places["village"], name="Maria Lopes", phone=None, national_id=None)
    )
    elsewhere = FarmerIn.model_validate(
        farmer(places["san_juan"], name="Maria Lopes", phone=None, national_id=None)
    )
    assert [d.reason for d in registry.duplicates_of(admin, same_phone)] == ["same phone"]
    assert [d.reason for d in registry.duplicates_of(admin, close_name)] == [
        "close name in the same village"
    ]
    assert registry.duplicates_of(admin, elsewhere) == []


def test_header_keys_of_kobo_exports() -> None:
    assert header_key("group_farmer/Phone Number") == "phone"
    assert header_key("_gps_latitude") == "latitude"
    assert header_key("EPA") == "municipality"


KOBO_HEADER = [
    "start",
    "group_farmer/full_name",
    "group_farmer/gender",
    "group_farmer/year_of_birth",
    "group_farmer/indigenous",
    "group_farmer/hh_size",
    "group_farmer/land_ha",
    "group_farmer/phone_number",
    "group_farmer/id_number",
    "group_loc/village",
    "group_loc/municipality",
    "po",
    "_gps_latitude",
    "_gps_longitude",
    "_uuid",
]


def test_import_xlsx_in_kobo_shape(admin: Actor, places: dict[str, Place], tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(KOBO_HEADER)
    sheet.append(
        [
            "2025-01-01",
            "Ana Pérez",
            "female",
            1990.0,
            "yes",
            4,
            2.25,
            50499112233.0,
            "0801-1990",
            "San Juan",
            "La Esperanza",
            "Coop El Pelón; Caja Rural San Juan",
            14.31,
            -88.18,
            "u1",
        ]
    )
    sheet.append(
        [
            "2025-01-01",
            "José Díaz",
            "male",
            1960,
            "no",
            6,
            0.5,
            None,
            None,
            "El Pelón",
            "",
            "Coop El Pelón",
            None,
            None,
            "u2",
        ]
    )
    path = tmp_path / "kobo.xlsx"
    book.save(path)
    report = import_farmers(admin, path)
    assert report.created == {"farmers": 2, "memberships": 3}
    ana = admin.session.scalar(select(Farmer).where(Farmer.name == "Ana Pérez"))
    assert ana is not None and ana.phone == "+50499112233" and ana.latitude == pytest.approx(14.31)


def test_import_is_all_or_nothing_with_a_row_report(
    admin: Actor, places: dict[str, Place], tmp_path: Path
) -> None:
    path = tmp_path / "farmers.csv"
    path.write_text(
        "name;sex;birth_year;minority;household_size;land_hectares;phone;village;organization\n"
        "Ana Pérez;F;1990;no;4;1;99112233;El Pelón;Coop El Pelón\n"
        "Bad Sex;q;1990;no;4;1;;El Pelón;\n"
        "No Village;F;1990;no;4;1;;Nowhere;\n"
        "Twin;F;1990;no;4;1;;San Juan;\n"
        "Young;F;2200;maybe;0;-1;;El Pelón;Ghost Coop\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRefused) as refused:
        import_farmers(admin, path)
    lines = refused.value.report.lines()
    assert "row 3: sex: must be female or male" in lines
    assert any(line.startswith("row 4: village: no village 'Nowhere'") for line in lines)
    assert any(
        line.startswith("row 5: village: 2 villages are called 'San Juan'") for line in lines
    )
    assert "row 6: minority: give yes or no, not 'maybe'" in lines
    assert "row 6: organization: no organization 'Ghost Coop'" in lines
    assert admin.session.scalar(select(func.count()).select_from(Farmer)) == 0


def test_import_reports_duplicates_in_file_and_registry(
    admin: Actor, places: dict[str, Place], tmp_path: Path
) -> None:
    registry.add_farmer(admin, farmer(places["village"]))
    path = tmp_path / "farmers.csv"
    path.write_text(
        "name,sex,birth_year,household_size,land_hectares,phone,national_id,village,municipality\n"
        "Maria Lopes,F,1995,5,1,,,El Pelón,La Esperanza\n"
        "Pedro Gómez,M,1980,3,2,31112222,,San Juan,La Esperanza\n"
        "Pedro Gomez,M,1981,3,2,,,San Juan,La Esperanza\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRefused):
        import_farmers(admin, path, refuse_duplicates=True)
    report = import_farmers(admin, path)
    assert report.created["farmers"] == 3
    assert len(report.duplicates) == 2
    assert "close name in the same village" in report.duplicates[0]
    assert "row 4 (Pedro Gomez) and row 3 (Pedro Gómez)" in report.duplicates[1]


def test_import_organizations_and_memberships(
    admin: Actor, places: dict[str, Place], tmp_path: Path
) -> None:
    orgs = tmp_path / "orgs.csv"
    orgs.write_text(
        "name,kind,district\nAPROCAFE,producer organization,Intibucá\nBanrural,financial_institution,\n"
        "Bad,king,\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRefused, match="row 4: kind"):
        import_organizations(admin, orgs)
    orgs.write_text(
        "name,kind,district\nAPROCAFE,producer organization,Intibucá\n", encoding="utf-8"
    )
    assert import_organizations(admin, orgs).created == {"organizations": 1}
    registry.add_farmer(admin, farmer(places["village"]))
    links = tmp_path / "links.csv"
    links.write_text(
        "national_id,organization\n0801 1995 12345,APROCAFE\n999,APROCAFE\n", encoding="utf-8"
    )
    with pytest.raises(ImportRefused, match="row 3: farmer"):
        import_memberships(admin, links)
    links.write_text("national_id,organization\n0801 1995 12345,APROCAFE\n", encoding="utf-8")
    assert import_memberships(admin, links).created == {"memberships": 1}
    assert admin.session.scalar(select(func.count()).select_from(Membership)) == 1


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_services_never_return_another_programmes_rows(
    session: Session, data: st.DataObject
) -> None:
    """Two programmes with random registries: every read through one sees only its own rows."""
    savepoint = session.begin_nested()
    try:
        actors = []
        for code in ("A", "B"):
            user = create_user(
                session,
                {"username": f"u{code}{id(data)}", "display_name": code, "password": "password1"},
            )
            actors.append(
                create_programme(
                    session,
                    {"code": f"P{code}{id(data)}", "name": code, "reporting_currency": "USD"},
                    user,
                )
            )
        own: dict[int, set[tuple[str, int]]] = {a.programme_id: set() for a in actors}
        for actor in actors:
            village = geography(actor)["village"]
            own[actor.programme_id].add(("places", village.id))
            for i in range(data.draw(st.integers(0, 3))):
                f = registry.add_farmer(actor, farmer(village, name=f"Farmer {i}"))
                o = registry.add_organization(actor, {"kind": "buyer", "name": f"Buyer {i}"})
                a = ledger.open_account(
                    actor, {"kind": "buyer", "name": f"Buyer {i}", "currency": "HNL"}
                )
                own[actor.programme_id] |= {
                    ("farmers", f.id),
                    ("organizations", o.id),
                    ("accounts", a.id),
                }
        for actor in actors:
            mine = own[actor.programme_id]
            assert {("farmers", f.id) for f in registry.farmers(actor)} == {
                x for x in mine if x[0] == "farmers"
            }
            assert {("organizations", o.id) for o in registry.organizations(actor)} == {
                x for x in mine if x[0] == "organizations"
            }
            assert {("accounts", b.account_id) for b in ledger.balances(actor)} == {
                x for x in mine if x[0] == "accounts"
            }
            other = next(a for a in actors if a is not actor)
            for table, row_id in own[other.programme_id]:
                model = {"farmers": Farmer, "organizations": Organization, "places": Place}.get(
                    table
                )
                with pytest.raises(NotFound):
                    if model is None:
                        ledger.get_account(actor, row_id)
                    else:
                        registry.get(actor, model, row_id)
    finally:
        savepoint.rollback()
