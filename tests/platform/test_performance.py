"""The platform's field records, calibration, forecasts and performance against peers, on
SQLite and PostgreSQL.

A small district is seeded *through the services* from a simulation with known parameters
(kit sales at each season's end, harvests and produce sales in the season): the records table
the platform builds must equal the simulator's own records export for the same farmers, and
calibrating on it recovers the simulator's yields within their sampling error. The
performance figures are checked against a plain-Python recomputation over the rows."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alianza.ladder.records import check_records, simulate_records
from alianza.ladder.scenario import Distribution, Scenario, load_scenario
from alianza.ladder.seasons import season_end, season_of, season_start
from alianza.platform.access import Actor, act_as
from alianza.platform.audit.service import now
from alianza.platform.errors import Forbidden, Refused
from alianza.platform.fieldrecords import service as field
from alianza.platform.fieldrecords.forecasts import (
    MIN_FARMERS,
    calibrate_from_records,
    district_forecast,
)
from alianza.platform.fieldrecords.models import FieldVisit
from alianza.platform.fieldrecords.records import field_records
from alianza.platform.kits import service as kits
from alianza.platform.kits.models import KitSale
from alianza.platform.programmes.service import create_user, grant_role, set_exchange_rate
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Farmer, Organization
from alianza.platform.rollout import performance, team
from alianza.platform.rollout import service as rollout_service
from alianza.platform.rollout.models import CaseloadPlace

SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "two-kit-district.yaml"
RATE = Decimal("1750")
FIRST = season_of(date(2024, 1, 1), 4)
SEASONS = 6
FARMERS = 48


def truth() -> Scenario:
    scenario = load_scenario(SCENARIO)
    return scenario.model_copy(
        update={
            "seed": 7,
            "seasons": SEASONS,
            "population": scenario.population.model_copy(
                update={
                    "farmers": FARMERS,
                    "starting_kits": {},
                    "markets_per_district": 2,
                    # most can pay for a first kit; a few cannot (idle in the records)
                    "starting_cash_usd": Distribution(distribution="uniform", low=8.0, high=16.0),
                }
            ),
        }
    )


@dataclass
class Seeded:
    admin: Actor
    simulated: pa.Table
    farmer_of: dict[str, int]  # simulator's farmer id -> the platform's
    agronomists: list[Any]
    villages: list[Any]
    district: Any
    agronomist_actor: Actor


def _seed(session: Session, admin: Actor) -> Seeded:
    scenario = truth()
    simulated = check_records(simulate_records(scenario))
    country = registry.add_place(admin, {"kind": "country", "name": "Malawi", "code": "MW"})
    district = registry.add_place(
        admin, {"kind": "district", "name": "Dedza", "parent_id": country.id}
    )
    epa = registry.add_place(
        admin, {"kind": "municipality", "name": "Linthipe EPA", "parent_id": district.id}
    )
    villages = [
        registry.add_place(admin, {"kind": "village", "name": n, "parent_id": epa.id})
        for n in ("Chimbiya", "Mayani", "Kalembo")
    ]
    for village in villages:
        registry.add_organization(
            admin, {"kind": "savings_group", "name": f"{village.name} VSLA", "place_id": village.id}
        )
    supplier = registry.add_organization(
        admin, {"kind": "supplier", "name": "Agro Dedza", "place_id": district.id}
    )
    offtaker = registry.add_organization(admin, {"kind": "offtaker", "name": "Fresh"})
    document = scenario.catalogue.model_dump(mode="json")
    version = kits.add_catalogue_version(admin, {"document": document})
    kits.set_prices(
        admin,
        version.id,
        {"district_id": district.id, "currency": "MWK",
         "prices": [{"kit_code": k.id, "price": str(Decimal(str(k.price_usd)) * RATE)}
                    for k in scenario.catalogue.kits]},
    )  # fmt: skip
    set_exchange_rate(
        admin, {"currency": "MWK", "rate_date": date(2023, 1, 1), "units_per_reporting_unit": RATE}
    )
    for kit in scenario.catalogue.kits:
        kits.receive_stock(
            admin,
            {"supplier_id": supplier.id, "district_id": district.id, "kit_code": kit.id,
             "quantity": 1000},
        )  # fmt: skip
    user = create_user(session, {"username": "agro", "display_name": "A", "password": "password1"})
    grant_role(
        admin, user.id, {"role": "agronomist", "place_ids": [villages[0].id, villages[1].id]}
    )
    agronomists = [
        team.add_agronomist(
            admin,
            {"name": "Grace Banda", "district_id": district.id, "commission_rate": "0.05",
             "village_ids": [villages[0].id, villages[1].id], "user_id": user.id},
        ),
        team.add_agronomist(
            admin,
            {"name": "John Phiri", "district_id": district.id, "commission_rate": "0.04",
             "village_ids": [villages[2].id]},
        ),
    ]  # fmt: skip
    ids = sorted(
        set(simulated.column("farmer_id").to_pylist()) | {f"F{i:06d}" for i in range(FARMERS)}
    )
    household = dict(
        zip(simulated.column("farmer_id").to_pylist(), simulated.column("household_size").to_pylist(), strict=True)
    )  # fmt: skip
    farmer_of: dict[str, int] = {}
    village_of: dict[str, Any] = {}
    for n, sim_id in enumerate(ids):
        village = villages[n % 3]
        made = registry.add_farmer(
            admin,
            {"name": f"Farmer {n}", "sex": "female" if n % 2 else "male", "birth_year": 1980,
             "household_size": household.get(sim_id, 4), "land_hectares": "0.5",
             "village_id": village.id},
        )  # fmt: skip
        farmer_of[sim_id] = made.id
        village_of[sim_id] = village
    rows = simulated.to_pylist()
    for n, row in enumerate(rows):  # each season: harvests, produce sales, then purchases
        opens = season_start(FIRST + int(row["season"]), 4)
        farmer = farmer_of[row["farmer_id"]]
        if row["productive_units"] > 0:
            quantity = Decimal(str(round(row["harvest_quantity"], 3)))
            field.record_harvest(
                admin,
                {"farmer_id": farmer, "kit_code": row["kit"], "quantity": str(quantity),
                 "harvested_on": opens + timedelta(days=40), "grade": "A" if n % 3 else "B"},
            )  # fmt: skip
            if quantity > 0:
                price = Decimal(str(row["sale_value_usd"] / row["harvest_quantity"])) * RATE
                field.record_produce_sale(
                    admin,
                    {"farmer_id": farmer, "kit_code": row["kit"], "quantity": str(quantity),
                     "unit_price": str(price.quantize(Decimal("0.01"))),
                     "sold_on": opens + timedelta(days=45), "buyer": "market"},
                    "MWK",
                )  # fmt: skip
    for n, row in enumerate(sorted(rows, key=lambda r: r["season"])):
        if row["units_bought"] > 0:
            sim_id = row["farmer_id"]
            agronomist = agronomists[0] if village_of[sim_id] is not villages[2] else agronomists[1]
            kits.record_sale(
                admin,
                {"farmer_id": farmer_of[sim_id], "kit_code": row["kit"],
                 "units": int(row["units_bought"]), "method": "prepayment" if n % 5 == 0 else "cash",
                 "offtaker_id": offtaker.id if n % 5 == 0 else None,
                 "sold_on": season_start(FIRST + int(row["season"]), 4) + timedelta(days=70),
                 "supplier_id": supplier.id, "agronomist_id": agronomist.id},
            )  # fmt: skip
    # a pending mobile-money sale is not a purchase (yet): the records leave it out
    kits.record_sale(
        admin,
        {"farmer_id": farmer_of[ids[0]], "kit_code": "drip_bed", "method": "mobile_money",
         "sold_on": season_start(FIRST + 2, 4), "supplier_id": supplier.id,
         "agronomist_id": agronomists[0].id},
    )  # fmt: skip
    for n, (agronomist, village) in enumerate(
        [(agronomists[0], villages[0])] * 5 + [(agronomists[0], villages[1])] * 2
        + [(agronomists[1], villages[2])] * 4
    ):  # fmt: skip
        session.add(
            FieldVisit(
                programme_id=admin.programme_id, kind="visit", village_id=village.id,
                agronomist_id=agronomist.id, visited_on=date(2024, 2, 1) + timedelta(days=40 * n),
                notes="", recorded_by=admin.user_id, recorded_at=now(),
            )
        )  # fmt: skip
    session.commit()
    return Seeded(
        admin, simulated, farmer_of, agronomists, villages, district,
        act_as(session, user.id, admin.programme_id),
    )  # fmt: skip


@pytest.fixture
def seeded(session: Session, admin: Actor) -> Seeded:
    return _seed(session, admin)


LAST_DAY = season_end(FIRST + SEASONS - 1, 4)
COMPARED = (
    "units",
    "productive_units",
    "units_bought",
    "harvest_quantity",
    "sold_quantity",
    "sale_value_usd",
    "operating_cost_usd",
    "household_size",
)


def _by_key(table: pa.Table, farmer: dict[str, str] | None = None) -> dict[tuple[Any, ...], dict]:
    found = {}
    for row in table.to_pylist():
        who = farmer[row["farmer_id"]] if farmer else row["farmer_id"]
        found[(who, int(row["season"]), row["kit"])] = row
    return found


def test_the_platforms_records_equal_the_simulators_own(seeded: Seeded) -> None:
    """Same farmers, seasons, kits, units (owned, harvesting, bought), harvests, sales (to the
    cent and the gram the platform stores) and costs as the simulator's export."""
    built = field_records(seeded.admin, "Dedza", as_of=LAST_DAY)
    assert built.first_season == FIRST and built.last_season == FIRST + SEASONS - 1
    check_records(built.table)  # a valid records table
    platform_to_sim = {str(v): k for k, v in seeded.farmer_of.items()}
    ours = _by_key(built.table, platform_to_sim)
    theirs = {(f, s + FIRST, k): row for (f, s, k), row in _by_key(seeded.simulated).items()}
    extra = set(ours) - set(theirs)
    # farmers who never bought appear once, idle (units 0): they count in their market
    assert all(ours[key]["units"] == 0 and ours[key]["units_bought"] == 0 for key in extra)
    assert set(theirs) <= set(ours)
    for key, expected in theirs.items():
        row = ours[key]
        for name in COMPARED:
            tolerance = 0.02 if name == "sale_value_usd" else 1e-3
            assert row[name] == pytest.approx(expected[name], abs=tolerance), (key, name)
        assert row["district"] == "Dedza" and row["market"] == "Linthipe EPA"
        assert row["harvest_recorded"] == (expected["productive_units"] > 0)
    # one seeding (through the services) for what follows on the same records
    _calibration_recovers_the_yields(seeded)
    _a_forecast_of_the_district_from_its_records(seeded)
    _unknown_districts_and_too_few_records_are_refused(seeded)


def _calibration_recovers_the_yields(seeded: Seeded) -> None:
    found = calibrate_from_records(seeded.admin, "Dedza", as_of=LAST_DAY, min_observations=20)
    kit = truth().catalogue.kit("drip_bed")
    mean = found.report.estimate("catalogue.kits[drip_bed].yield_per_harvest.mean")
    assert mean.observations >= 20
    assert abs(mean.estimate - kit.yield_per_harvest.mean) <= 3 * mean.standard_error
    cv = found.report.estimate("catalogue.kits[drip_bed].yield_per_harvest.cv")
    assert abs(cv.estimate - kit.yield_per_harvest.cv) <= 3 * cv.standard_error + 1e-9
    assert "catalogue.kits[drip_bed].yield_per_harvest.mean" in {
        e.parameter for e in found.from_records
    }
    # the operating cost is the catalogue's (not recorded in the field): never "from records"
    assert not any("operating_cost" in e.parameter for e in found.from_records)


def _a_forecast_of_the_district_from_its_records(seeded: Seeded) -> None:
    found = district_forecast(seeded.admin, "dedza", seasons=2, replicates=3, as_of=LAST_DAY)
    result = found.forecast
    assert result.farmers == FARMERS and result.district == "Dedza"
    assert found.season_labels == {1: "2025-3", 2: "2025-4"}
    first = [r for r in result.kit_demand if r.season == 1]
    assert {r.kit for r in first} == {"drip_bed", "poultry_unit"}
    assert all(r.start == date(2025, 7, 1) and r.end == date(2025, 9, 30) for r in first)
    assert all(r.units.p10 <= r.units.p50 <= r.units.p90 for r in result.kit_demand)
    # the same seed, the same forecast
    again = district_forecast(seeded.admin, "Dedza", seasons=2, replicates=3, as_of=LAST_DAY)
    assert again.forecast == result


def _unknown_districts_and_too_few_records_are_refused(seeded: Seeded) -> None:
    with pytest.raises(Refused, match="no district named 'Lilongwe'.*Dedza") as unknown:
        district_forecast(seeded.admin, "Lilongwe")
    assert unknown.value.field == "district"
    ntcheu = registry.add_place(
        seeded.admin, {"kind": "district", "name": "Ntcheu", "parent_id": seeded.district.parent_id}
    )
    assert ntcheu.id
    with pytest.raises(Refused, match=f"need at least {MIN_FARMERS}"):
        calibrate_from_records(seeded.admin, "Ntcheu", as_of=LAST_DAY)
    with pytest.raises(Refused, match="1 to 8 seasons"):
        district_forecast(seeded.admin, "Dedza", seasons=9)


# --- performance against peers ---------------------------------------------------------------


def _recomputed(seeded: Seeded, start: date, end: date) -> dict[int, dict[str, float]]:
    """Each agronomist's figures from the rows, in plain Python."""
    session = seeded.admin.session
    caseload: dict[int, set[int]] = {}
    for row in session.scalars(select(CaseloadPlace)):
        caseload.setdefault(row.agronomist_id, set()).add(row.place_id)
    farmers = list(session.scalars(select(Farmer)))
    groups = list(session.scalars(select(Organization).where(Organization.kind == "savings_group")))
    sales = list(session.scalars(select(KitSale)))
    visits = list(session.scalars(select(FieldVisit)))
    found = {}
    for agronomist in seeded.agronomists:
        places = caseload[agronomist.id]
        mine = [s for s in sales if s.agronomist_id == agronomist.id and s.status == "paid"
                and start <= s.sold_on <= end]  # fmt: skip
        own_farmers = {f.id for f in farmers if f.village_id in places}
        buyers, again = 0, 0
        for farmer_id in own_farmers:
            paid = [s for s in sales if s.farmer_id == farmer_id and s.status == "paid"
                    and s.sold_on <= end]  # fmt: skip
            if not paid:
                continue
            buyers += 1
            first = min(s.sold_on for s in paid)
            if any(s.sold_on > first and s.method != "prepayment" for s in paid):
                again += 1
        found[agronomist.id] = {
            "farmers": len(own_farmers),
            "villages": len(places),
            "groups": sum(1 for g in groups if g.place_id in places),
            "visits": sum(
                1
                for v in visits
                if v.agronomist_id == agronomist.id and start <= v.visited_on <= end
            ),  # fmt: skip
            "sales": len(mine),
            "sales_value": float(sum(Decimal(s.amount) for s in mine) / RATE),
            "commission": float(sum(Decimal(s.commission) for s in mine) / RATE),
            "reinvestment_rate": again / buyers if buyers else 0.0,
        }
    return found


PERIOD = (date(2024, 4, 1), date(2025, 3, 31))


def test_agronomist_figures_equal_a_recomputation_over_the_rows(seeded: Seeded) -> None:
    table = performance.agronomist_performance(seeded.admin, *PERIOD)
    expected = _recomputed(seeded, *PERIOD)
    assert table.peers == 2 and table.peer_basis == "programme" and table.currency == "USD"
    assert [r.name for r in table.rows] == ["Grace Banda", "John Phiri"]
    for row in table.rows:
        for name, value in expected[row.id].items():
            assert row.figures[name] == pytest.approx(value, abs=0.006), (row.name, name)
    assert sum(e["visits"] for e in expected.values()) > 0
    for name in performance.FIGURES:
        values = [expected[a.id][name] for a in seeded.agronomists]
        assert table.medians[name] == pytest.approx(statistics.median(values), abs=0.006)
        high = max(range(2), key=lambda i: values[i])
        for row in table.rows:
            mark = row.benchmarks[name]
            if values[0] == values[1]:
                assert (mark.rank, mark.quartile) == (1, 1)
            else:
                top = row.id == seeded.agronomists[high].id
                assert (mark.rank, mark.quartile) == ((1, 1) if top else (2, 3)), (name, row.name)
    _the_reinvestment_rate_is_the_rollouts_adoption(seeded)


def _the_reinvestment_rate_is_the_rollouts_adoption(seeded: Seeded) -> None:
    """Summed over agronomists whose caseloads cover a district, buying and reinvesting farmers
    are the district's adoption figures (platform/rollout/service.py)."""
    area = rollout_service.open_area(
        seeded.admin, {"place_id": seeded.district.id, "phase_since": date(2024, 1, 1)}
    )
    adoption = rollout_service.adoption(seeded.admin, area.id, PERIOD[1])
    table = performance.agronomist_performance(seeded.admin, *PERIOD)
    assert sum(r.buying_farmers for r in table.rows) == adoption.buying_farmers > 0
    assert sum(r.reinvesting_farmers for r in table.rows) == adoption.reinvesting_farmers
    districts = performance.district_performance(seeded.admin, *PERIOD)
    (dedza,) = districts.rows
    assert (dedza.buying_farmers, dedza.reinvesting_farmers) == (
        adoption.buying_farmers,
        adoption.reinvesting_farmers,
    )
    expected = _recomputed(seeded, *PERIOD)
    assert dedza.figures["sales"] == sum(e["sales"] for e in expected.values())
    assert dedza.figures["farmers"] == FARMERS and dedza.figures["agronomists"] == 2
    assert dedza.figures["visits"] == sum(e["visits"] for e in expected.values())


def test_an_agronomist_sees_their_own_row_against_all_peers(seeded: Seeded) -> None:
    mine = performance.agronomist_performance(seeded.agronomist_actor, *PERIOD)
    everyone = performance.agronomist_performance(seeded.admin, *PERIOD)
    assert [r.name for r in mine.rows] == ["Grace Banda"]
    assert mine.peers == 2 and mine.medians == everyone.medians
    assert mine.rows[0].benchmarks == everyone.rows[0].benchmarks
    with pytest.raises(Forbidden):
        performance.district_performance(seeded.agronomist_actor, *PERIOD)
    # the agronomist's own records (their two villages) only
    records = field_records(seeded.agronomist_actor, "Dedza", as_of=LAST_DAY)
    own_villages = {seeded.villages[0].id, seeded.villages[1].id}
    session = seeded.admin.session
    expected = {
        str(f.id)
        for f in session.scalars(select(Farmer).where(Farmer.village_id.in_(own_villages)))
    }
    assert set(records.table.column("farmer_id").to_pylist()) == expected
    _a_bad_period_is_refused(seeded)


def _a_bad_period_is_refused(seeded: Seeded) -> None:
    with pytest.raises(Refused, match="ends before it starts"):
        performance.agronomist_performance(seeded.admin, date(2025, 1, 2), date(2025, 1, 1))
    start, end = performance.default_period(seeded.admin, today=date(2030, 1, 1))
    latest = max(
        s.sold_on for s in seeded.admin.session.scalars(select(KitSale)) if s.status == "paid"
    )
    assert end == latest and (end - start).days == 364


def test_the_demo_programme_calibrates_and_forecasts(session: Session) -> None:
    """The demo draws its harvests and sales from the simulator on the example catalogue:
    calibrating on its records recovers the catalogue's yields within sampling error."""
    from alianza.ladder.catalogue import load_catalogue
    from alianza.platform.demo.microinvesting import CATALOGUE, TODAY, seed_micro_investing
    from alianza.platform.programmes.models import User

    summary = seed_micro_investing(session, seed=2, farmers=700)
    session.commit()
    coordinator = session.scalar(select(User).where(User.username == "coordinadora"))
    assert coordinator is not None
    actor = act_as(session, coordinator.id, summary.programme_id)
    catalogue = load_catalogue(CATALOGUE)
    found = calibrate_from_records(actor, "Dedza")
    assert found.records.last_season == season_of(TODAY, 4)
    estimated = {e.parameter: e for e in found.from_records}
    for kit in ("drip_bed", "drip_beds_3"):
        mean = estimated[f"catalogue.kits[{kit}].yield_per_harvest.mean"]
        truth_mean = catalogue.kit(kit).yield_per_harvest.mean
        assert abs(mean.estimate - truth_mean) <= 3 * mean.standard_error, (kit, mean)
    forecast = district_forecast(actor, "Ntcheu", seasons=1, replicates=2).forecast
    assert forecast.farmers > 0 and forecast.kit_demand
