"""Graduation over the API: farmers' readiness against a buyer's criteria (paged), the
clusters of ready farmers proposed as producer organizations, and registering one. The same
services as the page and the CLI, so the same rules, refusals and scopes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from alianza.platform.graduation import service as graduation
from alianza.platform.graduation.schemas import (
    DEFAULT_CRITERIA,
    ClusterRegistrationIn,
    ClusterRules,
)
from alianza.web import i18n
from alianza.web.auth import CurrentActor

router = APIRouter(tags=["graduation"])
MAX_ID = 2**63 - 1
DEFAULT_RULES = ClusterRules()


class CheckOut(BaseModel):
    criterion: str
    measured: Decimal
    required: Decimal
    met: bool
    reason: str


class FarmerReadinessOut(BaseModel):
    farmer_id: int
    name: str
    village_id: int
    village: str
    district_id: int | None
    district: str
    volume_per_season: Decimal
    grade_share: Decimal
    seasons_delivered: int
    seasons_as_client: int
    ready: bool
    producer_organization_id: int | None
    checks: list[CheckOut]


class CriterionCount(BaseModel):
    met: int
    not_met: int


class ReadinessPage(BaseModel):
    items: list[FarmerReadinessOut]
    total: int
    assessed: int
    ready: int
    unit: str
    as_of: date
    window_start: date
    counts: dict[str, CriterionCount]


class ClusterOut(BaseModel):
    district_id: int
    district: str
    grouping: str
    village_ids: list[int]
    villages: list[str]
    farmer_ids: list[int]
    volume_per_season: Decimal
    grades: dict[str, Decimal]
    place_id: int
    suggested_name: str


class ClusterList(BaseModel):
    items: list[ClusterOut]
    unit: str
    as_of: date


class RegisteredOut(BaseModel):
    organization_id: int
    name: str
    place_id: int | None
    member_ids: list[int]
    volume_per_season: Decimal


Text = Annotated[str | None, Query(max_length=60)]
Count = Annotated[int | None, Query(ge=0, le=400)]


def criteria_from(
    product: Text = None,
    min_volume_per_season: Text = None,
    grades: Annotated[list[str] | None, Query(max_length=10)] = None,
    min_grade_share: Text = None,
    seasons: Count = None,
    min_seasons_delivered: Count = None,
    min_seasons_as_client: Count = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The criteria a request gives, the defaults for the rest (validated by the service);
    the routes' dependency, so that readiness and clusters take the same query parameters."""
    given: dict[str, Any] = {
        "product": product,
        "min_volume_per_season": min_volume_per_season,
        "grades": [g for value in grades or [] for g in value.split(",")] or None,
        "min_grade_share": min_grade_share,
        "seasons": seasons,
        "min_seasons_delivered": min_seasons_delivered,
        "as_of": as_of,
    }
    criteria = DEFAULT_CRITERIA.model_dump(mode="json")
    criteria.update({k: v for k, v in given.items() if v is not None})
    criteria["min_seasons_as_client"] = min_seasons_as_client
    return criteria


def rules_from(
    radius_km: str | None, min_farmers: int | None, min_cluster_volume: str | None
) -> dict[str, Any]:
    rules = DEFAULT_RULES.model_dump(mode="json")
    given = {
        "radius_km": radius_km,
        "min_farmers": min_farmers,
        "min_volume_per_season": min_cluster_volume,
    }
    rules.update({k: v for k, v in given.items() if v is not None})
    return rules


def farmer_out(
    found: graduation.FarmerReadiness, locale: str = i18n.SOURCE_LOCALE
) -> FarmerReadinessOut:
    """The farmer's readiness, each criterion's reason said in ``locale``."""
    out = FarmerReadinessOut.model_validate(found, from_attributes=True)
    for check, measured in zip(out.checks, found.checks, strict=True):
        check.reason = i18n.say(locale, measured.reason)
    return out


Criteria = Annotated[dict[str, Any], Depends(criteria_from)]


@router.get("/graduation/readiness", response_model=ReadinessPage)
def readiness(
    request: Request,
    actor: CurrentActor,
    criteria: Criteria,
    district_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    village_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[str | None, Query(pattern="^(ready|not_ready)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ReadinessPage:
    """Each farmer of the caller's scope against a buyer's criteria (query parameters; the
    defaults for those not given): the figures, each criterion met or not and why not (in
    the request's language)."""
    page, found = graduation.readiness(
        actor,
        criteria,
        district_id=district_id,
        village_id=village_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return ReadinessPage(
        items=[farmer_out(f, i18n.locale_of(request)) for f in page.items],
        total=page.total,
        assessed=len(found.farmers),
        ready=found.ready_count,
        unit=found.unit,
        as_of=found.as_of,
        window_start=found.window_start,
        counts={k: CriterionCount(met=m, not_met=n) for k, (m, n) in found.counts().items()},
    )


def cluster_out(proposal: graduation.ClusterProposal) -> ClusterOut:
    return ClusterOut(
        district_id=proposal.district_id,
        district=proposal.district,
        grouping=proposal.grouping,
        village_ids=[v for v, _ in proposal.villages],
        villages=[name for _, name in proposal.villages],
        farmer_ids=proposal.farmer_ids,
        volume_per_season=proposal.volume_per_season,
        grades=proposal.grades,
        place_id=proposal.place_id,
        suggested_name=proposal.suggested_name,
    )


@router.get("/graduation/clusters", response_model=ClusterList)
def clusters(
    actor: CurrentActor,
    criteria: Criteria,
    radius_km: Text = None,
    min_farmers: Annotated[int | None, Query(ge=1, le=100000)] = None,
    min_cluster_volume: Text = None,
    district_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> ClusterList:
    """Clusters of ready farmers (in no producer organization yet) in nearby villages,
    proposed as producer organizations, the largest volume first."""
    proposals, found = graduation.clusters(
        actor, criteria, rules_from(radius_km, min_farmers, min_cluster_volume),
        district_id=district_id,
    )  # fmt: skip
    return ClusterList(
        items=[cluster_out(p) for p in proposals], unit=found.unit, as_of=found.as_of
    )


@router.post("/graduation/clusters/register", response_model=RegisteredOut, status_code=201)
def register(actor: CurrentActor, body: ClusterRegistrationIn) -> RegisteredOut:
    """Register a cluster's farmers as a producer organization in one step (refused with the
    reason, nothing written, when a farmer is no longer ready or already in a PO)."""
    registered = graduation.register_cluster(actor, body)
    return RegisteredOut(
        organization_id=registered.organization.id,
        name=registered.organization.name,
        place_id=registered.organization.place_id,
        member_ids=registered.member_ids,
        volume_per_season=registered.volume_per_season,
    )
