"""Graduation readiness, pure: a farmer's track record over the last seasons measured against
what a buyer asks for. Numbers in, numbers out; no database (the service feeds it one query
per table).

Quantities come in thousandths of the product's unit (the database keeps three decimals), as
integers, so that every comparison with a threshold is exact. Over a window of the last ``N``
seasons ending with the season of the day readiness is measured on (that season counts, even
while it runs):

- ``volume``: harvested quantity of the product in the window / ``N`` (a season without a
  harvest counts as zero), against the minimum volume per season;
- ``grade``: quantity harvested at one of the required grades / quantity harvested (0 when
  nothing was harvested), against the minimum share;
- ``deliveries``: seasons of the window with at least one sale of the product (quantity > 0),
  against the minimum number of seasons delivered;
- ``client``: seasons from the season of the farmer's first kit purchase to the window's last
  season, both counted (0 for a farmer who never bought a kit), against the minimum, when the
  buyer asks for one.

A season is one of the year's ``seasons_per_year`` runs of whole months (:func:`season_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import numpy as np

CRITERIA = ("volume", "grade", "deliveries", "client")
MILLI = 1000


def season_of(day: date, seasons_per_year: int) -> int:
    """The season ``day`` falls in, counted from year 0: ``year * s + (month - 1) * s // 12``
    for ``s`` seasons a year (the year split into ``s`` runs of whole months)."""
    if not 1 <= seasons_per_year <= 12:
        raise ValueError("seasons_per_year lies between 1 and 12")
    return day.year * seasons_per_year + (day.month - 1) * seasons_per_year // 12


def season_start(season: int, seasons_per_year: int) -> date:
    """The first day of a season (the inverse of :func:`season_of`)."""
    year, index = divmod(season, seasons_per_year)
    month = next(m for m in range(1, 13) if (m - 1) * seasons_per_year // 12 == index)
    return date(year, month, 1)


def to_milli(quantity: Decimal) -> int:
    """A quantity with at most three decimals as an integer of thousandths (exact)."""
    scaled = quantity * MILLI
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{quantity} has more than three decimals")
    return int(scaled)


def from_milli(milli: int, per: int = 1) -> Decimal:
    """``milli`` thousandths divided by ``per``, as a Decimal rounded half-even to 0.001."""
    return (Decimal(int(milli)) / (MILLI * per)).quantize(Decimal("0.001"), ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Thresholds:
    """What a buyer asks for, in the exact units :func:`assess` compares."""

    seasons: int  # N: the window is the last N seasons
    min_volume_milli: int  # per season, thousandths of the unit
    min_grade_share: Fraction
    min_seasons_delivered: int
    min_seasons_as_client: int | None = None


@dataclass(frozen=True)
class Measured:
    """Per farmer (arrays in the order of the farmers given): the window's harvested volume and
    the part of it at a required grade (thousandths), seasons delivered, seasons as a client."""

    volume_milli: np.ndarray
    graded_milli: np.ndarray
    seasons_delivered: np.ndarray
    seasons_as_client: np.ndarray


def measure(
    farmers: int,
    window_end: int,
    seasons: int,
    harvest_farmer: np.ndarray,
    harvest_season: np.ndarray,
    harvest_milli: np.ndarray,
    harvest_graded: np.ndarray,
    sale_farmer: np.ndarray,
    sale_season: np.ndarray,
    first_purchase_season: np.ndarray,
) -> Measured:
    """The figures of :data:`CRITERIA` for ``farmers`` farmers (indices 0..farmers-1) over the
    window of ``seasons`` seasons ending with ``window_end``. Harvests: farmer index, season,
    quantity in thousandths, whether at a required grade; sales (of quantity > 0): farmer
    index and season; ``first_purchase_season`` per farmer, -1 for none. Rows outside the
    window are left out here."""
    if seasons < 1:
        raise ValueError("the window holds at least one season")
    harvest_farmer = np.asarray(harvest_farmer, dtype=np.int64)
    harvest_season = np.asarray(harvest_season, dtype=np.int64)
    harvest_milli = np.asarray(harvest_milli, dtype=np.int64)
    harvest_graded = np.asarray(harvest_graded, dtype=bool)
    inside = (harvest_season <= window_end) & (harvest_season > window_end - seasons)
    volume = np.zeros(farmers, dtype=np.int64)
    graded = np.zeros(farmers, dtype=np.int64)
    np.add.at(volume, harvest_farmer[inside], harvest_milli[inside])
    at_grade = inside & harvest_graded
    np.add.at(graded, harvest_farmer[at_grade], harvest_milli[at_grade])

    sale_farmer = np.asarray(sale_farmer, dtype=np.int64)
    sale_season = np.asarray(sale_season, dtype=np.int64)
    sold = (sale_season <= window_end) & (sale_season > window_end - seasons)
    offset = window_end - sale_season[sold]
    pairs = np.unique(sale_farmer[sold] * seasons + offset)  # one per farmer and season
    delivered = np.bincount(pairs // seasons, minlength=farmers).astype(np.int64)

    first = np.asarray(first_purchase_season, dtype=np.int64)
    client = np.where((first >= 0) & (first <= window_end), window_end - first + 1, 0)
    return Measured(volume, graded, delivered, client.astype(np.int64))


def assess(measured: Measured, thresholds: Thresholds) -> dict[str, np.ndarray]:
    """Per criterion, whether each farmer meets it (exact integer comparisons):

    - volume: ``volume >= min_volume_per_season * N``;
    - grade: ``graded * q >= p * volume`` for a minimum share ``p/q`` (nothing harvested
      meets only a minimum of 0);
    - deliveries: ``seasons_delivered >= min_seasons_delivered``;
    - client: ``seasons_as_client >= min_seasons_as_client`` (all met when not asked for).
    """
    share = thresholds.min_grade_share
    volume = measured.volume_milli
    graded = measured.graded_milli
    grade_met = np.where(
        volume > 0,
        graded * share.denominator >= share.numerator * volume,
        share == 0,
    )
    client_min = thresholds.min_seasons_as_client
    return {
        "volume": volume >= thresholds.min_volume_milli * thresholds.seasons,
        "grade": grade_met.astype(bool),
        "deliveries": measured.seasons_delivered >= thresholds.min_seasons_delivered,
        "client": (
            np.ones(volume.size, dtype=bool)
            if client_min is None
            else measured.seasons_as_client >= client_min
        ),
    }


def ready(met: dict[str, np.ndarray]) -> np.ndarray:
    """Ready: every criterion met."""
    result = np.ones(next(iter(met.values())).size, dtype=bool)
    for values in met.values():
        result &= values
    return result
