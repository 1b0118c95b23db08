"""The registry's pages: farmers (search, filters, paging), one farmer, organizations, one
organization with its members, and importing CSV or XLSX files (all or nothing, the report
row by row). What a role's scope does not reach is not shown, listed or counted; a record
outside it is a 404 page, as for one that does not exist."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from alianza.platform.access import Actor, Permission, ScopeKind
from alianza.platform.registry import importer
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Place
from alianza.platform.registry.schemas import ORGANIZATION_KINDS, SEXES
from alianza.web import i18n
from alianza.web.api.registry import read_upload, report_out, run_import
from alianza.web.auth import CurrentActor
from alianza.web.i18n import N_
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZES = (25, 50, 100, 200)
SEX_LABELS = {"female": N_("Female"), "male": N_("Male")}
KIND_LABELS = {
    "producer_organization": N_("Producer organization"),
    "buyer": N_("Buyer"),
    "ta_provider": N_("Technical-assistance provider"),
    "financial_institution": N_("Financial institution"),
    "implementing_partner": N_("Implementing partner"),
    "supplier": N_("Input supplier"),
    "offtaker": N_("Off-taker"),
    "savings_group": N_("Savings group"),
    "club": N_("Farmers' club"),
    "incubator": N_("Incubator"),
}
PLACE_LABELS = {
    "country": N_("Country"),
    "district": N_("District"),
    "municipality": N_("Municipality"),
    "village": N_("Village"),
}
IMPORT_KINDS = {
    "farmers": N_("Farmers"),
    "organizations": N_("Organizations"),
    "memberships": N_("Memberships"),
}
CREATED_LABELS = {
    "farmers": N_("Farmers registered"),
    "organizations": N_("Organizations registered"),
    "memberships": N_("Memberships recorded"),
}


def _id(text: str | None) -> int | None:
    """A filter's id from the query string ('' or not a number: no filter)."""
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _paging(limit: str | None, offset: str | None) -> tuple[int, int]:
    size = _id(limit) or 50
    return (size if size in PAGE_SIZES else 50), _id(offset) or 0


def _villages(actor: Actor, lineages: dict[int, dict[str, Place]]) -> list[tuple[int, str]]:
    """(id, "village (municipality)") of the villages the actor works in, by name."""
    reach = actor.scope.place_ids if actor.scope.kind is ScopeKind.PLACES else None
    found = []
    for place_id, lineage in lineages.items():
        village = lineage.get("village")
        if (
            village is None
            or village.id != place_id
            or (reach is not None and place_id not in reach)
        ):
            continue
        municipality = lineage.get("municipality")
        found.append(
            (place_id, f"{village.name} ({municipality.name})" if municipality else village.name)
        )
    return sorted(found, key=lambda item: item[1].lower())


@router.get("/farmers", response_class=HTMLResponse, name="farmers")
def farmers(
    request: Request,
    actor: CurrentActor,
    q: str = "",
    village_id: str | None = None,
    organization_id: str | None = None,
    sex: str | None = None,
    limit: str | None = None,
    offset: str | None = None,
) -> HTMLResponse:
    size, start = _paging(limit, offset)
    chosen_sex = sex if sex in SEXES else None
    page = registry.search_farmers(
        actor,
        text=q[:200],
        village_id=_id(village_id),
        organization_id=_id(organization_id),
        sex=chosen_sex,
        limit=size,
        offset=start,
    )
    lineages = registry.place_lineages(actor)
    query = {
        key: value
        for key, value in {
            "q": q,
            "village_id": village_id or "",
            "organization_id": organization_id or "",
            "sex": chosen_sex or "",
        }.items()
        if value
    }
    return render(
        request,
        "registry/farmers.html",
        {
            "page": page,
            "limit": size,
            "offset": start,
            "query": query,
            "q": q,
            "village_id": _id(village_id),
            "organization_id": _id(organization_id),
            "sex": chosen_sex,
            "today": date.today(),
            "villages": _villages(actor, lineages),
            "lineages": lineages,
            "organizations": registry.organizations(actor, "producer_organization"),
            "sexes": SEX_LABELS,
            "page_sizes": PAGE_SIZES,
        },
    )


@router.get("/farmers/{farmer_id}", response_class=HTMLResponse, name="farmer")
def farmer(request: Request, actor: CurrentActor, farmer_id: int) -> HTMLResponse:
    found = registry.get_farmer(actor, farmer_id)
    return render(
        request,
        "registry/farmer.html",
        {
            "farmer": found,
            "today": date.today(),
            "sexes": SEX_LABELS,
            "kinds": KIND_LABELS,
            "places": registry.ancestors(actor, found.village_id),
            "place_labels": PLACE_LABELS,
            "organizations": registry.memberships_of(actor, farmer_id),
        },
    )


@router.get("/organizations", response_class=HTMLResponse, name="organizations")
def organizations(
    request: Request,
    actor: CurrentActor,
    kind: str | None = None,
    q: str = "",
    limit: str | None = None,
    offset: str | None = None,
) -> HTMLResponse:
    size, start = _paging(limit, offset)
    chosen = kind if kind in ORGANIZATION_KINDS else None
    page = registry.search_organizations(actor, kind=chosen, text=q[:200], limit=size, offset=start)
    query = {key: value for key, value in {"kind": chosen or "", "q": q}.items() if value}
    return render(
        request,
        "registry/organizations.html",
        {
            "page": page,
            "limit": size,
            "offset": start,
            "query": query,
            "kind": chosen,
            "q": q,
            "kinds": KIND_LABELS,
            "lineages": registry.place_lineages(actor),
            "counts": registry.member_counts(actor, [o.id for o in page.items]),
        },
    )


@router.get("/organizations/{organization_id}", response_class=HTMLResponse, name="organization")
def organization(
    request: Request,
    actor: CurrentActor,
    organization_id: int,
    limit: str | None = None,
    offset: str | None = None,
) -> HTMLResponse:
    found = registry.get_organization(actor, organization_id)
    size, start = _paging(limit, offset)
    members = registry.search_farmers(
        actor, organization_id=organization_id, limit=size, offset=start
    )
    lineages = registry.place_lineages(actor)
    return render(
        request,
        "registry/organization.html",
        {
            "organization": found,
            "members": members,
            "limit": size,
            "offset": start,
            "kinds": KIND_LABELS,
            "sexes": SEX_LABELS,
            "today": date.today(),
            "lineages": lineages,
            "place_labels": PLACE_LABELS,
            "places": lineages.get(found.place_id, {}) if found.place_id else {},
        },
    )


def _import_page(
    request: Request, kind: str, report: Any = None, refused: bool = False, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "registry/import.html",
        {
            "kinds": IMPORT_KINDS,
            "kind": kind,
            "report": report,
            "refused": refused,
            "created_labels": CREATED_LABELS,
        },
        status_code=status_code,
    )


@router.get("/registry/import", response_class=HTMLResponse, name="registry_import")
def import_form(request: Request, actor: CurrentActor, kind: str = "farmers") -> HTMLResponse:
    actor.require(Permission.REGISTRY_EDIT)
    return _import_page(request, kind if kind in IMPORT_KINDS else "farmers")


@router.post("/registry/import", response_class=HTMLResponse, name="registry_import_post")
def import_upload(
    request: Request,
    actor: CurrentActor,
    kind: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    actor.require(Permission.REGISTRY_EDIT)
    chosen = kind if kind in IMPORT_KINDS else "farmers"
    locale = i18n.locale_of(request)  # the report's reasons said in the page's language
    try:
        report = run_import(actor, chosen, file.filename or "", read_upload(file))
    except importer.ImportRefused as refused:
        return _import_page(
            request,
            chosen,
            report_out(chosen, refused.report, locale),
            refused=True,
            status_code=422,
        )
    return _import_page(request, chosen, report_out(chosen, report, locale))
