"""Reproducible random streams, independent of chunking and workers.

Every stream is keyed by ``numpy.random.SeedSequence(seed, spawn_key=(kind, index))`` -- the same
SeedSequence that ``SeedSequence(seed).spawn(...)`` nested by (kind, index) would give -- where
``kind`` says what it drives (farmer draws of one market, the population of one market, district
weather, national prices) and ``index`` is the market (or 0). The key seeds a counter-based
Philox generator; season ``t`` uses the block of counters starting at ``(0, 0, 0, t)``, so each
(stream, season) pair is its own stream (2**192 draws apart) and can be created in about 10 us,
without replaying earlier seasons. A market is always simulated whole by one chunk, so its
draws are the same whatever the chunk size, worker count or runner.
"""

from __future__ import annotations

import numpy as np

FARMER_DRAWS = 0
POPULATION = 1
WEATHER = 2
PRICES = 3


def stream_key(seed: int, kind: int, index: int = 0) -> np.ndarray:
    """The 128-bit Philox key of stream (kind, index) under this seed."""
    sequence = np.random.SeedSequence(seed, spawn_key=(kind, index))
    return sequence.generate_state(2, np.uint64)


def season_generator(key: np.ndarray, season: int) -> np.random.Generator:
    """The generator of one stream in one season (season >= 0; -1 style offsets not allowed)."""
    counter = np.array([0, 0, 0, season], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key, counter=counter))
