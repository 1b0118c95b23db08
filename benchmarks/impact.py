"""Benchmark: the impact indicators on 10 M synthetic farmers x 20 seasons, streamed from
Parquet in chunks, with peak memory, against baselines measured in the same run.

1. Streamed indicators, one chunk of farmers at a time (bounded memory): income to 2021 PPP $
   a person a day for every season, SDG 1.1.1 headcount, poverty gap and squared gap at
   $3.00 by sex, youth and minority (person-weighted), SDG 2.3.1 and 2.3.2, land spared, and
   the Kaplan-Meier time to cross the line (censored at the last season), merged by adding
   counts. Baseline: reading the same columns from Parquet and summing them (the I/O floor).
2. Indicators that need a global order, on float32 arrays of all farmers (40 MB each at 10 M):
   Gini, Palma, the five report quantiles and SDG 10.1.1 (first against last season).
   Baseline: the same figures straight from numpy (np.percentile, np.sort), checked equal.

Target (issue 12): <= 30 s and <= 2 GB peak at 10 M farmers x 20 seasons.
Run: .venv/bin/python benchmarks/impact.py [--farmers 10000000] [--seasons 20] [--chunk 500000]
The synthetic Parquet file is written first (not timed) to a temporary folder and deleted.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from alianza.impact import (
    INTERNATIONAL_POVERTY_LINE,
    QUANTILES,
    bottom40_growth,
    country_conversion,
    fgt_by_group,
    gini,
    kaplan_meier_from_counts,
    land_spared,
    median_time,
    palma_ratio,
    person_weights,
    ppp_dollars_per_person_day,
    production_per_labour_day,
    time_to_cross,
    weighted_quantile,
)

DAYS_PER_SEASON = 91


def peak_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def season_columns(seasons: int) -> list[str]:
    return [f"income_s{s:02d}" for s in range(1, seasons + 1)]


def generate(path: Path, farmers: int, seasons: int, chunk: int, seed: int = 2026) -> None:
    """Households in Tanzania: size 1-9, sex/youth/minority of the farmer, a season's household
    income in TZS growing 3% a season on average (lognormal), maize production and area."""
    streams = np.random.SeedSequence(seed).spawn((farmers + chunk - 1) // chunk)
    schema = pa.schema(
        [
            ("household_size", pa.int8()),
            ("female", pa.bool_()),
            ("youth", pa.bool_()),
            ("minority", pa.bool_()),
            ("production_t", pa.float32()),
            ("area_ha", pa.float32()),
            ("baseline_yield_t_ha", pa.float32()),
            ("labour_days", pa.float32()),
        ]
        + [(name, pa.float32()) for name in season_columns(seasons)]
    )
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for index, start in enumerate(range(0, farmers, chunk)):
            n = min(chunk, farmers - start)
            rng = np.random.default_rng(streams[index])
            size = rng.integers(1, 10, n).astype(np.int8)
            columns: dict[str, np.ndarray] = {
                "household_size": size,
                "female": rng.random(n) < 0.4,
                "youth": rng.random(n) < 0.3,
                "minority": rng.random(n) < 0.15,
                "production_t": rng.gamma(2.0, 0.8, n).astype(np.float32),
                "area_ha": rng.uniform(0.2, 2.0, n).astype(np.float32),
                "baseline_yield_t_ha": rng.uniform(0.8, 1.6, n).astype(np.float32),
                "labour_days": rng.uniform(30, 200, n).astype(np.float32),
            }
            level = np.log(size.astype(np.float64) * DAYS_PER_SEASON * 2.5 * 681.85) + rng.normal(
                0, 0.7, n
            )
            growth = rng.normal(0.03, 0.02, n)
            for s, name in enumerate(season_columns(seasons)):
                noise = rng.normal(0, 0.25, n)
                columns[name] = np.exp(level + growth * s + noise).astype(np.float32)
            writer.write_table(pa.table(columns, schema=schema))


def read_only(path: Path) -> float:
    """Baseline for the streamed pass: read every column and sum it (the I/O floor)."""
    total = 0.0
    for batch in row_groups(path):
        for column in batch.columns:
            total += float(np.sum(column.to_numpy(), dtype=np.float64))
    return total


def row_groups(path: Path) -> Iterator[pa.Table]:
    """The file one row group (one written chunk) at a time: bounded memory (iter_batches
    pre-buffers and held about twice as much at 10 M farmers)."""
    parquet = pq.ParquetFile(path)
    for index in range(parquet.num_row_groups):
        yield parquet.read_row_group(index)


def streamed(path: Path, farmers: int, seasons: int) -> dict[str, object]:
    """One pass over the file, a row group (a chunk of farmers) at a time; keeps only sums,
    counts and two float32 arrays."""
    tanzania = country_conversion("TZA")
    line = INTERNATIONAL_POVERTY_LINE
    cells = 8  # female * 4 + youth * 2 + minority
    weight_by_cell = np.zeros(cells)
    fgt_sums = np.zeros((3, cells))
    events, censored = np.zeros(seasons + 1), np.zeros(seasons + 1)
    productivity_sum = income_sum = spared_ha = 0.0
    first = np.empty(farmers, dtype=np.float32)  # welfare in season 1, for SDG 10.1.1
    last = np.empty(farmers, dtype=np.float32)  # welfare in the last season
    start = 0
    for batch in row_groups(path):
        table = {name: batch.column(name).to_numpy() for name in batch.schema.names}
        n = batch.num_rows
        # Farmers x seasons in column order: each season's column is copied contiguously
        # (np.column_stack into row order was a tenth of the whole pass).
        income = np.empty((n, seasons), dtype=np.float32, order="F")
        for s, name in enumerate(season_columns(seasons)):
            income[:, s] = table[name]
        size = table["household_size"].astype(np.float64)
        welfare = ppp_dollars_per_person_day(
            income, size[:, None], DAYS_PER_SEASON, tanzania.ppp_factor
        )
        first[start : start + n] = welfare[:, 0]
        last[start : start + n] = welfare[:, -1]
        # SDG 1.1.1 and FGT by demographic cell, merged by weighted sums.
        cell = table["female"] * 4 + table["youth"] * 2 + table["minority"]
        persons = person_weights(size)
        totals = np.bincount(cell, weights=persons, minlength=cells)
        weight_by_cell += totals
        for alpha in (0, 1, 2):
            by_cell = fgt_by_group(welfare[:, -1], line, cell, alpha, persons)
            fgt_sums[alpha] += [by_cell.get(c, 0.0) * totals[c] for c in range(cells)]
        # Time to cross the line: counts of crossings and censorings per season.
        durations, crossed = time_to_cross(welfare, line.dollars_per_person_day)
        events += np.bincount(durations[crossed], minlength=seasons + 1)
        censored += np.bincount(durations[~crossed], minlength=seasons + 1)
        # SDG 2.3.1 (t per labour day), SDG 2.3.2 (income a year, PPP $), land spared (ha).
        ratio, _ = production_per_labour_day(table["production_t"], table["labour_days"])
        productivity_sum += ratio * n
        income_sum += float(np.sum(income[:, -4:], dtype=np.float64)) / tanzania.ppp_factor
        spared_ha += float(
            land_spared(table["production_t"], table["area_ha"], table["baseline_yield_t_ha"]).sum()
        )
        start += n
    curve = kaplan_meier_from_counts(np.arange(seasons + 1), events, censored)
    headcount = fgt_sums / np.maximum(weight_by_cell, 1e-300)
    return {
        "first": first,
        "last": last,
        "headcount_all": fgt_sums[0].sum() / weight_by_cell.sum(),
        "poverty_gap_all": fgt_sums[1].sum() / weight_by_cell.sum(),
        "squared_gap_all": fgt_sums[2].sum() / weight_by_cell.sum(),
        "headcount_female": headcount[0, 4:].dot(weight_by_cell[4:]) / weight_by_cell[4:].sum(),
        "median_seasons_to_cross": median_time(curve),
        "sdg_2_3_1_t_per_day": productivity_sum / farmers,
        "sdg_2_3_2_ppp_per_year": income_sum / farmers,
        "land_spared_ha": spared_ha,
    }


def global_order(first: np.ndarray, last: np.ndarray, years: float) -> dict[str, float]:
    """Gini, Palma, quantiles and SDG 10.1.1 through alianza.impact: each period's float32
    array sorted once in place, then every indicator in one pass over it (presorted=True)."""
    first.sort()
    last.sort()
    quantiles = weighted_quantile(last, list(QUANTILES.values()), presorted=True)
    growth = bottom40_growth(first, last, years, presorted=True)
    return {
        "gini": gini(last, presorted=True),
        "palma": palma_ratio(last, presorted=True),
        **{name: float(q) for name, q in zip(QUANTILES, quantiles, strict=True)},
        "bottom40_growth": growth.bottom40,
        "total_growth": growth.total,
    }


def numpy_baseline(first: np.ndarray, last: np.ndarray, years: float) -> dict[str, float]:
    """The same figures straight from numpy: np.percentile (inverted CDF) for the quantiles,
    and Gini, Palma and the bottom-40% means from np.sort of each period (n a multiple of 10,
    so the 40% and 90% boundaries fall between farmers)."""
    quantiles = np.percentile(last, [100 * q for q in QUANTILES.values()], method="inverted_cdf")
    before, after = np.sort(first).astype(np.float64), np.sort(last).astype(np.float64)
    n = after.shape[0]
    ranks = np.arange(1, n + 1, dtype=np.float64)
    total = after.sum()
    gini_value = 2.0 * np.dot(ranks, after) / (n * total) - (n + 1) / n
    bottom, top = int(0.4 * n), int(0.9 * n)
    palma = after[top:].sum() / after[:bottom].sum()
    growth = (after[:bottom].mean() / before[:bottom].mean()) ** (1 / years) - 1
    return {
        "gini": gini_value,
        "palma": palma,
        **dict(zip(QUANTILES, map(float, quantiles), strict=True)),
        "bottom40_growth": growth,
        "total_growth": (after.mean() / before.mean()) ** (1 / years) - 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--farmers", type=int, default=10_000_000)
    parser.add_argument("--seasons", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alianza-impact-") as folder:
        path = Path(folder) / "farmers.parquet"
        began = time.perf_counter()
        generate(path, args.farmers, args.seasons, args.chunk)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {args.farmers:,} farmers x {args.seasons} seasons, {size_mb:,.0f} MB "
            f"Parquet, in {time.perf_counter() - began:.1f} s (not timed); peak {peak_mb():,.0f} MB"
        )

        began = time.perf_counter()
        read_only(path)
        read_s = time.perf_counter() - began

        began = time.perf_counter()
        results = streamed(path, args.farmers, args.seasons)
        stream_s = time.perf_counter() - began

    first, last = results.pop("first"), results.pop("last")
    assert isinstance(first, np.ndarray) and isinstance(last, np.ndarray)
    began = time.perf_counter()
    years = (args.seasons - 1) / 4  # four seasons a year
    numpy_figures = numpy_baseline(first, last, years)
    numpy_s = time.perf_counter() - began
    began = time.perf_counter()
    figures = global_order(first, last, years)
    global_s = time.perf_counter() - began
    for name in ("gini", *QUANTILES):
        assert abs(figures[name] - numpy_figures[name]) <= 1e-6 * max(
            1.0, abs(numpy_figures[name])
        ), name

    for name, value in {**results, **figures}.items():
        print(f"  {name:26s} {value}")
    total = stream_s + global_s
    print(
        f"streamed indicators: {stream_s:6.1f} s   baseline (read and sum the Parquet): "
        f"{read_s:6.1f} s   ratio {stream_s / read_s:5.2f}"
    )
    print(
        f"global-order indicators (Gini, Palma, 5 quantiles, SDG 10.1.1): {global_s:6.1f} s   "
        f"baseline (np.percentile + np.sort): {numpy_s:6.1f} s   ratio {global_s / numpy_s:5.2f}"
    )
    verdict = "met" if total <= 30 and peak_mb() <= 2048 else "NOT met"
    print(
        f"total {total:.1f} s, peak memory {peak_mb():,.0f} MB; target <= 30 s and <= 2 GB: {verdict}"
    )


if __name__ == "__main__":
    main()
