"""The Micro Investing indicators of the results framework on a small seeded programme (Malawi,
MWK, 1,000 MWK to the reporting USD), against values computed by hand."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from alianza.cli import app
from alianza.platform.fieldrecords import service as fieldrecords
from alianza.platform.programmes.service import Actor, set_exchange_rate
from alianza.platform.results import microinvesting as mi
from alianza.platform.results.schemas import MI_KEYS, PA_KEYS, Period
from alianza.platform.results.service import build_report, year_periods
from tests.platform.mi_fixtures import MIWorld, build_mi_world, sale

YEARS = year_periods([2025, 2026])
DAYS = 365  # neither 2025 nor 2026 is a leap year
HOUSEHOLD = 5  # every fixture farmer's household size


def seeded(session: Session, admin: Actor) -> MIWorld:
    """Four farmers (F0 a young man, F1 a minority woman, F2 a man, F3 a woman), drip beds at
    17,500 MWK, produce at 200 MWK a kg:

    2025  F0 F1 F2 buy a drip bed (cash) on 03-01; harvest 100, 50, 30 kg on 05-25 and sell
          them on 06-01 for 20,000, 10,000 and 6,000 MWK.
    2026  F0 buys a second bed on 03-01 (proceeds so far 20,000 >= 17,500: reinvested),
          harvests 50 kg on 05-25 and sells 8,000 kg on 06-01 for 1,600,000 MWK;
          F1 buys a second bed on 03-01 (proceeds 10,000 < 17,500: not reinvested) and sells
          60 kg for 12,000 on 07-01; F2 has no record; F3's mobile-money purchase is pending.
    """
    world = build_mi_world(session, admin)
    f0, f1, f2, f3 = world.farmers
    f0.birth_year = 2000  # youth (<= 35) in 2025 and 2026
    f1.minority = True
    set_exchange_rate(
        admin,
        {"currency": "MWK", "rate_date": date(2024, 1, 1), "units_per_reporting_unit": "1000"},
    )
    for farmer in (f0, f1, f2):
        sale(world, farmer)
    sale(world, f0, sold_on=date(2026, 3, 1))
    sale(world, f1, sold_on=date(2026, 3, 1))
    sale(world, f3, method="mobile_money", sold_on=date(2026, 5, 1))
    actor = world.agronomist_actor
    for farmer, kg, day in (
        (f0, "100", date(2025, 5, 25)),
        (f1, "50", date(2025, 5, 25)),
        (f2, "30", date(2025, 5, 25)),
        (f0, "50", date(2026, 5, 25)),
    ):
        fieldrecords.record_harvest(
            actor,
            {"farmer_id": farmer.id, "kit_code": "drip_bed", "harvested_on": day, "quantity": kg},
        )
    for farmer, kg, day in (
        (f0, "100", date(2025, 6, 1)),
        (f1, "50", date(2025, 6, 1)),
        (f2, "30", date(2025, 6, 1)),
        (f0, "8000", date(2026, 6, 1)),
        (f1, "60", date(2026, 7, 1)),
    ):
        fieldrecords.record_produce_sale(
            actor,
            {
                "farmer_id": farmer.id,
                "kit_code": "drip_bed",
                "sold_on": day,
                "quantity": kg,
                "unit_price": "200.00",
                "buyer": "village market",
            },
            "MWK",
        )
    session.commit()
    return world


def values(report, key: str) -> list[float | None]:
    return [v.value for v in report.indicator(key).values]


def groups(report, key: str, i: int) -> dict[str, float | None]:
    return report.indicator(key).values[i].by_group


def test_a_micro_investing_programme_reports_its_own_indicators(
    session: Session, admin: Actor
) -> None:
    seeded(session, admin)
    report = build_report(admin, YEARS, on=date(2027, 1, 1))
    keys = {i.key.split(".", 1)[0] for i in report.indicators}
    assert keys == set(MI_KEYS)  # no agreements: none of the alliance indicators
    assert not keys & set(PA_KEYS)


def test_kit_purchases_by_hand(session: Session, admin: Actor) -> None:
    seeded(session, admin)
    report = build_report(admin, YEARS)
    # the pending mobile-money sale is not a purchase yet
    assert values(report, "kit_purchases") == [3.0, 2.0]
    assert groups(report, "kit_purchases", 0) == {
        "women": 1.0,
        "men": 2.0,
        "youth": 1.0,
        "non_youth": 2.0,
        "minority": 1.0,
        "non_minority": 2.0,
    }
    # 3 x 17,500 MWK / 1,000 = 52.50 USD; 2 x 17.50 = 35.00
    assert values(report, "kit_purchases_value") == [52.5, 35.0]
    assert groups(report, "kit_purchases_value", 1)["women"] == 17.5
    assert report.indicator("kit_purchases_value").unit_label == "USD"
    assert report.indicator("kit_purchases").baseline == 3.0


def test_reinvestment_rate_by_hand(session: Session, admin: Actor) -> None:
    seeded(session, admin)
    report = build_report(admin, YEARS)
    # 2025: nobody owned a kit before it; 2026: F0 of F0, F1, F2
    assert values(report, "reinvestment_rate") == [None, pytest.approx(1 / 3)]
    assert groups(report, "reinvestment_rate", 1) == {
        "women": 0.0,
        "men": 0.5,
        "youth": 1.0,
        "non_youth": 0.0,
        "minority": 0.0,
        "non_minority": 0.5,
    }


def test_income_per_day_and_poverty_share_by_hand(session: Session, admin: Actor) -> None:
    seeded(session, admin)
    report = build_report(admin, YEARS)
    per = HOUSEHOLD * DAYS
    # 2025 net (USD): F0 20.00 - 17.50, F1 10.00 - 17.50, F2 6.00 - 17.50
    first = [2.5 / per, -7.5 / per, -11.5 / per]
    # 2026: F0 1,600 - 17.50; F1 12.00 - 17.50; F2 has no record (left out)
    second = [1582.5 / per, -5.5 / per]
    assert values(report, "income_per_day") == [
        pytest.approx(sum(first) / 3),
        pytest.approx(sum(second) / 2),
    ]
    assert groups(report, "income_per_day", 1)["women"] == pytest.approx(second[1])
    assert groups(report, "income_per_day", 1)["youth"] == pytest.approx(second[0])
    # in 2021 PPP dollars at Malawi's 282.1 MWK: F0 1,582,500 / (5 x 365 x 282.1) = 3.074 a
    # person a day, above the $3.00 line; everyone else below it
    assert 1_582_500 / (per * 282.1) > 3.0
    assert values(report, "poverty_share") == [1.0, 0.5]
    assert groups(report, "poverty_share", 1) == {
        "women": 1.0,
        "men": 0.0,
        "youth": 0.0,
        "non_youth": 1.0,
        "minority": 1.0,
        "non_minority": 0.0,
    }
    note = report.indicator("poverty_share").note
    assert note is not None and "282.1" in note and "Malawi" in note


def test_yield_per_kit_by_hand(session: Session, admin: Actor) -> None:
    seeded(session, admin)
    report = build_report(admin, YEARS)
    beds = report.indicator("yield_per_kit.drip_bed")
    assert beds.unit_label == "kg / drip_bed"
    # 2025: 180 kg over 3 beds; 2026: F0's 50 kg over the 2 beds F0 owns
    assert values(report, "yield_per_kit.drip_bed") == [60.0, 25.0]
    assert beds.values[0].by_group["men"] == 65.0
    assert beds.values[0].by_group["women"] == 50.0
    assert beds.values[1].by_group["women"] is None


def test_default_periods_cover_the_kit_records(session: Session, admin: Actor) -> None:
    seeded(session, admin)
    assert [p.label for p in build_report(admin).periods] == ["2025", "2026"]


def test_without_a_shipped_country_the_poverty_share_says_why(
    session: Session, admin: Actor
) -> None:
    world = seeded(session, admin)
    country = world.district.parent_id
    from alianza.platform.registry.models import Place

    place = session.get(Place, country)
    assert place is not None
    place.code, place.name = "ZZ", "Nowhere"
    session.commit()
    report = build_report(admin, YEARS)
    assert values(report, "poverty_share") == [None, None]
    assert any(m.startswith("poverty share: not available") for m in report.missing)


def test_the_cli_writes_the_micro_investing_indicators(
    session: Session, admin: Actor, tmp_path, monkeypatch
) -> None:
    seeded(session, admin)
    url = session.get_bind().url.render_as_string(hide_password=False)
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        app,
        [
            "results",
            "report",
            "--programme",
            "PA-HN",
            "--as",
            "ana",
            "--period",
            "2026",
            "-o",
            str(out),
            "--url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    by_key = {i["key"]: i for i in data["indicators"]}
    assert by_key["kit_purchases"]["values"][0]["value"] == 2.0
    assert by_key["poverty_share"]["values"][0]["value"] == 0.5


# --- the reinvestment rule on any records ------------------------------------------------


def _identity(amount: Decimal, _currency: str, _on: date) -> Decimal:
    return amount


purchases = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.integers(0, 700),
        st.sampled_from(["cash", "mobile_money", "prepayment"]),
        st.integers(1, 50),
    ),
    max_size=12,
)
proceeds = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 700), st.integers(0, 80)), max_size=12
)


def _records(bought, sold) -> mi.Records:
    start = date(2025, 1, 1)
    farmers = {f: mi.FarmerRow(f, "female" if f % 2 else "male", 1990, f == 0, 4) for f in range(4)}
    sales = sorted(
        (
            mi.SaleRow(f, start + timedelta(days=d), "drip_bed", 1, Decimal(a), "MWK", m)
            for f, d, m, a in bought
        ),
        key=lambda s: s.sold_on,
    )
    produce = [mi.ProduceRow(f, start + timedelta(days=d), Decimal(a), "MWK") for f, d, a in sold]
    return mi.Records(sales, produce, [], farmers)


@settings(max_examples=150, deadline=None)
@given(purchases, proceeds)
def test_reinvestment_is_a_share_and_needs_own_money_and_proceeds(bought, sold) -> None:
    period = Period(label="2026", start=date(2026, 1, 1), end=date(2026, 12, 31))
    records = _records(bought, sold)
    value = mi.reinvestment(records, period, _identity)
    if value.value is None:
        assert not any(s.sold_on < period.start for s in records.sales)
        return
    assert 0.0 <= value.value <= 1.0
    # with no proceeds, or with every purchase prepaid by an off-taker, nobody reinvests
    assert mi.reinvestment(_records(bought, []), period, _identity).value == 0.0
    prepaid = [(f, d, "prepayment", a) for f, d, _m, a in bought]
    assert mi.reinvestment(_records(prepaid, sold), period, _identity).value == 0.0
    # more proceeds never lower the rate
    richer = [*sold, *((f, 366, 10_000) for f in range(4))]
    assert mi.reinvestment(_records(bought, richer), period, _identity).value >= value.value
