"""Weighted quantiles: the median and the percentiles the reports print."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from alianza.impact._arrays import Array, values_and_weights

# The percentiles every report prints, by the name it prints them under.
QUANTILES: dict[str, float] = {"p10": 0.10, "p25": 0.25, "median": 0.50, "p75": 0.75, "p90": 0.90}


def weighted_quantile_sorted(
    sorted_values: np.ndarray, cumulative_weights: np.ndarray, q: ArrayLike
) -> Array:
    """Quantiles of values already sorted ascending, given their running weight totals
    C_k = sum_{j <= k} w_j: the smallest x_(k) with C_k >= q * C_n (see weighted_quantile).
    For a global order over 10 M farmers sort once, then call this for every q."""
    levels = np.asarray(q, dtype=np.float64)
    if np.any((levels < 0) | (levels > 1)):
        raise ValueError("q: must be in [0, 1]")
    if sorted_values.shape[0] == 0:
        raise ValueError("values: must not be empty")
    total = float(cumulative_weights[-1])
    if total <= 0:
        raise ValueError("weights: must not all be zero")
    # side="left": the first k whose running share reaches q; positive weight ensured below.
    index = np.searchsorted(cumulative_weights, levels * total, side="left")
    index = np.clip(index, 0, sorted_values.shape[0] - 1)
    result: Array = sorted_values[index].astype(np.float64)
    return result


def weighted_quantile(
    values: ArrayLike, q: ArrayLike, weights: ArrayLike | None = None, presorted: bool = False
) -> Array:
    """Weighted quantile by the inverted empirical distribution function:

        Q(q) = min { x : F(x) >= q },   F(x) = sum_{i: x_i <= x} w_i / sum_i w_i

    With unit weights this is numpy's `np.quantile(x, q, method="inverted_cdf")` (Hyndman
    and Fan 1996, definition 1); with integer weights it is that of the values repeated w_i
    times. Always one of the values (no interpolation), in the values' units. q in [0, 1].
    `presorted=True`: values already ascending (the sort is skipped).
    """
    x, w = values_and_weights(values, weights)
    if np.any(np.isnan(x)):
        raise ValueError("values: must not contain NaN")
    if weights is not None and np.any(w == 0):
        # An element of zero weight is not in the distribution at all.
        x, w = x[w > 0], w[w > 0]
    if presorted:
        if np.any(x[1:] < x[:-1]):
            raise ValueError("values: presorted=True but the values are not ascending")
    elif weights is None:
        x = np.sort(x)  # a value sort, several times faster than an argsort at 10 M
    else:
        order = np.argsort(x)
        x, w = x[order], w[order]
    if weights is None:
        running = np.arange(1, x.shape[0] + 1, dtype=np.float64)
    else:
        running = np.cumsum(w, dtype=np.float64)
    return weighted_quantile_sorted(x, running, q)


def weighted_quantiles_summary(
    values: ArrayLike, weights: ArrayLike | None = None, presorted: bool = False
) -> dict[str, float]:
    """{"p10", "p25", "median", "p75", "p90"}: the weighted quantiles of QUANTILES."""
    result = weighted_quantile(values, list(QUANTILES.values()), weights, presorted)
    return {name: float(v) for name, v in zip(QUANTILES, result, strict=True)}
