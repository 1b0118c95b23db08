"""The next-kit rule: which kit each farmer buys, and buying it (credit, replacement)."""

from __future__ import annotations

import numpy as np

from alianza.ladder.kits import KitTable
from alianza.ladder.population import Farmers
from alianza.ladder.state import ChunkState, retire_replaced


def buy_next_kits(
    state: ChunkState,
    kits: KitTable,
    farmers: Farmers,
    candidates: np.ndarray,
    local_market: np.ndarray,
    absorbs: np.ndarray,
    labour_capacity: np.ndarray,
    land_used: np.ndarray,
    labour_used: np.ndarray,
    purchase_order: list[tuple[int, int]],
    season: int,
    bought: np.ndarray,
    use_credit: bool,
) -> np.ndarray:
    """Each candidate farmer buys at most one kit: the first eligible one in the policy's order.

    Eligible: below the cap, prerequisites owned, land and labour left, the local market of its
    product still absorbs more (this season's clearing price >= absorb share of the reference
    price), and cash minus savings covers the price, less the credit principal where the kit
    offers credit, cash alone does not cover the price, and the farmer has no loan and has
    never defaulted. An upgrade's land and labour check counts what its retired units free.
    Class: upgrade if it replaces a kit the farmer owns; more_of_same if the farmer already
    produces its product; otherwise diversify. ``purchase_order`` lists (class, kit) pairs in
    the order they are tried: classes in the policy's order, and within a class the kit with
    the highest expected margin a season first (ties: catalogue order).
    ``candidates`` are farmer indices; returns the indices of those who bought (in order).
    ``land_used`` and ``labour_used`` are kept up to date for the buyers.
    """
    count = kits.kit_count
    # Nobody who cannot pay for the cheapest kit (even on credit) needs the full check.
    cheapest = int(np.min(kits.price_cents - (kits.credit_principal_cents if use_credit else 0)))
    investable = state.cash[candidates] - state.reserve[candidates]
    rows = candidates[investable >= cheapest]
    if rows.size == 0:
        return rows
    investable = state.cash[rows] - state.reserve[rows]
    owned = state.owned[:, rows]
    has_kit = owned > 0
    credit_open = (state.loan_balance[rows] == 0) & ~state.defaulted[rows]
    land_free = farmers.land_m2[rows] - land_used[rows]
    labour_free = labour_capacity[rows] - labour_used[rows]
    markets = local_market[rows]
    produces = np.zeros((kits.product_count, rows.size), dtype=bool)
    for k in range(count):
        produces[kits.product[k]] |= has_kit[k]
    eligible: list[np.ndarray | None] = [None] * count
    borrows: list[np.ndarray | None] = [None] * count
    for k in range(count):
        ok = owned[k] < kits.cap[k]
        for need in kits.prerequisites[k]:
            ok &= has_kit[need]
        if not ok.any():
            continue
        replaced = kits.replaces[k]
        if replaced >= 0:
            # An upgrade frees the land and labour of the units it retires.
            freed = np.minimum(owned[replaced], kits.replaces_units[k])
            ok &= kits.land_m2[k] - freed * kits.land_m2[replaced] <= land_free
            ok &= kits.labour_days[k] - freed * kits.labour_days[replaced] <= labour_free
        else:
            ok &= kits.land_m2[k] <= land_free
            ok &= kits.labour_days[k] <= labour_free
        ok &= absorbs[kits.product[k]][markets]
        price = kits.price_cents[k]
        if use_credit and kits.credit_principal_cents[k] > 0:
            # Credit is taken only when cash alone does not cover the price.
            short = investable < price
            borrow = credit_open & short
            ok &= ~short | (borrow & (investable >= price - kits.credit_principal_cents[k]))
            borrows[k] = borrow
        else:
            ok &= investable >= price
        eligible[k] = ok
    undecided = np.ones(rows.size, dtype=bool)
    choice = np.full(rows.size, -1, dtype=np.int8)
    for kind, k in purchase_order:
        ok = eligible[k]
        if ok is None:
            continue
        replaced = kits.replaces[k]
        upgrade = has_kit[replaced] if replaced >= 0 else None
        if kind == UPGRADE:
            if upgrade is None:
                continue
            take = ok & upgrade
        else:
            same = produces[kits.product[k]]
            take = ok & (same if kind == MORE_OF_SAME else ~same)
            if upgrade is not None:
                take &= ~upgrade
        take &= undecided
        choice[take] = k
        undecided &= ~take
    for k in range(count):
        chosen = choice == k
        if not chosen.any():
            continue
        buyers = rows[chosen]
        price = kits.price_cents[k]
        state.cash[buyers] -= price
        state.purchases[buyers] += price
        state.owned[k, buyers] += 1
        state.kits_bought[k, buyers] += 1
        land_used[buyers] += kits.land_m2[k]
        labour_used[buyers] += kits.labour_days[k]
        ring = state.vintages[k]
        slot = season % ring.shape[0]
        ring[slot, buyers] += 1
        state.vintage_totals[k][slot] += buyers.size
        borrow = borrows[k]
        if borrow is not None:
            borrowers = buyers[borrow[chosen]]
            principal = kits.credit_principal_cents[k]
            total_due = kits.credit_total_due_cents[k]
            instalments = kits.credit_instalments[k]
            state.cash[borrowers] += principal
            state.credit[borrowers] += principal
            state.loan_balance[borrowers] = total_due
            # Instalments are the total due / number of instalments rounded up to a cent.
            state.loan_instalment[borrowers] = -(-total_due // instalments)
            state.loan_missed[borrowers] = 0
            state.loan_default_after[borrowers] = kits.credit_default_after[k]
        replaced = int(kits.replaces[k])
        if replaced >= 0:
            retired = retire_replaced(state, replaced, buyers, int(kits.replaces_units[k]), season)
            land_used[buyers] -= retired * kits.land_m2[replaced]
            labour_used[buyers] -= retired * kits.labour_days[replaced]
        bought[k] += np.bincount(local_market[buyers], minlength=bought.shape[1])
    return rows[choice >= 0]


MORE_OF_SAME, DIVERSIFY, UPGRADE = 0, 1, 2
KIND_OF_NAME = {"more_of_same": MORE_OF_SAME, "diversify": DIVERSIFY, "upgrade": UPGRADE}


def purchase_order(kits: KitTable, order: list[str]) -> list[tuple[int, int]]:
    """(kind, kit) pairs in the order the next-kit rule tries them."""
    by_preference = sorted(range(kits.kit_count), key=lambda k: int(kits.preference[k]))
    return [(KIND_OF_NAME[name], k) for name in order for k in by_preference]
