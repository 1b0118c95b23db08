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
harvest_recorded       bool    false: no harvest was recorded (left out of the yields;
                               optional, default true)
=====================  ======  ===========================================================

Farmer-season values (household_size, consumption_usd, cash_usd, weather) repeat on each of
the farmer's rows of that season. A farmer is counted in a market if any row names them:
list every farmer of the market (one with no kit as a row with units 0).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from alianza.ladder.catalogue import Catalogue
from alianza.ladder.kits import KitTable
from alianza.ladder.population import Farmers
from alianza.ladder.runner import chunk_farmers
from alianza.ladder.scenario import Scenario
from alianza.ladder.simulation import simulate_chunk
from alianza.ladder.state import ChunkState, productive_units
from alianza.ladder.statistics import SeasonRecorder
from alianza.problems import Message, Problem, ProblemError

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
        raise ProblemError(
            source, [Problem("(file)", Message("not a records table: %(error)s", error=str(error)))]
        ) from None
    return check_records(table, source)


def _number(value: float) -> object:
    """A cell's number for a message: as the table holds it (``-5.0``), written for the
    reader's locale; ``nan`` and ``inf`` as they are."""
    return Decimal(str(value)) if np.isfinite(value) else str(value)


def check_records(table: pa.Table, source: str = "records") -> pa.Table:
    """The records with defaults filled in; ProblemError listing every bad column or row."""
    problems = [
        Problem(name, Message("required column is missing"), code="missing")
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
            problems.append(Problem(name, Message("not a number column")))
            continue
        bad = np.flatnonzero(~np.isfinite(values))
        if name in NOT_NEGATIVE:
            bad = np.union1d(bad, np.flatnonzero(values < 0))
        for row in bad[:20]:
            problems.append(
                Problem(
                    f"rows[{row + 1}].{name}",
                    Message("must be a number >= 0, got %(value)s", value=_number(values[row])),
                )
            )
        columns[name] = pa.array(values)
    for name in ("farmer_id", "district", "kit"):
        missing = np.flatnonzero(pc.is_null(columns[name]).to_numpy(zero_copy_only=False))
        for row in missing[:20]:
            problems.append(Problem(f"rows[{row + 1}].{name}", Message("missing"), code="missing"))
    if not problems:
        units = columns["units"].to_numpy()
        productive = columns["productive_units"].to_numpy()
        for row in np.flatnonzero(productive > units)[:20]:
            problems.append(
                Problem(f"rows[{row + 1}].productive_units", Message("more than units"))
            )
        sold = columns["sold_quantity"].to_numpy()
        harvested = columns["harvest_quantity"].to_numpy()
        for row in np.flatnonzero(sold > harvested * (1 + 1e-9) + 1e-9)[:20]:
            problems.append(
                Problem(f"rows[{row + 1}].sold_quantity", Message("more than harvested"))
            )
        if "weather" in columns:
            weather = columns["weather"].to_pylist()
            for row, value in enumerate(weather):
                if value is not None and value not in WEATHER_NAMES:
                    problems.append(
                        Problem(
                            f"rows[{row + 1}].weather",
                            Message("'%(value)s' is not normal, drought or flood", value=value),
                        )
                    )
    if problems:
        raise ProblemError(source, problems)
    return pa.table(columns)


# --- records from dated field events (the platform's kit sales, harvests and produce sales) --

EVENT_COLUMNS = {
    "farmers": ("farmer_id", "district", "market", "household_size"),
    "purchases": ("farmer_id", "season", "kit", "units"),
    "harvests": ("farmer_id", "season", "kit", "quantity", "grade"),
    "sales": ("farmer_id", "season", "kit", "quantity", "value_usd"),
}


def _event_problems(name: str, table: pa.Table) -> list[Problem]:
    return [
        Problem(f"{name}.{column}", Message("required column is missing"), code="missing")
        for column in EVENT_COLUMNS[name]
        if column not in table.column_names
    ]


EVENT_RECORD_TYPES = {
    "farmer_id": pa.string(), "district": pa.string(), "market": pa.string(),
    "season": pa.int64(), "kit": pa.string(), "units": pa.int64(),
    "productive_units": pa.int64(), "harvest_quantity": pa.float64(),
    "sold_quantity": pa.float64(), "sale_value_usd": pa.float64(),
    "operating_cost_usd": pa.float64(), "units_bought": pa.int64(), "grade": pa.string(),
    "household_size": pa.int64(), "harvest_recorded": pa.bool_(),
}  # fmt: skip


def _empty_records() -> pa.Table:
    return pa.table({name: pa.array([], kind) for name, kind in EVENT_RECORD_TYPES.items()})


def records_from_events(
    catalogue: Catalogue,
    farmers: pa.Table,
    purchases: pa.Table,
    harvests: pa.Table,
    sales: pa.Table,
    last_season: int | None = None,
    include_idle: bool = True,
) -> pa.Table:
    """The records table (format above) from dated field events whose seasons are numbered
    already (`alianza.ladder.seasons.season_of`):

    - ``farmers``: farmer_id, district, market, household_size (one row per farmer);
    - ``purchases``: farmer_id, season, kit, units — a kit bought in season t counts as bought
      at t's end (``units_bought`` of t) and is owned from t + 1's harvest on, as in the
      simulator;
    - ``harvests``: farmer_id, season, kit, quantity, grade;
    - ``sales``: farmer_id, season, kit, quantity, value_usd (produce sold).

    Units owned follow the simulator's rules: a unit bought in season b is owned at the
    harvests of b + 1 .. b + life_seasons and harvests from b + 1 + seasons_to_first_harvest
    (``productive_units``); a kit that replaces another retires ``replaces_units`` of it per
    unit bought, oldest first. The operating cost is not recorded in the field: it is the
    catalogue's cost per unit and season x units. ``harvest_recorded`` is false on rows
    where no harvest of the kit was recorded that season (calibration leaves those out of
    the yields: an unrecorded harvest is not a zero harvest). A sale of more than the
    recorded harvest raises the harvest to what was sold. ``grade`` is the grade of most of
    the row's harvest (or sales). With ``include_idle``, a farmer with no row at all gets
    one row with units 0 in the last season (the farmer counts in their market).
    """
    problems = []
    for name, table in (
        ("farmers", farmers),
        ("purchases", purchases),
        ("harvests", harvests),
        ("sales", sales),
    ):
        problems += _event_problems(name, table)
    if problems:
        raise ProblemError("field events", problems)
    kit_ids = [kit.id for kit in catalogue.kits]
    kit_index = {kit_id: k for k, kit_id in enumerate(kit_ids)}
    unknown = sorted(
        {
            kit
            for table in (purchases, harvests, sales)
            for kit in table.column("kit").to_pylist()
            if kit not in kit_index
        }
    )
    if unknown:
        raise ProblemError(
            "field events",
            [
                Problem(
                    "kit",
                    Message("kits %(kits)s are not in the catalogue", kits=str(unknown)),
                    code="unknown",
                )
            ],
        )
    farmer_ids = [str(f) for f in farmers.column("farmer_id").to_pylist()]
    farmer_index = {f: i for i, f in enumerate(farmer_ids)}
    n, kits = len(farmer_ids), len(kit_ids)

    def indices(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        missing = sorted(
            {str(f) for f in table.column("farmer_id").to_pylist()} - farmer_index.keys()
        )
        if missing:
            raise ProblemError(
                "field events",
                [
                    Problem(
                        "farmer_id",
                        Message(
                            "farmers %(farmers)s are not in the farmers table",
                            farmers=str(missing[:10]),
                        ),
                    )
                ],
            )
        return (
            np.array([farmer_index[str(f)] for f in table.column("farmer_id").to_pylist()], int),
            np.array(table.column("season").to_pylist(), dtype=np.int64),
            np.array([kit_index[k] for k in table.column("kit").to_pylist()], dtype=np.int64),
        )

    events = [indices(t) for t in (purchases, harvests, sales)]
    all_seasons = np.concatenate([e[1] for e in events])
    if all_seasons.size == 0 and (last_season is None or not include_idle or n == 0):
        return _empty_records()
    first = int(all_seasons.min()) if all_seasons.size else int(last_season)  # type: ignore[arg-type]
    last = int(last_season) if last_season is not None else int(all_seasons.max())
    span = last - first + 1
    shape = (kits, n, span)

    def summed(where: tuple[np.ndarray, np.ndarray, np.ndarray], values: np.ndarray) -> np.ndarray:
        farmer, season, kit = where
        keep = (season >= first) & (season <= last)
        grid = np.zeros(shape)
        np.add.at(grid, (kit[keep], farmer[keep], season[keep] - first), values[keep])
        return grid

    def values(table: pa.Table, name: str) -> np.ndarray:
        return np.array(table.column(name).to_pylist(), dtype=float)

    bought = summed(events[0], values(purchases, "units")).astype(np.int64)
    harvested = summed(events[1], values(harvests, "quantity"))
    recorded = summed(events[1], np.ones(harvests.num_rows)) > 0
    sold = summed(events[2], values(sales, "quantity"))
    sold_value = summed(events[2], values(sales, "value_usd"))
    # Grade of most of the row's quantity: its harvests', else its sales'. A recorded zero
    # harvest still names its grade (the count breaks ties, far below any quantity).
    grade_names = sorted(
        {str(g) for t in (harvests, sales) if "grade" in t.column_names
         for g in t.column("grade").to_pylist() if g}
    )  # fmt: skip
    grade_weight = np.zeros((len(grade_names), *shape))
    for where, table in ((events[1], harvests), (events[2], sales)):
        if "grade" not in table.column_names:
            continue
        weight = np.zeros_like(grade_weight)
        labels = table.column("grade").to_pylist()
        for g, grade in enumerate(grade_names):
            is_grade = np.array([x == grade for x in labels], dtype=float)
            weight[g] = summed(where, values(table, "quantity") * is_grade + is_grade * 1e-9)
        fill = grade_weight.sum(axis=0) == 0
        grade_weight = np.where(fill[None], weight, grade_weight)

    life = np.array([kit.life_seasons for kit in catalogue.kits], dtype=np.int64)
    delay = np.array([kit.seasons_to_first_harvest for kit in catalogue.kits], dtype=np.int64)
    replaces = [kit_index[kit.replaces] if kit.replaces else -1 for kit in catalogue.kits]
    replaces_units = [kit.replaces_units for kit in catalogue.kits]
    vintages = np.zeros((kits, span, n), dtype=np.int64)  # units bought in season b, still held
    owned = np.zeros(shape, dtype=np.int64)
    productive = np.zeros(shape, dtype=np.int64)
    for t in range(span):
        for k in range(kits):
            oldest = max(t - int(life[k]), 0)
            owned[k, :, t] = vintages[k, oldest:t].sum(axis=0)
            productive[k, :, t] = vintages[k, oldest : max(t - int(delay[k]), oldest)].sum(axis=0)
        vintages[:, t, :] += bought[:, :, t]
        for k in range(kits):
            r = replaces[k]
            if r < 0:
                continue
            remaining = bought[k, :, t] * replaces_units[k]
            # Oldest first, among the units still held at t's end (bought t - life .. t).
            for b in range(max(t - int(life[r]), 0), t + 1):
                if not remaining.any():
                    break
                take = np.minimum(vintages[r, b], remaining)
                vintages[r, b] -= take
                remaining = remaining - take

    harvested = np.maximum(harvested, sold)  # a sale shows at least that much was harvested
    present = (owned > 0) | (bought > 0) | recorded | (sold > 0)
    kit_of, farmer_of, season_of_row = np.nonzero(present)
    idle = np.flatnonzero(~present.any(axis=(0, 2))) if include_idle else np.array([], int)
    order = np.lexsort((kit_of, farmer_of, season_of_row))
    kit_of, farmer_of, season_of_row = kit_of[order], farmer_of[order], season_of_row[order]
    cost = np.array([kit.operating_cost_usd_per_season for kit in catalogue.kits])
    cells = (kit_of, farmer_of, season_of_row)
    grades: list[str | None] = [None] * kit_of.size
    if grade_names:
        weights = grade_weight[:, kit_of, farmer_of, season_of_row]
        best = np.argmax(weights, axis=0)
        grades = [
            grade_names[g] if w > 0 else None
            for g, w in zip(best, weights.max(axis=0), strict=True)
        ]
    farmer_rows = np.concatenate([farmer_of, idle])
    zeros_idle = np.zeros(idle.size)
    districts = np.array([str(d) for d in farmers.column("district").to_pylist()], dtype=object)
    markets = np.array(
        [
            str(m) if m is not None else districts[i]
            for i, m in enumerate(farmers.column("market").to_pylist())
        ],
        dtype=object,
    )
    household = np.array(farmers.column("household_size").to_pylist(), dtype=np.int64)
    units = owned[cells]
    table = {
        "farmer_id": pa.array([farmer_ids[i] for i in farmer_rows], pa.string()),
        "district": pa.array(districts[farmer_rows].tolist(), pa.string()),
        "market": pa.array(markets[farmer_rows].tolist(), pa.string()),
        "season": pa.array(
            np.concatenate([season_of_row + first, np.full(idle.size, last)]).astype(np.int64)
        ),
        "kit": pa.array([kit_ids[k] for k in kit_of] + [kit_ids[0]] * idle.size, pa.string()),
        "units": pa.array(np.concatenate([units, zeros_idle]).astype(np.int64)),
        "productive_units": pa.array(
            np.concatenate([productive[cells], zeros_idle]).astype(np.int64)
        ),
        "harvest_quantity": pa.array(np.concatenate([harvested[cells], zeros_idle])),
        "sold_quantity": pa.array(np.concatenate([sold[cells], zeros_idle])),
        "sale_value_usd": pa.array(np.concatenate([sold_value[cells], zeros_idle])),
        "operating_cost_usd": pa.array(np.concatenate([units * cost[kit_of], zeros_idle])),
        "units_bought": pa.array(np.concatenate([bought[cells], zeros_idle]).astype(np.int64)),
        "grade": pa.array(grades + [None] * idle.size, pa.string()),
        "household_size": pa.array(household[farmer_rows].astype(np.int64)),
        "harvest_recorded": pa.array(
            np.concatenate([recorded[cells], np.zeros(idle.size, bool)]).tolist(), pa.bool_()
        ),
    }
    return pa.table(table)


def impute_cash(records: pa.Table, scenario: Scenario) -> pa.Table:
    """The records with ``cash_usd`` added where it is missing (the platform does not record
    a farmer's cash): each farmer starts at 0 before their first recorded season, and each
    season keeps what the scenario's policy leaves of the recorded kit income ``d`` (sales -
    operating costs) after consumption and kit purchases:

        cash_t = max(0, cash_(t-1) + d - consumption(d) - purchases_t)
        consumption(d) = need + consumption_share * (d - need) for d > 0 (else 0),
        need = min(d, subsistence_usd_per_person_day * days_per_season * household_size)

    (purchases = units bought x the catalogue's price). Seasons without a row carry the
    cash forward. A records table with ``cash_usd`` is returned unchanged."""
    if "cash_usd" in records.column_names or records.num_rows == 0:
        return records
    price = {kit.id: kit.price_usd for kit in scenario.catalogue.kits}
    farmer = np.array(records.column("farmer_id").to_pylist(), dtype=object)
    season = np.array(records.column("season").to_pylist(), dtype=np.int64)
    income = np.array(records.column("sale_value_usd").to_pylist(), dtype=float) - np.array(
        records.column("operating_cost_usd").to_pylist(), dtype=float
    )
    spent = np.array(
        [price.get(k, 0.0) for k in records.column("kit").to_pylist()], dtype=float
    ) * np.array(records.column("units_bought").to_pylist(), dtype=float)
    persons = (
        np.array(records.column("household_size").to_pylist(), dtype=float)
        if "household_size" in records.column_names
        else np.ones(records.num_rows)
    )
    names, farmer_of = np.unique(farmer.astype(str), return_inverse=True)
    first, last = int(season.min()), int(season.max())
    grid_income = np.zeros((names.size, last - first + 1))
    grid_spent = np.zeros_like(grid_income)
    np.add.at(grid_income, (farmer_of, season - first), income)
    np.add.at(grid_spent, (farmer_of, season - first), spent)
    household = np.ones(names.size)
    household[farmer_of] = persons
    started = np.full(names.size, last - first + 1)
    np.minimum.at(started, farmer_of, season - first)
    policy = scenario.policy
    cash = np.zeros((names.size, last - first + 1))
    held = np.zeros(names.size)
    for t in range(last - first + 1):
        d = grid_income[:, t]
        positive = np.maximum(d, 0.0)
        need = np.minimum(
            positive,
            policy.subsistence_usd_per_person_day * scenario.catalogue.days_per_season * household,
        )
        consumption = np.where(d > 0, need + policy.consumption_share * (positive - need), 0.0)
        held = np.where(
            t >= started, np.maximum(held + d - consumption - grid_spent[:, t], 0.0), 0.0
        )
        cash[:, t] = held
    return records.append_column("cash_usd", pa.array(cash[farmer_of, season - first]))
