"""How the result moves with its drivers: sensitivity table, switching values, and the risk
of a negative NPV under price and yield shocks.

Drivers scale the plan's flows:
  price       income (sales and own use, valued net of their transport)
  yield       income
  cost        operating costs (inputs, labour), general costs, maintenance
  investment  the investment and its replacements
Salvage and residual values are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from alianza.appraisal.cashflow import CashFlowTable, project_flows, round_flows
from alianza.appraisal.indicators import irr_many, npv
from alianza.appraisal.money import cents

Array = NDArray[np.float64]
DRIVERS = ("price", "yield", "cost", "investment")
CHANGES = (-0.3, -0.2, -0.1, 0.1, 0.2, 0.3)


def scaled_flows(
    table: CashFlowTable,
    price: ArrayLike = 1.0,
    yield_: ArrayLike = 1.0,
    cost: ArrayLike = 1.0,
    investment: ArrayLike = 1.0,
) -> Array:
    """Flows t = 0..N with each driver multiplied by its factor. A factor is a number,
    one per scenario (shape (S, 1)) or one per scenario and year (shape (S, N))."""
    c = table.components
    horizon = table.horizon
    price, yield_, cost, investment = (
        np.asarray(factor, dtype=np.float64) for factor in (price, yield_, cost, investment)
    )
    income = (c["sales"] + c["own_use"]) * price * yield_
    operating = (c["inputs"] + c["labour"]) * cost
    overheads = (c["general"] + c["maintenance"]) * cost
    spent = (c["investment"] + c["replacements"]) * investment
    net = income + c["salvage"] + c["residual"] - operating - overheads - spent
    net = np.broadcast_to(net, np.broadcast_shapes(net.shape, (horizon,)))
    first_investment = (c["investment"] * investment)[..., 0]
    return project_flows(net, np.broadcast_to(first_investment, net.shape[:-1]))


def _stacked_factors(changes: list[tuple[str, float]]) -> dict[str, Array]:
    """Factors for one scenario per (driver, factor) pair, stacked along a leading axis
    (shape (S, 1) each): the named driver at its factor, the other drivers at 1.0."""
    return {
        "yield_" if name == "yield" else name: np.array(
            [[factor if driver == name else 1.0] for driver, factor in changes]
        )
        for name in DRIVERS
    }


@dataclass(frozen=True)
class SensitivityRow:
    driver: str
    change: float  # e.g. -0.1 for a 10% fall
    npv: float
    irr: float | None


def sensitivity_table(
    table: CashFlowTable, rate: float, changes: tuple[float, ...] = CHANGES
) -> list[SensitivityRow]:
    """NPV and IRR with each driver moved by each change, the others as planned."""
    # Every driver's scenarios in one stack, so that the NPVs and IRRs come from one call
    # each (multiplying by a factor of 1.0 leaves the flows exactly as they are).
    scenarios = [(driver, 1.0 + change) for driver in DRIVERS for change in changes]
    flows = round_flows(scaled_flows(table, **_stacked_factors(scenarios)))
    values = npv(rate, flows)
    rates = irr_many(flows).rates
    rows = []
    for (driver, _), change, value, found in zip(
        scenarios, changes * len(DRIVERS), values, rates, strict=True
    ):
        rows.append(
            SensitivityRow(
                driver,
                change,
                cents(value),
                None if np.isnan(found) else float(found),
            )
        )
    return rows


def switching_values(table: CashFlowTable, rate: float) -> dict[str, float | None]:
    """For each driver, the change that brings NPV to zero, the others as planned (NPV is
    linear in each driver: change = -NPV / (dNPV / dfactor)); None where the driver does
    not move NPV."""
    # The plan as planned, then each driver doubled, in one stack.
    scenarios = [("", 1.0)] + [(driver, 2.0) for driver in DRIVERS]
    moved = npv(rate, scaled_flows(table, **_stacked_factors(scenarios)))
    base = float(moved[0])
    values: dict[str, float | None] = {}
    for driver, value in zip(DRIVERS, moved[1:], strict=True):
        slope = float(value) - base
        values[driver] = None if abs(slope) < 1e-9 else -base / slope
    return values


@dataclass(frozen=True)
class RiskOptions:
    """How to shock a plan: `draws` (0: no risk analysis), sd of the yearly price and
    yield factors, and the seed of the draws."""

    draws: int = 0
    price_sd: float = 0.15
    yield_sd: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        if self.draws < 0:
            raise ValueError("risk draws cannot be negative")
        if self.price_sd < 0 or self.yield_sd < 0:
            raise ValueError("standard deviations cannot be negative")


@dataclass(frozen=True)
class Risk:
    options: RiskOptions
    npv_mean: float
    npv_sd: float
    npv_percentiles: dict[str, float]  # p5, p25, p50, p75, p95
    probability_negative_npv: float
    npv: Array  # every draw's NPV


def risk(table: CashFlowTable, rate: float, options: RiskOptions) -> Risk:
    """NPV under shocks: each year of each draw, price and yield are multiplied by
    independent factors ~ Normal(1, sd) cut at 0. Streams come from SeedSequence(seed),
    one for prices and one for yields, so a seed always gives the same draws."""
    if options.draws < 1:
        raise ValueError("a risk analysis needs at least 1 draw")
    price_stream, yield_stream = (
        np.random.default_rng(s) for s in np.random.SeedSequence(options.seed).spawn(2)
    )
    shape = (options.draws, table.horizon)
    price = np.maximum(price_stream.normal(1.0, options.price_sd, shape), 0.0)
    yields = np.maximum(yield_stream.normal(1.0, options.yield_sd, shape), 0.0)
    values = npv(rate, round_flows(scaled_flows(table, price=price, yield_=yields)))
    levels = (5, 25, 50, 75, 95)
    percentiles = np.percentile(values, levels)
    return Risk(
        options=options,
        npv_mean=float(values.mean()),
        npv_sd=float(values.std()),
        npv_percentiles={f"p{p}": float(v) for p, v in zip(levels, percentiles, strict=True)},
        probability_negative_npv=float(np.mean(values < 0)),
        npv=values,
    )
