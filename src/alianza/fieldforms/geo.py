"""GPS points as ODK records them, and whether a point lies in a district.

ODK Collect and KoboToolbox store a ``geopoint`` as four numbers separated by spaces:
``latitude longitude altitude accuracy`` (degrees, degrees, metres, metres); altitude and
accuracy may be missing. A district's area is a bounding box or a polygon of
``[longitude, latitude]`` vertices (GeoJSON's order), so that an outline exported from a GIS
can be pasted in; see docs/micro-investing.md, "Field forms".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator


@dataclass(frozen=True)
class GeoPoint:
    """A point on the earth: latitude and longitude in degrees (WGS 84), altitude and
    accuracy (the device's 'within so many metres') in metres when known."""

    latitude: float
    longitude: float
    altitude: float | None = None
    accuracy: float | None = None

    def as_odk(self) -> str:
        """The point as ODK writes it: ``lat lon alt acc``."""
        return " ".join(
            str(value)
            for value in (self.latitude, self.longitude, self.altitude or 0.0, self.accuracy or 0.0)
        )


class GeoPointError(ValueError):
    """A value that is not a geopoint; the message says why."""


def parse_geopoint(text: str) -> GeoPoint:
    """Parse ODK's ``"lat lon [alt [acc]]"``; raise GeoPointError with the reason."""
    parts = text.split()
    if len(parts) < 2 or len(parts) > 4:
        raise GeoPointError(
            f"{text!r} is not a GPS point: expected 'latitude longitude [altitude [accuracy]]'"
        )
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise GeoPointError(f"{text!r} is not a GPS point: not all numbers") from None
    return geopoint(*numbers)


def geopoint(
    latitude: float,
    longitude: float,
    altitude: float | None = None,
    accuracy: float | None = None,
) -> GeoPoint:
    """A GeoPoint from numbers, refused (GeoPointError) outside the earth's ranges."""
    values = [v for v in (latitude, longitude, altitude, accuracy) if v is not None]
    if not all(math.isfinite(v) for v in values):
        raise GeoPointError("GPS point has a value that is not a finite number")
    if not -90.0 <= latitude <= 90.0:
        raise GeoPointError(f"latitude {latitude} is outside -90..90")
    if not -180.0 <= longitude <= 180.0:
        raise GeoPointError(f"longitude {longitude} is outside -180..180")
    if accuracy is not None and accuracy < 0:
        raise GeoPointError(f"accuracy {accuracy} m is negative")
    return GeoPoint(latitude, longitude, altitude, accuracy)


class BoundingBox(BaseModel):
    """A rectangle in degrees: west <= longitude <= east, south <= latitude <= north."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    west: float = Field(ge=-180, le=180)
    south: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)
    north: float = Field(ge=-90, le=90)

    @model_validator(mode="after")
    def _ordered(self) -> BoundingBox:
        if self.west > self.east:
            raise ValueError("west must be <= east (boxes across the antimeridian: use a polygon)")
        if self.south > self.north:
            raise ValueError("south must be <= north")
        return self

    def contains(self, point: GeoPoint) -> bool:
        """Whether the point lies in the box (edges included)."""
        return (
            self.west <= point.longitude <= self.east and self.south <= point.latitude <= self.north
        )


def point_in_polygon(point: GeoPoint, vertices: Sequence[Sequence[float]]) -> bool:
    """Whether the point lies inside the polygon of ``[lon, lat]`` vertices (even-odd rule).

    A horizontal ray from the point crosses the polygon's edges an odd number of times when
    the point is inside (Jordan curve theorem). Each edge counts as half-open in latitude
    (``lat_a <= y < lat_b``) so that a vertex on the ray is counted once. Points exactly on an
    edge may fall either way. Planar in degrees: right for district-sized areas away from the
    poles and the antimeridian.
    """
    x, y = point.longitude, point.latitude
    inside = False
    count = len(vertices)
    for index in range(count):
        x1, y1 = vertices[index][0], vertices[index][1]
        x2, y2 = vertices[(index + 1) % count][0], vertices[(index + 1) % count][1]
        if (y1 <= y < y2) or (y2 <= y < y1):
            crossing = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if crossing > x:
                inside = not inside
    return inside


class DistrictArea(BaseModel):
    """Where a district is: a bounding box, a polygon of [lon, lat] vertices, or both (a
    point must then lie in both)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bounding_box: BoundingBox | None = None
    polygon: list[tuple[float, float]] | None = Field(
        default=None,
        min_length=3,
        description="Outline as [longitude, latitude] pairs (GeoJSON order), not closed.",
    )

    @model_validator(mode="after")
    def _valid_polygon(self) -> DistrictArea:
        for lon, lat in self.polygon or []:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"polygon vertex [{lon}, {lat}] is not [longitude, latitude]")
        return self


def point_in_district(point: GeoPoint, area: DistrictArea | None) -> bool | None:
    """Whether the point lies in the district's area; None when the district has no area
    (the caller decides whether that is accepted)."""
    if area is None or (area.bounding_box is None and area.polygon is None):
        return None
    if area.bounding_box is not None and not area.bounding_box.contains(point):
        return False
    if area.polygon is not None:
        return point_in_polygon(point, area.polygon)
    return True
