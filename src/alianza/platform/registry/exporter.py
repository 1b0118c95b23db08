"""Exporting farmers and organizations to CSV or XLSX, in the columns the importer reads back.

An export of one programme imports into another (with the same places registered) as the
same farmers, organizations and memberships, and imported into the same programme it is refused
row by row (each farmer is registered already) or, with ``update``, changes nothing: both are
tested. Text that a spreadsheet would run as a formula is written inert (``files.inert``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from alianza.platform.access import Actor, scoped
from alianza.platform.registry.files import write_table
from alianza.platform.registry.models import Membership, Organization
from alianza.platform.registry.service import farmers, organizations, place_lineages

PLACE_COLUMNS = ("country", "district", "municipality", "village")
FARMER_COLUMNS = (
    "name", "sex", "birth_year", "minority", "household_size", "land_hectares", "phone",
    "national_id", *PLACE_COLUMNS, "organization", "latitude", "longitude",
)  # fmt: skip
ORGANIZATION_COLUMNS = ("name", "kind", "registration_number", "founded_year", *PLACE_COLUMNS)

Cell = str | int | float | None


def _place_names(actor: Actor) -> dict[int, dict[str, str]]:
    """For each place of the programme, the names of it and the places it lies in, by kind."""
    return {
        place_id: {kind: place.name for kind, place in lineage.items()}
        for place_id, lineage in place_lineages(actor).items()
    }


def farmer_rows(actor: Actor) -> list[list[Cell]]:
    """One row a farmer, FARMER_COLUMNS; memberships as organization names joined by '; '."""
    places = _place_names(actor)
    groups: dict[int, list[str]] = {}
    links = actor.session.execute(
        scoped(
            actor,
            select(Membership.farmer_id, Organization.name).join(
                Organization, Organization.id == Membership.organization_id
            ),
        ).order_by(Membership.id)
    )
    for farmer_id, organization_name in links:
        groups.setdefault(farmer_id, []).append(organization_name)
    rows: list[list[Cell]] = []
    for farmer in farmers(actor):
        where = places.get(farmer.village_id, {})
        rows.append([
            farmer.name, farmer.sex, farmer.birth_year, "yes" if farmer.minority else "no",
            farmer.household_size, format(Decimal(farmer.land_hectares).normalize(), "f"),
            farmer.phone, farmer.national_id,
            *(where.get(level) for level in PLACE_COLUMNS),
            "; ".join(groups.get(farmer.id, [])), farmer.latitude, farmer.longitude,
        ])  # fmt: skip
    return rows


def organization_rows(actor: Actor) -> list[list[Cell]]:
    """One row an organization, ORGANIZATION_COLUMNS."""
    places = _place_names(actor)
    return [
        [
            organization.name,
            organization.kind,
            organization.registration_number,
            organization.founded_year,
            *(
                places.get(organization.place_id, {}).get(level) if organization.place_id else None
                for level in PLACE_COLUMNS
            ),
        ]  # fmt: skip
        for organization in organizations(actor)
    ]


def export_farmers(actor: Actor, path: Path) -> int:
    """Write the programme's farmers (with their groups) to `path`; returns how many."""
    rows = farmer_rows(actor)
    write_table(Path(path), FARMER_COLUMNS, rows)
    return len(rows)


def export_organizations(actor: Actor, path: Path) -> int:
    """Write the programme's organizations to `path`; returns how many."""
    rows = organization_rows(actor)
    write_table(Path(path), ORGANIZATION_COLUMNS, rows)
    return len(rows)
