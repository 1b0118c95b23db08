"""Forecasts per district and season: kit demand for suppliers, produce supply (product, grade,
volume, dates) for off-takers, and prices where the local market saturates.

The district's farmers start from their recorded state (`alianza.ladder.records`: kits owned
by vintage, cash at the end of the last recorded season, household size) and are run forward
with the simulator under the (calibrated) scenario, ``replicates`` times with independent
seeds (``SeedSequence(seed).spawn(replicates)``); every figure is reported as the 10th, 50th
and 90th percentiles and the mean over replicates. Prices come from the simulator's market
model (a local price falls once a market's supply passes its reference supply). Produce is
split into grades by the shares recorded in the district for that product (all "ungraded"
without a ``grade`` column). See docs/micro-investing.md, "Forecasts".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field

from alianza.ladder.calibration import Calibration
from alianza.ladder.kits import KitTable
from alianza.ladder.population import Farmers, farmers_from_table
from alianza.ladder.scenario import Scenario
from alianza.ladder.simulation import simulate_chunk
from alianza.ladder.state import ChunkState, initial_state
from alianza.ladder.statistics import SeasonRecorder
from alianza.problems import Message, Problem, ProblemError

PERCENTILES = (10, 50, 90)


class Band(BaseModel):
    """A forecast quantity over the replicates."""

    p10: float
    p50: float
    p90: float
    mean: float

    @classmethod
    def of(cls, values: np.ndarray) -> Band:
        low, mid, high = np.percentile(values, PERCENTILES)
        return cls(p10=float(low), p50=float(mid), p90=float(high), mean=float(values.mean()))


class Period(BaseModel):
    season: int = Field(description="1 = the first season after the records.")
    start: date | None = None
    end: date | None = None


class KitDemand(Period):
    kit: str
    units: Band
    value_usd: Band = Field(description="Units x the catalogue price.")


class ProduceSupply(Period):
    product: str
    unit: str
    grade: str
    volume: Band


class Price(Period):
    product: str
    reference_price_usd: float
    price_usd: Band = Field(description="Supply-weighted over the district's markets.")
    saturated_share: float = Field(
        description="Share of markets x replicates whose supply passes the market's reference "
        "supply (the price falls below the reference price there)."
    )


class Forecast(BaseModel):
    """A district's forecast, season by season."""

    scenario: str
    district: str
    farmers: int
    markets: int
    seasons: int
    replicates: int
    seed: int
    last_recorded_season: int
    kit_demand: list[KitDemand]
    produce_supply: list[ProduceSupply]
    prices: list[Price]


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def district_state(
    scenario: Scenario, records: pa.Table, district: str
) -> tuple[Scenario, Farmers, ChunkState, dict[str, Any]]:
    """The district's farmers today: a one-district scenario of its markets, its farmers and
    their state (units by vintage from the recorded purchases, cash) for `simulate_chunk`."""
    districts = np.array(records.column("district").to_pylist(), dtype=object)
    rows = np.flatnonzero(districts == district)
    if rows.size == 0:
        known = ", ".join(sorted(set(districts.tolist()))[:10])
        raise ProblemError(
            "records",
            [
                Problem(
                    "district",
                    Message(
                        "no records for '%(district)s' (%(known)s)", district=district, known=known
                    ),
                )
            ],
        )
    if "cash_usd" not in records.column_names:
        raise ProblemError(
            "records",
            [
                Problem(
                    "cash_usd",
                    Message("forecasts start from the farmers' cash: column missing"),
                    "missing",
                )
            ],
        )
    table = records.take(pa.array(rows))
    season = _column(table, "season").astype(np.int64)
    last = int(season.max())
    farmer = np.array(table.column("farmer_id").to_pylist(), dtype=object)
    market_names = sorted(set(table.column("market").to_pylist()))
    market_of = {name: index for index, name in enumerate(market_names)}
    market = np.array([market_of[m] for m in table.column("market").to_pylist()])
    first_row: dict[Any, int] = {}
    for row, name in enumerate(farmer.tolist()):
        first_row.setdefault(name, row)
    farmer_ids = sorted(first_row, key=lambda f: (market[first_row[f]], f))
    index_of = {f: i for i, f in enumerate(farmer_ids)}
    row_farmer = np.array([index_of[f] for f in farmer])
    n = len(farmer_ids)
    # The latest row of each farmer gives the market, cash and household (farmer-season values).
    latest = np.full(n, -1)
    for row in np.argsort(season, kind="stable"):
        latest[row_farmer[row]] = row
    population = {
        "market": market[latest],
        "farmer_id": np.arange(n),
        "cash_usd": _column(table, "cash_usd")[latest],
    }
    if "household_size" in table.column_names:
        population["household_size"] = _column(table, "household_size")[latest].astype(np.int64)
    first = int(season.min())
    history = last - first + 1
    # The simulator tracks a kit's vintages only if it can wear out within the simulated
    # seasons; units bought before the forecast may wear out sooner than new ones, so the run
    # is as long as the longest life that ends inside the forecast for some recorded unit
    # (a unit's age is at most history + 1; the figures of the extra seasons are dropped).
    lives = [kit.life_seasons for kit in scenario.catalogue.kits]
    simulated = max(
        [scenario.seasons] + [life for life in lives if life < scenario.seasons + history + 1]
    )
    forecast_scenario = scenario.model_copy(
        update={
            "seasons": simulated,
            "population": scenario.population.model_copy(
                update={
                    "farmers": n,
                    "districts": 1,
                    "markets_per_district": len(market_names),
                    "starting_kits": {},
                    "file": None,
                }
            ),
        }
    )
    farmers = farmers_from_table(forecast_scenario, pa.table(population), 0, len(market_names))
    kits = KitTable.from_scenario(forecast_scenario)
    kit_index = {kit_id: k for k, kit_id in enumerate(kits.kit_ids)}
    kit_column = table.column("kit").to_pylist()
    unknown = sorted({k for k in kit_column if k not in kit_index})
    if unknown:
        raise ProblemError(
            "records",
            [
                Problem(
                    "kit",
                    Message("unknown kits %(kits)s (not in the scenario)", kits=str(unknown)),
                )
            ],
        )
    units = _column(table, "units").astype(np.int64)
    bought = _column(table, "units_bought").astype(np.int64)
    k_of_row = np.array([kit_index[k] for k in kit_column])
    # Units owned after the last recorded season: at its harvest plus bought at its end, less
    # what the bought upgrades replaced.
    owned = np.zeros((kits.kit_count, n), dtype=np.int64)
    at_last = season == last
    np.add.at(owned, (k_of_row[at_last], row_farmer[at_last]), units[at_last] + bought[at_last])
    for k in range(kits.kit_count):
        replaced = int(kits.replaces[k])
        if replaced >= 0:
            owned[replaced] = np.maximum(
                owned[replaced]
                - owned_bought(k, k_of_row, row_farmer, bought, at_last, n)
                * kits.replaces_units[k],
                0,
            )
    # Purchases by relative season r = s - (last + 1): r = -1 for the last recorded season.
    purchases = np.zeros((kits.kit_count, n, history), dtype=np.int64)
    np.add.at(purchases, (k_of_row, row_farmer, last - season), bought)
    state = initial_state(forecast_scenario, kits, farmers)
    state.owned[:] = owned.astype(np.int32)
    state.cash[:] = farmers.cash_cents
    state.start_cash[:] = farmers.cash_cents
    for k in range(kits.kit_count):
        ring = state.vintages[k]
        length = ring.shape[0]
        wears_out = kits.life[k] < forecast_scenario.seasons + 1
        remaining = owned[k].copy()
        # Most recent purchases first (age a = seasons since the purchase: r = -a); units the
        # records do not explain are taken as bought just before them (a = history + 1). A
        # unit bought in season r retires at the start of r + L (season 0 at the earliest).
        for age in range(1, history + 2):
            if not remaining.any():
                break
            placed = (
                remaining if age == history + 1 else np.minimum(purchases[k, :, age - 1], remaining)
            )
            remaining = remaining - placed
            if wears_out:
                ring[max(-age, -length) % length] += placed.astype(np.int32)
            elif age <= kits.first_harvest_delay[k]:
                ring[-age % length] += placed.astype(np.int32)  # not yet harvesting
        state.vintage_totals[k][:] = ring.sum(axis=1)
    grades = _grade_shares(table, scenario)
    info = {"last_season": last, "markets": market_names, "grades": grades}
    return forecast_scenario, farmers, state, info


def owned_bought(
    k: int,
    k_of_row: np.ndarray,
    row_farmer: np.ndarray,
    bought: np.ndarray,
    at_last: np.ndarray,
    n: int,
) -> np.ndarray:
    """Units of kit k each farmer bought in the last recorded season."""
    rows = at_last & (k_of_row == k)
    return np.bincount(row_farmer[rows], weights=bought[rows], minlength=n).astype(np.int64)


def _grade_shares(table: pa.Table, scenario: Scenario) -> dict[str, dict[str, float]]:
    """Per product: share of the recorded harvest in each grade."""
    product_of = {kit.id: kit.product for kit in scenario.catalogue.kits}
    shares: dict[str, dict[str, float]] = {}
    grade = table.column("grade").to_pylist() if "grade" in table.column_names else None
    quantity = _column(table, "harvest_quantity")
    for row, kit in enumerate(table.column("kit").to_pylist()):
        label = (grade[row] if grade else None) or "ungraded"
        by_label = shares.setdefault(product_of[kit], {})
        by_label[label] = by_label.get(label, 0.0) + float(quantity[row])
    for product_id, by_grade in shares.items():
        total = sum(by_grade.values())
        # grades with no recorded quantity (rows without a harvest) carry no share
        shares[product_id] = (
            {g: v / total for g, v in sorted(by_grade.items()) if v > 0}
            if total > 0
            else {"ungraded": 1.0}
        )
    return shares


def forecast(
    scenario: Scenario,
    records: pa.Table,
    district: str,
    seasons: int = 2,
    replicates: int = 100,
    seed: int = 0,
    start: date | None = None,
    progress: Callable[[int], None] | None = None,
    calibration: Calibration | None = None,
) -> Forecast:
    """Run the district forward ``seasons`` seasons, ``replicates`` times, from its recorded
    state; ``start`` is the first forecast season's first day (dates are then given);
    ``progress`` is called with the number of replicates done after each one. With a
    ``calibration``, each replicate draws its parameters from Normal(estimate, SE) (see
    `perturbed`), so the bands include the calibration's sampling error."""
    base, farmers, state, info = district_state(
        scenario.model_copy(update={"seasons": seasons}), records, district
    )
    simulated = base.seasons
    kits = KitTable.from_scenario(base)
    markets = len(info["markets"])
    children = np.random.SeedSequence(seed).spawn(replicates)
    seeds = [int(child.generate_state(1)[0]) for child in children]
    bought = np.zeros((replicates, seasons, kits.kit_count))
    supply = np.zeros((replicates, seasons, kits.product_count, markets))
    prices = np.zeros((replicates, seasons, kits.product_count, markets))
    for replicate, replicate_seed in enumerate(seeds):
        run = base.model_copy(update={"seed": replicate_seed})
        run_kits = kits
        if calibration is not None:
            # The replicate's own parameter draw, from a stream of its own (its child's child).
            draw = np.random.default_rng(children[replicate].spawn(1)[0])
            run = perturbed(run, calibration, draw)
            run_kits = KitTable.from_scenario(run)
        recorder = SeasonRecorder(
            seasons=simulated,
            kits=kits.kit_count,
            products=kits.product_count,
            markets=markets,
            districts=1,
            cells=(farmers.female * 4 + farmers.youth * 2 + farmers.minority).astype(np.int64),
            household_size=farmers.household_size,
            days_per_season=base.catalogue.days_per_season,
        )
        simulate_chunk(run, farmers, 0, markets, recorder, kits=run_kits, start=_copy_state(state))
        bought[replicate] = recorder.bought[:seasons].sum(axis=2)
        supply[replicate] = recorder.supply[:seasons]
        prices[replicate] = recorder.prices[:seasons]
        if progress is not None:
            progress(replicate + 1)
    days = base.catalogue.days_per_season
    # A local market saturates once its supply passes its reference supply (price falls).
    farmers_per_market = np.bincount(farmers.market, minlength=markets)
    capacity = np.where(
        kits.local_channel[:, None] & ~np.isnan(kits.supply_per_farmer)[:, None],
        np.nan_to_num(kits.supply_per_farmer, nan=np.inf)[:, None] * farmers_per_market[None, :],
        np.inf,
    )

    def period(t: int) -> dict[str, Any]:
        if start is None:
            return {"season": t + 1}
        first = start + timedelta(days=round(t * days))
        return {
            "season": t + 1,
            "start": first,
            "end": start + timedelta(days=round((t + 1) * days) - 1),
        }

    # by the simulator's kits: a savings-group kit's member share has a price of its own
    price_usd = dict(zip(kits.kit_ids, (kits.price_cents / 100.0).tolist(), strict=True))
    demand = [
        KitDemand(
            **period(t),
            kit=kit_id,
            units=Band.of(bought[:, t, k]),
            value_usd=Band.of(bought[:, t, k] * price_usd[kit_id]),
        )
        for t in range(seasons)
        for k, kit_id in enumerate(kits.kit_ids)
    ]
    produce = []
    price_rows = []
    for t in range(seasons):
        for p, product in enumerate(base.catalogue.products):
            volume = supply[:, t, p].sum(axis=1)
            if not volume.any() and product.id not in info["grades"]:
                continue
            for grade, share in info["grades"].get(product.id, {"ungraded": 1.0}).items():
                produce.append(
                    ProduceSupply(
                        **period(t),
                        product=product.id,
                        unit=product.unit,
                        grade=grade,
                        volume=Band.of(volume * share),
                    )
                )
            weights = supply[:, t, p]
            weighted = np.where(
                weights.sum(axis=1) > 0,
                (prices[:, t, p] * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-300),
                prices[:, t, p].mean(axis=1),
            )
            price_rows.append(
                Price(
                    **period(t),
                    product=product.id,
                    reference_price_usd=product.reference_price_usd,
                    price_usd=Band.of(weighted),
                    saturated_share=float(np.mean(supply[:, t, p] > capacity[p])),
                )
            )
    return Forecast(
        scenario=scenario.name,
        district=district,
        farmers=farmers.count,
        markets=markets,
        seasons=seasons,
        replicates=replicates,
        seed=seed,
        last_recorded_season=info["last_season"],
        kit_demand=demand,
        produce_supply=produce,
        prices=price_rows,
    )


# Bounds that keep a drawn parameter valid: (lower, upper) by the parameter's last name.
PARAMETER_BOUNDS = {
    "mean": (0.0, math.inf),
    "cv": (0.0, math.inf),
    "operating_cost_usd_per_season": (0.0, math.inf),
    "drought_yield_factor": (0.0, 2.0),
    "flood_yield_factor": (0.0, 2.0),
    "reference_price_usd": (1e-9, math.inf),
    "price_elasticity": (1e-6, math.inf),
    "consumption_share": (0.0, 1.0),
}
_PATH_PART = re.compile(r"([a-z_]+)(?:\[([^\]]+)\])?")


def perturbed(scenario: Scenario, calibration: Calibration, draw: np.random.Generator) -> Scenario:
    """The scenario with each estimated parameter drawn from Normal(estimate, SE), clipped
    to its valid range (e.g. a share to 0..1 - savings share)."""
    raw = scenario.model_dump(mode="json")
    for estimate in calibration.estimates:
        if estimate.estimate is None or not estimate.standard_error:
            continue
        value = estimate.estimate + estimate.standard_error * float(draw.standard_normal())
        parts = [_PATH_PART.fullmatch(part) for part in estimate.parameter.split(".")]
        node: Any = raw
        for match in parts[:-1]:
            assert match is not None
            name, key = match.groups()
            node = node[name]
            if key is not None:  # kits[drip_bed]: the list entry with that id
                node = next(item for item in node if item["id"] == key)
        last = parts[-1]
        assert last is not None
        name, key = last.groups()
        low, high = PARAMETER_BOUNDS.get(name, (-math.inf, math.inf))
        if name == "consumption_share":
            high = 1.0 - scenario.policy.savings_share
        if key is not None:
            node[name][key] = min(max(value, low), high)  # e.g. reference_supply_per_farmer[p]
        else:
            node[name] = min(max(value, low), high)
    return Scenario.model_validate(raw)


def _copy_state(state: ChunkState) -> ChunkState:
    """A deep copy (the simulator changes the state it is given); rings stay views of the
    copied block."""
    copied = ChunkState(
        **{  # type: ignore[arg-type]
            name: value.copy() if isinstance(value, np.ndarray) else value
            for name, value in state.__dict__.items()
        }
    )
    copied.vintages = [
        copied.ring_block[o : o + n]
        for o, n in zip(state.ring_offset, state.ring_length, strict=True)
    ]
    copied.vintage_totals = [
        copied.totals_block[o : o + n]
        for o, n in zip(state.ring_offset, state.ring_length, strict=True)
    ]
    return copied
