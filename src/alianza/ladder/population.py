"""Farmers of a range of markets: generated from the scenario's distributions or read from a file.

Farmers are numbered market by market: market m (0-based) holds ``farmers // M`` farmers, plus
one if ``m < farmers % M`` (M = number of markets); its district is ``m // markets_per_district``.
Each market's attributes come from its own random stream, so a market looks the same whatever
chunk it is simulated in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from alianza.ladder.scenario import Distribution, GroupName, Scenario
from alianza.ladder.streams import POPULATION, market_keys, season_generator

POPULATION_FILE_COLUMNS = {
    "market": "int (0-based market index, required)",
    "farmer_id": "int (optional; default: row order after a stable sort by market)",
    "cash_usd": "float (optional; default from starting_cash_usd)",
    "land_m2": "float (optional)",
    "household_size": "int >= 1 (optional)",
    "other_income_usd_per_season": "float (optional)",
    "female": "bool (optional)",
    "youth": "bool (optional)",
    "minority": "bool (optional)",
}


@dataclass
class Farmers:
    """Attributes of the farmers of a contiguous range of markets (one row per farmer)."""

    farmer_id: np.ndarray  # int64
    market: np.ndarray  # int64, global market index
    district: np.ndarray  # int64
    cash_cents: np.ndarray  # int64, starting cash
    land_m2: np.ndarray  # float64
    household_size: np.ndarray  # int64 >= 1
    other_income_cents: np.ndarray  # int64 >= 0: the household's other income a season
    female: np.ndarray  # bool
    youth: np.ndarray  # bool
    minority: np.ndarray  # bool

    @property
    def count(self) -> int:
        return int(self.farmer_id.shape[0])


def market_sizes(farmers: int, markets: int) -> np.ndarray:
    """Farmers per market when ``farmers`` are spread evenly over ``markets``."""
    base, extra = divmod(farmers, markets)
    sizes = np.full(markets, base, dtype=np.int64)
    sizes[:extra] += 1
    return sizes


def draw(distribution: Distribution, generator: np.random.Generator, size: int) -> np.ndarray:
    """Draw ``size`` values of a scenario distribution (float64)."""
    if distribution.distribution == "constant":
        return np.full(size, distribution.value, dtype=np.float64)
    if distribution.distribution == "lognormal":
        return distribution.median * np.exp(distribution.sigma * generator.standard_normal(size))
    if distribution.distribution == "uniform":
        return generator.uniform(distribution.low, distribution.high, size)
    return 1.0 + generator.poisson(max(distribution.mean - 1.0, 0.0), size).astype(np.float64)


def generate_market(scenario: Scenario, market: int, size: int, first_id: int) -> Farmers:
    """The generated farmers of one market, from that market's population stream."""
    population = scenario.population
    keys = market_keys(scenario.seed, POPULATION, scenario.market_count, 1)
    generator = season_generator(keys[market], 0)
    cash = draw(population.starting_cash_usd, generator, size)
    land = draw(population.land_m2, generator, size)
    household = draw(population.household_size, generator, size)
    uniforms = generator.random((3, size))
    female = uniforms[0] < population.female_share
    youth = uniforms[1] < population.youth_share
    minority = uniforms[2] < population.minority_share
    # Drawn after the attributes above, so that adding it changed none of them.
    other_income = draw(population.other_income_usd_per_season, generator, size)
    groups: tuple[tuple[GroupName, np.ndarray], ...] = (
        ("female", female),
        ("youth", youth),
        ("minority", minority),
    )
    for name, members in groups:
        factors = population.group_factors.get(name)
        if factors is not None:
            cash = np.where(members, cash * factors.cash, cash)
            land = np.where(members, land * factors.land, land)
            other_income = np.where(members, other_income * factors.other_income, other_income)
    return Farmers(
        farmer_id=np.arange(first_id, first_id + size, dtype=np.int64),
        market=np.full(size, market, dtype=np.int64),
        district=np.full(size, market // population.markets_per_district, dtype=np.int64),
        # Starting cash is rounded to whole cents once, here.
        cash_cents=np.rint(np.maximum(cash, 0.0) * 100.0).astype(np.int64),
        land_m2=np.maximum(land, 0.0),
        household_size=np.maximum(np.rint(household), 1).astype(np.int64),
        # Other income is rounded to whole cents once, here.
        other_income_cents=np.rint(np.maximum(other_income, 0.0) * 100.0).astype(np.int64),
        female=female,
        youth=youth,
        minority=minority,
    )


def concatenate(parts: list[Farmers]) -> Farmers:
    """Farmers of several markets, in order."""
    fields = Farmers.__dataclass_fields__
    return Farmers(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})


def generate_markets(scenario: Scenario, first_market: int, last_market: int) -> Farmers:
    """Generated farmers of markets first_market .. last_market - 1."""
    sizes = market_sizes(scenario.population.farmers, scenario.market_count)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    parts = [
        generate_market(scenario, market, int(sizes[market]), int(starts[market]))
        for market in range(first_market, last_market)
    ]
    return concatenate(parts)


def read_population_table(path: str) -> pa.Table:
    """Read a farmers file (CSV or Parquet), stably sorted by market (cached per process)."""
    file_path = Path(path)
    return _read_population_table(str(file_path.resolve()), file_path.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _read_population_table(path: str, modified_ns: int) -> pa.Table:
    file_path = Path(path)
    if file_path.suffix.lower() == ".parquet":
        table = pq.read_table(file_path)
    else:
        table = pa_csv.read_csv(file_path)
    if "market" not in table.column_names:
        raise ValueError(f"{path}: column 'market' is required")
    if "farmer_id" not in table.column_names:
        table = table.append_column("farmer_id", pa.array(np.arange(table.num_rows)))
    indices = pc.sort_indices(table, sort_keys=[("market", "ascending")])
    return table.take(indices)


def farmers_from_table(
    scenario: Scenario, table: pa.Table, first_market: int, last_market: int
) -> Farmers:
    """Farmers of markets first_market .. last_market - 1 from a farmers table.

    Missing columns are drawn from the scenario's distributions with each market's stream.
    """
    markets = table.column("market").to_numpy().astype(np.int64)
    if markets.size and (markets.min() < 0 or markets.max() >= scenario.market_count):
        raise ValueError(f"population file: market must be in 0..{scenario.market_count - 1}")
    parts = []
    for market in range(first_market, last_market):
        rows = np.flatnonzero(markets == market)
        generated = generate_market(scenario, market, rows.size, 0)
        columns = {}
        for name in ("farmer_id", "land_m2", "household_size", "female", "youth", "minority"):
            if name in table.column_names:
                columns[name] = table.column(name).take(pa.array(rows)).to_numpy()
        if "cash_usd" in table.column_names:
            cash = table.column("cash_usd").take(pa.array(rows)).to_numpy().astype(np.float64)
            generated.cash_cents = np.rint(np.maximum(cash, 0.0) * 100.0).astype(np.int64)
        if "other_income_usd_per_season" in table.column_names:
            other = table.column("other_income_usd_per_season").take(pa.array(rows))
            other_usd = other.to_numpy().astype(np.float64)
            generated.other_income_cents = np.rint(np.maximum(other_usd, 0.0) * 100.0).astype(
                np.int64
            )
        generated.farmer_id = columns.get("farmer_id", generated.farmer_id).astype(np.int64)
        generated.land_m2 = columns.get("land_m2", generated.land_m2).astype(np.float64)
        household = columns.get("household_size", generated.household_size)
        generated.household_size = np.maximum(household.astype(np.int64), 1)
        for flag in ("female", "youth", "minority"):
            if flag in columns:
                setattr(generated, flag, columns[flag].astype(bool))
        parts.append(generated)
    return concatenate(parts)
