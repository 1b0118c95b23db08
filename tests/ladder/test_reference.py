"""Reference scenario: the dedicated kernel against the general simulator and a plain loop."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from alianza.ladder.population import market_sizes
from alianza.ladder.reference import ReferenceLadder, simulate_reference
from alianza.ladder.runner import run_chunk, run_local
from alianza.ladder.scenario import load_scenario, with_overrides
from alianza.ladder.streams import FARMER_DRAWS, season_generator, stream_key


def plain_loop(ladder: ReferenceLadder) -> tuple[list[int], list[int]]:
    """The reference rules written farmer by farmer, season by season, in plain Python."""
    prices = [round(p * 100) for p in ladder.level_prices_usd]
    levels, cash_out = [], []
    sizes = market_sizes(ladder.farmers, ladder.markets)
    draws = {}
    for market in range(ladder.markets):
        key = stream_key(ladder.seed, FARMER_DRAWS, market, ladder.seasons)
        draws[market] = [
            season_generator(key, t).standard_normal(int(sizes[market]))
            for t in range(ladder.seasons)
        ]
    for market in range(ladder.markets):
        for farmer in range(int(sizes[market])):
            level, cash = ladder.start_level, round(ladder.start_cash_usd * 100)
            for season in range(ladder.seasons):
                z = float(draws[market][season][farmer])
                multiple = max(1.0 + ladder.return_cv * z, 0.0)
                margin = round_half_even(ladder.output_per_season[level] * multiple * 100.0)
                consumed = round_half_even(ladder.consumption_share * margin)
                cash += margin - consumed
                if level + 1 < len(prices) and cash >= prices[level + 1]:
                    cash -= prices[level + 1]
                    level += 1
            levels.append(level)
            cash_out.append(cash)
    return levels, cash_out


def round_half_even(value: float) -> int:
    return int(round(value))  # Python's round() is half-to-even, like numpy.rint


def test_reference_file_is_parsed_as_the_issue_states(reference_path: Path) -> None:
    ladder = ReferenceLadder.from_scenario(load_scenario(reference_path))
    assert ladder.level_prices_usd == tuple(10.0 * 3**k for k in range(6))
    assert ladder.return_multiple == pytest.approx(1.6)
    assert ladder.return_cv * ladder.return_multiple == pytest.approx(0.4)
    assert ladder.consumption_share == 0.3
    assert (ladder.start_cash_usd, ladder.start_level, ladder.seasons) == (20.0, 0, 20)


@pytest.mark.parametrize("compiled", [False, True])
def test_kernel_matches_plain_loop_exactly(reference_path: Path, compiled: bool) -> None:
    if compiled:
        pytest.importorskip("numba")
    scenario = with_overrides(load_scenario(reference_path), farmers=400, seasons=12)
    ladder = ReferenceLadder.from_scenario(scenario)
    levels, cash = plain_loop(ladder)
    result = simulate_reference(ladder, compiled=compiled)
    assert result.level.tolist() == levels
    assert result.cash_cents.tolist() == cash


def test_kernel_matches_general_simulator_bit_for_bit(reference_path: Path) -> None:
    scenario = with_overrides(load_scenario(reference_path), farmers=3000)
    chunk = run_chunk(scenario, 0, scenario.market_count)
    result = simulate_reference(ReferenceLadder.from_scenario(scenario), track_consumption=True)
    level = sum(k * chunk.farmer_columns[f"owned_level_{k}"] for k in range(6))
    assert np.array_equal(level, result.level)
    assert np.array_equal(chunk.farmer_columns["end_cash_cents"], result.cash_cents)
    assert np.array_equal(chunk.farmer_columns["consumption_cents"], result.consumption_cents)


def test_reference_results_and_closed_form_first_season(reference_path: Path) -> None:
    scenario = with_overrides(load_scenario(reference_path), farmers=20000)
    result = simulate_reference(ReferenceLadder.from_scenario(scenario))
    assert 4.5 <= result.mean_level <= 5.0
    assert 0.0 <= result.share_at_top <= 1.0
    # After one season: cash = 20 + 0.7 * 10 * (1 + r) (r clipped), upgrade if >= 30.
    one = simulate_reference(ReferenceLadder.from_scenario(with_overrides(scenario, seasons=1)))
    # P(20 + 7 (1.6 + 0.4 z) >= 30) = P(z >= (10/7 - 1.6) / 0.4)
    p_upgrade = 0.5 * math.erfc(((10 / 7 - 1.6) / 0.4) / math.sqrt(2))
    assert np.mean(one.level == 1) == pytest.approx(p_upgrade, abs=0.015)
    kept = one.cash_cents + np.where(one.level == 1, 3000, 0) - 2000
    assert np.mean(kept) / 100 == pytest.approx(0.7 * 10 * 1.6, rel=0.01)


def test_reference_simulate_reports_ladder(reference_path: Path) -> None:
    scenario = with_overrides(load_scenario(reference_path), farmers=2000)
    from alianza.ladder.outputs import reference_indicators

    indicators = reference_indicators(run_local(scenario))
    kernel = simulate_reference(ReferenceLadder.from_scenario(scenario))
    assert indicators is not None
    assert indicators["mean_level"] == pytest.approx(kernel.mean_level)
    assert indicators["share_at_top_level"] == pytest.approx(kernel.share_at_top)
    assert indicators["mean_cash_usd"] == pytest.approx(kernel.mean_cash_usd)


def test_non_reference_scenario_is_refused(districts_path: Path) -> None:
    with pytest.raises(ValueError, match="not a reference ladder"):
        ReferenceLadder.from_scenario(load_scenario(districts_path))
