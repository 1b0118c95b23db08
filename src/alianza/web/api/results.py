"""The results framework as JSON: ``GET /api/v1/results`` (``portfolio.read``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alianza.platform.results.schemas import ResultsReport
from alianza.platform.results.service import build_report, year_periods
from alianza.web.auth import CurrentActor

router = APIRouter(prefix="/results", tags=["results"])


@router.get("", name="api_results", summary="The programme's results framework")
def results(
    actor: CurrentActor,
    period: Annotated[
        list[int] | None,
        Query(description="Calendar years to report (default: every year of the records)."),
    ] = None,
) -> ResultsReport:
    """Every indicator of the results framework per period, with its baseline and its
    disaggregations by sex, youth and minority status where the records allow (docs/impact.md,
    section 9), within the caller's scope. Needs ``portfolio.read``."""
    return build_report(actor, year_periods(period) if period else None)
