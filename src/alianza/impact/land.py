"""Land spared by higher yields."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from alianza.impact._arrays import Array


def land_spared(production: ArrayLike, area_used: ArrayLike, baseline_yield: ArrayLike) -> Array:
    """Land the same production would have needed at the starting yields, less the land used:

        spared = q / y_0 - A

    q production (t), y_0 the starting (baseline) yield (t/ha) of the same crop and place,
    A area used (ha); hectares, per element (sum them for a programme). Negative where yields
    fell below the baseline (more land used than at starting yields)."""
    q = np.asarray(production, dtype=np.float64)
    area = np.asarray(area_used, dtype=np.float64)
    y0 = np.asarray(baseline_yield, dtype=np.float64)
    if np.any(y0 <= 0):
        raise ValueError("baseline_yield: must be > 0")
    if np.any(q < 0) or np.any(area < 0):
        raise ValueError("production, area_used: must be >= 0")
    spared: Array = q / y0 - area
    return spared
