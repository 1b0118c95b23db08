"""The compiled kernel's cash-bin shortcut gives the bins of `statistics.cash_bin` exactly."""

from __future__ import annotations

import math

import numpy as np

from alianza.ladder.season_kernel import CASH_CELLS_PER_OCTAVE, cash_cell, cash_cell_starts
from alianza.ladder.statistics import CASH_THRESHOLDS_CENTS, cash_bin


def test_cash_cell_starts_then_stepping_up_gives_the_searched_bin() -> None:
    thresholds = CASH_THRESHOLDS_CENTS[CASH_THRESHOLDS_CENTS < 2.0**53]
    near_edges = np.concatenate([np.floor(thresholds) + offset for offset in (-1, 0, 1)])
    values = np.unique(
        np.concatenate(
            [
                np.arange(1, 5000),
                np.random.default_rng(0).integers(1, 10**13, 20_000),
                near_edges.astype(np.int64).clip(1),
            ]
        )
    )
    starts = cash_cell_starts(CASH_THRESHOLDS_CENTS)
    expected = cash_bin(values)
    for value, bin_expected in zip(values.tolist(), expected.tolist(), strict=True):
        mantissa, exponent = math.frexp(float(value))
        cell = exponent * CASH_CELLS_PER_OCTAVE + int((mantissa - 0.5) * 2 * CASH_CELLS_PER_OCTAVE)
        assert cash_cell(value) == cell  # the kernel reads the same cell from the float's bits
        guess = int(starts[cell])
        steps = 0
        while guess < CASH_THRESHOLDS_CENTS.size and CASH_THRESHOLDS_CENTS[guess] <= float(value):
            guess += 1
            steps += 1
        assert 1 + guess == bin_expected
        assert steps <= 1
