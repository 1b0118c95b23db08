"""Time to cross a threshold (the poverty line, a commercial threshold): the Kaplan-Meier
estimate of the share of farmers not yet across after t seasons (Kaplan and Meier 1958).

A farmer who has not crossed by their last observed season is censored there: they count as
at risk up to that season and are never dropped, so the curve is not biased towards the
farmers who crossed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from alianza.impact._arrays import Array


@dataclass(frozen=True)
class KaplanMeier:
    """The curve at each distinct observed time t_i (ascending): n_i at risk (duration >= t_i),
    d_i crossings and c_i censorings at t_i, and S(t_i) = prod_{t_k <= t_i} (1 - d_k / n_k),
    the share not yet across after t_i seasons (right-continuous steps)."""

    times: Array
    at_risk: Array
    events: Array
    censored: Array
    survival: Array

    def survival_at(self, t: float) -> float:
        """S(t): 1 before the first time, then the step value of the last t_i <= t."""
        index = int(np.searchsorted(self.times, t, side="right")) - 1
        return 1.0 if index < 0 else float(self.survival[index])


def kaplan_meier_from_counts(
    times: ArrayLike, events: ArrayLike, censored: ArrayLike
) -> KaplanMeier:
    """Kaplan-Meier from counts per distinct time (ascending): d_i crossings and c_i
    censorings at t_i (weighted counts allowed). Counts merge across chunks by addition, so a
    population streamed in chunks gives the same curve as one pass.

        n_i = sum_{k >= i} (d_k + c_k)     S(t_i) = prod_{k <= i} (1 - d_k / n_k)

    A farmer censored at t_i is at risk at t_i (the usual convention: censoring after events).
    """
    t = np.asarray(times, dtype=np.float64)
    d = np.asarray(events, dtype=np.float64)
    c = np.asarray(censored, dtype=np.float64)
    if not (t.shape == d.shape == c.shape) or t.ndim != 1:
        raise ValueError("times, events, censored: must be 1-D arrays of the same length")
    if np.any(np.diff(t) <= 0):
        raise ValueError("times: must be strictly increasing")
    if np.any(d < 0) or np.any(c < 0):
        raise ValueError("events, censored: must be >= 0")
    removed = d + c
    at_risk = np.cumsum(removed[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(at_risk > 0, 1.0 - d / at_risk, 1.0)
    return KaplanMeier(
        times=t,
        at_risk=at_risk,
        events=d,
        censored=c,
        survival=np.cumprod(factors, dtype=np.float64),
    )


def kaplan_meier(
    durations: ArrayLike, crossed: ArrayLike, weights: ArrayLike | None = None
) -> KaplanMeier:
    """Kaplan-Meier curve of time to cross, one element per farmer: `durations` the season of
    crossing (crossed true) or the last season observed (crossed false: censored there)."""
    duration = np.asarray(durations, dtype=np.float64)
    event = np.asarray(crossed, dtype=bool)
    if duration.ndim != 1 or event.shape != duration.shape:
        raise ValueError("durations, crossed: must be 1-D arrays of the same length")
    w = np.ones_like(duration) if weights is None else np.asarray(weights, dtype=np.float64)
    times, codes = np.unique(duration, return_inverse=True)
    codes = codes.reshape(-1)
    events = np.bincount(codes, weights=w * event, minlength=times.shape[0])
    censored = np.bincount(codes, weights=w * ~event, minlength=times.shape[0])
    return kaplan_meier_from_counts(times, events, censored)


def median_time(curve: KaplanMeier) -> float | None:
    """Median time to cross: the first t_i with S(t_i) <= 0.5; None if the curve never gets
    there (fewer than half are known to cross within the observed seasons)."""
    reached = np.flatnonzero(curve.survival <= 0.5)
    return None if reached.shape[0] == 0 else float(curve.times[reached[0]])


def time_to_cross(
    values: ArrayLike, threshold: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Durations and crossing flags from a (farmers x seasons) array of a measure (welfare in
    PPP $ a day, sales, ...), NaN where a season was not observed.

    A farmer crosses in the first season s (1-based) with value >= threshold (per farmer or
    one for all); otherwise they are censored at their last observed season (0 if none, which
    leaves the curve unchanged). Vectorised over farmers: no Python loop over them."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"values: must be farmers x seasons, got shape {x.shape}")
    limit = np.asarray(threshold, dtype=np.float64)
    if limit.ndim == 1:
        limit = limit[:, None]
    above = x >= limit  # NaN compares false: an unobserved season is never a crossing
    crossed = above.any(axis=1)
    first = np.argmax(above, axis=1) + 1
    observed = ~np.isnan(x)
    seasons = x.shape[1]
    last = np.where(observed.any(axis=1), seasons - np.argmax(observed[:, ::-1], axis=1), 0)
    durations = np.where(crossed, first, last).astype(np.int64)
    return durations, np.asarray(crossed, dtype=np.bool_)
