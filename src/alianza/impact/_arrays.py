"""Input checks shared by the indicators: one-dimensional float arrays and their weights."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def values_and_weights(
    values: ArrayLike, weights: ArrayLike | None = None
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """`values` as a 1-D float array (float32 kept as is, to save memory at 10 M farmers) and
    `weights` (ones when None) of the same length; weights must be finite and >= 0."""
    x = np.asarray(values)
    if x.dtype.kind not in "f":
        x = x.astype(np.float64)
    if x.ndim != 1:
        raise ValueError(f"values: must be one-dimensional, got shape {x.shape}")
    if weights is None:
        return x, np.ones(x.shape[0], dtype=x.dtype)
    w = np.asarray(weights)
    if w.dtype.kind not in "f":
        w = w.astype(np.float64)
    if w.shape != x.shape:
        raise ValueError(f"weights: must have the shape of values {x.shape}, got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights: must be finite and >= 0")
    return x, w


def group_codes(groups: ArrayLike, size: int) -> tuple[NDArray[np.generic], NDArray[np.intp]]:
    """Distinct group labels and each element's index into them."""
    labels = np.asarray(groups)
    if labels.shape != (size,):
        raise ValueError(f"groups: must have one label per value ({size}), got {labels.shape}")
    if labels.dtype.kind in "biu" and size > 0:
        # Booleans and small integers (sex, youth, a demographic cell): counting, not sorting,
        # which is O(n) instead of np.unique's O(n log n).
        low, high = int(labels.min()), int(labels.max())
        if high - low < 1 << 16:
            offsets = labels.astype(np.intp) - low
            present = np.flatnonzero(np.bincount(offsets, minlength=high - low + 1))
            lookup = np.zeros(high - low + 1, dtype=np.intp)
            lookup[present] = np.arange(present.shape[0])
            distinct = (present + low).astype(labels.dtype)
            return distinct, lookup[offsets]
    distinct, codes = np.unique(labels, return_inverse=True)
    return distinct, codes.reshape(-1)


def label(value: object) -> object:
    """A group label as a plain Python value (np.str_ -> str, np.bool_ -> bool, ...)."""
    return value.item() if isinstance(value, np.generic) else value
