"""The graduation page and API on a small Micro Investing programme: readiness listed,
counted and downloaded, clusters proposed, and a cluster registered from the page's form and
from the API (a refusal re-shows the page with the reason and writes nothing)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alianza.platform.db import Database
from alianza.platform.programmes.service import create_programme, create_user
from alianza.platform.registry.models import Membership, Organization
from alianza.problems import Message
from alianza.settings import Settings
from alianza.web import i18n
from alianza.web.app import create_app
from tests.platform.mi_fixtures import build_mi_world
from tests.platform.test_graduation import CRITERIA, RULES, _record

QUERY = "&".join(
    f"{k}={v}"
    for k, v in (CRITERIA | {"grades": "A", "radius_km": "1", "min_farmers": "2",
                             "min_cluster_volume": "300"}).items()
)  # fmt: skip


@pytest.fixture
def site(settings: Settings) -> dict[str, Any]:
    """The platform tests' programme (tests/platform/test_graduation.py): Chimbiya 0 and
    Mayani 0 ready, 0.5 km apart; the manager ``ana`` and the agronomist ``agro``."""
    database = Database(settings.database_url)
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "Ana", "password": "s3cret-pass"}
        )
        admin = create_programme(
            session, {"code": "MI-MW", "name": "MI", "reporting_currency": "USD"}, user
        )
        session.commit()
        mi = build_mi_world(session, admin, farmers=4)
        for farmer in mi.farmers:
            farmer.latitude, farmer.longitude = -14.30, 34.30
        for farmer in mi.other_farmers:
            farmer.latitude, farmer.longitude = -14.30 + 0.5 / 111.195, 34.30
        c0, c1, c2, c3 = mi.farmers
        m0, m1 = mi.other_farmers
        _record(mi, c0, date(2025, 2, 10), "200", "A")
        _record(mi, c0, date(2025, 5, 10), "200", "B")
        _record(mi, c1, date(2025, 5, 10), "100", "A")
        _record(mi, m0, date(2025, 1, 10), "150", "A")
        _record(mi, m0, date(2025, 4, 10), "150", "A")
        ids = {"ready": sorted([c0.id, m0.id]), "unready": c1.id, "epa": mi.village.parent_id}
    database.dispose()
    app = create_app(settings)
    clients = {}
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        for name, username, password in (
            ("manager", "ana", "s3cret-pass"),
            ("agronomist", "agro", "password1"),
        ):
            token = anonymous.post(
                "/api/v1/auth/token", data={"username": username, "password": password}
            ).json()["access_token"]
            client = TestClient(app, raise_server_exceptions=False)
            client.headers["Authorization"] = f"Bearer {token}"
            clients[name] = client
    return {"clients": clients, "url": settings.database_url, **ids}


def _counts(url: str) -> tuple[int, int]:
    database = Database(url)
    with database.session() as session:
        found = (
            session.scalar(select(func.count()).select_from(Organization)) or 0,
            session.scalar(select(func.count()).select_from(Membership)) or 0,
        )
    database.dispose()
    return found


def test_the_page_lists_counts_and_proposes(site: dict[str, Any]) -> None:
    page = site["clients"]["manager"].get(f"/graduation?{QUERY}")
    assert page.status_code == 200, page.text
    assert "Chimbiya farmer 1" in page.text and "volume 50 kg/season &lt; 150" in page.text
    chart = json.loads(re.search(r'class="chart-data">(.*?)</script>', page.text).group(1))
    # of 6: volume met by C0 and M0, grade by C0, C1 and M0, deliveries by C0 and M0
    assert chart["datasets"][0]["data"] == [2, 3, 2] and chart["datasets"][1]["data"] == [4, 3, 4]
    assert "Register as producer organization" in page.text
    assert f'value="{site["ready"][0]},{site["ready"][1]}"' in page.text
    assert 'name="csrf_token"' in page.text
    ready = site["clients"]["manager"].get(f"/graduation?{QUERY}&status=ready")
    assert "2 farmers" in ready.text and "Chimbiya farmer 1" not in ready.text
    spanish = site["clients"]["manager"].get(
        f"/graduation?{QUERY}", headers={"Accept-Language": "es"}
    )
    assert "volumen 50 kg/temporada &lt; 150" in spanish.text
    bad = site["clients"]["manager"].get("/graduation?min_grade_share=2&seasons=x&district_id=y")
    assert bad.status_code == 422 and "min_grade_share" in bad.text
    assert "less than or equal to 1" in bad.text and '<details class="criteria" open>' in bad.text
    # the agronomist sees their village only, and no form to register
    own = site["clients"]["agronomist"].get(f"/graduation?{QUERY}")
    assert own.status_code == 200 and "Mayani farmer" not in own.text
    assert "Register as producer organization" not in own.text


def test_the_csv_holds_the_whole_list(site: dict[str, Any]) -> None:
    answer = site["clients"]["manager"].get(f"/graduation.csv?{QUERY}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 6
    assert sorted(int(r["farmer_id"]) for r in rows if r["ready"] == "yes") == site["ready"]


def test_the_api_pages_readiness_and_lists_clusters(site: dict[str, Any]) -> None:
    manager = site["clients"]["manager"]
    page = manager.get(f"/api/v1/graduation/readiness?{QUERY}&limit=4")
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], len(body["items"]), body["ready"], body["unit"]) == (6, 4, 2, "kg")
    assert body["counts"]["volume"] == {"met": 2, "not_met": 4}
    checks = {f["name"]: f["checks"] for f in body["items"]}
    assert checks["Chimbiya farmer 1"][0]["reason"] == "volume 50.000 kg/season < 150"
    # the reasons said in the request's language, their figures written for it
    spanish = manager.get(
        f"/api/v1/graduation/readiness?{QUERY}&limit=4", headers={"Accept-Language": "es"}
    ).json()
    said = {f["name"]: f["checks"] for f in spanish["items"]}
    assert said["Chimbiya farmer 1"][0]["reason"] == i18n.say(
        "es",
        Message(
            "volume %(measured)s %(unit)s/season < %(required)s",
            measured=Decimal("50.000"),
            unit="kg",
            required=Decimal("150"),
        ),
    )
    assert "50,000" in said["Chimbiya farmer 1"][0]["reason"]
    ready = manager.get(f"/api/v1/graduation/readiness?{QUERY}&status=ready").json()
    assert sorted(f["farmer_id"] for f in ready["items"]) == site["ready"]
    assert ready["items"][0]["checks"][0]["criterion"] == "volume"
    bad = manager.get("/api/v1/graduation/readiness?min_grade_share=2")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "min_grade_share"
    clusters = manager.get(f"/api/v1/graduation/clusters?{QUERY}").json()
    assert [c["farmer_ids"] for c in clusters["items"]] == [site["ready"]]
    assert clusters["items"][0]["place_id"] == site["epa"]


def test_a_cluster_is_registered_from_the_api(site: dict[str, Any]) -> None:
    manager = site["clients"]["manager"]
    body = {"name": "Linthipe Growers", "farmer_ids": site["ready"], "criteria": CRITERIA,
            "rules": RULES}  # fmt: skip
    agronomist = site["clients"]["agronomist"].post(
        "/api/v1/graduation/clusters/register", json=body
    )
    assert agronomist.status_code == 403
    before = _counts(site["url"])
    refused = manager.post(
        "/api/v1/graduation/clusters/register",
        json=body | {"farmer_ids": [*site["ready"], site["unready"]]},
    )
    assert refused.status_code == 409 and "ready" in refused.json()["error"]["message"]
    assert _counts(site["url"]) == before
    made = manager.post("/api/v1/graduation/clusters/register", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["member_ids"] == site["ready"] and made.json()["place_id"] == site["epa"]
    assert _counts(site["url"]) == (before[0] + 1, before[1] + 2)


def test_a_cluster_is_registered_from_the_page(site: dict[str, Any]) -> None:
    manager = site["clients"]["manager"]
    form = {
        **{k: str(v) for k, v in CRITERIA.items() if k != "grades"},
        "grades": "A",
        "radius_km": "1",
        "min_farmers": "2",
        "min_cluster_volume": "300",
        "name": "Chimbiya Growers",
    }
    before = _counts(site["url"])
    refused = manager.post(
        "/graduation/register",
        data=form | {"farmer_ids": f"{site['ready'][0]},{site['unready']}"},
    )
    assert refused.status_code == 409 and "not every farmer is ready" in refused.text
    assert _counts(site["url"]) == before
    done = manager.post(
        "/graduation/register",
        data=form | {"farmer_ids": ",".join(map(str, site["ready"]))},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    organization = manager.get(done.headers["location"])
    assert organization.status_code == 200 and "Chimbiya Growers" in organization.text
    assert _counts(site["url"]) == (before[0] + 1, before[1] + 2)
