"""The permission matrix of the Micro Investing routes (pages and API), every demo role of
DEMO-PA against each: the reading roles see the rollout and a farmer's growth, only the
programme-wide managers review and match payments; the intake endpoints are the providers'
(no user: a wrong signature or token is refused whoever calls)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web import matrix
from tests.web.test_registry import check_pages

READERS = {"administrator", "programme_manager", "field_officer", "auditor"}
REVIEWERS = {"administrator", "programme_manager"}


def _farmer_of_the_field_officer(clients: dict[str, TestClient]) -> int:
    page = clients["field_officer"].get("/api/v1/farmers?limit=1").json()
    return int(page["items"][0]["id"])


def test_matrix_of_the_micro_investing_pages(role_clients: dict[str, TestClient]) -> None:
    check_pages(role_clients, "GET", "/rollout", READERS)
    check_pages(role_clients, "GET", "/payments/review", REVIEWERS)
    farmer = _farmer_of_the_field_officer(role_clients)
    check_pages(role_clients, "GET", f"/farmers/{farmer}/growth", READERS)
    check_pages(role_clients, "GET", "/rollout/999999", set(), refused_status={403, 404})


def test_matrix_of_the_micro_investing_api(role_clients: dict[str, TestClient]) -> None:
    matrix.check(role_clients, "GET", "/api/v1/rollout/areas", READERS)
    matrix.check(role_clients, "GET", "/api/v1/sales", READERS)
    farmer = _farmer_of_the_field_officer(role_clients)
    matrix.check(role_clients, "GET", f"/api/v1/farmers/{farmer}/growth", READERS)
    # a complete body (an incomplete one is a 422 before the permission is asked)
    sellers = {"administrator", "programme_manager"}
    for role, client in role_clients.items():
        answer = client.post(
            "/api/v1/sales",
            json={"farmer_id": farmer, "kit_code": "drip_bed", "method": "cash",
                  "sold_on": "2025-05-01", "supplier_id": 1},
        )  # fmt: skip
        if role in sellers:
            assert answer.status_code in (404, 409), (role, answer.text)  # no catalogue in DEMO-PA
        else:
            assert answer.status_code == 403, (role, answer.text)


def test_matrix_of_the_payments_api(role_clients: dict[str, TestClient]) -> None:
    matrix.check(role_clients, "GET", "/api/v1/payments/parked", REVIEWERS)
    # no such payment: the reviewers pass the permission and find nothing, the others are refused
    for role, client in role_clients.items():
        answer = client.post("/api/v1/payments/999999/match", json={"sale_id": 1})
        assert answer.status_code == (404 if role in REVIEWERS else 403), (role, answer.text)
    for client in role_clients.values():
        unsigned = client.post("/api/v1/payments/notifications/airtel", json={})
        assert unsigned.status_code == 404  # no such provider configured in the tests
        guessed = client.post("/api/v1/payments/daraja/mpesa/not-the-token/confirmation", json={})
        assert guessed.status_code == 404


def test_matrix_of_the_field_data_import(role_clients: dict[str, TestClient]) -> None:
    """Those who record field data may upload it (an empty export imports nothing); the
    others are refused before the file is read."""
    recorders = {"administrator", "programme_manager", "field_officer"}
    check_pages(role_clients, "GET", "/field-submissions", recorders)
    for role, client in role_clients.items():
        answer = client.post(
            "/api/v1/field-submissions",
            data={"form": "visit"},
            files={"file": ("visits.json", b"[]", "application/json")},
        )
        if role in recorders:
            assert answer.status_code == 200 and answer.json()["rows"] == [], (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)


def test_matrix_of_performance_and_forecasts(role_clients: dict[str, TestClient]) -> None:
    """Those who read field records and the rollout see performance and forecasts (DEMO-PA has
    no kit catalogue: a forecast is refused with 409 after the permission passed)."""
    check_pages(role_clients, "GET", "/performance", READERS)
    check_pages(role_clients, "GET", "/forecasts", READERS)
    check_pages(role_clients, "GET", "/forecasts?district=Lempira", READERS)
    matrix.check(role_clients, "GET", "/api/v1/performance/agronomists", READERS)
    matrix.check(role_clients, "GET", "/api/v1/performance/districts", READERS)
    matrix.check(role_clients, "GET", "/api/v1/forecasts?district=Lempira", READERS)
