"""Calibration: the simulator run with known parameters writes field records; calibrating on
them recovers the parameters within their sampling error (|estimate - truth| <= 3 SE)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alianza.ladder.calibration import calibrate, cv_and_se, kinked_demand_fit, mean_and_se
from alianza.ladder.records import check_records, read_records, simulate_records, write_records
from alianza.ladder.runner import run_chunk
from alianza.ladder.scenario import Scenario, load_scenario
from alianza.problems import ProblemError

TRUTH = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "two-kit-district.yaml"
SEED = 2


@pytest.fixture(scope="module")
def truth() -> Scenario:
    scenario = load_scenario(TRUTH)
    return scenario.model_copy(update={"seed": SEED})


@pytest.fixture(scope="module")
def records(truth: Scenario) -> pa.Table:
    return check_records(simulate_records(truth))


def test_records_add_up_to_the_simulators_accounts(truth: Scenario, records: pa.Table) -> None:
    """Sales - operating costs over a farmer's rows are the simulator's margins (whole cents
    per season), and purchases are what it spent on kits."""
    result = run_chunk(truth, 0, truth.market_count, compiled=False)
    columns = result.farmer_columns
    ids = [f"F{i:06d}" for i in columns["farmer_id"]]
    grouped = (
        pa.table(
            {
                "farmer_id": records.column("farmer_id"),
                "net": pa.array(
                    records.column("sale_value_usd").to_numpy()
                    - records.column("operating_cost_usd").to_numpy()
                ),
                "bought": records.column("units_bought"),
            }
        )
        .group_by("farmer_id")
        .aggregate([("net", "sum"), ("bought", "sum")])
    )
    net = dict(
        zip(
            grouped.column("farmer_id").to_pylist(),
            grouped.column("net_sum").to_pylist(),
            strict=True,
        )
    )
    bought = dict(
        zip(
            grouped.column("farmer_id").to_pylist(),
            grouped.column("bought_sum").to_pylist(),
            strict=True,
        )
    )
    margins = columns["margins_cents"] / 100.0
    assert np.max(np.abs(np.array([net[i] for i in ids]) - margins)) <= 0.005 * truth.seasons
    units = columns["bought_drip_bed"] + columns["bought_poultry_unit"]
    assert [bought[i] for i in ids] == units.tolist()
    assert records.num_rows > 10_000


def test_calibration_recovers_known_parameters(truth: Scenario, records: pa.Table) -> None:
    calibrated, report = calibrate(truth, records)
    kits = {kit.id: kit for kit in truth.catalogue.kits}
    products = {p.id: p for p in truth.catalogue.products}
    sampled = {
        "catalogue.kits[drip_bed].yield_per_harvest.mean": kits["drip_bed"].yield_per_harvest.mean,
        "catalogue.kits[drip_bed].yield_per_harvest.cv": kits["drip_bed"].yield_per_harvest.cv,
        "catalogue.kits[poultry_unit].yield_per_harvest.mean": 8.0,
        "catalogue.kits[poultry_unit].yield_per_harvest.cv": 0.25,
        "catalogue.products[vegetables].reference_price_usd": products[
            "vegetables"
        ].reference_price_usd,
        "catalogue.products[eggs].reference_price_usd": products["eggs"].reference_price_usd,
    }
    for parameter, true_value in sampled.items():
        found = report.estimate(parameter)
        assert found.estimate is not None and found.standard_error is not None
        assert found.standard_error > 0, parameter
        assert abs(found.estimate - true_value) <= 3 * found.standard_error, parameter
    # The simulator applies these without sampling noise (costs per unit, the demand curve
    # within a season, the consumption rule up to rounding to cents): the estimates are
    # exact but for that rounding, and so are their (near-zero) standard errors.
    exact = {
        "catalogue.kits[drip_bed].operating_cost_usd_per_season": 4.0,
        "catalogue.kits[poultry_unit].operating_cost_usd_per_season": 6.0,
        "markets.reference_supply_per_farmer[vegetables]": 150.0,
        "catalogue.products[vegetables].price_elasticity": 1.5,
        "policy.consumption_share": 0.35,
    }
    for parameter, true_value in exact.items():
        found = report.estimate(parameter)
        assert found.estimate == pytest.approx(true_value, rel=1e-4), parameter
        assert found.standard_error is not None and found.standard_error < 1e-4 * true_value
    # The calibrated scenario carries the estimates.
    drip = calibrated.catalogue.kit("drip_bed")
    assert (
        drip.yield_per_harvest.mean
        == report.estimate("catalogue.kits[drip_bed].yield_per_harvest.mean").estimate
    )
    assert calibrated.markets.reference_supply_per_farmer["vegetables"] == pytest.approx(150.0)
    assert report.reinvestment_rate is not None and 0 < report.reinvestment_rate < 1


def test_calibration_moves_a_wrong_base_to_the_truth(truth: Scenario, records: pa.Table) -> None:
    raw = truth.model_dump(mode="json")
    raw["catalogue"]["kits"][0]["yield_per_harvest"] = {"mean": 60.0, "cv": 0.1}
    raw["policy"]["consumption_share"] = 0.6
    wrong = Scenario.model_validate(raw)
    calibrated, _ = calibrate(wrong, records)
    assert calibrated.catalogue.kit("drip_bed").yield_per_harvest.mean == pytest.approx(
        100, rel=0.01
    )
    assert calibrated.policy.consumption_share == pytest.approx(0.35, rel=1e-4)


def test_reproducible_and_file_round_trip(
    truth: Scenario, records: pa.Table, tmp_path: Path
) -> None:
    again = check_records(simulate_records(truth))
    assert again.equals(records)
    for name in ("records.csv", "records.parquet"):
        write_records(records, tmp_path / name)
        _, from_file = calibrate(truth, read_records(tmp_path / name))
        _, direct = calibrate(truth, records)
        for a, b in zip(from_file.estimates, direct.estimates, strict=True):
            if b.estimate is None:  # e.g. drought factors: no drought in this scenario
                assert a.estimate is None
            else:
                assert a.estimate == pytest.approx(b.estimate, rel=1e-12)


def test_too_few_observations_keep_the_base(truth: Scenario, records: pa.Table) -> None:
    calibrated, report = calibrate(truth, records.slice(0, 20))
    assert all(e.estimate is None for e in report.estimates)
    assert calibrated.catalogue == truth.catalogue


def test_unknown_kit_is_refused(truth: Scenario, records: pa.Table) -> None:
    table = records.slice(0, 3).set_column(
        records.column_names.index("kit"), "kit", pa.array(["drip_bed", "goats", "drip_bed"])
    )
    with pytest.raises(ProblemError, match=r"rows\[2\]\.kit: unknown kit 'goats'"):
        calibrate(truth, table)


def test_bad_records_name_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text(
        "farmer_id,district,season,kit,units,harvest_quantity,sold_quantity,sale_value_usd\n"
        "F1,D0,0,drip_bed,1,70,60,24\n"
        "F2,D0,0,drip_bed,1,-5,0,0\n"
        "F3,D0,0,drip_bed,1,70,80,30\n"
    )
    with pytest.raises(ProblemError) as caught:
        read_records(path)
    # Numbers are checked first; the rules between columns only once they are numbers.
    assert [str(p) for p in caught.value.problems] == [
        "rows[2].harvest_quantity: must be a number >= 0, got -5.0"
    ]
    path.write_text("farmer_id,season,kit\nF1,0,drip_bed\n")
    with pytest.raises(ProblemError) as caught:
        read_records(path)
    assert {p.field for p in caught.value.problems} == {"district", "units", "harvest_quantity"}


def test_sold_more_than_harvested(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text(
        "farmer_id,district,season,kit,units,harvest_quantity,sold_quantity\n"
        "F1,D0,0,drip_bed,1,70,60\nF3,D0,0,drip_bed,1,70,80\n"
    )
    with pytest.raises(ProblemError, match=r"rows\[2\]\.sold_quantity: more than harvested"):
        read_records(path)


# -- the estimators against closed forms and Monte Carlo ----------------------------------


def test_cv_standard_error_closed_form_for_normal_data() -> None:
    """For normal data the delta method gives SE(cv)^2 = cv^2 (1/2 + cv^2) / n."""
    generator = np.random.default_rng(7)
    values = 50.0 * (1.0 + 0.3 * generator.standard_normal(200_000))
    cv, se = cv_and_se(values)
    assert cv == pytest.approx(0.3, abs=3 * se)
    assert se == pytest.approx(math.sqrt(0.3**2 * (0.5 + 0.3**2) / values.size), rel=0.02)


def test_standard_errors_match_the_spread_of_estimates() -> None:
    """Over 2,000 seeded samples of 400, the mean SE is the SD of the estimates (within 5%)."""
    generator = np.random.default_rng(11)
    samples = 20.0 * np.maximum(1.0 + 0.25 * generator.standard_normal((2000, 400)), 0.0)
    means, mean_ses, cvs, cv_ses = [], [], [], []
    for sample in samples:
        m, m_se = mean_and_se(sample)
        c, c_se = cv_and_se(sample)
        means.append(m)
        mean_ses.append(m_se)
        cvs.append(c)
        cv_ses.append(c_se)
    assert np.mean(mean_ses) == pytest.approx(np.std(means), rel=0.05)
    assert np.mean(cv_ses) == pytest.approx(np.std(cvs), rel=0.05)


def test_kinked_demand_fit_with_noise() -> None:
    """log p = alpha_t - (x - c)+ / e + noise: parameters within 3 SE, SEs right on average."""
    generator = np.random.default_rng(3)
    errors_c, errors_b, ses_c, ses_b = [], [], [], []
    for _ in range(200):
        seasons = np.repeat(np.arange(8), 30)
        x = generator.uniform(3.5, 6.0, seasons.size)
        alpha = math.log(0.4) + 0.1 * generator.standard_normal(8)
        y = alpha[seasons] - np.maximum(x - math.log(150), 0.0) / 1.5
        y = y + 0.05 * generator.standard_normal(seasons.size)
        fit = kinked_demand_fit(x, y, seasons)
        assert fit is not None
        errors_c.append(fit.kink - math.log(150))
        errors_b.append(fit.slope - 1 / 1.5)
        ses_c.append(fit.kink_se)
        ses_b.append(fit.slope_se)
    assert np.std(errors_c) == pytest.approx(np.mean(ses_c), rel=0.2)
    assert np.std(errors_b) == pytest.approx(np.mean(ses_b), rel=0.2)
    assert abs(np.mean(errors_b)) < 3 * np.std(errors_b) / math.sqrt(200)
    within = np.abs(np.array(errors_c)) <= 3 * np.array(ses_c)
    assert within.mean() > 0.97


def test_kinked_demand_fit_needs_both_sides() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert kinked_demand_fit(x, -x, np.zeros(4)) is None


finite = st.floats(0.5, 1000.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(3, 60), elements=finite), st.floats(0.01, 100.0))
def test_cv_does_not_depend_on_the_unit(values: np.ndarray, scale: float) -> None:
    cv, se = cv_and_se(values)
    scaled_cv, scaled_se = cv_and_se(values * scale)
    assert scaled_cv == pytest.approx(cv, rel=1e-9, abs=1e-12)
    assert scaled_se == pytest.approx(se, rel=1e-6, abs=1e-12)
    mean, mean_se = mean_and_se(values)
    assert mean_and_se(values * scale)[0] == pytest.approx(mean * scale, rel=1e-12)
    assert mean_and_se(values * scale)[1] == pytest.approx(mean_se * scale, rel=1e-9, abs=1e-9)


@settings(max_examples=10, deadline=None)
@given(st.randoms(use_true_random=False))
def test_calibration_does_not_depend_on_row_order(random: object) -> None:
    scenario = load_scenario(TRUTH)
    scenario = scenario.model_copy(
        update={
            "seasons": 4,
            "population": scenario.population.model_copy(update={"farmers": 300}),
        }
    )
    table = _small_records(scenario)
    order = list(range(table.num_rows))
    random.shuffle(order)  # type: ignore[attr-defined]
    _, direct = calibrate(scenario, table, min_observations=5)
    _, shuffled = calibrate(scenario, table.take(pa.array(order)), min_observations=5)
    for a, b in zip(direct.estimates, shuffled.estimates, strict=True):
        if a.estimate is None:
            assert b.estimate is None
        else:
            assert b.estimate == pytest.approx(a.estimate, rel=1e-9)


_SMALL: dict[int, pa.Table] = {}


def _small_records(scenario: Scenario) -> pa.Table:
    if 0 not in _SMALL:
        _SMALL[0] = check_records(simulate_records(scenario))
    return _SMALL[0]


def test_weather_factors_are_recovered() -> None:
    raw = load_scenario(TRUTH).model_dump(mode="json")
    raw["seed"] = 4
    raw["population"].update(farmers=1800, districts=3, markets_per_district=6)
    raw["shocks"].update(drought_probability=0.2, flood_probability=0.15)
    scenario = Scenario.model_validate(raw)
    records = check_records(simulate_records(scenario))
    weather = set(records.column("weather").to_pylist())
    assert weather == {"normal", "drought", "flood"}
    _, report = calibrate(scenario, records)
    for kit in scenario.catalogue.kits:
        for field in ("drought_yield_factor", "flood_yield_factor", "yield_per_harvest.mean"):
            found = report.estimate(f"catalogue.kits[{kit.id}].{field}")
            truth = (
                kit.yield_per_harvest.mean
                if field == "yield_per_harvest.mean"
                else getattr(kit, field)
            )
            assert found.estimate is not None and found.standard_error is not None, field
            assert abs(found.estimate - truth) <= 3 * found.standard_error, (kit.id, field)
