"""Population simulator: exact accounting, reproducibility across chunkings, rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alianza.ladder.breakdown import FinalCounts
from alianza.ladder.catalogue import Catalogue
from alianza.ladder.kits import KitTable
from alianza.ladder.markets import clear_markets
from alianza.ladder.runner import plan_chunks, run_chunk, run_local
from alianza.ladder.scenario import Scenario, load_scenario, with_overrides

ACCOUNTING = (
    "start_cash_cents",
    "margins_cents",
    "other_income_saved_cents",
    "credit_cents",
    "purchases_cents",
    "consumption_cents",
    "repayments_cents",
    "end_cash_cents",
)


def balances(columns: dict[str, np.ndarray]) -> np.ndarray:
    return (
        columns["start_cash_cents"]
        + columns["margins_cents"]
        + columns["other_income_saved_cents"]
        + columns["credit_cents"]
        - columns["purchases_cents"]
        - columns["consumption_cents"]
        - columns["repayments_cents"]
        - columns["end_cash_cents"]
    )


@st.composite
def random_scenarios(draw: st.DrawFn, base: Scenario) -> Scenario:
    """Random variations of the example scenario: policy, shocks, prices, credit, population."""
    population = base.population.model_copy(
        update={
            "farmers": draw(st.integers(20, 300)),
            "districts": draw(st.integers(1, 4)),
            "markets_per_district": draw(st.integers(1, 3)),
            "starting_cash_usd": base.population.starting_cash_usd.model_copy(
                update={"median": draw(st.floats(1, 500))}
            ),
            "other_income_usd_per_season": base.population.other_income_usd_per_season.model_copy(
                update={"median": draw(st.floats(0.01, 400))}
            ),
        }
    )
    policy = base.policy.model_copy(
        update={
            "consumption_share": draw(st.floats(0, 0.7)),
            "savings_share": draw(st.floats(0, 0.3)),
            "other_income_saved_share": draw(st.floats(0, 1)),
            "subsistence_usd_per_person_day": draw(st.floats(0, 0.5)),
            "max_purchases_per_season": draw(st.integers(0, 4)),
            "use_credit": draw(st.booleans()),
            "absorb_price_share": draw(st.floats(0, 1)),
        }
    )
    shocks = base.shocks.model_copy(
        update={
            "drought_probability": draw(st.floats(0, 0.5)),
            "flood_probability": draw(st.floats(0, 0.3)),
            "price_shock_sd": draw(st.floats(0, 0.5)),
        }
    )
    kits = []
    for kit in base.catalogue.kits:
        update: dict = {
            "operating_cost_usd_per_season": kit.operating_cost_usd_per_season
            * draw(st.floats(0, 3))
        }
        if kit.credit is not None:
            update["credit"] = kit.credit.model_copy(
                update={
                    "interest_per_season": draw(st.floats(0, 0.2)),
                    "default_after_missed": draw(st.integers(1, 3)),
                }
            )
        kits.append(kit.model_copy(update=update))
    catalogue = base.catalogue.model_copy(update={"kits": kits})
    return base.model_copy(
        update={
            "seed": draw(st.integers(0, 2**32)),
            "seasons": draw(st.integers(1, 16)),
            "population": population,
            "policy": policy,
            "shocks": shocks,
            "catalogue": catalogue,
        }
    )


EXAMPLE = load_scenario(
    Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "tanzania-districts.yaml"
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios(EXAMPLE))
def test_accounting_balances_for_every_farmer(scenario: Scenario) -> None:
    chunk = run_chunk(scenario, 0, scenario.market_count)
    columns = chunk.farmer_columns
    assert not balances(columns).any()
    for name in ACCOUNTING:
        assert columns[name].dtype == np.int64
    assert (columns["purchases_cents"] >= 0).all() and (columns["consumption_cents"] >= 0).all()
    assert (columns["repayments_cents"] <= columns["credit_cents"] * 10).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios(EXAMPLE), st.integers(1, 200))
def test_results_do_not_depend_on_chunk_size(scenario: Scenario, chunk_size: int) -> None:
    whole = run_local(scenario, farmers_per_chunk=10**9)
    split = run_local(scenario, farmers_per_chunk=chunk_size)
    assert_same_results(whole, split)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios(EXAMPLE))
def test_compiled_kernel_equals_numpy(scenario: Scenario) -> None:
    pytest.importorskip("numba")
    compiled = run_chunk(scenario, 0, scenario.market_count, compiled=True)
    reference = run_chunk(scenario, 0, scenario.market_count, compiled=False)
    for name, value in vars(reference).items():
        if name == "farmer_columns":
            for column, array in value.items():
                assert np.array_equal(array, compiled.farmer_columns[column]), column
        elif isinstance(value, FinalCounts):
            assert_same_counts(value, getattr(compiled, name))
        else:
            assert np.array_equal(value, getattr(compiled, name)), name


def assert_same_counts(left: FinalCounts, right: FinalCounts) -> None:
    for field in FinalCounts.FIELDS:
        assert np.array_equal(getattr(left, field), getattr(right, field)), field


def assert_same_results(left, right) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "cell_farmers",
        "cell_income_cents",
        "cell_cash_cents",
        "cell_above_poverty",
        "cell_commercial",
        "income_hist_count",
        "income_hist_cents",
        "cash_hist_count",
        "kits_owned",
        "kits_retired",
        "loans_active",
        "loans_defaulted",
        "written_off_cents",
        "market_supply",
        "market_prices",
        "market_bought",
        "market_farmers",
        "weather",
        "first_commercial_hist",
        "first_poverty_exit_hist",
        "market_income_cents",
        "market_above_poverty",
        "market_other_income_cents",
        "cell_other_income_cents",
    ):
        assert np.array_equal(getattr(left, name), getattr(right, name)), name
    assert_same_counts(left.final_by_cell, right.final_by_cell)
    assert_same_counts(left.final_by_market, right.final_by_market)
    assert left.accounting_totals == right.accounting_totals


def test_farmer_table_identical_across_chunkings(tmp_path: Path, districts_path: Path) -> None:
    scenario = with_overrides(load_scenario(districts_path), farmers=3000, seasons=8)
    run_local(scenario, farmers_per_chunk=10**9, out_dir=tmp_path / "one")
    run_local(scenario, farmers_per_chunk=170, out_dir=tmp_path / "many")
    one = pq.read_table(tmp_path / "one" / "farmers.parquet")
    many = pq.read_table(tmp_path / "many" / "farmers.parquet")
    assert one.equals(many)
    assert len(plan_chunks(np.full(60, 50), 170)) == 15


def test_markets_are_never_split() -> None:
    sizes = np.array([5, 7, 3, 9, 1])
    for target in (1, 4, 8, 100):
        chunks = plan_chunks(sizes, target)
        assert chunks[0][0] == 0 and chunks[-1][1] == 5
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))


def test_price_falls_as_supply_rises(districts_path: Path) -> None:
    kits = KitTable.from_scenario(load_scenario(districts_path))
    vegetables = kits.product_ids.index("vegetables")
    capacity = kits.supply_per_farmer[vegetables] * 100
    supply = np.zeros((kits.product_count, 5))
    supply[vegetables] = capacity * np.array([0.5, 1.0, 1.5, 3.0, 100.0])
    prices = clear_markets(kits, supply, np.full(5, 100), np.ones(kits.product_count))
    veg = prices[vegetables]
    reference = kits.reference_price[vegetables]
    assert veg[0] == veg[1] == reference
    assert veg[1] > veg[2] > veg[3] > veg[4]
    assert veg[2] == pytest.approx(reference * 1.5 ** (-1 / kits.elasticity[vegetables]))
    assert veg[4] == pytest.approx(reference * kits.floor_share[vegetables])
    offtaker = kits.product_ids.index("graded_vegetables")
    assert (prices[offtaker] == kits.reference_price[offtaker]).all()


def single_kit_scenario(**kit_update: object) -> Scenario:
    catalogue = Catalogue.model_validate(
        {
            "name": "one kit",
            "products": [
                {"id": "veg", "unit": "kg", "reference_price_usd": 1.0, "channel": "offtaker"}
            ],
            "kits": [
                {
                    "id": "bed",
                    "price_usd": 10,
                    "life_seasons": 3,
                    "harvests_per_year": 4,
                    "product": "veg",
                    "yield_per_harvest": {"mean": 5, "cv": 0.0},
                    **kit_update,
                }
            ],
        }
    )
    return Scenario.model_validate(
        {
            "name": "one kit",
            "catalogue": catalogue.model_dump(),
            "seasons": 8,
            "population": {
                "farmers": 10,
                "starting_cash_usd": {"value": 0},
                "starting_kits": {"bed": 1},
            },
            "policy": {"consumption_share": 0.0, "max_purchases_per_season": 0},
        }
    )


def test_kits_wear_out_after_their_life() -> None:
    chunk = run_chunk(single_kit_scenario(), 0, 1)
    # Owned from the start, life 3 seasons: produces seasons 0, 1, 2 (5 USD each), then retired.
    assert (chunk.farmer_columns["margins_cents"] == 1500).all()
    assert chunk.kits_retired[:, 0].tolist() == [0, 0, 0, 10, 0, 0, 0, 0]
    assert (chunk.farmer_columns["owned_bed"] == 0).all()


def test_first_harvest_delay() -> None:
    chunk = run_chunk(single_kit_scenario(seasons_to_first_harvest=2, life_seasons=5), 0, 1)
    # Starting units count as bought at season -1: they produce in seasons 2, 3, 4.
    assert (chunk.farmer_columns["margins_cents"] == 1500).all()


def test_credit_default_writes_off_and_closes_credit() -> None:
    scenario = single_kit_scenario(
        operating_cost_usd_per_season=6.0,  # loses 1 USD a season: instalments cannot be paid
        credit={
            "kind": "loan",
            "financed_share": 1.0,
            "repayment_seasons": 2,
            "interest_per_season": 0.1,
            "default_after_missed": 2,
        },
        life_seasons=20,
        max_per_farmer=2,
    )
    scenario = scenario.model_copy(
        update={
            "population": scenario.population.model_copy(update={"starting_kits": {}}),
            "policy": scenario.policy.model_copy(update={"max_purchases_per_season": 1}),
        }
    )
    chunk = run_chunk(scenario, 0, 1)
    columns = chunk.farmer_columns
    assert (columns["credit_cents"] == 1000).all()  # one loan only: no new credit after default
    assert columns["defaulted"].all()
    assert (columns["written_off_cents"] == 1200).all()  # 10 + 2 x 10% flat, nothing repaid
    assert not balances(columns).any()


def test_population_from_csv(tmp_path: Path, districts_path: Path) -> None:
    path = tmp_path / "farmers.csv"
    rows = ["farmer_id,market,cash_usd,land_m2,household_size,female,youth,minority"]
    for farmer in range(120):
        female = "true" if farmer % 2 else "false"
        minority = "true" if farmer % 5 == 0 else "false"
        rows.append(
            f"{1000 + farmer},{farmer % 60},{5 + farmer % 30},1500,{1 + farmer % 7},"
            f"{female},false,{minority}"
        )
    path.write_text("\n".join(rows) + "\n")
    base = load_scenario(districts_path)
    scenario = base.model_copy(
        update={
            "seasons": 4,
            "population": base.population.model_copy(update={"file": str(path)}),
        }
    )
    result = run_local(scenario, farmers_per_chunk=25, out_dir=tmp_path / "out")
    table = pq.read_table(tmp_path / "out" / "farmers.parquet")
    assert table.num_rows == 120
    assert sorted(table.column("farmer_id").to_pylist()) == list(range(1000, 1120))
    assert int(result.cell_farmers[0][[4, 5, 6, 7]].sum()) == 60  # female
    assert result.accounting_totals["start_cash_cents"] == sum(
        (5 + f % 30) * 100 for f in range(120)
    )


def test_population_from_parquet_matches_csv(tmp_path: Path, districts_path: Path) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "market": [f % 60 for f in range(90)],
            "cash_usd": [10.0 + f for f in range(90)],
            "household_size": [1 + f % 6 for f in range(90)],
        }
    )
    pq.write_table(table, tmp_path / "farmers.parquet")
    with open(tmp_path / "farmers.csv", "w") as handle:
        handle.write("market,cash_usd,household_size\n")
        for row in table.to_pylist():
            handle.write(f"{row['market']},{row['cash_usd']},{row['household_size']}\n")
    base = with_overrides(load_scenario(districts_path), seasons=3)
    results = []
    for name in ("farmers.parquet", "farmers.csv"):
        population = base.population.model_copy(update={"file": str(tmp_path / name)})
        results.append(run_local(base.model_copy(update={"population": population})))
    assert_same_results(*results)
    assert int(results[0].cell_farmers[0].sum()) == 90


def test_group_factors_scale_starting_cash_and_land(districts_path: Path) -> None:
    from alianza.ladder.population import generate_markets

    base = with_overrides(load_scenario(districts_path), farmers=6000)
    plain = base.model_copy(
        update={"population": base.population.model_copy(update={"group_factors": {}})}
    )
    with_factors = generate_markets(base, 0, base.market_count)
    without = generate_markets(plain, 0, plain.market_count)
    assert np.array_equal(with_factors.female, without.female)  # same draws, only scaled
    only_female = with_factors.female & ~with_factors.youth & ~with_factors.minority
    factors = base.population.group_factors["female"]
    assert np.allclose(
        with_factors.land_m2[only_female], without.land_m2[only_female] * factors.land
    )
    others = ~(with_factors.female | with_factors.youth | with_factors.minority)
    assert np.array_equal(with_factors.cash_cents[others], without.cash_cents[others])
