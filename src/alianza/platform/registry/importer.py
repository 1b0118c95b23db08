"""Importing farmers, organizations and memberships from CSV or XLSX (KoboToolbox/ODK exports).

All-or-nothing: every row is checked first and, if any row is wrong, nothing is written and the
report lists each problem by spreadsheet row (the header is row 1). Possible duplicates (same phone
or national ID, or a close name in the same village, in the file or already registered) are
reported, never merged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from alianza.platform.access import Actor, Permission, scoped
from alianza.platform.errors import Refused
from alianza.platform.registry.models import Farmer, Organization, Place
from alianza.platform.registry.schemas import (
    ORGANIZATION_KINDS,
    FarmerIn,
    OrganizationIn,
    normalise_national_id,
    normalise_phone,
)
from alianza.platform.registry.service import (
    PossibleDuplicate,
    add_farmer,
    add_membership,
    add_organization,
    duplicates_of,
    names_close,
    place_lineages,
)
from alianza.platform.validation import problems_of

HEADER_ALIASES = {
    "full_name": "name", "farmer_name": "name", "nombre": "name",
    "gender": "sex", "sexo": "sex",
    "year_of_birth": "birth_year", "birthyear": "birth_year",
    "indigenous": "minority", "minority_status": "minority", "indigena": "minority",
    "hh_size": "household_size", "household_members": "household_size",
    "land_ha": "land_hectares", "land_size_ha": "land_hectares", "land": "land_hectares",
    "phone_number": "phone", "mobile": "phone", "telefono": "phone",
    "id_number": "national_id", "nid": "national_id", "national_id_number": "national_id",
    "epa": "municipality", "extension_planning_area": "municipality", "municipio": "municipality",
    "aldea": "village", "comunidad": "village",
    "po": "organization", "organizations": "organization", "group": "organization",
    "organization_kind": "kind", "type": "kind",
    "farmer_national_id": "national_id", "farmer_phone": "phone",
    "joined": "joined_on", "date_joined": "joined_on",
}
TRUE_WORDS = {"yes", "y", "true", "1", "si", "sí", "x"}
FALSE_WORDS = {"no", "n", "false", "0", ""}


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    """What an import found: problems (any one refuses the import), duplicates, what was created."""

    rows_read: int = 0
    created: dict[str, int] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems] + [f"possible duplicate: {d}" for d in self.duplicates]


class ImportRefused(Refused):
    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"import refused, nothing written: {len(report.problems)} problem(s) in "
            f"{report.rows_read} rows; first: {report.problems[0] if report.problems else '-'}",
            rule="all-or-nothing import",
        )
        self.report = report


# --- reading files -----------------------------------------------------------------------------


def header_key(header: object) -> str:
    """A Kobo/ODK column header as a field name: ``group_farmer/Phone Number`` -> ``phone``."""
    text = str(header or "").strip()
    text = text.split("/")[-1].split(":")[-1]
    key = "_".join(text.lower().replace("-", "_").split())
    if key.endswith("_latitude"):
        return "latitude"
    if key.endswith("_longitude"):
        return "longitude"
    return HEADER_ALIASES.get(key, key)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets turn phone numbers and years into floats
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {field: text}) for each non-empty row of a CSV or XLSX file.

    Kobo's metadata columns (``_id``, ``_uuid``, ``_submission_time``...) are dropped.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
            rows: Iterable[list[Any]] = list(csv.reader(handle, dialect))
    elif suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
        workbook.close()
    else:
        raise Refused(f"{path.name}: give a .csv or .xlsx file")
    iterator = iter(rows)
    try:
        headers = [header_key(h) for h in next(iterator)]
    except StopIteration:
        return
    for number, values in enumerate(iterator, start=2):
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        yield number, {
            h: c for h, c in zip(headers, cells, strict=False) if h and not h.startswith("_")
        }


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError(f"give yes or no, not {text!r}")


# --- resolving names to records ----------------------------------------------------------------


class PlaceFinder:
    """Finds a place by the names of a row's village/municipality/district/country columns."""

    LEVELS = ("village", "municipality", "district", "country")

    def __init__(self, actor: Actor) -> None:
        self.by_kind_name: dict[tuple[str, str], list[Place]] = {}
        self.lineages: dict[int, dict[str, str]] = {}
        for place_id, lineage in place_lineages(actor).items():
            place = next(iter(lineage.values()))  # a lineage starts with the place itself
            self.by_kind_name.setdefault((place.kind, place.name.lower()), []).append(place)
            self.lineages[place_id] = {kind: p.name.lower() for kind, p in lineage.items()}

    def find(self, row: dict[str, str], most_specific: str = "village") -> Place:
        levels = self.LEVELS[self.LEVELS.index(most_specific):]
        given = {level: row.get(level, "").strip().lower() for level in levels}
        kind = next((level for level in levels if given[level]), None)
        if kind is None:
            raise ValueError(f"give the {most_specific}")
        if kind != most_specific and most_specific == "village":
            raise ValueError("give the village")
        candidates = [
            place
            for place in self.by_kind_name.get((kind, given[kind]), [])
            if all(
                not given[level] or self.lineages[place.id].get(level) == given[level]
                for level in levels
            )
        ]
        if not candidates:
            raise ValueError(f"no {kind} {row.get(kind)!r} registered (with the places given)")
        if len(candidates) > 1:
            raise ValueError(
                f"{len(candidates)} {kind}s are called {row.get(kind)!r}: add the municipality or "
                "district column"
            )
        return candidates[0]


def _organizations_by_name(actor: Actor) -> dict[str, Organization]:
    rows = actor.session.scalars(
        scoped(actor, select(Organization))
    )
    by_name: dict[str, Organization] = {}
    for organization in rows:
        by_name.setdefault(organization.name.lower(), organization)
    return by_name


def _problems_from(row: int, error: ValidationError) -> list[RowProblem]:
    return [RowProblem(row, problem.field or "row", problem.message) for problem in problems_of(error)]


# --- the imports ---------------------------------------------------------------------------------


def import_farmers(actor: Actor, path: Path, *, refuse_duplicates: bool = False) -> ImportReport:
    """Import farmers (and their memberships from an ``organization`` column, ``;``-separated)."""
    actor.require(Permission.REGISTRY_EDIT)
    report = ImportReport()
    places = PlaceFinder(actor)
    organizations = _organizations_by_name(actor)
    accepted: list[tuple[int, FarmerIn, list[Organization]]] = []
    for number, row in read_rows(Path(path)):
        report.rows_read += 1
        problems: list[RowProblem] = []
        fields: dict[str, Any] = {
            key: row.get(key) or None
            for key in ("name", "sex", "birth_year", "household_size", "land_hectares",
                        "phone", "national_id", "latitude", "longitude")
        }
        try:
            fields["minority"] = _bool(row.get("minority", ""))
        except ValueError as error:
            problems.append(RowProblem(number, "minority", str(error)))
        try:
            fields["village_id"] = places.find(row).id
        except ValueError as error:
            problems.append(RowProblem(number, "village", str(error)))
        groups: list[Organization] = []
        for name in filter(None, (n.strip() for n in row.get("organization", "").split(";"))):
            if name.lower() in organizations:
                groups.append(organizations[name.lower()])
            else:
                problems.append(RowProblem(number, "organization", f"no organization {name!r}"))
        if not problems:
            try:
                farmer = FarmerIn.model_validate(fields)
            except ValidationError as error:
                problems.extend(_problems_from(number, error))
            else:
                accepted.append((number, farmer, groups))
        report.problems.extend(problems)
    # duplicates: against the registry, then against earlier rows of the same file
    for index, (number, farmer, _groups) in enumerate(accepted):
        found: list[PossibleDuplicate] = duplicates_of(actor, farmer)
        descriptions = [f"row {number} ({farmer.name}) and farmer {d.farmer_id} ({d.name}): {d.reason}"
                        for d in found]
        for earlier_number, earlier, _ in accepted[:index]:
            reason = None
            if farmer.phone and farmer.phone == earlier.phone:
                reason = "same phone"
            elif farmer.national_id and farmer.national_id == earlier.national_id:
                reason = "same national ID"
            elif farmer.village_id == earlier.village_id and names_close(farmer.name, earlier.name):
                reason = "close name in the same village"
            if reason:
                descriptions.append(
                    f"row {number} ({farmer.name}) and row {earlier_number} ({earlier.name}): {reason}"
                )
        report.duplicates.extend(descriptions)
        if refuse_duplicates:
            report.problems.extend(RowProblem(number, "duplicate", d) for d in descriptions)
    if report.problems:
        raise ImportRefused(report)
    with actor.session.begin_nested():
        for _number, farmer_in, groups in accepted:
            registered = add_farmer(actor, farmer_in)
            actor.session.flush()
            for organization in groups:
                add_membership(actor, {"farmer_id": registered.id, "organization_id": organization.id})
    report.created = {
        "farmers": len(accepted),
        "memberships": sum(len(groups) for _, _, groups in accepted),
    }
    return report


def import_organizations(actor: Actor, path: Path) -> ImportReport:
    """Import organizations: name, kind (default producer_organization), place columns."""
    actor.require(Permission.REGISTRY_EDIT)
    report = ImportReport()
    places = PlaceFinder(actor)
    existing = {(o.kind, o.name.lower()) for o in _organizations_by_name(actor).values()}
    accepted: list[OrganizationIn] = []
    seen: set[tuple[str, str]] = set()
    for number, row in read_rows(Path(path)):
        report.rows_read += 1
        fields: dict[str, Any] = {
            "name": row.get("name") or None,
            "kind": (row.get("kind") or "producer_organization").strip().lower().replace(" ", "_"),
            "registration_number": row.get("registration_number") or None,
            "founded_year": row.get("founded_year") or None,
        }
        problems: list[RowProblem] = []
        if any(row.get(level) for level in PlaceFinder.LEVELS):
            level = next(lv for lv in PlaceFinder.LEVELS if row.get(lv))
            try:
                fields["place_id"] = places.find(row, most_specific=level).id
            except ValueError as error:
                problems.append(RowProblem(number, level, str(error)))
        if fields["kind"] not in ORGANIZATION_KINDS:
            problems.append(RowProblem(number, "kind", f"must be one of {list(ORGANIZATION_KINDS)}"))
        if not problems:
            try:
                organization = OrganizationIn.model_validate(fields)
            except ValidationError as error:
                problems.extend(_problems_from(number, error))
            else:
                key = (organization.kind, organization.name.lower())
                if key in existing or key in seen:
                    problems.append(RowProblem(number, "name", f"{organization.name!r} is registered already"))
                seen.add(key)
                accepted.append(organization)
        report.problems.extend(problems)
    if report.problems:
        raise ImportRefused(report)
    with actor.session.begin_nested():
        for organization_in in accepted:
            add_organization(actor, organization_in)
    report.created = {"organizations": len(accepted)}
    return report


def import_memberships(actor: Actor, path: Path) -> ImportReport:
    """Import memberships: the farmer by national_id or phone, the organization by name."""
    actor.require(Permission.REGISTRY_EDIT)
    report = ImportReport()
    organizations = _organizations_by_name(actor)
    accepted: list[tuple[int, int, str | None]] = []
    for number, row in read_rows(Path(path)):
        report.rows_read += 1
        farmer_id = None
        for column, attribute in (("national_id", Farmer.national_id), ("phone", Farmer.phone)):
            value = row.get(column)
            if not value:
                continue
            value = normalise_national_id(value) if column == "national_id" else normalise_phone(value)
            ids = actor.session.scalars(
                scoped(actor, select(Farmer.id)).where(attribute == value)
            ).all()
            if len(ids) == 1:
                farmer_id = ids[0]
                break
            if len(ids) > 1:
                report.problems.append(RowProblem(number, column, f"{len(ids)} farmers have {value}"))
                break
        else:
            report.problems.append(RowProblem(number, "farmer", "no farmer with that national_id or phone"))
        organization = organizations.get(row.get("organization", "").strip().lower())
        if organization is None:
            report.problems.append(RowProblem(number, "organization", f"no organization {row.get('organization')!r}"))
        if farmer_id is not None and organization is not None:
            accepted.append((farmer_id, organization.id, row.get("joined_on") or None))
    if report.problems:
        raise ImportRefused(report)
    with actor.session.begin_nested():
        for farmer_id, organization_id, joined_on in accepted:
            try:
                add_membership(actor, {"farmer_id": farmer_id, "organization_id": organization_id,
                                       "joined_on": joined_on})
            except Refused as refusal:
                report.problems.append(RowProblem(0, "membership", refusal.reason))
        if report.problems:
            raise ImportRefused(report)
    report.created = {"memberships": len(accepted)}
    return report
