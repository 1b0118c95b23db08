"""Runners: simulate a scenario chunk by chunk, locally or on a Dask cluster, and merge.

A chunk is a contiguous range of whole markets. Chunks are independent (farmers trade only in
their own market; weather and price streams are shared and keyed by season), so any chunking
and any worker count give the same result, bit for bit. Farmers' final rows are streamed to
Parquet one chunk at a time, in chunk order, so memory stays bounded by the chunk size and the
number of chunks in flight.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from alianza.ladder.breakdown import (
    REASONS,
    FinalCounts,
    chunk_final_counts,
    highest_rung,
    never_started_reasons,
    rung_order,
)
from alianza.ladder.kits import KitTable
from alianza.ladder.markets import market_absorbs
from alianza.ladder.population import (
    Farmers,
    farmers_from_table,
    generate_markets,
    market_sizes,
    read_population_table,
)
from alianza.ladder.scenario import Scenario
from alianza.ladder.shocks import season_shocks
from alianza.ladder.simulation import simulate_chunk
from alianza.ladder.statistics import CELLS, ChunkResult, SeasonRecorder, integer_bincount

# Small enough that a chunk's state stays in a (shared) L3 cache; see docs/simulation.md, 13.
DEFAULT_FARMERS_PER_CHUNK = 10_000
ProgressCallback = Callable[[int], None]


def farmers_per_market(scenario: Scenario) -> np.ndarray:
    """Number of farmers in each market."""
    if scenario.population.file is not None:
        table = read_population_table(scenario.population.file)
        markets = table.column("market").to_numpy().astype(np.int64)
        return np.bincount(markets, minlength=scenario.market_count).astype(np.int64)
    return market_sizes(scenario.population.farmers, scenario.market_count)


def plan_chunks(sizes: np.ndarray, farmers_per_chunk: int) -> list[tuple[int, int]]:
    """Contiguous ranges of whole markets, each closed once it holds >= farmers_per_chunk."""
    chunks = []
    start = 0
    held = 0
    for market, size in enumerate(sizes):
        held += int(size)
        if held >= farmers_per_chunk:
            chunks.append((start, market + 1))
            start, held = market + 1, 0
    if start < len(sizes):
        chunks.append((start, len(sizes)))
    return chunks


def chunk_farmers(scenario: Scenario, first_market: int, last_market: int) -> Farmers:
    """The farmers of a chunk, generated or read from the population file."""
    if scenario.population.file is not None:
        table = read_population_table(scenario.population.file)
        return farmers_from_table(scenario, table, first_market, last_market)
    return generate_markets(scenario, first_market, last_market)


def run_chunk(
    scenario: Scenario,
    first_market: int,
    last_market: int,
    compiled: bool | None = None,
    keep_farmers: bool = True,
) -> ChunkResult:
    """Simulate one chunk of markets and return its statistics and farmer rows.

    ``compiled``: numba kernel or NumPy (default: numba when installed); identical results.
    ``keep_farmers``: return the farmers' rows (else only their accounting totals).
    """
    keep_freed_memory()
    farmers = chunk_farmers(scenario, first_market, last_market)
    kits = KitTable.from_scenario(scenario)
    cells = (farmers.female * 4 + farmers.youth * 2 + farmers.minority).astype(np.int64)
    local_market = farmers.market - first_market
    recorder = SeasonRecorder(
        seasons=scenario.seasons,
        kits=kits.kit_count,
        products=kits.product_count,
        markets=last_market - first_market,
        districts=scenario.population.districts,
        cells=cells,
        household_size=farmers.household_size,
        days_per_season=scenario.catalogue.days_per_season,
    )
    state = simulate_chunk(scenario, farmers, first_market, last_market, recorder, compiled, kits)
    seasons = scenario.seasons
    never = seasons
    _, price_factors = season_shocks(scenario, kits.product_count)
    absorbs = market_absorbs(recorder.prices[-1], kits, price_factors[-1], scenario.policy)
    labour_capacity = scenario.policy.labour_days_per_person_season * farmers.household_size
    reasons = never_started_reasons(
        scenario, kits, farmers, state, local_market, absorbs, labour_capacity
    )
    rung = highest_rung(scenario, kits, state)
    cell_counts, market_counts = chunk_final_counts(
        scenario,
        kits,
        farmers,
        state,
        cells,
        local_market,
        last_market - first_market,
        rung,
        reasons,
    )
    columns: dict[str, np.ndarray] = {
        "farmer_id": farmers.farmer_id,
        "market": farmers.market,
        "district": farmers.district,
        "female": farmers.female,
        "youth": farmers.youth,
        "minority": farmers.minority,
        "household_size": farmers.household_size,
        "land_m2": farmers.land_m2,
        "other_income_cents_per_season": farmers.other_income_cents,
        "start_cash_cents": state.start_cash,
        "margins_cents": state.margins,
        "other_income_saved_cents": state.other_income_saved,
        "credit_cents": state.credit,
        "purchases_cents": state.purchases,
        "consumption_cents": state.consumption,
        "repayments_cents": state.repayments,
        "end_cash_cents": state.cash,
        "savings_cents": state.reserve,
        "loan_balance_cents": state.loan_balance,
        "written_off_cents": state.written_off,
        "defaulted": state.defaulted,
        "last_margin_cents": state.last_margin,
        "first_above_poverty_season": state.first_above_poverty,
        "first_commercial_season": state.first_commercial,
        "highest_rung": rung,
        "never_started_reason": reasons,
    }
    for k, kit_id in enumerate(kits.kit_ids):
        columns[f"owned_{kit_id}"] = state.owned[k]
        columns[f"bought_{kit_id}"] = state.kits_bought[k]
    first_commercial = np.where(state.first_commercial < 0, never, state.first_commercial)
    first_poverty = np.where(state.first_above_poverty < 0, never, state.first_above_poverty)
    return ChunkResult(
        first_market=first_market,
        last_market=last_market,
        cell_farmers=recorder.cell_farmers,
        cell_income_cents=recorder.cell_income,
        cell_cash_cents=recorder.cell_cash,
        cell_above_poverty=recorder.cell_poverty,
        cell_commercial=recorder.cell_commercial,
        income_hist_count=recorder.income_count,
        income_hist_cents=recorder.income_cents,
        cash_hist_count=recorder.cash_count,
        kits_owned=recorder.kits_owned,
        kits_retired=recorder.kits_retired,
        loans_active=recorder.loans_active,
        loans_defaulted=recorder.loans_defaulted,
        written_off_cents=recorder.written_off,
        market_supply=recorder.supply,
        market_prices=recorder.prices,
        market_bought=recorder.bought,
        market_farmers=np.bincount(local_market, minlength=last_market - first_market),
        weather=recorder.weather,
        market_income_cents=recorder.market_income,
        market_above_poverty=recorder.market_poverty,
        market_other_income_cents=integer_bincount(
            local_market, farmers.other_income_cents, last_market - first_market
        ),
        cell_other_income_cents=integer_bincount(cells, farmers.other_income_cents, CELLS),
        final_by_cell=cell_counts,
        final_by_market=market_counts,
        first_commercial_hist=np.bincount(first_commercial, minlength=seasons + 1),
        first_poverty_exit_hist=np.bincount(first_poverty, minlength=seasons + 1),
        accounting_totals={
            name: int(columns[name].sum()) for name in ResultMerger.ACCOUNTING_FIELDS
        },
        farmer_columns=columns if keep_farmers else {},
    )


@dataclass
class SimulationResult:
    """Merged results of all chunks (per-market arrays cover every market, in order)."""

    scenario: Scenario
    kit_ids: list[str]
    product_ids: list[str]
    cell_farmers: np.ndarray
    cell_income_cents: np.ndarray
    cell_cash_cents: np.ndarray
    cell_above_poverty: np.ndarray
    cell_commercial: np.ndarray
    income_hist_count: np.ndarray
    income_hist_cents: np.ndarray
    cash_hist_count: np.ndarray
    kits_owned: np.ndarray
    kits_retired: np.ndarray
    loans_active: np.ndarray
    loans_defaulted: np.ndarray
    written_off_cents: np.ndarray
    market_supply: np.ndarray
    market_prices: np.ndarray
    market_bought: np.ndarray
    market_farmers: np.ndarray
    weather: np.ndarray
    market_income_cents: np.ndarray  # int64 [T, M]: sums of kit margins
    market_above_poverty: np.ndarray  # int64 [T, M]
    market_other_income_cents: np.ndarray  # int64 [M]: other income a season
    cell_other_income_cents: np.ndarray  # int64 [CELLS]
    final_by_cell: FinalCounts
    final_by_market: FinalCounts
    first_commercial_hist: np.ndarray
    first_poverty_exit_hist: np.ndarray
    accounting_totals: dict[str, int]
    chunks: int
    kit_names: list[str]
    rung_kits: list[int]  # kit index of rung r + 1 (see breakdown.rung_order)


class ResultMerger:
    """Adds chunk results as they arrive (any order) and writes farmer rows in chunk order."""

    INTEGER_FIELDS = (
        "cell_farmers",
        "cell_income_cents",
        "cell_cash_cents",
        "cell_above_poverty",
        "cell_commercial",
        "income_hist_count",
        "income_hist_cents",
        "cash_hist_count",
        "kits_owned",
        "kits_retired",
        "loans_active",
        "loans_defaulted",
        "written_off_cents",
        "first_commercial_hist",
        "first_poverty_exit_hist",
        "cell_other_income_cents",
    )
    MARKET_FIELDS = ("market_income_cents", "market_above_poverty")  # [T, M]
    ACCOUNTING_FIELDS = (
        "start_cash_cents",
        "margins_cents",
        "other_income_saved_cents",
        "credit_cents",
        "purchases_cents",
        "consumption_cents",
        "repayments_cents",
        "end_cash_cents",
        "written_off_cents",
    )

    def __init__(self, scenario: Scenario, chunks: list[tuple[int, int]], out_dir: Path | None):
        self.scenario = scenario
        self.chunks = chunks
        self.kits = KitTable.from_scenario(scenario)
        t, m = scenario.seasons, scenario.market_count
        self.sums: dict[str, np.ndarray] = {}
        self.market_supply = np.zeros((t, self.kits.product_count, m))
        self.market_prices = np.zeros((t, self.kits.product_count, m))
        self.market_bought = np.zeros((t, self.kits.kit_count, m), dtype=np.int64)
        self.market_farmers = np.zeros(m, dtype=np.int64)
        self.weather = np.zeros((t, scenario.population.districts), dtype=np.int64)
        self.per_market = {name: np.zeros((t, m), dtype=np.int64) for name in self.MARKET_FIELDS}
        self.market_other_income = np.zeros(m, dtype=np.int64)
        self.final_by_cell: FinalCounts | None = None
        self.final_by_market: dict[str, np.ndarray] = {}
        self.accounting = {name: 0 for name in self.ACCOUNTING_FIELDS}
        self.writer: pq.ParquetWriter | None = None
        self.out_dir = out_dir
        self.pending: dict[int, pa.Table] = {}
        self.next_to_write = 0

    def add(self, index: int, result: ChunkResult) -> None:
        for name in self.INTEGER_FIELDS:
            value = getattr(result, name)
            self.sums[name] = value.copy() if name not in self.sums else self.sums[name] + value
        markets = slice(result.first_market, result.last_market)
        self.market_supply[:, :, markets] = result.market_supply
        self.market_prices[:, :, markets] = result.market_prices
        self.market_bought[:, :, markets] = result.market_bought
        self.market_farmers[markets] = result.market_farmers
        self.weather = result.weather
        for name in self.MARKET_FIELDS:
            self.per_market[name][:, markets] = getattr(result, name)
        self.market_other_income[markets] = result.market_other_income_cents
        cells = result.final_by_cell
        if self.final_by_cell is None:
            self.final_by_cell = FinalCounts(
                **{name: getattr(cells, name).copy() for name in FinalCounts.FIELDS}
            )
        else:
            for name in FinalCounts.FIELDS:
                getattr(self.final_by_cell, name).__iadd__(getattr(cells, name))
        for name in FinalCounts.FIELDS:
            part = getattr(result.final_by_market, name)
            if name not in self.final_by_market:
                total = np.zeros((self.scenario.market_count, part.shape[1]), dtype=np.int64)
                self.final_by_market[name] = total
            self.final_by_market[name][markets] = part
        for name in self.ACCOUNTING_FIELDS:
            self.accounting[name] += result.accounting_totals[name]
        if self.out_dir is not None:
            self.pending[index] = farmer_table(self.scenario, self.kits, result.farmer_columns)
            self._write_ready()

    def _write_ready(self) -> None:
        assert self.out_dir is not None
        while self.next_to_write in self.pending:
            table = self.pending.pop(self.next_to_write)
            if self.writer is None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                self.writer = pq.ParquetWriter(self.out_dir / "farmers.parquet", table.schema)
            self.writer.write_table(table)
            self.next_to_write += 1

    def finish(self) -> SimulationResult:
        if self.writer is not None:
            self.writer.close()
        assert self.final_by_cell is not None
        return SimulationResult(
            kit_names=self.kits.kit_names,
            rung_kits=[int(k) for k in rung_order(self.kits)],
            market_other_income_cents=self.market_other_income,
            final_by_cell=self.final_by_cell,
            final_by_market=FinalCounts(**self.final_by_market),
            **self.per_market,
            scenario=self.scenario,
            kit_ids=self.kits.kit_ids,
            product_ids=self.kits.product_ids,
            market_supply=self.market_supply,
            market_prices=self.market_prices,
            market_bought=self.market_bought,
            market_farmers=self.market_farmers,
            weather=self.weather,
            accounting_totals=self.accounting,
            chunks=len(self.chunks),
            **self.sums,
        )


def farmer_table(scenario: Scenario, kits: KitTable, columns: dict[str, np.ndarray]) -> pa.Table:
    """A chunk's farmer rows as written to farmers.parquet: seasons numbered from 1 and
    "never" as null; district and market names; the highest rung as a kit id (null: none);
    why a farmer never started (null: it started)."""
    table: dict[str, Any] = {}
    rung_kit_ids = [None] + [kits.kit_ids[k] for k in rung_order(kits)]
    reason_codes = [None, *REASONS]
    for name, values in columns.items():
        if name in ("first_above_poverty_season", "first_commercial_season"):
            table[name] = pa.array(values + 1, mask=values < 0, type=pa.int64())
        elif name == "highest_rung":
            table["highest_rung"] = values
            table["highest_rung_kit"] = pa.DictionaryArray.from_arrays(
                pa.array(values, type=pa.int32()), pa.array(rung_kit_ids, type=pa.string())
            ).dictionary_decode()
        elif name == "never_started_reason":
            table[name] = pa.DictionaryArray.from_arrays(
                pa.array(values + 1, type=pa.int32()), pa.array(reason_codes, type=pa.string())
            ).dictionary_decode()
        else:
            table[name] = values
        if name == "district":
            table["district_name"] = _names(values, scenario.district_name)
        if name == "market":
            table["market_name"] = _names(values, scenario.market_name)
    return pa.table(table)


def _names(index: np.ndarray, name_of: Callable[[int], str]) -> pa.Array:
    """Names of 0-based indices, as a string column (from a dictionary of the distinct ones)."""
    distinct, codes = np.unique(index, return_inverse=True)
    names = pa.array([name_of(int(i)) for i in distinct], type=pa.string())
    return pa.DictionaryArray.from_arrays(
        pa.array(codes, type=pa.int32()), names
    ).dictionary_decode()


def run_local(
    scenario: Scenario,
    farmers_per_chunk: int = DEFAULT_FARMERS_PER_CHUNK,
    out_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Simulate all chunks one after another in this process."""
    chunks = plan_chunks(farmers_per_market(scenario), farmers_per_chunk)
    merger = ResultMerger(scenario, chunks, out_dir)
    for index, (first, last) in enumerate(chunks):
        result = run_chunk(scenario, first, last, keep_farmers=out_dir is not None)
        merger.add(index, result)
        if progress is not None:
            progress(int(result.market_farmers.sum()))
    return merger.finish()


def run_dask(
    scenario: Scenario,
    client: Any,
    farmers_per_chunk: int = DEFAULT_FARMERS_PER_CHUNK,
    out_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    max_in_flight: int | None = None,
) -> SimulationResult:
    """Simulate chunks as tasks on a ``dask.distributed.Client``; merge as they complete.

    At most ``max_in_flight`` chunks (default: 2 per worker thread) are submitted at once, so the
    client's memory stays bounded.
    """
    from dask.distributed import as_completed

    chunks = plan_chunks(farmers_per_market(scenario), farmers_per_chunk)
    merger = ResultMerger(scenario, chunks, out_dir)
    if max_in_flight is None:
        threads = sum(client.nthreads().values()) or 1
        max_in_flight = 2 * threads
    # hash=False: a key of its own, so that a run never shares (and loses, when the other run
    # releases it) the scattered scenario of an earlier run on the same client.
    scenario_future = client.scatter(scenario, broadcast=True, hash=False)
    queue: Iterator[tuple[int, tuple[int, int]]] = iter(enumerate(chunks))
    index_of: dict[Any, int] = {}

    def submit_next(completed: Any) -> None:
        try:
            index, (first, last) = next(queue)
        except StopIteration:
            return
        future = client.submit(
            run_chunk, scenario_future, first, last, None, out_dir is not None, pure=False
        )
        index_of[future.key] = index
        completed.add(future)

    pool = as_completed()
    for _ in range(max_in_flight):
        submit_next(pool)
    for future in pool:
        result = future.result()
        merger.add(index_of.pop(future.key), result)
        future.release()
        if progress is not None:
            progress(int(result.market_farmers.sum()))
        submit_next(pool)
    return merger.finish()


# glibc gives every freed block over 128 kB back to the system (and Dask's nanny lowers the trim
# threshold further in its workers): each chunk's arrays are then page-faulted afresh, about a
# tenth of a run (2-3x in a Dask worker). These glibc settings keep freed blocks up to 32 MB
# (the largest mmap threshold glibc accepts) for reuse.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
_MALLOC_SETTINGS = {M_TRIM_THRESHOLD: 2**28, M_MMAP_THRESHOLD: 2**25}


@functools.cache
def keep_freed_memory() -> None:
    """Apply the malloc settings above once per process (glibc only; elsewhere nothing)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows)
        return
    for parameter, value in _MALLOC_SETTINGS.items():
        mallopt(parameter, value)


def local_cluster(workers: int) -> Any:
    """A ``dask.distributed.LocalCluster`` of ``workers`` single-threaded worker processes."""
    from dask.distributed import LocalCluster

    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
