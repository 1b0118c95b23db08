"""The graduation page: farmers' readiness against a buyer's criteria (filtered by district
and village, paged, a chart of the farmers meeting each criterion with its table, a CSV of
the list), and the clusters of ready farmers proposed as producer organizations, each with a
form that registers it (for those who may)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alianza.platform.access import Actor, Permission
from alianza.platform.errors import Forbidden, NotFound, Refused
from alianza.platform.graduation import service as graduation
from alianza.platform.registry import service as registry
from alianza.web import i18n
from alianza.web.api.graduation import criteria_from, rules_from
from alianza.web.auth import CurrentActor
from alianza.web.i18n import N_
from alianza.web.pages.agreements import refusal_problems
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50

CRITERION_LABELS = {
    "volume": N_("Volume per season"),
    "grade": N_("Share at the grades"),
    "deliveries": N_("Seasons delivered"),
    "client": N_("Seasons as a client"),
}
REASONS = {
    "volume": N_("volume %(measured)s %(unit)s/season < %(required)s"),
    "grade": N_("grade share %(measured)s < %(required)s"),
    "deliveries": N_("seasons delivered %(measured)s < %(required)s"),
    "client": N_("seasons as a client %(measured)s < %(required)s"),
}
# The query parameters the page's form gives (criteria, cluster rules, filters).
CRITERIA_FIELDS = (
    "product",
    "min_volume_per_season",
    "grades",
    "min_grade_share",
    "seasons",
    "min_seasons_delivered",
    "min_seasons_as_client",
    "as_of",
)
RULE_FIELDS = ("radius_km", "min_farmers", "min_cluster_volume")


def reason_text(check: graduation.CriterionCheck, locale: str) -> str:
    """Why a criterion is not met, in the reader's language and number format."""
    return i18n.gettext(
        locale,
        REASONS[check.criterion],
        measured=format_decimal(check.measured, locale=locale),
        required=format_decimal(check.required, locale=locale),
        unit=check.unit,
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _form(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Criteria and cluster rules from the form's values (blank: the default)."""

    def text(name: str) -> str | None:
        return values.get(name, "").strip() or None

    criteria = criteria_from(
        text("product"),
        text("min_volume_per_season"),
        [text("grades") or ""] if text("grades") else None,
        text("min_grade_share"),
        _int(text("seasons")),
        _int(text("min_seasons_delivered")),
        _int(text("min_seasons_as_client")),
        None,
    )
    criteria["as_of"] = text("as_of")
    rules = rules_from(text("radius_km"), _int(text("min_farmers")), text("min_cluster_volume"))
    return criteria, rules


def _shown_form(criteria: dict[str, Any], rules: dict[str, Any]) -> dict[str, str]:
    """The values the form shows (and passes on to the register forms)."""
    shown = {
        "product": criteria["product"],
        "min_volume_per_season": str(criteria["min_volume_per_season"]),
        "grades": ",".join(criteria["grades"]),
        "min_grade_share": str(criteria["min_grade_share"]),
        "seasons": str(criteria["seasons"]),
        "min_seasons_delivered": str(criteria["min_seasons_delivered"]),
        "min_seasons_as_client": (
            ""
            if criteria["min_seasons_as_client"] is None
            else str(criteria["min_seasons_as_client"])
        ),
        "as_of": criteria.get("as_of") or "",
        "radius_km": str(rules["radius_km"]),
        "min_farmers": str(rules["min_farmers"]),
        "min_cluster_volume": str(rules["min_volume_per_season"]),
    }
    return shown


def counts_chart(found: graduation.Assessment, locale: str) -> dict[str, Any]:
    """Farmers meeting and not meeting each criterion, stacked."""
    counts = found.counts()
    return {
        "type": "stacked",
        "labels": [i18n.gettext(locale, CRITERION_LABELS[c]) for c in counts],
        "label_title": i18n.gettext(locale, N_("Criterion")),
        "datasets": [
            {"label": i18n.gettext(locale, N_("Met")), "data": [m for m, _ in counts.values()]},
            {
                "label": i18n.gettext(locale, N_("Not met")),
                "data": [n for _, n in counts.values()],
            },
        ],
        "format": "number",
    }


def _villages(actor: Actor) -> list[tuple[int, str]]:
    """The villages to filter by, each named with the area it lies in (names repeat)."""
    found = []
    for place_id, lineage in registry.place_lineages(actor).items():
        village = lineage.get("village")
        if village is not None and village.id == place_id:
            area = lineage.get("municipality") or lineage.get("district")
            found.append((place_id, f"{village.name} ({area.name})" if area else village.name))
    return sorted(found, key=lambda item: item[1])


def _page(
    request: Request,
    actor: Actor,
    values: dict[str, str],
    problems: list[Any] | None = None,
    status_code: int = 200,
    registered: Any = None,
) -> HTMLResponse:
    actor.require(Permission.FIELD_READ)
    locale = i18n.locale_of(request)
    criteria, rules = _form(values)
    district_id = _int(values.get("district_id"))
    village_id = _int(values.get("village_id"))
    status = values.get("status") if values.get("status") in graduation.READY_FILTERS else None
    offset = _int(values.get("offset")) or 0
    context: dict[str, Any] = {
        "form": _shown_form(criteria, rules),
        "district_id": district_id,
        "village_id": village_id,
        "status": status,
        "districts": registry.places(actor, "district"),
        "villages": _villages(actor),
        "problems": list(problems or []),
        "registered": registered,
        "page": None,
        "proposals": [],
        "offset": offset,
        "limit": PAGE_SIZE,
    }
    try:
        # One assessment for the list, its counts and the clusters (of the places chosen).
        found = graduation.assess(actor, criteria, district_id=district_id, village_id=village_id)
        page = graduation.page_of(found, status=status, limit=PAGE_SIZE, offset=offset)
        proposals = graduation.propose(actor, found, rules)
    except (Forbidden, NotFound):
        raise
    except Refused as refused:
        context["problems"] += refusal_problems(refused, locale)
        # the status of a refused registration, else that of criteria that cannot be assessed
        refused_status = status_code if status_code != 200 else 422
        return render(request, "graduation/graduation.html", context, status_code=refused_status)
    context.update(
        {
            "page": page,
            "found": found,
            "proposals": proposals,
            "chart": counts_chart(found, locale),
            "reasons": {
                f.farmer_id: [reason_text(c, locale) for c in f.checks if not c.met]
                for f in page.items
            },
            "query": {
                k: v
                for k, v in values.items()
                if k in (*CRITERIA_FIELDS, *RULE_FIELDS, "district_id", "village_id", "status")
                and v
            },
        }
    )
    return render(request, "graduation/graduation.html", context, status_code=status_code)


@router.get("/graduation", response_class=HTMLResponse, name="graduation")
def graduation_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    return _page(request, actor, dict(request.query_params))


@router.get("/graduation.csv", name="graduation_csv")
def graduation_csv(request: Request, actor: CurrentActor) -> Response:
    """The whole list the page shows (all its pages), as CSV."""
    actor.require(Permission.FIELD_READ)
    locale = i18n.locale_of(request)
    values = dict(request.query_params)
    criteria, _rules = _form(values)
    status = values.get("status") if values.get("status") in graduation.READY_FILTERS else None
    found = graduation.assess(
        actor,
        criteria,
        district_id=_int(values.get("district_id")),
        village_id=_int(values.get("village_id")),
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            "farmer_id", "name", "district", "village", f"volume_per_season_{found.unit}",
            "grade_share", "seasons_delivered", "seasons_as_client", "ready", "reasons",
        ]
    )  # fmt: skip
    for f in found.farmers:
        if status is not None and f.ready != (status == "ready"):
            continue
        writer.writerow(
            [
                f.farmer_id, f.name, f.district, f.village, f.volume_per_season, f.grade_share,
                f.seasons_delivered, f.seasons_as_client, "yes" if f.ready else "no",
                "; ".join(reason_text(c, locale) for c in f.checks if not c.met),
            ]
        )  # fmt: skip
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="graduation-readiness.csv"'},
    )


@router.post("/graduation/register", name="graduation_register")
def register(
    request: Request,
    actor: CurrentActor,
    name: Annotated[str, Form(max_length=200)] = "",
    farmer_ids: Annotated[str, Form(max_length=2_000_000)] = "",
    product: Annotated[str, Form(max_length=60)] = "",
    min_volume_per_season: Annotated[str, Form(max_length=40)] = "",
    grades: Annotated[str, Form(max_length=200)] = "",
    min_grade_share: Annotated[str, Form(max_length=40)] = "",
    seasons: Annotated[str, Form(max_length=10)] = "",
    min_seasons_delivered: Annotated[str, Form(max_length=10)] = "",
    min_seasons_as_client: Annotated[str, Form(max_length=10)] = "",
    as_of: Annotated[str, Form(max_length=10)] = "",
    radius_km: Annotated[str, Form(max_length=40)] = "",
    min_farmers: Annotated[str, Form(max_length=10)] = "",
    min_cluster_volume: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    actor.require(Permission.GRADUATION_REGISTER)
    locale = i18n.locale_of(request)
    values = {
        "product": product,
        "min_volume_per_season": min_volume_per_season,
        "grades": grades,
        "min_grade_share": min_grade_share,
        "seasons": seasons,
        "min_seasons_delivered": min_seasons_delivered,
        "min_seasons_as_client": min_seasons_as_client,
        "as_of": as_of,
        "radius_km": radius_km,
        "min_farmers": min_farmers,
        "min_cluster_volume": min_cluster_volume,
    }
    criteria, rules = _form(values)
    ids = [int(f) for f in farmer_ids.split(",") if f.strip().isdigit()]
    try:
        registered = graduation.register_cluster(
            actor, {"name": name, "farmer_ids": ids, "criteria": criteria, "rules": rules}
        )
    except Forbidden:
        raise
    except Refused as refused:
        return _page(request, actor, values, refusal_problems(refused, locale), 409)
    return RedirectResponse(
        request.app.url_path_for("organization", organization_id=registered.organization.id),
        status_code=303,
    )
