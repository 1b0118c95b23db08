"""Benchmark: appraise 10,000 generated 20-year plans of 30 lines each, through alianza's
batch path and through a per-plan loop over numpy-financial, in one run.

Targets (issue 2): >= 20,000 plans/s on one core, >= 20x the per-plan loop.
Run: make bench, or .venv/bin/python benchmarks/appraisal.py [--plans N]
"""

from __future__ import annotations

import os

# One core, as the target says: no threaded BLAS behind numpy.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import numpy_financial as npf  # noqa: E402

from alianza.appraisal.batch import evaluate_lines  # noqa: E402
from alianza.appraisal.indicators import UNIQUE  # noqa: E402

YEARS, LINES = 20, 30


def generate(plans: int, seed: int = 2026) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plans like small agribusinesses: 4 investment lines (bought at t=0, renewed at the
    end of each life before the horizon),
    12 income lines ramping up to full production, 14 operating and general cost lines."""
    rng = np.random.default_rng(seed)
    t = np.arange(YEARS + 1)
    amounts = np.zeros((plans, LINES, YEARS + 1))
    is_cost = np.ones(LINES, dtype=bool)
    # investments
    cost = rng.uniform(2_000, 20_000, size=(plans, 4))
    life = rng.integers(4, 15, size=(plans, 4))
    renewed = (t[None, None, :] % life[..., None] == 0) & (t < YEARS)
    amounts[:, :4] = cost[..., None] * renewed
    # income: ramp-up over 1-3 years
    is_cost[4:16] = False
    ramp = rng.integers(1, 4, size=(plans, 1, 1))
    scale = np.clip(t[None, None, :] / ramp, 0, 1) * (t > 0)
    amounts[:, 4:16] = rng.uniform(500, 3_000, size=(plans, 12, 1)) * scale
    # operating costs follow production; general costs are fixed from year 1
    amounts[:, 16:26] = rng.uniform(200, 1_500, size=(plans, 10, 1)) * scale
    amounts[:, 26:30] = rng.uniform(100, 800, size=(plans, 4, 1)) * (t > 0)
    rates = rng.uniform(0.03, 0.15, size=plans)
    return amounts, is_cost, rates


def per_plan_loop(
    amounts: np.ndarray, is_cost: np.ndarray, rates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The baseline: one plan at a time, numpy-financial's npv and irr, and the payback."""
    npvs, irrs = np.empty(len(amounts)), np.empty(len(amounts))
    for p in range(len(amounts)):
        flows = np.round(amounts[p][~is_cost].sum(axis=0) - amounts[p][is_cost].sum(axis=0), 2)
        npvs[p] = npf.npv(rates[p], flows)
        irrs[p] = npf.irr(flows)
        cumulative = np.cumsum(flows)
        negative = np.flatnonzero(cumulative < 0)
        if negative.size and negative[-1] < len(flows) - 1:
            last = negative[-1]
            _ = last + abs(cumulative[last]) / flows[last + 1]
    return npvs, irrs


def best_of(repeats: int, work) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=10_000)
    args = parser.parse_args()
    amounts, is_cost, rates = generate(args.plans)
    batch_seconds, batch = best_of(5, lambda: evaluate_lines(amounts, is_cost, rates))
    loop_seconds, (loop_npv, loop_irr) = best_of(1, lambda: per_plan_loop(amounts, is_cost, rates))

    unique = batch.irr_status == UNIQUE
    npv_gap = float(np.max(np.abs(batch.npv - loop_npv)))
    irr_gap = float(np.nanmax(np.abs(batch.irr[unique] - loop_irr[unique])))
    batch_rate, loop_rate = args.plans / batch_seconds, args.plans / loop_seconds
    print(f"plans: {args.plans:,} x {LINES} lines x {YEARS} years (NPV, IRR, payback, B/C)")
    print(f"alianza batch path        : {batch_rate:>12,.0f} plans/s  ({batch_seconds:.3f} s)")
    print(f"per-plan numpy-financial  : {loop_rate:>12,.0f} plans/s  ({loop_seconds:.3f} s)")
    print(f"ratio batch / loop        : {batch_rate / loop_rate:>12.1f} x   (target >= 20x)")
    print(f"target >= 20,000 plans/s  : {'met' if batch_rate >= 20_000 else 'NOT met'}")
    print(
        f"agreement: max |NPV gap| {npv_gap:.2e}, max |IRR gap| {irr_gap:.2e} "
        f"({int(unique.sum()):,} plans with a unique IRR)"
    )


if __name__ == "__main__":
    main()
