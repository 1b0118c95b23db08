"""Importing the field forms' submissions (ODK Collect / KoboToolbox exports) as field records.

An export parsed by `alianza.fieldforms.submissions` is imported for the actor's programme:

- **all or nothing per file**: every submission is checked and written inside one savepoint;
  if any row is refused, the savepoint is rolled back and nothing of the file is kept;
- **idempotent on the instance ID**: a submission whose ``meta/instanceID`` was imported
  before (a `FieldSubmission` row, unique per programme) is skipped, so a re-import adds nothing;
- **row by row**: the report gives every row's outcome (imported, skipped-duplicate, refused)
  and its problems, with field paths ``rows[n].field`` as the parser gives them.

A row is refused when the parser found it bad (a negative quantity, a malformed GPS point, ...),
when its farmer card code names no farmer of the programme (the card's code
``<programme>-F<id>-<check>``, or a bare farmer id, after ODK's ``alianza:farmer:`` prefix),
when its village is not a village of the programme (by code, else by name), when its farmer
lives elsewhere, when its GPS point lies outside the farmer's district, or when the platform's
own rules refuse the record (an agronomist records only in their villages).

The platform keeps no outline of a district: the areas come with the import (``areas``, by the
district's code or name, as the programme-data file of ``alianza forms build`` gives them). A
district without an area is not checked, and its rows say so in the report's notes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from alianza.fieldforms.geo import DistrictArea, point_in_district
from alianza.fieldforms.records import (
    AnyRecord,
    HarvestRecord,
    InspectionRecord,
    KitSaleRecord,
    VisitRecord,
)
from alianza.fieldforms.submissions import ParsedExport
from alianza.platform.access import Actor, Permission, scoped
from alianza.platform.audit.service import now
from alianza.platform.errors import Refused
from alianza.platform.fieldrecords import service
from alianza.platform.fieldrecords.models import FieldSubmission
from alianza.platform.kits.service import district_of
from alianza.platform.programmes.models import Programme
from alianza.platform.registry.cards import parse_farmer_code
from alianza.platform.registry.models import Farmer, Organization, Place
from alianza.problems import Problem


class Outcome(enum.StrEnum):
    IMPORTED = "imported"
    SKIPPED_DUPLICATE = "skipped-duplicate"
    REFUSED = "refused"


class ProblemOut(BaseModel):
    field: str
    code: str
    message: str


class SubmissionRow(BaseModel):
    """One submission of the file and what became of it."""

    row: int | None = Field(default=None, ge=1, description="None: the file as a whole.")
    instance_id: str | None
    outcome: Outcome
    problems: list[ProblemOut] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class SubmissionImportReport(BaseModel):
    """What an import did, row by row; ``written`` is False when a refused row kept the whole
    file out."""

    source: str
    form: str
    rows: list[SubmissionRow]
    written: bool

    def count(self, outcome: Outcome) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def imported(self) -> int:
        return self.count(Outcome.IMPORTED)

    @property
    def skipped(self) -> int:
        return self.count(Outcome.SKIPPED_DUPLICATE)

    @property
    def refused(self) -> int:
        return self.count(Outcome.REFUSED)


def _row_of(field: str) -> int | None:
    """The row number of a parser's problem path ``rows[n]....``."""
    if not field.startswith("rows["):
        return None
    number = field[5:].split("]", 1)[0]
    return int(number) if number.isdigit() else None


def _out(problem: Problem) -> ProblemOut:
    return ProblemOut(field=problem.field, code=problem.code, message=problem.message)


class _RowRefused(Exception):
    def __init__(self, field: str, message: str, code: str) -> None:
        super().__init__(message)
        self.problem = Problem(field, message, code)


def _village(actor: Actor, name: str, prefix: str) -> Place:
    query = select(Place).where(Place.kind == "village")
    by_code = actor.session.scalars(scoped(actor, query.where(Place.code == name))).all()
    found = by_code or actor.session.scalars(scoped(actor, query.where(Place.name == name))).all()
    if len(found) != 1:
        reason = "is not a village of the programme" if not found else "names several villages"
        raise _RowRefused(f"{prefix}.village", f"{name!r} {reason}", "unknown_village")
    return found[0]


def _farmer(actor: Actor, programme: Programme, code: str, prefix: str) -> Farmer:
    farmer_id = parse_farmer_code(programme.code, code)
    if farmer_id is None and code.isdigit():
        farmer_id = int(code)
    farmer = None
    if farmer_id is not None:
        farmer = actor.session.scalars(
            scoped(actor.widened(), select(Farmer).where(Farmer.id == farmer_id))
        ).one_or_none()
    if farmer is None:
        raise _RowRefused(
            f"{prefix}.farmer_qr",
            f"unknown farmer QR code {code!r}: no farmer of programme {programme.code} has it",
            "unknown_farmer",
        )
    visible = actor.session.scalars(
        scoped(actor, select(Farmer.id).where(Farmer.id == farmer.id))
    ).one_or_none()
    if visible is None:  # named without the farmer's name: it is outside the actor's scope
        raise _RowRefused(
            f"{prefix}.farmer_qr",
            f"farmer QR code {code!r} names a farmer outside the places you record in",
            "not_found",
        )
    return farmer


def _group(actor: Actor, name: str | None, village: Place) -> int | None:
    if not name:
        return None
    group = actor.session.scalars(
        scoped(
            actor.widened(),
            select(Organization).where(
                Organization.place_id == village.id, Organization.name == name
            ),
        )
    ).first()
    return group.id if group is not None else None


def _check_location(
    actor: Actor,
    record: AnyRecord,
    farmer: Farmer | None,
    village: Place,
    areas: Mapping[str, DistrictArea],
    prefix: str,
    notes: list[str],
) -> None:
    if record.location is None:
        return
    district = district_of(actor, farmer.village_id if farmer is not None else village.id)
    area = areas.get(district.code or "") or areas.get(district.name)
    inside = point_in_district(record.location, area)
    if inside is None:
        notes.append(f"GPS point not checked: district {district.name} has no area")
    elif not inside:
        point = record.location
        raise _RowRefused(
            f"{prefix}.location",
            f"GPS point {point.latitude:g} {point.longitude:g} is outside the district "
            f"{district.name}",
            "outside_district",
        )


def _record(
    actor: Actor,
    programme: Programme,
    record: AnyRecord,
    areas: Mapping[str, DistrictArea],
    notes: list[str],
) -> tuple[Place, Farmer | None]:
    """Write one submission's field records (raises _RowRefused or Refused)."""
    prefix = f"rows[{record.row}]"
    village = _village(actor, record.village, prefix)
    code = getattr(record, "farmer_id", None)
    farmer = _farmer(actor, programme, code, prefix) if code else None
    if farmer is not None and farmer.village_id != village.id:
        raise _RowRefused(
            f"{prefix}.farmer_qr",
            f"{farmer.name} lives in another village than {village.name}",
            "farmer_of_the_village",
        )
    _check_location(actor, record, farmer, village, areas, prefix, notes)
    farmer_id = farmer.id if farmer is not None else None
    location: dict[str, Any] = (
        {"latitude": record.location.latitude, "longitude": record.location.longitude}
        if record.location is not None
        else {}
    )
    if isinstance(record, VisitRecord):
        notes_text = record.notes or ""
        if record.visit_type != "farm_visit":
            notes_text = f"[{record.visit_type}] {notes_text}".strip()
        service.record_visit(
            actor,
            {
                "kind": "visit",
                "village_id": village.id,
                "farmer_id": farmer_id,
                "organization_id": _group(actor, record.group, village),
                "visited_on": record.visit_date,
                "notes": notes_text,
                **location,
            },
        )
    elif isinstance(record, InspectionRecord):
        service.record_visit(
            actor,
            {
                "kind": "inspection",
                "village_id": village.id,
                "farmer_id": farmer_id,
                "visited_on": record.inspection_date,
                "notes": (
                    f"kit {record.kit}: {record.kit_condition}, {record.units_seen} unit(s) seen"
                    + (f"; {record.notes}" if record.notes else "")
                ),
                "photo_ref": record.photo,
                **location,
            },
        )
    elif isinstance(record, HarvestRecord):
        assert farmer_id is not None
        _harvest(actor, programme, record, farmer_id, record.harvest_date)
    elif isinstance(record, KitSaleRecord):
        raise _RowRefused(
            f"{prefix}.form",
            "kit sales are recorded with `alianza kits sell` (the form names no supplier)",
            "not_importable",
        )
    return village, farmer


def _decimal(value: float) -> Decimal:
    # The export's text number back as a decimal (repr of a float is its shortest round trip).
    return Decimal(repr(value))


def _harvest(
    actor: Actor, programme: Programme, record: HarvestRecord, farmer_id: int, day: date
) -> None:
    for line in record.products:
        service.record_harvest(
            actor,
            {
                "farmer_id": farmer_id,
                "kit_code": line.kit,
                "harvested_on": day,
                "quantity": _decimal(line.quantity),
                "grade": line.grade,
            },
        )
        if line.quantity_sold > 0:
            assert line.price is not None and line.buyer is not None
            service.record_produce_sale(
                actor,
                {
                    "farmer_id": farmer_id,
                    "kit_code": line.kit,
                    "sold_on": day,
                    "quantity": _decimal(line.quantity_sold),
                    "grade": line.grade,
                    "unit_price": _decimal(line.price),
                    "buyer": line.buyer,
                },
                programme.reporting_currency,
            )


def _refusal_problems(error: Refused, prefix: str) -> list[Problem]:
    return [
        Problem(f"{prefix}.{p.field}" if p.field else prefix, p.message, p.code)
        for p in error.problems
    ]


def import_submissions(
    actor: Actor,
    parsed: ParsedExport,
    areas: Mapping[str, DistrictArea] | None = None,
) -> SubmissionImportReport:
    """Import a parsed export: every row checked, all written in one savepoint or none.

    Returns the row-by-row report; ``written`` is False (and nothing is kept) when any row was
    refused."""
    actor.require(Permission.FIELD_RECORD)
    programme = actor.session.get(Programme, actor.programme_id)
    assert programme is not None
    areas = areas or {}
    problems_by_row: dict[int, list[Problem]] = {}
    file_problems: list[Problem] = []
    for problem in parsed.problems:
        row = _row_of(problem.field)
        if row is None:
            file_problems.append(problem)
        else:
            problems_by_row.setdefault(row, []).append(problem)
    rows: list[SubmissionRow] = []
    # Programme-wide: a submission imported by anyone counts, whoever imports it again.
    known = set(
        actor.session.scalars(
            scoped(
                actor.widened(),
                select(FieldSubmission.instance_id).where(
                    FieldSubmission.instance_id.in_([r.instance_id for r in parsed.records])
                ),
            )
        )
    )
    refused = bool(file_problems)
    outer = actor.session.begin_nested()
    try:
        for record in parsed.records:
            if record.instance_id in known:
                rows.append(
                    SubmissionRow(
                        row=record.row,
                        instance_id=record.instance_id,
                        outcome=Outcome.SKIPPED_DUPLICATE,
                    )
                )
                continue
            notes: list[str] = []
            prefix = f"rows[{record.row}]"
            row_problems: list[Problem] = []
            try:
                with actor.session.begin_nested():
                    village, farmer = _record(actor, programme, record, areas, notes)
                    actor.session.add(
                        FieldSubmission(
                            programme_id=actor.programme_id,
                            instance_id=record.instance_id,
                            form=record.form,
                            village_id=village.id,
                            farmer_id=farmer.id if farmer is not None else None,
                            imported_by=actor.user_id,
                            imported_at=now(),
                        )
                    )
                    actor.session.flush()
            except _RowRefused as error:
                row_problems = [error.problem]
            except Refused as error:
                row_problems = _refusal_problems(error, prefix)
            if row_problems:
                refused = True
            rows.append(
                SubmissionRow(
                    row=record.row,
                    instance_id=record.instance_id,
                    outcome=Outcome.REFUSED if row_problems else Outcome.IMPORTED,
                    problems=[_out(p) for p in row_problems],
                    notes=notes,
                )
            )
        for row_number, row_problems in problems_by_row.items():
            refused = True
            rows.append(
                SubmissionRow(
                    row=row_number,
                    instance_id=None,
                    outcome=Outcome.REFUSED,
                    problems=[_out(p) for p in row_problems],
                )
            )
        if refused:
            outer.rollback()
        else:
            outer.commit()
    except BaseException:
        if outer.is_active:
            outer.rollback()
        raise
    rows.sort(key=lambda r: r.row or 0)
    if file_problems:
        rows.insert(
            0,
            SubmissionRow(
                row=1,
                instance_id=None,
                outcome=Outcome.REFUSED,
                problems=[_out(p) for p in file_problems],
            ),
        )
    return SubmissionImportReport(
        source=parsed.source, form=parsed.form, rows=rows, written=not refused
    )
