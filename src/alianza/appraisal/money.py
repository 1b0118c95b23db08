"""Rounding money the way the reference tool does."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def round_cents(amount: ArrayLike) -> NDArray[np.float64]:
    """Round to the cent, halves away from zero, on the binary value of the amount.

    This is RuralInvest's rounding: 3.875 -> 3.88, but 5.715 (stored as 5.71499...) -> 5.71.
    Python's `round` agrees on such values; numpy's `round` would send exact halves to even.
    """
    value = np.asarray(amount, dtype=np.float64)
    return np.sign(value) * np.floor(np.abs(value) * 100.0 + 0.5) / 100.0


def cents(value: float) -> float:
    """One amount rounded to the cent (see `round_cents`), as a Python float."""
    return float(round_cents(value))
