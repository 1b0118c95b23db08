"""Seasons of the calendar: the one rule that turns a dated record (a kit sale, a harvest, a
produce sale) into the season number of the field records (`alianza.ladder.records`).

A year holds ``seasons_per_year`` seasons (the catalogue's). When that number divides 12, a
season is a run of whole months (4: January-March, April-June, July-September,
October-December; 2: January-June, July-December); otherwise the year's days are split into
equal spans (season i of a year of D days holds the days d, counted from 0, with
``floor(d * seasons_per_year / D) = i``). Seasons are numbered consecutively across years:

    season = year * seasons_per_year + index_in_year        (index_in_year from 0)

so that the season after the last of a year is the first of the next, and any two records
of the same season, wherever and by whomever recorded, carry the same number.
"""

from __future__ import annotations

from datetime import date, timedelta


def _days_in_year(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def season_of(day: date, seasons_per_year: int) -> int:
    """The season number of a date (see the module's docstring)."""
    if seasons_per_year < 1:
        raise ValueError("seasons_per_year must be at least 1")
    if 12 % seasons_per_year == 0:
        index = (day.month - 1) * seasons_per_year // 12
    else:
        elapsed = (day - date(day.year, 1, 1)).days
        index = elapsed * seasons_per_year // _days_in_year(day.year)
    return day.year * seasons_per_year + index


def season_start(season: int, seasons_per_year: int) -> date:
    """The first day of a season number."""
    year, index = divmod(season, seasons_per_year)
    if 12 % seasons_per_year == 0:
        return date(year, index * 12 // seasons_per_year + 1, 1)
    days = _days_in_year(year)
    # The first day d with floor(d * spy / D) >= index: d = ceil(index * D / spy).
    return date(year, 1, 1) + timedelta(days=-(-index * days // seasons_per_year))


def season_end(season: int, seasons_per_year: int) -> date:
    """The last day of a season number."""
    return season_start(season + 1, seasons_per_year) - timedelta(days=1)


def season_label(season: int, seasons_per_year: int) -> str:
    """``2024-3``: the third season of 2024 (1-based within the year)."""
    year, index = divmod(season, seasons_per_year)
    return f"{year}-{index + 1}"
