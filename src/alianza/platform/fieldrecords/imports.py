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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, cast

from pydantic import BaseModel, Field
from sqlalchemy import Select, Table, select
from sqlalchemy.exc import IntegrityError

from alianza.fieldforms.geo import DistrictArea, point_in_district
from alianza.fieldforms.records import (
    AnyRecord,
    HarvestRecord,
    InspectionRecord,
    KitSaleRecord,
    VisitRecord,
)
from alianza.fieldforms.submissions import ParsedExport
from alianza.platform.access import Actor, Permission, require_place, scoped
from alianza.platform.audit.service import audit_row, now, write_audit_rows
from alianza.platform.db import insert_rows
from alianza.platform.errors import Refused
from alianza.platform.fieldrecords.models import FieldSubmission, FieldVisit, Harvest, ProduceSale
from alianza.platform.fieldrecords.schemas import HarvestIn, ProduceSaleIn, VisitIn
from alianza.platform.kits.service import (
    CENT,
    SaleDraft,
    SalesBatch,
    catalogue_of,
    current_catalogue,
)
from alianza.platform.programmes.models import Programme
from alianza.platform.registry.cards import parse_farmer_code
from alianza.platform.registry.models import Farmer, Organization, Place
from alianza.platform.registry.service import place_lineages
from alianza.platform.rollout.team import agronomist_of
from alianza.platform.validation import validated
from alianza.problems import Message, Problem, Words


class Outcome(enum.StrEnum):
    IMPORTED = "imported"
    SKIPPED_DUPLICATE = "skipped-duplicate"
    REFUSED = "refused"


class ProblemOut(BaseModel):
    field: str
    code: str
    message: Words


class SubmissionRow(BaseModel):
    """One submission of the file and what became of it."""

    row: int | None = Field(default=None, ge=1, description="None: the file as a whole.")
    instance_id: str | None
    outcome: Outcome
    problems: list[ProblemOut] = Field(default_factory=list)
    notes: list[Words] = Field(default_factory=list)


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
    def __init__(self, field: str, message: Message | str, code: str) -> None:
        super().__init__(message)
        self.problem = Problem(field, message, code)


LOOKUP_CHUNK = 5000  # ids per IN (...): SQLite allows some 32,000 parameters a statement


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[start : start + LOOKUP_CHUNK] for start in range(0, len(values), LOOKUP_CHUNK)]


@dataclass(frozen=True)
class _FarmerRow:
    id: int
    name: str
    village_id: int


def _farmer_id_of(programme_code: str, code: str) -> int | None:
    farmer_id = parse_farmer_code(programme_code, code)
    if farmer_id is None and code.isdigit():
        farmer_id = int(code)
    return farmer_id


def _slug(name: str) -> str:
    """A name as a form's choice name: lower case, every run of other characters one ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class _Lookups:
    """What checking a file's rows needs from the database, read once for the whole file: the
    programme's villages (by code and by name) and the district each lies in, the farmers the
    file's QR codes name (and which of them the actor's scope reaches), the groups of those
    villages, the kits' units, the importing agronomist, the instance IDs imported before."""

    def __init__(self, actor: Actor, programme: Programme, records: list[AnyRecord]) -> None:
        session = actor.session
        self.actor = actor
        self.programme = programme
        self.by_code: dict[str, list[Place]] = {}
        self.by_name: dict[str, list[Place]] = {}
        for village in session.scalars(
            scoped(actor, select(Place).where(Place.kind == "village")).order_by(Place.id)
        ):
            if village.code:
                self.by_code.setdefault(village.code, []).append(village)
            self.by_name.setdefault(village.name, []).append(village)
        self.lineages = place_lineages(actor.widened())
        codes = {getattr(r, "farmer_id", None) for r in records} - {None}
        ids = sorted(
            {farmer_id for code in codes if (farmer_id := _farmer_id_of(programme.code, str(code)))}
        )
        self.farmers: dict[int, _FarmerRow] = {}
        self.visible: set[int] = set()
        for chunk in _chunks(ids):
            for farmer_id, name, village_id in session.execute(
                scoped(
                    actor.widened(),
                    cast("Select[Any]", select(Farmer.id, Farmer.name, Farmer.village_id)),
                ).where(Farmer.id.in_(chunk))
            ):
                self.farmers[farmer_id] = _FarmerRow(farmer_id, name, village_id)
            if actor.scope.whole_programme:
                self.visible.update(f for f in chunk if f in self.farmers)
            else:
                self.visible.update(
                    session.scalars(scoped(actor, select(Farmer.id).where(Farmer.id.in_(chunk))))
                )
        self.groups: dict[tuple[int, str], int] = {}
        for group_id, place_id, name in session.execute(
            scoped(
                actor.widened(),
                cast(
                    "Select[Any]", select(Organization.id, Organization.place_id, Organization.name)
                ),
            )
            .where(Organization.place_id.is_not(None))
            .order_by(Organization.id.desc())  # the first of a name wins, as a lookup would
        ):
            self.groups[(place_id, name)] = group_id
        self.units: dict[str, str] = {}
        try:
            catalogue = catalogue_of(current_catalogue(actor))
        except Refused:
            catalogue = None
        if catalogue is not None:
            self.units = {kit.id: catalogue.product(kit.product).unit for kit in catalogue.kits}
        agronomist = agronomist_of(actor)
        self.agronomist_id = agronomist.id if agronomist is not None else None
        # kit sales only (see _prepare_kit_sales)
        self.organizations: dict[int, Organization] = {}
        self.suppliers: dict[str, Organization] = {}
        self.offtakers: dict[str, Organization] = {}
        self.farmer_rows: dict[int, Farmer] = {}
        self.known = self.imported_before(records)

    def imported_before(self, records: list[AnyRecord]) -> set[str]:
        """The records' instance IDs imported before, programme-wide: a submission imported by
        anyone counts, whoever imports it again."""
        known: set[str] = set()
        for chunk in _chunks([r.instance_id for r in records]):
            known.update(
                self.actor.session.scalars(
                    scoped(
                        self.actor.widened(),
                        select(FieldSubmission.instance_id).where(
                            FieldSubmission.instance_id.in_(chunk)
                        ),
                    )
                )
            )
        return known

    def village(self, name: str, prefix: str) -> Place:
        found = self.by_code.get(name) or self.by_name.get(name, [])
        if len(found) != 1:
            reason = (
                Message("'%(name)s' is not a village of the programme", name=name)
                if not found
                else Message("'%(name)s' names several villages", name=name)
            )
            raise _RowRefused(f"{prefix}.village", reason, "unknown_village")
        return found[0]

    def farmer(self, code: str, prefix: str) -> _FarmerRow:
        farmer_id = _farmer_id_of(self.programme.code, code)
        farmer = self.farmers.get(farmer_id) if farmer_id is not None else None
        if farmer is None:
            raise _RowRefused(
                f"{prefix}.farmer_qr",
                Message(
                    "unknown farmer QR code '%(code)s': no farmer of programme %(programme)s "
                    "has it",
                    code=code,
                    programme=self.programme.code,
                ),
                "unknown_farmer",
            )
        if farmer.id not in self.visible:  # named without the name: outside the actor's scope
            raise _RowRefused(
                f"{prefix}.farmer_qr",
                Message(
                    "farmer QR code '%(code)s' names a farmer outside the places you record in",
                    code=code,
                ),
                "not_found",
            )
        return farmer

    def district(self, village_id: int) -> Place:
        district = self.lineages.get(village_id, {}).get("district")
        if district is None:
            raise Refused(
                Message("the farmer's village lies in no district"), rule="geography levels"
            )
        return district

    def unit(self, kit_code: str) -> str:
        unit = self.units.get(kit_code)
        if unit is None:
            raise Refused(
                Message("kit '%(kit)s' is not in the catalogue", kit=kit_code),
                rule="kit in the catalogue",
                field="kit_code",
            )
        return unit


@dataclass
class _Writes:
    """The rows a file's good submissions add, written together once every row passed."""

    visits: list[dict[str, Any]] = field(default_factory=list)
    harvests: list[dict[str, Any]] = field(default_factory=list)
    produce_sales: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    sales: SalesBatch | None = None


def _check_location(
    lookups: _Lookups,
    record: AnyRecord,
    farmer: _FarmerRow | None,
    village: Place,
    areas: Mapping[str, DistrictArea],
    prefix: str,
    notes: list[str],
) -> None:
    if record.location is None:
        return
    district = lookups.district(farmer.village_id if farmer is not None else village.id)
    area = areas.get(district.code or "") or areas.get(district.name)
    inside = point_in_district(record.location, area)
    if inside is None:
        notes.append(
            Message(
                "GPS point not checked: district %(district)s has no area", district=district.name
            )
        )
    elif not inside:
        point = record.location
        raise _RowRefused(
            f"{prefix}.location",
            Message(
                "GPS point %(latitude)s %(longitude)s is outside the district %(district)s",
                # the coordinates to six significant digits, as decimals the locale writes
                latitude=Decimal(f"{point.latitude:g}"),
                longitude=Decimal(f"{point.longitude:g}"),
                district=district.name,
            ),
            "outside_district",
        )


def _fits(value: float, places: int) -> bool:
    """Whether a number of the export fits a column of 18 digits with ``places`` decimals, read
    off its text (as :func:`_decimal` makes it); one that may not is checked by the input
    schema itself, for the schema's message."""
    text = repr(value)
    point = text.find(".")
    decimals = 0 if point < 0 else len(text) - point - 1
    return "e" not in text and decimals <= places and abs(value) < 10.0 ** (15 - places)


def _record(
    lookups: _Lookups,
    record: AnyRecord,
    areas: Mapping[str, DistrictArea],
    notes: list[str],
    writes: _Writes,
) -> tuple[Place, _FarmerRow | None, list[tuple[list[dict[str, Any]], dict[str, Any]]]]:
    """Check one submission as the recording services would (raises _RowRefused or Refused)
    and return what it adds: (village, farmer, [(the list a row goes to, the row)])."""
    actor = lookups.actor
    prefix = f"rows[{record.row}]"
    village = lookups.village(record.village, prefix)
    code = getattr(record, "farmer_id", None)
    farmer = lookups.farmer(code, prefix) if code else None
    if farmer is not None and farmer.village_id != village.id:
        raise _RowRefused(
            f"{prefix}.farmer_qr",
            Message(
                "%(farmer)s lives in another village than %(village)s",
                farmer=farmer.name,
                village=village.name,
            ),
            "farmer_of_the_village",
        )
    _check_location(lookups, record, farmer, village, areas, prefix, notes)
    require_place(actor, village.id)  # the farmer, if any, lives there too
    farmer_id = farmer.id if farmer is not None else None
    recorded = {"programme_id": actor.programme_id, "recorded_by": actor.user_id,
                "recorded_at": now()}  # fmt: skip
    added: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
    if isinstance(record, VisitRecord | InspectionRecord):
        location = record.location
        if isinstance(record, VisitRecord):
            notes_text = record.notes or ""
            if record.visit_type != "farm_visit":
                notes_text = f"[{record.visit_type}] {notes_text}".strip()
            visit: dict[str, Any] = {"kind": "visit", "visited_on": record.visit_date, "photo_ref": None,
                     "organization_id": lookups.groups.get((village.id, record.group or ""))}  # fmt: skip
        else:
            notes_text = (
                f"kit {record.kit}: {record.kit_condition}, {record.units_seen} unit(s) seen"
                + (f"; {record.notes}" if record.notes else "")
            )
            visit = {"kind": "inspection", "visited_on": record.inspection_date,
                     "photo_ref": record.photo, "organization_id": None}  # fmt: skip
        visit |= {
            "village_id": village.id, "farmer_id": farmer_id, "notes": notes_text,
            "latitude": location.latitude if location is not None else None,
            "longitude": location.longitude if location is not None else None,
            "qr_code": None, "qr_matches": None, "agronomist_id": lookups.agronomist_id,
        }  # fmt: skip
        if len(notes_text) > 5000 or len(visit["photo_ref"] or "") > 300:
            validated(VisitIn, {k: visit[k] for k in VisitIn.model_fields if k in visit})
        added.append((writes.visits, visit | recorded))
    elif isinstance(record, HarvestRecord):
        assert farmer is not None
        for line in record.products:
            quantity = _decimal(line.quantity)
            harvest = {"farmer_id": farmer.id, "village_id": farmer.village_id,
                       "kit_code": line.kit, "harvested_on": record.harvest_date,
                       "quantity": quantity, "grade": line.grade}  # fmt: skip
            if not (_fits(line.quantity, 3) and len(line.kit) <= 60 and len(line.grade) <= 20):
                validated(HarvestIn, harvest)
            unit = lookups.unit(line.kit)
            added.append((writes.harvests, harvest | {"unit": unit} | recorded))
            if line.quantity_sold > 0:
                assert line.price is not None and line.buyer is not None
                sold, price = _decimal(line.quantity_sold), _decimal(line.price)
                sale = {"farmer_id": farmer.id, "village_id": farmer.village_id,
                        "kit_code": line.kit, "sold_on": record.harvest_date,
                        "quantity": sold, "grade": line.grade, "unit_price": price,
                        "buyer": line.buyer, "offtaker_id": None}  # fmt: skip
                if not (
                    _fits(line.quantity_sold, 3) and _fits(line.price, 2) and len(line.buyer) <= 200
                ):
                    validated(ProduceSaleIn, sale)
                # Amount rounded half-even to cents: quantity (3 decimals) x price (2 decimals).
                amount = (sold * price).quantize(CENT, rounding=ROUND_HALF_EVEN)
                added.append(
                    (writes.produce_sales,
                     sale | {"unit": unit, "amount": amount,
                             "currency": lookups.programme.reporting_currency} | recorded)
                )  # fmt: skip
    elif isinstance(record, KitSaleRecord):
        assert farmer is not None and writes.sales is not None
        _kit_sale(lookups, record, farmer, village, writes.sales, prefix)
    return village, farmer, added


def _kit_sale(
    lookups: _Lookups,
    record: KitSaleRecord,
    farmer: _FarmerRow,
    village: Place,
    sales: SalesBatch,
    prefix: str,
) -> None:
    """A kit sale of the form, as `alianza sales record` would record it; the supplier is the
    one the form names, else the single supplier holding stock in the farmer's district."""
    district = lookups.district(farmer.village_id)
    suppliers = lookups.suppliers
    serving = sales.suppliers_of(district.id)
    if record.supplier:
        named = suppliers.get(record.supplier) or suppliers.get(_slug(record.supplier))
        if named is None:
            raise _RowRefused(
                f"{prefix}.supplier",
                Message("'%(name)s' is not a supplier of the programme", name=record.supplier),
                "unknown_supplier",
            )
        supplier = named
    elif len(serving) == 1:
        supplier = lookups.organizations[next(iter(serving))]
    else:
        reason = (
            Message("no supplier holds kits in %(district)s", district=district.name)
            if not serving
            else Message(
                "%(count)s suppliers hold kits in %(district)s: the form must name one",
                count=len(serving),
                district=district.name,
            )
        )
        raise _RowRefused(f"{prefix}.supplier", reason, "supplier_of_the_district")
    offtaker = None
    if record.payment_method == "prepayment":
        assert record.prepaid_by is not None
        offtaker = lookups.offtakers.get(record.prepaid_by) or lookups.offtakers.get(
            _slug(record.prepaid_by)
        )
        if offtaker is None:
            raise _RowRefused(
                f"{prefix}.prepaid_by",
                Message("'%(name)s' is not an off-taker of the programme", name=record.prepaid_by),
                "unknown_offtaker",
            )
    farmer_row = lookups.farmer_rows[farmer.id]
    try:
        sales.add(
            SaleDraft(
                farmer=farmer_row, district=district, kit_code=record.kit, units=record.units,
                method=record.payment_method, sold_on=record.sale_date, supplier=supplier,
                offtaker=offtaker, amount_given=_decimal(record.amount).quantize(CENT),
            )
        )  # fmt: skip
    except Refused as error:  # the sale's fields as the form names them
        problem = error.problems[0]
        name = SALE_FIELDS.get(problem.field or "", problem.field)
        field_path = f"{prefix}.{name}" if name else prefix
        raise _RowRefused(field_path, problem.message, problem.code) from None


# A sale's fields (kits.SaleIn) as the kit-sale form names them.
SALE_FIELDS = {"kit_code": "kit", "offtaker_id": "prepaid_by", "supplier_id": "supplier"}


def _decimal(value: float) -> Decimal:
    # The export's text number back as a decimal (repr of a float is its shortest round trip).
    return Decimal(repr(value))


def _refusal_problems(error: Refused, prefix: str) -> list[Problem]:
    return [
        Problem(f"{prefix}.{p.field}" if p.field else prefix, p.message, p.code)
        for p in error.problems
    ]


def _prepare_kit_sales(lookups: _Lookups, records: list[AnyRecord]) -> SalesBatch:
    """What kit sales need beyond the other forms: the suppliers and off-takers by name and
    choice name, the farmers as rows, and a :class:`SalesBatch` of the farmers' districts."""
    actor = lookups.actor
    lookups.organizations = {}
    lookups.suppliers, lookups.offtakers = {}, {}
    for organization in actor.session.scalars(
        scoped(actor.widened(), select(Organization))
        .where(Organization.kind.in_(["supplier", "offtaker"]))
        .order_by(Organization.id.desc())
    ):
        lookups.organizations[organization.id] = organization
        names = lookups.suppliers if organization.kind == "supplier" else lookups.offtakers
        names[organization.name] = names[_slug(organization.name)] = organization
    farmer_ids = sorted(lookups.farmers)
    lookups.farmer_rows = {}
    for chunk in _chunks(farmer_ids):
        for farmer in actor.session.scalars(
            scoped(actor.widened(), select(Farmer)).where(Farmer.id.in_(chunk))
        ):
            lookups.farmer_rows[farmer.id] = farmer
    districts = sorted(
        {
            district.id
            for farmer in lookups.farmers.values()
            if (district := lookups.lineages.get(farmer.village_id, {}).get("district"))
        }
    )
    return SalesBatch(actor, farmer_ids, districts)


def _insert(session: Any, model: type[Any], rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one executemany, their ids (drawn first) in order."""
    return insert_rows(session, cast(Table, model.__table__), rows)


def id_ranges(ids: list[int]) -> list[list[int]]:
    """Ids as ``[first, last]`` runs of consecutive ids (a bulk insert's are mostly one run)."""
    runs: list[list[int]] = []
    for row_id in sorted(ids):
        if runs and row_id == runs[-1][1] + 1:
            runs[-1][1] = row_id
        else:
            runs.append([row_id, row_id])
    return runs


def _write(actor: Actor, writes: _Writes, parsed: ParsedExport) -> None:
    """Write every row the file adds in bulk, and the import's audit entry: one for the file
    (who imported which export, and the ids of every record it created), not one per record —
    each record carries who recorded it and when, and its submission who imported it."""
    session = actor.session
    created: dict[str, list[list[int]]] = {}
    for model, rows in (
        (FieldVisit, writes.visits),
        (Harvest, writes.harvests),
        (ProduceSale, writes.produce_sales),
    ):
        if rows:
            created[model.__tablename__] = id_ranges(_insert(session, model, rows))
    if writes.sales is not None:  # each sale, its stock and its posting audited as recorded
        created["kit_sales"] = id_ranges(writes.sales.write())
    submission_ids = _insert(session, FieldSubmission, writes.submissions)
    created["field_submissions"] = id_ranges(submission_ids)
    after = {"form": parsed.form, "source": parsed.source,
             "submissions": len(submission_ids), "created": created}  # fmt: skip
    write_audit_rows(
        session, [audit_row(actor, "import", "field_submissions", submission_ids[0], after=after)]
    )


# The submissions' unique (programme, instance ID), as the naming convention names it.
SUBMISSION_KEY = "uq_field_submissions_programme_id_instance_id"


def _is_submission_key(error: IntegrityError) -> bool:
    """Whether the error violates :data:`SUBMISSION_KEY`, by the constraint psycopg's
    diagnostic names (SQLite, whose writers take turns, never gets here)."""
    diagnostic = getattr(error.orig, "diag", None)
    return getattr(diagnostic, "constraint_name", None) == SUBMISSION_KEY


def import_submissions(
    actor: Actor,
    parsed: ParsedExport,
    areas: Mapping[str, DistrictArea] | None = None,
) -> SubmissionImportReport:
    """Import a parsed export: every row checked, all written together or none.

    Every row is checked first, against what was read once for the whole file (villages,
    farmers, groups, units, stock and prices); only when every row passed are the rows written,
    in bulk, inside one savepoint. Returns the row-by-row report; ``written`` is False (and
    nothing is kept) when any row was refused.

    Another import of the same file committing its submissions after this one checked (on
    PostgreSQL; SQLite's BEGIN IMMEDIATE lets one writer at a time) fails the write on the
    submissions' unique key: the savepoint is rolled back and the file checked once again,
    which (under READ COMMITTED) sees them, so that their rows are reported skipped."""
    actor.require(Permission.FIELD_RECORD)
    try:
        return _check_and_write(actor, parsed, areas or {})
    except IntegrityError as error:
        if not _is_submission_key(error):
            raise
    return _check_and_write(actor, parsed, areas or {})


def _check_and_write(
    actor: Actor, parsed: ParsedExport, areas: Mapping[str, DistrictArea]
) -> SubmissionImportReport:
    """:func:`import_submissions` once: check every row, write them if all passed."""
    programme = actor.session.get(Programme, actor.programme_id)
    assert programme is not None
    problems_by_row: dict[int, list[Problem]] = {}
    file_problems: list[Problem] = []
    for problem in parsed.problems:
        row = _row_of(problem.field)
        if row is None:
            file_problems.append(problem)
        else:
            problems_by_row.setdefault(row, []).append(problem)
    rows: list[SubmissionRow] = []
    lookups = _Lookups(actor, programme, parsed.records)
    writes = _Writes()
    new = [record for record in parsed.records if record.instance_id not in lookups.known]
    if any(isinstance(record, KitSaleRecord) for record in new):
        try:
            writes.sales = _prepare_kit_sales(lookups, new)
        except Refused as error:  # no catalogue, or the actor may not record sales
            file_problems += _refusal_problems(error, "(file)")
        else:
            # Locking the stock may have waited for another import of this file to commit:
            # its submissions are skipped, not refused for the stock they took.
            lookups.known = lookups.imported_before(parsed.records)
    refused = bool(file_problems)
    imported_at = now()
    for record in parsed.records:
        if record.instance_id in lookups.known:
            rows.append(
                SubmissionRow(
                    row=record.row, instance_id=record.instance_id,
                    outcome=Outcome.SKIPPED_DUPLICATE, problems=[], notes=[],
                )
            )  # fmt: skip
            continue
        notes: list[str] = []
        prefix = f"rows[{record.row}]"
        row_problems: list[Problem] = []
        if not file_problems:
            try:
                village, farmer, added = _record(lookups, record, areas, notes, writes)
            except _RowRefused as error:
                row_problems = [error.problem]
            except Refused as error:
                row_problems = _refusal_problems(error, prefix)
            else:
                for target, values in added:
                    target.append(values)
                writes.submissions.append(
                    {"programme_id": actor.programme_id, "instance_id": record.instance_id,
                     "form": record.form, "village_id": village.id,
                     "farmer_id": farmer.id if farmer is not None else None,
                     "imported_by": actor.user_id, "imported_at": imported_at}
                )  # fmt: skip
        if row_problems:
            refused = True
        rows.append(
            SubmissionRow(
                row=record.row, instance_id=record.instance_id,
                outcome=Outcome.REFUSED if row_problems else Outcome.IMPORTED,
                problems=[_out(p) for p in row_problems], notes=notes,
            )
        )  # fmt: skip
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
    if not refused and writes.submissions:
        with actor.session.begin_nested():  # a failure leaves nothing of the file
            _write(actor, writes, parsed)
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
