"""The registry's API: farmers, organizations, places, and importing them from CSV or XLSX.

Every list is ``{"items": [...], "total": N}``, paged with ``?limit=&offset=``; what a role's
scope does not reach is neither listed nor counted, and ``GET /farmers/{id}`` of a farmer
outside it is a 404, as for one that does not exist. An import is all or nothing: a refused
file is a 422 whose ``problems`` name each row and column at fault, and nothing is written.
"""

from __future__ import annotations

import csv
import tempfile
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from alianza.platform.access import Actor
from alianza.platform.errors import Refused
from alianza.platform.registry import importer
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Farmer, Organization, Place
from alianza.platform.registry.schemas import FarmerIn
from alianza.problems import Message
from alianza.web import i18n
from alianza.web.auth import CurrentActor
from alianza.web.errors import translate_message

router = APIRouter(tags=["registry"])

# An import file larger than this is refused before it is read (some 200,000 farmer rows).
MAX_IMPORT_BYTES = 20 * 1024 * 1024
IMPORT_SUFFIXES = (".csv", ".xlsx", ".xlsm")
# What reading a file that is not the CSV or workbook it says it is raises.
UNREADABLE = (UnicodeDecodeError, ValueError, KeyError, OSError, zipfile.BadZipFile, csv.Error)
ImportKind = Literal["farmers", "organizations", "memberships"]
IMPORTS = {
    "farmers": lambda actor, path: importer.import_farmers(actor, path),
    "organizations": lambda actor, path: importer.import_organizations(actor, path),
    "memberships": lambda actor, path: importer.import_memberships(actor, path),
}

Limit = Annotated[int, Query(ge=1, le=1000, description="How many items (1–1000).")]
Offset = Annotated[int, Query(ge=0, description="How many items to skip.")]


class PlaceOut(BaseModel):
    id: int
    kind: str
    name: str
    code: str | None
    parent_id: int | None


class OrganizationRef(BaseModel):
    id: int
    kind: str
    name: str


class FarmerOut(BaseModel):
    id: int
    name: str
    sex: str
    birth_year: int
    age: int
    youth: bool
    minority: bool
    household_size: int
    land_hectares: Decimal
    phone: str | None
    national_id: str | None
    village_id: int
    latitude: float | None
    longitude: float | None


class FarmerDetail(FarmerOut):
    """A farmer with where they live and the organizations they belong to."""

    places: dict[str, PlaceOut]  # village, municipality, district, country
    organizations: list[OrganizationRef]


class PossibleDuplicateOut(BaseModel):
    farmer_id: int
    name: str
    reason: str


class FarmerRegistered(BaseModel):
    farmer: FarmerOut
    possible_duplicates: list[PossibleDuplicateOut]


class OrganizationOut(BaseModel):
    id: int
    kind: str
    name: str
    registration_number: str | None
    place_id: int | None
    founded_year: int | None
    member_count: int


class OrganizationDetail(OrganizationOut):
    places: dict[str, PlaceOut]


class FarmerPage(BaseModel):
    items: list[FarmerOut]
    total: int


class OrganizationPage(BaseModel):
    items: list[OrganizationOut]
    total: int


class PlacePage(BaseModel):
    items: list[PlaceOut]
    total: int


class ImportProblemOut(BaseModel):
    row: int
    column: str
    reason: str


class ImportReportOut(BaseModel):
    kind: str
    rows_read: int
    created: dict[str, int]
    problems: list[ImportProblemOut]
    duplicates: list[str]


# --- shaping ---------------------------------------------------------------------------------


def place_out(place: Place) -> PlaceOut:
    return PlaceOut(
        id=place.id, kind=place.kind, name=place.name, code=place.code, parent_id=place.parent_id
    )


def farmer_out(farmer: Farmer, today: date | None = None) -> FarmerOut:
    today = today or date.today()
    return FarmerOut(
        id=farmer.id,
        name=farmer.name,
        sex=farmer.sex,
        birth_year=farmer.birth_year,
        age=farmer.age(today),
        youth=farmer.is_youth(today),
        minority=farmer.minority,
        household_size=farmer.household_size,
        land_hectares=Decimal(farmer.land_hectares),
        phone=farmer.phone,
        national_id=farmer.national_id,
        village_id=farmer.village_id,
        latitude=farmer.latitude,
        longitude=farmer.longitude,
    )


def organization_out(organization: Organization, member_count: int) -> OrganizationOut:
    return OrganizationOut(
        id=organization.id,
        kind=organization.kind,
        name=organization.name,
        registration_number=organization.registration_number,
        place_id=organization.place_id,
        founded_year=organization.founded_year,
        member_count=member_count,
    )


def problem_parts(problem: Any) -> tuple[int, str, str]:
    """(row, column, reason) of an import's row problem (the importer names them row, column
    and reason; older reports said field and message); the reason as the importer gave it
    (a :class:`~alianza.problems.Message`, to be said in the reader's language)."""
    column = getattr(problem, "column", None) or getattr(problem, "field", "") or ""
    reason = getattr(problem, "reason", None) or getattr(problem, "message", "") or ""
    return (
        int(getattr(problem, "row", 0) or 0),
        str(column),
        reason if isinstance(reason, str) else str(reason),
    )


def report_out(kind: str, report: Any, locale: str = i18n.SOURCE_LOCALE) -> ImportReportOut:
    """The import's report with its reasons and possible duplicates said in ``locale``."""
    return ImportReportOut(
        kind=kind,
        rows_read=int(getattr(report, "rows_read", 0)),
        created=dict(getattr(report, "created", {}) or {}),
        problems=[
            ImportProblemOut(row=row, column=column, reason=translate_message(reason, locale))
            for row, column, reason in map(problem_parts, report.problems)
        ],
        duplicates=[
            translate_message(duplicate if isinstance(duplicate, str) else str(duplicate), locale)
            for duplicate in getattr(report, "duplicates", [])
        ],
    )


def run_import(actor: Actor, kind: str, filename: str, content: bytes) -> Any:
    """The importer's report for ``content`` (a CSV or XLSX file); :class:`ImportRefused`
    when any row is wrong (nothing written), :class:`Refused` for a file that is not one."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise Refused(Message("give a .csv or .xlsx file"), field="file", rule="import files")
    if len(content) > MAX_IMPORT_BYTES:
        raise Refused(
            Message(
                "the file is larger than %(limit)s MB", limit=MAX_IMPORT_BYTES // (1024 * 1024)
            ),
            field="file",
            rule="import files",
        )
    if not content.strip():
        raise Refused(Message("the file is empty"), field="file", rule="import files")
    with tempfile.TemporaryDirectory(prefix="alianza-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            return IMPORTS[kind](actor, path)
        except importer.ImportRefused:
            actor.session.rollback()  # nothing of a refused import stays, even half-flushed
            raise
        except UNREADABLE as error:
            actor.session.rollback()
            raise Refused(
                Message(
                    "the file cannot be read as %(format)s: %(error)s",
                    format=suffix[1:].upper(),
                    error=str(error),
                ),
                field="file",
                rule="import files",
            ) from None


def read_upload(file: UploadFile) -> bytes:
    return file.file.read(MAX_IMPORT_BYTES + 1)


# --- routes ----------------------------------------------------------------------------------


@router.get("/farmers", name="api_farmers", response_model=FarmerPage, summary="Search the farmers")
def list_farmers(
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=200, description="In the name, phone or national ID.")] = "",
    village_id: int | None = None,
    organization_id: int | None = None,
    sex: Literal["female", "male"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> FarmerPage:
    """Farmers whose name, phone or national ID contains ``q``, by name; ``total`` counts
    every match the caller's scope reaches."""
    page = registry.search_farmers(
        actor,
        text=q,
        village_id=village_id,
        organization_id=organization_id,
        sex=sex,
        limit=limit,
        offset=offset,
    )
    today = date.today()
    return FarmerPage(items=[farmer_out(f, today) for f in page.items], total=page.total)


@router.post(
    "/farmers",
    name="api_farmer_register",
    response_model=FarmerRegistered,
    status_code=201,
    summary="Register a farmer",
)
def register_farmer(request: Request, actor: CurrentActor, farmer: FarmerIn) -> FarmerRegistered:
    """Register one farmer; the registered farmers who may be the same person (same phone or
    national ID, close name in the village) are listed, never merged."""
    locale = i18n.locale_of(request)
    duplicates = registry.duplicates_of(actor, farmer)
    registered = registry.add_farmer(actor, farmer)
    actor.session.flush()
    return FarmerRegistered(
        farmer=farmer_out(registered),
        possible_duplicates=[
            PossibleDuplicateOut(
                farmer_id=d.farmer_id, name=d.name, reason=i18n.say(locale, d.reason)
            )
            for d in duplicates
        ],
    )


@router.get(
    "/farmers/{farmer_id}", name="api_farmer", response_model=FarmerDetail, summary="One farmer"
)
def one_farmer(actor: CurrentActor, farmer_id: int) -> FarmerDetail:
    farmer = registry.get_farmer(actor, farmer_id)
    lineage = registry.ancestors(actor, farmer.village_id)
    return FarmerDetail(
        **farmer_out(farmer).model_dump(),
        places={kind: place_out(place) for kind, place in lineage.items()},
        organizations=[
            OrganizationRef(id=o.id, kind=o.kind, name=o.name)
            for o in registry.memberships_of(actor, farmer_id)
        ],
    )


@router.get(
    "/organizations",
    name="api_organizations",
    response_model=OrganizationPage,
    summary="List the organizations",
)
def list_organizations(
    actor: CurrentActor,
    kind: str | None = None,
    q: Annotated[str, Query(max_length=200, description="In the name.")] = "",
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrganizationPage:
    """Organizations (of a ``kind``: producer_organization, buyer, ta_provider,
    financial_institution, implementing_partner), by name, with their members the caller's
    scope reaches."""
    page = registry.search_organizations(actor, kind=kind, text=q, limit=limit, offset=offset)
    counts = registry.member_counts(actor, [o.id for o in page.items])
    return OrganizationPage(
        items=[organization_out(o, counts[o.id]) for o in page.items], total=page.total
    )


@router.get(
    "/organizations/{organization_id}",
    name="api_organization",
    response_model=OrganizationDetail,
    summary="One organization",
)
def one_organization(actor: CurrentActor, organization_id: int) -> OrganizationDetail:
    organization = registry.get_organization(actor, organization_id)
    counts = registry.member_counts(actor, [organization.id])
    lineage = registry.ancestors(actor, organization.place_id) if organization.place_id else {}
    return OrganizationDetail(
        **organization_out(organization, counts[organization.id]).model_dump(),
        places={kind: place_out(place) for kind, place in lineage.items()},
    )


@router.get(
    "/organizations/{organization_id}/members",
    name="api_organization_members",
    response_model=FarmerPage,
    summary="An organization's members",
)
def organization_members(
    actor: CurrentActor, organization_id: int, limit: Limit = 50, offset: Offset = 0
) -> FarmerPage:
    registry.get_organization(actor, organization_id)
    page = registry.search_farmers(
        actor, organization_id=organization_id, limit=limit, offset=offset
    )
    today = date.today()
    return FarmerPage(items=[farmer_out(f, today) for f in page.items], total=page.total)


@router.get("/places", name="api_places", response_model=PlacePage, summary="List the places")
def list_places(
    actor: CurrentActor,
    kind: Literal["country", "district", "municipality", "village"] | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> PlacePage:
    """The programme's geography (country → district → municipality → village)."""
    found = registry.places(actor, kind)
    return PlacePage(items=[place_out(p) for p in found[offset : offset + limit]], total=len(found))


IMPORT_BODY: dict[str, Any] = {
    "description": "Refused: every row's problem (nothing written)",
    "content": {
        "application/json": {
            "example": {
                "error": {
                    "code": "refused",
                    "message": "must be female or male",
                    "field": "rows[3].sex",
                },
                "problems": [
                    {"code": "refused", "message": "must be female or male", "field": "rows[3].sex"}
                ],
                "report": {
                    "kind": "farmers",
                    "rows_read": 10,
                    "created": {},
                    "problems": [{"row": 3, "column": "sex", "reason": "must be female or male"}],
                    "duplicates": [],
                },
            }
        }
    },
}


@router.post(
    "/registry/imports/{kind}",
    name="api_registry_import",
    response_model=ImportReportOut,
    responses={422: IMPORT_BODY},
    summary="Import farmers, organizations or memberships",
)
def import_file(
    request: Request,
    actor: CurrentActor,
    kind: ImportKind,
    file: Annotated[UploadFile, File(description="A CSV or XLSX file")],
) -> Any:
    """All or nothing: the report of what was created, or (422) every row's problem, with
    nothing written. Possible duplicates are reported, never merged."""
    locale = i18n.locale_of(request)
    try:
        report = run_import(actor, kind, file.filename or "", read_upload(file))
    except importer.ImportRefused as refused:
        out = report_out(kind, refused.report, locale)
        problems: list[dict[str, Any]] = [
            {
                "code": "refused",
                "message": p.reason,
                # a problem of the file itself (its encoding, its headers) names no row
                "field": f"rows[{p.row}].{p.column}" if p.row else (p.column or "file"),
            }
            for p in out.problems
        ] or [
            {"code": "refused", "message": translate_message(refused.reason, locale), "field": None}
        ]
        return JSONResponse(
            {"error": problems[0], "problems": problems, "report": out.model_dump()},
            status_code=422,
        )
    return report_out(kind, report, locale)
