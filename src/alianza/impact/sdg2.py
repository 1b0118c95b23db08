"""SDG target 2.3: productivity (2.3.1) and income (2.3.2) of small-scale food producers.

Both are means over producers (one element per producer or holding), weighted by survey
weights when given, following the UN SDG metadata (custodian FAO).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from alianza.impact._arrays import Array, group_codes, label, values_and_weights


def production_per_labour_day(
    production: ArrayLike,
    labour_days: ArrayLike,
    weights: ArrayLike | None = None,
    prices: ArrayLike | None = None,
) -> tuple[float, Array]:
    """SDG 2.3.1, volume (or value) of production per labour day:

        per producer  v_j = p_j q_j / L_j      indicator  sum_j w_j v_j / sum_j w_j

    q_j production of producer j in a period (kg or t; or its value, with `prices` None),
    p_j price per unit (constant PPP $ for a value), L_j labour days spent on it (family and
    hired). Returns (the indicator, the per-producer ratios), in units of production (or $)
    per labour day. Producers with no labour days are an error: their ratio is undefined.
    """
    volume, w = values_and_weights(production, weights)
    days = np.asarray(labour_days, dtype=np.float64)
    if days.shape != volume.shape:
        raise ValueError(f"labour_days: must have the shape of production {volume.shape}")
    if np.any(days <= 0):
        raise ValueError("labour_days: must be > 0")
    output = volume if prices is None else volume * np.asarray(prices, dtype=np.float64)
    ratios: Array = output / days
    return float(np.dot(w, ratios) / w.sum(dtype=np.float64)), ratios


def average_income(income: ArrayLike, weights: ArrayLike | None = None) -> float:
    """SDG 2.3.2, average income of small-scale food producers: sum_j w_j I_j / sum_j w_j,
    I_j the producer's income from agriculture over the year (constant PPP $ a year)."""
    x, w = values_and_weights(income, weights)
    total = float(w.sum(dtype=np.float64))
    if total == 0:
        raise ValueError("weights: must not all be zero")
    return float(np.dot(w, x)) / total


def average_income_by_sex_and_indigenous(
    income: ArrayLike,
    sex: ArrayLike,
    indigenous: ArrayLike,
    weights: ArrayLike | None = None,
) -> dict[str, dict[object, float]]:
    """SDG 2.3.2 disaggregated as its metadata asks: the average income by sex, by indigenous
    status, and by both. {"sex": {label: mean}, "indigenous": {label: mean},
    "sex_and_indigenous": {(sex, indigenous): mean}}; labels as given (e.g. "female", True)."""
    x, w = values_and_weights(income, weights)
    n = x.shape[0]
    result: dict[str, dict[object, float]] = {}
    for name, groups in (("sex", sex), ("indigenous", indigenous)):
        distinct, codes = group_codes(groups, n)
        result[name] = _means(distinct, codes, x, w)
    sex_distinct, sex_codes = group_codes(sex, n)
    ind_distinct, ind_codes = group_codes(indigenous, n)
    cells = sex_codes * ind_distinct.shape[0] + ind_codes
    totals = np.bincount(cells, weights=w, minlength=sex_distinct.shape[0] * ind_distinct.shape[0])
    sums = np.bincount(cells, weights=w * x, minlength=totals.shape[0])
    both: dict[object, float] = {}
    for cell in np.flatnonzero(totals > 0):
        key = (
            label(sex_distinct[cell // ind_distinct.shape[0]]),
            label(ind_distinct[cell % ind_distinct.shape[0]]),
        )
        both[key] = float(sums[cell] / totals[cell])
    result["sex_and_indigenous"] = both
    return result


def _means(
    distinct: np.ndarray, codes: np.ndarray, x: np.ndarray, w: np.ndarray
) -> dict[object, float]:
    totals = np.bincount(codes, weights=w, minlength=distinct.shape[0])
    sums = np.bincount(codes, weights=w * x, minlength=distinct.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / totals
    return {label(g): float(m) for g, m in zip(distinct, means, strict=True)}
