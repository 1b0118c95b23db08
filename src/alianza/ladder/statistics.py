"""Per-season statistics that merge exactly across chunks.

Everything a chunk records is an integer count or a sum of whole cents (int64), or a per-market
value of markets the chunk owns; merging chunks is integer addition or placing market slices,
so the merged result is the same, bit for bit, for any chunking. Distributions are kept as
fixed-bin histograms (counts and whole-cent sums per bin), one per season and demographic cell,
from which percentiles and the Gini coefficient of the population and of every group are
computed at the end.

Bins:
- income per person per day (kit margin / household size / days per season): bin 0 holds
  negative incomes, bins 1..2000 are 5-cent bins from $0 to $100, bin 2001 is $100 and above;
- cash: bin 0 holds cash <= 0; bin 1 + floor(100 log10(cents)) (about 2.3% wide) otherwise.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from alianza.ladder.breakdown import FinalCounts
    from alianza.ladder.state import ChunkState

INCOME_BIN_CENTS = 5
INCOME_BINS = 2002
CASH_BINS_PER_DECADE = 100
CASH_BINS = 1 + 11 * CASH_BINS_PER_DECADE
CELLS = 8  # demographic cells: female * 4 + youth * 2 + minority
GROUPS: dict[str, list[int]] = {
    "all": list(range(8)),
    "female": [4, 5, 6, 7],
    "male": [0, 1, 2, 3],
    "youth": [2, 3, 6, 7],
    "non_youth": [0, 1, 4, 5],
    "minority": [1, 3, 5, 7],
    "non_minority": [0, 2, 4, 6],
}


def income_bin(cents_per_person_day: np.ndarray) -> np.ndarray:
    """Histogram bin of an income per person per day in whole cents."""
    bins = 1 + cents_per_person_day // INCOME_BIN_CENTS
    return np.clip(np.where(cents_per_person_day < 0, 0, bins), 0, INCOME_BINS - 1)


# Cash bin b >= 1 holds cents c with 10**((b - 1) / 100) <= c < 10**(b / 100): the bin is
# 1 + the number of these thresholds <= c (a table, so every implementation agrees exactly).
CASH_THRESHOLDS_CENTS = 10.0 ** (np.arange(1, CASH_BINS - 1) / CASH_BINS_PER_DECADE)


def cash_bin(cash_cents: np.ndarray) -> np.ndarray:
    """Histogram bin of a cash balance in cents."""
    bins = 1 + np.searchsorted(CASH_THRESHOLDS_CENTS, cash_cents, side="right")
    return np.where(cash_cents <= 0, 0, bins)


def cash_bin_lower_edge_usd(bins: np.ndarray) -> np.ndarray:
    """Lower edge in USD of cash bins (bin 0 -> 0)."""
    edges = 10.0 ** ((bins - 1) / CASH_BINS_PER_DECADE) / 100.0
    return np.where(bins == 0, 0.0, edges)


@dataclass
class ChunkResult:
    """What one chunk of markets produced: per-season statistics and its farmers' final rows."""

    first_market: int
    last_market: int
    cell_farmers: np.ndarray  # int64 [T, CELLS]
    cell_income_cents: np.ndarray  # int64 [T, CELLS] sum of season margins
    cell_cash_cents: np.ndarray  # int64 [T, CELLS]
    cell_above_poverty: np.ndarray  # int64 [T, CELLS]
    cell_commercial: np.ndarray  # int64 [T, CELLS]
    income_hist_count: np.ndarray  # int64 [T, CELLS, INCOME_BINS]
    income_hist_cents: np.ndarray  # int64 [T, CELLS, INCOME_BINS] sum of per-person-day cents
    cash_hist_count: np.ndarray  # int64 [T, CELLS, CASH_BINS]
    kits_owned: np.ndarray  # int64 [T, K]
    kits_retired: np.ndarray  # int64 [T, K]
    loans_active: np.ndarray  # int64 [T]
    loans_defaulted: np.ndarray  # int64 [T] cumulative count of defaulted farmers
    written_off_cents: np.ndarray  # int64 [T] cumulative
    market_supply: np.ndarray  # float64 [T, P, M_chunk]
    market_prices: np.ndarray  # float64 [T, P, M_chunk]
    market_bought: np.ndarray  # int64 [T, K, M_chunk]
    market_farmers: np.ndarray  # int64 [M_chunk]
    weather: np.ndarray  # int64 [T, D] (identical in every chunk)
    market_income_cents: np.ndarray  # int64 [T, M_chunk]: sums of kit margins
    market_above_poverty: np.ndarray  # int64 [T, M_chunk]
    market_other_income_cents: np.ndarray  # int64 [M_chunk]: other income a season
    cell_other_income_cents: np.ndarray  # int64 [CELLS]
    final_by_cell: FinalCounts  # final-season counts per demographic cell
    final_by_market: FinalCounts  # ... per market of the chunk
    first_commercial_hist: np.ndarray  # int64 [T + 1] (last = never)
    first_poverty_exit_hist: np.ndarray  # int64 [T + 1]
    accounting_totals: dict[str, int]  # sums over the chunk's farmers, cents
    farmer_columns: dict[str, np.ndarray]  # empty unless the farmers' rows were asked for


class SeasonRecorder:
    """Collects one chunk's per-season statistics while it is simulated."""

    def __init__(
        self,
        seasons: int,
        kits: int,
        products: int,
        markets: int,
        districts: int,
        cells: np.ndarray,
        household_size: np.ndarray,
        days_per_season: float,
    ):
        self.cells = cells
        self.household_size = household_size
        self.days_per_season = days_per_season
        t = seasons
        self.cell_farmers = np.zeros((t, CELLS), dtype=np.int64)
        self.cell_income = np.zeros((t, CELLS), dtype=np.int64)
        self.cell_cash = np.zeros((t, CELLS), dtype=np.int64)
        self.cell_poverty = np.zeros((t, CELLS), dtype=np.int64)
        self.cell_commercial = np.zeros((t, CELLS), dtype=np.int64)
        # One histogram per demographic cell: the groups' percentiles come from their cells'.
        self.income_count = np.zeros((t, CELLS, INCOME_BINS), dtype=np.int64)
        self.income_cents = np.zeros((t, CELLS, INCOME_BINS), dtype=np.int64)
        self.cash_count = np.zeros((t, CELLS, CASH_BINS), dtype=np.int64)
        self.kits_owned = np.zeros((t, kits), dtype=np.int64)
        self.kits_retired = np.zeros((t, kits), dtype=np.int64)
        self.loans_active = np.zeros(t, dtype=np.int64)
        self.loans_defaulted = np.zeros(t, dtype=np.int64)
        self.written_off = np.zeros(t, dtype=np.int64)
        self.supply = np.zeros((t, products, markets))
        self.prices = np.zeros((t, products, markets))
        self.bought = np.zeros((t, kits, markets), dtype=np.int64)
        self.weather = np.zeros((t, districts), dtype=np.int64)
        self.market_income = np.zeros((t, markets), dtype=np.int64)  # sums of kit margins
        self.market_poverty = np.zeros((t, markets), dtype=np.int64)  # farmers above the line
        self.cell_counts = np.bincount(cells, minlength=CELLS).astype(np.int64)

    def record(
        self,
        season: int,
        state: ChunkState,
        margin: np.ndarray,
        above_poverty: np.ndarray,
        commercial: np.ndarray,
        supply: np.ndarray,
        prices: np.ndarray,
        bought: np.ndarray,
        retired: np.ndarray,
        local_market: np.ndarray,
        other_income: np.ndarray,
    ) -> None:
        """Record one season (the NumPy path; the compiled kernel records all seasons itself).
        Float bincounts below only ever add whole numbers < 2**53: exact."""
        self.supply[season] = supply
        self.prices[season] = prices
        self.bought[season] = bought
        self.kits_retired[season] = retired
        cells = self.cells
        self.cell_farmers[season] = self.cell_counts
        self.cell_income[season] = integer_bincount(cells, margin, CELLS)
        self.cell_cash[season] = integer_bincount(cells, state.cash, CELLS)
        self.cell_poverty[season] = np.bincount(cells[above_poverty], minlength=CELLS)
        self.cell_commercial[season] = np.bincount(cells[commercial], minlength=CELLS)
        markets = self.market_income.shape[1]
        self.market_income[season] = integer_bincount(local_market, margin, markets)
        self.market_poverty[season] = np.bincount(local_market[above_poverty], minlength=markets)
        # Whole income (kits and other income) per person per day, in whole cents (rounded for
        # statistics only, not for money).
        per_person = np.rint(
            (margin + other_income) / (self.household_size * self.days_per_season)
        ).astype(np.int64)
        bins = income_bin(per_person)
        by_cell = cells * INCOME_BINS + bins
        self.income_count[season] = np.bincount(by_cell, minlength=CELLS * INCOME_BINS).reshape(
            CELLS, INCOME_BINS
        )
        self.income_cents[season] = integer_bincount(
            by_cell, per_person, CELLS * INCOME_BINS
        ).reshape(CELLS, INCOME_BINS)
        cash_by_cell = cells * CASH_BINS + cash_bin(state.cash)
        self.cash_count[season] = np.bincount(cash_by_cell, minlength=CELLS * CASH_BINS).reshape(
            CELLS, CASH_BINS
        )
        self.kits_owned[season] = state.owned.sum(axis=1)
        self.loans_active[season] = int(np.count_nonzero(state.loan_balance > 0))
        self.loans_defaulted[season] = int(np.count_nonzero(state.defaulted))
        self.written_off[season] = int(state.written_off.sum())

    def record_harvest(
        self, season: int, state: ChunkState, output: list[np.ndarray | None]
    ) -> None:
        """The season's output per kit and farmer, before markets clear (NumPy path only).
        Kept by recorders that trace every farmer (`alianza.ladder.records`); ignored here."""

    @staticmethod
    def cash_bin_tables() -> tuple[np.ndarray, np.ndarray]:
        """The cash thresholds and the compiled kernel's table of where to start searching them."""
        return CASH_THRESHOLDS_CENTS, _cash_cell_starts()


@functools.cache
def _cash_cell_starts() -> np.ndarray:
    """The compiled kernel's table of where to start searching the cash thresholds (cached)."""
    from alianza.ladder.season_kernel import cash_cell_starts

    return cash_cell_starts(CASH_THRESHOLDS_CENTS)


def integer_bincount(index: np.ndarray, values: np.ndarray, length: int) -> np.ndarray:
    """Exact per-bin sums of int64 values (split in 2**26-cent halves to stay exact in float)."""
    if values.size == 0:
        return np.zeros(length, dtype=np.int64)
    largest = max(int(values.max()), -int(values.min()))
    if largest * values.size < 2**53:
        # Every partial sum is a whole number below 2**53: float addition is exact.
        return np.bincount(index, weights=values, minlength=length).astype(np.int64)
    high, low = np.divmod(values, 1 << 26)
    high_sum = np.bincount(index, weights=high, minlength=length)
    low_sum = np.bincount(index, weights=low, minlength=length)
    return high_sum.astype(np.int64) * (1 << 26) + low_sum.astype(np.int64)


def merge_int(parts: list[np.ndarray]) -> np.ndarray:
    """Sum integer arrays (exact, order-independent)."""
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def percentile_from_histogram(
    counts: np.ndarray, lower_edges: np.ndarray, upper_edges: np.ndarray, share: float
) -> float:
    """The value below which ``share`` of the farmers lie, interpolated inside its bin."""
    total = counts.sum()
    if total == 0:
        return float("nan")
    cumulative = np.cumsum(counts)
    target = share * total
    index = int(np.searchsorted(cumulative, target, side="left"))
    index = min(index, counts.size - 1)
    before = cumulative[index - 1] if index > 0 else 0
    inside = (target - before) / counts[index] if counts[index] else 0.0
    return float(lower_edges[index] + inside * (upper_edges[index] - lower_edges[index]))


def income_edges_usd() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges (USD per person per day) of the income bins; bin 0 is (-inf, 0)."""
    lower = (np.arange(INCOME_BINS) - 1) * INCOME_BIN_CENTS / 100.0
    upper = lower + INCOME_BIN_CENTS / 100.0
    lower[0], upper[0] = 0.0, 0.0
    upper[-1] = lower[-1]
    return lower, upper


def gini_from_histogram(counts: np.ndarray, sums: np.ndarray) -> float:
    """Gini of non-negative values grouped in ordered bins (negatives counted as 0).

    G = 1 - sum_i (n_i / N) * (2 * S_{<i} + s_i) / S, treating everyone in a bin as equal
    (a lower bound that is tight for narrow bins); N farmers, S total, S_{<i} total below bin i.
    """
    sums = np.maximum(sums.astype(np.float64), 0.0)
    sums[0] = 0.0
    total_count = counts.sum()
    total = sums.sum()
    if total_count == 0 or total <= 0:
        return 0.0
    below = np.concatenate([[0.0], np.cumsum(sums)[:-1]])
    return float(1.0 - np.sum(counts / total_count * (2.0 * below + sums) / total))
