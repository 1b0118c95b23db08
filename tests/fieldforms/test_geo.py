"""GPS points and districts: parsing ODK's text, and point-in-district checked against
matplotlib's independent point-in-path test."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from matplotlib.path import Path as MplPath

from alianza.fieldforms.geo import (
    BoundingBox,
    DistrictArea,
    GeoPoint,
    GeoPointError,
    parse_geopoint,
    point_in_district,
    point_in_polygon,
)

latitudes = st.floats(-90, 90, allow_nan=False)
longitudes = st.floats(-180, 180, allow_nan=False)


def test_parse_odk_geopoint() -> None:
    assert parse_geopoint("-14.3781 34.3329 1602.4 4.8") == GeoPoint(-14.3781, 34.3329, 1602.4, 4.8)
    assert parse_geopoint("-14.3781 34.3329") == GeoPoint(-14.3781, 34.3329)


@pytest.mark.parametrize(
    "text",
    ["", "-14.3", "a b", "95 30", "10 200", "1 2 3 -4", "1 2 3 4 5", "nan 1", "inf 2"],
)
def test_malformed_geopoints(text: str) -> None:
    with pytest.raises(GeoPointError):
        parse_geopoint(text)


@given(latitudes, longitudes, st.floats(-500, 9000), st.floats(0, 1000))
def test_odk_text_round_trip(lat: float, lon: float, alt: float, acc: float) -> None:
    point = GeoPoint(lat, lon, alt, acc)
    assert parse_geopoint(point.as_odk()) == point


def test_district_with_box_and_polygon() -> None:
    # An L-shaped district inside its box: the notch is in the box but not in the district.
    area = DistrictArea(
        bounding_box=BoundingBox(west=0, south=0, east=2, north=2),
        polygon=[(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)],
    )
    assert point_in_district(GeoPoint(0.5, 0.5), area) is True
    assert point_in_district(GeoPoint(1.5, 1.5), area) is False  # the notch
    assert point_in_district(GeoPoint(3.0, 0.5), area) is False  # outside the box
    assert point_in_district(GeoPoint(0.5, 0.5), None) is None
    assert point_in_district(GeoPoint(0.5, 0.5), DistrictArea()) is None


def test_bad_boxes_and_polygons() -> None:
    with pytest.raises(ValueError, match="west must be <= east"):
        BoundingBox(west=2, south=0, east=1, north=1)
    with pytest.raises(ValueError, match="not \\[longitude, latitude\\]"):
        DistrictArea(polygon=[(-14.3, 34.3), (-14.3, 95.0), (-14.0, 34.0)])


polygons = st.lists(
    st.tuples(st.floats(-1, 1), st.floats(-1, 1)), min_size=3, max_size=9, unique=True
).map(
    # A star-shaped (simple) polygon: the vertices sorted by angle around the origin.
    lambda points: sorted(points, key=lambda p: math.atan2(p[1], p[0]))
)


def _distance_to_edges(vertices: list[tuple[float, float]], x: float, y: float) -> float:
    """Distance from (x, y) to the nearest edge of the closed polygon."""
    nearest = math.inf
    for (x1, y1), (x2, y2) in zip(vertices, vertices[1:] + vertices[:1], strict=True):
        dx, dy = x2 - x1, y2 - y1
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length))
        nearest = min(nearest, math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)))
    return nearest


@given(polygons, st.floats(-1.2, 1.2), st.floats(-1.2, 1.2))
def test_agrees_with_matplotlib(vertices: list[tuple[float, float]], x: float, y: float) -> None:
    path = MplPath(vertices + [vertices[0]], closed=True)
    # Points within a hair of an edge may fall either way in either implementation.
    assume(_distance_to_edges(vertices, x, y) > 1e-6)
    assert point_in_polygon(GeoPoint(y, x), vertices) == path.contains_point((x, y))


@given(latitudes, longitudes)
def test_box_polygon_equals_box(lat: float, lon: float) -> None:
    box = BoundingBox(west=33.8, south=-14.7, east=34.6, north=-13.8)
    polygon = [(33.8, -14.7), (34.6, -14.7), (34.6, -13.8), (33.8, -13.8)]
    point = GeoPoint(lat, lon)
    assume(lat not in (-14.7, -13.8) and lon not in (33.8, 34.6))  # edges: either way
    assert point_in_polygon(point, polygon) == box.contains(point)
