"""Performance against peers and district forecasts over the API:
``GET /performance/agronomists``, ``GET /performance/districts`` (figures beside the peers'
median, rank and quartile) and ``GET /forecasts`` (kit demand, produce supply and prices of a
district, calibrated on its records). The same services as the pages and the CLI."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from alianza.ladder.calibration import Estimate
from alianza.ladder.forecast import Forecast
from alianza.ladder.seasons import season_label
from alianza.platform.fieldrecords.forecasts import DistrictForecast, district_forecast
from alianza.platform.rollout import performance
from alianza.platform.rollout.performance import PerformanceTable
from alianza.web.auth import CurrentActor

router = APIRouter(tags=["micro investing"])
# A forecast runs in the request: few replicates keep it to a second or two on a district of
# a few thousand farmers (the CLI runs more).
MAX_WEB_REPLICATES = 50


class BenchmarkOut(BaseModel):
    value: float
    peer_median: float
    rank: int = Field(description="1 = the highest among the peers (ties share a rank).")
    quartile: int = Field(description="1 = the top quarter of the peers.")


class PerformanceRowOut(BaseModel):
    id: int
    name: str
    district: str
    buying_farmers: int
    reinvesting_farmers: int
    figures: dict[str, BenchmarkOut]


class PerformanceOut(BaseModel):
    start: date
    end: date
    currency: str = Field(description="Money figures are in this (reporting) currency.")
    peers: int = Field(description="How many agronomists (districts) the medians cover.")
    peer_basis: str = Field(
        description="programme: all the programme's; scope: those the actor may see."
    )
    medians: dict[str, float]
    rows: list[PerformanceRowOut]


def performance_out(table: PerformanceTable) -> PerformanceOut:
    return PerformanceOut(
        start=table.start,
        end=table.end,
        currency=table.currency,
        peers=table.peers,
        peer_basis=table.peer_basis,
        medians=table.medians,
        rows=[
            PerformanceRowOut(
                id=row.id,
                name=row.name,
                district=row.district,
                buying_farmers=row.buying_farmers,
                reinvesting_farmers=row.reinvesting_farmers,
                figures={
                    name: BenchmarkOut(
                        value=mark.value,
                        peer_median=mark.peer_median,
                        rank=mark.rank,
                        quartile=mark.quartile,
                    )
                    for name, mark in row.benchmarks.items()
                },
            )
            for row in table.rows
        ],
    )


def _period(actor: CurrentActor, start: date | None, end: date | None) -> tuple[date, date]:
    default_start, default_end = performance.default_period(actor)
    chosen_end = end or default_end
    return start or min(default_start, chosen_end), chosen_end


@router.get(
    "/performance/agronomists", response_model=PerformanceOut, name="performance_agronomists"
)
def agronomists(
    actor: CurrentActor, start: date | None = None, end: date | None = None
) -> PerformanceOut:
    """Each agronomist's figures for the period (default: the year to the latest sale) beside
    the peers' median, rank and quartile; an agronomist gets their own row only."""
    first, last = _period(actor, start, end)
    return performance_out(performance.agronomist_performance(actor, first, last))


@router.get("/performance/districts", response_model=PerformanceOut, name="performance_districts")
def districts(
    actor: CurrentActor, start: date | None = None, end: date | None = None
) -> PerformanceOut:
    """Each district's figures for the period beside the other districts'."""
    first, last = _period(actor, start, end)
    return performance_out(performance.district_performance(actor, first, last))


class RecordsOut(BaseModel):
    district: str
    farmers: int
    rows: int
    first_season: str
    last_season: str
    catalogue_version: int


class ForecastOut(BaseModel):
    records: RecordsOut
    seasons: dict[int, str] = Field(description="Forecast season (1 = next) -> 'year-season'.")
    from_records: list[Estimate] = Field(description="Parameters calibrated on the records.")
    kept: list[str] = Field(description="Parameters that keep the catalogue's value.")
    forecast: Forecast


def forecast_out(found: DistrictForecast) -> ForecastOut:
    records = found.records
    spy = records.seasons_per_year
    assert records.first_season is not None and records.last_season is not None
    calibrated = found.calibration
    return ForecastOut(
        records=RecordsOut(
            district=records.district or "",
            farmers=records.farmers,
            rows=records.table.num_rows,
            first_season=season_label(records.first_season, spy),
            last_season=season_label(records.last_season, spy),
            catalogue_version=records.catalogue_version,
        ),
        seasons=found.season_labels,
        from_records=calibrated.from_records if calibrated else [],
        kept=calibrated.kept_parameters if calibrated else [],
        forecast=found.forecast,
    )


@router.get("/forecasts", response_model=ForecastOut, name="api_forecasts")
def forecasts(
    actor: CurrentActor,
    district: Annotated[str, Query(min_length=1, max_length=200)],
    seasons: Annotated[int, Query(ge=1, le=8)] = 2,
    replicates: Annotated[int, Query(ge=2, le=MAX_WEB_REPLICATES)] = 10,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> ForecastOut:
    """A district's kit demand (for suppliers), produce supply by product and grade and local
    prices (for off-takers), season by season, as 10th/50th/90th percentile bands over
    seeded replicates of the simulator calibrated on the district's records."""
    return forecast_out(
        district_forecast(actor, district, seasons=seasons, replicates=replicates, seed=seed)
    )
