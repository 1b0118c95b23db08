"""Calendar seasons (`alianza.ladder.seasons`) and the records table built from dated field
events (`records_from_events`, `impute_cash`): against the simulator's own records export
and hand-worked cases."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from alianza.ladder.calibration import calibrate
from alianza.ladder.catalogue import EXAMPLE_CATALOGUE, validate_catalogue
from alianza.ladder.records import (
    check_records,
    impute_cash,
    records_from_events,
    simulate_records,
)
from alianza.ladder.scenario import Distribution, Policy, Population, Scenario, load_scenario
from alianza.ladder.seasons import season_end, season_label, season_of, season_start
from alianza.problems import ProblemError

ROOT = Path(__file__).resolve().parents[2]


def test_seasons_of_whole_months_and_of_equal_spans() -> None:
    assert season_of(date(2024, 1, 1), 4) == 2024 * 4
    assert season_of(date(2024, 3, 31), 4) == 2024 * 4
    assert season_of(date(2024, 7, 1), 4) == 2024 * 4 + 2
    assert season_of(date(2024, 12, 31), 4) == 2024 * 4 + 3
    assert season_of(date(2025, 1, 1), 4) == season_of(date(2024, 12, 31), 4) + 1
    assert season_label(season_of(date(2025, 8, 15), 4), 4) == "2025-3"
    assert (season_start(2025 * 4 + 2, 4), season_end(2025 * 4 + 2, 4)) == (
        date(2025, 7, 1),
        date(2025, 9, 30),
    )
    assert (
        season_of(date(2024, 4, 30), 3) == 2024 * 3
        and season_of(date(2024, 5, 1), 3) == 2024 * 3 + 1
    )
    # five seasons: equal spans of the year's days (2024 has 366): day d in floor(5 d / 366)
    assert season_start(2024 * 5 + 1, 5) == date(2024, 1, 1) + timedelta(days=74)  # ceil(73.2)
    assert season_of(date(2024, 1, 1) + timedelta(days=73), 5) == 2024 * 5
    assert season_of(date(2024, 1, 1) + timedelta(days=74), 5) == 2024 * 5 + 1


@settings(max_examples=60, deadline=None)
@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    per_year=st.sampled_from([1, 2, 3, 4, 5, 6, 7, 12]),
)
def test_a_day_lies_in_its_season(day: date, per_year: int) -> None:
    season = season_of(day, per_year)
    assert season_start(season, per_year) <= day <= season_end(season, per_year)
    assert season_of(season_end(season, per_year) + timedelta(days=1), per_year) == season + 1


def _events(records: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """The simulator's records as dated events: farmers, purchases, harvests, sales."""
    rows = records.to_pylist()
    farmers: dict[str, dict] = {}
    for row in rows:
        farmers.setdefault(row["farmer_id"], row)
    farmer_table = pa.table(
        {
            "farmer_id": list(farmers),
            "district": [r["district"] for r in farmers.values()],
            "market": [r["market"] for r in farmers.values()],
            "household_size": [r["household_size"] for r in farmers.values()],
        }
    )
    bought = [r for r in rows if r["units_bought"] > 0]
    harvested = [r for r in rows if r["productive_units"] > 0]

    def table(chosen: list[dict], **columns: str) -> pa.Table:
        return pa.table({name: [r[source] for r in chosen] for name, source in columns.items()})

    return (
        farmer_table,
        table(bought, farmer_id="farmer_id", season="season", kit="kit", units="units_bought"),
        table(harvested, farmer_id="farmer_id", season="season", kit="kit",
              quantity="harvest_quantity", grade="weather"),
        table(harvested, farmer_id="farmer_id", season="season", kit="kit",
              quantity="sold_quantity", value_usd="sale_value_usd"),
    )  # fmt: skip


COMPARED = ("units", "productive_units", "units_bought", "harvest_quantity", "sold_quantity",
            "sale_value_usd", "operating_cost_usd", "household_size", "district", "market")  # fmt: skip


def _rows(table: pa.Table) -> dict[tuple, dict]:
    return {(r["farmer_id"], r["season"], r["kit"]): r for r in table.to_pylist()}


def example_scenario() -> Scenario:
    document = yaml.safe_load(EXAMPLE_CATALOGUE.read_text())
    for kit in document["kits"]:
        kit.pop("savings_group", None)  # a group's share is a simulator kit of its own
    return Scenario(
        name="ladder", catalogue=validate_catalogue(document), seed=3, seasons=12,
        population=Population(farmers=200, starting_kits={},
                              starting_cash_usd=Distribution(distribution="constant", value=300.0)),
        policy=Policy(consumption_share=0.1, max_purchases_per_season=3),
    )  # fmt: skip


@pytest.mark.parametrize("which", ["two-kit", "example-catalogue"])
def test_the_records_from_events_are_the_simulators_own(which: str) -> None:
    """Units owned, harvesting and bought (wear-out, first-harvest delays, a kit replacing
    another's units), harvests, sales and costs: as the simulator recorded them."""
    if which == "two-kit":
        scenario = load_scenario(ROOT / "examples" / "scenarios" / "two-kit-district.yaml")
        scenario = scenario.model_copy(
            update={
                "seasons": 10,
                "population": scenario.population.model_copy(
                    update={"farmers": 300, "starting_kits": {}}
                ),
            }
        )
    else:
        scenario = example_scenario()
    simulated = simulate_records(scenario)
    kits_bought = set(
        simulated.filter(pa.compute.greater(simulated["units_bought"], 0))["kit"].to_pylist()
    )
    if which == "example-catalogue":  # the case worth checking: units replaced and worn out
        assert "drip_system_large" in kits_bought and scenario.seasons > 8
    built = records_from_events(
        scenario.catalogue, *_events(simulated), last_season=scenario.seasons - 1,
        include_idle=False,
    )  # fmt: skip
    check_records(built)
    ours, theirs = _rows(built), _rows(simulated)
    assert set(ours) == set(theirs)
    for key, expected in theirs.items():
        for name in COMPARED:
            assert ours[key][name] == pytest.approx(expected[name], abs=1e-9), (key, name)


def _catalogue() -> object:
    document = yaml.safe_load(EXAMPLE_CATALOGUE.read_text())
    for kit in document["kits"]:
        kit.pop("savings_group", None)
    return validate_catalogue(document)


def _table(**columns: list) -> pa.Table:
    return pa.table(columns)


def test_a_hand_worked_farmer() -> None:
    """F1 buys a drip bed in season 10 (owned from 11), bananas in 11 (3 seasons to the first
    bunch: harvesting from 15), sells more than the harvest recorded in 12 and has no harvest
    recorded in 13; F2 never buys (one idle row in the last season)."""
    catalogue = _catalogue()
    farmers = _table(farmer_id=["F1", "F2"], district=["D", "D"], market=["M", None],
                     household_size=[5, 3])  # fmt: skip
    purchases = _table(farmer_id=["F1", "F1"], season=[10, 11], kit=["drip_bed", "banana_plantlets"],
                       units=[1, 1])  # fmt: skip
    harvests = _table(farmer_id=["F1", "F1", "F1"], season=[11, 12, 12], kit=["drip_bed"] * 3,
                      quantity=[80.0, 30.0, 20.0], grade=["A", "B", "B"])  # fmt: skip
    sales = _table(farmer_id=["F1", "F1"], season=[11, 12], kit=["drip_bed"] * 2,
                   quantity=[80.0, 60.0], value_usd=[32.0, 24.0])  # fmt: skip
    built = records_from_events(catalogue, farmers, purchases, harvests, sales, last_season=15)
    rows = _rows(built)
    drip = [rows[("F1", s, "drip_bed")] for s in range(10, 16)]
    assert [r["units"] for r in drip] == [0, 1, 1, 1, 1, 1]
    assert [r["units_bought"] for r in drip] == [1, 0, 0, 0, 0, 0]
    assert [r["harvest_recorded"] for r in drip] == [False, True, True, False, False, False]
    assert drip[2]["harvest_quantity"] == 60.0  # raised to what was sold
    assert drip[2]["grade"] == "B" and drip[1]["grade"] == "A"
    assert [r["operating_cost_usd"] for r in drip] == [0, 4, 4, 4, 4, 4]
    banana = [rows[("F1", s, "banana_plantlets")] for s in range(11, 16)]
    assert [r["units"] for r in banana] == [0, 1, 1, 1, 1]
    assert [r["productive_units"] for r in banana] == [0, 0, 0, 0, 1]
    idle = rows[("F2", 15, "drip_bed")]
    assert (idle["units"], idle["market"], idle["harvest_recorded"]) == (0, "D", False)
    assert built.num_rows == 6 + 5 + 1


def test_units_replaced_and_worn_out() -> None:
    """Two drip beds bought in season 0 (life 8: owned at 1..8); a large system bought in
    season 2 replaces up to four beds, oldest first: both go."""
    catalogue = _catalogue()
    farmers = _table(farmer_id=["F"], district=["D"], market=["M"], household_size=[4])
    purchases = _table(farmer_id=["F", "F", "F"], season=[0, 1, 2],
                       kit=["drip_bed", "drip_bed", "drip_system_large"], units=[2, 3, 1])  # fmt: skip
    empty = _table(farmer_id=[], season=[], kit=[], quantity=[], grade=[])
    no_sales = _table(farmer_id=[], season=[], kit=[], quantity=[], value_usd=[])
    built = _rows(
        records_from_events(catalogue, farmers, purchases, empty, no_sales, last_season=10)
    )
    beds = [built.get(("F", s, "drip_bed"), {"units": 0})["units"] for s in range(0, 11)]
    # 2 from season 1, 5 from 2; the system retires 4 of them (the 2 oldest, then 2 of the 3)
    assert beds == [0, 2, 5, 1, 1, 1, 1, 1, 1, 1, 0]
    assert built[("F", 3, "drip_system_large")]["units"] == 1


def test_unknown_kits_and_farmers_are_refused() -> None:
    catalogue = _catalogue()
    farmers = _table(farmer_id=["F"], district=["D"], market=["M"], household_size=[4])
    empty = _table(farmer_id=[], season=[], kit=[], quantity=[], grade=[])
    no_sales = _table(farmer_id=[], season=[], kit=[], quantity=[], value_usd=[])
    with pytest.raises(ProblemError, match="not in the catalogue"):
        records_from_events(
            catalogue, farmers, _table(farmer_id=["F"], season=[1], kit=["hoe"], units=[1]),
            empty, no_sales,
        )  # fmt: skip
    with pytest.raises(ProblemError, match="not in the farmers table"):
        records_from_events(
            catalogue, farmers, _table(farmer_id=["G"], season=[1], kit=["drip_bed"], units=[1]),
            empty, no_sales,
        )  # fmt: skip


def test_cash_is_imputed_by_the_policy() -> None:
    """consumption_share 0.5, need 0: seasons with incomes 20, -4 (costs only), 30 and a
    purchase of 10 in the first: cash 0 + 20 - 10 - 10 = 0, then max(0, -4) = 0, then 15."""
    catalogue = _catalogue()
    scenario = Scenario(name="s", catalogue=catalogue, population=Population(farmers=1),
                        policy=Policy(consumption_share=0.5))  # fmt: skip
    records = pa.table(
        {
            "farmer_id": ["F"] * 3, "season": [1, 2, 3], "kit": ["drip_bed"] * 3,
            "sale_value_usd": [24.0, 0.0, 34.0], "operating_cost_usd": [4.0, 4.0, 4.0],
            "units_bought": [1, 0, 0], "household_size": [5, 5, 5],
        }
    )  # fmt: skip
    assert impute_cash(records, scenario).column("cash_usd").to_pylist() == [0.0, 0.0, 15.0]
    assert (
        impute_cash(impute_cash(records, scenario), scenario).num_columns == records.num_columns + 1
    )


def test_unrecorded_harvests_are_left_out_of_the_yields() -> None:
    """Half the rows say no harvest was recorded (harvest 0): the yield is the recorded ones'."""
    catalogue = _catalogue()
    scenario = Scenario(name="s", catalogue=catalogue, population=Population(farmers=1))
    n = 80
    records = check_records(
        pa.table(
            {
                "farmer_id": [f"F{i}" for i in range(n)], "district": ["D"] * n,
                "season": [i % 4 for i in range(n)], "kit": ["drip_bed"] * n, "units": [1] * n,
                "harvest_quantity": [0.0 if i % 2 else 75.0 + (i % 5) for i in range(n)],
                "sale_value_usd": [0.0 if i % 2 else 0.4 * (75.0 + (i % 5)) for i in range(n)],
                "harvest_recorded": [i % 2 == 0 for i in range(n)],
            }
        )
    )  # fmt: skip
    _, report = calibrate(scenario, records)
    mean = report.estimate("catalogue.kits[drip_bed].yield_per_harvest.mean")
    share = catalogue.kit("drip_bed").harvests_per_year / catalogue.seasons_per_year
    assert mean.observations == n // 2
    assert mean.estimate == pytest.approx(77.0 / share)


def test_the_example_catalogue_ships_in_the_package() -> None:
    """One file: the package's (so that an installed wheel seeds the demo), linked from
    examples/kits/ for users; package data covers it."""
    import tomllib

    import alianza

    package = Path(alianza.__file__).resolve().parent
    assert EXAMPLE_CATALOGUE.resolve().is_relative_to(package)
    assert (ROOT / "examples" / "kits" / "catalogue.yaml").resolve() == EXAMPLE_CATALOGUE.resolve()
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["alianza"]
    inside = EXAMPLE_CATALOGUE.resolve().relative_to(package)
    assert any(inside.match(pattern) for pattern in patterns)
    validate_catalogue(yaml.safe_load(EXAMPLE_CATALOGUE.read_text()))
