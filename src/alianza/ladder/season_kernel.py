"""Compiled (numba) version of one season's per-farmer steps: harvest, then settle and buy.

It computes exactly what the NumPy code in `alianza.ladder.simulation` computes -- the same
float expressions in the same order, the same sums in the same order, the same roundings --
one farmer at a time instead of one operation at a time, which avoids NumPy's temporaries.
A test runs both on random scenarios and requires identical results. numba is optional
(extra ``scale``); without it, or with ``ALIANZA_LADDER_KERNEL=numpy``, NumPy is used.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from alianza.ladder.purchases import MORE_OF_SAME, UPGRADE
from alianza.ladder.statistics import INCOME_BIN_CENTS
from alianza.settings import get_settings

try:  # pragma: no cover - depends on the environment
    from numba import njit

    AVAILABLE = get_settings().ladder_kernel != "numpy"
except ImportError:  # pragma: no cover
    AVAILABLE = False

    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        def wrap(function: Any) -> Any:
            return function

        return wrap


MAX_KITS = 12  # kits a catalogue may have for the kernel: its tables have 2**kits rows
ROUNDING_SHIFT = 6755399441055744.0  # 1.5 * 2**52
CASH_CELLS_PER_OCTAVE = 64


def cash_cell_starts(cash_thresholds: np.ndarray) -> np.ndarray:
    """For each cell [2**(e-1) (1 + j/64), 2**(e-1) (1 + (j+1)/64)) of positive cash, cell
    index e * 64 + j (e = 1 .. 64, the exponent of math.frexp): #(thresholds <= its lower edge)."""
    cells = np.arange(65 * CASH_CELLS_PER_OCTAVE)
    exponent, j = np.divmod(cells, CASH_CELLS_PER_OCTAVE)
    lower = np.ldexp(1.0 + j / CASH_CELLS_PER_OCTAVE, exponent - 1)
    return np.searchsorted(cash_thresholds, lower, side="right").astype(np.int64)


@njit(cache=True, inline="always")
def round_half_even(value: float) -> float:
    """numpy.rint for |value| < 2**51: adding and removing 1.5 * 2**52 rounds to an integer,
    half to even (IEEE round-to-nearest); cheaper than a call to rint."""
    if abs(value) >= 2251799813685248.0:  # 2**51: already an integer, or too large for the trick
        return np.rint(value)
    return (value + ROUNDING_SHIFT) - ROUNDING_SHIFT


@njit(cache=True)
def harvest(
    owned: np.ndarray,  # int32 [K, n]
    ring_block: np.ndarray,  # int32 [R, n]
    ring_offset: np.ndarray,
    ring_length: np.ndarray,
    first_harvest_delay: np.ndarray,
    output_per_season: np.ndarray,
    cv: np.ndarray,
    z: np.ndarray,  # float64 [n]: yield noise draws (zeros without noise)
    weather_factor: np.ndarray,  # float64 [K, 3]
    farmer_weather: np.ndarray,  # int64 [n]: 0 normal, 1 drought, 2 flood
    owners: np.ndarray,  # int64 [K]: units owned in the chunk (0: kit skipped)
    local_market: np.ndarray,  # int64 [n], non-decreasing
    season: int,
    output: np.ndarray,  # float64 [K, n], written
    kit_market_supply: np.ndarray,  # float64 [K, M], written
) -> None:
    """output[k, i] = productive units x Y_k x max(0, 1 + cv_k z_i) x weather factor;
    kit_market_supply[k, m] = sum of output[k] over market m's farmers, in farmer order.

    Without noise (z = 0) or bad weather (factor 1) the multiplications are by exactly 1: the
    NumPy path, which skips them, gets the same bits, and this loop needs no branches."""
    kits, n = owned.shape
    young_rows = np.zeros(max(1, first_harvest_delay.max()), dtype=np.uint64)
    for k in range(kits):
        for m in range(kit_market_supply.shape[1]):
            kit_market_supply[k, m] = 0.0
        if owners[k] == 0 or n == 0:
            continue
        delay = first_harvest_delay[k]
        for age in range(1, delay + 1):  # ring rows of the units bought too recently to harvest
            young_rows[age - 1] = ring_offset[k] + (season - age) % ring_length[k]
        expected = output_per_season[k]
        variation = cv[k]
        factor = weather_factor[k]
        current = local_market[0]
        running = 0.0  # sum of the current market's outputs, in farmer order, in a register
        for i in range(n):
            units = owned[k, i]
            for age in range(delay):
                units -= ring_block[young_rows[age], i]
            value = units * expected * max(1.0 + variation * z[i], 0.0)
            value *= factor[np.uint64(farmer_weather[i])]
            output[k, i] = value
            market = local_market[i]
            if market != current:
                kit_market_supply[k, np.uint64(current)] += running
                running = 0.0
                current = market
            running += value
        kit_market_supply[k, np.uint64(current)] += running


def kit_tables(
    product: np.ndarray,
    replaces: np.ndarray,
    prerequisites: list[list[int]],
    order: list[tuple[int, int]],
) -> tuple[np.ndarray, ...]:
    """Tables of the next-kit rule, indexed by the set of kits a farmer owns (bit k: kit k).

    upgrade[owned]: the kits that replace an owned kit (their kind is upgrade);
    same[owned]: the kits whose product an owned kit produces (more of the same, unless an
    upgrade); ready[owned]: the kits whose prerequisites are all owned; best[set]: the kit of
    the set tried first within a kind (the policy's order lists, for each kind, the kits in
    one order of preference); kinds: the kinds in the policy's order.
    """
    count = product.shape[0]
    sets = np.arange(1 << count, dtype=np.int64)
    owns = (sets[:, None] >> np.arange(count)) & 1  # [sets, K]
    bit = np.int64(1) << np.arange(count, dtype=np.int64)
    produced = np.zeros((sets.size, int(product.max()) + 1 if count else 1), dtype=bool)
    for k in range(count):
        produced[:, product[k]] |= owns[:, k] == 1
    upgrade = np.zeros(sets.size, dtype=np.int64)
    same = np.zeros(sets.size, dtype=np.int64)
    ready = np.zeros(sets.size, dtype=np.int64)
    for k in range(count):
        if replaces[k] >= 0:
            upgrade |= np.where(owns[:, replaces[k]] == 1, bit[k], 0)
        same |= np.where(produced[:, product[k]], bit[k], 0)
        needed = np.int64(sum(1 << int(need) for need in prerequisites[k]))
        ready |= np.where(sets & needed == needed, bit[k], 0)
    kinds = list(dict.fromkeys(kind for kind, _ in order))
    preference = [k for kind, k in order if kind == kinds[0]] if kinds else []
    best = np.full(sets.size, -1, dtype=np.int64)
    for k in reversed(preference):  # the most preferred kit of a set is written last
        best[(sets >> k) & 1 == 1] = k
    lowest = np.full(sets.size, -1, dtype=np.int64)
    for k in reversed(range(count)):
        lowest[(sets >> k) & 1 == 1] = k
    return upgrade, same, ready, best, lowest, np.array(kinds, dtype=np.int64)


@njit(cache=True)
def settle_and_buy(
    # kits
    price_cents: np.ndarray,
    operating_cost_cents: np.ndarray,
    land_m2: np.ndarray,
    labour_days: np.ndarray,
    cap: np.ndarray,
    replaces: np.ndarray,
    replaces_units: np.ndarray,
    credit_principal: np.ndarray,
    credit_total_due: np.ndarray,
    credit_instalments: np.ndarray,
    credit_default_after: np.ndarray,
    upgrade_by_owned: np.ndarray,
    same_by_owned: np.ndarray,
    ready_by_owned: np.ndarray,
    best_of: np.ndarray,
    lowest_kit: np.ndarray,
    kinds: np.ndarray,  # see kit_tables
    cheapest: int,
    max_purchases: int,
    use_credit: bool,
    # market and policy
    output: np.ndarray,
    kit_price: np.ndarray,  # float64 [M, K]: the price of kit k's product (0: nobody owns k)
    absorbed: np.ndarray,  # int64 [M]: bit k set when the market absorbs kit k's product
    local_market: np.ndarray,
    need: np.ndarray,
    consumption_share: float,
    savings_share: float,
    poverty_line: np.ndarray,  # float64 [n]: poverty line x household size, cents a season
    commercial_cents: float,
    land: np.ndarray,
    labour_capacity: np.ndarray,
    other_income: np.ndarray,  # int64 [n]: the household's other income a season, cents
    other_saved: np.ndarray,  # int64 [n]: the part of it put aside towards kits
    season: int,
    # state (updated)
    cash: np.ndarray,
    reserve: np.ndarray,
    owned: np.ndarray,
    kits_bought: np.ndarray,
    ring_block: np.ndarray,
    totals_block: np.ndarray,
    ring_offset: np.ndarray,
    ring_length: np.ndarray,
    loan_balance: np.ndarray,
    loan_instalment: np.ndarray,
    loan_missed: np.ndarray,
    loan_default_after: np.ndarray,
    defaulted: np.ndarray,
    margins: np.ndarray,
    other_income_saved: np.ndarray,
    credit: np.ndarray,
    purchases: np.ndarray,
    consumption: np.ndarray,
    repayments: np.ndarray,
    written_off: np.ndarray,
    first_above_poverty: np.ndarray,
    first_commercial: np.ndarray,
    # results of the season (written)
    margin_out: np.ndarray,
    above_poverty: np.ndarray,
    commercial: np.ndarray,
    bought: np.ndarray,  # int64 [K, M]: units bought, added to
    replaced_units: np.ndarray,  # int64 [K]: units retired by upgrades, added to
    operating: np.ndarray,  # int64 [n]: each farmer's operating cost a season, kept up to date
) -> None:
    """Margins, instalments, consumption, indicators and purchases of every farmer.

    The next-kit rule works on sets of kits (bit k: kit k): the kits a farmer owns, those at
    their cap, those its market absorbs, those it can pay for and has land and labour for;
    the kit bought is the first of the eligible ones in the policy's order of kinds, and the
    most preferred within the kind (`kit_tables`)."""
    kits, n = owned.shape
    takes_credit = np.zeros(kits, dtype=np.bool_)
    for k in range(kits):
        takes_credit[k] = use_credit and credit_principal[k] > 0
    own = np.zeros(kits, dtype=np.int64)  # the farmer's units per kit (a copy of owned[:, i])
    slot_now = np.empty(kits, dtype=np.uint64)  # ring row of the units bought this season
    for k in range(kits):
        slot_now[k] = ring_offset[k] + season % ring_length[k]
    for i in range(n):
        market = np.uint64(local_market[i])  # unsigned: indexing skips the negative-index check
        # 3. Margin: revenue in whole cents (rint) less operating costs.
        # Kits nobody owns add 0.0 x their (stale) output: exactly what skipping them gives.
        revenue = 0.0
        for k in range(kits):
            revenue += output[k, i] * kit_price[market, k]
        margin = np.int64(np.rint(revenue * 100.0)) - operating[i]
        cash[i] += margin
        margins[i] += margin
        margin_out[i] = margin
        # 4. Loan instalment.
        paid = 0
        if loan_balance[i] > 0:
            due = min(loan_instalment[i], loan_balance[i])
            paid = min(due, max(cash[i], 0))
            cash[i] -= paid
            loan_balance[i] -= paid
            repayments[i] += paid
            if paid < due:
                loan_missed[i] += 1
                if loan_missed[i] >= loan_default_after[i]:
                    written_off[i] += loan_balance[i]
                    loan_balance[i] = 0
                    defaulted[i] = True
            else:
                loan_missed[i] = 0
        else:
            loan_missed[i] = 0
        # 5. Consumption and savings.
        disposable = max(margin - paid, 0)
        base_need = min(disposable, need[i])
        excess = disposable - base_need
        consumed = base_need + np.int64(np.rint(consumption_share * excess))
        consumed = min(consumed, max(cash[i], 0))
        cash[i] -= consumed
        consumption[i] += consumed
        if savings_share > 0:
            reserve[i] += np.int64(np.rint(savings_share * excess))
        reserve[i] = min(reserve[i], max(cash[i], 0))
        cash[i] += other_saved[i]
        other_income_saved[i] += other_saved[i]
        # Indicators: poverty on the whole income, commercial on kit income.
        above = margin + other_income[i] >= poverty_line[i]
        is_commercial = margin >= commercial_cents
        above_poverty[i] = above
        commercial[i] = is_commercial
        first = first_above_poverty[i]
        first_above_poverty[i] = season if above & (first == -1) else first
        first = first_commercial[i]
        first_commercial[i] = season if is_commercial & (first == -1) else first
        # 6. Purchases.
        if max_purchases == 0:
            continue
        # Most farmers cannot afford even the cheapest kit: they leave before their holdings
        # are read (the first round would stop at the same test).
        if cash[i] - reserve[i] < cheapest:
            continue
        # Land and labour in use, summed in kit order as the NumPy path does (kits nobody
        # owns add 0.0 there, exactly like skipping them); the sets of kits owned and open.
        land_used = 0.0
        labour_used = 0.0
        owned_set = np.int64(0)
        open_set = np.int64(0)  # kits below their cap
        for k in range(kits):
            units = owned[k, i]
            land_used += units * land_m2[k]
            labour_used += units * labour_days[k]
            own[k] = units
            if units > 0:
                owned_set |= np.int64(1) << k
            if units < cap[k]:
                open_set |= np.int64(1) << k
        for _ in range(max_purchases):
            investable = cash[i] - reserve[i]
            if investable < cheapest:
                break
            credit_open = loan_balance[i] == 0 and not defaulted[i]
            land_free = land[i] - land_used
            labour_free = labour_capacity[i] - labour_used
            candidates = ready_by_owned[np.uint64(owned_set)] & absorbed[market] & open_set
            eligible = np.int64(0)
            borrowing = np.int64(0)
            while candidates:
                k = lowest_kit[np.uint64(candidates)]
                candidates &= candidates - 1
                price = price_cents[k]
                if investable < price:
                    # Credit is taken only when cash alone does not cover the price.
                    if not (
                        takes_credit[k]
                        and credit_open
                        and investable >= price - credit_principal[k]
                    ):
                        continue
                    borrowing |= np.int64(1) << k
                replaced = replaces[k]
                if replaced >= 0:
                    # An upgrade frees the land and labour of the units it retires.
                    freed = min(own[replaced], replaces_units[k])
                    if not land_m2[k] - freed * land_m2[replaced] <= land_free:
                        continue
                    if not labour_days[k] - freed * labour_days[replaced] <= labour_free:
                        continue
                else:
                    if not land_m2[k] <= land_free:
                        continue
                    if not labour_days[k] <= labour_free:
                        continue
                eligible |= np.int64(1) << k
            if eligible == 0:
                break
            upgrades = upgrade_by_owned[np.uint64(owned_set)]
            same = same_by_owned[np.uint64(owned_set)] & ~upgrades
            chosen = -1
            for kind in kinds:
                if kind == UPGRADE:
                    choice = eligible & upgrades
                elif kind == MORE_OF_SAME:
                    choice = eligible & same
                else:
                    choice = eligible & ~same & ~upgrades
                if choice:
                    chosen = best_of[np.uint64(choice)]
                    break
            if chosen < 0:
                break
            k = chosen
            price = price_cents[k]
            cash[i] -= price
            purchases[i] += price
            owned[k, i] += 1
            own[k] += 1
            owned_set |= np.int64(1) << k
            if own[k] >= cap[k]:
                open_set &= ~(np.int64(1) << k)
            kits_bought[k, i] += 1
            operating[i] += operating_cost_cents[k]
            land_used += land_m2[k]
            labour_used += labour_days[k]
            slot = slot_now[k]
            ring_block[slot, i] += 1
            totals_block[slot] += 1
            if (borrowing >> k) & 1:
                cash[i] += credit_principal[k]
                credit[i] += credit_principal[k]
                loan_balance[i] = credit_total_due[k]
                loan_instalment[i] = -(-credit_total_due[k] // credit_instalments[k])
                loan_missed[i] = 0
                loan_default_after[i] = credit_default_after[k]
            replaced = replaces[k]
            if replaced >= 0:
                remaining = min(owned[replaced, i], replaces_units[k])
                retired = remaining
                owned[replaced, i] -= remaining
                own[replaced] -= remaining
                if own[replaced] == 0:
                    owned_set &= ~(np.int64(1) << replaced)
                if own[replaced] < cap[replaced]:
                    open_set |= np.int64(1) << replaced
                length = ring_length[replaced]
                offset = ring_offset[replaced]
                tracked = 0
                for slot_index in range(length):
                    tracked += ring_block[offset + slot_index, i]
                untracked = owned[replaced, i] + remaining - tracked
                remaining -= min(remaining, untracked)
                for age in range(length - 1, -1, -1):
                    if remaining == 0:
                        break
                    slot = offset + (season - age) % length
                    if totals_block[slot] == 0:
                        continue
                    take = min(ring_block[slot, i], remaining)
                    ring_block[slot, i] -= take
                    totals_block[slot] -= take
                    remaining -= take
                operating[i] -= retired * operating_cost_cents[replaced]
                land_used -= retired * land_m2[replaced]
                labour_used -= retired * labour_days[replaced]
                replaced_units[replaced] += retired
            bought[k, market] += 1


@njit(cache=True, inline="always")
def cash_cell(cash: int) -> int:
    """Index e * 64 + j of the 1/64-octave cell [2**(e-1) (1 + j/64), 2**(e-1) (1 + (j+1)/64))
    holding a positive cash value: e is math.frexp's exponent, j the top 6 bits of the
    fraction, both read from the bits of the float64 (exact for cash below 2**53 cents)."""
    bits = int(np.float64(cash).view(np.int64))
    return ((bits >> 52) - 1022) * CASH_CELLS_PER_OCTAVE + ((bits >> 46) & 63)


@njit(cache=True)
def season_statistics(
    cells: np.ndarray,
    local_market: np.ndarray,
    other_income: np.ndarray,
    margin: np.ndarray,
    cash: np.ndarray,
    household_size: np.ndarray,
    days: float,
    above_poverty: np.ndarray,
    commercial: np.ndarray,
    loan_balance: np.ndarray,
    defaulted: np.ndarray,
    written_off: np.ndarray,
    cash_thresholds: np.ndarray,
    cash_cell_start: np.ndarray,
    cell_income: np.ndarray,
    cell_cash: np.ndarray,
    cell_poverty: np.ndarray,
    cell_commercial: np.ndarray,
    income_count: np.ndarray,
    income_cents: np.ndarray,
    cash_count: np.ndarray,
    market_income: np.ndarray,
    market_poverty: np.ndarray,
) -> tuple[int, int, int]:
    """The per-season sums of `SeasonRecorder.record`, in one pass (all integers: exact)."""
    n = margin.shape[0]
    last_income_bin = income_count.shape[1] - 1  # [CELLS, bins]: one histogram per cell
    last = cash_thresholds.shape[0]
    active = 0
    defaulted_count = 0
    written_off_total = 0
    for i in range(n):
        cell = np.uint64(cells[i])
        cell_income[cell] += margin[i]
        cell_cash[cell] += cash[i]
        cell_poverty[cell] += above_poverty[i]
        cell_commercial[cell] += commercial[i]
        market = np.uint64(local_market[i])
        market_income[market] += margin[i]
        market_poverty[market] += above_poverty[i]
        # Bins without branches (the data decide them, so branches would be mispredicted):
        # negative incomes floor-divide to bin <= 0, clipped to 0; INCOME_BIN_CENTS is a
        # compile-time constant, so no division instruction.
        income = margin[i] + other_income[i]
        per_person = np.int64(round_half_even(income / (household_size[i] * days)))
        income_bin = min(max(1 + per_person // INCOME_BIN_CENTS, 0), last_income_bin)
        income_count[cell, np.uint64(income_bin)] += 1
        income_cents[cell, np.uint64(income_bin)] += per_person
        # Cash bin: 1 + #(thresholds <= cash), or 0 for cash <= 0. Start from the count below
        # the lower edge of the cash's 1/64-octave cell (a table) and step up once at most (a
        # cell holds at most one threshold), with the comparison the NumPy path's search makes.
        value = cash[i]
        guess = cash_cell_start[np.uint64(cash_cell(max(value, 1)))]
        guess += (guess < last) & (cash_thresholds[np.uint64(min(guess, last - 1))] <= value)
        cash_count[cell, np.uint64(1 + guess if value > 0 else 0)] += 1
    # Plain sums, one array at a time (contiguous loops the compiler vectorises).
    for i in range(n):
        active += loan_balance[i] > 0
        defaulted_count += defaulted[i]
        written_off_total += written_off[i]
    return active, defaulted_count, written_off_total


@njit(cache=True)
def reference_season(
    z: np.ndarray,
    cv: float,
    consumption_share: float,
    output_now: np.ndarray,
    next_price_now: np.ndarray,
    level: np.ndarray,
    cash: np.ndarray,
    output_per_season: np.ndarray,
    next_price: np.ndarray,
    consumption: np.ndarray,
    track_consumption: bool,
) -> None:
    """One season of the reference ladder, farmer by farmer, with exactly the operations of
    `alianza.ladder.reference._simulate_block`'s NumPy path, in the same order.

    Two passes: the arithmetic (branch-free, so the compiler vectorises it) and counting who
    can upgrade, then the upgrades themselves, skipped in seasons when nobody can upgrade."""
    n = z.shape[0]
    upgrades = 0
    for i in range(n):
        multiple = max(1.0 + z[i] * cv, 0.0)  # return clipped at -100%
        margin = round_half_even((output_now[i] * multiple) * 100.0)
        consumed = round_half_even(margin * consumption_share)
        if track_consumption:
            consumption[i] += consumed
        cash[i] += margin - consumed
        upgrades += cash[i] >= next_price_now[i]
    if upgrades == 0:
        return
    for i in range(n):
        if cash[i] >= next_price_now[i]:
            cash[i] -= next_price_now[i]
            new_level = level[i] + 1
            level[i] = new_level
            output_now[i] = output_per_season[new_level]
            next_price_now[i] = next_price[new_level]


@njit(cache=True)
def wear_out(
    season: int,
    seasons: int,
    life: np.ndarray,
    owned: np.ndarray,
    ring_block: np.ndarray,
    totals_block: np.ndarray,
    ring_offset: np.ndarray,
    ring_length: np.ndarray,
    retired: np.ndarray,  # int64 [K], written
    operating_cost_cents: np.ndarray,
    operating: np.ndarray,  # [K]; [n], updated
) -> None:
    """`alianza.ladder.state.wear_out` on the ring block: retire the units whose life ends
    (and their operating costs)."""
    kits, n = owned.shape
    for k in range(kits):
        retired[k] = 0
        slot = ring_offset[k] + season % ring_length[k]
        if totals_block[slot] == 0:
            continue  # nobody holds units of that vintage
        if life[k] < seasons + 1:
            cost = operating_cost_cents[k]
            for i in range(n):
                owned[k, i] -= ring_block[slot, i]
                operating[i] -= cost * ring_block[slot, i]
            retired[k] = totals_block[slot]
        for i in range(n):
            ring_block[slot, i] = 0
        totals_block[slot] = 0


@njit(cache=True)
def clear_markets(
    reference_price: np.ndarray,
    price_factor: np.ndarray,
    supply_per_farmer: np.ndarray,
    local_channel: np.ndarray,
    elasticity: np.ndarray,
    floor_share: np.ndarray,
    absorb_price_share: float,
    supply: np.ndarray,
    farmers_per_market: np.ndarray,
    prices: np.ndarray,
    absorbs: np.ndarray,  # [P, M], written
) -> None:
    """`alianza.ladder.markets.clear_markets` and `market_absorbs`, the same operations."""
    products, markets = supply.shape
    for p in range(products):
        base = reference_price[p] * price_factor[p]
        capacity = supply_per_farmer[p]
        if not local_channel[p] or np.isnan(capacity):
            for m in range(markets):
                prices[p, m] = base
        else:
            exponent = -1.0 / elasticity[p]
            for m in range(markets):
                reference_supply = max(capacity * farmers_per_market[m], 1e-12)
                ratio = max(supply[p, m] / reference_supply, 1e-12)
                relative = min(max(math.pow(ratio, exponent), floor_share[p]), 1.0)
                prices[p, m] = base * relative
        threshold = absorb_price_share * (reference_price[p] * price_factor[p])
        for m in range(markets):
            absorbs[p, m] = prices[p, m] >= threshold


@njit(cache=True)
def simulate_seasons(
    kit_arrays: tuple[Any, ...],  # see CompiledChunk.kit_arrays
    market_arrays: tuple[Any, ...],  # see CompiledChunk.market_arrays
    policy_values: tuple[Any, ...],  # see CompiledChunk.policy_values
    farmer_arrays: tuple[Any, ...],  # see CompiledChunk.farmer_arrays
    state_arrays: tuple[Any, ...],  # ChunkState's arrays, updated
    record_arrays: tuple[Any, ...],  # SeasonRecorder's arrays, written
    z: np.ndarray,  # float64 [T, n]: yield noise draws
    weather: np.ndarray,  # int64 [T, D]
    price_factor: np.ndarray,  # float64 [T, P]
    last_margin: np.ndarray,  # int64 [n], written: the last season's margins
) -> None:
    """Every season of a chunk: wear-out, harvest, markets, settle and buy, statistics -- the
    steps of `alianza.ladder.simulation.simulate_chunk`, in its order, without returning to
    Python between seasons."""
    (
        product,
        price_cents,
        operating_cost_cents,
        land_m2,
        labour_days,
        cap,
        replaces,
        replaces_units,
        credit_principal,
        credit_total_due,
        credit_instalments,
        credit_default_after,
        life,
        first_harvest_delay,
        output_per_season,
        cv,
        weather_factor,
        upgrade_by_owned,
        same_by_owned,
        ready_by_owned,
        best_of,
        lowest_kit,
        kinds,
        cheapest,
    ) = kit_arrays
    (
        reference_price,
        supply_per_farmer,
        local_channel,
        elasticity,
        floor_share,
        farmers_per_market,
    ) = market_arrays
    (
        max_purchases,
        use_credit,
        absorb_price_share,
        consumption_share,
        savings_share,
        poverty_cents,
        commercial_cents,
        days,
    ) = policy_values
    (
        local_market,
        district,
        need,
        household_size,
        land,
        labour_capacity,
        other_income,
        other_saved,
        cells,
        cash_thresholds,
        cash_cell_start,
    ) = farmer_arrays
    (
        cash,
        reserve,
        owned,
        kits_bought,
        ring_block,
        totals_block,
        ring_offset,
        ring_length,
        loan_balance,
        loan_instalment,
        loan_missed,
        loan_default_after,
        defaulted,
        margins,
        other_income_saved,
        credit,
        purchases,
        consumption,
        repayments,
        written_off,
        first_above_poverty,
        first_commercial,
    ) = state_arrays
    (
        supply,
        prices,
        bought,
        kits_retired,
        cell_income,
        cell_cash,
        cell_poverty,
        cell_commercial,
        income_count,
        income_cents,
        cash_count,
        kits_owned,
        loans_active,
        loans_defaulted,
        written_off_total,
        market_income,
        market_poverty,
    ) = record_arrays
    kits, n = owned.shape
    seasons = z.shape[0]
    products = reference_price.shape[0]
    markets = farmers_per_market.shape[0]
    for i in range(1, n):
        if local_market[i] < local_market[i - 1]:
            raise ValueError("the chunk's farmers must be sorted by market")
    owners = np.zeros(kits, dtype=np.int64)
    output = np.zeros((kits, n))
    kit_market_supply = np.zeros((kits, markets))
    farmer_weather = np.zeros(n, dtype=np.int64)
    absorbs = np.zeros((products, markets), dtype=np.bool_)
    absorbed = np.zeros(markets, dtype=np.int64)
    kit_price = np.zeros((markets, kits))
    poverty_line = poverty_cents * household_size
    margin = np.zeros(n, dtype=np.int64)
    above_poverty = np.zeros(n, dtype=np.bool_)
    commercial = np.zeros(n, dtype=np.bool_)
    # Units owned in the chunk and each farmer's operating cost a season, kept up to date
    # through wear-out, purchases and upgrades (integers: exact).
    operating = np.zeros(n, dtype=np.int64)
    for k in range(kits):
        for i in range(n):
            owners[k] += owned[k, i]
            operating[i] += operating_cost_cents[k] * owned[k, i]
    replaced_units = np.zeros(kits, dtype=np.int64)
    for season in range(seasons):
        wear_out(
            season,
            seasons,
            life,
            owned,
            ring_block,
            totals_block,
            ring_offset,
            ring_length,
            kits_retired[season],
            operating_cost_cents,
            operating,
        )
        for k in range(kits):
            owners[k] -= kits_retired[season, k]
            replaced_units[k] = 0
        for i in range(n):
            farmer_weather[i] = weather[season, np.uint64(district[i])]
        harvest(
            owned,
            ring_block,
            ring_offset,
            ring_length,
            first_harvest_delay,
            output_per_season,
            cv,
            z[season],
            weather_factor,
            farmer_weather,
            owners,
            local_market,
            season,
            output,
            kit_market_supply,
        )
        season_supply = supply[season]
        for k in range(kits):
            if owners[k]:
                for m in range(markets):
                    season_supply[product[k], m] += kit_market_supply[k, m]
        clear_markets(
            reference_price,
            price_factor[season],
            supply_per_farmer,
            local_channel,
            elasticity,
            floor_share,
            absorb_price_share,
            season_supply,
            farmers_per_market,
            prices[season],
            absorbs,
        )
        for m in range(markets):
            absorbed[m] = 0
            for k in range(kits):
                if absorbs[product[k], m]:
                    absorbed[m] |= np.int64(1) << k
                kit_price[m, k] = prices[season, product[k], m] if owners[k] else 0.0
        settle_and_buy(
            price_cents,
            operating_cost_cents,
            land_m2,
            labour_days,
            cap,
            replaces,
            replaces_units,
            credit_principal,
            credit_total_due,
            credit_instalments,
            credit_default_after,
            upgrade_by_owned,
            same_by_owned,
            ready_by_owned,
            best_of,
            lowest_kit,
            kinds,
            cheapest,
            max_purchases,
            use_credit,
            output,
            kit_price,
            absorbed,
            local_market,
            need,
            consumption_share,
            savings_share,
            poverty_line,
            commercial_cents,
            land,
            labour_capacity,
            other_income,
            other_saved,
            season,
            cash,
            reserve,
            owned,
            kits_bought,
            ring_block,
            totals_block,
            ring_offset,
            ring_length,
            loan_balance,
            loan_instalment,
            loan_missed,
            loan_default_after,
            defaulted,
            margins,
            other_income_saved,
            credit,
            purchases,
            consumption,
            repayments,
            written_off,
            first_above_poverty,
            first_commercial,
            margin,
            above_poverty,
            commercial,
            bought[season],
            replaced_units,
            operating,
        )
        for k in range(kits):
            for m in range(markets):
                owners[k] += bought[season, k, m]
            owners[k] -= replaced_units[k]
            kits_owned[season, k] = owners[k]
        active, defaulted_count, written_off_sum = season_statistics(
            cells,
            local_market,
            other_income,
            margin,
            cash,
            household_size,
            days,
            above_poverty,
            commercial,
            loan_balance,
            defaulted,
            written_off,
            cash_thresholds,
            cash_cell_start,
            cell_income[season],
            cell_cash[season],
            cell_poverty[season],
            cell_commercial[season],
            income_count[season],
            income_cents[season],
            cash_count[season],
            market_income[season],
            market_poverty[season],
        )
        loans_active[season] = active
        loans_defaulted[season] = defaulted_count
        written_off_total[season] = written_off_sum
    for i in range(n):
        last_margin[i] = margin[i]
