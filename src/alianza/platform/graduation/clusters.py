"""Clusters of ready farmers in nearby villages, pure: the producer organizations graduation
proposes. Numbers in, clusters out; no database.

Only villages with at least one farmer to cluster take part. Within one district, two such
villages are *near* when their centroids (the mean of their farmers' GPS points, given) lie
within ``radius_km`` of each other by the haversine distance; clusters are the villages
joined transitively by nearness (the connected components). A district's villages without a
centroid (no farmer with a GPS point) cannot be placed: they fall back to one cluster of
their own per district (``grouping == "district"``). A cluster is proposed when it holds at
least ``min_farmers`` farmers and ``min_volume_milli`` thousandths of the product in all (on
the members' own basis: the service gives each farmer's window total and the minimum per
season times the window's seasons, so the comparison stays exact). Villages never join across districts; every farmer is in at most one cluster.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # the mean Earth radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance: ``2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))``."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distances_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Every pair's haversine distance (a square matrix), vectorised."""
    phi = np.radians(np.asarray(lat, dtype=float))
    lam = np.radians(np.asarray(lon, dtype=float))
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    a = np.sin(dphi / 2) ** 2 + np.cos(phi)[:, None] * np.cos(phi)[None, :] * np.sin(dlam / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a))))


@dataclass(frozen=True)
class Village:
    """A village taking part: its district and centroid (None: no farmer has a GPS point)."""

    id: int
    district_id: int
    latitude: float | None = None
    longitude: float | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class Member:
    """A farmer to cluster: village, volume and its split by grade (thousandths)."""

    farmer_id: int
    village_id: int
    volume_milli: int
    grades: Mapping[str, int] = field(default_factory=dict)


@dataclass
class Cluster:
    """Villages joined by nearness (or a district's unlocated villages), with their farmers."""

    district_id: int
    grouping: str  # "radius" or "district" (villages without a centroid)
    village_ids: list[int]
    farmer_ids: list[int]
    volume_milli: int
    grades: dict[str, int]


def _components(villages: Sequence[Village], radius_km: float) -> list[list[Village]]:
    """Located villages (one district) joined transitively when within ``radius_km``."""
    if not villages:
        return []
    near = (
        distances_km(
            np.array([v.latitude for v in villages]), np.array([v.longitude for v in villages])
        )
        <= radius_km
    )
    parent = list(range(len(villages)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(near, k=1)), strict=True):
        a, b = root(int(i)), root(int(j))
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[Village]] = defaultdict(list)
    for i, village in enumerate(villages):
        groups[root(i)].append(village)
    return list(groups.values())


def cluster(
    villages: Sequence[Village],
    members: Sequence[Member],
    radius_km: float,
    min_farmers: int,
    min_volume_milli: int,
) -> list[Cluster]:
    """The proposed clusters (see the module's docstring), the largest volume first."""
    if radius_km < 0 or min_farmers < 1 or min_volume_milli < 0:
        raise ValueError("radius_km >= 0, min_farmers >= 1, min_volume_milli >= 0")
    by_village: dict[int, list[Member]] = defaultdict(list)
    for member in members:
        by_village[member.village_id].append(member)
    known = {v.id: v for v in villages}
    if missing := set(by_village) - set(known):
        raise ValueError(f"farmers in villages not given: {sorted(missing)}")
    districts: dict[int, list[Village]] = defaultdict(list)
    for village in sorted(known.values(), key=lambda v: v.id):
        if by_village.get(village.id):
            districts[village.district_id].append(village)
    found: list[Cluster] = []
    for district_id, own in sorted(districts.items()):
        located = [v for v in own if v.located]
        groups = [("radius", group) for group in _components(located, radius_km)]
        if unlocated := [v for v in own if not v.located]:
            groups.append(("district", unlocated))
        for grouping, group in groups:
            people = [m for v in group for m in by_village[v.id]]
            volume = sum(m.volume_milli for m in people)
            if len(people) < min_farmers or volume < min_volume_milli:
                continue
            grades: dict[str, int] = defaultdict(int)
            for m in people:
                for grade, milli in m.grades.items():
                    grades[grade] += milli
            found.append(
                Cluster(
                    district_id=district_id,
                    grouping=grouping,
                    village_ids=sorted(v.id for v in group),
                    farmer_ids=sorted(m.farmer_id for m in people),
                    volume_milli=volume,
                    grades=dict(sorted(grades.items())),
                )
            )
    found.sort(key=lambda c: (-c.volume_milli, c.district_id, c.village_ids[0]))
    return found
