"""``POST /api/v1/plans/appraise``: a business plan in, its appraisal report out (JSON).

The plan comes as a file (multipart/form-data, field ``file``, YAML or JSON) or as the JSON
body itself. A bad plan is a 422 whose ``error`` is its first problem and ``problems`` all of
them, each with its field path. Pure appraisal: nothing is stored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from alianza.appraisal import Plan, PlanError, parse_plan
from alianza.appraisal.report import AppraisalReport, ProfileReport, ProjectReport
from alianza.web import i18n
from alianza.web.appraisal import MAX_PLAN_BYTES, appraise, parse_plan_text, read_plan_text
from alianza.web.auth import CurrentUser

router = APIRouter(prefix="/plans", tags=["plans"])

ERROR_BODY = {
    "description": "The plan is not valid: every problem with its field path",
    "content": {
        "application/json": {
            "example": {
                "error": {
                    "code": "invalid",
                    "message": "must be > 0",
                    "field": "investments[3].life_years",
                },
                "problems": [
                    {
                        "code": "invalid",
                        "message": "must be > 0",
                        "field": "investments[3].life_years",
                    }
                ],
            }
        }
    },
}

PLAN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The plan (docs/plan-format.md): a JSON body, or a YAML/JSON file.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Plan"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


def add_plan_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """The plan format's JSON Schema in the OpenAPI document's components (``Plan``, and its
    parts as ``Plan.Investment``...), so the reference at /docs shows every field."""
    schema = Plan.model_json_schema(ref_template="#/components/schemas/Plan.{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, part in schema.pop("$defs", {}).items():
        components[f"Plan.{name}"] = part
    components["Plan"] = schema
    return openapi


async def read_at_most(request: Request, limit: int) -> bytes:
    """The request's body, but no more than ``limit`` bytes of it held in memory."""
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


async def plan_from_request(request: Request) -> Any:
    """The plan sent with ``request``: a multipart file, or the JSON body."""
    locale = i18n.locale_of(request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise PlanError(
                "request",
                [
                    (
                        "file",
                        i18n.gettext(
                            locale, i18n.N_("Send the plan as a file in the field 'file'.")
                        ),
                    )
                ],
            )
        name = upload.filename or "plan.yaml"
        text = read_plan_text(await upload.read(MAX_PLAN_BYTES + 1), name, locale)
        return parse_plan_text(text, name, locale)
    body = await read_at_most(request, MAX_PLAN_BYTES + 1)
    if len(body) > MAX_PLAN_BYTES:
        raise PlanError(
            "request",
            [
                (
                    "",
                    i18n.gettext(
                        locale,
                        i18n.N_("The file is larger than %(limit)s MB."),
                        limit=MAX_PLAN_BYTES // (1024 * 1024),
                    ),
                )
            ],
        )
    try:
        data = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PlanError(
            "request", [("", i18n.gettext(locale, i18n.N_("The body is not valid JSON.")))]
        ) from None
    return parse_plan(data, "request")


@router.post(
    "/appraise",
    name="api_plans_appraise",
    summary="Appraise a business plan",
    openapi_extra=PLAN_BODY,
    responses={422: ERROR_BODY},
    response_model=AppraisalReport,
)
async def appraise_plan(
    request: Request,
    user: CurrentUser,
    discount_rate: Annotated[
        float | None,
        Query(gt=-1, description="Real discount rate overriding the plan's (0.03 for 3%)."),
    ] = None,
) -> ProjectReport | ProfileReport:
    """The appraisal report: NPV, IRR (with its status), B/C, payback, working capital, loans,
    employment, cost per beneficiary, the yearly cash-flow table and the sensitivity table
    with switching values, the financing plan and schedule, debt service and DSCR, and
    figures per beneficiary (a profile: its one typical year)."""
    plan = await plan_from_request(request)
    # Computation, not waiting: off the event loop, so other requests go on meanwhile.
    appraisal = await run_in_threadpool(appraise, plan, discount_rate, i18n.locale_of(request))
    return appraisal.report()
