"""Inequality: the Lorenz curve, the Gini coefficient, the Palma ratio, and SDG 10.1.1
(growth of income per capita of the bottom 40% against the whole population)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from alianza.impact._arrays import Array, values_and_weights


def _sorted(
    values: ArrayLike, weights: ArrayLike | None, presorted: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Values ascending with their weights (None: unit weights). Without weights the values
    themselves are sorted, which is several times faster than an argsort at 10 M farmers;
    ties need no order, since every indicator here depends only on the sorted values."""
    x, w = values_and_weights(values, weights)
    if x.shape[0] == 0:
        raise ValueError("values: must not be empty")
    if not np.all(np.isfinite(x)):
        raise ValueError("values: must be finite")
    if presorted:
        if np.any(x[1:] < x[:-1]):
            raise ValueError("values: presorted=True but the values are not ascending")
        return x, None if weights is None else w
    if weights is None:
        return np.sort(x), None
    order = np.argsort(x)
    return x[order], w[order]


def lorenz_curve(
    values: ArrayLike, weights: ArrayLike | None = None, presorted: bool = False
) -> tuple[Array, Array]:
    """Points (P_k, L_k), k = 0..n, of the Lorenz curve, values sorted ascending:

        P_k = sum_{j <= k} w_j / sum_j w_j,   L_k = sum_{j <= k} w_j x_j / sum_j w_j x_j

    with P_0 = L_0 = 0; linear between points (each unit's income spread evenly over its
    weight). Needs a positive total. `presorted=True`: values already ascending (sort once
    for several indicators over 10 M farmers)."""
    x, w = _sorted(values, weights, presorted)
    return _lorenz_sorted(x, w)


def _lorenz_sorted(x: np.ndarray, w: np.ndarray | None) -> tuple[Array, Array]:
    n = x.shape[0]
    population = np.empty(n + 1)
    income = np.empty(n + 1)
    population[0] = income[0] = 0.0
    if w is None:
        population[1:] = np.arange(1, n + 1)
        np.cumsum(x, dtype=np.float64, out=income[1:])
    else:
        np.cumsum(w, dtype=np.float64, out=population[1:])
        np.cumsum(w * x.astype(np.float64), out=income[1:])
    if population[-1] <= 0 or income[-1] <= 0:
        raise ValueError("values: total weight and total income must be > 0")
    population /= population[-1]
    income /= income[-1]
    return population, income


def gini_sorted(sorted_values: np.ndarray, sorted_weights: np.ndarray | None = None) -> float:
    """Gini of values already sorted ascending (e.g. a float32 array of 10 M farmers sorted
    once), in one pass; see `gini` for the formula. Accumulates in float64."""
    x = sorted_values
    n = x.shape[0]
    if sorted_weights is None:
        # G = 2 sum_k k x_(k) / (n sum_k x_(k)) - (n + 1) / n, k = 1..n (the trapezoids below
        # with equal weights, without the cumulative arrays).
        total = float(np.sum(x, dtype=np.float64))
        if total <= 0:
            raise ValueError("values: total income must be > 0")
        ranked = float(np.dot(np.arange(1, n + 1, dtype=np.float64), x.astype(np.float64)))
        return 2.0 * ranked / (n * total) - (n + 1.0) / n
    population, income = _lorenz_sorted(x, sorted_weights)
    return 1.0 - float(np.dot(np.diff(population), income[1:] + income[:-1]))


def gini(values: ArrayLike, weights: ArrayLike | None = None, presorted: bool = False) -> float:
    """Gini coefficient, population form:

        G = sum_i sum_j w_i w_j |x_i - x_j| / (2 W^2 mu),   W = sum_i w_i, mu = sum_i w_i x_i / W

    computed in O(n log n) as one minus twice the area under the Lorenz curve,
    G = 1 - sum_k (P_k - P_{k-1}) (L_k + L_{k-1}), which equals the double sum exactly.
    0 for equal incomes; (n - 1) / n when one of n units has everything ([0, 0, 0, 1] ->
    0.75); in [0, 1) for non-negative incomes; unchanged when incomes are scaled. Needs a
    positive total; may leave [0, 1) with negative incomes. `presorted=True`: values already
    ascending (the sort is skipped)."""
    x, w = _sorted(values, weights, presorted)
    return gini_sorted(x, w)


def income_share(
    values: ArrayLike,
    lower: float,
    upper: float,
    weights: ArrayLike | None = None,
    presorted: bool = False,
) -> float:
    """Share of total income held by the population between the lower and upper population
    fractions (0 <= lower <= upper <= 1), from the Lorenz curve: L(upper) - L(lower), the unit
    straddling a boundary counted pro rata to its weight."""
    if not 0 <= lower <= upper <= 1:
        raise ValueError("lower, upper: must satisfy 0 <= lower <= upper <= 1")
    population, income = lorenz_curve(values, weights, presorted)
    low, high = np.interp([lower, upper], population, income)
    return float(high - low)


def palma_ratio(
    values: ArrayLike, weights: ArrayLike | None = None, presorted: bool = False
) -> float:
    """Palma ratio (Palma 2011; Cobham and Sumner 2013): income share of the richest 10%
    divided by that of the poorest 40%, (1 - L(0.9)) / L(0.4). Dimensionless; 0.25 for equal
    incomes (0.1 / 0.4)."""
    population, income = lorenz_curve(values, weights, presorted)
    l40, l90 = np.interp([0.4, 0.9], population, income)
    if l40 <= 0:
        raise ValueError("values: the poorest 40% have no income; the Palma ratio is undefined")
    return float((1.0 - l90) / l40)


@dataclass(frozen=True)
class Bottom40Growth:
    """SDG 10.1.1: annualised growth rates (fractions a year, 0.02 = 2%)."""

    bottom40: float
    total: float

    @property
    def shared_prosperity_premium(self) -> float:
        """Bottom 40% growth less total growth: > 0 when the poorest catch up."""
        return self.bottom40 - self.total


def _bottom40_and_mean(
    values: ArrayLike, weights: ArrayLike | None, presorted: bool
) -> tuple[float, float]:
    x, w = _sorted(values, weights, presorted)
    population, income = _lorenz_sorted(x, w)
    if w is None:
        mean = float(np.sum(x, dtype=np.float64)) / x.shape[0]
    else:
        mean = float(np.dot(w, x.astype(np.float64)) / w.sum(dtype=np.float64))
    # Mean of the bottom 40% of persons: its income share times the mean, over 0.4.
    return float(np.interp(0.4, population, income)) * mean / 0.4, mean


def bottom40_growth(
    income_start: ArrayLike,
    income_end: ArrayLike,
    years: float,
    weights_start: ArrayLike | None = None,
    weights_end: ArrayLike | None = None,
    presorted: bool = False,
) -> Bottom40Growth:
    """SDG 10.1.1: growth of mean income per capita of the bottom 40% and of everyone,

        g = (m_end / m_start)^(1 / years) - 1

    m the (weighted) mean income per capita of the poorest 40% of each period's own
    distribution (an anonymous comparison, as the UN metadata and the World Bank's shared
    prosperity do; not the same farmers followed), and of the whole population. Incomes per
    capita in constant prices (e.g. 2021 PPP $ a day); person weights for per-capita figures.
    `presorted=True`: both periods' values already ascending.
    """
    if not years > 0:
        raise ValueError("years: must be > 0")
    b0, m0 = _bottom40_and_mean(income_start, weights_start, presorted)
    b1, m1 = _bottom40_and_mean(income_end, weights_end, presorted)
    if b0 <= 0 or m0 <= 0:
        raise ValueError("income_start: means must be > 0 for a growth rate")
    if b1 <= 0 or m1 <= 0:
        raise ValueError("income_end: means must be > 0 for a growth rate")
    return Bottom40Growth(
        bottom40=(b1 / b0) ** (1.0 / years) - 1.0, total=(m1 / m0) ** (1.0 / years) - 1.0
    )
