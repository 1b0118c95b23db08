"""Tables and summary of a simulation, and writing them: Parquet, CSV, an XLSX workbook, the
summary JSON and the charts.

Conventions in every file: seasons are numbered from 1 (with a calendar label when the
scenario has a start date); money is in US dollars at market rates with the unit in the name
(``_usd``; ``_cents`` where whole cents are kept exactly, in ``farmers.parquet``), incomes
compared with the poverty line also in PPP dollars (``_ppp``); "never" is null; districts and
markets carry their names.

Files written to the output folder:
- ``farmers.parquet``: one row per farmer, final state and accounting (streamed by the runner);
- ``seasons.parquet``: one row per (season, group); groups all, female, male, youth, non_youth,
  minority, non_minority;
- ``markets.parquet`` / ``districts.parquet``: one row per (season, market or district):
  weather, poverty share, income, supply and price per product, kits bought per kit;
- ``breakdown.parquet``: the last season by group, district and market: percentiles of income,
  cash and kits owned, poverty share, who never started and why, the highest rung reached;
- ``distributions.parquet``: the histograms of income per person per day and of cash;
- the same tables as CSV (but farmers), ``simulation.xlsx`` (summary, by group, by district,
  by market, by season) and ``summary.json``.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from alianza.impact.poverty import POVERTY_LINES
from alianza.impact.quantiles import QUANTILES
from alianza.impact.survival import kaplan_meier_from_counts, median_time
from alianza.ladder.breakdown import REASONS, FinalCounts
from alianza.ladder.reference import ReferenceLadder
from alianza.ladder.runner import SimulationResult
from alianza.ladder.statistics import (
    GROUPS,
    cash_bin_lower_edge_usd,
    gini_from_histogram,
    income_edges_usd,
    percentile_from_histogram,
)
from alianza.problems import Message

WEATHER_NAMES = np.array(["normal", "drought", "flood"])
TABLES = ("seasons", "markets", "districts", "breakdown", "distributions")


def _share(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _cash_edges(bins: int) -> tuple[np.ndarray, np.ndarray]:
    lower = cash_bin_lower_edge_usd(np.arange(bins))
    return lower, np.append(lower[1:], lower[-1])


def histogram_quantiles(
    counts: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> dict[str, float | None]:
    """The QUANTILES (p10, p25, median, p75, p90) of a histogram, interpolated within a bin;
    None for an empty one."""
    if counts.sum() == 0:
        return dict.fromkeys(QUANTILES)
    return {
        name: percentile_from_histogram(counts, lower, upper, q) for name, q in QUANTILES.items()
    }


def income_quantiles(counts: np.ndarray) -> dict[str, float | None]:
    """Quantiles in USD a person a day of an income histogram (5-cent bins; negatives at 0)."""
    lower, upper = income_edges_usd()
    return histogram_quantiles(counts, lower, upper)


def cash_quantiles(counts: np.ndarray) -> dict[str, float | None]:
    """Quantiles in USD of a cash histogram (logarithmic bins; cash <= 0 at 0)."""
    return histogram_quantiles(counts, *_cash_edges(counts.shape[0]))


def units_quantiles(counts: np.ndarray) -> dict[str, float | None]:
    """Quantiles of kit units owned (whole numbers: the inverted CDF, no interpolation)."""
    values = np.arange(counts.shape[0], dtype=np.float64)
    return histogram_quantiles(counts, values, values)


def income_percentiles(
    result: SimulationResult, season: int, group: str = "all"
) -> dict[str, float | None]:
    """Quantiles of income per person per day (USD) in a season (0-based index), of a group."""
    return income_quantiles(result.income_hist_count[season, GROUPS[group]].sum(axis=0))


def cash_percentiles(
    result: SimulationResult, season: int, group: str = "all"
) -> dict[str, float | None]:
    """Quantiles of cash (USD) at the end of a season (0-based index), of a group."""
    return cash_quantiles(result.cash_hist_count[season, GROUPS[group]].sum(axis=0))


def _ppp(value: float | None, ppp_per_usd: float) -> float | None:
    return None if value is None else value * ppp_per_usd


def _season_columns(result: SimulationResult, seasons: np.ndarray) -> dict[str, Any]:
    """season (from 1), season_label, season_start (null without a start date)."""
    scenario = result.scenario
    return {
        "season": pa.array(seasons, type=pa.int64()),
        "season_label": pa.array([scenario.season_label(int(s)) for s in seasons], pa.string()),
        "season_start": pa.array([scenario.season_start(int(s)) for s in seasons], pa.date32()),
    }


def season_table(result: SimulationResult) -> pa.Table:
    """One row per (season, group) with the season's indicators."""
    scenario = result.scenario
    days = scenario.catalogue.days_per_season
    ppp_per_usd = scenario.conversion().ppp_per_usd
    rows: list[dict[str, Any]] = []
    bought = result.market_bought.sum(axis=2)
    for season in range(scenario.seasons):
        for group, cells in GROUPS.items():
            farmers = int(result.cell_farmers[season, cells].sum())
            kit_income = int(result.cell_income_cents[season, cells].sum())
            other_income = int(result.cell_other_income_cents[cells].sum())
            cash = int(result.cell_cash_cents[season, cells].sum())
            row: dict[str, Any] = {
                "group": group,
                "farmers": farmers,
                "mean_kit_income_usd_per_day": _share(kit_income / 100.0 / days, farmers),
                "mean_other_income_usd_per_day": _share(other_income / 100.0 / days, farmers),
                "mean_cash_usd": _share(cash / 100.0, farmers),
                "share_above_poverty": _share(
                    int(result.cell_above_poverty[season, cells].sum()), farmers
                ),
                "share_commercial": _share(
                    int(result.cell_commercial[season, cells].sum()), farmers
                ),
            }
            is_all = group == "all"
            income_q = income_percentiles(result, season, group)
            cash_q = cash_percentiles(result, season, group)
            for name in QUANTILES:
                row[f"income_usd_per_person_day_{name}"] = income_q.get(name)
            for name in QUANTILES:
                row[f"income_ppp_per_person_day_{name}"] = _ppp(income_q.get(name), ppp_per_usd)
            for name in QUANTILES:
                row[f"cash_usd_{name}"] = cash_q.get(name)
            row["gini_income"] = gini_from_histogram(
                result.income_hist_count[season, cells].sum(axis=0),
                result.income_hist_cents[season, cells].sum(axis=0),
            )
            row["loans_active"] = int(result.loans_active[season]) if is_all else None
            row["defaulted_farmers"] = int(result.loans_defaulted[season]) if is_all else None
            row["written_off_usd"] = (
                int(result.written_off_cents[season]) / 100.0 if is_all else None
            )
            for k, kit in enumerate(result.kit_ids):
                row["owned_" + kit] = int(result.kits_owned[season, k]) if is_all else None
                row["bought_" + kit] = int(bought[season, k]) if is_all else None
                row["retired_" + kit] = int(result.kits_retired[season, k]) if is_all else None
            rows.append(row)
    seasons = np.repeat(np.arange(1, scenario.seasons + 1), len(GROUPS))
    columns = _season_columns(result, seasons)
    body = pa.Table.from_pylist(rows)
    return pa.table({**columns, **{name: body.column(name) for name in body.column_names}})


def _place_columns(
    result: SimulationResult,
    supply: np.ndarray,  # [T, P, X]
    prices: np.ndarray,  # [T, P, X]
    bought: np.ndarray,  # [T, K, X]
    farmers: np.ndarray,  # [X]
    income_cents: np.ndarray,  # [T, X]
    other_income_cents: np.ndarray,  # [X]
    above_poverty: np.ndarray,  # [T, X]
) -> dict[str, Any]:
    """The per-(season, place) columns shared by the market and the district tables."""
    seasons = supply.shape[0]
    days = result.scenario.catalogue.days_per_season
    count = farmers.shape[0]
    per_farmer = np.where(farmers > 0, np.maximum(farmers, 1), np.nan)
    columns: dict[str, Any] = {
        "farmers": np.tile(farmers, seasons),
        "share_above_poverty": (above_poverty / per_farmer).reshape(-1),
        "mean_kit_income_usd_per_day": (income_cents / 100.0 / days / per_farmer).reshape(-1),
        "mean_other_income_usd_per_day": np.tile(
            other_income_cents / 100.0 / days / per_farmer, seasons
        ),
    }
    for p, product in enumerate(result.product_ids):
        columns[f"supply_{product}"] = supply[:, p, :].reshape(-1)
        columns[f"price_usd_{product}"] = prices[:, p, :].reshape(-1)
    for k, kit in enumerate(result.kit_ids):
        columns[f"bought_{kit}"] = bought[:, k, :].reshape(-1)
    assert all(len(value) == seasons * count for value in columns.values())
    return columns


def market_table(result: SimulationResult) -> pa.Table:
    """One row per (season, market): markets numbered from 0 as in a population file."""
    scenario = result.scenario
    seasons, _, markets = result.market_supply.shape
    per_district = scenario.population.markets_per_district
    season_index = np.repeat(np.arange(seasons), markets)
    market_index = np.tile(np.arange(markets), seasons)
    district_index = market_index // per_district
    market_names = [scenario.market_name(m) for m in range(markets)]
    district_names = [scenario.district_name(d) for d in range(scenario.population.districts)]
    columns: dict[str, Any] = {
        **_season_columns(result, season_index + 1),
        "market": market_index,
        "market_name": [market_names[m] for m in market_index],
        "district": district_index,
        "district_name": [district_names[d] for d in district_index],
        "weather": WEATHER_NAMES[result.weather[season_index, district_index]],
        **_place_columns(
            result,
            result.market_supply,
            result.market_prices,
            result.market_bought,
            result.market_farmers,
            result.market_income_cents,
            result.market_other_income_cents,
            result.market_above_poverty,
        ),
    }
    return pa.table(columns)


def _by_district(values: np.ndarray, per_district: int) -> np.ndarray:
    """Sum a [..., M] array over each district's markets: [..., D]."""
    shape = values.shape[:-1] + (values.shape[-1] // per_district, per_district)
    return values.reshape(shape).sum(axis=-1)


def district_table(result: SimulationResult) -> pa.Table:
    """One row per (season, district): sums over its markets; prices weighted by supply."""
    scenario = result.scenario
    seasons, products, markets = result.market_supply.shape
    per_district = scenario.population.markets_per_district
    districts = markets // per_district
    shape = (seasons, products, districts, per_district)
    supply = result.market_supply.reshape(shape)
    prices = result.market_prices.reshape(shape)
    district_supply = supply.sum(axis=3)
    weighted = (supply * prices).sum(axis=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        district_price = np.where(
            district_supply > 0, weighted / district_supply, prices.mean(axis=3)
        )
    district_index = np.tile(np.arange(districts), seasons)
    columns: dict[str, Any] = {
        **_season_columns(result, np.repeat(np.arange(1, seasons + 1), districts)),
        "district": district_index,
        "district_name": [scenario.district_name(int(d)) for d in district_index],
        "weather": WEATHER_NAMES[result.weather.reshape(-1)],
        **_place_columns(
            result,
            district_supply,
            district_price,
            _by_district(result.market_bought, per_district),
            _by_district(result.market_farmers, per_district),
            _by_district(result.market_income_cents, per_district),
            _by_district(result.market_other_income_cents, per_district),
            _by_district(result.market_above_poverty, per_district),
        ),
    }
    return pa.table(columns)


def distribution_table(result: SimulationResult) -> pa.Table:
    """One row per (season, measure, non-empty bin): the full histograms behind the percentiles.

    Measures: ``income_per_person_day`` (USD, kit and other income, 5-cent bins; the first
    bin holds all negative incomes) and ``cash`` (USD, logarithmic bins; the first holds cash
    <= 0).
    """
    income_lower, income_upper = income_edges_usd()
    income_lower = income_lower.copy()
    income_lower[0] = -np.inf
    income_upper = income_upper.copy()
    income_upper[-1] = np.inf
    cash_lower = cash_bin_lower_edge_usd(np.arange(result.cash_hist_count.shape[2]))
    cash_lower[0] = -np.inf
    cash_upper = np.append(cash_lower[1:], np.inf)
    cash_upper[0] = 0.0
    columns: dict[str, list[Any]] = {
        "season": [],
        "measure": [],
        "lower_usd": [],
        "upper_usd": [],
        "farmers": [],
    }
    for season in range(result.scenario.seasons):
        for measure, counts, lower, upper in (
            (
                "income_per_person_day",
                result.income_hist_count[season].sum(axis=0),
                income_lower,
                income_upper,
            ),
            ("cash", result.cash_hist_count[season].sum(axis=0), cash_lower, cash_upper),
        ):
            for index in np.flatnonzero(counts):
                columns["season"].append(season + 1)
                columns["measure"].append(measure)
                columns["lower_usd"].append(float(lower[index]))
                columns["upper_usd"].append(float(upper[index]))
                columns["farmers"].append(int(counts[index]))
    return pa.table(columns)


def _scope_row(
    result: SimulationResult,
    scope: str,
    name: str,
    counts: FinalCounts,
    rows: np.ndarray,
    above_poverty: int,
    commercial: int | None,
) -> dict[str, Any]:
    """One row of the breakdown: the final-season counts of ``rows`` of ``counts``."""
    ppp_per_usd = result.scenario.conversion().ppp_per_usd
    income = counts.income[rows].sum(axis=0)
    cash = counts.cash[rows].sum(axis=0)
    units = counts.kits_owned[rows].sum(axis=0)
    rung = counts.highest_rung[rows].sum(axis=0)
    never = counts.never_started[rows].sum(axis=0)
    farmers = int(rung.sum())
    row: dict[str, Any] = {
        "scope": scope,
        "name": name,
        "farmers": farmers,
        "share_above_poverty": _share(above_poverty, farmers),
        "share_commercial": _share(commercial, farmers) if commercial is not None else None,
    }
    income_q = income_quantiles(income)
    for key, value in income_q.items():
        row[f"income_usd_per_person_day_{key}"] = value
    for key, value in income_q.items():
        row[f"income_ppp_per_person_day_{key}"] = _ppp(value, ppp_per_usd)
    for key, value in cash_quantiles(cash).items():
        row[f"cash_usd_{key}"] = value
    for key, value in units_quantiles(units).items():
        row[f"kits_owned_{key}"] = value
    row["mean_kits_owned"] = _share(float(np.dot(units, np.arange(units.shape[0]))), farmers)
    row["share_never_started"] = _share(int(never[1:].sum()), farmers)
    for index, reason in enumerate(REASONS):
        row[f"share_never_started_{reason}"] = _share(int(never[index + 1]), farmers)
    row["share_highest_rung_none"] = _share(int(rung[0]), farmers)
    for position, k in enumerate(result.rung_kits):
        row[f"share_highest_rung_{result.kit_ids[k]}"] = _share(int(rung[position + 1]), farmers)
    return row


def breakdown_table(result: SimulationResult) -> pa.Table:
    """The last season by scope: all farmers, each group, each district, each market."""
    scenario = result.scenario
    rows = []
    for group, cells in GROUPS.items():
        rows.append(
            _scope_row(
                result,
                "all" if group == "all" else "group",
                group,
                result.final_by_cell,
                np.array(cells),
                int(result.cell_above_poverty[-1, cells].sum()),
                int(result.cell_commercial[-1, cells].sum()),
            )
        )
    per_district = scenario.population.markets_per_district
    for district in range(scenario.population.districts):
        markets = np.arange(district * per_district, (district + 1) * per_district)
        rows.append(
            _scope_row(
                result,
                "district",
                scenario.district_name(district),
                result.final_by_market,
                markets,
                int(result.market_above_poverty[-1, markets].sum()),
                None,
            )
        )
    for market in range(scenario.market_count):
        rows.append(
            _scope_row(
                result,
                "market",
                scenario.market_name(market),
                result.final_by_market,
                np.array([market]),
                int(result.market_above_poverty[-1, market]),
                None,
            )
        )
    return pa.Table.from_pylist(rows)


def reference_indicators(result: SimulationResult) -> dict[str, float] | None:
    """Mean level, share at the top level and mean cash, if the scenario is a reference ladder."""
    try:
        ReferenceLadder.from_scenario(result.scenario)
    except ValueError:
        return None
    owned = result.kits_owned[-1]
    farmers = int(result.cell_farmers[-1].sum())
    levels = np.arange(owned.size)
    return {
        "mean_level": float((levels * owned).sum() / farmers),
        "share_at_top_level": float(owned[-1] / farmers),
        "mean_cash_usd": int(result.cell_cash_cents[-1].sum()) / 100.0 / farmers,
    }


def time_to_cross(counts: np.ndarray) -> dict[str, Any]:
    """Time to cross a threshold from counts of first crossing by season (0-based, the last
    entry: never): Kaplan-Meier, the farmers who never crossed censored at the last season."""
    seasons = counts.shape[0] - 1
    first = [int(c) for c in counts[:-1]]
    never = int(counts[-1])
    times = np.arange(1, seasons + 1, dtype=np.float64)
    censored = np.zeros(seasons)
    censored[-1] = never
    curve = kaplan_meier_from_counts(times, np.asarray(first, dtype=np.float64), censored)
    median = median_time(curve)
    return {
        "first_season_counts": first,
        "never": never,
        "median_season": None if median is None else int(median),
        "share_not_yet_across": [float(v) for v in curve.survival],
    }


def summary(result: SimulationResult) -> dict[str, Any]:
    """The summary JSON document."""
    scenario = result.scenario
    conversion = scenario.conversion()
    seasons_table = season_table(result).to_pylist()
    final = [row for row in seasons_table if row["season"] == scenario.seasons]
    all_rows = [row for row in seasons_table if row["group"] == "all"]
    farmers = int(result.cell_farmers[0].sum())
    per_district = scenario.population.markets_per_district
    last_bought = _by_district(result.market_bought[-1], per_district)  # [K, D]
    breakdown = breakdown_table(result).to_pylist()
    totals = result.accounting_totals
    line = POVERTY_LINES[scenario.outputs.poverty_line]
    custom = scenario.outputs.poverty_line_ppp_per_person_day
    warnings = []
    if not conversion.stated:
        warnings.append(
            Message(
                "The scenario states no country and no PPP factor (money): market dollars were "
                "compared with the PPP poverty line one for one."
            )
        )
    everyone = breakdown[0]
    never_counts = result.final_by_cell.never_started.sum(axis=0)
    rung_counts = result.final_by_cell.highest_rung.sum(axis=0)
    document: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "farmers": farmers,
        "seasons": scenario.seasons,
        "start_date": scenario.start_date.isoformat() if scenario.start_date else None,
        "days_per_season": scenario.catalogue.days_per_season,
        "chunks": result.chunks,
        "money": conversion.model_dump() | {"ppp_per_usd": conversion.ppp_per_usd},
        "poverty_line": {
            "name": "custom" if custom is not None else line.name,
            "ppp_per_person_day": scenario.poverty_line_ppp(),
            "ppp_year": conversion.ppp_year if custom is not None else line.ppp_year,
            "usd_per_person_day": scenario.poverty_line_usd_per_person_day(),
            "source": "scenario" if custom is not None else line.source,
        },
        "commercial_threshold_usd_per_day": scenario.outputs.commercial_threshold_usd_per_day,
        "warnings": warnings,
        "kit_names": dict(zip(result.kit_ids, result.kit_names, strict=True)),
        "final_season": {row["group"]: row for row in final},
        "series": {
            "season": [row["season"] for row in all_rows],
            "season_label": [row["season_label"] for row in all_rows],
            **{
                key: [row[key] for row in all_rows]
                for key in (
                    "mean_kit_income_usd_per_day",
                    "mean_other_income_usd_per_day",
                    *(f"income_usd_per_person_day_{q}" for q in QUANTILES),
                    *(f"income_ppp_per_person_day_{q}" for q in QUANTILES),
                    "mean_cash_usd",
                    *(f"cash_usd_{q}" for q in QUANTILES),
                    "share_above_poverty",
                    "share_commercial",
                    "gini_income",
                )
            },
            "share_above_poverty_by_group": {
                group: [
                    row["share_above_poverty"] for row in seasons_table if row["group"] == group
                ]
                for group in GROUPS
            },
        },
        "never_started": {
            "farmers": int(never_counts[1:].sum()),
            "share": everyone["share_never_started"],
            "reasons": {
                reason: {
                    "farmers": int(never_counts[index + 1]),
                    "share": everyone[f"share_never_started_{reason}"],
                }
                for index, reason in enumerate(REASONS)
            },
        },
        "highest_rung": [{"rung": 0, "kit": None, "name": "no kit", "farmers": int(rung_counts[0])}]
        + [
            {
                "rung": position + 1,
                "kit": result.kit_ids[k],
                "name": result.kit_names[k],
                "farmers": int(rung_counts[position + 1]),
            }
            for position, k in enumerate(result.rung_kits)
        ],
        "breakdown": {
            scope: [row for row in breakdown if row["scope"] == scope]
            for scope in ("all", "group", "district")
        },
        "kits_owned_final": {
            kit: int(result.kits_owned[-1, k]) for k, kit in enumerate(result.kit_ids)
        },
        "kit_demand_next_season_by_district": [
            {"district": scenario.district_name(d)}
            | {kit: int(last_bought[k, d]) for k, kit in enumerate(result.kit_ids)}
            for d in range(scenario.population.districts)
        ],
        "time_to_commercial": time_to_cross(result.first_commercial_hist),
        "time_to_poverty_line": time_to_cross(result.first_poverty_exit_hist),
        "accounting_totals_usd": {
            name.removesuffix("_cents") + "_usd": value / 100.0 for name, value in totals.items()
        },
        "accounting_balances": totals["start_cash_cents"]
        + totals["margins_cents"]
        + totals["other_income_saved_cents"]
        + totals["credit_cents"]
        - totals["purchases_cents"]
        - totals["consumption_cents"]
        - totals["repayments_cents"]
        == totals["end_cash_cents"],
    }
    reference = reference_indicators(result)
    if reference is not None:
        document["reference_ladder"] = reference
    return document


def write_outputs(result: SimulationResult, out_dir: Path, charts: bool = True) -> dict[str, Any]:
    """Write the Parquet and CSV tables, the XLSX workbook, summary.json and (optionally) the
    PNG charts; return the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "seasons": season_table(result),
        "markets": market_table(result),
        "districts": district_table(result),
        "breakdown": breakdown_table(result),
        "distributions": distribution_table(result),
    }
    for name, table in tables.items():
        pq.write_table(table, out_dir / f"{name}.parquet")
        pa_csv.write_csv(table, out_dir / f"{name}.csv")
    document = summary(result)
    (out_dir / "summary.json").write_text(json.dumps(_clean(document), indent=2))
    from alianza.ladder.workbook import write_workbook

    write_workbook(document, tables, out_dir / "simulation.xlsx")
    if charts:
        from alianza.ladder.charts import write_charts

        write_charts(result, document, out_dir)
    return document


def _clean(value: Any) -> Any:
    """NaN and infinities become null (JSON has no NaN); dates become ISO strings."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value
