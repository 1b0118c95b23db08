"""Farmers' state in a chunk: cash, kits by vintage, loans, accounting; wear-out and retirement."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from alianza.ladder.kits import KitTable
from alianza.ladder.population import Farmers
from alianza.ladder.scenario import Scenario

NOT_YET = -1


@dataclass
class ChunkState:
    """Mutable state of the farmers of one chunk (arrays indexed by farmer)."""

    cash: np.ndarray  # int64 cents
    reserve: np.ndarray  # int64 cents of savings not spent on kits
    owned: np.ndarray  # int32 [K, n] units
    vintages: list[np.ndarray]  # per kit: int32 [R_k, n] units bought by season (ring)
    vintage_totals: list[np.ndarray]  # per kit: int64 [R_k], units in each ring slot (all farmers)
    ring_block: np.ndarray  # int32 [sum R_k, n]: the rings above are views of it
    totals_block: np.ndarray  # int64 [sum R_k]
    ring_offset: np.ndarray  # int64 [K]: first row of kit k's ring in ring_block
    ring_length: np.ndarray  # int64 [K]
    loan_balance: np.ndarray  # int64 cents still due
    loan_instalment: np.ndarray  # int64 cents
    loan_missed: np.ndarray  # int64
    loan_default_after: np.ndarray  # int64
    defaulted: np.ndarray  # bool
    start_cash: np.ndarray
    margins: np.ndarray
    other_income_saved: np.ndarray  # int64 cents of other income put aside towards kits
    credit: np.ndarray
    purchases: np.ndarray
    consumption: np.ndarray
    repayments: np.ndarray
    written_off: np.ndarray
    first_above_poverty: np.ndarray  # season or -1
    first_commercial: np.ndarray  # season or -1
    last_margin: np.ndarray  # int64 cents, last season's margin
    kits_bought: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def ring_length(life: int, delay: int, seasons: int) -> int:
    """Vintage slots a kit needs: life + 1 if it can wear out within the horizon, else delay + 1."""
    return life + 1 if life < seasons + 1 else delay + 1


def initial_state(scenario: Scenario, kits: KitTable, farmers: Farmers) -> ChunkState:
    """State at the start: starting cash and starting kits (new: bought 'at season -1')."""
    n = farmers.count
    zeros = np.zeros(n, dtype=np.int64)
    owned = np.zeros((kits.kit_count, n), dtype=np.int32)
    lengths = np.array(
        [
            ring_length(int(kits.life[k]), int(kits.first_harvest_delay[k]), scenario.seasons)
            for k in range(kits.kit_count)
        ],
        dtype=np.int64,
    )
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    # All kits' rings in one block (the compiled kernel needs one array); per-kit views of it.
    ring_block = np.zeros((int(lengths.sum()), n), dtype=np.int32)
    totals_block = np.zeros(int(lengths.sum()), dtype=np.int64)
    vintages = []
    vintage_totals = []
    for k, kit_id in enumerate(kits.kit_ids):
        units = scenario.population.starting_kits.get(kit_id, 0)
        owned[k] = units
        length = int(lengths[k])
        ring = ring_block[offsets[k] : offsets[k] + length]
        totals = totals_block[offsets[k] : offsets[k] + length]
        if kits.life[k] < scenario.seasons + 1:
            ring[(-1) % length] = units
            totals[(-1) % length] = units * n
        vintages.append(ring)
        vintage_totals.append(totals)
    return ChunkState(
        cash=farmers.cash_cents.copy(),
        reserve=zeros.copy(),
        owned=owned,
        vintages=vintages,
        vintage_totals=vintage_totals,
        ring_block=ring_block,
        totals_block=totals_block,
        ring_offset=offsets,
        ring_length=lengths,
        loan_balance=zeros.copy(),
        loan_instalment=zeros.copy(),
        loan_missed=zeros.copy(),
        loan_default_after=zeros.copy(),
        defaulted=np.zeros(n, dtype=bool),
        start_cash=farmers.cash_cents.copy(),
        margins=zeros.copy(),
        other_income_saved=zeros.copy(),
        credit=zeros.copy(),
        purchases=zeros.copy(),
        consumption=zeros.copy(),
        repayments=zeros.copy(),
        written_off=zeros.copy(),
        first_above_poverty=np.full(n, NOT_YET, dtype=np.int64),
        first_commercial=np.full(n, NOT_YET, dtype=np.int64),
        last_margin=zeros.copy(),
        kits_bought=np.zeros((kits.kit_count, n), dtype=np.int32),
    )


def wear_out(state: ChunkState, kits: KitTable, season: int, seasons: int) -> np.ndarray:
    """Retire units that reach the end of their life at the start of ``season``; [K] retired."""
    retired = np.zeros(kits.kit_count, dtype=np.int64)
    for k, ring in enumerate(state.vintages):
        slot = season % ring.shape[0]
        if state.vintage_totals[k][slot] == 0:
            continue  # nobody holds units of that vintage
        if kits.life[k] < seasons + 1:
            # slot holds units bought in season - (life + 1): they have produced `life` seasons.
            state.owned[k] -= ring[slot]
            retired[k] = state.vintage_totals[k][slot]
        ring[slot] = 0
        state.vintage_totals[k][slot] = 0
    return retired


def productive_units(state: ChunkState, kits: KitTable, k: int, season: int) -> np.ndarray:
    """Units of kit k that harvest this season: owned less those bought within `delay` seasons."""
    delay = int(kits.first_harvest_delay[k])
    if delay == 0:
        return state.owned[k]
    ring = state.vintages[k]
    productive = state.owned[k].copy()
    for age in range(1, delay + 1):
        productive -= ring[(season - age) % ring.shape[0]]
    return productive


def retire_replaced(
    state: ChunkState, k: int, buyers: np.ndarray, units: int, season: int
) -> np.ndarray:
    """Retire up to ``units`` units of kit k of these farmers, oldest first; return how many."""
    ring = state.vintages[k]
    length = ring.shape[0]
    remaining = np.minimum(state.owned[k, buyers], units)
    retired = remaining.copy()
    state.owned[k, buyers] -= remaining
    # Units older than the ring tracks (long-lived kits) are retired first: they hold no slot.
    untracked = state.owned[k, buyers] + remaining - ring[:, buyers].sum(axis=0)
    remaining = remaining - np.minimum(remaining, untracked)
    for age in range(length - 1, -1, -1):  # slot of season - age holds units of that age
        if not remaining.any():
            break
        slot = (season - age) % length
        if state.vintage_totals[k][slot] == 0:
            continue
        take = np.minimum(ring[slot, buyers], remaining)
        ring[slot, buyers] -= take
        state.vintage_totals[k][slot] -= int(take.sum())
        remaining -= take
    return retired
