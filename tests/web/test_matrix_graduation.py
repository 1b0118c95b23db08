"""The permission matrix of the graduation routes (page, CSV, API), every demo role of
DEMO-PA against each: those who read field records see readiness and clusters (DEMO-PA has
no kit catalogue, so they get the refusal that says so, not a 403); only the programme-wide
managers register a cluster."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web import matrix
from tests.web.test_registry import check_pages

READERS = {"administrator", "programme_manager", "field_officer", "auditor"}
REGISTRARS = {"administrator", "programme_manager"}


def test_matrix_of_the_graduation_page(role_clients: dict[str, TestClient]) -> None:
    check_pages(role_clients, "GET", "/graduation", READERS)
    check_pages(role_clients, "GET", "/graduation?district_id=1&status=ready", READERS)
    for role, client in role_clients.items():
        answer = client.get("/graduation.csv")
        assert answer.status_code == (409 if role in READERS else 403), (role, answer.text)
        posted = client.post("/graduation/register", data={"name": "X", "farmer_ids": "1"})
        expected = {409} if role in REGISTRARS else {403}
        assert posted.status_code in expected, (role, posted.status_code)


def test_matrix_of_the_graduation_api(role_clients: dict[str, TestClient]) -> None:
    matrix.check(role_clients, "GET", "/api/v1/graduation/readiness", READERS)
    matrix.check(role_clients, "GET", "/api/v1/graduation/clusters", READERS)
    # a complete body (an incomplete one is a 422 before the permission is asked)
    for role, client in role_clients.items():
        answer = client.post(
            "/api/v1/graduation/clusters/register", json={"name": "X", "farmer_ids": [1]}
        )
        if role in REGISTRARS:
            assert answer.status_code == 409, (role, answer.text)  # no catalogue in DEMO-PA
        else:
            assert answer.status_code == 403, (role, answer.text)
