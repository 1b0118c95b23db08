"""Where every farmer ends up: why a farmer never started, the highest rung reached, and the
final season's distributions per demographic cell and per market, as histograms.

All of it is computed from a chunk's final state (the same for the NumPy and the compiled
path) and recorded as integer counts per cell or per market, so chunks merge by addition or by
placing their markets' rows, bit-identically for any chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alianza.ladder.kits import KitTable
from alianza.ladder.population import Farmers
from alianza.ladder.purchases import DIVERSIFY, KIND_OF_NAME, MORE_OF_SAME, UPGRADE
from alianza.ladder.scenario import Scenario
from alianza.ladder.state import ChunkState
from alianza.ladder.statistics import (
    CASH_BINS,
    CELLS,
    INCOME_BINS,
    cash_bin,
    income_bin,
)

# Why a farmer never bought a kit, by code; index 0 of the counts is "started".
REASONS: tuple[str, ...] = (
    "could_not_save_enough",
    "no_land",
    "no_labour",
    "market_saturated",
    "no_kit_available",
)
REASON_TEXT = {
    "could_not_save_enough": "could not save enough",
    "no_land": "no land",
    "no_labour": "no labour",
    "market_saturated": "market saturated",
    "no_kit_available": "no kit available",
}
STARTED = -1
KIT_UNIT_BINS = 1001  # kits owned: 0 .. 999 units, and 1000 or more in the last bin


@dataclass
class FinalCounts:
    """Final-season counts of one chunk, per demographic cell [CELLS, bins] or per market
    [markets, bins]: income per person per day (5-cent bins), cash (log bins), kit units
    owned, highest rung reached (0 = none, r = the r-th kit by price) and why a farmer never
    started (0 = started, 1 + the reason's index)."""

    income: np.ndarray
    cash: np.ndarray
    kits_owned: np.ndarray
    highest_rung: np.ndarray
    never_started: np.ndarray

    FIELDS = ("income", "cash", "kits_owned", "highest_rung", "never_started")


def rung_order(kits: KitTable) -> np.ndarray:
    """Kit indices from the cheapest to the dearest (ties: catalogue order): rung r is the
    kit at position r - 1."""
    return np.array(
        sorted(range(kits.kit_count), key=lambda k: (int(kits.price_cents[k]), k)),
        dtype=np.int64,
    )


def highest_rung(scenario: Scenario, kits: KitTable, state: ChunkState) -> np.ndarray:
    """Per farmer: 0 if it never owned a kit, else 1 + the position in `rung_order` of the
    dearest kit it ever owned (bought, or owned at the start)."""
    n = state.cash.shape[0]
    rung = np.zeros(n, dtype=np.int64)
    for position, k in enumerate(rung_order(kits)):
        starting = scenario.population.starting_kits.get(kits.kit_ids[k], 0) > 0
        ever = np.full(n, True) if starting else state.kits_bought[k] > 0
        rung[ever] = position + 1
    return rung


def never_started_reasons(
    scenario: Scenario,
    kits: KitTable,
    farmers: Farmers,
    state: ChunkState,
    local_market: np.ndarray,
    absorbs: np.ndarray,
    labour_capacity: np.ndarray,
) -> np.ndarray:
    """Per farmer: STARTED (-1) if it bought a kit, else the index in REASONS of why not.

    Read from the final state, which for a farmer who never bought is its state when the last
    season's purchases were decided. Each kit it may consider (below the cap, prerequisites
    owned, its kind in the policy's order) is checked in the order land, labour, market
    (``absorbs``, the last season's), cash (as the next-kit rule checks cash and credit); the
    reason is the check that stopped the kit that passed most of them: land -> no_land, labour
    -> no_labour, market -> market_saturated, cash -> could_not_save_enough; no kit to
    consider (or no purchases allowed) -> no_kit_available."""
    policy = scenario.policy
    n = state.cash.shape[0]
    reasons = np.full(n, STARTED, dtype=np.int64)
    rows = np.flatnonzero(state.kits_bought.sum(axis=0) == 0)
    if rows.size == 0:
        return reasons
    best = np.full(rows.size, -1, dtype=np.int64)
    allowed = {KIND_OF_NAME[name] for name in policy.order}
    if policy.max_purchases_per_season > 0:
        owned = state.owned[:, rows]
        has_kit = owned > 0
        produces = np.zeros((kits.product_count, rows.size), dtype=bool)
        for k in range(kits.kit_count):
            produces[kits.product[k]] |= has_kit[k]
        land_used = kits.land_m2 @ owned
        labour_used = kits.labour_days @ owned
        land_free = farmers.land_m2[rows] - land_used
        labour_free = labour_capacity[rows] - labour_used
        investable = state.cash[rows] - state.reserve[rows]
        credit_open = (state.loan_balance[rows] == 0) & ~state.defaulted[rows]
        markets = local_market[rows]
        for k in range(kits.kit_count):
            available = owned[k] < kits.cap[k]
            for need in kits.prerequisites[k]:
                available &= has_kit[need]
            replaced = int(kits.replaces[k])
            upgrade = has_kit[replaced] if replaced >= 0 else np.zeros(rows.size, dtype=bool)
            same = produces[kits.product[k]] & ~upgrade
            kind = np.where(upgrade, UPGRADE, np.where(same, MORE_OF_SAME, DIVERSIFY))
            available &= np.isin(kind, list(allowed))
            if replaced >= 0:
                freed = np.where(upgrade, np.minimum(owned[replaced], kits.replaces_units[k]), 0)
                land_ok = kits.land_m2[k] - freed * kits.land_m2[replaced] <= land_free
                labour_ok = kits.labour_days[k] - freed * kits.labour_days[replaced] <= labour_free
            else:
                land_ok = kits.land_m2[k] <= land_free
                labour_ok = kits.labour_days[k] <= labour_free
            market_ok = absorbs[kits.product[k]][markets]
            price = kits.price_cents[k]
            principal = kits.credit_principal_cents[k] if policy.use_credit else 0
            cash_ok = (investable >= price) | (
                (principal > 0) & credit_open & (investable >= price - principal)
            )
            passed = land_ok.astype(np.int64)
            passed += land_ok & labour_ok
            passed += land_ok & labour_ok & market_ok
            passed += land_ok & labour_ok & market_ok & cash_ok
            best = np.where(available, np.maximum(best, passed), best)
    stage_reason = np.array(
        [
            REASONS.index("no_land"),
            REASONS.index("no_labour"),
            REASONS.index("market_saturated"),
            REASONS.index("could_not_save_enough"),
            # Passing every check leaves only money as what it lacked at the moment it
            # decided (the rule buys in the same step): not saved enough.
            REASONS.index("could_not_save_enough"),
        ]
    )
    reasons[rows] = np.where(
        best < 0, REASONS.index("no_kit_available"), stage_reason[np.maximum(best, 0)]
    )
    return reasons


def final_counts(
    index: np.ndarray, length: int, bins: dict[str, np.ndarray], widths: dict[str, int]
) -> FinalCounts:
    """Counts per value of ``index`` (a cell or a local market, 0 .. length - 1) of each
    measure's bins (computed once for both the cells and the markets)."""

    def counts(name: str) -> np.ndarray:
        width = widths[name]
        flat = np.bincount(index * width + bins[name], minlength=length * width)
        return flat.reshape(length, width).astype(np.int64)

    return FinalCounts(**{name: counts(name) for name in FinalCounts.FIELDS})


def chunk_final_counts(
    scenario: Scenario,
    kits: KitTable,
    farmers: Farmers,
    state: ChunkState,
    cells: np.ndarray,
    local_market: np.ndarray,
    markets: int,
    rung: np.ndarray,
    reasons: np.ndarray,
) -> tuple[FinalCounts, FinalCounts]:
    """The chunk's final counts per cell and per market: income per person per day in the
    last season (kits and other income, whole cents, as the season histograms), cash, units
    owned, highest rung, why never started."""
    days = scenario.catalogue.days_per_season
    income = state.last_margin + farmers.other_income_cents
    per_person = np.rint(income / (farmers.household_size * days)).astype(np.int64)
    units = state.owned.sum(axis=0).astype(np.int64)
    bins = {
        "income": income_bin(per_person),
        "cash": cash_bin(state.cash),
        "kits_owned": np.minimum(units, KIT_UNIT_BINS - 1),
        "highest_rung": rung,
        "never_started": reasons + 1,
    }
    widths = {
        "income": INCOME_BINS,
        "cash": CASH_BINS,
        "kits_owned": KIT_UNIT_BINS,
        "highest_rung": kits.kit_count + 1,
        "never_started": len(REASONS) + 1,
    }
    return (
        final_counts(cells, CELLS, bins, widths),
        final_counts(local_market, markets, bins, widths),
    )
