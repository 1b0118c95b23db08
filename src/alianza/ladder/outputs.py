"""Tables and summary of a simulation, and writing them: Parquet per season plus summary JSON.

Files written to the output folder:
- ``farmers.parquet``: one row per farmer, final state and accounting (streamed by the runner);
- ``seasons.parquet``: one row per (season, group); groups all, female, male, youth, non_youth,
  minority, non_minority;
- ``markets.parquet``: one row per (season, market): weather, supply and price per product,
  kits bought per kit (the demand suppliers saw);
- ``districts.parquet``: one row per (season, district), aggregated from its markets;
- ``distributions.parquet``: the histograms of income per person per day and of cash;
- ``summary.json``: headline indicators, time to commercial, accounting totals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from alianza.ladder.reference import ReferenceLadder
from alianza.ladder.runner import SimulationResult
from alianza.ladder.statistics import (
    GROUPS,
    cash_bin_lower_edge_usd,
    gini_from_histogram,
    income_edges_usd,
    percentile_from_histogram,
)

WEATHER_NAMES = np.array(["normal", "drought", "flood"])


def _share(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


def income_percentiles(result: SimulationResult, season: int) -> dict[str, float]:
    """p10, p50, p90 of kit income per person per day (USD) from the season's histogram."""
    lower, upper = income_edges_usd()
    counts = result.income_hist_count[season]
    return {
        f"p{int(q * 100)}": percentile_from_histogram(counts, lower, upper, q)
        for q in (0.1, 0.5, 0.9)
    }


def cash_percentiles(result: SimulationResult, season: int) -> dict[str, float]:
    """p10, p50, p90 of cash (USD) from the season's histogram."""
    bins = np.arange(result.cash_hist_count.shape[1])
    lower = cash_bin_lower_edge_usd(bins)
    upper = np.append(lower[1:], lower[-1])
    counts = result.cash_hist_count[season]
    return {
        f"p{int(q * 100)}": percentile_from_histogram(counts, lower, upper, q)
        for q in (0.1, 0.5, 0.9)
    }


def season_table(result: SimulationResult) -> pa.Table:
    """One row per (season, group) with the season's indicators."""
    days = result.scenario.catalogue.days_per_season
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "season",
            "group",
            "farmers",
            "mean_income_usd_per_day",
            "mean_cash_usd",
            "share_above_poverty",
            "share_commercial",
        )
    }
    extra: dict[str, list[Any]] = {
        name: []
        for name in (
            "income_per_person_day_p10",
            "income_per_person_day_p50",
            "income_per_person_day_p90",
            "cash_p10",
            "cash_p50",
            "cash_p90",
            "gini_income",
            "loans_active",
            "defaulted_farmers",
            "written_off_usd",
        )
    }
    kit_columns: dict[str, list[Any]] = {}
    for kit in result.kit_ids:
        for prefix in ("owned_", "bought_", "retired_"):
            kit_columns[prefix + kit] = []
    bought = result.market_bought.sum(axis=2)
    for season in range(result.scenario.seasons):
        for group, cells in GROUPS.items():
            farmers = int(result.cell_farmers[season, cells].sum())
            columns["season"].append(season)
            columns["group"].append(group)
            columns["farmers"].append(farmers)
            income = int(result.cell_income_cents[season, cells].sum())
            cash = int(result.cell_cash_cents[season, cells].sum())
            columns["mean_income_usd_per_day"].append(
                income / 100.0 / days / farmers if farmers else None
            )
            columns["mean_cash_usd"].append(cash / 100.0 / farmers if farmers else None)
            columns["share_above_poverty"].append(
                int(result.cell_above_poverty[season, cells].sum()) / farmers if farmers else None
            )
            columns["share_commercial"].append(
                int(result.cell_commercial[season, cells].sum()) / farmers if farmers else None
            )
            is_all = group == "all"
            income_q = income_percentiles(result, season) if is_all else {}
            cash_q = cash_percentiles(result, season) if is_all else {}
            for q in ("p10", "p50", "p90"):
                extra[f"income_per_person_day_{q}"].append(income_q.get(q))
                extra[f"cash_{q}"].append(cash_q.get(q))
            extra["gini_income"].append(
                gini_from_histogram(
                    result.income_hist_count[season], result.income_hist_cents[season]
                )
                if is_all
                else None
            )
            extra["loans_active"].append(int(result.loans_active[season]) if is_all else None)
            extra["defaulted_farmers"].append(
                int(result.loans_defaulted[season]) if is_all else None
            )
            extra["written_off_usd"].append(
                int(result.written_off_cents[season]) / 100.0 if is_all else None
            )
            for k, kit in enumerate(result.kit_ids):
                kit_columns["owned_" + kit].append(
                    int(result.kits_owned[season, k]) if is_all else None
                )
                kit_columns["bought_" + kit].append(int(bought[season, k]) if is_all else None)
                kit_columns["retired_" + kit].append(
                    int(result.kits_retired[season, k]) if is_all else None
                )
    return pa.table({**columns, **extra, **kit_columns})


def market_table(result: SimulationResult) -> pa.Table:
    """One row per (season, market)."""
    seasons, _, markets = result.market_supply.shape
    per_district = result.scenario.population.markets_per_district
    season_index = np.repeat(np.arange(seasons), markets)
    market_index = np.tile(np.arange(markets), seasons)
    district_index = market_index // per_district
    columns: dict[str, Any] = {
        "season": season_index,
        "market": market_index,
        "district": district_index,
        "farmers": np.tile(result.market_farmers, seasons),
        "weather": WEATHER_NAMES[result.weather[season_index, district_index]],
    }
    for p, product in enumerate(result.product_ids):
        columns[f"supply_{product}"] = result.market_supply[:, p, :].reshape(-1)
        columns[f"price_{product}"] = result.market_prices[:, p, :].reshape(-1)
    for k, kit in enumerate(result.kit_ids):
        columns[f"bought_{kit}"] = result.market_bought[:, k, :].reshape(-1)
    return pa.table(columns)


def district_table(result: SimulationResult) -> pa.Table:
    """One row per (season, district): sums over its markets; prices weighted by supply."""
    seasons, products, markets = result.market_supply.shape
    per_district = result.scenario.population.markets_per_district
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
    bought = result.market_bought.reshape(
        seasons, len(result.kit_ids), districts, per_district
    ).sum(axis=3)
    columns: dict[str, Any] = {
        "season": np.repeat(np.arange(seasons), districts),
        "district": np.tile(np.arange(districts), seasons),
        "farmers": np.tile(
            result.market_farmers.reshape(districts, per_district).sum(axis=1), seasons
        ),
        "weather": WEATHER_NAMES[result.weather.reshape(-1)],
    }
    for p, product in enumerate(result.product_ids):
        columns[f"supply_{product}"] = district_supply[:, p, :].reshape(-1)
        columns[f"price_{product}"] = district_price[:, p, :].reshape(-1)
    for k, kit in enumerate(result.kit_ids):
        columns[f"bought_{kit}"] = bought[:, k, :].reshape(-1)
    return pa.table(columns)


def distribution_table(result: SimulationResult) -> pa.Table:
    """One row per (season, measure, non-empty bin): the full histograms behind the percentiles.

    Measures: ``income_per_person_day`` (USD, 5-cent bins; the first bin holds all negative
    incomes) and ``cash`` (USD, logarithmic bins; the first holds cash <= 0).
    """
    income_lower, income_upper = income_edges_usd()
    income_lower = income_lower.copy()
    income_lower[0] = -np.inf
    cash_bins = np.arange(result.cash_hist_count.shape[1])
    cash_lower = cash_bin_lower_edge_usd(cash_bins)
    cash_lower[0] = -np.inf
    cash_upper = np.append(cash_lower[1:], np.inf)
    cash_upper[0] = 0.0
    income_upper = income_upper.copy()
    income_upper[-1] = np.inf
    columns: dict[str, list[Any]] = {
        "season": [],
        "measure": [],
        "lower_usd": [],
        "upper_usd": [],
        "farmers": [],
    }
    for season in range(result.scenario.seasons):
        for measure, counts, lower, upper in (
            ("income_per_person_day", result.income_hist_count[season], income_lower, income_upper),
            ("cash", result.cash_hist_count[season], cash_lower, cash_upper),
        ):
            for index in np.flatnonzero(counts):
                columns["season"].append(season)
                columns["measure"].append(measure)
                columns["lower_usd"].append(float(lower[index]))
                columns["upper_usd"].append(float(upper[index]))
                columns["farmers"].append(int(counts[index]))
    return pa.table(columns)


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


def summary(result: SimulationResult) -> dict[str, Any]:
    """The summary JSON document."""
    scenario = result.scenario
    seasons_table = season_table(result).to_pylist()
    final = [row for row in seasons_table if row["season"] == scenario.seasons - 1]
    all_rows = [row for row in seasons_table if row["group"] == "all"]
    farmers = int(result.cell_farmers[0].sum())
    never = int(result.first_commercial_hist[-1])
    commercial_hist = result.first_commercial_hist[:-1]
    reached = np.cumsum(commercial_hist)
    median_season = (
        int(np.searchsorted(reached, farmers / 2.0))
        if reached.size and reached[-1] >= farmers / 2
        else None
    )
    per_district_demand = district_table(result).to_pylist()[-scenario.population.districts :]
    totals = result.accounting_totals
    document: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "farmers": farmers,
        "seasons": scenario.seasons,
        "days_per_season": scenario.catalogue.days_per_season,
        "chunks": result.chunks,
        "poverty_line_usd_per_person_day": scenario.outputs.poverty_line_usd_per_person_day,
        "commercial_threshold_usd_per_day": scenario.outputs.commercial_threshold_usd_per_day,
        "final_season": {row["group"]: row for row in final},
        "series": {
            key: [row[key] for row in all_rows]
            for key in (
                "mean_income_usd_per_day",
                "income_per_person_day_p10",
                "income_per_person_day_p50",
                "income_per_person_day_p90",
                "mean_cash_usd",
                "share_above_poverty",
                "share_commercial",
                "gini_income",
            )
        },
        "kits_owned_final": {
            kit: int(result.kits_owned[-1, k]) for k, kit in enumerate(result.kit_ids)
        },
        "kit_demand_next_season_by_district": [
            {"district": row["district"]} | {kit: row[f"bought_{kit}"] for kit in result.kit_ids}
            for row in per_district_demand
        ],
        "time_to_commercial": {
            "first_commercial_season_counts": [int(c) for c in commercial_hist],
            "never": never,
            "median_season": median_season,
        },
        "accounting_totals_usd": {name: value / 100.0 for name, value in totals.items()},
        "accounting_balances": totals["start_cash_cents"]
        + totals["margins_cents"]
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
    """Write the Parquet tables, summary.json and (optionally) the PNG charts; return summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(season_table(result), out_dir / "seasons.parquet")
    pq.write_table(market_table(result), out_dir / "markets.parquet")
    pq.write_table(district_table(result), out_dir / "districts.parquet")
    pq.write_table(distribution_table(result), out_dir / "distributions.parquet")
    document = summary(result)
    (out_dir / "summary.json").write_text(json.dumps(_clean(document), indent=2))
    if charts:
        from alianza.ladder.charts import income_fan_chart, ladder_progression_chart

        income_fan_chart(result, out_dir / "income_fan.png")
        ladder_progression_chart(result, out_dir / "ladder_progression.png")
    return document


def _clean(value: Any) -> Any:
    """NaN and infinities become null (JSON has no NaN)."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value
