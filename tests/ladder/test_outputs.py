"""Other income and saving up, savings groups, PPP poverty lines, why farmers never start, and
the outputs an analyst reads (files, conventions, breakdown, documented DuckDB queries)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from alianza.impact.quantiles import weighted_quantile
from alianza.ladder.catalogue import CatalogueError
from alianza.ladder.charts import CHARTS
from alianza.ladder.kits import KitTable
from alianza.ladder.outputs import TABLES, breakdown_table, summary, write_outputs
from alianza.ladder.runner import run_chunk, run_local
from alianza.ladder.scenario import Scenario, load_scenario, validate_scenario, with_overrides
from alianza.ladder.workbook import SHEETS
from tests.ladder.test_simulation import EXAMPLE, random_scenarios

REPO = Path(__file__).resolve().parents[2]
DAYS = 365 / 4


def scenario_of(**sections: Any) -> Scenario:
    """A one-kit scenario (a $10 bed returning 5 units of $1 a season, no noise), with
    sections of the raw scenario replaced or extended."""
    kit = {
        "id": "bed",
        "name": "Drip bed - one bed",
        "price_usd": 10,
        "life_seasons": 100,
        "harvests_per_year": 4,
        "product": "veg",
        "yield_per_harvest": {"mean": 5, "cv": 0},
        "land_m2": 10,
        "labour_days_per_season": 5,
        "max_per_farmer": 5,
    }
    kit.update(sections.pop("kit", {}))
    raw: dict[str, Any] = {
        "name": "one kit",
        "seasons": 6,
        "catalogue": {
            "name": "one kit",
            "products": [
                {"id": "veg", "unit": "kg", "reference_price_usd": 1.0, "channel": "offtaker"}
            ],
            "kits": [kit],
        },
        "population": {
            "farmers": 40,
            "markets_per_district": 2,
            "starting_cash_usd": {"value": 0},
            "land_m2": {"value": 1000},
            "household_size": {"value": 1},
        },
        "policy": {"consumption_share": 0.0, "use_credit": False},
        "shocks": {"yield_noise": False},
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(raw.get(name), dict):
            raw[name] = {**raw[name], **value}
        else:
            raw[name] = value
    return validate_scenario(raw, REPO)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_farmer_without_cash_saves_up_to_the_first_kit(compiled: bool) -> None:
    if compiled:
        pytest.importorskip("numba")
    # $50 of other income a season, a tenth saved: $5 a season, so $10 at the end of season 2.
    scenario = scenario_of(
        kit={"max_per_farmer": 1},
        population={"other_income_usd_per_season": {"value": 50}},
        policy={"other_income_saved_share": 0.1},
    )
    chunk = run_chunk(scenario, 0, scenario.market_count, compiled=compiled)
    bought = chunk.market_bought[:, 0, :].sum(axis=1)
    assert bought.tolist()[:2] == [0, 40]  # season 1 nothing, season 2 everyone
    columns = chunk.farmer_columns
    assert (columns["other_income_saved_cents"] == 500 * scenario.seasons).all()
    assert (columns["never_started_reason"] == -1).all()
    # Cash: 6 x $5 saved - the $10 kit + 4 seasons x $5 of harvest (seasons 3 to 6).
    assert (columns["end_cash_cents"] == 3000 - 1000 + 4 * 500).all()


def test_the_poverty_line_is_converted_to_market_dollars_with_the_ppp_factor() -> None:
    # 1 US$ = 1 local unit, PPP factor 2: one market dollar buys half a PPP dollar, so the
    # $3.00 (2021 PPP) line is $6 a person a day, 547.5 market dollars a season.
    money = {"currency": "XXX", "exchange_rate": 1.0, "ppp_factor": 2.0}
    shares = {}
    for income in (547.49, 547.50):
        scenario = scenario_of(
            money=money, population={"other_income_usd_per_season": {"value": income}}
        )
        assert scenario.poverty_line_usd_per_person_day() == 6.0
        result = run_local(scenario)
        shares[income] = summary(result)["final_season"]["all"]["share_above_poverty"]
    assert shares == {547.49: 0.0, 547.50: 1.0}


def test_country_defaults_fill_the_money_section() -> None:
    scenario = scenario_of(money={"country": "TZA"})
    conversion = scenario.conversion()
    assert (conversion.currency, conversion.exchange_rate, conversion.ppp_factor) == (
        "TZS",
        2298,
        681.85,
    )
    assert abs(scenario.poverty_line_usd_per_person_day() - 3.0 * 681.85 / 2298) < 1e-12
    stated = scenario_of(money={"country": "TZA", "ppp_factor": 700.0})
    assert stated.conversion().ppp_factor == 700.0 and stated.conversion().exchange_rate == 2298


@pytest.mark.parametrize(
    ("sections", "reason"),
    [
        ({"population": {"land_m2": {"value": 0}, "starting_cash_usd": {"value": 100}}}, "no_land"),
        (
            {
                "policy": {"labour_days_per_person_season": 1},
                "population": {"starting_cash_usd": {"value": 100}},
            },
            "no_labour",
        ),
        ({"population": {"starting_cash_usd": {"value": 5}}}, "could_not_save_enough"),
        (
            {
                "population": {"starting_cash_usd": {"value": 100}, "starting_kits": {"bed": 1}},
                "kit": {"product": "veg"},
                "catalogue_product": {"channel": "local"},
                "markets": {"reference_supply_per_farmer": {"veg": 0.01}},
            },
            "market_saturated",
        ),
        (
            {
                "policy": {"max_purchases_per_season": 0},
                "population": {"starting_cash_usd": {"value": 100}},
            },
            "no_kit_available",
        ),
    ],
)
def test_why_a_farmer_never_started(sections: dict[str, Any], reason: str) -> None:
    product = sections.pop("catalogue_product", None)
    scenario = scenario_of(**sections)
    if product is not None:
        catalogue = scenario.catalogue
        products = [catalogue.products[0].model_copy(update=product)]
        scenario = scenario.model_copy(
            update={"catalogue": catalogue.model_copy(update={"products": products})}
        )
    result = run_local(scenario)
    never = summary(result)["never_started"]
    assert never["farmers"] == 40 and never["share"] == 1.0
    assert never["reasons"][reason]["farmers"] == 40


def test_a_savings_group_share_is_the_kit_divided_by_its_members() -> None:
    scenario = scenario_of(
        kit={"price_usd": 100, "savings_group": {"members": 4}},
        population={"starting_cash_usd": {"value": 30}},
    )
    kits = KitTable.from_scenario(scenario)
    assert kits.kit_ids == ["bed", "bed_group_share"]
    assert kits.price_cents.tolist() == [10_000, 2_500]
    assert kits.output_per_season[1] * 4 == kits.output_per_season[0]
    assert kits.land_m2[1] * 4 == kits.land_m2[0]
    assert kits.labour_days[1] * 4 == kits.labour_days[0]
    assert kits.kit_names[1] == "Drip bed (savings-group share, 1/4)"
    chunk = run_chunk(scenario, 0, scenario.market_count)
    # $30 pays for a $25 share, not for the $100 kit.
    assert chunk.market_bought[0, :, :].sum(axis=1).tolist() == [0, 40]


def test_a_savings_group_cannot_buy_a_kit_on_credit() -> None:
    with pytest.raises(CatalogueError) as error:
        scenario_of(
            kit={
                "savings_group": {"members": 3},
                "credit": {"kind": "loan", "financed_share": 0.5, "repayment_seasons": 2},
            }
        )
    assert any(p.field.startswith("catalogue.kits[0] (bed)") for p in error.value.problems)


@pytest.mark.parametrize(
    ("sections", "field"),
    [
        (
            {"outputs": {"poverty_line_usd_per_person_day": 2.15}},
            "outputs.poverty_line_usd_per_person_day",
        ),
        ({"money": {"country": "XYZ"}}, "money.country"),
        (
            {"money": {"country": "TZA"}, "outputs": {"poverty_line": "international_2017"}},
            "outputs.poverty_line",
        ),
        ({"population": {"district_names": ["North", "South"]}}, "population.district_names"),
        ({"population": {"market_names": ["A", "A"]}}, "population.market_names"),
        ({"money": {"currency": "TZS", "ppp_factor": 680.0}}, "money.exchange_rate"),
        ({"money": {"country": "TZA", "ppp_year": 2017}}, "money.ppp_factor"),
    ],
)
def test_bad_money_lines_and_names_are_refused_with_their_field(
    sections: dict[str, Any], field: str
) -> None:
    with pytest.raises(CatalogueError) as error:
        scenario_of(**sections)
    assert field in [problem.field for problem in error.value.problems]


def test_the_legacy_line_needs_a_2017_ppp_factor() -> None:
    scenario = scenario_of(
        money={"exchange_rate": 2000.0, "ppp_factor": 800.0, "ppp_year": 2017},
        outputs={"poverty_line": "international_2017"},
    )
    assert scenario.poverty_line_ppp() == 2.15
    assert abs(scenario.poverty_line_usd_per_person_day() - 2.15 * 800 / 2000) < 1e-12


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return list(value) + [k for item in value.values() for k in _keys(item)]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario]:
    out = tmp_path_factory.mktemp("out")
    scenario = with_overrides(
        load_scenario(REPO / "examples" / "scenarios" / "tanzania-districts.yaml"),
        farmers=3000,
        seasons=8,
    )
    result = run_local(scenario, farmers_per_chunk=700, out_dir=out)
    write_outputs(result, out)
    return out, scenario


def test_every_file_follows_the_conventions(written: tuple[Path, Scenario]) -> None:
    out, scenario = written
    for name in TABLES:
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    for chart in CHARTS:
        assert (out / chart).stat().st_size > 5000
    document = json.loads((out / "summary.json").read_text())
    assert not [key for key in _keys(document) if key.endswith("_cents")]
    assert document["series"]["season"] == list(range(1, 9))
    assert document["series"]["season_label"][1] == "Season 2 (Apr 2026)"
    for name in ("seasons", "markets", "districts", "distributions"):
        seasons = pq.read_table(out / f"{name}.parquet").column("season").to_pylist()
        assert min(seasons) == 1 and max(seasons) == 8, name
    farmers = pq.read_table(out / "farmers.parquet")
    for column in ("first_above_poverty_season", "first_commercial_season"):
        values = farmers.column(column)
        assert values.null_count > 0  # never: null, not -1
        assert all(v >= 1 for v in values.to_pylist() if v is not None)
    assert set(farmers.column("district_name").to_pylist()) == set(
        scenario.population.district_names
    )
    districts = pq.read_table(out / "districts.parquet")
    assert districts.column("district_name").to_pylist()[:10] == scenario.population.district_names
    markets = pq.read_table(out / "markets.parquet").column("market_name").to_pylist()
    assert markets[6] == "Mvomero market 1"
    workbook = openpyxl.load_workbook(out / "simulation.xlsx", read_only=True)
    assert workbook.sheetnames == ["Summary", *SHEETS]
    rows = list(workbook["By district"].iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == scenario.population.district_names


def test_percentiles_from_histograms_match_the_farmers(written: tuple[Path, Scenario]) -> None:
    out, scenario = written
    table = pq.read_table(out / "farmers.parquet")
    cash = table.column("end_cash_cents").to_numpy() / 100.0
    everyone = pq.read_table(out / "breakdown.parquet").to_pylist()[0]
    assert everyone["scope"] == "all"
    exact = float(weighted_quantile(cash, 0.5))
    # Cash bins are 10**0.01 wide (2.3 %): the histogram's median is within one bin.
    assert abs(everyone["cash_usd_median"] - exact) <= 0.024 * exact
    units = sum(
        table.column(f"owned_{kit}").to_numpy().astype(np.int64)
        for kit in KitTable.from_scenario(scenario).kit_ids
    )
    for name, q in (("p10", 0.1), ("median", 0.5), ("p90", 0.9)):
        assert everyone[f"kits_owned_{name}"] == float(weighted_quantile(units, q))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios(EXAMPLE))
def test_breakdown_shares_add_up(scenario: Scenario) -> None:
    rows = breakdown_table(run_local(scenario, farmers_per_chunk=97)).to_pylist()
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_scope.setdefault(row["scope"], []).append(row)
    total = by_scope["all"][0]["farmers"]
    assert total == scenario.population.farmers
    assert sum(row["farmers"] for row in by_scope["district"]) == total
    assert sum(row["farmers"] for row in by_scope["market"]) == total
    groups = {row["name"]: row["farmers"] for row in by_scope["group"]}
    assert groups["female"] + groups["male"] == total
    for row in rows:
        if not row["farmers"]:
            continue
        reasons = sum(v for k, v in row.items() if k.startswith("share_never_started_"))
        assert abs(reasons - row["share_never_started"]) < 1e-12
        rungs = sum(v for k, v in row.items() if k.startswith("share_highest_rung_"))
        assert abs(rungs - 1.0) < 1e-12
        # Without starting kits, "never bought a kit" and "no rung" are the same farmers.
        assert row["share_never_started"] == row["share_highest_rung_none"]
        for measure in ("income_usd_per_person_day", "cash_usd", "kits_owned"):
            values = [row[f"{measure}_{q}"] for q in ("p10", "p25", "median", "p75", "p90")]
            assert values == sorted(values), measure


def test_documented_duckdb_queries_run(written: tuple[Path, Scenario]) -> None:
    duckdb = pytest.importorskip("duckdb")
    out, _ = written
    text = (REPO / "docs" / "simulation.md").read_text()
    queries = re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)
    assert len(queries) >= 3
    for query in queries:
        rows = duckdb.sql(query.replace("'out/", f"'{out}/")).fetchall()
        assert rows, query


def test_impact_never_imports_the_ladder() -> None:
    """ladder uses impact's definitions; the reverse would be a cycle (docs/decisions.md)."""
    import ast

    import alianza.impact

    for source in Path(alianza.impact.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("alianza.ladder"), source.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("alianza.ladder") for a in node.names)


def test_last_season_percentiles_agree_between_the_kernel_and_the_final_state(
    written: tuple[Path, Scenario],
) -> None:
    """The seasons table's percentiles come from the histograms the kernel fills every season;
    the breakdown's from the final state, binned afterwards: in the last season they agree."""
    out, scenario = written
    seasons = pq.read_table(out / "seasons.parquet").to_pylist()
    last = {row["group"]: row for row in seasons if row["season"] == scenario.seasons}
    breakdown = pq.read_table(out / "breakdown.parquet").to_pylist()
    for row in breakdown:
        if row["scope"] not in ("all", "group"):
            continue
        season_row = last[row["name"]]
        for measure in ("income_usd_per_person_day", "income_ppp_per_person_day", "cash_usd"):
            for q in ("p10", "p25", "median", "p75", "p90"):
                key = f"{measure}_{q}"
                assert season_row[key] == row[key], (row["name"], key)
        assert season_row["share_above_poverty"] == row["share_above_poverty"]
