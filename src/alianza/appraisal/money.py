"""Rounding money the way the reference tool does."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from numpy.typing import ArrayLike, NDArray

_CENT = Decimal("0.01")
# Sums of binary amounts carry noise in their last bits (5.715 added up from other lines
# can come out as 5.714999999999999 here and 5.715000000000001 there): below this many
# decimals a value is taken as the decimal it was meant to be before it is rounded.
_MEANT_DECIMALS = 9


def _decimal(value: float) -> Decimal:
    """The decimal a binary value stands for: its shortest form (`repr`, which is Java's
    `Double.toString`) once the noise below 1e-9 is cleared."""
    return Decimal(repr(round(value, _MEANT_DECIMALS)))


def _round_decimal(value: float) -> float:
    """One value rounded as RuralInvest (Java) rounds it, half up to the cent on its
    decimal form."""
    return float(_decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP))


def round_cents(amount: ArrayLike) -> NDArray[np.float64]:
    """Round to the cent, halves away from zero, on the amount as it is written.

    RuralInvest rounds `new BigDecimal(Double.toString(x))` half up: the shortest decimal
    that names the binary value, so 2.675 (stored as 2.67499999...) is a half and goes to
    2.68, and 3.875 to 3.88. Away from a half, floor(|x| * 100 + 0.5) gives the same cent;
    the few values within a hair of a half cent are rounded through their decimal form,
    with the noise of binary sums below 1e-9 cleared first (a half cent reached by adding
    lines stays a half cent, whichever order the lines were added in).
    """
    value = np.asarray(amount, dtype=np.float64)
    scaled = np.abs(value) * 100.0
    rounded = np.array(np.sign(value) * np.floor(scaled + 0.5) / 100.0, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        near_half = (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6) & np.isfinite(value)
    if near_half.any():
        flat, flat_value = rounded.reshape(-1), value.reshape(-1)
        for index in np.flatnonzero(near_half):
            flat[index] = _round_decimal(float(flat_value[index]))
    return rounded


def round_to(value: float, places: int) -> float:
    """One value rounded half up to `places` decimals on its decimal form (RuralInvest's
    rounding of periods and rates)."""
    quantum = Decimal(1).scaleb(-places)
    return float(_decimal(float(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def cents(value: float) -> float:
    """One amount rounded to the cent (see `round_cents`), as a Python float."""
    return float(round_cents(value))
