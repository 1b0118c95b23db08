"""The Performance and Forecasts pages and their API on the demo's DEMO-MI programme: the
coordinator sees every agronomist and district, the agronomist their own row against the
peers' median (no other agronomist's name), forecasts with their charts and downloads."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import DEMO_PASSWORD


@pytest.fixture(scope="module")
def mi_clients(demo_app: FastAPI) -> Iterator[dict[str, TestClient]]:
    clients = {}
    for username in ("coordinadora", "agronomo", "proveedor"):
        client = TestClient(demo_app, raise_server_exceptions=False)
        answer = client.post(
            "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        clients[username] = client
    yield clients


def test_the_coordinator_sees_every_agronomist_against_the_median(
    mi_clients: dict[str, TestClient],
) -> None:
    coordinator = mi_clients["coordinadora"]
    table = coordinator.get("/api/v1/performance/agronomists").json()
    assert table["peers"] == 12 and len(table["rows"]) == 12 and table["peer_basis"] == "programme"
    values = sorted(r["figures"]["sales"]["value"] for r in table["rows"])
    assert table["medians"]["sales"] == (values[5] + values[6]) / 2
    assert {r["figures"]["sales"]["quartile"] for r in table["rows"]} == {1, 2, 3, 4}
    page = coordinator.get("/performance")
    assert page.status_code == 200
    assert all(r["name"] in page.text for r in table["rows"])
    assert "Median of 12 peers" in page.text and 'id="reinvestment-chart"' in page.text
    assert 'download="agronomists-' in page.text and 'id="districts"' in page.text
    districts = coordinator.get("/api/v1/performance/districts").json()
    assert [r["name"] for r in districts["rows"]] == ["Dedza", "Ntcheu"]
    chosen = coordinator.get("/api/v1/performance/agronomists?start=2024-07-01&end=2024-09-30")
    assert chosen.json()["start"] == "2024-07-01" and chosen.json()["end"] == "2024-09-30"
    bad = coordinator.get("/api/v1/performance/agronomists?start=2025-01-02&end=2025-01-01")
    assert bad.status_code == 409 and "ends before it starts" in bad.text
    assert coordinator.get("/performance?start=2025-01-02&end=2025-01-01").status_code == 200


def test_the_agronomist_sees_only_their_own_row(mi_clients: dict[str, TestClient]) -> None:
    everyone = mi_clients["coordinadora"].get("/api/v1/performance/agronomists").json()
    mine = mi_clients["agronomo"].get("/api/v1/performance/agronomists").json()
    (row,) = mine["rows"]
    assert mine["peers"] == 12 and mine["medians"] == everyone["medians"]
    assert row in everyone["rows"]
    others = [r["name"] for r in everyone["rows"] if r["id"] != row["id"]]
    page = mi_clients["agronomo"].get("/performance")
    assert page.status_code == 200 and row["name"] in page.text
    assert not [name for name in others if name in page.text]
    assert 'id="districts"' not in page.text
    assert mi_clients["agronomo"].get("/api/v1/performance/districts").status_code == 403
    assert mi_clients["proveedor"].get("/performance").status_code == 403
    assert mi_clients["proveedor"].get("/api/v1/forecasts?district=Dedza").status_code == 403


def test_a_district_forecast_with_charts_and_downloads(mi_clients: dict[str, TestClient]) -> None:
    coordinator = mi_clients["coordinadora"]
    page = coordinator.get("/forecasts?district=Dedza&seasons=2")
    assert page.status_code == 200, page.text[:500]
    for chart in ("demand-chart", "supply-chart", "price-chart"):
        assert f'id="{chart}"' in page.text
    assert (
        "2025-3" in page.text
        and "Vegetable kit" in page.text
        and 'download="kit-demand-Dedza' in page.text
    )
    spec = json.loads(
        page.text.split('id="demand-chart"', 1)[1]
        .split('class="chart-data">', 1)[1]
        .split("</script>")[0]
    )
    low, mid, high = (d["data"] for d in spec["datasets"])
    assert all(a <= b <= c for a, b, c in zip(low, mid, high, strict=True))
    answer = coordinator.get("/api/v1/forecasts?district=Dedza&seasons=1&replicates=3").json()
    assert answer["seasons"] == {"1": "2025-3"} and answer["records"]["last_season"] == "2025-2"
    assert answer["forecast"]["replicates"] == 3 and answer["from_records"]
    assert "policy.consumption_share" in answer["kept"]
    unknown = coordinator.get("/forecasts?district=Lilongwe")
    assert unknown.status_code == 422 and "no district named" in unknown.text
    assert coordinator.get("/api/v1/forecasts?district=Dedza&seasons=9").status_code == 422
    assert coordinator.get("/api/v1/forecasts?district=Dedza&replicates=500").status_code == 422
    form = coordinator.get("/forecasts")
    assert form.status_code == 200 and '<option value="Ntcheu"' in form.text


def test_the_pages_speak_the_users_language(mi_clients: dict[str, TestClient]) -> None:
    spanish = mi_clients["coordinadora"].get(
        "/forecasts?district=Dedza&seasons=1", headers={"Accept-Language": "es"}
    )
    assert spanish.status_code == 200 and "Demanda de kits" in spanish.text
    french = mi_clients["coordinadora"].get("/performance", headers={"Accept-Language": "fr"})
    assert "Agronomes" in french.text
