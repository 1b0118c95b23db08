"""Streams: the precomputed warm-up gives exactly numpy's own SFC64 seeding."""

from __future__ import annotations

import numpy as np

from alianza.ladder.streams import fill_standard_normal, season_generator, stream_key


def numpy_seeded(seed: int, kind: int, index: int, season: int) -> np.random.Generator:
    """Season's generator as documented: SFC64 state (a, b, c, 1) from the SeedSequence's
    words 3t .. 3t + 2, then 12 outputs discarded, both done by numpy itself."""
    words = np.random.SeedSequence(seed, spawn_key=(kind, index)).generate_state(
        3 * (season + 1), np.uint64
    )[3 * season : 3 * season + 3]
    bit_generator = np.random.SFC64(0)
    bit_generator.state = {
        "bit_generator": "SFC64",
        "state": {"state": np.array([*words, 1], dtype=np.uint64)},
        "has_uint32": 0,
        "uinteger": 0,
    }
    bit_generator.random_raw(12)
    return np.random.Generator(bit_generator)


def test_precomputed_warm_up_matches_numpy_seeding() -> None:
    for seed, kind, index in [(0, 0, 0), (2026, 0, 17), (20, 3, 0), (2**63 + 5, 1, 59)]:
        key = stream_key(seed, kind, index, seasons=6)
        for season in range(6):
            expected = numpy_seeded(seed, kind, index, season).standard_normal(1000)
            assert np.array_equal(season_generator(key, season).standard_normal(1000), expected)
            out = np.empty(1000)
            fill_standard_normal(key, season, out)
            assert np.array_equal(out, expected)
