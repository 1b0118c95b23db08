"""Investment indicators over cash flows, vectorised: the last axis is time t = 0..N,
any leading axes are plans or scenarios.

An IRR is reported only when it is right: a rate where no rate makes NPV zero is
"undefined" with its reason, and flows with several such rates are "multiple", with the
rates, never one of them picked silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from math import comb
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
IrrStatus = Literal["unique", "undefined", "multiple"]

# Codes of the batch IRR status array.
UNIQUE, UNDEFINED, MULTIPLE = 0, 1, 2
STATUS_NAMES: dict[int, IrrStatus] = {
    UNIQUE: "unique",
    UNDEFINED: "undefined",
    MULTIPLE: "multiple",
}

# Rates searched for an IRR: from -99% (lower where the horizon is short enough for
# (1 + r)^-N to stay finite) to a billion-fold return a period.
_LOWEST_RATE, _HIGHEST_RATE = -0.99, 1e9
_SEARCHED = "at any rate between -99% and +100,000,000,000%"


def _lowest_rate(periods: int) -> float:
    return min(_LOWEST_RATE, max(-0.999999, -1.0 + 10.0 ** (-250.0 / max(periods, 1))))


def discount_factors(rate: ArrayLike, periods: int) -> Array:
    """(1 + rate)^-t for t = 0..periods-1, with a trailing time axis."""
    rate = np.asarray(rate, dtype=np.float64)
    return (1.0 + rate[..., None]) ** -np.arange(periods)


def npv(rate: ArrayLike, flows: ArrayLike) -> Array:
    """Net present value: sum_t flows_t / (1 + rate)^t, t = 0..N (flow 0 undiscounted)."""
    flows = np.asarray(flows, dtype=np.float64)
    return np.sum(flows * discount_factors(rate, flows.shape[-1]), axis=-1)


def benefit_cost_ratio(rate: ArrayLike, benefits: ArrayLike, costs: ArrayLike) -> Array:
    """PV(benefits) / PV(costs), both flows given as positive amounts by t = 0..N."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return npv(rate, benefits) / npv(rate, costs)


def payback(flows: ArrayLike) -> Array:
    """Years until the cumulative flow turns for good: L + |cum_L| / flow_{L+1}, where L is
    the last t whose cumulative flow is negative; 0 if it never is; NaN if it still is at
    the horizon."""
    flows = np.asarray(flows, dtype=np.float64)
    cumulative = np.cumsum(flows, axis=-1)
    negative = cumulative < 0
    periods = flows.shape[-1]
    # Index of the last negative cumulative value (-1 when there is none).
    last = periods - 1 - np.argmax(negative[..., ::-1], axis=-1)
    last = np.where(negative.any(axis=-1), last, -1)
    following = np.minimum(last + 1, periods - 1)
    cum_last = np.take_along_axis(cumulative, np.maximum(last, 0)[..., None], -1)[..., 0]
    flow_next = np.take_along_axis(flows, following[..., None], -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        years = last + np.abs(cum_last) / flow_next
    years = np.where(last < 0, 0.0, years)
    return np.where(last == periods - 1, np.nan, years)


def sign_changes(flows: ArrayLike) -> NDArray[np.int64]:
    """How many times the flows change sign, zeros skipped (Descartes' bound on IRRs)."""
    flows = np.atleast_2d(np.asarray(flows, dtype=np.float64))
    signs = np.sign(flows)
    counts = np.zeros(flows.shape[:-1], dtype=np.int64)
    previous = np.zeros(flows.shape[:-1])
    for t in range(flows.shape[-1]):
        current = signs[..., t]
        counts += (current != 0) & (previous != 0) & (current != previous)
        previous = np.where(current != 0, current, previous)
    return counts


def _npv_and_slope(rate: Array, flows: Array) -> tuple[Array, Array]:
    """NPV and dNPV/dr of each row at its rate, by Horner's scheme in x = 1/(1+r):
    NPV = sum_t c_t x^t, dNPV/dr = -x^2 dNPV/dx."""
    x = 1.0 / (1.0 + rate)
    value = flows[:, -1].copy()
    derivative = np.zeros_like(value)
    for t in range(flows.shape[1] - 2, -1, -1):
        derivative = derivative * x + value
        value = value * x + flows[:, t]
    return value, -derivative * x * x


def _root_in(flows: Array, low: Array, high: Array, guess: float) -> Array:
    """The one rate in (low, high) where NPV is zero, for each row whose NPV changes sign
    between the ends (NaN for the others): Newton's method from `guess`, kept inside a
    bracket that bisection in log(1 + r) narrows. Rows leave the loop as they converge."""
    f_low, _ = _npv_and_slope(low, flows)
    f_high, _ = _npv_and_slope(high, flows)
    result = np.full(flows.shape[0], np.nan)
    active = np.flatnonzero(np.sign(f_low) * np.sign(f_high) < 0)
    low, high, sign_low = low[active], high[active], np.sign(f_low[active])
    rate = np.where(
        (low < guess) & (guess < high), guess, np.expm1(0.5 * (np.log1p(low) + np.log1p(high)))
    )
    for _ in range(200):
        if active.size == 0:
            break
        value, slope = _npv_and_slope(rate, flows[active])
        same_as_low = np.sign(value) == sign_low
        low = np.where(same_as_low, rate, low)
        high = np.where(same_as_low, high, rate)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = rate - value / slope
        inside = (step > low) & (step < high) & np.isfinite(step)
        new_rate = np.where(inside, step, np.expm1(0.5 * (np.log1p(low) + np.log1p(high))))
        converged = (value == 0) | (np.abs(new_rate - rate) <= 1e-13 * (1.0 + np.abs(rate)))
        rate = np.where(value == 0, rate, new_rate)
        result[active[converged]] = rate[converged]
        keep = ~converged
        active, rate, low, high, sign_low = (
            active[keep],
            rate[keep],
            low[keep],
            high[keep],
            sign_low[keep],
        )
    result[active] = rate  # the few that used every iteration: as close as it got
    return result


@lru_cache(maxsize=64)
def _half_line_maps(periods: int) -> tuple[Array, Array]:
    """Matrices taking flows c_t to the coefficients, in y > 0, of
    (1 + y)^n NPV(x = 1/(1+y)) (roots with r > 0) and of NPV(x = 1 + y) (roots with
    -1 < r < 0), x = 1/(1+r). By Descartes' rule, the sign changes of each bound the
    roots on its half-line, with the same parity."""
    n = periods - 1
    t = np.arange(periods)
    positive = np.array([[comb(n - i, k) for k in t] for i in t], dtype=np.float64)
    negative = np.array([[comb(i, k) for k in t] for i in t], dtype=np.float64)
    return positive, negative


def polynomial_rates(flows: ArrayLike) -> list[float]:
    """Every rate r > -1 where NPV is zero: the positive real roots x of
    sum_t flows_t x^t, x = 1/(1+r), each polished by Newton's method."""
    flows = np.asarray(flows, dtype=np.float64)
    # Flows below 1e-14 of the largest are noise to the root finder: treat them as zero.
    coefficients = np.where(np.abs(flows) < 1e-14 * np.abs(flows).max(initial=0.0), 0.0, flows)
    coefficients = np.trim_zeros(coefficients, "b")
    leading_zeros = len(coefficients) - len(np.trim_zeros(coefficients, "f"))
    coefficients = coefficients[leading_zeros:]  # x = 0 roots mean nothing as rates
    if len(coefficients) < 2:
        return []
    roots = np.roots(coefficients[::-1])
    powers_of = np.arange(len(coefficients))
    lowest = _lowest_rate(len(flows))
    rates: list[float] = []
    for root in roots:
        if abs(root.imag) > 1e-6 * max(1.0, abs(root)) or root.real <= 0:
            continue
        x = float(root.real)
        for _ in range(50):
            powers = x**powers_of
            value = float(np.dot(coefficients, powers))
            slope = float(np.dot(coefficients[1:] * powers_of[1:], powers[:-1]))
            if slope == 0:
                break
            step = value / slope
            x -= step
            if abs(step) <= 1e-15 * abs(x):
                break
        if not 0 < x < np.inf:
            continue
        terms = coefficients * x**powers_of
        if abs(terms.sum()) > 1e-9 * np.abs(terms).sum():
            continue
        rate = 1.0 / x - 1.0
        if not lowest <= rate <= _HIGHEST_RATE:
            continue
        if not any(abs(rate - known) <= 1e-7 * (1 + abs(known)) for known in rates):
            rates.append(rate)
    return sorted(rates)


@dataclass(frozen=True)
class IrrBatch:
    """IRRs of many flow series: the rate where it is unique (else NaN), a status code
    per row (UNIQUE, UNDEFINED, MULTIPLE), and every rate found, by row."""

    rates: Array
    status: NDArray[np.int64]
    half_line_roots: Array  # (rows, 2): the root with r < 0 and the one with r > 0, or NaN
    polynomial_roots: dict[int, list[float]]  # rows solved from the whole polynomial

    def all_rates(self, row: int) -> list[float]:
        if row in self.polynomial_roots:
            return self.polynomial_roots[row]
        return [float(rate) for rate in self.half_line_roots[row] if not np.isnan(rate)]


def irr_many(flows: ArrayLike) -> IrrBatch:
    """IRRs of many flow series (rows).

    Descartes' rule of signs, applied to the NPV polynomial mapped onto each half-line of
    rates (r > 0 and -1 < r < 0), bounds the roots on each; where both bounds are 0 or 1
    the roots are known to be exactly that many, and each is found for all rows at once
    inside its half-line. Other rows (rare: flows whose sign changes several times and
    leave the count open) get every root from the NPV polynomial. One root is a unique
    IRR; none is undefined; several are "multiple" and the rate is left NaN."""
    flows = np.atleast_2d(np.asarray(flows, dtype=np.float64))
    rows, periods = flows.shape
    positive_map, negative_map = _half_line_maps(periods)
    positive_bound = sign_changes(flows @ positive_map)
    negative_bound = sign_changes(flows @ negative_map)
    zero_at_zero = np.abs(flows.sum(axis=1)) <= 1e-12 * np.abs(flows).sum(axis=1)
    certain = (positive_bound <= 1) & (negative_bound <= 1) & ~zero_at_zero

    lowest = np.full(rows, _lowest_rate(periods))
    positive_root = np.full(rows, np.nan)
    negative_root = np.full(rows, np.nan)
    has_positive = np.flatnonzero(certain & (positive_bound == 1))
    has_negative = np.flatnonzero(certain & (negative_bound == 1))
    if has_positive.size:
        positive_root[has_positive] = _root_in(
            flows[has_positive],
            np.zeros(has_positive.size),
            np.full(has_positive.size, _HIGHEST_RATE),
            0.1,
        )
    if has_negative.size:
        negative_root[has_negative] = _root_in(
            flows[has_negative], lowest[has_negative], np.zeros(has_negative.size), -0.1
        )
    found = np.stack([negative_root, positive_root], axis=1)  # ordered: negative first
    count = np.sum(~np.isnan(found), axis=1)
    rates = np.where(
        count == 1, np.nanmax(np.where(np.isnan(found), -np.inf, found), axis=1), np.nan
    )
    status = np.select([count == 1, count > 1], [UNIQUE, MULTIPLE], UNDEFINED).astype(np.int64)
    polynomial_roots = {}
    for row in np.flatnonzero(~certain):
        roots = polynomial_rates(flows[row])
        polynomial_roots[int(row)] = roots
        rates[row] = roots[0] if len(roots) == 1 else np.nan
        status[row] = UNIQUE if len(roots) == 1 else MULTIPLE if roots else UNDEFINED
    return IrrBatch(rates, status, found, polynomial_roots)


@dataclass(frozen=True)
class Irr:
    """The internal rate of return of one flow series, with how sure it is."""

    status: IrrStatus
    value: float | None = None
    rates: list[float] = field(default_factory=list)
    reason: str = ""


def irr(flows: ArrayLike) -> Irr:
    """The IRR of one series of flows t = 0..N, or why there is none or several."""
    flows = np.asarray(flows, dtype=np.float64)
    return irr_of_row(irr_many(flows[None, :]), 0, flows)


def irr_of_row(batch: IrrBatch, row: int, flows: ArrayLike) -> Irr:
    """The IRR of row `row` of a batch that `irr_many` computed, whose flows t = 0..N
    are `flows`: the same as `irr(flows)`, without solving again."""
    flows = np.asarray(flows, dtype=np.float64)
    code, rates = int(batch.status[row]), batch.all_rates(row)
    if code == UNIQUE:
        return Irr("unique", float(batch.rates[row]), rates)
    if code == MULTIPLE:
        listed = ", ".join(f"{rate:.4%}" for rate in rates)
        return Irr(
            "multiple",
            None,
            rates,
            f"the flows change sign {int(sign_changes(flows)[0])} times and NPV is zero at "
            f"{len(rates)} rates ({listed}): no single IRR",
        )
    if int(sign_changes(flows)[0]) == 0:
        reason = "all flows have the same sign: no rate makes NPV zero"
    else:
        reason = f"NPV is not zero {_SEARCHED}"
    return Irr("undefined", None, [], reason)


def year_fractions(dates: list[date]) -> Array:
    """Years from the first date, counted as days / 365 (the XNPV convention)."""
    first = dates[0]
    return np.array([(day - first).days / 365.0 for day in dates])


def xnpv(rate: float, amounts: ArrayLike, dates: list[date]) -> float:
    """NPV of dated flows: sum_i amount_i / (1 + rate)^((d_i - d_0) / 365)."""
    amounts = np.asarray(amounts, dtype=np.float64)
    return float(np.sum(amounts / (1.0 + rate) ** year_fractions(dates)))


def xirr(amounts: ArrayLike, dates: list[date]) -> Irr:
    """The rate that makes the XNPV of dated flows zero, found by scanning rates for sign
    changes of XNPV and narrowing each bracket by bisection."""
    amounts = np.asarray(amounts, dtype=np.float64)
    if len(amounts) != len(dates) or len(amounts) < 2:
        raise ValueError("give as many dates as amounts, at least two of each")
    order = np.argsort(np.array([day.toordinal() for day in dates]), kind="stable")
    amounts = amounts[order]
    dates = [dates[i] for i in order]
    times = year_fractions(dates)
    if not ((amounts > 0).any() and (amounts < 0).any()):
        return Irr("undefined", None, [], "all flows have the same sign: no rate makes XNPV zero")
    grid = np.expm1(
        np.linspace(np.log1p(_lowest_rate(int(times.max()) + 1)), np.log1p(_HIGHEST_RATE), 4001)
    )
    values = np.sum(amounts[None, :] / (1.0 + grid[:, None]) ** times[None, :], axis=1)
    brackets = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
    rates = []
    for i in brackets:
        low, high = grid[i], grid[i + 1]
        f_low = values[i]
        for _ in range(200):
            middle = 0.5 * (low + high)
            f_middle = float(np.sum(amounts / (1.0 + middle) ** times))
            if np.sign(f_middle) == np.sign(f_low):
                low, f_low = middle, f_middle
            else:
                high = middle
            if high - low <= 1e-14 * (1 + abs(low)):
                break
        rates.append(0.5 * (low + high))
    if not rates:
        return Irr("undefined", None, [], f"XNPV is not zero {_SEARCHED}")
    if len(rates) > 1:
        listed = ", ".join(f"{rate:.4%}" for rate in rates)
        return Irr("multiple", None, rates, f"XNPV is zero at {len(rates)} rates ({listed})")
    return Irr("unique", rates[0], rates)
