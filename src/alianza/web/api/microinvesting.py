"""Micro Investing over the API: the rollout's areas with their adoption, kit sales (listed
and recorded) and a farmer's growth. The same services as the pages and the CLI, so the
same rules, refusals and scopes."""

from __future__ import annotations

import pathlib
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from alianza.documents import PARSE_ERRORS
from alianza.fieldforms.geo import DistrictArea
from alianza.fieldforms.programme import validate_programme_data
from alianza.fieldforms.submissions import read_export_bytes
from alianza.platform.errors import Refused
from alianza.platform.fieldrecords.imports import SubmissionImportReport, import_submissions
from alianza.platform.kits import service as kits
from alianza.platform.kits.models import KitSale
from alianza.platform.kits.schemas import SaleIn
from alianza.platform.rollout import service as rollout
from alianza.problems import Message
from alianza.web import i18n
from alianza.web.auth import CurrentActor
from alianza.web.errors import translate_message

router = APIRouter(tags=["micro investing"])
MAX_ID = 2**63 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


class AreaOut(BaseModel):
    id: int
    place_id: int
    name: str
    phase: str
    phase_since: date
    target_farmers: int | None
    exit_adoption_share: Decimal
    buying_farmers: int
    reinvesting_farmers: int
    adoption_share: Decimal
    exit_ready: bool


class SaleOut(BaseModel):
    id: int
    reference: str
    farmer_id: int
    kit_code: str
    units: int
    unit_price: Decimal
    amount: Decimal
    currency: str
    method: str
    status: str
    commission: Decimal
    catalogue_id: int
    supplier_id: int
    agronomist_id: int | None
    sold_on: date
    paid_on: date | None


class SalePage(BaseModel):
    items: list[SaleOut]
    total: int


class GrowthOut(BaseModel):
    farmer_id: int
    currency: str | None
    owned: dict[str, int]
    spent: Decimal
    earned: Decimal
    income_per_day: Decimal
    rung: int
    path: list[str]
    next_kits: list[str]
    purchases: list[tuple[date, str, int, Decimal]]


def sale_out(sale: KitSale) -> SaleOut:
    return SaleOut.model_validate(sale, from_attributes=True)


@router.get("/rollout/areas", response_model=list[AreaOut])
def areas(actor: CurrentActor, as_of: date | None = None) -> list[AreaOut]:
    """The rollout's areas with their phase and adoption figures at ``as_of`` (today)."""
    day = as_of or date.today()
    found = []
    for area, place in rollout.areas(actor):
        figures = rollout.adoption(actor, area.id, day)
        found.append(
            AreaOut(
                id=area.id,
                place_id=place.id,
                name=place.name,
                phase=area.phase,
                phase_since=area.phase_since,
                target_farmers=area.target_farmers,
                exit_adoption_share=Decimal(area.exit_adoption_share),
                buying_farmers=figures.buying_farmers,
                reinvesting_farmers=figures.reinvesting_farmers,
                adoption_share=figures.share.quantize(Decimal("0.0001")),
                exit_ready=figures.exit_ready,
            )
        )
    return found


@router.get("/sales", response_model=SalePage)
def sales(
    actor: CurrentActor,
    farmer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[str | None, Query(pattern="^(pending|paid)$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> SalePage:
    """Kit sales the caller's scope reaches, newest first."""
    page = kits.sales(actor, farmer_id=farmer_id, status=status, limit=limit, offset=offset)
    return SalePage(items=[sale_out(s) for s in page.items], total=page.total)


@router.post("/sales", response_model=SaleOut, status_code=201)
def record_sale(actor: CurrentActor, body: SaleIn) -> SaleOut:
    """Sell a kit to a farmer (refused with the rule broken, nothing written)."""
    return sale_out(kits.record_sale(actor, body))


@router.get("/farmers/{farmer_id}/growth", response_model=GrowthOut)
def growth(actor: CurrentActor, farmer_id: RecordId, as_of: date | None = None) -> GrowthOut:
    """A farmer's growth: purchases, kits owned, income, the rung on the upgrade path."""
    found = kits.growth(actor, farmer_id, as_of or date.today())
    return GrowthOut(
        farmer_id=found.farmer.id,
        currency=found.currency,
        owned=found.owned,
        spent=found.spent,
        earned=found.earned,
        income_per_day=found.income_per_day,
        rung=found.rung,
        path=found.path,
        next_kits=found.next_kits,
        purchases=found.purchases,
    )


MAX_EXPORT_BYTES = 20 * 1024 * 1024


def district_areas(content: bytes | None, name: str) -> dict[str, DistrictArea]:
    """The districts' areas of a programme-data file (YAML or JSON), by id and by name."""
    if not content:
        return {}
    try:
        raw = yaml.safe_load(content.decode("utf-8"))
    except PARSE_ERRORS as error:
        raise Refused(
            Message("not valid YAML/JSON: %(error)s", error=str(error)),
            rule="import files",
            field="programme_data",
        ) from None
    # Only the districts are needed: the file's kit catalogue (a path) is not read here.
    if isinstance(raw, dict):
        raw = {key: value for key, value in raw.items() if key != "catalogue"}
    data = validate_programme_data(raw, pathlib.Path(), name)
    areas: dict[str, DistrictArea] = {}
    for district in data.districts:
        if district.area is not None:
            areas[district.id] = district.area
            areas.setdefault(district.name, district.area)
    return areas


def read_limited(upload: UploadFile, field: str) -> bytes:
    content = upload.file.read(MAX_EXPORT_BYTES + 1)
    if len(content) > MAX_EXPORT_BYTES:
        raise Refused(Message("the file is larger than 20 MB"), rule="import files", field=field)
    return content


def said_report(report: SubmissionImportReport, locale: str) -> SubmissionImportReport:
    """The report with its rows' problems and notes said in ``locale``."""
    rows = [
        row.model_copy(
            update={
                "problems": [
                    problem.model_copy(
                        update={"message": translate_message(problem.message, locale)}
                    )
                    for problem in row.problems
                ],
                "notes": [translate_message(note, locale) for note in row.notes],
            }
        )
        for row in report.rows
    ]
    return report.model_copy(update={"rows": rows})


def run_submission_import(
    actor: Any, form: str, file: UploadFile, programme_data: UploadFile | None
) -> SubmissionImportReport:
    """An uploaded export imported (the API's and the upload page's shared path)."""
    areas = (
        district_areas(read_limited(programme_data, "programme_data"), "programme_data")
        if programme_data is not None and programme_data.filename
        else {}
    )
    parsed = read_export_bytes(file.filename or "", read_limited(file, "file"), form)  # type: ignore[arg-type]
    return import_submissions(actor, parsed, areas)


@router.post(
    "/field-submissions",
    response_model=SubmissionImportReport,
    responses={422: {"description": "A row was refused: nothing written, the report says why"}},
    summary="Import an ODK / KoboToolbox export of a field form",
)
def import_field_submissions(
    request: Request,
    actor: CurrentActor,
    form: Annotated[Literal["visit", "inspection", "harvest", "kit_sale"], Form()],
    file: Annotated[UploadFile, File(description="Kobo or ODK Central export: JSON, CSV or ZIP")],
    programme_data: Annotated[
        UploadFile | None, File(description="Programme-data file: the districts' areas")
    ] = None,
) -> Any:
    """All or nothing: the row-by-row report (submissions imported before are skipped), or
    422 with every refused row's problem and nothing written."""
    report = said_report(
        run_submission_import(actor, form, file, programme_data), i18n.locale_of(request)
    )
    if report.written:
        return report
    problems = [
        {"code": p.code, "message": p.message, "field": p.field or None}
        for row in report.rows
        for p in row.problems
    ]
    return JSONResponse(
        {"error": problems[0], "problems": problems, "report": report.model_dump(mode="json")},
        status_code=422,
    )
