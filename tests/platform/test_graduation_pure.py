"""Graduation's pure computation: readiness and clusters against hand-worked cases, and
properties against plain-Python re-implementations (no database)."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alianza.platform.graduation import clusters as c
from alianza.platform.graduation import readiness as r


def test_seasons_split_the_year_into_runs_of_whole_months() -> None:
    assert r.season_of(date(2025, 1, 1), 4) == 2025 * 4
    assert r.season_of(date(2025, 3, 31), 4) == 2025 * 4
    assert r.season_of(date(2025, 4, 1), 4) == 2025 * 4 + 1
    assert r.season_of(date(2025, 12, 31), 4) == 2025 * 4 + 3
    assert r.season_of(date(2025, 7, 1), 2) == 2025 * 2 + 1
    for spy in range(1, 13):
        seasons = [r.season_of(date(2025, m, 15), spy) for m in range(1, 13)]
        assert sorted(set(seasons)) == [2025 * spy + i for i in range(spy)]
        for season in set(seasons):
            assert r.season_of(r.season_start(season, spy), spy) == season


def test_milli_is_exact() -> None:
    assert r.to_milli(Decimal("310.125")) == 310125
    assert r.from_milli(1240500, 4) == Decimal("310.125")


def test_a_hand_worked_farmer() -> None:
    """Window: seasons 8..11 (N=4, end 11). Farmer 0 harvests 300 kg A (s8), 200 kg B (s9),
    500 kg A (s11), and 900 kg in s7 (outside); sells in s8, s9 twice and s11 and s7: volume
    1000 kg / 4 = 250 kg/season; grade A share 800/1000 = 0.8; 3 seasons delivered; first
    kit in season 6: 11 - 6 + 1 = 6 seasons as a client. Farmer 1 has nothing."""
    measured = r.measure(
        2,
        window_end=11,
        seasons=4,
        harvest_farmer=np.array([0, 0, 0, 0]),
        harvest_season=np.array([8, 9, 11, 7]),
        harvest_milli=np.array([300_000, 200_000, 500_000, 900_000]),
        harvest_graded=np.array([True, False, True, True]),
        sale_farmer=np.array([0, 0, 0, 0, 0]),
        sale_season=np.array([8, 9, 9, 11, 7]),
        first_purchase_season=np.array([6, -1]),
    )
    assert measured.volume_milli.tolist() == [1_000_000, 0]
    assert measured.graded_milli.tolist() == [800_000, 0]
    assert measured.seasons_delivered.tolist() == [3, 0]
    assert measured.seasons_as_client.tolist() == [6, 0]
    at = {
        "volume": r.Thresholds(4, 250_000, Fraction(0), 0),
        "volume_short": r.Thresholds(4, 250_001, Fraction(0), 0),
    }
    assert r.assess(measured, at["volume"])["volume"].tolist() == [True, False]
    assert r.assess(measured, at["volume_short"])["volume"].tolist() == [False, False]
    strict = r.Thresholds(4, 0, Fraction(4, 5), 3, 6)
    met = r.assess(measured, strict)
    assert met["grade"].tolist() == [True, False]  # 0.8 >= 0.8 exactly; nothing harvested fails
    assert met["deliveries"].tolist() == [True, False]
    assert met["client"].tolist() == [True, False]
    assert r.ready(met).tolist() == [True, False]
    stricter = r.assess(measured, r.Thresholds(4, 0, Fraction(8001, 10000), 4, 7))
    assert not any(stricter[k][0] for k in ("grade", "deliveries", "client"))
    nothing_asked = r.assess(measured, r.Thresholds(4, 0, Fraction(0), 0))
    assert r.ready(nothing_asked).tolist() == [True, True]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 12), st.integers(0, 10**6), st.booleans()),
        max_size=40,
    ),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 12)), max_size=30),
    st.lists(st.integers(-1, 12), min_size=5, max_size=5),
)
def test_measure_matches_a_plain_python_count(
    seasons: int,
    harvests: list[tuple[int, int, int, bool]],
    sales: list[tuple[int, int]],
    first: list[int],
) -> None:
    end = 10
    measured = r.measure(
        5,
        end,
        seasons,
        np.array([h[0] for h in harvests], dtype=np.int64),
        np.array([h[1] for h in harvests], dtype=np.int64),
        np.array([h[2] for h in harvests], dtype=np.int64),
        np.array([h[3] for h in harvests], dtype=bool),
        np.array([s[0] for s in sales], dtype=np.int64),
        np.array([s[1] for s in sales], dtype=np.int64),
        np.array(first, dtype=np.int64),
    )
    for farmer in range(5):
        window = range(end - seasons + 1, end + 1)
        own = [h for h in harvests if h[0] == farmer and h[1] in window]
        assert measured.volume_milli[farmer] == sum(h[2] for h in own)
        assert measured.graded_milli[farmer] == sum(h[2] for h in own if h[3])
        delivered = {s[1] for s in sales if s[0] == farmer and s[1] in window}
        assert measured.seasons_delivered[farmer] == len(delivered)
        expected_client = end - first[farmer] + 1 if 0 <= first[farmer] <= end else 0
        assert measured.seasons_as_client[farmer] == expected_client


# --- clusters ---------------------------------------------------------------------------------

KM_PER_DEGREE = math.pi * c.EARTH_RADIUS_KM / 180  # along a meridian


def test_haversine_against_closed_forms() -> None:
    # a degree of latitude is pi R / 180; a quarter of the equator is pi R / 2
    assert math.isclose(c.haversine_km(0, 0, 1, 0), KM_PER_DEGREE, rel_tol=1e-12)
    assert math.isclose(c.haversine_km(0, 0, 0, 90), math.pi * c.EARTH_RADIUS_KM / 2)
    matrix = c.distances_km(np.array([0.0, 1.0, -14.3]), np.array([0.0, 0.0, 34.3]))
    assert math.isclose(matrix[0, 1], KM_PER_DEGREE, rel_tol=1e-12)
    assert math.isclose(matrix[2, 0], c.haversine_km(-14.3, 34.3, 0, 0), rel_tol=1e-12)


def _north(km: float) -> float:
    return km / KM_PER_DEGREE


def test_a_hand_worked_set_of_villages() -> None:
    """District 1: villages 1, 2, 3 on a meridian 0.8 km apart (1-2 and 2-3 near at 1 km, 1-3
    only through 2), village 4 5 km away, village 5 without a point; district 2: village 6 on
    top of village 1 (never joined across districts)."""
    villages = [
        c.Village(1, 1, 0.0, 0.0),
        c.Village(2, 1, _north(0.8), 0.0),
        c.Village(3, 1, _north(1.6), 0.0),
        c.Village(4, 1, _north(6.6), 0.0),
        c.Village(5, 1),
        c.Village(6, 2, 0.0, 0.0),
    ]
    members = [
        c.Member(10, 1, 100, {"A": 60, "B": 40}),
        c.Member(11, 1, 100, {"A": 100}),
        c.Member(20, 2, 50, {"B": 50}),
        c.Member(30, 3, 50, {"A": 50}),
        c.Member(40, 4, 500, {"A": 500}),
        c.Member(50, 5, 10, {"A": 10}),
        c.Member(51, 5, 10, {"B": 10}),
        c.Member(60, 6, 100, {"A": 100}),
    ]
    found = c.cluster(villages, members, radius_km=1.0, min_farmers=2, min_volume_milli=0)
    assert [(x.district_id, x.grouping, x.village_ids, x.farmer_ids) for x in found] == [
        (1, "radius", [1, 2, 3], [10, 11, 20, 30]),  # volume 300
        (1, "district", [5], [50, 51]),  # 20
    ]
    assert found[0].volume_milli == 300 and found[0].grades == {"A": 210, "B": 90}
    lone = c.cluster(villages, members, radius_km=1.0, min_farmers=1, min_volume_milli=100)
    assert [x.farmer_ids for x in lone] == [[40], [10, 11, 20, 30], [60]]
    tight = c.cluster(villages, members, radius_km=0.5, min_farmers=2, min_volume_milli=150)
    assert [x.village_ids for x in tight] == [[1]]
    wide = c.cluster(villages, members, radius_km=5.1, min_farmers=2, min_volume_milli=0)
    assert wide[0].village_ids == [1, 2, 3, 4]  # 4 reaches 3 (5 km), and so all


@st.composite
def _places(draw: st.DrawFn) -> tuple[list[c.Village], list[c.Member]]:
    count = draw(st.integers(1, 12))
    villages = []
    for v in range(count):
        district = draw(st.integers(1, 2))
        if draw(st.integers(0, 5)) == 0:
            villages.append(c.Village(v, district))
        else:
            lat = draw(st.floats(-14.4, -14.3))
            lon = draw(st.floats(34.3, 34.4))
            villages.append(c.Village(v, district, lat, lon))
    members = [
        c.Member(f, draw(st.integers(0, count - 1)), draw(st.integers(0, 1000)))
        for f in range(draw(st.integers(0, 30)))
    ]
    return villages, members


@settings(max_examples=60, deadline=None)
@given(_places(), st.floats(0, 8), st.integers(1, 4), st.integers(0, 1500))
def test_clusters_keep_their_rules(
    places: tuple[list[c.Village], list[c.Member]],
    radius: float,
    min_farmers: int,
    min_volume: int,
) -> None:
    villages, members = places
    found = c.cluster(villages, members, radius, min_farmers, min_volume)
    by_id = {v.id: v for v in villages}
    village_of = {m.farmer_id: m.village_id for m in members}
    seen: list[int] = []
    for group in found:
        seen.extend(group.farmer_ids)
        # the minima hold
        assert len(group.farmer_ids) >= min_farmers
        assert group.volume_milli >= min_volume
        assert group.volume_milli == sum(
            m.volume_milli for m in members if m.farmer_id in group.farmer_ids
        )
        # one district; every farmer of its villages, and only those
        assert {by_id[v].district_id for v in group.village_ids} == {group.district_id}
        assert sorted(group.farmer_ids) == sorted(
            f for f, v in village_of.items() if v in group.village_ids
        )
        inside = [by_id[v] for v in group.village_ids]
        if group.grouping == "district":
            assert not any(v.located for v in inside)
            continue
        assert all(v.located for v in inside)
        # the radius rule: connected by steps within the radius ...
        reached = {inside[0].id}
        frontier = [inside[0]]
        while frontier:
            here = frontier.pop()
            for other in inside:
                if other.id not in reached and _near(here, other, radius):
                    reached.add(other.id)
                    frontier.append(other)
        assert reached == set(group.village_ids)
        # ... and no village of the district with farmers outside it lies within the radius
        for other in villages:
            if (
                other.id not in group.village_ids
                and other.located
                and other.district_id == group.district_id
                and other.id in village_of.values()
            ):
                assert not any(_near(other, v, radius) for v in inside)
    assert len(seen) == len(set(seen))  # every farmer in at most one cluster


def _near(a: c.Village, b: c.Village, radius: float) -> bool:
    assert a.latitude is not None and a.longitude is not None
    assert b.latitude is not None and b.longitude is not None
    return c.haversine_km(a.latitude, a.longitude, b.latitude, b.longitude) <= radius
