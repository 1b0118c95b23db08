"""Registry export: what one programme exports imports into another as the same registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from alianza.platform.errors import Refused
from alianza.platform.programmes.service import Actor, create_programme, create_user
from alianza.platform.registry import service as registry
from alianza.platform.registry.exporter import (
    export_farmers,
    export_organizations,
    farmer_rows,
    organization_rows,
)
from alianza.platform.registry.importer import import_farmers, import_organizations

from .test_registry import farmer, geography


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_gives_the_same_registry(
    admin: Actor, tmp_path: Path, suffix: str
) -> None:
    places = geography(admin)
    coop = registry.add_organization(
        admin,
        {
            "kind": "producer_organization",
            "name": "Coop El Pelón",
            "place_id": places["village"].id,
            "registration_number": "PJ-77",
            "founded_year": 2004,
        },
    )
    bank = registry.add_organization(admin, {"kind": "financial_institution", "name": "Banrural"})
    maria = registry.add_farmer(admin, farmer(places["village"]))
    jose = registry.add_farmer(
        admin,
        farmer(
            places["san_juan"],
            name="José Díaz",
            sex="M",
            minority=False,
            phone=None,
            national_id="0801 1960 00001",
            birth_year=1960,
        ),
    )
    for person, groups in ((maria, [coop, bank]), (jose, [coop])):
        for group in groups:
            registry.add_membership(admin, {"farmer_id": person.id, "organization_id": group.id})
    admin.session.commit()

    organizations_file = tmp_path / f"organizations{suffix}"
    farmers_file = tmp_path / f"farmers{suffix}"
    assert export_organizations(admin, organizations_file) == 2
    assert export_farmers(admin, farmers_file) == 2

    user = create_user(
        admin.session, {"username": "beto", "display_name": "Beto", "password": "s3cret-pass"}
    )
    other = create_programme(
        admin.session, {"code": "PA-2", "name": "Second", "reporting_currency": "USD"}, user
    )
    geography(other)
    import_organizations(other, organizations_file)
    report = import_farmers(other, farmers_file)
    assert report.created == {"farmers": 2, "memberships": 3}
    assert farmer_rows(other) == farmer_rows(admin)
    assert organization_rows(other) == organization_rows(admin)


def test_export_needs_a_known_format(admin: Actor, tmp_path: Path) -> None:
    with pytest.raises(Refused, match="csv or .xlsx"):
        export_farmers(admin, tmp_path / "farmers.txt")
