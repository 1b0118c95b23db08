"""The results framework in the web application: the API and the page, for the roles with
portfolio.read only (the permission matrix)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web import matrix

PORTFOLIO_READERS = ("administrator", "programme_manager", "field_officer", "lender", "auditor")


def test_results_matrix(role_clients: dict[str, TestClient]) -> None:
    matrix.check(role_clients, "GET", "/api/v1/results", PORTFOLIO_READERS)
    matrix.check(role_clients, "GET", "/api/v1/results?period=2025", PORTFOLIO_READERS)


def test_results_page_and_api(role_clients: dict[str, TestClient]) -> None:
    manager = role_clients["programme_manager"]
    report = manager.get("/api/v1/results?period=2025").json()
    assert [p["label"] for p in report["periods"]] == ["2025"]
    assert {i["key"] for i in report["indicators"]} >= {"members_reached", "alliance_survival"}
    page = manager.get("/results")
    assert page.status_code == 200
    assert "Results framework" in page.text
    page_es = manager.get("/results", headers={"Accept-Language": "es"})
    assert "Marco de resultados" in page_es.text
    assert manager.get("/dashboard").text.count('href="/results"') == 1
    refused = role_clients["buyer"].get("/results")
    assert refused.status_code == 403
