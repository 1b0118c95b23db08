"""Field records: the per-farmer, per-kit, per-season table that calibration and forecasts
read, and the same table written by the simulator (to test calibration on known parameters,
and to seed demo data).

One row per farmer, season and kit the farmer owned or bought that season (CSV or Parquet):

=====================  ======  ===========================================================
column                 type    meaning
=====================  ======  ===========================================================
farmer_id              text    the farmer (required)
district               text    the farmer's district (required)
market                 text    local market the farmer sells in (default: the district)
season                 int     season number, consecutive (required)
kit                    text    kit id of the catalogue (required)
units                  int     units owned at the season's harvest (required, >= 0)
productive_units       int     of which past their first-harvest delay (default: units)
harvest_quantity       float   output of those units, in the product's unit (>= 0)
sold_quantity          float   of which sold (default: harvest_quantity)
sale_value_usd         float   what the sold quantity fetched, USD (>= 0)
operating_cost_usd     float   inputs for the kit's units this season, USD (>= 0)
units_bought           int     units bought at the season's end (default 0)
grade                  text    grade of the produce (optional; see "Forecasts")
household_size         int     persons (optional; farmer-season value)
consumption_usd        float   household consumption out of kit income (optional)
cash_usd               float   the farmer's cash at the season's end (optional)
weather                text    normal, drought or flood (optional; default normal)
=====================  ======  ===========================================================

Farmer-season values (household_size, consumption_usd, cash_usd, weather) repeat on each of
the farmer's rows of that season. A farmer is counted in a market if any row names them:
list every farmer of the market (one with no kit as a row with units 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from alianza.ladder.kits import KitTable
from alianza.ladder.population import Farmers
from alianza.ladder.runner import chunk_farmers
from alianza.ladder.scenario import Scenario
from alianza.ladder.simulation import simulate_chunk
from alianza.ladder.state import ChunkState, productive_units
from alianza.ladder.statistics import SeasonRecorder
from alianza.problems import Problem, ProblemError

WEATHER_NAMES = ("normal", "drought", "flood")
REQUIRED = ("farmer_id", "district", "season", "kit", "units", "harvest_quantity")
NUMERIC_DEFAULTS = {
    "productive_units": None,  # default: units
    "sold_quantity": None,  # default: harvest_quantity
    "sale_value_usd": 0.0,
    "operating_cost_usd": 0.0,
    "units_bought": 0.0,
}
NOT_NEGATIVE = (
    "units",
    "productive_units",
    "harvest_quantity",
    "sold_quantity",
    "sale_value_usd",
    "operating_cost_usd",
    "units_bought",
    "consumption_usd",
)


class TraceRecorder(SeasonRecorder):
    """A recorder that also keeps every farmer's harvest, sales, purchases and cash."""

    def __init__(
        self,
        table: KitTable,
        farmers: Farmers,
        days_per_season: float,
        seasons: int,
        districts: int,
    ):
        super().__init__(
            seasons=seasons,
            kits=table.kit_count,
            products=table.product_count,
            markets=int(np.unique(farmers.market).size),
            districts=districts,
            cells=(farmers.female * 4 + farmers.youth * 2 + farmers.minority).astype(np.int64),
            household_size=farmers.household_size,
            days_per_season=days_per_season,
        )
        kits = table
        self.kits = table
        self.farmers = farmers
        self.local_market = farmers.market - int(farmers.market.min(initial=0))
        self.rows: list[dict[str, np.ndarray]] = []
        self._harvest: dict[str, np.ndarray] = {}
        self._bought_before = np.zeros((kits.kit_count, farmers.count), dtype=np.int64)
        self._consumed_before = np.zeros(farmers.count, dtype=np.int64)

    def record_harvest(
        self, season: int, state: ChunkState, output: list[np.ndarray | None]
    ) -> None:
        kits = self.kits
        owned = state.owned.astype(np.int64).copy()
        productive = np.stack(
            [productive_units(state, kits, k, season) for k in range(kits.kit_count)]
        ).astype(np.int64)
        quantity = np.zeros((kits.kit_count, self.farmers.count))
        for k, units in enumerate(output):
            if units is not None:
                quantity[k] = units
        self._harvest = {"owned": owned, "productive": productive, "quantity": quantity}

    def record(self, season: int, state: ChunkState, **values: np.ndarray) -> None:  # type: ignore[override]
        super().record(season, state, **values)  # type: ignore[arg-type]
        kits = self.kits
        prices = values["prices"]
        harvest = self._harvest
        bought = state.kits_bought.astype(np.int64) - self._bought_before
        self._bought_before = state.kits_bought.astype(np.int64).copy()
        consumed = state.consumption - self._consumed_before
        self._consumed_before = state.consumption.copy()
        weather = self.weather[season][self.farmers.district]
        for k in range(kits.kit_count):
            rows = np.flatnonzero((harvest["owned"][k] > 0) | (bought[k] > 0))
            if rows.size == 0:
                continue
            price = prices[kits.product[k]][self.local_market[rows]]
            quantity = harvest["quantity"][k, rows]
            self.rows.append(
                {
                    "farmer_index": rows,
                    "season": np.full(rows.size, season),
                    "kit_index": np.full(rows.size, k),
                    "units": harvest["owned"][k, rows],
                    "productive_units": harvest["productive"][k, rows],
                    "harvest_quantity": quantity,
                    "sale_value_usd": quantity * price,
                    "operating_cost_usd": harvest["owned"][k, rows]
                    * kits.operating_cost_cents[k]
                    / 100.0,
                    "units_bought": bought[k, rows],
                    "consumption_usd": consumed[rows] / 100.0,
                    "cash_usd": state.cash[rows] / 100.0,
                    "weather": weather[rows],
                }
            )


def simulate_records(scenario: Scenario) -> pa.Table:
    """Simulate the scenario (NumPy path, all markets at once) and return its field records,
    one row per farmer, season and kit owned or bought, in the format above."""
    kits = KitTable.from_scenario(scenario)
    farmers = chunk_farmers(scenario, 0, scenario.market_count)
    recorder = TraceRecorder(
        kits,
        farmers,
        scenario.catalogue.days_per_season,
        scenario.seasons,
        scenario.population.districts,
    )
    simulate_chunk(scenario, farmers, 0, scenario.market_count, recorder, compiled=False, kits=kits)
    columns = {
        name: np.concatenate([part[name] for part in recorder.rows]) for name in recorder.rows[0]
    }
    index = columns.pop("farmer_index")
    kit_index = columns.pop("kit_index")
    weather = columns.pop("weather")
    order = np.lexsort((kit_index, index, columns["season"]))
    table = {
        "farmer_id": pa.array([f"F{i:06d}" for i in farmers.farmer_id[index[order]]]),
        "district": pa.array([f"D{d}" for d in farmers.district[index[order]]]),
        "market": pa.array([f"M{m}" for m in farmers.market[index[order]]]),
        "season": pa.array(columns.pop("season")[order]),
        "kit": pa.array(np.array(kits.kit_ids)[kit_index[order]]),
    }
    for name, values in columns.items():
        table[name] = pa.array(values[order])
    table["sold_quantity"] = table["harvest_quantity"]
    table["household_size"] = pa.array(farmers.household_size[index[order]])
    table["weather"] = pa.array(np.array(WEATHER_NAMES)[weather[order]])
    return pa.table(table)


def write_records(table: pa.Table, path: Path) -> None:
    """Write records as Parquet (.parquet) or CSV (anything else)."""
    if path.suffix.lower() == ".parquet":
        pq.write_table(table, path)
    else:
        pa_csv.write_csv(table, path)


def read_records(path: str | Path) -> pa.Table:
    """Read and check a records file; ProblemError with every problem (column, row)."""
    file_path = Path(path)
    source = str(file_path)
    try:
        if file_path.suffix.lower() == ".parquet":
            table = pq.read_table(file_path)
        else:
            table = pa_csv.read_csv(
                file_path,
                convert_options=pa_csv.ConvertOptions(
                    column_types={
                        "farmer_id": pa.string(),
                        "district": pa.string(),
                        "market": pa.string(),
                        "kit": pa.string(),
                        "grade": pa.string(),
                        "weather": pa.string(),
                    }
                ),
            )
    except pa.ArrowInvalid as error:
        raise ProblemError(source, [Problem("(file)", f"not a records table: {error}")]) from None
    return check_records(table, source)


def check_records(table: pa.Table, source: str = "records") -> pa.Table:
    """The records with defaults filled in; ProblemError listing every bad column or row."""
    problems = [
        Problem(name, "required column is missing", code="missing")
        for name in REQUIRED
        if name not in table.column_names
    ]
    if problems:
        raise ProblemError(source, problems)
    columns = {name: table.column(name) for name in table.column_names}
    for name in ("farmer_id", "district", "kit", "market", "grade", "weather"):
        if name in columns:
            columns[name] = pc.cast(columns[name], pa.string())
    if "market" not in columns:
        columns["market"] = columns["district"]
    for name, default in NUMERIC_DEFAULTS.items():
        if name not in columns:
            fallback = {"productive_units": "units", "sold_quantity": "harvest_quantity"}.get(name)
            columns[name] = (
                columns[fallback]
                if fallback
                else pa.array(np.full(table.num_rows, default), pa.float64())
            )
    for name, column in list(columns.items()):
        if name in ("farmer_id", "district", "market", "kit", "grade", "weather"):
            continue
        try:
            values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            problems.append(Problem(name, "not a number column"))
            continue
        bad = np.flatnonzero(~np.isfinite(values))
        if name in NOT_NEGATIVE:
            bad = np.union1d(bad, np.flatnonzero(values < 0))
        for row in bad[:20]:
            problems.append(
                Problem(f"rows[{row + 1}].{name}", f"must be a number >= 0, got {values[row]}")
            )
        columns[name] = pa.array(values)
    for name in ("farmer_id", "district", "kit"):
        missing = np.flatnonzero(pc.is_null(columns[name]).to_numpy(zero_copy_only=False))
        for row in missing[:20]:
            problems.append(Problem(f"rows[{row + 1}].{name}", "missing", code="missing"))
    if not problems:
        units = columns["units"].to_numpy()
        productive = columns["productive_units"].to_numpy()
        for row in np.flatnonzero(productive > units)[:20]:
            problems.append(Problem(f"rows[{row + 1}].productive_units", "more than units"))
        sold = columns["sold_quantity"].to_numpy()
        harvested = columns["harvest_quantity"].to_numpy()
        for row in np.flatnonzero(sold > harvested * (1 + 1e-9) + 1e-9)[:20]:
            problems.append(Problem(f"rows[{row + 1}].sold_quantity", "more than harvested"))
        if "weather" in columns:
            weather = columns["weather"].to_pylist()
            for row, value in enumerate(weather):
                if value is not None and value not in WEATHER_NAMES:
                    problems.append(
                        Problem(
                            f"rows[{row + 1}].weather", f"{value!r} is not normal, drought or flood"
                        )
                    )
    if problems:
        raise ProblemError(source, problems)
    return pa.table(columns)
