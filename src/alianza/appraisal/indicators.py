"""Investment indicators over cash flows, vectorised: the last axis is time t = 0..N,
any leading axes are plans or scenarios.

An IRR is reported only when it is right: a rate where no rate makes NPV zero is
"undefined" with its reason, and flows with several such rates are "multiple", with the
rates, never one of them picked silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
IrrStatus = Literal["unique", "undefined", "multiple"]

# Codes of the batch IRR status array.
UNIQUE, UNDEFINED, MULTIPLE = 0, 1, 2
STATUS_NAMES: dict[int, IrrStatus] = {UNIQUE: "unique", UNDEFINED: "undefined", MULTIPLE: "multiple"}

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
    t = np.arange(flows.shape[-1])
    factors = (1.0 + rate[..., None]) ** -t
    value = np.sum(flows * factors, axis=-1)
    slope = np.sum(-t * flows * factors / (1.0 + rate[..., None]), axis=-1)
    return value, slope


def _single_root(flows: Array) -> Array:
    """The IRR of flows with exactly one sign change (one root by Descartes' rule), found
    by Newton's method kept inside a bracket that bisection narrows; NaN if the root
    lies outside the searched rates."""
    low = np.full(flows.shape[0], _lowest_rate(flows.shape[-1]))
    high = np.full(flows.shape[0], _HIGHEST_RATE)
    f_low, _ = _npv_and_slope(low, flows)
    f_high, _ = _npv_and_slope(high, flows)
    found = np.sign(f_low) != np.sign(f_high)
    rate = np.where(found, 0.1, np.nan)
    for _ in range(200):
        value, slope = _npv_and_slope(rate, flows)
        same_as_low = np.sign(value) == np.sign(f_low)
        low = np.where(same_as_low, rate, low)
        high = np.where(same_as_low, high, rate)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = rate - value / slope
        inside = (step > low) & (step < high) & np.isfinite(step)
        # Bisect in log(1 + r), so that huge brackets shrink fast.
        middle = np.expm1(0.5 * (np.log1p(low) + np.log1p(high)))
        new_rate = np.where(inside, step, middle)
        done = ~found | (np.abs(new_rate - rate) <= 1e-13 * (1.0 + np.abs(rate)))
        rate = np.where(found, new_rate, np.nan)
        if done.all():
            break
    return rate


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


def irr_many(flows: ArrayLike) -> tuple[Array, NDArray[np.int64], list[list[float]]]:
    """IRRs of many flow series (rows): (rates, status codes, all rates per row).

    With one sign change the IRR exists and is unique (Descartes); it is found for all
    rows at once. With none, no rate makes NPV zero. With several, every root is found
    from the NPV polynomial; one root is still a unique IRR, several are "multiple" and
    the rate is left NaN."""
    flows = np.atleast_2d(np.asarray(flows, dtype=np.float64))
    rows = flows.shape[0]
    changes = sign_changes(flows)
    rates = np.full(rows, np.nan)
    status = np.full(rows, UNDEFINED, dtype=np.int64)
    all_rates: list[list[float]] = [[] for _ in range(rows)]
    simple = np.flatnonzero(changes == 1)
    if simple.size:
        found = _single_root(flows[simple])
        rates[simple] = found
        status[simple] = np.where(np.isnan(found), UNDEFINED, UNIQUE)
        for row, rate in zip(simple, found, strict=True):
            all_rates[row] = [] if np.isnan(rate) else [float(rate)]
    for row in np.flatnonzero(changes > 1):
        roots = polynomial_rates(flows[row])
        all_rates[row] = roots
        if len(roots) == 1:
            rates[row], status[row] = roots[0], UNIQUE
        elif len(roots) > 1:
            status[row] = MULTIPLE
    return rates, status, all_rates


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
    rates, status, all_rates = irr_many(flows[None, :])
    code = int(status[0])
    if code == UNIQUE:
        return Irr("unique", float(rates[0]), all_rates[0])
    if code == MULTIPLE:
        listed = ", ".join(f"{rate:.4%}" for rate in all_rates[0])
        return Irr(
            "multiple",
            None,
            all_rates[0],
            f"the flows change sign {int(sign_changes(flows)[0])} times and NPV is zero at "
            f"{len(all_rates[0])} rates ({listed}): no single IRR",
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
    grid = np.expm1(np.linspace(np.log1p(_lowest_rate(int(times.max()) + 1)), np.log1p(_HIGHEST_RATE), 4001))
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
