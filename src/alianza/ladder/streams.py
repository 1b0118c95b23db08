"""Reproducible random streams, independent of chunking and workers.

Every stream belongs to a (kind, index) pair -- ``kind`` says what it drives (farmer draws of one
market, the population of one market, district weather, national prices) and ``index`` is the
market (or 0) -- and to a season. Its seed material is
``numpy.random.SeedSequence(seed, spawn_key=(kind, index))`` (the very SeedSequence that
``SeedSequence(seed).spawn(...)`` nested by kind and index gives), which yields three 64-bit
words per season: words ``3t .. 3t + 2`` of ``generate_state`` seed season t's SFC64 generator
exactly as numpy seeds SFC64 (a, b, c = the words, counter 1, 12 outputs discarded; the
discarding is computed in advance for all seasons by `stream_key`). So each
(kind, index, season) is its own stream, created in a few microseconds, and season t's draws do
not depend on how many seasons are simulated. SFC64 is numpy's fastest bit generator here.
A market is always simulated whole by one chunk, so its draws are the same whatever the chunk
size, worker count or runner.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

FARMER_DRAWS = 0
POPULATION = 1
WEATHER = 2
PRICES = 3
_WARM_UP_OUTPUTS = 12  # as numpy's own SFC64 seeding


def stream_key(seed: int, kind: int, index: int = 0, seasons: int = 1) -> np.ndarray:
    """SFC64 states [seasons, 4] (uint64) of stream (kind, index) for seasons 0 .. seasons - 1.

    Row t is the state numpy's SFC64 reaches when seeded with words 3t .. 3t + 2 of the
    stream's SeedSequence (a, b, c, counter 1) and then warmed up by 12 outputs; the warm-up
    is done here for all seasons at once, with whole-array uint64 arithmetic (wrapping, as in
    C), so that starting a season's stream only sets a state.
    """
    return stream_keys(seed, kind, np.array([index]), seasons)[0]


def stream_keys(seed: int, kind: int, indices: np.ndarray, seasons: int) -> np.ndarray:
    """`stream_key` of several indices at once: [len(indices), seasons, 4] (one warm-up)."""
    words = (
        np.stack(
            [
                np.random.SeedSequence(seed, spawn_key=(kind, int(index)))
                .generate_state(3 * seasons, np.uint64)
                .reshape(seasons, 3)
                for index in indices
            ]
        )
        if len(indices)
        else np.zeros((0, seasons, 3), dtype=np.uint64)
    )
    a, b, c = words[..., 0].copy(), words[..., 1].copy(), words[..., 2].copy()
    counter = np.ones(a.shape, dtype=np.uint64)
    for _ in range(_WARM_UP_OUTPUTS):  # numpy's sfc64_next, output discarded
        tmp = a + b + counter
        counter += np.uint64(1)
        a = b ^ (b >> np.uint64(11))
        b = c + (c << np.uint64(3))
        c = ((c << np.uint64(24)) | (c >> np.uint64(40))) + tmp
    return np.stack([a, b, c, counter], axis=-1)


@functools.lru_cache(maxsize=8)
def market_keys(seed: int, kind: int, markets: int, seasons: int) -> np.ndarray:
    """`stream_keys` of markets 0 .. markets - 1, computed once per process (for the last few
    scenarios); [markets, seasons, 4], read-only."""
    keys = stream_keys(seed, kind, np.arange(markets), seasons)
    keys.flags.writeable = False
    return keys


def _seed(bit_generator: np.random.BitGenerator, key: np.ndarray, season: int) -> None:
    bit_generator.state = {
        "bit_generator": "SFC64",
        "state": {"state": key[season]},
        "has_uint32": 0,
        "uinteger": 0,
    }


def season_generator(key: np.ndarray, season: int) -> np.random.Generator:
    """A new generator of one stream in one season (key from `stream_key`)."""
    bit_generator = np.random.SFC64(0)
    _seed(bit_generator, key, season)
    return np.random.Generator(bit_generator)


_cached = threading.local()


def fill_standard_normal(key: np.ndarray, season: int, out: np.ndarray) -> None:
    """Fill ``out`` with the stream's standard normal draws of that season.

    Same numbers as ``season_generator(key, season).standard_normal(out=out)``, but reuses one
    generator per thread (re-seeded each call): creating a generator costs more than drawing a
    few thousand numbers.
    """
    generator = getattr(_cached, "generator", None)
    if generator is None:
        generator = np.random.Generator(np.random.SFC64(0))
        _cached.generator = generator
    _seed(generator.bit_generator, key, season)
    generator.standard_normal(out=out)
