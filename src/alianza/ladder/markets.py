"""Local markets: a price per product and market from its supply (markets clear each season)."""

from __future__ import annotations

import math

import numpy as np

from alianza.ladder.kits import KitTable
from alianza.ladder.scenario import Policy


def clear_markets(
    kits: KitTable,
    supply: np.ndarray,
    farmers_per_market: np.ndarray,
    price_factor: np.ndarray,
) -> np.ndarray:
    """Price per product and market [P, M] in USD per unit.

    Local products with a reference supply Q = supply_per_farmer x farmers of the market:
    price = P_ref x f_p x min(1, max(floor_share, (S / Q) ** (-1 / elasticity))); i.e. the
    reference price while supply S is at most Q, falling along an iso-elastic demand curve
    beyond it, never below the floor. Off-taker products and products without a reference
    supply sell at P_ref x f_p (f_p the season's national price factor).
    """
    products, markets = supply.shape
    prices = np.empty((products, markets))
    for p in range(products):
        base = kits.reference_price[p] * price_factor[p]
        capacity = kits.supply_per_farmer[p]
        if not kits.local_channel[p] or np.isnan(capacity):
            prices[p] = base
            continue
        reference_supply = np.maximum(capacity * farmers_per_market, 1e-12)
        ratio = np.maximum(supply[p] / reference_supply, 1e-12)
        # The C library's pow, value by value, as the compiled kernel calls it: NumPy's array
        # power may use other code (SIMD) on some CPUs, and the two paths must agree exactly.
        exponent = -1.0 / kits.elasticity[p]
        power = np.array([math.pow(value, exponent) for value in ratio.tolist()])
        relative = np.clip(power, kits.floor_share[p], 1.0)
        prices[p] = base * relative
    return prices


def market_absorbs(
    prices: np.ndarray, kits: KitTable, price_factor: np.ndarray, policy: Policy
) -> np.ndarray:
    """[P, M]: whether a market takes more of a product: price >= share x P_ref x f_p."""
    return prices >= policy.absorb_price_share * (kits.reference_price * price_factor)[:, None]
